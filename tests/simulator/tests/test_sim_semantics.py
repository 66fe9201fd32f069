# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The upgrade operations and their awkward parts."""
from __future__ import annotations

import time
from pathlib import Path

import yaml
from sim_helpers import network_id, router_by_network, vpc_id

from acs_sim.payload import scripts_checksum

CURRENT_SCRIPTS = scripts_checksum("4.18.0.0")
# Redundant states show after the next CheckRouterTask run (router.check.interval, 30 s; 15 ms at the fixture's time factor 0.0005).
CHECK_ROUTER_RUN = 30 * 0.0005 * 2


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
    """A business error inside a job ends with errorcode 530 in jobresult (ApiAsyncJobDispatcher.runJob, 4.18.0.0)."""
    router = router_by_network(admin, "acme-web")[0]
    job = admin.run("patchSystemVm", id=router["id"])
    assert job["jobstatus"] == 2 and job["jobresultcode"] == 530
    assert job["jobresult"]["errorcode"] == 530 and "can be used to patch CPVM / SSVM only" in job["jobresult"]["errortext"]


def test_patch_system_vm_refuses_a_stopped_vm(admin):
    cpvm = _systemvm(admin, "zone2", "consoleproxy")
    admin.run("stopSystemVm", id=cpvm["id"])
    job = admin.run("patchSystemVm", id=cpvm["id"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 530
    assert job["jobresult"]["errortext"] == f"Unable to patch SystemVM: {cpvm['name']} as it is not in Running state. Please destroy and recreate the SystemVM."


# ---------------------------------------------------------------- live patch
def test_live_patch_changes_scripts_not_the_template_and_clears_requiresupgrade(admin):
    """DomainRouterJoinDaoImpl.newDomainRouterResponse, 4.18.0.0: below the zone's minreq.sysvmtemplate.version,
    requiresupgrade is false exactly when softwareversion is the server's, so a live patch clears it on an old template."""
    before = router_by_network(admin, "acme-db")
    assert all(r["requiresupgrade"] and r["scriptsversion"] != CURRENT_SCRIPTS for r in before)
    job = admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)
    assert job["jobresult"] == {"success": True}
    after = router_by_network(admin, "acme-db")
    assert [r["id"] for r in after] == [r["id"] for r in before]
    for router in after:
        assert router["scriptsversion"] == CURRENT_SCRIPTS and router["softwareversion"] == "4.18.0.0"
        assert router["requiresupgrade"] is False and router["version"] == "4.14.1" and router["templatename"] == "systemvm-kvm-4.18.0"
    assert sorted(r["redundantstate"] for r in after) == ["BACKUP", "PRIMARY"]


def test_live_patch_skips_stopped_routers_then_the_restart_starts_them(admin):
    """NetworkOrchestrator.restartNetwork (4.19.3.0): the patch loop skips a Stopped router (updateSystemVM: not Running), then
    implementNetworkElementsAndResources -> VirtualRouterElement.implement -> NetworkHelperImpl.startRouters starts it: it
    boots the current template with its host agent's scripts (VirtualNetworkApplianceManagerImpl.finalizeStart)."""
    before = router_by_network(admin, "globex-app")[0]
    assert before["state"] == "Stopped"
    job = admin.run("restartNetwork", id=network_id(admin, "globex-app"), livepatch=True)
    assert job["jobstatus"] == 1
    after = router_by_network(admin, "globex-app")[0]
    assert (after["state"], after["scriptsversion"], after["softwareversion"]) == ("Running", CURRENT_SCRIPTS, "4.18.0.0")
    assert after["version"] == "4.18.0" and after["requiresupgrade"] is False


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
    assert router["scriptsversion"] == CURRENT_SCRIPTS and router["version"] == "4.15.1" and router["requiresupgrade"] is False


def test_requiresupgrade_follows_the_zone_minimum(sim, admin):
    """DomainRouterJoinDaoImpl.newDomainRouterResponse with NetworkOrchestrationService.MinVRVersion.valueIn(zone), 4.18.0.0:
    a template at or above the zone's minreq.sysvmtemplate.version never requires an upgrade."""
    zone1 = next(z["id"] for z in sim.state()["zones"] if z["name"] == "zone1")
    assert admin.call("listConfigurations", name="minreq.sysvmtemplate.version")["configuration"][0]["value"] == "4.18.0"
    assert router_by_network(admin, "acme-web")[0]["requiresupgrade"] is True
    admin.call("updateConfiguration", name="minreq.sysvmtemplate.version", value="4.15.0", zoneid=zone1)
    assert admin.call("listConfigurations", name="minreq.sysvmtemplate.version", zoneid=zone1)["configuration"][0]["value"] == "4.15.0"
    assert router_by_network(admin, "acme-web")[0]["requiresupgrade"] is False, "4.15.1 is above zone1's minimum"
    assert all(r["requiresupgrade"] for r in router_by_network(admin, "acme-db")), "4.14.1 is below it"
    assert router_by_network(admin, "globex-zone2")[0]["requiresupgrade"] is True, "zone2 keeps the global minimum"


def test_livepatch_with_cleanup_is_a_rolling_restart(admin):
    """NetworkOrchestrator.restartNetwork, 4.18.0.0: with cleanup=true the livepatch flag is ignored (no error)."""
    before = router_by_network(admin, "acme-web")
    job = admin.run("restartNetwork", id=network_id(admin, "acme-web"), livepatch=True, cleanup=True)
    assert job["jobstatus"] == 1
    after = router_by_network(admin, "acme-web")
    assert len(after) == 1 and after[0]["id"] != before[0]["id"] and after[0]["version"] == "4.18.0"


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
        # The API shows what CheckRouterTask stored last (VirtualNetworkApplianceManagerImpl, 4.18.0.0): a new router is
        # UNKNOWN, and the hand-over shows at the next run, so there may be a moment without a PRIMARY; never two.
        assert sum(r["redundantstate"] == "PRIMARY" for r in live) <= 1, "two PRIMARYs during the rolling restart: %s" % live
        time.sleep(0.001)
    time.sleep(CHECK_ROUTER_RUN)
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
    time.sleep(CHECK_ROUTER_RUN)
    after = router_by_network(admin, "acme-web")
    assert sorted(r["redundantstate"] for r in after) == ["BACKUP", "PRIMARY"] and all(r["isredundantrouter"] for r in after)


def test_restart_without_cleanup_deploys_a_missing_router(admin):
    """RouterDeploymentDefinition.deployVirtualRouter (4.19.3.0): getNumberOfRoutersToDeploy gives 1 (2 when redundant) less
    the routers the network has; the new one runs the current template."""
    router = router_by_network(admin, "acme-web")[0]
    admin.run("destroyRouter", id=router["id"])
    assert router_by_network(admin, "acme-web") == []
    assert admin.run("restartNetwork", id=network_id(admin, "acme-web"))["jobstatus"] == 1
    (new,) = router_by_network(admin, "acme-web")
    assert new["id"] != router["id"] and (new["state"], new["version"], new["requiresupgrade"]) == ("Running", "4.18.0", False)


# ---------------------------------------------------------------- routers
def test_reboot_redundant_primary_hands_over(admin):
    """The new states show after the next CheckRouterTask run (router.check.interval, 30 s: 15 ms at time factor 0.0005)."""
    pair = router_by_network(admin, "acme-db")
    primary = next(r for r in pair if r["redundantstate"] == "PRIMARY")
    admin.run("rebootRouter", id=primary["id"])
    time.sleep(CHECK_ROUTER_RUN)
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
    """VirtualNetworkApplianceManagerImpl.upgradeRouterTemplate, 4.18.0.0: no selector queues nothing, two are refused,
    account without domainid is ignored."""
    zone = next(z["id"] for z in sim.state()["zones"] if z["name"] == "zone2")
    assert admin.call("upgradeRouterTemplate") == {}
    assert admin.raw("upgradeRouterTemplate", zoneid=zone, podid=sim.state()["routers"][0]["podid"]).status_code == 431
    answer = admin.call("upgradeRouterTemplate", zoneid=zone, account="acme")
    assert answer["count"] == 2 == len(answer["asyncjobs"]), "account without domainid is ignored: both routers of zone2"
    for job in answer["asyncjobs"]:
        assert admin.wait(job["jobid"])["jobstatus"] == 1
    assert all(not r["requiresupgrade"] and r["version"] == "4.18.0" for r in admin.call("listRouters", listall=True, zoneid=zone)["router"])
    assert admin.call("upgradeRouterTemplate", zoneid=zone) == {}


def test_upgrade_router_template_takes_running_routers_of_the_domain_only(admin):
    """upgradeRouterTemplate, 4.18.0.0: domainid lists the Running routers of that domain only (not recursive)."""
    domains = {d["name"]: d["id"] for d in admin.call("listDomains", listall=True)["domain"]}
    assert admin.call("upgradeRouterTemplate", domainid=domains["ROOT"])["count"] == 1, "only shared-guest's router belongs to ROOT itself"
    answer = admin.call("upgradeRouterTemplate", domainid=domains["customers"], account="globex")
    assert answer["count"] == 2, "globex-zone2 and globex-vpc-empty; the Stopped router of globex-app is left alone"


def test_upgrade_router_template_of_a_stopped_router_queues_a_failing_reboot(admin):
    """upgradeRouterTemplate id=, 4.18.0.0: a Stopped router gets a reboot job, which fails; the router stays Stopped."""
    router = router_by_network(admin, "globex-app")[0]
    answer = admin.call("upgradeRouterTemplate", id=router["id"])
    assert answer["count"] == 1
    job = admin.wait(answer["asyncjobs"][0]["jobid"])
    assert job["jobstatus"] == 2 and "not in right state Stopped" in job["jobresult"]["errortext"]
    assert router_by_network(admin, "globex-app")[0]["state"] == "Stopped"


def test_upgrade_router_template_without_version_check_queues_nothing(sim, admin):
    """NetworkHelperImpl.checkRouterTemplateVersion, 4.18.0.0: router.version.check=false means every router passes."""
    admin.call("updateConfiguration", name="router.version.check", value="false")
    zone = next(z["id"] for z in sim.state()["zones"] if z["name"] == "zone1")
    assert admin.call("upgradeRouterTemplate", zoneid=zone) == {}


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
    assert new[0]["id"] != old["id"] and (new[0]["version"], new[0]["templatename"]) == ("4.18.0.0", "systemvm-kvm-4.18.0")
    assert "Running" in states


def test_reboot_system_vm_boots_current_template(admin):
    ssvm = _systemvm(admin, "zone2", "secondarystoragevm")
    result = admin.run("rebootSystemVm", id=ssvm["id"], forced=True)["jobresult"]["systemvm"]
    assert (result["state"], result["version"], result["templatename"]) == ("Running", "4.18.0.0", "systemvm-kvm-4.18.0")


def test_reboot_system_vm_without_forced_is_a_guest_reboot(admin):
    """RebootSystemVmCmd, 4.18.0.0: without forced the guest reboots on its own disk; only forced (stop and start) changes the template."""
    ssvm = _systemvm(admin, "zone2", "secondarystoragevm")
    result = admin.run("rebootSystemVm", id=ssvm["id"])["jobresult"]["systemvm"]
    assert (result["state"], result["templatename"], result["version"]) == ("Running", ssvm["templatename"], ssvm["version"])


def test_system_vm_version_is_the_agent_version(admin):
    """ApiResponseHelper.createSystemVmResponse, 4.18.0.0: version is the agent's (host) version, the template is templatename;
    after patchSystemVm the version is the server's while the template stays."""
    ssvm = _systemvm(admin, "zone2", "secondarystoragevm")
    assert (ssvm["version"], ssvm["templatename"]) == ("4.14.1.0", "systemvm-kvm-4.18.0")
    admin.run("patchSystemVm", id=ssvm["id"])
    patched = _systemvm(admin, "zone2", "secondarystoragevm")
    assert (patched["version"], patched["templatename"], patched["templateid"]) == ("4.18.0.0", "systemvm-kvm-4.18.0", ssvm["templateid"])


def test_upgrade_repoints_system_vms_to_the_new_template_before_they_are_recreated(admin):
    """SystemVmTemplateRegistration.updateSystemVMEntries -> VMInstanceDaoImpl.updateSystemVmTemplateId
    (apache/cloudstack, read in the 4.20 sources and an earlier log4j-1 copy):
    the upgrade sets vm_template_id of every non-User VM of the hypervisor to the new template. listSystemVms and listRouters
    then name the new template for a VM still on an old disk (its creation date is older than the template's); routers keep version."""
    ssvm = _systemvm(admin, "zone2", "secondarystoragevm")
    router = next(r for r in admin.call("listRouters", listall=True)["router"] if r["version"] == "4.14.1")
    assert ssvm["templatename"] == router["templatename"] == "systemvm-kvm-4.18.0"
    template = admin.call("listTemplates", templatefilter="all", id=ssvm["templateid"])["template"][0]
    assert template["name"] == "systemvm-kvm-4.18.0" and ssvm["created"] < template["created"]
    admin.run("destroySystemVm", id=ssvm["id"])
    deadline = time.time() + 10
    new = ssvm
    while new["id"] == ssvm["id"] and time.time() < deadline:
        time.sleep(0.01)
        new = next((v for v in admin.call("listSystemVms", systemvmtype="secondarystoragevm").get("systemvm", []) if v["zonename"] == "zone2"), ssvm)
    assert new["id"] != ssvm["id"] and new["templateid"] == ssvm["templateid"] and new["created"] > template["created"]


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
REAL_CHECK_NAMES = {"cpu_usage_check.py", "memory_usage_check.py", "disk_space_check.py", "gateways_check.py", "router_version_check.py",
                    "dhcp_check.py", "dns_check.py", "haproxy_check.py", "iptables_check.py", "dnsmasq.service", "haproxy.service",
                    "apache2.service", "ssh.service", "connectivity.test", "filesystem.writable.test"}


def test_health_checks(admin):
    """Names as VirtualNetworkApplianceManagerImpl (4.18.0.0) stores them: script file names, <service>.service (ssh.service
    too: the default monitored service of schema-421to430.sql, named by monitorServices.py monitProcess), and the server's
    connectivity.test and filesystem.writable.test. router_version_check.py (health_checks, 4.18.0.0) compares the router
    with its own recorded template and scripts versions: the outdated router of the topology passes it."""
    router = router_by_network(admin, "acme-web")[0]
    result = admin.call("getRouterHealthCheckResults", routerid=router["id"])["routerhealthchecks"]
    assert result["routerid"] == router["id"]
    checks = {c["checkname"]: c for c in result["healthchecks"]}
    assert set(checks) == REAL_CHECK_NAMES
    assert {n for n, c in checks.items() if c["checktype"] == "advanced"} == {"dhcp_check.py", "dns_check.py", "haproxy_check.py", "iptables_check.py"}
    assert router["requiresupgrade"] is True and router["version"] == "4.15.1"
    assert checks["router_version_check.py"]["success"] is True
    assert checks["router_version_check.py"]["details"] == "Template and scripts version match successful"
    assert all(c["success"] for c in checks.values())
    listed = admin.call("listRouters", id=router["id"], fetchhealthcheckresults=True)["router"][0]
    assert listed["healthchecksfailed"] is False and len(listed["healthcheckresults"]) == len(REAL_CHECK_NAMES)
    assert "healthcheckresults" not in admin.call("listRouters", id=router["id"])["router"][0]


def test_excluded_checks_are_not_run(admin):
    router = router_by_network(admin, "acme-web")[0]
    admin.call("updateConfiguration", name="router.health.checks.to.exclude", value="router_version_check.py,iptables_check.py")
    result = admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]
    assert {c["checkname"] for c in result["healthchecks"]} == REAL_CHECK_NAMES - {"router_version_check.py", "iptables_check.py"}
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
    time.sleep(CHECK_ROUTER_RUN)
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
    """4.16 has no patchSystemVm (432) and no livepatch parameter: ParamGenericValidationWorker ignores it, so the restart
    runs as a plain restart and patches nothing."""
    sim = acs_sim(topology="ms416", allow_unknown_params=True)
    admin = sim.client()
    assert admin.call("listCapabilities")["capability"]["cloudstackversion"] == "4.16.1.0"
    ssvm = admin.call("listSystemVms")["systemvm"][0]["id"]
    assert admin.raw("patchSystemVm", id=ssvm).status_code == 432
    net = admin.call("listNetworks", listall=True)["network"][0]["id"]
    before = admin.call("listRouters", listall=True, networkid=net)["router"]
    # A plain restart: the 4.14 router (below the 4.16.1 minimum, old scripts) refuses the rules (checkRouterVersion): 530.
    assert admin.run("restartNetwork", id=net, livepatch=True)["jobresult"]["errortext"] == "Failed to restart network"
    fields = ("id", "state", "version", "scriptsversion", "softwareversion")
    assert [{f: r[f] for f in fields} for r in admin.call("listRouters", listall=True, networkid=net)["router"]] == [{f: r[f] for f in fields} for r in before]
    assert sim.counters()["unknown_params"] == {"restartNetwork": {"livepatch": 1}}
    assert admin.run("restartNetwork", id=net, cleanup=True)["jobstatus"] == 1


