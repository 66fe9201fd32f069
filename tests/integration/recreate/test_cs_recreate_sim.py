# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_recreate against the management-server simulator: every method, check mode, idempotence and faults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.acs.upgrade.plugins.modules import cs_recreate

SIMULATOR = Path(__file__).resolve().parents[2] / "simulator"

MUTATING = frozenset(
    (
        "rebootSystemVm",
        "stopSystemVm",
        "startSystemVm",
        "destroySystemVm",
        "patchSystemVm",
        "migrateSystemVm",
        "rebootRouter",
        "stopRouter",
        "startRouter",
        "destroyRouter",
        "restartNetwork",
        "restartVPC",
        "upgradeRouterTemplate",
        "updateConfiguration",
    )
)


def connection(sim, **args) -> dict:
    return {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "poll_interval": 0.05, "timeout": 20, **args}


def mutating_calls(sim) -> list[dict]:
    return [call for call in sim.calls() if call["command"] in MUTATING]


def by_name(result: dict) -> dict[str, dict]:
    return {target["name"]: target for target in result["targets"]}


def routers_of(sim, network: str) -> list[dict]:
    return [router for router in sim.state()["routers"] if router.get("guestnetworkname") == network and not router.get("vpcid")]


def small_topology() -> dict:
    return yaml.safe_load((SIMULATOR / "topologies" / "small.yml").read_text())


@pytest.fixture
def sim(acs_sim):
    return acs_sim(topology="small", time_factor=0.001)


# -- system VMs ------------------------------------------------------------------------------------------------


def test_systemvm_reboot_check_mode_run_and_second_run(sim, run_module):
    planned = run_module(cs_recreate, connection(sim, target="systemvm"), check_mode=True)
    assert planned["changed"] is True
    assert planned["summary"]["would_recreate"] == 4
    assert all(target["status"] == "would_recreate" and target["jobid"] is None for target in planned["targets"])
    assert mutating_calls(sim) == []

    agents_before = {vm["name"]: vm["version"] for vm in sim.state()["systemvms"]}
    done = run_module(cs_recreate, connection(sim, target="systemvm", parallel=1))
    assert done.get("failed") is not True, done.get("msg")
    assert done["changed"] is True
    assert done["summary"]["succeeded"] == 4
    reboots = sim.calls("rebootSystemVm")
    assert len(reboots) == 4
    assert all(call["params"].get("forced") == "true" for call in reboots)
    assert sim.max_jobs_in_flight() <= 1
    for target in done["targets"]:
        # Listed with the new template before the reboot too (the upgrade repointed them, VMInstanceDaoImpl.updateSystemVmTemplateId):
        # before, the ROOT volume's template (the disk the agent still runs); after, the new template.
        assert target["version_before"] + ".0" == agents_before[target["name"]] != "4.18.0.0"
        assert target["version_after"] == "4.18.0"
        assert target["jobid"]
    assert {vm["templatename"] for vm in sim.state()["systemvms"]} == {"systemvm-kvm-4.18.0"}

    # Their ROOT volumes now carry the zone's minimum template (listVolumes listsystemvms, 4.18.0.0): asked again, nothing to do.
    again = run_module(cs_recreate, connection(sim, target="systemvm"))
    assert again["changed"] is False
    assert again["summary"]["unchanged"] == 4
    assert len(sim.calls("rebootSystemVm")) == 4


def test_systemvm_stop_start_keeps_parallel_bound_and_order(sim, run_module):
    result = run_module(cs_recreate, connection(sim, target="systemvm", method="stop_start", parallel=2))
    assert result.get("failed") is not True, result.get("msg")
    assert result["summary"]["succeeded"] == 4
    assert sim.max_jobs_in_flight() <= 2
    jobs = sim.jobs()
    for target in result["targets"]:
        assert len(target["jobids"]) == 2
        stop, start = (next(job for job in jobs if job["jobid"] == jobid) for jobid in target["jobids"])
        assert (stop["command"], start["command"]) == ("stopSystemVm", "startSystemVm")
        assert stop["end"] <= start["start"]


