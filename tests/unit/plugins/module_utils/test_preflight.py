# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The preflight's checks: each finding names what was found, its severity and what to do."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._preflight import CHECKS, PreflightError, check_ignore_list, run_checks, summary_lines

MS = "4.19.3.0"


def fleet() -> dict:
    return {
        "version": MS,
        "zones": [{"id": "z1", "name": "zone1"}, {"id": "z2", "name": "zone2"}],
        "hosts": [
            {"id": "h1", "name": "kvm1", "zoneid": "z1", "clusterid": "c1", "clustername": "cluster1", "hypervisor": "KVM", "version": MS,
             "state": "Up", "resourcestate": "Enabled"},
            {"id": "h2", "name": "kvm2", "zoneid": "z2", "clusterid": "c2", "clustername": "cluster2", "hypervisor": "KVM", "version": MS,
             "state": "Up", "resourcestate": "Enabled"},
        ],
        "routers": [
            {"id": "r1", "name": "r-1-VM", "zoneid": "z1", "hostid": "h1", "state": "Running", "version": "4.19.1", "isredundantrouter": True,
             "redundantstate": "PRIMARY", "guestnetworkid": "n1"},
            {"id": "r2", "name": "r-2-VM", "zoneid": "z1", "hostid": "h1", "state": "Running", "version": "4.19.1", "isredundantrouter": True,
             "redundantstate": "BACKUP", "guestnetworkid": "n1"},
        ],
        "systemvms": [{"id": "s1", "name": "s-1-VM", "zoneid": "z1", "hostid": "h1"}],
        "networks": [{"id": "n1", "name": "net1", "state": "Implemented"}],
        "units": [{"id": "n1", "name": "net1", "kind": "network"}],
    }


def cloud() -> dict:
    template = {"id": "t1", "name": "systemvm-kvm-4.19.1-x86_64", "templatetype": "SYSTEM", "hypervisor": "KVM", "isready": True, "crossZones": True}
    return {
        "managementservers": [{"name": "ms1", "state": "Up", "version": MS}, {"name": "ms2", "state": "Up", "version": MS}],
        "settings": {"router.version.check": "true", "router.health.checks.enabled": "true"},
        "min_template": {"z1": "4.19.1.0", "z2": "4.19.1.0"},
        "templates": [dict(template, zoneid="z1", zonename="zone1"), dict(template, zoneid="z2", zonename="zone2")],
        "jobs": [],
        "read_at": "2026-12-07T18:00:00+00:00",
    }


def checks(result: dict, severity: str | None = None) -> list[str]:
    return [item["check"] for item in result["findings"] if severity in (None, item["severity"])]


def test_a_healthy_cloud_passes_with_information_only():
    result = run_checks(fleet(), cloud())
    assert result["passed"] and result["counts"]["blocker"] == 0 and result["counts"]["warning"] == 0
    # 4.19.3.0 has the checksum regression, but no router is on a template below its zone's minimum.
    assert sorted(checks(result, "info")) == ["health_checks", "known_regression", "router_version_check"]


def test_management_servers_on_two_versions_block_the_run_and_name_them():
    data = cloud()
    data["managementservers"][1].update(version="4.19.2.0")
    result = run_checks(fleet(), data)
    assert not result["passed"] and checks(result, "blocker") == ["management_server_versions"]
    assert "4.19.2.0 on ms2" in result["blockers"][0]["found"] and "upgrade every management server" in result["blockers"][0]["action"]


def test_management_servers_that_report_no_version_are_a_warning_that_names_the_answering_one():
    """A server without a version is not known to differ: it is named, with the version listCapabilities gave, not blocked."""
    data = cloud()
    data["managementservers"][1].pop("version")
    result = run_checks(fleet(), data)
    assert result["passed"] and checks(result, "warning") == ["management_server_versions"]
    [finding] = [item for item in result["findings"] if item["check"] == "management_server_versions"]
    assert "ms2 report no version in listManagementServers: the one that answered the API runs 4.19.3.0" in finding["found"]
    assert finding["objects"] == ["ms2"] and "check by hand that they run 4.19.3.0" in finding["action"]


def test_management_servers_that_cannot_be_listed_are_a_warning():
    data = dict(cloud(), managementservers=[], managementservers_error="listManagementServers: HTTP 432, errorcode 432: not available")
    result = run_checks(fleet(), data)
    assert result["passed"] and checks(result, "warning") == ["management_server_versions"]
    assert "cannot be listed (listManagementServers: HTTP 432" in result["findings"][0]["found"] and "on 4.19.3.0" in result["findings"][0]["found"]