def test_version_override(acs_sim):
    sim = acs_sim(topology="small", version="4.17.2.0", allow_unknown_params=True)
    admin = sim.client()
    assert admin.call("listCapabilities")["capability"]["cloudstackversion"] == "4.17.2.0"
    admin.call("listConfigurations", group="x")
    assert sim.counters()["unknown_params"] == {"listConfigurations": {"group": 1}}, "group appeared in 4.18"
    router = router_by_network(admin, "acme-web")[0]
    admin.run("restartNetwork", id=router["guestnetworkid"], livepatch=True)
    assert router_by_network(admin, "acme-web")[0]["softwareversion"] == "4.17.2.0"


# ---------------------------------------------------------------- issue 12: rules from the 4.18.0.0 and 4.20 sources
def test_a_new_router_has_no_health_results_until_its_first_interval(acs_sim):
    """VirtualNetworkApplianceManagerImpl (4.18.0.0): the router runs its checks every router.health.checks.basic.interval /
    advanced.interval minutes, and FetchRouterHealthChecksResultTask stores them every
    router.health.checks.results.fetch.interval minutes; until then a cached read answers 530 and listRouters shows none;
    basic results come before advanced ones (all times --time-factor)."""
    # basic: 3 minutes, 1.8 s; advanced: 5 minutes, 3 s; fetched every minute, 0.6 s. The restart's steps after the new
    # router boots are kept short, so that the reads below come well within the first 1.8 s.
    topology = {**_small(), "configurations": {"router.health.checks.advanced.interval": 5, "router.health.checks.results.fetch.interval": 1}}
    topology["jobs"] = {**topology["jobs"], "durations": {"router_deploy": 1, "router_destroy": 1, "restart_rules": 1}}
    sim = acs_sim(topology=topology, time_factor=0.01)
    admin = sim.client()
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), cleanup=True)
    new = router_by_network(admin, "acme-web")[0]
    response = admin.raw("getRouterHealthCheckResults", routerid=new["id"])
    assert response.status_code == 530 and "No health check results found" in response.json()["getrouterhealthcheckresultsresponse"]["errortext"]
    listed = admin.call("listRouters", id=new["id"], fetchhealthcheckresults=True)["router"][0]
    assert listed["healthcheckresults"] == [] and listed["healthchecksfailed"] is False
    deadline = time.time() + 10
    while time.time() < deadline and admin.raw("getRouterHealthCheckResults", routerid=new["id"]).status_code == 530:
        time.sleep(0.05)
    basic = admin.call("getRouterHealthCheckResults", routerid=new["id"])["routerhealthchecks"]["healthchecks"]
    assert {c["checktype"] for c in basic} == {"basic"}, "advanced checks run on a longer interval"
    while time.time() < deadline and len({c["checktype"] for c in admin.call("getRouterHealthCheckResults", routerid=new["id"])
                                          ["routerhealthchecks"]["healthchecks"]}) < 2:
        time.sleep(0.05)
    both = admin.call("getRouterHealthCheckResults", routerid=new["id"])["routerhealthchecks"]["healthchecks"]
    assert {c["checkname"] for c in both} == REAL_CHECK_NAMES and all(c["success"] for c in both)


