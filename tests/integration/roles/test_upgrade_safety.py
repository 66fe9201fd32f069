# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What an unlucky night does to playbooks/upgrade.yml (ansible-runner against the simulator): each test is a defect
the earlier batch design had, and the run must now stop, refuse or continue safely."""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import threading
import time

import pytest


from playbook_runner import ROUTER_COMMANDS, read_journal, read_plan, run_playbook, wait_until_lock_owner_ended
from test_upgrade_playbooks import FAILING_NETWORK, extravars


def router_jobs(sim):
    return [job for job in sim.jobs() if job["command"] in ROUTER_COMMANDS]


def test_a_canary_whose_health_regresses_stops_the_group_and_the_run(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    # The first live patch of a network or VPC (the canary) goes through, and breaks DNS on its routers.
    sim.inject(kind="livepatch_breaks_health", checks=["dns"], count=1)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_health_gate="true"))
    assert run.rc != 0, run.stdout[-3000:]
    assert "health of" in run.stdout and "regressed" in run.stdout and "dns_check.py" in run.stdout
    # Nothing but the canary was touched among the routers, and it was not recreated on top of it.
    jobs = router_jobs(sim)
    assert len(jobs) == 1 and jobs[0]["params"].get("livepatch") == "true"
    canary = [entry for entry in read_journal(output) if entry["stage"] == "canary"]
    assert [(entry["status"], entry["health_before"]) for entry in canary] == [("failed", "passed")]
    assert "health regressed: dns_check.py" in canary[0]["error"]
    assert run.stats["acs_upgrade"]["failed"] == 1 and run.stats["acs_upgrade"]["not_run"] > 0


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("livepatch_parallel", "0", "livepatch_parallel must be 1 to 1000 (got 0)"),
        # The report is written after each group: refused there, it would stop the run after the first group.
        ("report_names_limit", "-1", "report_names_limit must be 0 or more (got -1)"),
    ],
)
def test_an_invalid_option_fails_the_run_before_anything_is_touched(acs_sim, tmp_path, option, value, message):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, **{option: value}))
    assert run.rc != 0
    assert message in run.stdout
    assert sim.jobs() == []
    assert read_journal(output, ends=False) == []
    # The lock was given back: the corrected run starts at once.
    assert not (output / "journal.jsonl.lock").exists()
    assert run_playbook(sim, tmp_path, "upgrade.yml", extravars(output)).rc == 0


def test_a_live_patch_that_times_out_is_not_recreated_while_its_job_is_pending(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    network = next(item["id"] for item in sim.state()["networks"] if item["name"] == "acme-web")
    sim.inject(kind="job_hang", api="restartNetwork", object="acme-web")
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_timeout="2"))
    # Its outcome is unknown: with the defaults that is a failure and the run stops, but no second job hits the network.
    assert run.rc != 0
    on_network = [job for job in sim.jobs() if job["instanceid"] == network]
    assert [(job["params"].get("livepatch"), job["params"].get("cleanup")) for job in on_network] == [("true", "false")]
    ends = [entry for entry in read_journal(output) if entry["name"] == "acme-web"]
    assert [entry["status"] for entry in ends] == ["unknown"] and ends[0]["jobid"] == on_network[0]["jobid"]
    assert "the next run follows it" in ends[0]["error"]


def test_a_second_run_on_the_same_state_is_refused_and_a_dead_runs_lock_is_taken_over(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    output.mkdir()
    lock = output / "journal.jsonl.lock"
    # A live run on this host holds the state (this test's own process plays it).
    lock.write_text(json.dumps({"owner": "night-shift", "host": socket.gethostname(), "pid": os.getpid(), "start": "2026-11-27T01:00:00+00:00"}))
    refused = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert refused.rc != 0
    assert "another run holds the state lock" in refused.stdout and "pid %d of night-shift" % os.getpid() in refused.stdout
    assert sim.jobs() == [] and not (output / "plan.json").exists()
    assert json.loads(lock.read_text())["pid"] == os.getpid(), "the refused run must leave the other run's lock alone"

    # The same lock left by a process that is gone: taken over with a warning.
    gone = subprocess.Popen(["true"])
    gone.wait()
    lock.write_text(json.dumps({"owner": "night-shift", "host": socket.gethostname(), "pid": gone.pid, "start": "2026-11-27T01:00:00+00:00"}))
    taken = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert taken.rc == 0, taken.stdout[-3000:]
    assert "took over the state lock of pid %d" % gone.pid in taken.stdout
    assert router_jobs(sim) and not lock.exists()


def test_a_lock_of_another_host_is_refused_while_its_lease_is_fresh_and_taken_over_once_stale(acs_sim, tmp_path):
    # AWX runs a region's jobs in pods of their own: the lock of the previous job comes from a host this one cannot check.
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    output.mkdir()
    lock = output / "journal.jsonl.lock"

    def other_host_lock(heartbeat_age):
        beat = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=heartbeat_age)
        content = {"owner": "awx", "host": "automation-job-41-x7q2p", "pid": 12, "start": "2026-11-27T01:00:00+00:00"}
        lock.write_text(json.dumps(dict(content, heartbeat=beat.isoformat(timespec="seconds"))))

    # Its heartbeat two minutes old: that job may still run, within the lease of 600 s.
    other_host_lock(120)
    refused = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert refused.rc != 0
    assert "pid 12 of awx on host automation-job-41-x7q2p" in refused.stdout and "lease of 600 s" in refused.stdout
    assert sim.jobs() == [] and not (output / "plan.json").exists()
    assert json.loads(lock.read_text())["host"] == "automation-job-41-x7q2p", "the refused run must leave the other run's lock alone"

    # The same lock with a shorter lease, set as an AWX extra var: that job's pod is taken to be gone.
    taken = run_playbook(sim, tmp_path, "upgrade.yml", dict(extravars(output), acs_upgrade_lock_lease="60"))
    assert taken.rc == 0, taken.stdout[-3000:]
    assert "took over the state lock of pid 12 of awx on host automation-job-41-x7q2p" in taken.stdout
    assert "more than the lease of 60 s" in taken.stdout
    assert router_jobs(sim) and not lock.exists()


def test_a_resumed_run_keeps_its_plan_adopts_jobs_in_flight_and_reports_the_earlier_work_as_done(acs_sim, tmp_path):
    # Jobs long enough that the cancel lands while the routers stage runs, on a loaded machine too.
    sim = acs_sim(topology="small", time_factor=0.05)
    output = tmp_path / "out"

    def submitted_in_routers_stage():
        return any(entry["status"] == "submitted" and entry["stage"] == "routers" for entry in read_journal(output, ends=False))

    first = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_parallel="3"), cancel=submitted_in_routers_stage)
    assert first.status == "canceled"
    # As an operator would: the cancelled ansible-playbook may take a moment to exit; until it has, its lock stands.
    wait_until_lock_owner_ended(output)
    plan_before = read_plan(output)
    interrupted_at = len(sim.jobs())
    finished = {entry["key"].split(":", 1)[1] for entry in read_journal(output) if entry["status"] == "done"}

    resumed = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_parallel="3"))
    assert resumed.rc == 0, resumed.stdout[-3000:]
    plan = read_plan(output)
    # The same plan and numbering, a second attempt of the same run.
    assert plan["batches"] == plan_before["batches"] and plan["run"]["id"] == plan_before["run"]["id"] and plan["run"]["attempt"] == 2
    # No target got a second job: what was in flight was followed, not submitted again; what was done stayed done.
    ids = [job["instanceid"] for job in sim.jobs()]
    assert len(ids) == len(set(ids)), ids
    assert finished and not finished & {job["instanceid"] for job in sim.jobs()[interrupted_at:]}
    # The report counts the first attempt's work as done, marked as such.
    planned = sum(1 for item in plan["items"] if item["path"] != "skip")
    assert resumed.stats["acs_upgrade"]["done"] == planned and resumed.stats["acs_upgrade"]["not_run"] == 0
    units = [unit for group in json.loads((output / "report.json").read_text())["groups"] for unit in group["units"]]
    earlier = {unit["key"] for unit in units if unit["earlier_run"]}
    # The killed attempt's module journals the ends of its jobs in flight until it notices the run is gone.
    first_attempt = {entry["key"] for entry in read_journal(output) if entry["status"] == "done" and entry.get("attempt") == 1}
    assert earlier == first_attempt and finished <= {key.split(":", 1)[1] for key in first_attempt}
    assert "finished in an earlier run" in (output / "report.html").read_text()


# Each way a live patch fails in livepatch.yml: the network's job fails (530) as the server refuses its router with the
# old scripts, the VPC's job succeeds (restartVPC ignores the tier's result) but its router kept the old scripts and is
# refused as well, and patchSystemVm fails on a system VM.
LIVE_PATCH_FAILURES = [
    pytest.param("network", FAILING_NETWORK, {"kind": "livepatch_failure"}, "refused", ("restartNetwork", "cleanup", "true"), id="network-refused"),
    pytest.param("vpc", "acme-vpc", {"kind": "livepatch_failure"}, "refused", ("restartVPC", "cleanup", "true"), id="vpc-unpatched"),
    pytest.param("systemvm", "s-1-VM", {"kind": "job_failure", "api": "patchSystemVm"}, "failed", ("rebootSystemVm", None, None), id="systemvm-failed"),
]


def _target_id(sim, kind, name):
    collection = {"network": "networks", "vpc": "vpcs", "systemvm": "systemvms"}[kind]
    return next(item["id"] for item in sim.state()[collection] if item["name"] == name)


@pytest.mark.parametrize("kind, name, fault, status, recreate", LIVE_PATCH_FAILURES)
def test_a_live_patch_that_failed_in_livepatch_yml_is_recreated_by_legacy_recreate_yml(acs_sim, tmp_path, kind, name, fault, status, recreate):
    # roles/legacy_recreate/README.md: what the live patch could not upgrade, legacy_recreate.yml recreates from the same state.
    sim = acs_sim(topology="small", time_factor=0.002)
    if kind == "systemvm":
        name = next(vm["name"] for vm in sim.state()["systemvms"] if vm["systemvmtype"] == "secondarystoragevm" and vm["zonename"] == "zone1")
    sim.inject(object=name, errortext="patch script exited 1: a service failed to restart", **fault)
    target = _target_id(sim, kind, name)
    output = tmp_path / "out"
    run_playbook(sim, tmp_path, "livepatch.yml", extravars(output, livepatch_max_fail_percentage="100"))
    failed = [entry for entry in read_journal(output) if entry["name"] == name]
    assert [(entry["status"], entry["path"]) for entry in failed] == [(status, "livepatch")], failed

    def recreates(jobs):
        return [job for job in jobs if job["command"] == recreate[0] and (recreate[1] is None or job["params"].get(recreate[1]) == recreate[2])]

    assert recreates(job for job in sim.jobs() if job["instanceid"] == target) == []

    run = run_playbook(sim, tmp_path, "legacy_recreate.yml", extravars(output))
    assert run.rc == 0, run.stdout[-3000:]
    jobs = [job for job in sim.jobs() if job["instanceid"] == target]
    # One live patch (failed), then one recreate; never a second live patch.
    live = [job for job in jobs if job["command"] == "patchSystemVm" or job["params"].get("livepatch") == "true"]
    recreated = recreates(jobs)
    assert (len(live), len(recreated)) == (1, 1), jobs
    assert jobs.index(live[0]) < jobs.index(recreated[0]), jobs
    last = [entry for entry in read_journal(output) if entry["name"] == name][-1]
    assert (last["status"], last["path"]) == ("done", "legacy"), last
    if kind != "systemvm":
        owner = "guestnetworkid" if kind == "network" else "vpcid"
        routers = [router for router in sim.state()["routers"] if router.get(owner) == target]
        assert routers and all(router["state"] == "Running" and not router["requiresupgrade"] for router in routers)


def test_a_second_run_on_the_same_cloud_with_another_state_directory_is_refused_and_names_the_first(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.05)
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first = {}

    def run_first():
        first["run"] = run_playbook(sim, tmp_path / "a", "upgrade.yml", extravars(first_dir, livepatch_parallel="1"))

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not any(entry["status"] == "submitted" for entry in read_journal(first_dir, ends=False)) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = run_playbook(sim, tmp_path / "b", "upgrade.yml", extravars(second_dir, livepatch_parallel="1"))
    finally:
        thread.join()
    assert second.rc != 0
    assert "another run acts on the cloud" in second.stdout and str(first_dir) in second.stdout, second.stdout[-3000:]
    assert first["run"].rc == 0, first["run"].stdout[-3000:]
    # Every target got one job, from the first run; the second journalled no act.
    ids = [job["instanceid"] for job in router_jobs(sim)]
    assert ids and len(ids) == len(set(ids)), ids
    assert len([job for job in sim.jobs() if job["command"] == "patchSystemVm"]) == len(sim.state()["systemvms"])
    assert [entry for entry in read_journal(second_dir, ends=False) if entry["status"] in ("submitted", "done")] == []


def journal_line(**entry):
    return json.dumps(dict({"ms_version": "4.18.0.0", "batch": 1, "path": "livepatch", "time": "2026-11-27T01:00:00+00:00"}, **entry), sort_keys=True) + "\n"


def test_a_journal_line_torn_by_an_interrupted_write_is_set_aside_and_the_run_goes_on(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    network = next(item for item in sim.state()["networks"] if item["name"] == "acme-web")
    output = tmp_path / "out"
    output.mkdir()
    journal = output / "journal.jsonl"
    # An earlier run finished acme-web and was killed while it wrote its next line.
    done = journal_line(key="network:%s" % network["id"], name="acme-web", status="done", jobid="job-earlier")
    torn = '{"batch": 2, "jobid": "job-lost", "key": "network:'
    journal.write_text(done + torn)
    journal.chmod(0o600)

    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert run.rc == 0, run.stdout[-3000:]
    assert "the journal %s ended in a line torn by an interrupted write" % journal in run.stdout
    assert "moved to %s.torn; the 1 complete line(s) before it are kept" % journal in run.stdout
    assert (output / "journal.jsonl.torn").read_text() == torn + "\n"
    # The journal reads back whole: the earlier line first, then this run's, each on its own line.
    text = journal.read_text()
    assert text.startswith(done) and torn not in text
    entries = read_journal(output, ends=False)
    assert len(entries) > 2 and all(entry["status"] in ("submitted", "done") for entry in entries)
    # Nothing was acted on twice, and what the earlier run finished was not acted on again.
    ids = [job["instanceid"] for job in sim.jobs()]
    assert ids and len(ids) == len(set(ids)) and network["id"] not in ids


def test_a_journal_line_of_the_wrong_types_stops_the_run_before_any_job(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    network = next(item for item in sim.state()["networks"] if item["name"] == "acme-web")
    output = tmp_path / "out"
    output.mkdir()
    journal = output / "journal.jsonl"
    content = journal_line(key="network:%s" % network["id"], name="acme-web", status="done", jobid="job-1") + journal_line(
        key="network:%s" % network["id"], name="acme-web", status="done", jobid="job-1", time=5
    )
    journal.write_text(content)

    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert run.rc != 0
    assert "cannot read the journal %s: journal line 2: time is 5, not an ISO-8601 date and time; fix or remove that line" % journal in run.stdout
    assert sim.jobs() == [] and journal.read_text() == content
    assert not (output / "journal.jsonl.lock").exists()


def test_a_plan_file_that_is_not_a_plan_is_refused_and_kept(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    output.mkdir()
    plan_file = output / "plan.json"
    plan_file.write_text('{"items": {}, "batches": []}')

    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert run.rc != 0
    assert (
        "the earlier plan was not replaced: %s is not a plan of acs.upgrade.cs_upgrade_plan: it has no ms_version; "
        "move it aside, then make the plan again with the acs.upgrade.plan role" % plan_file
    ) in run.stdout
    assert sim.jobs() == [] and plan_file.read_text() == '{"items": {}, "batches": []}' and not (output / "plan.txt").exists()
    assert not (output / "journal.jsonl.lock").exists()
