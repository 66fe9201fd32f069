# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_livepatch against the simulated management server: every path, the faults, and what was sent."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_livepatch
from acs_sim.topology import generate as generate_topology

MS = "4.18.0.0"
RESTARTS = ("restartNetwork", "restartVPC")


def connection(sim, **options):
    return dict(api_url=sim.url, api_key=sim.admin_key, api_secret=sim.admin_secret, poll_interval=0.05, **options)


def mutating_calls(sim, since=0):
    return [call for call in sim.calls()[since:] if not call["command"].startswith(("list", "query", "get"))]


def by_name(result):
    return {target["name"]: target for target in result["targets"]}


def routers_of(sim, network_name):
    return [router for router in sim.state()["routers"] if network_name in (router.get("guestnetworkname"), router.get("vpcname"))]


def test_check_mode_reports_every_path_and_sends_no_change(acs_sim, run_module):
    sim = acs_sim("small")
    result = run_module(cs_livepatch, connection(sim, system_vms=["all"], routers=["all"]), check_mode=True)

    assert result["changed"] and not result.get("failed")
    targets = by_name(result)
    assert {name: target["path"] for name, target in targets.items() if target["kind"] in ("network", "vpc")} == {
        "acme-db": "livepatch",
        "acme-web": "livepatch",
        "globex-app": "legacy_required",
        "shared-guest": "livepatch",
        "acme-vpc": "livepatch",
        "globex-zone2": "livepatch",
        "globex-vpc-empty": "legacy_required",
    }
    assert {target["status"] for target in targets.values() if target["path"] == "livepatch"} == {"would_patch"}
    assert "no tier" in targets["globex-vpc-empty"]["reason"]
    assert "Stopped" in targets["globex-app"]["warnings"][0] and targets["globex-app"]["recreate_required"]
    assert any("cannot be chosen" in warning for warning in targets["acme-db"]["warnings"])
    assert any("remote-access VPN" in warning for warning in targets["acme-db"]["warnings"])
    systemvms = [target for target in result["targets"] if target["kind"] in ("secondarystoragevm", "consoleproxy")]
    assert len(systemvms) == 4 and all(target["path"] == "livepatch" for target in systemvms)
    assert result["summary"]["would_patch"] == 9 and result["summary"]["legacy_required"] == 2
    assert mutating_calls(sim) == []
    assert sim.jobs() == []


def test_patches_everything_within_parallel_then_a_second_run_changes_nothing(acs_sim, run_module):
    sim = acs_sim("small")
    args = connection(sim, system_vms=["all"], routers=["all"], parallel=2)
    first = run_module(cs_livepatch, args)

    assert first["changed"] and not first.get("failed"), first.get("msg")
    assert first["summary"]["patched"] == 9 and first["summary"]["legacy_required"] == 2
    assert sim.max_jobs_in_flight() <= 2
    restarted = sorted(call["params"]["id"] for call in sim.calls() if call["command"] in RESTARTS)
    targets = by_name(first)
    assert restarted == sorted(targets[name]["id"] for name in ("acme-db", "acme-web", "shared-guest", "acme-vpc", "globex-zone2"))
    for call in sim.calls():
        if call["command"] in RESTARTS:
            assert (call["params"]["livepatch"], call["params"]["cleanup"]) == ("true", "false")
    assert sorted(targets["acme-db"]["routers_touched"]) == sorted(router["name"] for router in routers_of(sim, "acme-db"))
    for router in sim.state()["routers"]:
        if router["state"] == "Running" and router.get("vpcname") != "globex-vpc-empty":
            assert router["softwareversion"] == MS
    db = targets["acme-db"]
    assert db["jobid"] and db["duration"] is not None
    assert {v["softwareversion"] for v in db["before"].values()} == {"4.14.1.0"}
    assert {v["softwareversion"] for v in db["after"].values()} == {MS}
    assert {v["scriptsversion"] for v in db["after"].values()}.isdisjoint({v["scriptsversion"] for v in db["before"].values()})

    routers_only = run_module(cs_livepatch, connection(sim, routers=["all"], parallel=2))
    calls_before_second = len(sim.calls())
    second_routers = run_module(cs_livepatch, connection(sim, routers=["all"], parallel=2))
    assert not routers_only["changed"] and not second_routers["changed"]
    assert mutating_calls(sim, calls_before_second) == []
    assert {target["status"] for target in second_routers["targets"]} == {"unchanged", "not_patched"}

    calls_before_third = len(sim.calls())
    second_systemvms = run_module(cs_livepatch, connection(sim, system_vms=["all"]))
    assert not second_systemvms["changed"]
    assert {target["status"] for target in second_systemvms["targets"]} == {"unchanged"}
    # Their agents report the server's version now (ApiResponseHelper, 4.18.0.0): live-patched, not patched again.
    assert all("already live-patched" in target["reason"] for target in second_systemvms["targets"])
    assert mutating_calls(sim, calls_before_third) == []