def test_fresh_checks_answer_at_once_for_a_new_router_and_take_time(acs_sim):
    """getRouterHealthCheckResults with performfreshchecks (4.18.0.0) runs the checks inside the request: it takes time."""
    durations = {"fresh_health_checks": 20, "router_deploy": 1, "router_destroy": 1, "restart_rules": 1}
    sim = acs_sim(topology={**_small(), "jobs": {"durations": durations}}, time_factor=0.01)
    admin = sim.client()
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), cleanup=True)
    new = router_by_network(admin, "acme-web")[0]
    started = time.time()
    fresh = admin.call("getRouterHealthCheckResults", routerid=new["id"], performfreshchecks=True)["routerhealthchecks"]["healthchecks"]
    assert time.time() - started >= 0.19, "20 s of fresh checks at time factor 0.01"
    assert {c["checkname"] for c in fresh} == REAL_CHECK_NAMES
    assert admin.raw("getRouterHealthCheckResults", routerid=new["id"]).status_code == 200


def _small() -> dict:
    return yaml.safe_load((Path(__file__).resolve().parent.parent / "topologies" / "small.yml").read_text())


def _vpc_with_idle_tiers(version: str) -> dict:
    topology = _small()
    topology["managementserver"] = {"version": version}
    topology["vpcs"] = [{"name": "idle-vpc", "zone": "zone1", "account": "acme", "routers": [{"version": "4.15.1"}],
                         "tiers": [{"name": "idle-web", "state": "Allocated"}, {"name": "idle-db", "state": "Shutdown"}]}]
    return topology


