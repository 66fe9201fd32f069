# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_upgrade_preflight against the simulated management server: one cloud per check, the right severity and message."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_fleet_info, cs_upgrade_preflight

BASE = {
    "managementserver": {"version": "4.18.0.0"},
    "seed": 5,
    "accounts": [{"name": "acme", "domain": "ROOT"}],
    "zones": [
        {"name": "zone1", "pods": [{"name": "pod1", "clusters": [{"name": "cluster1", "hosts": ["kvm1", "kvm2"]}]}]},
        {"name": "zone2", "pods": [{"name": "pod2", "clusters": [{"name": "cluster2", "hosts": ["kvm3"]}]}]},
    ],
    "networks": [
        {"name": "web", "zone": "zone1", "account": "acme", "routers": [{"version": "4.15.1", "host": "kvm1"}]},
        {"name": "db", "zone": "zone1", "account": "acme", "redundant": True,
         "routers": [{"version": "4.15.1", "redundantstate": "PRIMARY", "host": "kvm1"}, {"version": "4.15.1", "redundantstate": "BACKUP", "host": "kvm2"}]},
        {"name": "shop", "zone": "zone2", "account": "acme", "routers": [{"version": "4.15.1", "host": "kvm3"}]},
    ],
}


def cloud(**changes) -> dict:
    topology = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = topology
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        target[keys[-1]] = value
    return topology


def preflight(sim, run_module, tmp_path, **args):
    connection = {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret}
    fleet = run_module(cs_fleet_info, dict(connection, dest=str(tmp_path / "fleet.json")))
    assert not fleet.get("failed"), fleet
    result = run_module(cs_upgrade_preflight, dict(connection, fleet_file=str(tmp_path / "fleet.json"), dest=str(tmp_path / "preflight.json"), **args))
    written = json.loads((tmp_path / "preflight.json").read_text())
    assert written["counts"] == result["counts"]
    return result


def found(result, check):
    return [item for item in result["findings"] if item["check"] == check]


def test_a_cloud_ready_for_the_upgrade_passes(acs_sim, run_module, tmp_path):
    result = preflight(acs_sim(topology=cloud(), time_factor=0.001), run_module, tmp_path)
    assert not result.get("failed") and result["passed"] and result["counts"]["blocker"] == 0 and result["counts"]["warning"] == 0, result["lines"]


def test_a_management_server_left_on_the_old_version_blocks_and_fails_the_task(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology=cloud(managementserver={"version": "4.18.0.0", "peers": [{"name": "ms2", "version": "4.17.2.0", "state": "Down"}]}),
                  time_factor=0.001)
    result = preflight(sim, run_module, tmp_path)
    assert result["failed"] is True and "the preflight found 1 blocker(s); nothing was changed" in result["msg"]
    assert [item["check"] for item in result["blockers"]] == ["management_server_versions"] and "4.17.2.0 on ms2" in result["msg"]
    assert found(result, "management_server_state")[0]["severity"] == "warning" and "ms2 (Down)" in found(result, "management_server_state")[0]["found"]
    accepted = preflight(sim, run_module, tmp_path, ignore=["management_server_versions"])
    assert not accepted.get("failed") and accepted["passed"] and accepted["counts"]["ignored"] == 1


def test_a_key_that_may_not_list_the_management_servers_gets_a_warning_not_a_failure(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology=cloud(), time_factor=0.001)
    sim.inject(kind="http_error", api="listManagementServers", status=432,
               errortext="The given command 'listManagementServers' either does not exist, is not available for user, or not available from ip address")
    result = preflight(sim, run_module, tmp_path)
    assert not result.get("failed") and result["passed"], result
    [servers] = found(result, "management_server_versions")
    assert servers["severity"] == "warning" and "cannot be listed" in servers["found"] and "on 4.18.0.0 (listCapabilities)" in servers["found"]


def test_hosts_with_an_old_agent_warn_and_a_disconnected_host_with_routers_blocks(acs_sim, run_module, tmp_path):
    topology = cloud()
    topology["zones"][0]["pods"][0]["clusters"][0]["agent_version"] = "4.17.2.0"
    topology["zones"][1]["pods"][0]["clusters"][0]["hosts"] = [{"name": "kvm3", "state": "Disconnected"}]
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [agents] = found(result, "host_agent_version")
    assert agents["severity"] == "warning" and "cluster cluster1: kvm1 (4.17.2.0), kvm2 (4.17.2.0)" in agents["found"]
    [hosts] = found(result, "host_state")
    assert hosts["severity"] == "blocker" and "kvm3 (Disconnected" in hosts["found"] and "r-" in hosts["found"]