def test_management_server_416_needs_the_legacy_path_everywhere(acs_sim, run_module):
    sim = acs_sim("ms416")
    result = run_module(cs_livepatch, connection(sim, system_vms=["all"], routers=["all"]))

    assert not result["changed"] and not result.get("failed")
    assert {target["path"] for target in result["targets"]} == {"legacy_required"}
    assert all("4.16.1.0" in target["reason"] and target["recreate_required"] for target in result["targets"])
    assert "4.17" in result["msg"]
    assert mutating_calls(sim) == []


def test_zero_tier_vpc_is_sent_to_the_legacy_path_even_when_forced(acs_sim, run_module):
    sim = acs_sim("small")
    result = run_module(cs_livepatch, connection(sim, vpcs=["globex-vpc-empty"], forced=True))

    assert not result["changed"]
    (target,) = result["targets"]
    assert (target["kind"], target["path"], target["status"]) == ("vpc", "legacy_required", "not_patched")
    assert "no tier" in target["reason"]
    assert mutating_calls(sim) == []


def test_router_not_running_is_reported_and_its_running_peer_patched(acs_sim, run_module):
    sim = acs_sim("small")
    backup = next(router for router in routers_of(sim, "acme-db") if router["redundantstate"] == "BACKUP")
    sim.client().run("stopRouter", id=backup["id"])
    calls_before = len(sim.calls())

    result = run_module(cs_livepatch, connection(sim, routers=[backup["name"]]))

    assert result["changed"] and not result.get("failed"), result.get("msg")
    (target,) = result["targets"]
    assert (target["name"], target["status"]) == ("acme-db", "patched")
    assert target["routers_not_running"] == [backup["name"]]
    assert backup["name"] not in target["routers_touched"] and len(target["routers_touched"]) == 1
    # The restart without cleanup starts it after its patch loop (NetworkHelperImpl.startRouters): the current template.
    assert any(backup["name"] in warning and "the same restart starts it" in warning for warning in target["warnings"])
    state = {router["name"]: router for router in routers_of(sim, "acme-db")}
    assert (state[backup["name"]]["state"], state[backup["name"]]["softwareversion"], state[backup["name"]]["version"]) == ("Running", MS, "4.18.0")
    assert [call["command"] for call in mutating_calls(sim, calls_before)] == ["restartNetwork"]


def test_network_whose_only_router_is_stopped_is_not_patched(acs_sim, run_module):
    sim = acs_sim("small")
    result = run_module(cs_livepatch, connection(sim, networks=["globex-app"]))
    (target,) = result["targets"]
    assert (target["path"], target["routers_not_running"]) == ("legacy_required", [routers_of(sim, "globex-app")[0]["name"]])
    assert mutating_calls(sim) == []


