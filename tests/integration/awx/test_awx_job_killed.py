# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""An AWX job killed by its timeout leaves a report and a journal in the state directory, and the next job resumes."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import ansible_runner
import yaml
from test_awx_definitions import credential_env

REPO = Path(__file__).resolve().parents[3]
SYSTEMVM_COMMANDS = ("patchSystemVm", "rebootSystemVm", "stopSystemVm", "startSystemVm", "destroySystemVm")
ROUTER_COMMANDS = ("restartNetwork", "restartVPC", "rebootRouter", "upgradeRouterTemplate")


def job_template_vars(name: str) -> dict:
    """What AWX passes to a job of this template: its extra vars, then the survey's defaults as answers."""
    template = next(item for item in yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["acs_awx_job_templates"] if item["name"] == name)
    answers = {question["variable"]: question["default"] for question in template["survey"]["spec"] if "default" in question}
    return dict(template["extra_vars"], **answers)


def awx_job(sim, workdir: Path, extravars: dict, timeout: int | None = None) -> ansible_runner.Runner:
    """One job as AWX runs it: ansible-runner, the credential's environment variables, the job template's timeout."""
    env, credential_vars = credential_env({"endpoint": sim.url, "key": sim.admin_key, "secret": sim.admin_secret, "verify": "false"})
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.environ["ANSIBLE_COLLECTIONS_PATH"],
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    )
    private = workdir / ("job-%d" % len(list(workdir.glob("job-*"))))
    private.mkdir(parents=True)
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO / "playbooks"),
        playbook="upgrade.yml",
        inventory="localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
        extravars=dict(extravars, **credential_vars),
        envvars=env,
        timeout=timeout,
        quiet=True,
    )


def journal(state: Path) -> list[dict]:
    """The ends of the journal's targets (the submits before them are journalled too, each with its job id)."""
    entries = [json.loads(line) for line in (state / "journal.jsonl").read_text().splitlines() if line.strip()]
    return [entry for entry in entries if entry["status"] != "submitted"]


def test_job_killed_by_its_timeout_leaves_report_and_journal_and_the_next_job_resumes(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002, state_dir=tmp_path / "cloud")
    state = tmp_path / "state"
    extravars = job_template_vars("acs.upgrade - upgrade")
    # The job template's extra vars and survey answers, with the state directory on this test's "volume": zone2
    # first (so that a group is finished before the job hangs in zone1), and of zone1 only its SSVM; short polls.
    extravars.update(
        acs_upgrade_dir=str(state),
        plan_order="zone2",
        plan_include="zone2, s-1-VM",
        plan_canary_size="0",
        livepatch_health_gate="false",
        livepatch_poll_interval="1",
        legacy_recreate_poll_interval="1",
    )
    # The patch of zone1's SSVM never finishes: the job runs into its timeout there.
    sim.inject(kind="job_hang", object="s-1-VM", api="patchSystemVm")

    started = time.monotonic()
    killed = awx_job(sim, tmp_path, extravars, timeout=60)
    print("killed job ran %.0f s; zone2 was journalled by %s" % (time.monotonic() - started, [entry["time"] for entry in journal(state)][-1:]))
    started = time.monotonic()
    assert killed.status == "timeout", killed.stdout.read()[-3000:]
    output = killed.stdout.read()
    assert "State directory (journal, plan, reports; keep it on persistent storage to resume): %s" % state in output

    # What the killed job leaves: the plan, the journal of zone2's work, and a report written when zone2 ended.
    plan = json.loads((state / "plan.json").read_text())
    zone_of = {item["key"]: item["zonename"] for item in plan["items"]}
    zone1 = {item["key"] for item in plan["items"] if item["zonename"] == "zone1" and item["name"] != "s-1-VM"}
    assert {item["key"] for item in plan["excluded"]} == zone1 and len(zone1) >= 5
    assert all("matches no include entry (zone2, s-1-VM)" in item["reason"] for item in plan["excluded"])
    first = journal(state)
    assert first and {zone_of[entry["key"]] for entry in first} == {"zone2"}
    assert all(entry["status"] == "done" for entry in first)
    report = json.loads((state / "report.json").read_text())
    assert (state / "report.html").is_file() and (state / "report.md").is_file()
    assert sim.admin_secret not in (state / "report.json").read_text() + (state / "report.md").read_text()
    # Written when zone2 ended, not at the start: what the journal holds is reported as done.
    outcomes = {item["name"]: item["outcome"] for group in report["groups"] for item in group["units"]}
    assert {entry["name"]: outcomes.get(entry["name"]) for entry in first} == {entry["name"]: "done" for entry in first}
    assert report["totals"]["done"] == len(first)
    done_before = {entry["key"] for entry in first}

    # The incident is fixed (the management server restarted: the hung job is gone, the cloud is as it was) and
    # the next job resumes: nothing finished is done again.
    sim.stop()
    sim = acs_sim(topology="small", time_factor=0.002, state_dir=tmp_path / "cloud")
    jobs_before = 0
    resumed = awx_job(sim, tmp_path, extravars)
    assert resumed.status == "successful", resumed.stdout.read()[-3000:]
    new_jobs = sim.jobs()[jobs_before:]
    touched = {job["instanceid"] for job in new_jobs if job["command"] in SYSTEMVM_COMMANDS + ROUTER_COMMANDS}
    assert not touched & {key.split(":", 1)[1] for key in done_before}
    second = journal(state)[len(first) :]
    assert second and {zone_of[entry["key"]] for entry in second} == {"zone1"}
    planned = {item["key"] for item in plan["items"] if item["path"] != "skip"}
    finished = {entry["key"] for entry in journal(state) if entry["status"] == "done"}
    assert planned <= finished
    final = json.loads((state / "report.json").read_text())
    assert final != report
    print("resumed job ran %.0f s" % (time.monotonic() - started))
