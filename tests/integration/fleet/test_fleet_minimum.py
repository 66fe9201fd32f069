# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_fleet_info reads each zone's minreq.sysvmtemplate.version once, and each system VM's ROOT volume with one call.

NetworkOrchestrationService.MinVRVersion is zone-scoped (ConfigKey.Scope.Zone, 4.17.0.0-4.20.2.0): ListCfgsByCmd with
zoneid answers the zone's value. QueryManagerImpl.searchForVolumesInternal lists system VM volumes only with
listsystemvms=true for a ROOT admin from 4.18.0.0, never on 4.17.0.0; ListVolumesCmd has no VM-type filter, so a paged
read of every ROOT volume would cost a page per 500 routers and user VMs: one call per SSVM/CPVM (virtualmachineid) instead.
"""

from __future__ import annotations

import json

from ansible_collections.acs.upgrade.plugins.modules import cs_fleet_info


def connection(sim, **args) -> dict:
    return {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, **args}


def test_ten_thousand_routers_cost_one_minimum_read_per_zone_and_one_volume_read_per_system_vm(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology="small", generate="zones=4,routers=10000,redundant=0.2,version=4.19.3.0")
    # As the roles read a large cloud: into a file (dest), not into the module result.
    result = run_module(cs_fleet_info, connection(sim, include_accounts=False, dest=str(tmp_path / "fleet.json")))
    assert result.get("failed") is not True, result.get("msg")
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    # 4.19.3.0 ships template 4.19.1 (pom.xml project.systemvm.template.version at 0c7d47138d).
    assert fleet["min_template"] == {zone["id"]: "4.19.1" for zone in fleet["zones"]} and len(fleet["zones"]) == 4
    settings = sim.calls("listConfigurations")
    assert [call["params"]["zoneid"] for call in settings if "zoneid" in call["params"]] == [zone["id"] for zone in fleet["zones"]]
    # Beside them, the one global setting the server's refusal reads (NetworkHelperImpl.checkRouterVersion).
    assert [call["params"]["name"] for call in settings if "zoneid" not in call["params"]] == ["router.version.check"]
    calls = sim.calls("listVolumes")
    assert sorted(call["params"]["virtualmachineid"] for call in calls) == sorted(vm["id"] for vm in fleet["systemvms"])
    assert len(calls) == 2 * len(fleet["zones"]), "two per zone, whatever the number of routers"
    assert all(call["params"]["listsystemvms"] == "true" and call["params"]["type"] == "ROOT" for call in calls)
    # The SSVMs/CPVMs of the generated fleet were deployed from 4.16.1: their disks say so, while the listed template is the new one.
    assert {(vm["templatename"], vm["disk_template_version"]) for vm in fleet["systemvms"]} == {("systemvm-kvm-4.19.1", "4.16.1")}
    assert fleet["disk_templates_read"] is True


def test_a_zone_override_is_read_for_that_zone_and_an_empty_one_is_named(acs_sim, run_module):
    sim = acs_sim(topology="small", version="4.18.2.0")
    admin = sim.client("admin")
    zones = {zone["name"]: zone["id"] for zone in admin.call("listZones")["zone"]}
    admin.call("updateConfiguration", name="minreq.sysvmtemplate.version", value="4.15.0", zoneid=zones["zone1"])
    admin.call("updateConfiguration", name="minreq.sysvmtemplate.version", value="", zoneid=zones["zone2"])
    fleet = run_module(cs_fleet_info, connection(sim))["fleet"]
    assert fleet["min_template"] == {zones["zone1"]: "4.15.0", zones["zone2"]: ""}
    from ansible_collections.acs.upgrade.plugins.modules import cs_upgrade_plan

    plan = run_module(cs_upgrade_plan, {"fleet": fleet})["plan"]
    zone2 = [item for item in plan["items"] if item["zonename"] == "zone2" and item["kind"] in ("network", "vpc")]
    assert zone2 and all(item["path"] == "skip" for item in zone2)
    assert all("zone zone2's minreq.sysvmtemplate.version is empty" in item["reason"] for item in zone2), [item["reason"] for item in zone2]
    # zone1's routers (4.14.1 and 4.15.1 templates) are judged against its own 4.15.0: the 4.15.1 ones are current there.
    web = next(item for item in plan["items"] if item["name"] == "acme-web")
    assert web["min_template"] == "4.15.0" and web["path"] == "livepatch"


def test_on_417_no_volume_is_read_and_system_vms_are_never_judged_current(acs_sim, run_module):
    sim = acs_sim(topology="small", version="4.17.0.0")
    fleet = run_module(cs_fleet_info, connection(sim))["fleet"]
    assert sim.calls("listVolumes") == [] and fleet["disk_templates_read"] is False
    assert all(vm["disk_template_version"] is None for vm in fleet["systemvms"])
    assert set(fleet["min_template"].values()) == {"4.17.0"}