def test_live_patch_that_changes_nothing_fails_the_target(acs_sim, run_module):
    sim = acs_sim("small")
    sim.inject(kind="livepatch_noop", object="acme-web")
    result = run_module(cs_livepatch, connection(sim, networks=["acme-web", "shared-guest"], max_fail_percentage=100))

    assert result["failed"] and result["changed"]
    targets = by_name(result)
    assert targets["shared-guest"]["status"] == "patched"
    web = targets["acme-web"]
    assert web["status"] == "failed" and web["recreate_required"]
    # Its routers keep their old scripts on a 4.15 template: the server refuses the rules the restart sends next
    # (NetworkHelperImpl.checkRouterVersion), so the job fails (RestartNetworkCmd: "Failed to restart network").
    assert "failed: Failed to restart network" in web["reason"]
    assert "network acme-web" in result["msg"]
    assert result["summary"]["failed"] == 1


def test_job_failure_fails_the_target_and_names_it(acs_sim, run_module):
    sim = acs_sim("small")
    sim.inject(kind="job_failure", api="restartVPC", object="acme-vpc", errortext="Failed to live patch router: services did not restart")
    result = run_module(cs_livepatch, connection(sim, vpcs=["acme-vpc"], networks=["acme-web"], max_fail_percentage=100))

    assert result["failed"]
    targets = by_name(result)
    assert targets["acme-web"]["status"] == "patched"
    vpc = targets["acme-vpc"]
    assert vpc["status"] == "failed" and vpc["recreate_required"]
    assert "services did not restart" in vpc["reason"] and vpc["jobid"] in vpc["reason"]
    assert "vpc acme-vpc" in result["msg"] and "acme-web" not in result["msg"]
    assert sim.admin_secret not in str(result)


def test_max_fail_percentage_stops_new_jobs_after_a_failure(acs_sim, run_module):
    sim = acs_sim("small")
    sim.inject(kind="job_failure", api="restartNetwork", object="acme-db")
    result = run_module(cs_livepatch, connection(sim, zone="zone1", routers=["all"], parallel=1, max_fail_percentage=0))

    assert result["failed"]
    statuses = {name: target["status"] for name, target in by_name(result).items()}
    assert statuses["acme-db"] == "failed"
    assert {statuses[name] for name in ("acme-web", "shared-guest", "acme-vpc")} == {"not_submitted"}
    assert [call["params"]["id"] for call in sim.calls() if call["command"] in RESTARTS] == [by_name(result)["acme-db"]["id"]]
    assert "not started" in by_name(result)["acme-web"]["reason"]


def test_job_that_never_ends_times_out(acs_sim, run_module):
    sim = acs_sim("small")
    sim.inject(kind="job_hang", api="patchSystemVm")
    ssvm = next(vm for vm in sim.state()["systemvms"] if vm["systemvmtype"] == "secondarystoragevm" and vm["zonename"] == "zone1")
    result = run_module(cs_livepatch, connection(sim, system_vms=[ssvm["name"]], timeout=1))

    assert result["failed"]
    (target,) = result["targets"]
    assert target["status"] == "timed_out" and 1 <= target["duration"] < 5
    assert "still running after the job timeout of 1" in target["reason"] and target["jobid"] in target["reason"]


def test_http_5xx_429_and_reset_mid_run_neither_fail_nor_repeat_a_job(acs_sim, run_module):
    sim = acs_sim("small")
    sim.inject(kind="http_error", api="restartNetwork", object="acme-web", status=500, count=1)
    sim.inject(kind="http_error", api="patchSystemVm", status=503, count=1)
    sim.inject(kind="http_error", api="queryAsyncJobResult", status=429, count=2)
    sim.inject(kind="http_error", api="listRouters", status=502, count=1)
    sim.inject(kind="connection_reset", api="restartVPC", count=1)
    result = run_module(cs_livepatch, connection(sim, zone="zone1", system_vms=["ssvm"], networks=["acme-web", "shared-guest"], vpcs=["acme-vpc"]))

    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert {target["status"] for target in result["targets"]} == {"patched"}
    assert {call["status"] for call in sim.calls()} >= {0, 500, 503, 429, 502}
    started = [job["instanceid"] for job in sim.jobs()]
    assert sorted(started) == sorted(target["id"] for target in result["targets"])


