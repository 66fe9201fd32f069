# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The stage engine against the simulator: a rolling window, what it does when the fleet changed under the plan, and
when it must stop submitting (the run's process gone, its deadline passed)."""

from __future__ import annotations

import datetime

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient
from ansible_collections.acs.upgrade.plugins.module_utils._engine import Journal, StageRunner, plan_steps
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
    plan = start_run(plan, plan, NOW, 0, "unused")
    assert plan["run"] == dict(plan["run"], id="run1", attempt=2)

    result = stage(client, plan, journal, group, "routers")
    assert not result["stop"] and result["counts"]["adopted"] == 1
    on_lost = [job["jobid"] for job in restarts(sim) if job["instanceid"] == lost["id"]]
    assert on_lost == [started]
    ends = {entry["name"]: entry for entry in journal.entries() if entry["status"] == "done"}
    assert ends[lost["name"]]["jobid"] == started
