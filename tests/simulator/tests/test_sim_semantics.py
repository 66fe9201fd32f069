# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The upgrade operations and their awkward parts."""
from __future__ import annotations

import time

from sim_helpers import network_id, router_by_network, vpc_id

from acs_sim.payload import scripts_checksum

CURRENT_SCRIPTS = scripts_checksum("4.18.0.0")


def _systemvm(admin, zone: str, kind: str) -> dict:
    return next(v for v in admin.call("listSystemVms", systemvmtype=kind)["systemvm"] if v["zonename"] == zone)


# ---------------------------------------------------------------- patchSystemVm
def test_patch_system_vm_then_no_change(admin):
    ssvm = _systemvm(admin, "zone1", "secondarystoragevm")
    job = admin.run("patchSystemVm", id=ssvm["id"])
    assert job["jobstatus"] == 1 and job["jobresult"]["success"] is True
    assert job["cmd"] == "org.apache.cloudstack.api.command.admin.systemvm.PatchSystemVMCmd"
    again = admin.run("patchSystemVm", id=ssvm["id"])
    assert again["jobresult"] == {"success": True, "displaytext": f"No change in the scripts checksum, not patching systemVM {ssvm['name']}"}
    forced = admin.run("patchSystemVm", id=ssvm["id"], forced=True)
    assert forced["jobresult"]["displaytext"] == f"Successfully patched systemVM {ssvm['name']} "


def test_patch_system_vm_jobs_name_no_instance(admin):
    """PatchSystemVMCmd, 4.18.0.0: the command declares no API resource, so its job has no jobinstanceid/jobinstancetype
    in queryAsyncJobResult or listAsyncJobs (unlike rebootSystemVm on the same VM)."""
    ssvm = _systemvm(admin, "zone1", "secondarystoragevm")
    patched = admin.run("patchSystemVm", id=ssvm["id"], forced=True)
    rebooted = admin.run("rebootSystemVm", id=ssvm["id"])
    assert "jobinstanceid" not in patched and "jobinstancetype" not in patched
    listed = {job["jobid"]: job for job in admin.call("listAsyncJobs", listall=True)["asyncjobs"]}
    assert "jobinstanceid" not in listed[patched["jobid"]] and "jobinstancetype" not in listed[patched["jobid"]]
    assert listed[patched["jobid"]]["cmd"].endswith(".PatchSystemVMCmd")
    assert (listed[rebooted["jobid"]]["jobinstancetype"], listed[rebooted["jobid"]]["jobinstanceid"]) == ("SystemVm", ssvm["id"])


def test_patch_system_vm_refuses_routers(admin):
    router = router_by_network(admin, "acme-web")[0]
    job = admin.run("patchSystemVm", id=router["id"])
    assert job["jobstatus"] == 2 and job["jobresultcode"] == 530
    assert job["jobresult"]["errorcode"] == 431 and "can be used to patch CPVM / SSVM only" in job["jobresult"]["errortext"]