def test_wait_false_returns_job_ids_and_refuses_more_jobs_than_parallel(acs_sim, run_module):
    sim = acs_sim("small")
    refused = run_module(cs_livepatch, connection(sim, routers=["all"], wait=False, parallel=2))
    assert refused["failed"] and "more than parallel=2" in refused["msg"]
    assert mutating_calls(sim) == []

    result = run_module(cs_livepatch, connection(sim, networks=["acme-web", "acme-db"], wait=False, parallel=2))
    assert result["changed"] and not result.get("failed")
    assert {target["status"] for target in result["targets"]} == {"submitted"}
    assert sorted(job["jobid"] for job in result["jobs"]) == sorted(job["jobid"] for job in sim.jobs())
    sim.wait_jobs(timeout=10)


def test_selection_by_router_tier_and_id_resolves_to_one_job_per_unit(acs_sim, run_module):
    sim = acs_sim("small")
    vpc_router = routers_of(sim, "acme-vpc")[0]
    web = next(network for network in sim.state()["networks"] if network["name"] == "acme-web")
    db_routers = [router["name"] for router in routers_of(sim, "acme-db")]
    result = run_module(cs_livepatch, connection(sim, routers=db_routers + [vpc_router["id"]], networks=["acme-vpc-app", web["id"]]))

    assert not result.get("failed"), result.get("msg")
    assert sorted((target["kind"], target["name"]) for target in result["targets"]) == [("network", "acme-db"), ("network", "acme-web"), ("vpc", "acme-vpc")]
    assert sorted(call["command"] for call in mutating_calls(sim)) == ["restartNetwork", "restartNetwork", "restartVPC"]


def test_forced_patches_current_routers_again(acs_sim, run_module):
    sim = acs_sim("small")
    assert run_module(cs_livepatch, connection(sim, networks=["acme-web"]))["changed"]
    calls_before = len(sim.calls())
    result = run_module(cs_livepatch, connection(sim, networks=["acme-web"], forced=True))
    assert result["changed"] and result["targets"][0]["status"] == "patched"
    assert [call["command"] for call in mutating_calls(sim, calls_before)] == ["restartNetwork"]


@pytest.mark.parametrize(
    ("option", "value", "message"), [("networks", "no-such-net", "no network with the name or id 'no-such-net'"), ("routers", "r-999-VM", "no router")]
)
def test_unknown_target_is_a_clear_error(acs_sim, run_module, option, value, message):
    sim = acs_sim("small")
    result = run_module(cs_livepatch, connection(sim, **{option: [value]}))
    assert result["failed"] and message in result["msg"]
    assert mutating_calls(sim) == []


def test_generated_fleet_is_patched_five_at_a_time_and_converges(acs_sim, run_module):
    # Each live patch takes 0.3 s: the five jobs of a window, submitted one after the other, run at the same time on a
    # loaded machine too (at 15-30 ms, the first could end before the fifth was sent).
    topology = generate_topology("zones=2,routers=60,stopped=0.05,seed=4")
    topology["jobs"] = {"durations": {"livepatch_router": 300}}
    sim = acs_sim(topology)
    result = run_module(cs_livepatch, connection(sim, routers=["all"], parallel=5, max_fail_percentage=100))

    assert not result.get("failed"), result.get("msg")
    summary = result["summary"]
    assert summary["patched"] > 10 and summary["patched"] == summary["livepatch"]
    assert sim.max_jobs_in_flight() == 5
    # Templates 4.13 are in this fleet: their networks go to the legacy path and are never restarted.
    legacy = {target["id"] for target in result["targets"] if target["path"] == "legacy_required"}
    assert any("JDK" in target["reason"] for target in result["targets"] if target["id"] in legacy)
    assert legacy.isdisjoint(call["params"]["id"] for call in sim.calls() if call["command"] in RESTARTS)
    assert len([call for call in sim.calls() if call["command"] in RESTARTS]) == summary["patched"]

    calls_before = len(sim.calls())
    again = run_module(cs_livepatch, connection(sim, routers=["all"], parallel=5))
    assert not again["changed"] and not again.get("failed")
    assert mutating_calls(sim, calls_before) == []