def test_systemvm_destroy_reports_the_running_replacement(sim, run_module):
    old = {vm["id"] for vm in sim.state()["systemvms"] if vm["systemvmtype"] == "consoleproxy" and vm["zonename"] == "zone1"}
    result = run_module(cs_recreate, connection(sim, target="systemvm", method="destroy", zone="zone1", systemvm_type="consoleproxy"))
    assert result.get("failed") is not True, result.get("msg")
    (target,) = result["targets"]
    assert target["status"] == "succeeded"
    assert target["id"] in old
    (new_id,) = target["new_ids"]
    now = {vm["id"]: vm for vm in sim.state()["systemvms"]}
    assert target["id"] not in now
    assert now[new_id]["state"] == "Running" and now[new_id]["systemvmtype"] == "consoleproxy" and now[new_id]["zonename"] == "zone1"
    assert target["version_after"] == "4.18.0"
    assert [call["params"]["id"] for call in sim.calls("destroySystemVm")] == [target["id"]]


def test_systemvm_job_failure_names_the_vm(sim, run_module):
    victim = next(vm for vm in sim.state()["systemvms"] if vm["zonename"] == "zone1")
    sim.inject(kind="job_failure", api="rebootSystemVm", object=victim["name"], errortext="Unable to reboot: host is in maintenance")
    result = run_module(cs_recreate, connection(sim, target="systemvm", zone="zone1"))
    assert result["failed"] is True
    assert victim["name"] in result["msg"] and "host is in maintenance" in result["msg"]
    targets = by_name(result)
    assert targets[victim["name"]]["status"] == "failed"
    assert [target["status"] for name, target in targets.items() if name != victim["name"]] == ["succeeded"]


def test_job_that_never_ends_times_out(sim, run_module):
    sim.inject(kind="job_hang", api="restartNetwork", object="acme-web")
    result = run_module(cs_recreate, connection(sim, target="router", names=["acme-web", "shared-guest"], timeout=1))
    assert result["failed"] is True
    targets = by_name(result)
    assert targets["acme-web"]["status"] == "timed_out"
    assert "still running after" in targets["acme-web"]["reason"] and "check the job in CloudStack" in targets["acme-web"]["reason"]
    assert targets["shared-guest"]["status"] == "succeeded"


def test_system_vm_job_that_never_ends_times_out(sim, run_module):
    victim = next(vm for vm in sim.state()["systemvms"] if vm["zonename"] == "zone2" and vm["systemvmtype"] == "consoleproxy")
    sim.inject(kind="job_hang", api="rebootSystemVm", object=victim["id"])
    result = run_module(cs_recreate, connection(sim, target="systemvm", zone="zone2", timeout=1))
    assert result["failed"] is True
    targets = by_name(result)
    assert targets[victim["name"]]["status"] == "timed_out"
    assert [target["status"] for name, target in targets.items() if name != victim["name"]] == ["succeeded"]


def test_max_fail_percentage_stops_new_jobs(sim, run_module):
    sim.inject(kind="job_failure", api="rebootSystemVm")
    result = run_module(cs_recreate, connection(sim, target="systemvm", parallel=1, max_fail_percentage=0))
    assert result["failed"] is True
    assert result["summary"]["failed"] == 1
    assert result["summary"]["not_submitted"] == 3
    assert len(sim.calls("rebootSystemVm")) == 1


def test_http_500_and_429_mid_run_are_survived_without_double_submission(sim, run_module):
    sim.inject(kind="http_error", api="rebootSystemVm", status=500, count=1)
    sim.inject(kind="http_error", api="queryAsyncJobResult", status=429, count=2)
    sim.inject(kind="http_error", api="listSystemVms", status=503, count=1)
    result = run_module(cs_recreate, connection(sim, target="systemvm", zone="zone1"))
    assert result.get("failed") is not True, result.get("msg")
    assert result["summary"]["succeeded"] == 2
    statuses = [call["status"] for call in sim.calls("rebootSystemVm")]
    assert statuses.count(500) == 1
    # One job per system VM: the call that got a 500 was checked (listAsyncJobs) before it was sent again.
    assert len([job for job in sim.jobs() if job["command"] == "rebootSystemVm"]) == 2
    assert sim.calls("listAsyncJobs")


def test_management_server_416(acs_sim, run_module):
    sim = acs_sim(topology="ms416", time_factor=0.001)
    result = run_module(cs_recreate, connection(sim, target="systemvm"))
    assert result.get("failed") is not True, result.get("msg")
    assert result["management_server_version"].startswith("4.16")
    # pom.xml project.systemvm.template.version 4.16.1.0 at the 4.16.1.0 release commit (cad9332082).
    assert set(result["min_template"].values()) == {"4.16.1"}
    assert all(call["params"].get("forced") == "true" for call in sim.calls("rebootSystemVm"))
    routers = run_module(cs_recreate, connection(sim, target="router", method="restart_cleanup"))
    assert routers.get("failed") is not True, routers.get("msg")
    assert routers["summary"]["succeeded"] == 3
    assert not sim.calls("patchSystemVm")