def test_vpc_with_idle_tiers_is_live_patched_from_4_18_2(acs_sim):
    """VpcManagerImpl.restartVpc, 4.18.2.0 (#7958): VPC routers are live-patched even when no tier is Implemented."""
    sim = acs_sim(topology=_vpc_with_idle_tiers("4.18.2.0"))
    admin = sim.client()
    vpc = vpc_id(admin, "idle-vpc")
    assert {n["state"] for n in admin.call("listNetworks", listall=True, vpcid=vpc)["network"]} == {"Allocated", "Shutdown"}
    assert admin.run("restartVPC", id=vpc, livepatch=True)["jobstatus"] == 1
    assert admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]["softwareversion"] == "4.18.2.0"


def test_vpc_with_idle_tiers_is_not_live_patched_before_4_18_2(acs_sim):
    """VpcManagerImpl.restartVpc, 4.18.0.0: only Implemented tiers count; none, nothing patched, and the job succeeds."""
    sim = acs_sim(topology=_vpc_with_idle_tiers("4.18.1.0"))
    admin = sim.client()
    vpc = vpc_id(admin, "idle-vpc")
    before = admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]
    assert admin.run("restartVPC", id=vpc, livepatch=True)["jobstatus"] == 1
    after = admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]
    unpatched = ("4.15.1.0", scripts_checksum("4.15.1.0"))
    assert (after["softwareversion"], after["scriptsversion"]) == (before["softwareversion"], before["scriptsversion"]) == unpatched