@pytest.mark.parametrize("wait", [True, False])
def test_refused_submission_fails_its_target_only(acs_sim, run_module, wait):
    sim = acs_sim("small")
    sim.inject(kind="http_error", api="restartNetwork", object="acme-web", status=431, errortext="Network acme-web is being restarted already")
    result = run_module(cs_livepatch, connection(sim, networks=["acme-web", "shared-guest"], wait=wait, max_fail_percentage=100))

    assert result["failed"] and result["changed"]
    targets = by_name(result)
    # Refused: nothing started, so it is "not submitted" and never handed to the legacy path.
    assert targets["acme-web"]["status"] == "not_submitted" and targets["acme-web"]["jobid"] is None
    assert targets["acme-web"]["recreate_required"] is False
    assert "not started" in targets["acme-web"]["reason"] and "being restarted already" in targets["acme-web"]["reason"]
    assert targets["shared-guest"]["status"] == ("patched" if wait else "submitted")
    assert "network acme-web" in result["msg"] and "shared-guest" not in result["msg"]
    sim.wait_jobs(timeout=10)


def _idle_vpc_topology(version):
    return {
        "managementserver": {"version": version, "template_name": "SystemVM Template (KVM)"},
        "zones": [{"name": "zone1", "systemvms": {"version": "4.15.1"}}],
        "accounts": [{"name": "acme", "domain": "ROOT"}],
        "vpcs": [{"name": "idle-vpc", "zone": "zone1", "account": "acme", "routers": [{"version": "4.15.1"}],
                  "tiers": [{"name": "idle-web", "state": "Allocated"}, {"name": "idle-db", "state": "Shutdown"}]}],
    }


@pytest.mark.parametrize("version, status", [("4.18.1.0", "not_patched"), ("4.18.2.0", "patched")])
def test_a_vpc_whose_tiers_are_not_implemented_is_live_patched_from_4_18_2(acs_sim, run_module, version, status):
    """VpcManagerImpl.restartVpc: before 4.18.2.0 only Implemented tiers count, from it every tier (apache/cloudstack#7958)."""
    sim = acs_sim(topology=_idle_vpc_topology(version))
    result = run_module(cs_livepatch, connection(sim, vpcs=["idle-vpc"]))
    target = by_name(result)["idle-vpc"]
    assert target["status"] == status
    if status == "patched":
        assert target["path"] == "livepatch" and routers_of(sim, "idle-vpc")[0]["softwareversion"] == version
    else:
        assert target["path"] == "legacy_required" and "Implemented" in target["reason"] and "4.18.2.0" in target["reason"]
        assert mutating_calls(sim) == []


def test_system_vm_template_is_read_from_the_template_when_its_name_carries_no_version(acs_sim, run_module):
    """listSystemVms.version is the agent's (ApiResponseHelper, 4.18.0.0); a template named without a version is looked up
    with listTemplates templatefilter=all id= once per template. The disk's template is the ROOT volume's (listVolumes
    listsystemvms, QueryManagerImpl.searchForVolumesInternal 4.18.0.0), looked up the same way, and that decides the path."""
    sim = acs_sim(topology=_idle_vpc_topology("4.18.2.0"))
    assert {vm["templatename"] for vm in sim.state()["systemvms"]} == {"SystemVM Template (KVM)"}
    checked = run_module(cs_livepatch, connection(sim, system_vms=["all"]), check_mode=True)
    assert {t["path"] for t in checked["targets"]} == {"livepatch"}
    # The template listed is the new one (the upgrade repointed every system VM, VMInstanceDaoImpl.updateSystemVmTemplateId),
    # looked up to 4.18.1; the ROOT volume's template, looked up to 4.15.1, is the disk's: it decides.
    assert all("template 4.15.1 can be live-patched" in t["reason"] for t in checked["targets"]), [t["reason"] for t in checked["targets"]]
    volumes = sim.client("admin").call("listVolumes", type="ROOT", listall=True, listsystemvms=True)["volume"]
    disk_templates = {volume["templateid"] for volume in volumes if volume["vmtype"] != "DomainRouter"}
    assert [(c["params"]["templatefilter"], c["params"]["id"]) for c in sim.calls("listTemplates")] == [
        ("all", sim.state()["systemvms"][0]["templateid"]),
        *(("all", templateid) for templateid in sorted(disk_templates)),
    ]