def test_settings_a_zone_without_its_minimum_and_a_job_in_flight(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology=cloud(configurations={"router.version.check": "false", "router.health.checks.enabled": "false"}), time_factor=0.001)
    zone2 = next(zone for zone in sim.state()["zones"] if zone["name"] == "zone2")
    client = sim.client("admin")
    client.call("updateConfiguration", name="minreq.sysvmtemplate.version", value="", zoneid=zone2["id"])
    router = next(router for router in sim.state()["routers"] if router["zonename"] == "zone1")
    sim.inject(kind="job_hang", api="rebootRouter", object=router["id"])
    client.call("rebootRouter", id=router["id"])
    result = preflight(sim, run_module, tmp_path, fail_on_blockers=False)
    severities = {item["check"]: item["severity"] for item in result["findings"]}
    assert severities["router_version_check"] == "warning" and severities["health_checks"] == "warning"
    assert severities["minimum_template"] == "blocker" and "zone2" in found(result, "minimum_template")[0]["found"]
    [jobs] = found(result, "jobs_in_flight")
    assert jobs["severity"] == "blocker" and "RebootRouterCmd on %s" % router["name"] in jobs["found"]


def test_a_release_with_the_checksum_regression_names_the_routers_it_affects(acs_sim, run_module, tmp_path):
    result = preflight(acs_sim(topology=cloud(), version="4.19.3.0", time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [regression] = found(result, "known_regression")
    assert regression["severity"] == "warning" and "apache/cloudstack#9900" in regression["found"] and "4 router(s) affected" in regression["found"]


@pytest.mark.parametrize(
    ("network", "check", "severity", "words"),
    [
        ({"name": "pair", "zone": "zone1", "account": "acme", "redundant": True,
          "routers": [{"redundantstate": "PRIMARY"}, {"redundantstate": "PRIMARY"}]}, "redundant_pair_state", "warning", "pair ("),
        ({"name": "idle", "zone": "zone1", "account": "acme", "routers": [{"state": "Stopped"}]}, "router_state", "info", "1 router(s) are Stopped"),
    ],
)
def test_router_states_an_operator_wants_to_see(acs_sim, run_module, tmp_path, network, check, severity, words):
    topology = cloud()
    topology["networks"].append(network)
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    assert [(item["severity"], words in item["found"]) for item in found(result, check)] == [(severity, True)], result["lines"]


def test_an_unknown_check_id_is_refused_before_any_call(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology=cloud(), time_factor=0.001)
    connection = {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret}
    result = run_module(cs_upgrade_preflight, dict(connection, fleet={"version": "4.18.0.0"}, ignore=["jobs_inflight"]))
    assert result["failed"] is True and "unknown preflight check id(s) to ignore: jobs_inflight" in result["msg"]
    assert sim.calls() == []


def test_a_zone_where_the_new_template_is_still_downloading_blocks(acs_sim, run_module, tmp_path):
    topology = cloud()
    topology["zones"][1]["systemvm_template"] = {"state": "Downloading"}
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [blocker] = result["blockers"]
    assert blocker["check"] == "systemvm_template" and blocker["found"].startswith("no Ready system VM template at the zone's minimum version for: zone2/KVM")


def test_the_template_of_each_hypervisor_in_use_is_checked_in_each_zone(acs_sim, run_module, tmp_path):
    """A zone with a VMware cluster needs the release's VMware template Ready there too; KVM's being Ready is not enough."""
    topology = cloud()
    topology["zones"][1]["pods"][0]["clusters"].append({"name": "vcenter1", "hosts": [{"name": "esx1", "hypervisor": "VMware"}]})
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path)
    assert not result.get("failed") and result["passed"], result["lines"]
    topology["zones"][1]["systemvm_template"] = {"hypervisors": {"VMware": "Downloading"}}
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [blocker] = result["blockers"]
    assert blocker["check"] == "systemvm_template"
    assert blocker["found"] == "no Ready system VM template at the zone's minimum version for: zone2/VMware (needs 4.18.0; Ready there: none)"


def test_a_template_registered_per_zone_blocks_and_names_the_repair(acs_sim, run_module, tmp_path):
    topology = cloud()
    for zone in topology["zones"]:
        zone["systemvm_template"] = {"per_zone": True}
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [blocker] = result["blockers"]
    assert blocker["check"] == "systemvm_template_per_zone" and "2 rows in zone1, zone2" in blocker["found"]
    assert "playbooks/crosszone.yml" in blocker["action"]


def test_the_sample_cloud_shows_an_operator_its_disconnected_host(acs_sim, run_module, tmp_path):
    """make demo's cloud: a host that lost its agent, with nothing on it, is a warning; the upgrade goes on."""
    result = preflight(acs_sim(topology="sample-cloud", time_factor=0.001), run_module, tmp_path)
    assert result["passed"] and result["counts"]["warning"] >= 1
    [hosts] = found(result, "host_state")
    assert hosts["severity"] == "warning" and "kvm-z2p2-3 (Disconnected" in hosts["found"] and "can go on" in hosts["action"]


def test_a_host_in_maintenance_warns_and_one_still_preparing_with_a_router_on_it_blocks(acs_sim, run_module, tmp_path):
    topology = cloud()
    topology["zones"][0]["pods"][0]["clusters"][0]["hosts"] = ["kvm1", "kvm2", {"name": "kvm9", "resourcestate": "Maintenance"}]
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path)
    [hosts] = found(result, "host_state")
    assert not result.get("failed") and hosts["severity"] == "warning" and hosts["found"] == "host(s) not Up and Enabled: kvm9 (Up, Maintenance)"
    assert "can go on" in hosts["action"]
    topology["zones"][0]["pods"][0]["clusters"][0]["hosts"][2] = {"name": "kvm9", "resourcestate": "ErrorInPrepareForMaintenance"}
    topology["networks"][0]["routers"][0]["host"] = "kvm9"
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [hosts] = found(result, "host_state")
    assert hosts["severity"] == "blocker" and "kvm9 (Up, ErrorInPrepareForMaintenance); system VMs/routers on them: r-" in hosts["found"]
    assert "move the VMs off them" in hosts["action"]
    # Disabled only: the host still runs its router and takes its commands.
    topology["zones"][0]["pods"][0]["clusters"][0]["hosts"][2] = {"name": "kvm9", "resourcestate": "Disabled"}
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path)
    [hosts] = found(result, "host_state")
    assert not result.get("failed") and hosts["severity"] == "warning" and "kvm9 (Up, Disabled); system VMs/routers on the Disabled ones" in hosts["found"]


