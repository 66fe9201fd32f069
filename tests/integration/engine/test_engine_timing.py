# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The engine on what a real server shows late or only when asked the right way: health results stored every
router.health.checks.results.fetch.interval minutes (FetchRouterHealthChecksResultTask, 4.18.0.0), health checks
disabled, reboot jobs of upgradeRouterTemplate (the router's account and the SYSTEM user, listed with listall=true),
project-owned routers (listed with projectid=-1)."""

from __future__ import annotations

import datetime
import time

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient
from ansible_collections.acs.upgrade.plugins.module_utils._engine import StageRunner
from ansible_collections.acs.upgrade.plugins.module_utils._state import Journal, plan_steps
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet
from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan, start_run

NOW = datetime.datetime.now(datetime.timezone.utc)
FAST = {"livepatch_router": 2, "restart_rules": 1, "fresh_health_checks": 1, "vm_stop": 1, "vm_start": 1}


def topology(**configurations) -> dict:
    return {
        "managementserver": {"version": "4.18.0.0"},
        "seed": 5,
        "jobs": {"durations": dict(FAST)},
        "configurations": configurations,
        "accounts": [{"name": "acme", "domain": "ROOT"}],
        "projects": [{"name": "shop"}],
        "zones": [{"name": "z1"}],
        "networks": [
            {"name": "web", "zone": "z1", "account": "acme", "routers": [{"version": "4.16.1"}]},
            {"name": "shop-net", "zone": "z1", "project": "shop", "routers": [{"version": "4.16.1"}]},
        ],
    }


def setup(sim, tmp_path, **plan_options):
    client = CloudStackClient(sim.url, sim.admin_key, sim.admin_secret)
    plan = start_run(build_plan(Fleet.read(client).as_dict(), **plan_options), None, NOW, 0, "run1")
    return client, plan, Journal(str(tmp_path / "journal.jsonl"))


def run_all(client, plan, journal) -> list[dict]:
    return [
        StageRunner(client, plan, journal, group["name"], name, poll_interval=0.05, parallel=2).execute()
        for group in plan_steps(plan)
        for name in group["stages"]
    ]


def ends(journal) -> dict[str, dict]:
    return {entry["name"]: entry for entry in journal.entries() if entry["status"] != "submitted"}


def test_a_gate_on_results_older_than_the_patch_runs_fresh_checks_and_sees_the_regression(acs_sim, tmp_path):
    """FetchRouterHealthChecksResultTask (4.18.0.0) would store the broken dns check only at its next run (here in 1000
    minutes): the results read right after the patch are from before it, so the engine runs the checks now."""
    sim = acs_sim(topology=topology(**{"router.health.checks.results.fetch.interval": 1000}), time_factor=0.005)
    sim.inject(kind="livepatch_breaks_health", object="web", checks=["dns"])
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    run_all(client, plan, journal)
    web = ends(journal)["web"]
    assert web["status"] == "failed" and "health regressed: dns_check.py" in web["error"]
    assert ends(journal)["shop-net"]["status"] == "done" and ends(journal)["shop-net"]["health_after"] == "passed"
    fresh = {call["params"]["routerid"] for call in sim.calls("getRouterHealthCheckResults") if call["params"].get("performfreshchecks") == "true"}
    assert {router["id"] for router in sim.state()["routers"]} == fresh


def test_with_health_checks_disabled_the_gate_says_the_health_is_not_known(acs_sim, tmp_path):
    """router.health.checks.enabled=false: FetchRouterHealthChecksResultTask stores nothing and performRouterHealthChecks
    refuses (4.18.0.0); the engine upgrades, records the health after as not yet known, and warns once per stage."""
    sim = acs_sim(topology=topology(**{"router.health.checks.enabled": False}), time_factor=0.005)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    results = run_all(client, plan, journal)
    for name in ("web", "shop-net"):
        entry = ends(journal)[name]
        assert entry["status"] == "done"
        assert entry["health_after"].startswith("not yet known: router.health.checks.enabled is false")
    assert any("router.health.checks.enabled is false" in warning for result in results for warning in result["warnings"])
    assert sim.calls("getRouterHealthCheckResults") == []


def test_a_project_router_is_planned_and_upgraded(acs_sim, tmp_path):
    """listRouters/listVPCs show project-owned objects only with projectid (AccountManagerImpl.buildACLSearchParameters,
    4.18.0.0) and listNetworks only with projectid=-1 (NetworkServiceImpl.searchForNetworks): the fleet reads them."""
    sim = acs_sim(topology=topology(), time_factor=0.005)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    planned = {item["name"]: item for item in plan["items"]}
    assert planned["shop-net"]["kind"] == "network" and planned["shop-net"]["path"] == "livepatch"
    run_all(client, plan, journal)
    assert ends(journal)["shop-net"]["status"] == "done"
    router = next(r for r in sim.state()["routers"] if r.get("guestnetworkname") == "shop-net")
    assert router["project"] == "shop" and router["softwareversion"] == "4.18.0.0"
    assert all(call["params"].get("projectid") == "-1" for call in sim.calls("listRouters"))


def test_a_reboot_left_by_upgrade_router_template_is_waited_for_before_the_network_is_touched(acs_sim, tmp_path):
    """rebootRouters (VirtualNetworkApplianceManagerImpl, 4.18.0.0) queues its jobs for the router's account and the SYSTEM
    user: listAsyncJobs lists them only with listall=true. A fresh run stops while one runs on a target's router; a
    resumed run waits for it, then finds the network upgraded and journals it done without a job."""
    topo = topology()
    topo["jobs"]["durations"].update({"vm_stop": 600, "vm_start": 600})
    sim = acs_sim(topology=topo, time_factor=0.005)
    client, plan, journal = setup(sim, tmp_path, canary_size=0)
    web = next(r for r in sim.state()["routers"] if r.get("guestnetworkname") == "web")
    queued = sim.client().call("upgradeRouterTemplate", id=web["id"])["asyncjobs"][0]["jobid"]
    assert queued not in {job["jobid"] for job in sim.client().call("listAsyncJobs").get("asyncjobs", [])}, "listed only with listall=true"
    stopped = run_all(client, plan, journal)
    assert stopped[0]["stop"] and queued in stopped[0]["msg"] and "router %s of network web" % web["name"] in stopped[0]["msg"]
    assert not [job for job in sim.jobs() if job["command"] == "restartNetwork"]

    resumed = start_run(plan, plan, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5), 0, "unused")
    time.sleep(0.1)
    results = run_all(client, resumed, journal)
    assert not any(result["stop"] for result in results), [result["msg"] for result in results]
    assert next(job for job in sim.jobs() if job["jobid"] == queued)["jobstatus"] == 1
    entry = ends(journal)["web"]
    assert entry["status"] == "done" and not entry.get("jobid"), entry
    assert not [job for job in sim.jobs() if job["command"] == "restartNetwork" and job["instanceid"] == next(
        item["id"] for item in plan["items"] if item["name"] == "web")]