# -- routers ---------------------------------------------------------------------------------------------------


def test_restart_cleanup_is_bounded_reports_new_routers_and_is_idempotent(sim, run_module):
    planned = run_module(cs_recreate, connection(sim, target="router", zone="zone1"), check_mode=True)
    assert mutating_calls(sim) == []
    assert {target["name"]: target["status"] for target in planned["targets"]} == {
        "acme-db": "would_recreate",
        "acme-web": "would_recreate",
        "globex-app": "would_recreate",
        "shared-guest": "would_recreate",
        "acme-vpc": "would_recreate",
    }
    old_routers = {router["id"] for router in sim.state()["routers"]}
    result = run_module(cs_recreate, connection(sim, target="router", zone="zone1", parallel=2))
    assert result.get("failed") is not True, result.get("msg")
    assert sim.max_jobs_in_flight() <= 2
    targets = by_name(result)
    assert targets["acme-vpc"]["kind"] == "vpc"
    assert [call["params"]["id"] for call in sim.calls("restartVPC")] == [targets["acme-vpc"]["id"]]
    assert all(call["params"]["cleanup"] == "true" for call in sim.calls("restartNetwork") + sim.calls("restartVPC"))
    assert len(targets["acme-db"]["new_ids"]) == 2
    now = {router["id"]: router for router in sim.state()["routers"]}
    for target in result["targets"]:
        assert target["status"] == "succeeded"
        assert target["new_ids"] and not set(target["new_ids"]) & old_routers
        assert all(now[new]["state"] == "Running" and now[new]["version"] == "4.18.0" for new in target["new_ids"])

    before = len(mutating_calls(sim))
    again = run_module(cs_recreate, connection(sim, target="router", zone="zone1"))
    assert again["changed"] is False and again["summary"]["unchanged"] == 5
    assert len(mutating_calls(sim)) == before


def test_reboot_of_a_redundant_pair_reboots_backup_first(sim, run_module):
    pair = {router["redundantstate"]: router for router in routers_of(sim, "acme-db")}
    result = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["acme-db"], parallel=2))
    assert result.get("failed") is not True, result.get("msg")
    assert result["summary"]["succeeded"] == 2
    jobs = {job["instanceid"]: job for job in sim.jobs() if job["command"] == "rebootRouter"}
    assert jobs[pair["BACKUP"]["id"]]["end"] <= jobs[pair["PRIMARY"]["id"]]["start"]
    after = routers_of(sim, "acme-db")
    assert sorted(router["redundantstate"] for router in after) == ["BACKUP", "PRIMARY"]
    assert {router["version"] for router in after} == {"4.18.0"}


def test_primary_is_not_rebooted_when_the_backup_fails(sim, run_module):
    pair = {router["redundantstate"]: router for router in routers_of(sim, "acme-db")}
    sim.inject(kind="job_failure", api="rebootRouter", object=pair["BACKUP"]["name"])
    result = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["acme-db"]))
    assert result["failed"] is True
    targets = by_name(result)
    assert targets[pair["BACKUP"]["name"]]["status"] == "failed"
    assert targets[pair["PRIMARY"]["name"]]["status"] == "not_submitted"
    assert "PRIMARY keeps serving" in targets[pair["PRIMARY"]["name"]]["reason"]
    assert [call["params"]["id"] for call in sim.calls("rebootRouter")] == [pair["BACKUP"]["id"]]


def test_router_not_running_is_skipped_with_a_reason(sim, run_module):
    result = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["globex-app"]))
    assert result.get("failed") is not True
    (target,) = result["targets"]
    assert target["status"] == "skipped" and "Stopped" in target["reason"] and "restart_cleanup" in target["reason"]
    # ansible-core 2.19 returns warnings as structured summaries; the text is what matters here.
    assert "is Stopped and cannot be rebooted" in str(result["warnings"])
    assert result["changed"] is False
    assert mutating_calls(sim) == []