def _agents_cloud() -> dict:
    """4.18.0.0, two clusters: c1's agents on the server's version, c2's on 4.17.2.0. web (kvm1) and app (kvm2) on template
    4.16.1; db on 4.18.0 (booted under the server on kvm1: its checksum is the server's payload); VPC v1 on kvm2."""
    return {
        "managementserver": {"version": MS}, "seed": 7,
        "accounts": [{"name": "acme", "domain": "ROOT"}],
        "zones": [{"name": "z1", "systemvms": {"version": "4.16.1"},
                   "pods": [{"name": "p1", "clusters": [{"name": "c1", "hosts": ["kvm1"]}, {"name": "c2", "hosts": ["kvm2"], "agent_version": "4.17.2.0"}]}]}],
        "networks": [
            {"name": "web", "zone": "z1", "account": "acme", "routers": [{"version": "4.16.1", "host": "kvm1"}]},
            {"name": "db", "zone": "z1", "account": "acme", "routers": [{"version": "4.18.0", "host": "kvm1"}]},
            {"name": "app", "zone": "z1", "account": "acme", "routers": [{"version": "4.16.1", "host": "kvm2"}]},
        ],
        "vpcs": [{"name": "v1", "zone": "z1", "account": "acme", "tiers": ["t1"], "routers": [{"version": "4.16.1", "host": "kvm2"}]}],
    }


def test_vms_on_a_host_whose_agent_is_old_are_not_live_patched(acs_sim, run_module):
    """The live patch payload is the host agent's (LibvirtPatchSystemVmCommandWrapper, ServerResource.systemVmPatchFiles): a
    router patched through a 4.17.2.0 agent gets that agent's old scripts, which NetworkHelperImpl.checkRouterVersion refuses
    on a template below the minimum. cs_livepatch does not send the patch there and names the host and what to do."""
    sim = acs_sim(topology=_agents_cloud(), time_factor=0.002)
    before = {router["name"]: router for router in sim.state()["routers"]}
    result = run_module(cs_livepatch, connection(sim, routers=["all"]))
    targets = by_name(result)
    assert targets["web"]["status"] == "patched"
    for name in ("app", "v1"):
        assert targets[name]["path"] == "legacy_required" and targets[name]["status"] != "patched", targets[name]
        assert "kvm2" in targets[name]["reason"] and "4.17.2.0" in targets[name]["reason"] and "upgrade the agent" in targets[name]["reason"]
    assert [job for job in sim.jobs() if job["command"] in RESTARTS and job["instanceid"] in {targets["app"]["id"], targets["v1"]["id"]}] == []
    after = {router["name"]: router for router in sim.state()["routers"]}
    assert [name for name, router in after.items() if router["refused"] and router["scriptsversion"] != before[name]["scriptsversion"]] == []


def test_a_forced_live_patch_that_leaves_a_router_refused_is_never_patched(acs_sim, run_module):
    """forced sends it anyway: restartVPC succeeds (VpcManagerImpl.restartVpc ignores its tiers' results) and the router reports
    the server's software with the old agent's scripts, a new checksum. The server's payload is known from db (booted on the
    current template under the server on an upgraded host), so the router is judged refused by the server: failed, not patched."""
    sim = acs_sim(topology=_agents_cloud(), time_factor=0.002)
    result = run_module(cs_livepatch, connection(sim, vpcs=["v1"], forced=True))
    [target] = result["targets"]
    assert [router["refused"] for router in sim.state()["routers"] if router.get("vpcname") == "v1"] == [True]
    assert target["status"] == "failed" and "refused by the server" in target["reason"], target
    assert result.get("failed") or result["summary"].get("failed") == 1