def test_an_old_agent_is_a_warning_naming_its_cluster_hosts_and_the_vms_on_them():
    data = fleet()
    data["hosts"][0]["version"] = "4.18.0.0"
    result = run_checks(data, cloud())
    [finding] = [item for item in result["findings"] if item["check"] == "host_agent_version"]
    assert finding["severity"] == "warning" and "cluster cluster1: kvm1 (4.18.0.0)" in finding["found"]
    assert "3 system VM(s)/router(s)" in finding["found"] and "upgrade the agents" in finding["action"]


def test_old_agents_of_a_9900_release_are_named_with_12211():
    """Agents of a #9900 release under a newer server (apache/cloudstack#12211: 4.20.2.0 over 4.20.1.0; here 4.19.3.0 over
    4.19.2.0): the agents' patch script records the old checksum, so the finding names both issues."""
    data = fleet()
    data["hosts"][0]["version"] = "4.19.2.0"
    result = run_checks(data, cloud())
    [finding] = [item for item in result["findings"] if item["check"] == "host_agent_version"]
    assert "agent 4.19.2.0: its agent has apache/cloudstack#9900" in finding["found"] and "apache/cloudstack#12211" in finding["found"]
    data = fleet()
    data["hosts"][0]["version"] = "4.18.0.0"
    [finding] = [item for item in run_checks(data, cloud())["findings"] if item["check"] == "host_agent_version"]
    assert "#12211" not in finding["found"]


def test_a_disconnected_host_with_routers_blocks_and_one_without_warns():
    data = fleet()
    data["hosts"][0]["state"] = "Disconnected"
    assert "host_state" in checks(run_checks(data, cloud()), "blocker")
    data = fleet()
    data["hosts"][1]["resourcestate"] = "Maintenance"
    result = run_checks(data, cloud())
    assert "host_state" in checks(result, "warning") and "kvm2 (Up, Maintenance)" in result["findings"][0]["found"]


def test_a_disabled_host_still_runs_its_vms_so_it_warns_while_one_in_maintenance_with_vms_blocks():
    data = fleet()
    data["hosts"][0]["resourcestate"] = "Disabled"
    result = run_checks(data, cloud())
    assert result["passed"] and checks(result, "warning") == ["host_state"]
    assert "kvm1 (Up, Disabled); system VMs/routers on the Disabled ones, which still run them: r-1-VM, r-2-VM, s-1-VM" in result["findings"][0]["found"]
    data["hosts"][1]["state"] = "Alert"
    data["hosts"].append(dict(data["hosts"][1], id="h3", name="kvm3", state="Up", resourcestate="PrepareForMaintenance"))
    data["routers"][1]["hostid"] = "h3"
    result = run_checks(data, cloud())
    [blocker] = result["blockers"]
    assert blocker["found"] == "host(s) not Up and Enabled: kvm3 (Up, PrepareForMaintenance); system VMs/routers on them: r-2-VM"
    [warning] = [item for item in result["findings"] if item["check"] == "host_state" and item["severity"] == "warning"]
    assert warning["objects"] == ["kvm1", "kvm2"]


def test_a_zone_without_the_template_at_its_minimum_blocks():
    data = cloud()
    data["templates"] = [data["templates"][0], dict(data["templates"][1], name="systemvm-kvm-4.18.1-x86_64")]
    result = run_checks(fleet(), data)
    [blocker] = result["blockers"]
    assert blocker["check"] == "systemvm_template" and "zone2/KVM (needs 4.19.1.0; Ready there: systemvm-kvm-4.18.1-x86_64)" in blocker["found"]
    # Not Ready (still downloading) counts as missing too.
    data = cloud()
    data["templates"][0]["isready"] = False
    assert checks(run_checks(fleet(), data), "blocker") == ["systemvm_template"]


def test_a_zone_without_its_minimum_setting_blocks():
    data = cloud()
    data["min_template"]["z2"] = ""
    result = run_checks(fleet(), data)
    assert checks(result, "blocker") == ["minimum_template"] and "zone2" in result["blockers"][0]["found"]