def test_upgrade_template_per_router_orders_the_pair_and_bounds_jobs(sim, run_module):
    pair = {router["redundantstate"]: router for router in routers_of(sim, "acme-db")}
    result = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", zone="zone1", parallel=2))
    assert result.get("failed") is not True, result.get("msg")
    calls = sim.calls("upgradeRouterTemplate")
    assert calls and all(set(call["params"]) - {"command", "response"} == {"id"} for call in calls)
    assert sim.max_jobs_in_flight() <= 2
    jobs = {job["instanceid"]: job for job in sim.jobs()}
    assert jobs[pair["BACKUP"]["id"]]["end"] <= jobs[pair["PRIMARY"]["id"]]["start"]
    statuses = {target["name"]: target["status"] for target in result["targets"]}
    # upgradeRouterTemplate's reboot of a Stopped router fails (4.18.0.0): globex-app's router is left alone, with a reason.
    stopped = routers_of(sim, "globex-app")[0]["name"]
    assert statuses.pop(stopped) == "skipped" and set(statuses.values()) == {"succeeded"}, statuses
    assert stopped not in {job["instanceid"] for job in sim.jobs()}

    before = len(mutating_calls(sim))
    again = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", zone="zone1"))
    assert again["changed"] is False
    assert len(mutating_calls(sim)) == before


def test_upgrade_template_server_side_follows_the_queued_jobs(sim, run_module):
    planned = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", server_side=True, zone="zone2"), check_mode=True)
    assert planned["summary"]["would_recreate"] == 2
    assert mutating_calls(sim) == []

    result = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", server_side=True, zone="zone2"))
    assert result.get("failed") is not True, result.get("msg")
    (call,) = sim.calls("upgradeRouterTemplate")
    zone2 = next(zone["id"] for zone in sim.state()["zones"] if zone["name"] == "zone2")
    assert call["params"]["zoneid"] == zone2 and "id" not in call["params"]
    assert result["summary"]["succeeded"] == 2
    assert all(target["jobid"] and target["version_after"] == "4.18.0" for target in result["targets"])

    again = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", server_side=True, zone="zone2"))
    assert again["changed"] is False
    assert len(sim.calls("upgradeRouterTemplate")) == 1


def test_upgrade_template_server_side_by_domain_and_account(sim, run_module):
    result = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", server_side=True, domain="customers", account="globex"))
    assert result.get("failed") is not True, result.get("msg")
    (call,) = sim.calls("upgradeRouterTemplate")
    assert call["params"]["account"] == "globex" and call["params"]["domainid"] and not {"id", "zoneid", "podid", "clusterid"} & set(call["params"])
    assert {target["name"]: target["account"] for target in result["targets"]} == {
        router["name"]: "globex" for router in sim.state()["routers"] if router["account"] == "globex"
    }
    # CloudStack takes the Running routers of the domain only: the Stopped one of globex-app is skipped, not a failure.
    assert result["summary"]["succeeded"] == 2 and result["summary"]["skipped"] == 1 and len(result["targets"]) == 3


def test_server_side_needs_exactly_one_selector(sim, run_module):
    result = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", server_side=True, zone="zone1", cluster="zone1-cluster1"))
    assert result["failed"] is True
    assert "exactly one of zone, pod, cluster or domain" in result["msg"] and "zone, cluster" in result["msg"]
    assert sim.calls() == []


@pytest.mark.parametrize(
    ("network", "why"),
    [("acme-web", "is the only router of network acme-web"), ("acme-db", "is one of the 2 routers of network acme-db")],
)
def test_router_destroy_is_refused_and_says_why(sim, run_module, network, why):
    result = run_module(cs_recreate, connection(sim, target="router", method="destroy", names=[network]))
    assert result["failed"] is True
    assert why in result["msg"] and "restart_cleanup" in result["msg"]
    assert mutating_calls(sim) == []


def test_unknown_name_is_named(sim, run_module):
    result = run_module(cs_recreate, connection(sim, target="router", names=["no-such-net"]))
    assert result["failed"] is True
    assert "'no-such-net'" in result["msg"]
    assert mutating_calls(sim) == []


def test_unsettled_redundant_pair_is_not_rebooted(acs_sim, run_module):
    topology = small_topology()
    acme_db = next(network for network in topology["networks"] if network["name"] == "acme-db")
    for spec in acme_db["routers"]:
        spec["redundantstate"] = "BACKUP"
    sim = acs_sim(topology=topology, time_factor=0.001)
    planned = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["acme-db"]), check_mode=True)
    assert [target["status"] for target in planned["targets"]] == ["skipped", "skipped"]
    result = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["acme-db"]))
    assert result.get("failed") is not True
    assert [target["status"] for target in result["targets"]] == ["skipped", "skipped"]
    assert "not settled" in result["targets"][0]["reason"] and "BACKUP" in result["targets"][0]["reason"]
    assert mutating_calls(sim) == []


