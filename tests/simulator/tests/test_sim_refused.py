# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Routers the server refuses, what a restart without cleanup does, host agents' payloads, and known regressions by release.

Each test names the source it models (apache/cloudstack, read at the release commits of alexandremattioli/cloudstack).
"""
from __future__ import annotations

from typing import Any

from acs_sim.payload import scripts_checksum
from sim_helpers import network_id, router_by_network, vpc_id


def _refused(sim: Any, network: str) -> list[bool]:
    return [r["refused"] for r in sim.state()["routers"] if r.get("guestnetworkname") == network]


def _cloud(version: str, agent: str | None = None, host_state: str = "Up", routers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One zone, one cluster of one host (agent ``agent``), one network with one router, an SSVM/CPVM on that host."""
    host: dict[str, Any] = {"name": "kvm1", "state": host_state}
    if agent:
        host["version"] = agent
    return {
        "managementserver": {"version": version}, "seed": 3,
        "zones": [{"name": "z1", "pods": [{"name": "p1", "clusters": [{"name": "c1", "hosts": [host]}]}], "systemvms": {"version": "4.16.1"}}],
        "networks": [{"name": "net1", "zone": "z1", "routers": routers or [{"version": "4.16.1", "host": "kvm1"}]}],
    }


def test_check_router_version_refuses_old_template_with_old_scripts(acs_sim):
    """NetworkHelperImpl.checkRouterVersion (4.17.0.0, 4.19.3.0): template below the zone's minreq.sysvmtemplate.version and a
    scriptsversion that is not the server's cloud-scripts.tgz checksum -> refused; listRouters never says so."""
    sim = acs_sim(topology="small", time_factor=0.0005)
    admin = sim.client()
    assert _refused(sim, "acme-db") == [True, True]
    assert _refused(sim, "acme-web") == [True]
    assert all("refused" not in r for r in admin.call("listRouters", listall=True)["router"])
    # A live patch gives them the server's checksum: accepted although the template stays 4.14 (requiresupgrade false too).
    assert admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)["jobstatus"] == 1
    assert _refused(sim, "acme-db") == [False, False]
    assert {r["version"] for r in router_by_network(admin, "acme-db")} == {"4.14.1"}


def test_router_version_check_false_accepts_every_router(acs_sim):
    """NetworkHelperImpl.checkRouterVersion: router.version.check false -> true for every router; a plain restart succeeds."""
    sim = acs_sim(topology={**_cloud("4.18.0.0"), "configurations": {"router.version.check": False}}, time_factor=0.0005)
    admin = sim.client()
    assert _refused(sim, "net1") == [False]
    assert admin.run("restartNetwork", id=network_id(admin, "net1"))["jobstatus"] == 1


def test_current_template_is_accepted_whatever_its_scripts(acs_sim):
    """NetworkHelperImpl.checkRouterVersion: a template at or above the zone's minimum is accepted, the checksum is not read."""
    sim = acs_sim(topology=_cloud("4.18.0.0", routers=[{"version": "4.18.0", "scriptsversion": "0" * 32, "host": "kvm1"}]), time_factor=0.0005)
    admin = sim.client()
    assert _refused(sim, "net1") == [False]
    assert admin.run("restartNetwork", id=network_id(admin, "net1"))["jobstatus"] == 1


def test_plain_restart_of_a_refused_router_fails_530_and_restart_vpc_succeeds(acs_sim):
    """NetworkOrchestrator.restartNetwork (4.19.3.0) sends the rules after the patch loop; refused -> restartNetwork false ->
    RestartNetworkCmd "Failed to restart network" (530). VpcManagerImpl.restartVpc -> restartVPCNetworks ignores each tier's
    result, so restartVPC succeeds and its router stays refused."""
    sim = acs_sim(topology="small", time_factor=0.0005)
    admin = sim.client()
    job = admin.run("restartNetwork", id=network_id(admin, "acme-web"))
    assert (job["jobstatus"], job["jobresultcode"], job["jobresult"]["errorcode"], job["jobresult"]["errortext"]) == (2, 530, 530, "Failed to restart network")
    vpc = vpc_id(admin, "acme-vpc")
    assert admin.run("restartVPC", id=vpc)["jobresult"] == {"success": True}
    assert [r["refused"] for r in sim.state()["routers"] if r.get("vpcid") == vpc] == [True]


