# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The stage engine against the simulator: a rolling window, what it does when the fleet changed under the plan, and
when it must stop submitting (the run's process gone, its deadline passed)."""

from __future__ import annotations

import datetime
import os
import threading
import time

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient
from ansible_collections.acs.upgrade.plugins.module_utils._engine import StageRunner
from ansible_collections.acs.upgrade.plugins.module_utils._state import Journal, plan_steps
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet
from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan, start_run

NOW = datetime.datetime.now(datetime.timezone.utc)


def setup(sim, tmp_path, **plan_options):
    client = CloudStackClient(sim.url, sim.admin_key, sim.admin_secret)
    plan = start_run(build_plan(Fleet.read(client).as_dict(), **plan_options), None, NOW, plan_options.pop("max_run_time", 0), "run1")
    return client, plan, Journal(str(tmp_path / "journal.jsonl"))


def stage(client, plan, journal, group, name, **options):
    return StageRunner(client, plan, journal, group, name, poll_interval=0.05, **dict({"parallel": 3}, **options)).execute()


def restarts(sim):
    return [job for job in sim.jobs() if job["command"] in ("restartNetwork", "restartVPC")]


def _resumed(plan):
    """The next attempt of the run, starting now (after what the killed attempt left)."""
    return start_run(plan, plan, datetime.datetime.now(datetime.timezone.utc), 0, "unused")


def test_stages_roll_with_the_window_full_until_the_end(acs_sim, tmp_path):
    sim = acs_sim(topology={"managementserver": {"version": "4.18.0.0"}, "seed": 3, "zones": [{"name": "z1", "systemvms": {"version": "4.16.1"}}],
                            "accounts": [{"name": "acme", "domain": "ROOT"}],
                            "networks": [{"name": "net%d" % i, "zone": "z1", "account": "acme", "routers": [{"version": "4.16.1"}]} for i in range(12)]},
                  time_factor=0.005)
    client, plan, journal = setup(sim, tmp_path, canary_size=1, batch_size=2)
    results = [stage(client, plan, journal, group["name"], name) for group in plan_steps(plan) for name in group["stages"]]
    assert [result["counts"]["done"] for result in results] == [2, 1, 11]
    # Batches of 2 no longer bound the window: 3 jobs were in flight at once, never more.
    assert results[2]["max_in_flight"] == 3 and sim.max_jobs_in_flight("restartNetwork") == 3
    ends = [entry for entry in journal.entries() if entry["status"] != "submitted"]
    assert len(ends) == 14 and all(entry["status"] == "done" and entry["run"] == "run1" for entry in ends)
    # Every end follows its own submit, with the same job id.
    submits = {entry["key"]: entry["jobid"] for entry in journal.entries() if entry["status"] == "submitted"}
    assert all(submits[entry["key"]] == entry["jobid"] for entry in ends)


def test_a_router_gone_since_the_plan_is_skipped_and_the_rest_goes_on(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    gone = next(item for item in plan["items"] if item["name"] == "acme-web")
    sim.client().run("destroyRouter", id=gone["routers"][0]["id"])
    result = stage(client, plan, journal, gone["group"], "routers")
    assert not result["stop"]
    ends = {entry["name"]: entry for entry in journal.entries() if entry["status"] != "submitted"}
    assert ends["acme-web"]["status"] == "skipped" and "its routers are gone since the plan was made" in ends["acme-web"]["error"]
    assert result["counts"]["done"] >= 1 and result["counts"]["skipped"] == 1
    assert gone["id"] not in {job["instanceid"] for job in restarts(sim)}


def test_nothing_is_submitted_once_the_playbook_process_is_gone(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    result = stage(client, plan, journal, group, "routers", alive=lambda: False)
    assert result["stop"] and "the process that runs the playbook is gone" in result["msg"]
    assert restarts(sim) == [] and journal.entries() == []
    assert result["counts"]["not_run"] == result["counts"]["targets"] > 0


def test_nothing_is_submitted_after_the_runs_deadline(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    plan["run"]["deadline"] = (NOW - datetime.timedelta(seconds=1)).isoformat()
    result = stage(client, plan, journal, plan_steps(plan)[0]["name"], "routers")
    assert result["stop"] and "deadline" in result["msg"] and restarts(sim) == []


def test_a_job_the_killed_attempt_never_journalled_is_followed_not_submitted_again(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.05)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    targets = [item for item in plan["items"] if item["group"] == group and item["kind"] == "network" and item["path"] == "livepatch"]
    first, lost = targets[0], targets[1]
    # The first attempt finished one network, and was killed right after CloudStack took the restart of another.
    journal.append({"key": first["key"], "name": first["name"], "ms_version": plan["ms_version"], "run": "run1", "attempt": 1, "batch": 1,
                    "path": "livepatch", "status": "done", "time": NOW.isoformat(timespec="seconds")})
    sim.client().call("restartNetwork", id=first["id"], livepatch="true", cleanup="false")
    started = sim.client().call("restartNetwork", id=lost["id"], livepatch="true", cleanup="false")["jobid"]
    plan = _resumed(plan)
    assert plan["run"] == dict(plan["run"], id="run1", attempt=2)

    result = stage(client, plan, journal, group, "routers")
    assert not result["stop"] and result["counts"]["adopted"] == 1
    on_lost = [job["jobid"] for job in restarts(sim) if job["instanceid"] == lost["id"]]
    assert on_lost == [started]
    ends = {entry["name"]: entry for entry in journal.entries() if entry["status"] == "done"}
    assert ends[lost["name"]]["jobid"] == started


def _unit_targets(plan, group):
    return [item for item in plan["items"] if item["group"] == group and item["kind"] == "network" and item["path"] == "livepatch"]


def test_a_job_that_ended_while_nobody_journalled_it_is_verified_and_journalled_not_sent_again(acs_sim, tmp_path):
    # A hard kill during a slow submit: CloudStack took the live patch and ran it to its end; the journal never heard of it.
    sim = acs_sim(topology="small", time_factor=0.01)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    lost = _unit_targets(plan, group)[0]
    started = sim.client().run("restartNetwork", id=lost["id"], livepatch="true", cleanup="false")["jobid"]
    result = stage(client, _resumed(plan), journal, group, "routers")
    assert not result["stop"], result["msg"]
    assert [job["jobid"] for job in restarts(sim) if job["instanceid"] == lost["id"]] == [started]
    ends = [entry for entry in journal.entries() if entry["key"] == lost["key"] and entry["status"] != "submitted"]
    assert [(entry["status"], entry["jobid"]) for entry in ends] == [("done", started)]
    adopted = [entry for entry in journal.entries() if entry["key"] == lost["key"] and entry["status"] == "submitted"]
    assert adopted[0]["adopted"] and "restartnetwork" in adopted[0]["adopted_from"]


def test_an_unknown_outcome_is_looked_up_and_a_lost_recreate_is_judged_by_its_new_routers(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.01)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    patched, recreated = _unit_targets(plan, group)[:2]
    # The answers were lost: the journal says unknown, without a job id; CloudStack ran both jobs (one a restart with cleanup).
    for item in (patched, recreated):
        journal.append({"key": item["key"], "name": item["name"], "ms_version": plan["ms_version"], "run": "run1", "attempt": 1, "batch": 1,
                        "path": "livepatch" if item is patched else "legacy", "status": "unknown", "time": NOW.isoformat(timespec="seconds"),
                        "error": "no job of it appeared in listAsyncJobs within the settle window"})
    first = sim.client().run("restartNetwork", id=patched["id"], livepatch="true", cleanup="false")["jobid"]
    second = sim.client().run("restartNetwork", id=recreated["id"], cleanup="true")["jobid"]
    result = stage(client, _resumed(plan), journal, group, "routers")
    assert not result["stop"], result["msg"]
    for item, jobid in ((patched, first), (recreated, second)):
        assert [job["jobid"] for job in restarts(sim) if job["instanceid"] == item["id"]] == [jobid]
        last = [entry for entry in journal.entries() if entry["key"] == item["key"]][-1]
        assert (last["status"], last["jobid"]) == ("done", jobid), last


def test_a_fresh_run_refuses_to_act_while_another_actors_job_runs_on_its_targets(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.2)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    busy = _unit_targets(plan, group)[0]
    other = sim.client().call("restartNetwork", id=busy["id"], livepatch="true", cleanup="false")["jobid"]
    result = stage(client, plan, journal, group, "routers")
    assert result["stop"] and result["failed"]
    assert "another run or an operator is acting on this cloud" in result["msg"] and other in result["msg"] and busy["name"] in result["msg"]
    assert [job["jobid"] for job in restarts(sim)] == [other]
    assert journal.entries() == []


def test_a_target_upgraded_since_the_plan_by_someone_else_is_journalled_done_without_a_job(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.01)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    item = _unit_targets(plan, group)[0]
    sim.client().run("restartNetwork", id=item["id"], livepatch="true", cleanup="false")
    # The plan was made long before this run acts (an approval wait): that job is older than the run, and only the
    # routers' state tells that the network needs nothing more.
    plan["run"]["first_started"] = plan["run"]["started"] = (NOW + datetime.timedelta(hours=1)).isoformat()
    result = stage(client, plan, journal, group, "routers")
    assert not result["stop"], result["msg"]
    assert len([job for job in restarts(sim) if job["instanceid"] == item["id"]]) == 1
    last = [entry for entry in journal.entries() if entry["key"] == item["key"]][-1]
    assert last["status"] == "done" and "upgraded since the plan" in last["reason"] and not last.get("jobid")
    assert result["counts"]["found_done"] == 1


def test_a_network_whose_live_patch_and_recreate_failed_is_recreated_again_never_live_patched_again(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    item = _unit_targets(plan, group)[0]
    common = {"key": item["key"], "name": item["name"], "ms_version": plan["ms_version"], "run": "run1", "attempt": 1, "batch": 1,
              "time": NOW.isoformat(timespec="seconds")}
    journal.append(dict(common, path="livepatch", status="failed", jobid="j-patch", recreate=True, error="restartNetwork job failed"))
    journal.append(dict(common, path="legacy", status="failed", jobid="j-recreate", fallback=True, recreate=False, error="restartNetwork(cleanup) failed"))
    result = stage(client, _resumed(plan), journal, group, "routers")
    assert not result["stop"], result["msg"]
    jobs = [job for job in restarts(sim) if job["instanceid"] == item["id"]]
    assert [job["params"].get("cleanup") for job in jobs] == ["true"] and jobs[0]["params"].get("livepatch") != "true"


def test_a_resumed_run_refuses_when_a_job_it_did_not_start_began_after_it(acs_sim, tmp_path):
    # The killed attempt's jobs were all created before this attempt began; one created since is another actor's.
    sim = acs_sim(topology="small", time_factor=0.2)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    group = plan_steps(plan)[0]["name"]
    busy = _unit_targets(plan, group)[0]
    plan = _resumed(plan)
    plan["run"]["started"] = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)).isoformat()
    other = sim.client().call("restartNetwork", id=busy["id"], livepatch="true", cleanup="false")["jobid"]
    result = stage(client, plan, journal, group, "routers")
    assert result["stop"] and "another run or an operator is acting on this cloud" in result["msg"] and other in result["msg"]
    assert [job["jobid"] for job in restarts(sim)] == [other] and journal.entries() == []


def test_a_run_that_took_over_a_dead_runs_lock_reads_the_job_list_after_the_settle_window(acs_sim, tmp_path):
    from ansible_collections.acs.upgrade.plugins.module_utils._state import RunLock

    sim = acs_sim(topology="small", time_factor=0.01)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    client.settle_window = 2.0
    group = plan_steps(plan)[0]["name"]
    late = _unit_targets(plan, group)[0]
    # The dead run's lock, taken over just now.
    dead = RunLock(journal.path, pid=2**22 + 17)
    dead.acquire()
    lock = RunLock(journal.path, pid=os.getpid())
    assert any("took over" in warning for warning in lock.acquire())
    plan = _resumed(plan)

    # A request the dead run sent becomes a job one second later (the server held it).
    def held_request():
        late["jobid"] = sim.client().call("restartNetwork", id=late["id"], livepatch="true", cleanup="false")["jobid"]

    holder = threading.Timer(1.0, held_request)
    holder.start()
    started = time.monotonic()
    result = StageRunner(client, plan, journal, group, "routers", poll_interval=0.05, parallel=3, state_lock=lock).execute()
    holder.join()
    assert not result["stop"], result["msg"]
    assert time.monotonic() - started >= 1.5 and any("settle window" in warning for warning in result["warnings"])
    assert [job["jobid"] for job in restarts(sim) if job["instanceid"] == late["id"]] == [late["jobid"]]