def test_patch_system_vm_refuses_a_stopped_vm(admin):
    cpvm = _systemvm(admin, "zone2", "consoleproxy")
    admin.run("stopSystemVm", id=cpvm["id"])
    job = admin.run("patchSystemVm", id=cpvm["id"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 530
    assert job["jobresult"]["errortext"] == f"Unable to patch SystemVM: {cpvm['name']} as it is not in Running state. Please destroy and recreate the SystemVM."


# ---------------------------------------------------------------- live patch
def test_live_patch_network_changes_scripts_not_requiresupgrade(admin):
    before = router_by_network(admin, "acme-db")
    assert all(r["requiresupgrade"] and r["scriptsversion"] != CURRENT_SCRIPTS for r in before)
    job = admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)
    assert job["jobresult"] == {"success": True}
    after = router_by_network(admin, "acme-db")
    assert [r["id"] for r in after] == [r["id"] for r in before]
    for router in after:
        assert router["scriptsversion"] == CURRENT_SCRIPTS and router["softwareversion"] == "4.18.0.0"
        assert router["requiresupgrade"] is True and router["version"] == "4.14.1"
    assert sorted(r["redundantstate"] for r in after) == ["BACKUP", "PRIMARY"]


def test_live_patch_skips_stopped_routers_silently(admin):
    before = router_by_network(admin, "globex-app")[0]
    job = admin.run("restartNetwork", id=network_id(admin, "globex-app"), livepatch=True)
    assert job["jobstatus"] == 1
    after = router_by_network(admin, "globex-app")[0]
    assert (after["state"], after["scriptsversion"], after["softwareversion"]) == ("Stopped", before["scriptsversion"], before["softwareversion"])


def test_restart_vpc_without_tiers_succeeds_and_patches_nothing(admin):
    vpc = vpc_id(admin, "globex-vpc-empty")
    before = admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]
    job = admin.run("restartVPC", id=vpc, livepatch=True)
    assert job["jobresult"] == {"success": True}
    after = admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]
    assert after["scriptsversion"] == before["scriptsversion"] != CURRENT_SCRIPTS


def test_restart_vpc_with_tiers_patches_its_router(admin):
    vpc = vpc_id(admin, "acme-vpc")
    assert admin.run("restartVPC", id=vpc, livepatch=True)["jobstatus"] == 1
    router = admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]
    assert router["scriptsversion"] == CURRENT_SCRIPTS and router["requiresupgrade"] is True


def test_livepatch_with_cleanup_fails(admin):
    job = admin.run("restartNetwork", id=network_id(admin, "acme-web"), livepatch=True, cleanup=True)
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 431


def test_backend_records_the_patch(sim, admin):
    calls = []
    original = sim.backend.patch_vm
    sim.backend.patch_vm = lambda vm, version: calls.append((vm["name"], version)) or original(vm, version)
    admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)
    assert sorted(version for _command, version in calls) == ["4.18.0.0", "4.18.0.0"]


# ---------------------------------------------------------------- cleanup restart
def test_cleanup_restart_replaces_routers_with_current_template(sim, admin):
    before = router_by_network(admin, "acme-db")
    seen_states = set()
    jobid = admin.call("restartNetwork", id=network_id(admin, "acme-db"), cleanup=True)["jobid"]
    while admin.call("queryAsyncJobResult", jobid=jobid)["jobstatus"] == 0:
        live = router_by_network(admin, "acme-db")
        seen_states.add(tuple(sorted(r["redundantstate"] for r in live if r["state"] == "Running")))
        assert any(r["redundantstate"] == "PRIMARY" for r in live), "a redundant pair keeps a PRIMARY during the rolling restart"
        time.sleep(0.001)
    after = router_by_network(admin, "acme-db")
    assert not {r["id"] for r in after} & {r["id"] for r in before}
    assert len(after) == 2 and sorted(r["redundantstate"] for r in after) == ["BACKUP", "PRIMARY"]
    for router in after:
        assert (router["version"], router["requiresupgrade"], router["scriptsversion"], router["state"]) == ("4.18.0", False, CURRENT_SCRIPTS, "Running")


def test_cleanup_restart_of_a_single_router_network(admin):
    before = router_by_network(admin, "globex-app")
    assert admin.run("restartNetwork", id=network_id(admin, "globex-app"), cleanup=True)["jobstatus"] == 1
    after = router_by_network(admin, "globex-app")
    assert len(after) == 1 and after[0]["id"] != before[0]["id"] and after[0]["state"] == "Running"


def test_makeredundant_adds_a_second_router(admin):
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), cleanup=True, makeredundant=True)
    after = router_by_network(admin, "acme-web")
    assert sorted(r["redundantstate"] for r in after) == ["BACKUP", "PRIMARY"] and all(r["isredundantrouter"] for r in after)