def test_restart_network_431_for_a_network_not_implemented_or_a_tier_with_cleanup(acs_sim):
    """NetworkServiceImpl.restartNetwork (4.17.0.0, 4.19.3.0, 4.20.2.0): InvalidParameterValueException in the job (431)."""
    topo = _cloud("4.18.0.0", routers=[{"version": "4.18.0", "host": "kvm1"}])
    topo["networks"].append({"name": "idle", "zone": "z1", "state": "Allocated", "routers": [{"version": "4.18.0", "state": "Stopped"}]})
    topo["vpcs"] = [{"name": "v1", "zone": "z1", "tiers": ["t1"], "routers": [{"version": "4.18.0"}]}]
    sim = acs_sim(topology=topo, time_factor=0.0005)
    admin = sim.client()
    job = admin.run("restartNetwork", id=network_id(admin, "idle"))
    assert (job["jobstatus"], job["jobresult"]["errorcode"]) == (2, 431)
    assert job["jobresult"]["errortext"] == "Network is not in the right state to be restarted. Correct states are: Implemented, Setup"
    job = admin.run("restartNetwork", id=network_id(admin, "t1"), cleanup=True)
    assert (job["jobresult"]["errorcode"], job["jobresult"]["errortext"]) == (431, "Cannot restart a VPC tier with cleanup, please restart the whole VPC.")


def test_regression_9900_live_patch_keeps_the_old_checksum_on_4193(acs_sim):
    """apache/cloudstack#9900 (patch-sysvms.sh keytool line, in 4.19.2.0/4.19.3.0/4.20.1.0): LibvirtPatchSystemVmCommandWrapper
    fails to parse the answer and returns the pre-patch checksum; ManagementServerImpl.updateRouterDetails records it with
    softwareversion = the server's. The router is refused (#12211), the restart fails 530, requiresupgrade is false; a reboot
    cures it."""
    sim = acs_sim(topology="small", time_factor=0.0005, version="4.19.3.0")
    admin = sim.client()
    before = router_by_network(admin, "acme-db")
    job = admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)
    assert (job["jobstatus"], job["jobresult"]["errortext"]) == (2, "Failed to restart network")
    after = router_by_network(admin, "acme-db")
    assert [r["scriptsversion"] for r in after] == [r["scriptsversion"] for r in before] != [scripts_checksum("4.19.3.0")] * 2
    assert {r["softwareversion"] for r in after} == {"4.19.3.0"} and {r["requiresupgrade"] for r in after} == {False}
    assert _refused(sim, "acme-db") == [True, True]
    assert admin.run("rebootRouter", id=after[0]["id"])["jobstatus"] == 1
    assert {r["name"]: r["refused"] for r in sim.state()["routers"] if r.get("guestnetworkname") == "acme-db"} == {
        after[0]["name"]: False, after[1]["name"]: True}


def test_regression_9900_fixed_by_10962_in_4202(acs_sim):
    """#9900 is in 4.20.1.0; #10962 (in 4.20.2.0) limits the keytool line to SSVM/CPVM: a live patch records the new checksum, the router is accepted."""
    for version, refused in (("4.20.1.0", True), ("4.20.2.0", False)):
        sim = acs_sim(topology=_cloud(version), time_factor=0.0005)
        admin = sim.client()
        assert admin.run("restartNetwork", id=network_id(admin, "net1"), livepatch=True)["jobstatus"] == (2 if refused else 1)
        assert (router_by_network(admin, "net1")[0]["scriptsversion"] == scripts_checksum(version)) is not refused
        assert _refused(sim, "net1") == [refused]


def test_regression_8497_python3_payload_cannot_patch_a_415_template_on_420(acs_sim):
    """apache/cloudstack#8497 (4.20.0.0): Python 3 scripts / JRE 17 agent; the 4.15 template (Debian 10) has Python 2.7 as
    /usr/bin/python and no python3-netaddr: patch-sysvms.sh restores its backup and exits 1. The 4.16 router is patched."""
    topo = _cloud("4.20.0.0", routers=[{"version": "4.15.1", "host": "kvm1"}])
    topo["networks"].append({"name": "net2", "zone": "z1", "routers": [{"version": "4.16.1", "host": "kvm1"}]})
    sim = acs_sim(topology=topo, time_factor=0.0005)
    admin = sim.client()
    job = admin.run("restartNetwork", id=network_id(admin, "net1"), livepatch=True)
    assert (job["jobstatus"], job["jobresult"]["errortext"]) == (2, "Failed to restart network")
    assert router_by_network(admin, "net1")[0]["softwareversion"] == "4.15.1.0" and _refused(sim, "net1") == [True]
    assert admin.run("restartNetwork", id=network_id(admin, "net2"), livepatch=True)["jobstatus"] == 1
    assert router_by_network(admin, "net2")[0]["scriptsversion"] == scripts_checksum("4.20.0.0")