def test_a_backlog_of_pending_jobs_warns(acs_sim, run_module, tmp_path):
    """One management server runs 125 jobs at once: 63 pending ones (more than half its pool) delay the upgrade's."""
    topology = cloud()
    topology["networks"] += [{"name": "busy%d" % number, "zone": "zone2", "account": "acme", "routers": [{"host": "kvm3"}]} for number in range(63)]
    sim = acs_sim(topology=topology, time_factor=0.001)
    sim.inject(kind="job_hang", api="rebootRouter")
    client = sim.client("admin")
    for router in sim.state()["routers"]:
        if router["zonename"] == "zone2":
            client.call("rebootRouter", id=router["id"])
    result = preflight(sim, run_module, tmp_path, fail_on_blockers=False)
    [backlog] = found(result, "job_backlog")
    assert backlog["severity"] == "warning" and backlog["found"].startswith("64 async jobs are pending on the management server(s), more than half")
    assert "125 threads: 125 per server Up" in backlog["found"] and "lower the upgrade's parallel" in backlog["action"]


@pytest.mark.parametrize(
    ("change", "check", "severity", "words"),
    [
        ({"networks": [{"name": "gone", "zone": "zone1", "account": "acme", "state": "Shutdown", "routers": [{"state": "Stopped"}]}]},
         "network_state", "warning", "network(s) with routers that are not Implemented or Setup: gone (Shutdown)"),
        ({"networks": [{"name": "booting", "zone": "zone1", "account": "acme", "routers": [{"state": "Starting"}]}]},
         "router_state", "warning", "router(s) in a transitional state: r-"),
        ({"vpcs": [{"name": "shop-vpc", "zone": "zone1", "account": "acme", "tiers": [{"name": "tier1", "state": "Allocated"}]}]},
         "known_regression", "warning", "apache/cloudstack#7958"),
    ],
)
def test_networks_routers_and_vpcs_the_upgrade_cannot_act_on(acs_sim, run_module, tmp_path, change, check, severity, words):
    topology = cloud()
    for key, items in change.items():
        topology.setdefault(key, []).extend(items)
    result = preflight(acs_sim(topology=topology, time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    assert [(item["severity"], words in item["found"]) for item in found(result, check) if item["severity"] == severity] == [(severity, True)], result["lines"]


def test_a_python3_release_names_the_routers_on_python2_templates(acs_sim, run_module, tmp_path):
    """apache/cloudstack#8497 (4.20.0.0): the 4.14/4.15 templates cannot run the Python 3 scripts of a live patch."""
    result = preflight(acs_sim(topology=cloud(), version="4.20.0.0", time_factor=0.001), run_module, tmp_path, fail_on_blockers=False)
    [regression] = found(result, "known_regression")
    assert regression["severity"] == "warning" and "apache/cloudstack#8497" in regression["found"] and "4 router(s) affected" in regression["found"]


def test_health_checks_left_unscheduled_are_a_warning(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology=cloud(configurations={"router.health.checks.basic.interval": "0"}), time_factor=0.001)
    result = preflight(sim, run_module, tmp_path)
    assert not result.get("failed") and result["passed"]
    assert [item["found"].split(":")[0] for item in found(result, "health_checks") if item["severity"] == "warning"] == [
        "router.health.checks.basic.interval is 0"]


def test_a_job_in_flight_on_a_vpc_tier_blocks_naming_the_vpc(acs_sim, run_module, tmp_path):
    topology = cloud()
    topology["vpcs"] = [{"name": "shop-vpc", "zone": "zone1", "account": "acme", "tiers": ["shop-web"]}]
    sim = acs_sim(topology=topology, time_factor=0.001)
    client = sim.client("admin")
    tier = next(network for network in client.call("listNetworks", listall=True)["network"] if network["name"] == "shop-web")
    sim.inject(kind="job_hang", api="restartNetwork", object=tier["id"])
    client.call("restartNetwork", id=tier["id"])
    result = preflight(sim, run_module, tmp_path, fail_on_blockers=False)
    [jobs] = found(result, "jobs_in_flight")
    assert jobs["severity"] == "blocker" and "RestartNetworkCmd on tier shop-web of VPC shop-vpc" in jobs["found"], jobs


def test_a_patch_system_vm_job_in_flight_is_a_warning_although_it_names_no_system_vm(acs_sim, run_module, tmp_path):
    """PatchSystemVMCmd records no job instance (4.18.0.0): the job cannot be matched to its system VM; the run waits for it."""
    sim = acs_sim(topology=cloud(), version="4.19.3.0", time_factor=0.001)
    client = sim.client("admin")
    ssvm = client.call("listSystemVms", systemvmtype="secondarystoragevm")["systemvm"][0]
    sim.inject(kind="job_hang", api="patchSystemVm", object=ssvm["id"])
    client.call("patchSystemVm", id=ssvm["id"])
    result = preflight(sim, run_module, tmp_path, fail_on_blockers=False)
    [jobs] = found(result, "jobs_in_flight")
    assert jobs["severity"] == "warning" and jobs["found"].startswith("1 patchSystemVm job(s) in flight (") and "may be on a system VM" in jobs["found"]
    assert "the run waits for these jobs to end" in jobs["action"] and result["passed"]


def test_a_job_an_interrupted_attempt_left_in_flight_is_followed_not_blocked(acs_sim, run_module, tmp_path):
    """A resumed run adopts the jobs its journal records as submitted (_engine): the preflight names them, it does not stop
    the run; the same job without the journal is a blocker."""
    sim = acs_sim(topology=cloud(), time_factor=0.001)
    client = sim.client("admin")
    network = next(item for item in client.call("listNetworks", listall=True)["network"] if item["name"] == "web")
    sim.inject(kind="job_hang", api="restartNetwork", object=network["id"])
    jobid = client.call("restartNetwork", id=network["id"], livepatch=True)["jobid"]
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"key": "network:%s" % network["id"], "status": "submitted", "jobid": jobid, "ms_version": "4.18.0.0"}) + "\n")
    result = preflight(sim, run_module, tmp_path, journal=str(journal))
    assert not result.get("failed") and result["passed"], result["lines"]
    [jobs] = found(result, "jobs_in_flight")
    assert jobs["severity"] == "info" and "1 job(s) that an interrupted attempt of this run started" in jobs["found"]
    assert "RestartNetworkCmd on web (%s)" % jobid in jobs["found"] and "follows these jobs" in jobs["action"]
    blocked = preflight(sim, run_module, tmp_path, fail_on_blockers=False)
    assert [item["severity"] for item in found(blocked, "jobs_in_flight")] == ["blocker"]