def test_a_template_registered_per_zone_blocks_and_names_the_crosszone_playbook():
    data = cloud()
    data["templates"] = [
        dict(data["templates"][0], id="t1", crossZones=False),
        dict(data["templates"][1], id="t2", crossZones=False),
    ]
    result = run_checks(fleet(), data)
    assert checks(result, "blocker") == ["systemvm_template_per_zone"]
    assert "playbooks/crosszone.yml" in result["blockers"][0]["action"] and "2 rows in zone1, zone2" in result["blockers"][0]["found"]


def test_a_per_zone_row_left_beside_a_cross_zone_one_of_the_same_name_blocks():
    """cs_template_crosszone groups the rows by name and hypervisor: one made cross-zone does not repair the other."""
    data = cloud()
    data["templates"].append(dict(data["templates"][1], id="t2", crossZones=False))
    result = run_checks(fleet(), data)
    assert checks(result, "blocker") == ["systemvm_template_per_zone"]
    assert "systemvm-kvm-4.19.1-x86_64 (KVM): 2 rows in zone1, zone2" in result["blockers"][0]["found"]


def test_settings_that_change_the_gates_are_warnings():
    data = cloud()
    data["settings"] = {"router.version.check": "false", "router.health.checks.enabled": "false"}
    result = run_checks(fleet(), data)
    assert sorted(checks(result, "warning")) == ["health_checks", "router_version_check"]
    assert result["passed"]


def test_a_health_check_interval_of_zero_is_a_warning_that_names_it():
    data = cloud()
    data["settings"].update({"router.health.checks.basic.interval": "3", "router.health.checks.advanced.interval": "0"})
    result = run_checks(fleet(), data)
    [warning] = [item for item in result["findings"] if item["check"] == "health_checks" and item["severity"] == "warning"]
    assert warning["found"].startswith("router.health.checks.advanced.interval is 0: CloudStack schedules no advanced health check")
    assert "updateConfiguration name=router.health.checks.advanced.interval" in warning["action"] and result["passed"]
    data["settings"]["router.health.checks.advanced.interval"] = "10"
    assert "health_checks" not in checks(run_checks(fleet(), data), "warning")


def test_a_job_in_flight_on_a_target_blocks_and_a_backlog_warns():
    data = cloud()
    data["jobs"] = [{"jobid": "j1", "cmd": "org.apache.cloudstack.api.command.admin.router.RebootRouterCmd", "jobinstanceid": "r2", "jobstatus": 0,
                     "created": "2026-12-07T17:59:00+0000"}]
    data["jobs"] += [{"jobid": "x%d" % number, "cmd": "DeployVMCmd", "jobinstanceid": "vm%d" % number, "jobstatus": 0} for number in range(130)]
    result = run_checks(fleet(), data)
    assert checks(result, "blocker") == ["jobs_in_flight"] and "RebootRouterCmd on r-2-VM (j1" in result["blockers"][0]["found"]
    assert "job_backlog" in checks(result, "warning")


def test_a_job_in_flight_on_a_vpc_tier_blocks_naming_its_vpc():
    """restartNetwork on a tier restarts the VPC's routers; its job's instance is the tier network."""
    data = fleet()
    data["units"].append({"id": "v1", "name": "shop", "kind": "vpc", "tiers": ["t1"]})
    data["networks"].append({"id": "t1", "name": "shop-web", "state": "Implemented"})
    read = cloud()
    read["jobs"] = [{"jobid": "j9", "cmd": "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd", "jobinstanceid": "t1", "jobstatus": 0}]
    result = run_checks(data, read)
    assert checks(result, "blocker") == ["jobs_in_flight"] and "RestartNetworkCmd on tier shop-web of VPC shop (j9" in result["blockers"][0]["found"]


def test_the_job_pools_of_servers_that_are_down_do_not_count():
    data = cloud()
    data["jobs"] = [{"jobid": "x%d" % number, "cmd": "DeployVMCmd", "jobinstanceid": "vm%d" % number, "jobstatus": 0} for number in range(70)]
    assert "job_backlog" not in checks(run_checks(fleet(), data))
    data["managementservers"][1]["state"] = "Down"
    [backlog] = [item for item in run_checks(fleet(), data)["findings"] if item["check"] == "job_backlog"]
    assert backlog["found"].startswith("70 async jobs are pending") and "(125 threads: 125 per server Up)" in backlog["found"]