def test_hosts_show_agent_version_and_state(acs_sim):
    """HostResponse (ApiResponseHelper.createHostResponse): version is the host's agent version, state its status."""
    sim = acs_sim(topology=_cloud("4.18.0.0", agent="4.17.2.0"), time_factor=0.0005)
    admin = sim.client()
    host = admin.call("listHosts", type="Routing")["host"][0]
    assert (host["version"], host["state"], host["resourcestate"], host["hypervisor"]) == ("4.17.2.0", "Up", "Enabled", "KVM")
    assert admin.call("listHosts", type="Routing", state="Disconnected") == {}


def test_a_host_in_maintenance_shows_its_resource_state_and_takes_no_new_vm(acs_sim):
    """HostResponse.resourcestate is the host's ResourceState (Enabled, Maintenance, ...), next to its agent status; the
    deployment planner places VMs on Enabled hosts only, so every router and system VM of the topology goes to kvm2."""
    topology = _cloud("4.18.0.0")
    topology["zones"][0]["pods"][0]["clusters"][0]["hosts"] = [{"name": "kvm1", "resourcestate": "Maintenance"}, "kvm2"]
    topology["networks"][0]["routers"] = [{"version": "4.16.1"}, {"version": "4.16.1"}]
    sim = acs_sim(topology=topology, time_factor=0.0005)
    admin = sim.client()
    [host] = admin.call("listHosts", type="Routing", resourcestate="Maintenance")["host"]
    assert (host["name"], host["state"], host["resourcestate"]) == ("kvm1", "Up", "Maintenance")
    on = {vm["hostid"] for vm in admin.call("listRouters", listall=True)["router"] + admin.call("listSystemVms")["systemvm"]}
    assert on == {admin.call("listHosts", name="kvm2")["host"][0]["id"]}


def test_live_patch_on_an_old_agent_pushes_its_old_scripts(acs_sim):
    """LibvirtPatchSystemVmCommandWrapper.execute (4.19.3.0) copies the agent's own systemVmPatchFiles and answers their checksum;
    ManagementServerImpl.updateRouterDetails records it with softwareversion = the server's. The old checksum on a template
    below the minimum is refused, so the restart fails; patchSystemVm leaves the SSVM's agent at the host's version."""
    sim = acs_sim(topology=_cloud("4.18.0.0", agent="4.17.2.0"), time_factor=0.0005)
    admin = sim.client()
    job = admin.run("restartNetwork", id=network_id(admin, "net1"), livepatch=True)
    assert (job["jobstatus"], job["jobresult"]["errortext"]) == (2, "Failed to restart network")
    router = router_by_network(admin, "net1")[0]
    assert (router["scriptsversion"], router["softwareversion"], router["requiresupgrade"]) == (scripts_checksum("4.17.2.0"), "4.18.0.0", False)
    assert _refused(sim, "net1") == [True]
    ssvm = admin.call("listSystemVms", systemvmtype="secondarystoragevm")["systemvm"][0]
    assert admin.run("patchSystemVm", id=ssvm["id"])["jobstatus"] == 1
    assert admin.call("listSystemVms", id=ssvm["id"])["systemvm"][0]["version"] == "4.17.2.0"