def test_stop_start_never_leaves_a_stopped_system_vm_behind(sim, run_module):
    zone1 = sorted((vm for vm in sim.state()["systemvms"] if vm["zonename"] == "zone1"), key=lambda vm: vm["name"])
    sim.inject(kind="job_failure", api="stopSystemVm", object=zone1[1]["name"])
    result = run_module(cs_recreate, connection(sim, target="systemvm", method="stop_start", zone="zone1", parallel=2, max_fail_percentage=0))
    assert result["failed"] is True
    targets = by_name(result)
    assert targets[zone1[1]["name"]]["status"] == "failed"
    # The failure limit stops new work, but a system VM that was stopped is always started again.
    assert targets[zone1[0]["name"]]["status"] == "succeeded"
    assert [call["params"]["id"] for call in sim.calls("startSystemVm")] == [zone1[0]["id"]]
    assert {vm["state"] for vm in sim.state()["systemvms"]} == {"Running"}


def test_destroyed_system_vm_without_replacement_times_out(acs_sim, run_module):
    topology = small_topology()
    topology.setdefault("jobs", {})["durations"] = {"systemvm_respawn": 100000}
    sim = acs_sim(topology=topology, time_factor=0.001)
    result = run_module(cs_recreate, connection(sim, target="systemvm", method="destroy", zone="zone2", systemvm_type="consoleproxy", timeout=1))
    assert result["failed"] is True
    (target,) = result["targets"]
    assert target["status"] == "timed_out" and target["new_ids"] == []
    assert "no new consoleproxy is Running in zone zone2" in target["reason"]


def test_recreated_vm_on_an_old_template_is_a_failure(acs_sim, run_module):
    topology = small_topology()
    # The zone's minimum says 4.18.0 while the template the VMs boot is 4.17.0 (the new one not registered or not active).
    topology["managementserver"]["systemvm_template"] = "4.17.0"
    zone2 = next(zone for zone in topology["zones"] if zone["name"] == "zone2")
    zone2["configurations"] = {"minreq.sysvmtemplate.version": "4.18.0"}
    sim = acs_sim(topology=topology, time_factor=0.001)
    result = run_module(cs_recreate, connection(sim, target="systemvm", zone="zone2", systemvm_type="secondarystoragevm"))
    assert result["failed"] is True
    (target,) = result["targets"]
    assert target["status"] == "failed" and target["version_after"] == "4.17.0"
    assert "came back with template 4.17.0 is older than zone2's minimum 4.18.0 (minreq.sysvmtemplate.version)" in target["reason"]


def test_http_500_on_upgrade_router_template_is_settled_before_resending(sim, run_module):
    (router,) = routers_of(sim, "acme-web")
    sim.inject(kind="http_error", api="upgradeRouterTemplate", status=500, count=1)
    result = run_module(cs_recreate, connection(sim, target="router", method="upgrade_template", names=["acme-web"]))
    assert result.get("failed") is not True, result.get("msg")
    assert [call["status"] for call in sim.calls("upgradeRouterTemplate")] == [500, 200]
    assert sim.calls("listAsyncJobs"), "the lost answer must be looked for before the call is sent again"
    assert [job["instanceid"] for job in sim.jobs()] == [router["id"]]
    assert result["targets"][0]["status"] == "succeeded"


def test_restart_cleanup_job_failure_stops_new_restarts_by_default(sim, run_module):
    sim.inject(kind="job_failure", api="restartNetwork", object="acme-web", errortext="Failed to implement network elements")
    result = run_module(cs_recreate, connection(sim, target="router", names=["acme-web", "shared-guest"], parallel=1))
    assert result["failed"] is True
    targets = by_name(result)
    assert targets["acme-web"]["status"] == "failed" and "Failed to implement network elements" in targets["acme-web"]["reason"]
    assert targets["shared-guest"]["status"] == "not_submitted" and "failure limit" in targets["shared-guest"]["reason"]
    assert [call["params"]["id"] for call in sim.calls("restartNetwork")] == [targets["acme-web"]["id"]]
    assert "network acme-web" in result["msg"]