def test_restart_without_cleanup_does_not_recreate_a_destroyed_router(admin):
    router = router_by_network(admin, "acme-web")[0]
    admin.run("destroyRouter", id=router["id"])
    admin.run("restartNetwork", id=network_id(admin, "acme-web"))
    assert router_by_network(admin, "acme-web") == []
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), cleanup=True)
    assert len(router_by_network(admin, "acme-web")) == 1


# ---------------------------------------------------------------- routers
def test_reboot_redundant_primary_hands_over(admin):
    pair = router_by_network(admin, "acme-db")
    primary = next(r for r in pair if r["redundantstate"] == "PRIMARY")
    admin.run("rebootRouter", id=primary["id"])
    after = {r["id"]: r for r in router_by_network(admin, "acme-db")}
    assert after[primary["id"]]["redundantstate"] == "BACKUP"
    assert next(r for i, r in after.items() if i != primary["id"])["redundantstate"] == "PRIMARY"
    assert after[primary["id"]]["version"] == "4.18.0" and after[primary["id"]]["requiresupgrade"] is False


def test_reboot_stopped_router_fails(admin):
    router = router_by_network(admin, "globex-app")[0]
    job = admin.run("rebootRouter", id=router["id"])
    assert job["jobstatus"] == 2 and "not in right state Stopped" in job["jobresult"]["errortext"]


def test_stop_and_start_router(admin):
    router = router_by_network(admin, "acme-web")[0]
    stopped = admin.run("stopRouter", id=router["id"], forced=True)["jobresult"]["router"]
    assert stopped["state"] == "Stopped" and "hostid" not in stopped
    started = admin.run("startRouter", id=router["id"])["jobresult"]["router"]
    assert started["state"] == "Running" and started["id"] == router["id"]


def test_router_job_on_a_system_vm_fails(admin):
    ssvm = _systemvm(admin, "zone1", "secondarystoragevm")
    assert admin.run("rebootRouter", id=ssvm["id"])["jobstatus"] == 2


def test_upgrade_router_template_selectors(sim, admin):
    zone = next(z["id"] for z in sim.state()["zones"] if z["name"] == "zone2")
    assert admin.raw("upgradeRouterTemplate").status_code == 431
    assert admin.raw("upgradeRouterTemplate", zoneid=zone, podid=sim.state()["routers"][0]["podid"]).status_code == 431
    assert admin.raw("upgradeRouterTemplate", zoneid=zone, account="globex").status_code == 431
    answer = admin.call("upgradeRouterTemplate", zoneid=zone)
    assert answer["count"] == 2 == len(answer["asyncjobs"])
    for job in answer["asyncjobs"]:
        assert admin.wait(job["jobid"])["jobstatus"] == 1
    assert all(not r["requiresupgrade"] for r in admin.call("listRouters", listall=True, zoneid=zone)["router"])
    assert admin.call("upgradeRouterTemplate", zoneid=zone) == {}


def test_upgrade_router_template_by_domain_and_account(admin):
    customers = next(d for d in admin.call("listDomains", listall=True)["domain"] if d["name"] == "customers")
    answer = admin.call("upgradeRouterTemplate", domainid=customers["id"], account="globex")
    assert answer["count"] == 3


# ---------------------------------------------------------------- system VMs
def test_destroy_system_vm_is_followed_by_a_new_one(admin):
    old = _systemvm(admin, "zone1", "consoleproxy")
    assert admin.run("destroySystemVm", id=old["id"])["jobresult"]["systemvm"]["state"] == "Destroyed"
    deadline = time.time() + 10
    states = set()
    while time.time() < deadline:
        new = [v for v in admin.call("listSystemVms", systemvmtype="consoleproxy").get("systemvm", []) if v["zonename"] == "zone1"]
        states.update(v["state"] for v in new)
        if new and new[0]["state"] == "Running":
            break
        time.sleep(0.002)
    assert new[0]["id"] != old["id"] and new[0]["version"] == "4.18.0"
    assert "Running" in states


def test_reboot_system_vm_boots_current_template(admin):
    ssvm = _systemvm(admin, "zone2", "secondarystoragevm")
    result = admin.run("rebootSystemVm", id=ssvm["id"], forced=True)["jobresult"]["systemvm"]
    assert (result["state"], result["version"]) == ("Running", "4.18.0")


