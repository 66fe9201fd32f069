# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""playbooks/rehearse.yml on the sample cloud: one simulator plays the operator's cloud, the rehearsal starts another.

The real cloud must see only the snapshot's read calls; the rehearsal must then predict the real run: the same path for
every target, and a total within 15 % of the one measured when the same upgrade runs on the real cloud at the same time
factor, both brought to real scale the same way (job time divided by the factor, the controller's own time as measured).
"""

from __future__ import annotations

import json
import os
import re
import sys

from playbook_runner import REPO, run_playbook
from test_notify_webhook import Receiver

from ansible_collections.acs.upgrade.plugins.module_utils._rehearsal import real_scale, split

TIME_FACTOR = 0.01
FAULTY = "initech-net14"
REHEARSE_SIMULATOR = "%s %s" % (sys.executable, REPO / "tests" / "simulator" / "acs-sim")
READ_ONLY = re.compile(r"^(list|get|query)")
UPGRADE_VARS = {"plan_windows": {"*": {"start": "22:00", "end": "23:00"}}, "livepatch_parallel": 10, "legacy_recreate_parallel": 10}


def paths(report: dict) -> dict[str, str]:
    return {unit["name"]: unit["path"] for group in report["groups"] for unit in group["units"]}


def test_a_rehearsal_reads_the_real_cloud_only_and_predicts_the_real_run(acs_sim, tmp_path):
    real = acs_sim(topology="sample-cloud", time_factor=TIME_FACTOR)
    rehearsal_dir = tmp_path / "state" / "rehearsal"
    # The real run's webhook, set the two ways an operator sets it (the environment an AWX credential fills, and the
    # variables the real run will get): a rehearsal must tell it nothing.
    hook = Receiver()
    try:
        run = run_playbook(real, tmp_path, "rehearse.yml", {
            "acs_upgrade_dir": str(tmp_path / "state"),
            "rehearse_time_factor": str(TIME_FACTOR),
            "rehearse_simulator": REHEARSE_SIMULATOR,
            "rehearse_upgrade_vars": dict(UPGRADE_VARS, acs_upgrade_notify_url=hook.url, acs_upgrade_notify_token="hook-token"),
            # The sample cloud's management server runs 10 job threads (its topology's jobs.workers): no API shows that.
            "rehearse_job_workers": "10",
        }, env={"ACS_UPGRADE_NOTIFY_URL": hook.url, "ACS_UPGRADE_NOTIFY_TOKEN": "hook-token"})
    finally:
        hook.close()
    assert run.rc == 0, run.stdout[-3000:]
    assert hook.received == [], "a rehearsal posted to the real run's webhook"

    # The real cloud: read calls only, and no job.
    commands = {call["command"] for call in real.calls()}
    assert commands and all(READ_ONLY.match(command) for command in commands), sorted(commands)
    assert real.jobs() == []

    upgrade_dir = rehearsal_dir / "upgrade"
    rehearsal = json.loads((upgrade_dir / "rehearsal.json").read_text())
    for name in ("rehearsal.json", "rehearsal.md", "rehearsal.html", "report.html", "report.md", "report.json"):
        assert "REHEARSAL" in (upgrade_dir / name).read_text(), name
    assert "PLAY RECAP" in (rehearsal_dir / "upgrade.log").read_text(), "the rehearsed run's output is kept"
    assert "REHEARSAL total:" in run.stdout
    assert [group["name"] for group in rehearsal["groups"]] == ["zone1", "zone2", "zone3"]
    assert all(group["fits"] == "yes" and group["window_seconds"] == 3600 for group in rehearsal["groups"])
    assert rehearsal["total"]["low_seconds"] < rehearsal["total"]["seconds"] < rehearsal["total"]["high_seconds"]
    # The simulator's keys were its own, never the real cloud's.
    sim_info = json.loads((rehearsal_dir / "sim" / "sim.json").read_text())
    assert sim_info["keys"]["admin"]["apikey"] != real.admin_key

    # The real run, at the same time factor, with the same variables. The sample cloud's injected live patch failure
    # (initech-net14) is taken away first: a failure that has not happened yet is in no snapshot, so no rehearsal can
    # predict its fallback (test_a_failure_the_cloud_has_not_shown_yet_is_the_only_difference).
    real.clear_faults()
    output = tmp_path / "real"
    # At the same time factor means the waits too: the rehearsal scales the poll intervals (5 s by default) like the jobs.
    scaled = {"livepatch_poll_interval": 5 * TIME_FACTOR, "legacy_recreate_poll_interval": 5 * TIME_FACTOR}
    real_run = run_playbook(real, tmp_path, "upgrade.yml", {"acs_upgrade_dir": str(output), **scaled,
                                                            **{k: v for k, v in UPGRADE_VARS.items() if k != "plan_windows"}})
    assert real_run.rc == 0, real_run.stdout[-3000:]
    report = json.loads((output / "report.json").read_text())
    assert rehearsal["paths"] == paths(report)
    # The real run at the same time factor, brought to real scale the way the rehearsal brings its own run: its job time
    # (while at least one job ran, from the simulator's job log) divided by the factor, its controller time as it was.
    measured = real_scale(split(report["duration"], report["started"], real.jobs()), TIME_FACTOR)
    predicted = rehearsal["total"]["seconds"]
    print("at real scale: rehearsal %.0f s (%.1f s of jobs, %.1f s of controller at %s), real run %.0f s (%.1f s wall)"
          % (predicted, rehearsal["total"]["job_seconds"], rehearsal["total"]["controller_seconds"], TIME_FACTOR, measured, report["duration"]))
    assert rehearsal["model"].startswith("each stage"), rehearsal["model"]
    assert abs(predicted - measured) <= 0.15 * measured, (predicted, measured)


def test_a_failure_the_cloud_has_not_shown_yet_is_the_only_difference(acs_sim, tmp_path):
    real = acs_sim(topology="sample-cloud", time_factor=0.002)
    state = tmp_path / "state"
    # No rehearse_simulator: acs-sim is not installed in the test environment, so the checkout's launcher runs.
    run = run_playbook(real, tmp_path, "rehearse.yml", {"acs_upgrade_dir": str(state), "rehearse_time_factor": "0.002"})
    assert run.rc == 0, run.stdout[-3000:]
    rehearsal = json.loads((state / "rehearsal" / "upgrade" / "rehearsal.json").read_text())
    real_run = run_playbook(real, tmp_path, "upgrade.yml", {"acs_upgrade_dir": str(tmp_path / "real")})
    assert real_run.rc == 0, real_run.stdout[-3000:]
    real_paths = paths(json.loads((tmp_path / "real" / "report.json").read_text()))
    assert {name for name, path in real_paths.items() if rehearsal["paths"].get(name) != path} == {FAULTY}
    assert rehearsal["paths"][FAULTY] == "livepatch" and real_paths[FAULTY] == "legacy"


def test_an_installed_acs_sim_on_path_is_the_one_that_runs(acs_sim, tmp_path):
    """Without rehearse_simulator the acs-sim command on PATH (pip install ./tests/simulator) runs, not the checkout's launcher."""
    real = acs_sim(topology="small", time_factor=0.002)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ran = tmp_path / "acs-sim-arguments"
    # An acs-sim that notes its arguments and exits: the rehearsal then stops at the start of the simulator.
    command = bin_dir / "acs-sim"
    command.write_text('#!/bin/sh\necho "$@" > %s\nexit 3\n' % ran)
    command.chmod(0o755)
    path = os.pathsep.join((str(bin_dir), os.path.dirname(sys.executable), os.environ.get("PATH", "")))
    run = run_playbook(real, tmp_path, "rehearse.yml", {"acs_upgrade_dir": str(tmp_path / "state"), "rehearse_start_timeout": "3"},
                       env={"PATH": path})
    assert run.rc != 0
    assert ran.read_text().startswith("--from-snapshot %s" % (tmp_path / "state" / "rehearsal" / "snapshot.json")), ran.read_text()
    assert "acs-sim did not start within 3 s" in run.stdout and str(command) in run.stdout, run.stdout[-3000:]
    # The real cloud was only read.
    assert all(READ_ONLY.match(call["command"]) for call in real.calls())


def test_a_rehearsed_run_that_fails_says_why_and_where_its_output_is(acs_sim, tmp_path):
    real = acs_sim(topology="small", time_factor=TIME_FACTOR)
    run = run_playbook(real, tmp_path, "rehearse.yml", {
        "acs_upgrade_dir": str(tmp_path / "state"),
        "rehearse_time_factor": str(TIME_FACTOR),
        "rehearse_simulator": REHEARSE_SIMULATOR,
        "rehearse_upgrade_vars": {"livepatch_parallel": 0},
    })
    assert run.rc != 0
    log = tmp_path / "state" / "rehearsal" / "upgrade.log"
    assert "livepatch_parallel must be 1 to 1000 (got 0)" in log.read_text()
    assert str(log) in run.stdout and "livepatch_parallel must be 1 to 1000" in run.stdout, run.stdout[-3000:]
    assert real.jobs() == []