def test_patch_on_a_disconnected_host_fails(acs_sim):
    """ManagementServerImpl.patchSystemVm (4.19.3.0): AgentManagerImpl.send throws AgentUnavailableException for a host whose
    agent is not connected -> "SystemVM live patch failed due to: ..." (the patchSystemVm job fails; the restart's patch loop
    skips the router, then its rules cannot be sent either: 530)."""
    sim = acs_sim(topology=_cloud("4.18.0.0", host_state="Disconnected"), time_factor=0.0005)
    admin = sim.client()
    assert admin.call("listHosts", type="Routing", state="Disconnected")["count"] == 1
    ssvm = admin.call("listSystemVms", systemvmtype="secondarystoragevm")["systemvm"][0]
    job = admin.run("patchSystemVm", id=ssvm["id"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errortext"].startswith("SystemVM live patch failed due to: Resource [Host:")
    assert "agent not logged into this management server" in job["jobresult"]["errortext"]
    job = admin.run("restartNetwork", id=network_id(admin, "net1"), livepatch=True)
    assert job["jobresult"]["errortext"] == "Failed to restart network"
    assert router_by_network(admin, "net1")[0]["softwareversion"] == "4.16.1.0"


def test_restart_starts_a_stopped_router_with_its_host_agents_scripts(acs_sim):
    """NetworkHelperImpl.startRouters via VirtualRouterElement.implement (4.19.3.0); LibvirtStartCommandWrapper copies the
    agent's payload at start and finalizeStart records what the router reports: a current template (accepted) with the
    old agent's checksum."""
    sim = acs_sim(topology=_cloud("4.18.0.0", agent="4.17.2.0", routers=[{"version": "4.16.1", "state": "Stopped", "host": "kvm1"}]), time_factor=0.0005)
    admin = sim.client()
    assert admin.run("restartNetwork", id=network_id(admin, "net1"))["jobstatus"] == 1
    router = router_by_network(admin, "net1")[0]
    assert (router["state"], router["version"], router["scriptsversion"], router["softwareversion"]) == (
        "Running", "4.18.0", scripts_checksum("4.17.2.0"), "4.18.0.0")
    assert _refused(sim, "net1") == [False]


def test_regression_9900_follows_the_host_agent_12211(acs_sim):
    """apache/cloudstack#12211 (routers live-patched to 4.20.2.0 refused until rebooted): patch-sysvms.sh and
    LibvirtPatchSystemVmCommandWrapper are the host agent's (ServerResource.systemVmPatchFiles), so a 4.20.2.0 server over
    4.20.1.0 agents pushes the 4.20.1.0 payload with #9900's script: the old checksum is recorded, the router is refused."""
    sim = acs_sim(topology=_cloud("4.20.2.0", agent="4.20.1.0"), time_factor=0.0005)
    admin = sim.client()
    before = router_by_network(admin, "net1")[0]
    job = admin.run("restartNetwork", id=network_id(admin, "net1"), livepatch=True)
    assert (job["jobstatus"], job["jobresult"]["errortext"]) == (2, "Failed to restart network")
    after = router_by_network(admin, "net1")[0]
    assert (after["scriptsversion"], after["softwareversion"], after["requiresupgrade"]) == (before["scriptsversion"], "4.20.2.0", False)
    assert _refused(sim, "net1") == [True]


def test_a_restart_whose_router_cannot_start_fails_and_leaves_it_stopped(acs_sim):
    """NetworkHelperImpl.startRouters (4.19.3.0): with no Up host in the zone the deployment planner throws
    InsufficientServerCapacityException and VirtualMachineManagerImpl.orchestrateStart leaves the router Stopped;
    NetworkOrchestrator.restartNetwork catches the failed implementNetworkElementsAndResources and returns false
    (RestartNetworkCmd "Failed to restart network", 530); VpcManagerImpl.restartVpc's startVpc(vpcId, false) returns false
    (RestartVPCCmd "Failed to restart VPC", 530). A missing router is not deployed either."""
    topo = _cloud("4.19.3.0", host_state="Disconnected", routers=[{"version": "4.19.1", "state": "Stopped", "host": "kvm1"}])
    topo["vpcs"] = [{"name": "v1", "zone": "z1", "tiers": ["t1"], "routers": [{"version": "4.19.1", "state": "Stopped"}]}]
    topo["networks"].append({"name": "empty", "zone": "z1", "routers": []})
    sim = acs_sim(topology=topo, time_factor=0.0005)
    admin = sim.client()
    job = admin.run("restartNetwork", id=network_id(admin, "net1"))
    assert (job["jobstatus"], job["jobresultcode"], job["jobresult"]["errortext"]) == (2, 530, "Failed to restart network")
    assert [r["state"] for r in router_by_network(admin, "net1")] == ["Stopped"]
    job = admin.run("restartVPC", id=vpc_id(admin, "v1"))
    assert (job["jobstatus"], job["jobresultcode"], job["jobresult"]["errortext"]) == (2, 530, "Failed to restart VPC")
    assert [r["state"] for r in admin.call("listRouters", listall=True, vpcid=vpc_id(admin, "v1"))["router"]] == ["Stopped"]
    job = admin.run("restartNetwork", id=network_id(admin, "empty"))
    assert (job["jobstatus"], job["jobresult"]["errortext"]) == (2, "Failed to restart network")
    assert router_by_network(admin, "empty") == []