def test_stop_start_system_vm(admin):
    ssvm = _systemvm(admin, "zone2", "secondarystoragevm")
    stopped = admin.run("stopSystemVm", id=ssvm["id"])["jobresult"]["systemvm"]
    assert (stopped["state"], stopped["agentstate"]) == ("Stopped", "Disconnected")
    assert admin.run("rebootSystemVm", id=ssvm["id"])["jobstatus"] == 2
    assert admin.run("startSystemVm", id=ssvm["id"])["jobresult"]["systemvm"]["state"] == "Running"


def test_migrate_system_vm(sim, admin):
    ssvm = _systemvm(admin, "zone1", "secondarystoragevm")
    other = next(h for h in admin.call("listHosts", zoneid=ssvm["zoneid"])["host"] if h["id"] != ssvm["hostid"])
    moved = admin.run("migrateSystemVm", virtualmachineid=ssvm["id"], hostid=other["id"])["jobresult"]["systemvm"]
    assert moved["hostid"] == other["id"]


# ---------------------------------------------------------------- health checks
def test_health_checks(admin):
    router = router_by_network(admin, "acme-web")[0]
    result = admin.call("getRouterHealthCheckResults", routerid=router["id"])["routerhealthchecks"]
    assert result["routerid"] == router["id"]
    checks = {c["checkname"]: c for c in result["healthchecks"]}
    assert set(checks) == {"cpu_usage", "memory_usage", "disk_space", "gateways", "router_version", "dhcp", "dns", "haproxy", "iptables"}
    assert {c["checktype"] for c in checks.values()} == {"basic", "advanced"}
    assert checks["router_version"]["success"] is False and "Template version mismatch" in checks["router_version"]["details"]
    assert all(c["success"] for n, c in checks.items() if n != "router_version")
    listed = admin.call("listRouters", id=router["id"], fetchhealthcheckresults=True)["router"][0]
    assert listed["healthchecksfailed"] is True and len(listed["healthcheckresults"]) == 9
    assert "healthcheckresults" not in admin.call("listRouters", id=router["id"])["router"][0]


def test_excluded_checks_are_not_run(admin):
    router = router_by_network(admin, "acme-web")[0]
    admin.call("updateConfiguration", name="router.health.checks.to.exclude", value="router_version,iptables")
    result = admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]
    assert {c["checkname"] for c in result["healthchecks"]} == {"cpu_usage", "memory_usage", "disk_space", "gateways", "dhcp", "dns", "haproxy"}
    assert all(c["success"] for c in result["healthchecks"])


def test_fresh_health_checks_after_upgrade_pass(admin):
    router = router_by_network(admin, "acme-web")[0]
    admin.run("rebootRouter", id=router["id"])
    result = admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]
    assert all(c["success"] for c in result["healthchecks"])
    assert admin.call("listRouters", id=router["id"], healthchecksfailed=False)["count"] == 1