def test_the_checksum_regression_names_the_routers_below_the_minimum():
    result = run_checks(fleet(), dict(cloud(), min_template={"z1": "4.19.2.0", "z2": "4.19.2.0"}))
    [finding] = [item for item in result["findings"] if item["check"] == "known_regression"]
    assert "apache/cloudstack#9900" in finding["found"] and "2 router(s)" in finding["found"] and "a recreate" in finding["action"]
    on_fixed = fleet()
    on_fixed["version"] = "4.20.2.0"
    assert "known_regression" not in checks(run_checks(on_fixed, cloud()))


def test_router_states_and_pairs():
    data = fleet()
    data["routers"][1]["redundantstate"] = "PRIMARY"
    data["routers"].append({"id": "r3", "name": "r-3-VM", "zoneid": "z1", "state": "Starting", "guestnetworkid": "n1"})
    data["networks"][0]["state"] = "Allocated"
    result = run_checks(data, cloud())
    assert {"redundant_pair_state", "router_state", "network_state"} <= set(checks(result, "warning"))


def test_an_ignored_blocker_no_longer_stops_the_run_and_is_recorded():
    data = cloud()
    data["managementservers"][1].update(version="4.19.2.0")
    result = run_checks(fleet(), data, ignore=["management_server_versions"])
    assert result["passed"] and result["counts"]["ignored"] == 1 and result["ignored_checks"] == ["management_server_versions"]
    assert [item["ignored"] for item in result["findings"] if item["check"] == "management_server_versions"] == [True]
    assert "[blocker, ignored] management_server_versions" in "\n".join(summary_lines(result))


def test_an_unknown_check_id_is_an_error_that_lists_the_checks():
    with pytest.raises(PreflightError, match="unknown preflight check id.*health_check.*the checks are"):
        check_ignore_list(["health_check"])
    assert check_ignore_list([" health_checks ", ""]) == ["health_checks"]


def test_every_check_can_fire():
    """Each check id is reachable by some input: no check is documented that never says anything."""
    seen = set()
    for mutate in (
        lambda f, c: c["managementservers"][1].update(version="4.19.2.0", state="Down"),
        lambda f, c: f["hosts"][0].update(version="4.18.0.0", state="Alert"),
        lambda f, c: c["min_template"].update(z2=""),
        lambda f, c: c["templates"].__setitem__(0, dict(c["templates"][0], isready=False)),
        lambda f, c: c["templates"].extend([dict(c["templates"][0], id="d1", crossZones=False), dict(c["templates"][1], id="d2", crossZones=False)]),
        lambda f, c: c["jobs"].extend([{"jobid": "j", "jobinstanceid": "r1", "jobstatus": 0}] * 130),
        lambda f, c: c["min_template"].update(z1="4.19.2.0"),
        lambda f, c: f["routers"][1].update(redundantstate="FAULT"),
        lambda f, c: f["routers"].append({"id": "r9", "name": "r-9-VM", "state": "Stopping", "guestnetworkid": "n9"}),
        lambda f, c: f["networks"][0].update(state="Shutdown"),
    ):
        data, read = copy.deepcopy(fleet()), copy.deepcopy(cloud())
        mutate(data, read)
        seen.update(checks(run_checks(data, read)))
    assert seen == set(CHECKS)


def test_a_vpc_without_an_implemented_tier_before_4_18_2_is_named():
    """restartVPC before 4.18.2.0 patches once per Implemented tier (apache/cloudstack#7958): such a VPC is patched by nothing."""
    data = fleet()
    data["version"] = "4.18.0.0"
    data["units"].append({"id": "v1", "name": "shop", "kind": "vpc", "tiers": ["t1", "t2"]})
    data["networks"] += [{"id": "t1", "name": "shop-web", "state": "Allocated"}, {"id": "t2", "name": "shop-db", "state": "Shutdown"}]
    read = dict(cloud(), min_template={"z1": "4.18.0.0", "z2": "4.18.0.0"})
    read["templates"] = [dict(template, name="systemvm-kvm-4.18.0") for template in read["templates"]]
    [finding] = [item for item in run_checks(data, read)["findings"] if item["check"] == "known_regression"]
    assert finding["severity"] == "warning" and "apache/cloudstack#7958" in finding["found"] and "(shop)" in finding["found"]
    data["version"] = "4.18.2.0"
    assert not [item for item in run_checks(data, read)["findings"] if item["check"] == "known_regression"]