def test_restart_vpc_with_cleanup_ignores_livepatch(admin):
    """VpcManagerImpl.restartVpc, 4.18.0.0: cleanup=true replaces the routers whatever livepatch says."""
    vpc = vpc_id(admin, "acme-vpc")
    before = admin.call("listRouters", listall=True, vpcid=vpc)["router"][0]
    assert admin.run("restartVPC", id=vpc, livepatch=True, cleanup=True)["jobstatus"] == 1
    after = admin.call("listRouters", listall=True, vpcid=vpc)["router"]
    assert before["id"] not in {r["id"] for r in after} and {r["version"] for r in after} == {"4.18.0"}


def test_initial_softwareversion_is_the_version_a_router_was_last_started_under(acs_sim):
    """domain_router.software_version is written at router start (4.18.0.0): a topology router started under 4.17.1.0 on a
    4.15.1 template reports that version and that payload; by default the version of its own template."""
    topology = _small()
    topology["networks"][0]["routers"] = [{"version": "4.15.1", "softwareversion": "4.17.1.0"}]
    sim = acs_sim(topology=topology)
    admin = sim.client()
    router = router_by_network(admin, "acme-web")[0]
    assert (router["version"], router["softwareversion"], router["scriptsversion"]) == ("4.15.1", "4.17.1.0", scripts_checksum("4.17.1.0"))
    other = router_by_network(admin, "globex-zone2")[0]
    assert (other["softwareversion"], other["scriptsversion"]) == ("4.14.1.0", scripts_checksum("4.14.1.0"))


def test_job_pool_defaults_to_the_management_servers_125_threads_and_can_be_set(acs_sim):
    """AsyncJobManagerImpl.configure, 4.18.0.0: the job pool has db.cloud.maxActive / 2 threads, 250 / 2 = 125 by default."""
    generated = acs_sim(topology={"managementserver": {"version": "4.18.0.0"}, "zones": [{"name": "z1"}]})
    assert generated.job_stats()["workers"] == 125
    # A topology's jobs.workers, and the --workers option above it.
    assert acs_sim(topology="small").job_stats()["workers"] == 10
    assert acs_sim(topology="small", workers=40).job_stats()["workers"] == 40
