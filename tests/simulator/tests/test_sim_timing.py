# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What a real server shows late, and what it shows only when asked the right way (issue 21, points 6 and 7).

Read at 4.18.0.0 (0574087284): VirtualNetworkApplianceManagerImpl (CheckRouterTask, FetchRouterHealthChecksResultTask,
getRouterVersionHealthChecksData, rebootRouters), systemvm/debian/root/health_checks/router_version_check.py,
monitorServices.py, ApiResponseHelper.createSystemVmResponse, AccountManagerImpl.buildACLSearchParameters,
QueryManagerImpl.searchForAsyncJobs, NetworkServiceImpl.searchForNetworks, ParamProcessWorker.
"""
from __future__ import annotations

import time
from pathlib import Path

import yaml
from sim_helpers import network_id, router_by_network

FAST = {"vm_stop": 1, "vm_start": 1, "router_deploy": 1, "router_destroy": 1, "restart_rules": 1, "livepatch_router": 1, "fresh_health_checks": 1,
        "systemvm_boot": 1, "patch_systemvm": 1}


def _small(**configurations) -> dict:
    topology = yaml.safe_load((Path(__file__).resolve().parent.parent / "topologies" / "small.yml").read_text())
    topology["jobs"] = {**topology.get("jobs", {}), "durations": dict(FAST)}
    topology["configurations"] = {**topology.get("configurations", {}), **configurations}
    return topology


def _wait(predicate, timeout: float, step: float = 0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


# ---------------------------------------------------------------- CheckRouterTask
def test_redundantstate_changes_only_at_the_next_check_router_task_run(acs_sim):
    """VirtualNetworkApplianceManagerImpl.CheckRouterTask / updateRoutersRedundantState (4.18.0.0): the only writer of a
    redundant router's redundantstate, every router.check.interval seconds (default 30). After a reboot of the PRIMARY
    the API still shows the old states until the next run, then the new ones."""
    # router.check.interval 6000 s at time factor 0.001: a run every 6 s, the first 6 s after the start.
    sim = acs_sim(topology=_small(**{"router.check.interval": 6000}), time_factor=0.001)
    admin = sim.client()
    pair = router_by_network(admin, "acme-db")
    primary = next(r for r in pair if r["redundantstate"] == "PRIMARY")
    admin.run("rebootRouter", id=primary["id"])
    right_after = {r["id"]: r["redundantstate"] for r in router_by_network(admin, "acme-db")}
    assert right_after[primary["id"]] == "PRIMARY", "no CheckRouterTask run yet: the stored state is the old one"
    settled = _wait(lambda: {r["id"]: r["redundantstate"] for r in router_by_network(admin, "acme-db")}[primary["id"]] == "BACKUP", 10, 0.2)
    assert settled
    after = {r["id"]: r["redundantstate"] for r in router_by_network(admin, "acme-db")}
    assert sorted(after.values()) == ["BACKUP", "PRIMARY"]


def test_a_new_redundant_router_is_unknown_until_a_check_router_task_run(acs_sim):
    """CheckRouterTask (4.18.0.0): a router deployed by a cleanup restart is stored UNKNOWN until the next run sets it."""
    sim = acs_sim(topology=_small(**{"router.check.interval": 6000}), time_factor=0.001)
    admin = sim.client()
    admin.run("restartNetwork", id=network_id(admin, "acme-db"), cleanup=True)
    states = [r["redundantstate"] for r in router_by_network(admin, "acme-db")]
    assert states == ["UNKNOWN", "UNKNOWN"]
    assert _wait(lambda: sorted(r["redundantstate"] for r in router_by_network(admin, "acme-db")) == ["BACKUP", "PRIMARY"], 10, 0.2)


# ---------------------------------------------------------------- FetchRouterHealthChecksResultTask
def test_health_results_reach_the_api_only_at_the_next_fetch(acs_sim):
    """FetchRouterHealthChecksResultTask (VirtualNetworkApplianceManagerImpl, 4.18.0.0) stores the routers' results every
    router.health.checks.results.fetch.interval minutes (default 10): after a live patch that broke dns the cached read
    still shows the results from before it; performfreshchecks=true runs them now and stores them
    (performRouterHealthChecks -> updateDbHealthChecksFromRouterResponse)."""
    # 1000 minutes at time factor 0.002: the first fetch 2000 s after the start, long after this test.
    sim = acs_sim(topology=_small(**{"router.health.checks.results.fetch.interval": 1000}), time_factor=0.002)
    admin = sim.client()
    router = router_by_network(admin, "acme-web")[0]
    before = admin.call("getRouterHealthCheckResults", routerid=router["id"])["routerhealthchecks"]["healthchecks"]
    sim.inject(kind="livepatch_breaks_health", object="acme-web", checks=["dns"])
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), livepatch=True)
    assert admin.call("listRouters", id=router["id"])["router"][0]["softwareversion"] == "4.18.0.0", "patched"
    cached = admin.call("getRouterHealthCheckResults", routerid=router["id"])["routerhealthchecks"]["healthchecks"]
    assert cached == before, "no fetch since the patch: the stored results are the old ones"
    assert admin.call("listRouters", id=router["id"])["router"][0]["healthchecksfailed"] is False
    fresh = admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]["healthchecks"]
    assert not next(c for c in fresh if c["checkname"] == "dns_check.py")["success"]
    assert admin.call("listRouters", id=router["id"])["router"][0]["healthchecksfailed"] is True


def test_the_fetch_task_brings_the_new_results(acs_sim):
    """FetchRouterHealthChecksResultTask (4.18.0.0): without a fresh read the results reach the API at the next fetch."""
    sim = acs_sim(topology=_small(**{"router.health.checks.results.fetch.interval": 1}), time_factor=0.005)
    admin = sim.client()
    router = router_by_network(admin, "acme-web")[0]
    sim.inject(kind="livepatch_breaks_health", object="acme-web", checks=["dns"])
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), livepatch=True)
    # A fetch every 60 s x 0.005 = 0.3 s.
    assert _wait(lambda: admin.call("listRouters", id=router["id"])["router"][0]["healthchecksfailed"], 2)


def test_health_checks_disabled_the_fetch_task_stores_nothing_and_reads_fail(acs_sim):
    """FetchRouterHealthChecksResultTask returns early when router.health.checks.enabled is false, and
    performRouterHealthChecks throws "Router health checks are not enabled for router" (4.18.0.0)."""
    sim = acs_sim(topology=_small(**{"router.health.checks.results.fetch.interval": 1}), time_factor=0.002)
    admin = sim.client()
    router = router_by_network(admin, "acme-web")[0]
    admin.call("updateConfiguration", name="router.health.checks.enabled", value="false")
    response = admin.raw("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)
    assert response.status_code == 530 and "not enabled" in response.json()["getrouterhealthcheckresultsresponse"]["errortext"]
    listed = admin.call("listRouters", id=router["id"], fetchhealthcheckresults=True)["router"][0]
    assert listed["healthchecksfailed"] is False and "healthcheckresults" not in listed


def test_router_version_check_passes_on_an_outdated_router_and_ssh_is_monitored(admin):
    """router_version_check.py (systemvm/debian/root/health_checks, 4.18.0.0) compares /etc/cloudstack-release and the
    scripts signature with the templateVersion/scriptsVersion of health_checks_data, which
    getRouterVersionHealthChecksData fills from the router's own record: an outdated router passes. ssh is the default
    monitored service (schema-421to430.sql monitoring_services, isDefault), reported as ssh.service (monitorServices.py)."""
    router = router_by_network(admin, "acme-db")[0]
    assert router["version"] == "4.14.1" and router["requiresupgrade"] is True
    checks = {c["checkname"]: c for c in admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)
              ["routerhealthchecks"]["healthchecks"]}
    assert checks["router_version_check.py"]["success"] is True
    assert checks["ssh.service"]["success"] is True and checks["ssh.service"]["checktype"] == "basic"


# ---------------------------------------------------------------- agentstate
def test_a_booted_system_vm_is_connecting_before_up(acs_sim):
    """ApiResponseHelper.createSystemVmResponse (4.18.0.0): agentstate is the status of the system VM's own host record;
    a rebooted (forced: stop and start) or patched SSVM/CPVM is Connecting until its agent is Up."""
    topology = _small()
    topology["jobs"]["durations"]["agent_connect"] = 500
    sim = acs_sim(topology=topology, time_factor=0.002)
    admin = sim.client()
    cpvm = next(v for v in admin.call("listSystemVms", systemvmtype="consoleproxy")["systemvm"] if v["zonename"] == "zone1")
    assert cpvm["agentstate"] == "Up"
    rebooted = admin.run("rebootSystemVm", id=cpvm["id"], forced=True)["jobresult"]["systemvm"]
    assert rebooted["state"] == "Running" and rebooted["agentstate"] == "Connecting"
    assert _wait(lambda: admin.call("listSystemVms", id=cpvm["id"])["systemvm"][0]["agentstate"] == "Up", 3)
    admin.run("patchSystemVm", id=cpvm["id"], forced=True)
    assert admin.call("listSystemVms", id=cpvm["id"])["systemvm"][0]["agentstate"] == "Connecting"


# ---------------------------------------------------------------- upgradeRouterTemplate
def test_upgrade_router_template_jobs_belong_to_the_router_account_and_the_system_user(acs_sim):
    """VirtualNetworkApplianceManagerImpl.rebootRouters (4.18.0.0): new AsyncJobVO("", User.UID_SYSTEM, router.getAccountId(),
    RebootRouterCmd...); QueryManagerImpl.searchForAsyncJobs (buildACLSearchParameters): an admin sees other accounts' jobs
    only with listall=true."""
    sim = acs_sim(topology=_small(), time_factor=0.001)
    admin = sim.client()
    router = router_by_network(admin, "acme-web")[0]
    jobid = admin.call("upgradeRouterTemplate", id=router["id"])["asyncjobs"][0]["jobid"]
    sim.wait_jobs()
    assert jobid not in {j["jobid"] for j in admin.call("listAsyncJobs").get("asyncjobs", [])}
    listed = {j["jobid"]: j for j in admin.call("listAsyncJobs", listall=True)["asyncjobs"]}
    acme = admin.call("listAccounts", name="acme", listall=True)["account"][0]
    own = admin.run("rebootRouter", id=router_by_network(admin, "acme-db")[0]["id"])
    assert listed[jobid]["accountid"] == acme["id"] and listed[jobid]["cmd"].endswith("RebootRouterCmd")
    assert listed[jobid]["userid"] != own["userid"], "the SYSTEM user, not the caller"
    assert listed[jobid]["jobinstanceid"] == router["id"] and listed[jobid]["jobstatus"] == 1


def test_upgrade_router_template_with_an_unknown_account_is_431(admin):
    """VirtualNetworkApplianceManagerImpl.upgradeRouterTemplate (4.18.0.0): InvalidParameterValueException
    "Account :<name> does not exist in domain: <domain>"."""
    domain = admin.call("listDomains", name="customers", listall=True)["domain"][0]
    response = admin.raw("upgradeRouterTemplate", domainid=domain["id"], account="nobody")
    assert response.status_code == 431
    assert response.json()["upgraderoutertemplateresponse"]["errortext"] == f"Account :nobody does not exist in domain: {domain['id']}"


# ---------------------------------------------------------------- projects
def _with_project() -> dict:
    topology = _small()
    topology["projects"] = [{"name": "shop", "domain": "ROOT/customers"}]
    topology["networks"].append({"name": "shop-net", "zone": "zone1", "project": "shop", "routers": [{"version": "4.15.1"}]})
    topology["vpcs"].append({"name": "shop-vpc", "zone": "zone1", "project": "shop", "tiers": ["front"]})
    return topology


def test_project_routers_are_listed_only_with_projectid(acs_sim):
    """AccountManagerImpl.buildACLSearchParameters / buildACLViewSearchBuilder (4.18.0.0), used by
    QueryManagerImpl.searchForRoutersInternal and VpcManagerImpl.listVpcs: without projectid project resources are skipped;
    an admin's projectid=-1 lists only them, with listall=true everything; ParamProcessWorker passes "-1" through."""
    sim = acs_sim(topology=_with_project(), time_factor=0.001)
    admin = sim.client()
    plain = admin.call("listRouters", listall=True)["router"]
    projects = admin.call("listRouters", projectid=-1)["router"]
    everything = admin.call("listRouters", listall=True, projectid=-1)["router"]
    assert {r.get("project") for r in projects} == {"shop"} and len(projects) == 2
    assert not any("project" in r for r in plain)
    assert {r["id"] for r in everything} == {r["id"] for r in plain} | {r["id"] for r in projects}
    shop = admin.call("listProjects", name="shop")["project"][0]
    assert {r["id"] for r in admin.call("listRouters", projectid=shop["id"])["router"]} == {r["id"] for r in projects}
    assert "account" not in projects[0] and projects[0]["projectid"] == shop["id"]
    vpcs = admin.call("listVPCs", listall=True, projectid=-1)["vpc"]
    assert "shop-vpc" in {v["name"] for v in vpcs} and "shop-vpc" not in {v["name"] for v in admin.call("listVPCs", listall=True)["vpc"]}