def test_health_check_results_are_refused_when_disabled(admin):
    # QueryManagerImpl.listRouterHealthChecks refuses cached and fresh reads alike while the setting is false.
    router = router_by_network(admin, "acme-web")[0]
    admin.call("updateConfiguration", name="router.health.checks.enabled", value="false")
    response = admin.raw("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)
    assert response.status_code == 530
    assert "not enabled" in response.json()["getrouterhealthcheckresultsresponse"]["errortext"]
    assert admin.raw("getRouterHealthCheckResults", routerid=router["id"]).status_code == 530
    listed = admin.call("listRouters", id=router["id"], fetchhealthcheckresults=True)["router"][0]
    assert listed["healthchecksfailed"] is False and "healthcheckresults" not in listed


def test_fresh_health_checks_of_a_stopped_router_fail(admin):
    router = router_by_network(admin, "globex-app")[0]
    response = admin.raw("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)
    assert response.status_code == 530
    assert response.json()["getrouterhealthcheckresultsresponse"]["errortext"].startswith("Failed to get health check results due to: ")


def test_cleanup_restart_of_a_vpc(admin):
    vpc = vpc_id(admin, "acme-vpc")
    before = admin.call("listRouters", listall=True, vpcid=vpc)["router"]
    assert admin.run("restartVPC", id=vpc, cleanup=True, makeredundant=True)["jobstatus"] == 1
    after = admin.call("listRouters", listall=True, vpcid=vpc)["router"]
    assert before[0]["id"] not in {r["id"] for r in after}
    assert sorted(r["redundantstate"] for r in after) == ["BACKUP", "PRIMARY"] and all(r["vpcname"] == "acme-vpc" for r in after)
    assert admin.call("listVPCs", id=vpc)["vpc"][0]["redundantvpcrouter"] is True


def test_health_checks_of_a_system_vm_are_refused(admin):
    ssvm = _systemvm(admin, "zone1", "secondarystoragevm")
    assert admin.raw("getRouterHealthCheckResults", routerid=ssvm["id"]).status_code == 431


# ---------------------------------------------------------------- jobs
def test_job_pool_is_bounded_and_in_flight_is_recorded(acs_sim):
    sim = acs_sim(topology="small")
    admin = sim.client()
    sim.inject(kind="job_hang", api="patchSystemVm")
    jobs = [admin.call("patchSystemVm", id=v["id"], forced=True)["jobid"] for v in sim.state()["systemvms"] for _copy in range(4)]
    deadline = time.time() + 10
    while sim.job_stats()["running"] < 10 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    stats = sim.job_stats()
    assert (stats["running"], stats["max_running"]) == (10, 10), "16 jobs on 10 workers: 10 run, 6 queue"
    assert sim.max_jobs_in_flight("patchSystemVm") == 16 == sim.max_jobs_in_flight()
    assert all(admin.call("queryAsyncJobResult", jobid=j)["jobstatus"] == 0 for j in jobs)
    started = [entry for entry in sim.jobs() if entry["start"] is not None]
    assert len(started) == 10


def test_finished_jobs_leave_the_in_flight_count(sim, admin):
    routers = [r["id"] for r in sim.state()["routers"] if r["state"] == "Running"][:3]
    for router in routers:
        admin.call("rebootRouter", id=router)
    sim.wait_jobs()
    assert sim.job_stats()["in_flight"] == {}
    assert 1 <= sim.max_jobs_in_flight("rebootRouter") <= 3
    log = sim.jobs()
    assert len(log) == 3 and all(entry["end"] >= entry["start"] >= entry["queued"] for entry in log)


def test_ms416_has_no_live_patch(acs_sim):
    sim = acs_sim(topology="ms416")
    admin = sim.client()
    assert admin.call("listCapabilities")["capability"]["cloudstackversion"] == "4.16.1.0"
    ssvm = admin.call("listSystemVms")["systemvm"][0]["id"]
    assert admin.raw("patchSystemVm", id=ssvm).status_code == 432
    net = admin.call("listNetworks", listall=True)["network"][0]["id"]
    response = admin.raw("restartNetwork", id=net, livepatch=True)
    assert response.status_code == 431 and "livepatch" in response.json()["restartnetworkresponse"]["errortext"]
    assert admin.run("restartNetwork", id=net, cleanup=True)["jobstatus"] == 1


def test_version_override(acs_sim):
    sim = acs_sim(topology="small", version="4.17.2.0")
    admin = sim.client()
    assert admin.call("listCapabilities")["capability"]["cloudstackversion"] == "4.17.2.0"
    assert admin.raw("listConfigurations", group="x").status_code == 431, "group appeared in 4.18"
    router = router_by_network(admin, "acme-web")[0]
    admin.run("restartNetwork", id=router["guestnetworkid"], livepatch=True)
    assert router_by_network(admin, "acme-web")[0]["softwareversion"] == "4.17.2.0"
