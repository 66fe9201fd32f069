# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""playbooks/upgrade.yml and its state directory: the report never stops an upgrade, whatever the environment does to
it, and every file the run leaves is private to its user."""

from __future__ import annotations

import json
import os
import pwd
import stat

from playbook_runner import ROUTER_COMMANDS, read_journal, read_plan, run_playbook, wait_until_lock_owner_ended, zone_of
from test_upgrade_playbooks import extravars


def upgraded_zones(sim) -> set[str]:
    zones = zone_of(sim)
    return {zones[job["instanceid"]] for job in sim.jobs() if job["command"] in ROUTER_COMMANDS}


def all_zones(sim) -> set[str]:
    return {item["zonename"] for item in sim.state()["networks"]}


def assert_every_group_done(output):
    report = json.loads((output / "report.json").read_text())
    assert report["outcome"]["status"] == "finished", report["outcome"]
    assert {group["name"] for group in report["groups"]} == {batch["group"] for batch in read_plan(output)["batches"]}
    for group in report["groups"]:
        assert group["totals"]["not_run"] == group["totals"]["failed"] == group["totals"]["unknown"] == 0, group["name"]


def test_a_home_other_than_the_users_own_neither_stops_the_run_nor_keeps_the_lock(acs_sim, tmp_path):
    # sudo -E, cron, systemd units and Semaphore start ansible-playbook with a HOME that is not the passwd home: the
    # report written in the background after each group must still be found when the next report waits for it.
    home = tmp_path / "home"
    home.mkdir()
    assert str(home) != pwd.getpwuid(os.getuid()).pw_dir
    sim = acs_sim(topology="sample-cloud", time_factor=0.002)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output), env={"HOME": str(home)})
    assert run.rc == 0, run.stdout[-3000:]
    assert len(all_zones(sim)) == 3 and upgraded_zones(sim) == all_zones(sim)
    assert_every_group_done(output)
    assert not (output / "journal.jsonl.lock").exists()
    assert "was not written" not in run.stdout


def test_a_report_that_cannot_be_written_is_a_warning_and_the_upgrade_goes_on(acs_sim, tmp_path):
    sim = acs_sim(topology="sample-cloud", time_factor=0.002)
    output = tmp_path / "out"
    # A regular file where the report's directory should be: every report, in the background or not, fails.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, report_output_dir=str(blocker / "reports")))
    assert run.rc == 0, run.stdout[-3000:]
    assert upgraded_zones(sim) == all_zones(sim)
    planned = {item["key"] for item in read_plan(output)["items"] if item["path"] != "skip"}
    assert planned <= {entry["key"] for entry in read_journal(output) if entry["status"] == "done"}
    assert not (output / "journal.jsonl.lock").exists()
    # Each failure is a warning that says which report failed, why, and how to write it again.
    warnings = [event["stdout"] for event in run.events if "[WARNING]" in (event.get("stdout") or "")]
    print("\n".join(warnings))
    assert any("the report after zone1 (written in the background) was not written" in text for text in warnings)
    assert any("the report at the end of the run was not written" in text for text in warnings)
    assert all("ansible-playbook acs.upgrade.report" in text and "Not a directory" in text for text in warnings if "was not written" in text)
    assert run.failures == 0
    # Writing the report is all playbooks/report.yml does: there, a report it cannot write fails the job.
    again = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output), "report_output_dir": str(blocker / "reports")})
    assert again.rc != 0 and "cannot write the upgrade report" in again.stdout


def test_every_file_of_the_state_directory_is_private(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    umask = os.umask(0o022)
    try:
        run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_order="zone2,zone1"))
    finally:
        os.umask(umask)
    assert run.rc == 0, run.stdout[-3000:]
    modes = {}
    for directory, subdirectories, files in os.walk(output):
        for name in subdirectories:
            modes[os.path.join(directory, name) + "/"] = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
        for name in files:
            modes[os.path.join(directory, name)] = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
    names = {os.path.relpath(path, output) for path in modes}
    assert {"plan.json", "plan.txt", "journal.jsonl", "progress.log", "fleet.json", "report.json", "report.md", "report.html"} <= names
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o700
    assert {path: oct(mode) for path, mode in modes.items() if mode != (0o700 if path.endswith("/") else 0o600)} == {}


def test_the_report_of_a_killed_run_says_the_run_stopped_before_its_unfinished_work(acs_sim, tmp_path):
    # Jobs long enough that the cancel lands while the routers stage runs, on a loaded machine too.
    sim = acs_sim(topology="small", time_factor=0.05)
    output = tmp_path / "out"

    def submitted_in_routers_stage():
        return any(entry["status"] == "submitted" and entry["stage"] == "routers" for entry in read_journal(output, ends=False))

    killed = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output), cancel=submitted_in_routers_stage)
    assert killed.status == "canceled"
    wait_until_lock_owner_ended(output)
    # The lock stays: the run never reached the end of its play.
    assert (output / "journal.jsonl.lock").exists()

    again = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output)})
    assert again.rc == 0, again.stdout[-3000:]
    report = json.loads((output / "report.json").read_text())
    assert report["totals"]["not_run"] > 0
    assert report["outcome"]["status"] == "stopped"
    assert "the run ended before it finished (killed or cancelled" in report["outcome"]["summary"]
    actions = {entry["action"] for entry in report["attention"] if entry["outcome"] == "not_run"}
    assert actions == {"not run yet: the run stopped before reaching it (killed or cancelled); run again to continue (finished work is skipped)"}
    assert "maintenance window" not in (output / "report.md").read_text()