def test_project_networks_need_their_own_list_call(acs_sim):
    """NetworkServiceImpl.searchForNetworks (4.18.0.0): skipProjectNetworks unless projectid is given; projectid=-1 lists
    only project networks (typeEQ PROJECT), even with listall=true."""
    sim = acs_sim(topology=_with_project(), time_factor=0.001)
    admin = sim.client()
    plain = {n["name"] for n in admin.call("listNetworks", listall=True)["network"]}
    projects = {n["name"] for n in admin.call("listNetworks", listall=True, projectid=-1)["network"]}
    assert "shop-net" not in plain and "shop-front" not in plain
    assert projects == {"shop-net", "front"}


def test_upgrade_router_template_jobs_of_a_project_router_are_never_listed(acs_sim):
    """QueryManagerImpl.searchForAsyncJobs (4.18.0.0): ListAsyncJobsCmd has no projectid, so buildACLSearchParameters
    skips project accounts' jobs; rebootRouters gives the job the router's (project) account."""
    sim = acs_sim(topology=_with_project(), time_factor=0.001)
    admin = sim.client()
    router = next(r for r in admin.call("listRouters", projectid=-1)["router"] if r.get("guestnetworkname") == "shop-net")
    jobid = admin.call("upgradeRouterTemplate", id=router["id"])["asyncjobs"][0]["jobid"]
    sim.wait_jobs()
    assert jobid not in {j["jobid"] for j in admin.call("listAsyncJobs", listall=True).get("asyncjobs", [])}
    assert admin.call("queryAsyncJobResult", jobid=jobid)["jobstatus"] == 1
