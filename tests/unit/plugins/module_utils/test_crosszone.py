# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The decisions of cs_template_crosszone on in-memory snapshots: grouping, canonical rule, plan, steps, backup."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils import _crosszone as cz
from ansible_collections.acs.upgrade.plugins.module_utils._crosszone import Cloud, Store, StoreRef, SystemVm, Template

NAME = "systemvm-xenserver-4.5"


def seed_cloud(**overrides) -> Cloud:
    """The article's cloud: 634/635/636 Active per zone, one store per zone, zone 3 runs its system VMs on 636."""
    values = {
        "templates": tuple(Template(tid, NAME, "XenServer", "Active", 0) for tid in (634, 635, 636)),
        "zones": {1: "zone-1", 2: "zone-2", 3: "zone-3"},
        "stores": (Store(1, "sec-1", 1), Store(2, "sec-2", 2), Store(3, "sec-3", 3)),
        "store_refs": (StoreRef(634, 1, "DOWNLOADED"), StoreRef(635, 2, "DOWNLOADED"), StoreRef(636, 3, "DOWNLOADED")),
        "zone_refs": ((634, 1), (635, 2), (636, 3)),
        "system_vms": (SystemVm(7, "s-7-VM", cz.SSVM, "Running", 3, 636), SystemVm(8, "v-8-VM", cz.CPVM, "Running", 3, 636)),
    }
    values.update(overrides)
    return Cloud(**values)


def only_group(cloud: Cloud) -> cz.Group:
    (group,) = cz.group_templates(cloud)
    return group


def states(cloud: Cloud) -> dict[int, tuple[str, int]]:
    return {t.id: (t.state, t.cross_zones) for t in cloud.templates}


def test_detection_reports_the_region_wide_row_and_the_zones_that_cannot_recreate():
    cloud = seed_cloud()
    report = cz.report_as_dict(cloud, cz.analyse(cloud, only_group(cloud)), "cloud", None)
    assert report["taken_template_id"] == 636
    assert report["zones_unable_to_recreate"] == [1, 2]
    assert report["canonical_template_id"] == 634
    assert report["canonical_rule"] == cz.CANONICAL_RULE
    assert [(t["id"], t["zones"]) for t in report["templates"]] == [(634, [1]), (635, [2]), (636, [3])]
    assert report["status"] == "step_pending"


def test_plan_is_the_seed_procedure_with_its_sql():
    cloud = seed_cloud()
    plan = cz.full_plan(cloud, only_group(cloud), 634)
    assert [s.name for s in plan] == ["activate_zone_2", "activate_canonical"]
    first, last = (s.as_dict("cloud") for s in plan)
    assert first["sql"] == [
        "UPDATE `cloud`.`vm_template` SET state='Inactive', cross_zones=1 WHERE id=634 AND state<=>'Active' AND cross_zones=0;",
        "UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=636 AND state<=>'Active' AND cross_zones=0;",
    ]
    assert [(w["kind"], w["zone_id"], w["template_id"]) for w in first["wait_after"]] == [("system_vms_running", 2, 635)]
    assert last["sql"] == [
        "UPDATE `cloud`.`vm_template` SET state='Active' WHERE id=634 AND state<=>'Inactive' AND cross_zones=1;",
        "UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=635 AND state<=>'Active' AND cross_zones=0;",
    ]
    assert [(w["kind"], w["zone_id"]) for w in last["wait_after"]] == [("system_vms_running", 1), ("template_download", 2), ("template_download", 3)]


def test_stepping_through_the_seed_ends_in_the_seed_final_state():
    cloud = seed_cloud()
    group = only_group(cloud)
    action = cz.next_action(cloud, group, 634)
    cloud = cz.cloud_with_changes(cloud, action.step.changes)
    assert states(cloud) == {634: ("Inactive", 1), 635: ("Active", 0), 636: ("Inactive", 0)}

    waiting = cz.next_action(cloud, group, 634)
    assert waiting.step is None and not waiting.done
    assert [(w.kind, w.zone_id) for w in waiting.waits] == [("system_vms_running", 2)]

    cloud = cz.cloud_after_waits(cloud, waiting.waits)
    action = cz.next_action(cloud, group, 634)
    assert action.step.name == "activate_canonical"
    cloud = cz.cloud_with_changes(cloud, action.step.changes)
    assert states(cloud) == {634: ("Active", 1), 635: ("Inactive", 0), 636: ("Inactive", 0)}

    waiting = cz.next_action(cloud, group, 634)
    assert {(w.kind, w.zone_id) for w in waiting.waits} == {("system_vms_running", 1), ("template_download", 2), ("template_download", 3)}
    cloud = cz.cloud_after_waits(cloud, waiting.waits)
    assert cz.next_action(cloud, group, 634).done
    assert cloud.downloaded_stores(634) == {1, 2, 3}


def test_a_chosen_canonical_row_changes_the_order_of_the_zones():
    cloud = seed_cloud()
    plan = cz.full_plan(cloud, only_group(cloud), 636)
    assert [s.name for s in plan] == ["activate_zone_1", "activate_zone_2", "activate_canonical"]
    assert plan[0].changes[0] == cz.Change(635, {"state": "Active", "cross_zones": 0}, {"state": "Inactive", "cross_zones": 0})


def test_the_default_canonical_is_the_lowest_downloaded_id():
    cloud = seed_cloud(store_refs=(StoreRef(634, 1, "DOWNLOAD_IN_PROGRESS"), StoreRef(635, 2, "DOWNLOADED"), StoreRef(636, 3, "DOWNLOADED")))
    assert cz.choose_canonical(cloud, only_group(cloud)) == 635


@pytest.mark.parametrize(
    ("requested", "message"),
    [(999, "is not one of the XenServer templates"), (634, "is downloaded in no image store")],
)
def test_a_canonical_row_that_cannot_serve_is_refused(requested, message):
    cloud = seed_cloud(store_refs=(StoreRef(635, 2, "DOWNLOADED"), StoreRef(636, 3, "DOWNLOADED")))
    with pytest.raises(cz.CrossZoneError, match=message):
        cz.choose_canonical(cloud, only_group(cloud), requested)


def test_a_group_downloaded_nowhere_is_blocked_and_named():
    cloud = seed_cloud(store_refs=())
    report = cz.analyse(cloud, only_group(cloud))
    assert report.status == "blocked"
    assert "634, 635, 636" in report.action.blocked


def test_a_group_without_active_row_is_an_old_version_left_alone():
    cloud = seed_cloud(templates=tuple(Template(tid, NAME, "XenServer", "Inactive", 0) for tid in (634, 635, 636)))
    report = cz.analyse(cloud, only_group(cloud))
    assert report.status == "healthy"
    assert report.plan == []


def test_active_rows_under_two_names_block_the_hypervisor():
    cloud = seed_cloud()
    cloud = seed_cloud(templates=cloud.templates + (Template(800, "systemvm-xenserver-4.6", "XenServer", "Active", 1),))
    group = next(g for g in cz.group_templates(cloud) if g.name == NAME)
    report = cz.analyse(cloud, group)
    assert report.status == "blocked"
    assert "800" in report.action.blocked


def test_a_zone_with_nothing_downloaded_and_no_ssvm_is_reported():
    cloud = seed_cloud(zones={1: "zone-1", 2: "zone-2", 3: "zone-3", 4: "zone-4"}, zone_refs=((634, 1), (635, 2), (636, 3), (636, 4)))
    report = cz.analyse(cloud, only_group(cloud))
    assert any("zone 4 (zone-4)" in p for p in report.problems)


def test_several_stores_per_zone_all_receive_the_canonical_row():
    stores = seed_cloud().stores + (Store(4, "sec-1b", 1),)
    cloud = seed_cloud(stores=stores)
    group = only_group(cloud)
    final = cz.full_plan(cloud, group, 634)[-1]
    downloads = {w.zone_id: w.store_ids for w in final.wait_after if w.kind == "template_download"}
    assert downloads == {1: (4,), 2: (2,), 3: (3,)}


def test_single_rows_are_healthy():
    cloud = seed_cloud(templates=(Template(634, NAME, "XenServer", "Active", 1),))
    assert cz.analyse(cloud, only_group(cloud)).status == "healthy"


def test_no_change_may_leave_a_hypervisor_without_an_active_template():
    cloud = seed_cloud()
    changes = tuple(cz.Change(t.id, {"state": "Active", "cross_zones": 0}, {"state": "Inactive", "cross_zones": 0}) for t in cloud.templates)
    with pytest.raises(cz.CrossZoneError, match="XenServer would have no Active SYSTEM template"):
        cz.check_step_safe(cloud, changes)
    for step in cz.full_plan(cloud, only_group(cloud), 634):
        cz.check_step_safe(cloud, step.changes)
        cloud = cz.cloud_after_waits(cz.cloud_with_changes(cloud, step.changes), step.wait_after)


def test_rendered_sql_quotes_values_and_the_database_name():
    change = cz.Change(7, {"state": "It's", "cross_zones": 0}, {"state": "Active", "cross_zones": 1})
    sql, params = cz.update_statement(change, "cl`oud")
    assert params == ["Active", 1, 7, "It's", 0]
    assert cz.render_sql(sql, params) == "UPDATE `cl``oud`.`vm_template` SET state='Active', cross_zones=1 WHERE id=7 AND state<=>'It''s' AND cross_zones=0;"


def test_backup_file_is_appended_atomically_and_private(tmp_path):
    path = str(tmp_path / "backup.json")
    cz.append_backup(path, "cloud", "activate_zone_2", [{"id": 634, "state": "Active", "cross_zones": 0, "created": None}])
    rows = [{"id": 634, "state": "Inactive", "cross_zones": 1}, {"id": 635, "state": "Active", "cross_zones": 0}]
    cz.append_backup(path, "cloud", "activate_canonical", rows)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = cz.read_backup(path, "cloud")
    assert [e["action"] for e in doc["entries"]] == ["activate_zone_2", "activate_canonical"]
    # the oldest value of each row wins: restoring undoes every step
    assert cz.restore_targets(doc, path) == {634: {"state": "Active", "cross_zones": 0}, 635: {"state": "Active", "cross_zones": 0}}
    assert [p.name for p in tmp_path.iterdir()] == ["backup.json"]


def test_backup_of_another_database_or_format_is_refused(tmp_path):
    path = tmp_path / "backup.json"
    cz.append_backup(str(path), "cloud", "x", [{"id": 1, "state": "Active", "cross_zones": 0}])
    with pytest.raises(cz.CrossZoneError, match="holds rows of database 'cloud', not 'other'"):
        cz.append_backup(str(path), "other", "x", [])
    path.write_text(json.dumps({"some": "thing"}))
    with pytest.raises(cz.CrossZoneError, match="is not a backup written by"):
        cz.read_backup(str(path), "cloud")
    with pytest.raises(cz.CrossZoneError, match="does not exist"):
        cz.read_backup(str(tmp_path / "missing.json"), "cloud")
    with pytest.raises(
        cz.CrossZoneError, match=r"directory .*/absent does not exist; create it \(mode 0700\) or choose another backup_file; nothing was changed"
    ):
        cz.append_backup(str(tmp_path / "absent" / "b.json"), "cloud", "x", [])


def test_restore_refuses_rows_that_are_gone_and_odd_states():
    active = {"state": "Active", "cross_zones": 0}
    with pytest.raises(cz.CrossZoneError, match=r"row\(s\) 635 of the backup no longer exist"):
        cz.restore_changes({634: active}, {634: active, 635: active})
    doc = {"format": cz.BACKUP_FORMAT, "database": "cloud", "entries": [{"rows": [{"id": 1, "state": "Active'; DROP TABLE x", "cross_zones": 0}]}]}
    with pytest.raises(cz.CrossZoneError, match="unexpected state"):
        cz.restore_targets(doc, "b.json")


KVM = "systemvm-kvm-4.5"


def mixed_cloud(**overrides) -> Cloud:
    """Zones 1 and 2 hold XenServer and KVM rows; zone 1 runs its system VMs on XenServer (lost), zone 2 on KVM from 802
    (the mixed_hypervisors data set), zone 3 on XenServer from 636; zone 2 has two image stores."""
    seed = seed_cloud()
    values = {
        "templates": seed.templates + (Template(801, KVM, "KVM", "Active", 0), Template(802, KVM, "KVM", "Active", 0)),
        "stores": seed.stores + (Store(5, "sec-2b", 2),),
        "store_refs": seed.store_refs + (StoreRef(801, 1, "DOWNLOADED"), StoreRef(802, 5, "DOWNLOADED")),
        "zone_refs": seed.zone_refs + ((801, 1), (802, 2)),
        "system_vms": seed.system_vms
        + (SystemVm(60, "s-60-VM", cz.SSVM, "Running", 2, 802, "KVM"), SystemVm(61, "v-61-VM", cz.CPVM, "Running", 2, 802, "KVM")),
        "system_vm_hypervisors": {1: "XenServer", 2: "KVM", 3: "XenServer"},
    }
    values.update(overrides)
    return seed_cloud(**values)


def group_of(cloud: Cloud, hypervisor: str) -> cz.Group:
    return next(g for g in cz.group_templates(cloud) if g.hypervisor == hypervisor)


def test_each_zone_waits_only_for_the_templates_of_the_hypervisor_its_system_vms_run_on():
    # The defect: zone 2's SSVM/CPVM run on KVM; making 635 (zone 2's XenServer copy) Active waited forever for XenServer
    # system VMs there, and took away from zone 3 the template it recreates from.
    cloud = mixed_cloud()
    assert [cloud.zone_hypervisor(z) for z in (1, 2, 3)] == ["XenServer", "KVM", "XenServer"]
    xen = group_of(cloud, "XenServer")
    plan = cz.full_plan(cloud, xen, cz.choose_canonical(cloud, xen))
    assert [s.name for s in plan] == ["activate_canonical"]
    waits = [(w.kind, w.zone_id, w.store_ids, w.restart_ssvm) for w in plan[0].wait_after]
    # zone 2 is recovered for XenServer once both its stores hold 634; its KVM system VMs are not waited for
    assert waits == [("system_vms_running", 1, (), False), ("template_download", 2, (2, 5), True), ("template_download", 3, (3,), True)]
    assert cz.zones_unable_to_recreate(cloud, xen) == [1]


def test_the_canonical_row_is_one_a_zone_running_that_hypervisor_already_holds():
    cloud = mixed_cloud()
    kvm = group_of(cloud, "KVM")
    # 801 is lower but only in zone 1, whose system VMs run on XenServer; 802 serves zone 2 all along
    assert cz.choose_canonical(cloud, kvm) == 802
    (step,) = cz.full_plan(cloud, kvm, 802)
    assert [(c.template_id, c.after) for c in step.changes] == [(801, {"state": "Inactive", "cross_zones": 0}), (802, {"state": "Active", "cross_zones": 1})]
    # zone 1's SSVM is not running: it downloads the KVM template when it starts, nothing to restart
    assert [(w.zone_id, w.store_ids, w.restart_ssvm) for w in step.wait_after] == [(1, (1,), False), (2, (2,), True)]
    report = cz.report_as_dict(cloud, cz.analyse(cloud, kvm), "cloud", None)
    assert [(z["id"], z["system_vm_hypervisor"], z["uses_these_templates"], z["can_recreate"]) for z in report["zones"]] == [
        (1, "XenServer", False, False),
        (2, "KVM", True, True),
    ]
    assert report["zones_unable_to_recreate"] == []


def test_a_download_in_a_zone_whose_ssvm_cannot_start_is_named_as_blocked_by_the_other_hypervisor():
    # KVM repaired first: zone 1 runs its system VMs on XenServer, lost, and XenServer's Active template (636) is not in
    # zone 1; its SSVM cannot start to download 802 until the XenServer templates are repaired. Waiting cannot end it.
    cloud = mixed_cloud()
    kvm = group_of(cloud, "KVM")
    (step,) = cz.full_plan(cloud, kvm, 802)
    blocked = {w.zone_id: w.blocked_by for w in step.wait_after}
    assert blocked[2] is None
    assert blocked[1] == (
        "its system VMs run on XenServer and XenServer's Active template 636 is in none of its image stores; repair the XenServer templates first "
        "(hypervisor XenServer, or no hypervisor option)"
    )
    after = cz.cloud_after_waits(cz.cloud_with_changes(cloud, step.changes), [w for w in step.wait_after if w.zone_id == 2])
    action = cz.next_action(after, kvm, 802)
    assert [(w.zone_id, w.as_dict()["blocked_by"] is not None) for w in action.waits] == [(1, True)]
    assert "it cannot start yet: its system VMs run on XenServer" in action.waits[0].message
    # once the XenServer step made 634 (in zone 1) the Active row, zone 1 can recreate: the same wait ends by waiting
    xen_done = cz.cloud_with_changes(after, cz._changes_to(after, group_of(after, "XenServer"), 634, 634))
    assert [w.blocked_by for w in cz.next_action(xen_done, kvm, 802).waits] == [None]
    # a zone of the group's own hypervisor that holds none of its rows and runs no SSVM: check it by hand
    lost = seed_cloud(system_vms=(), store_refs=(StoreRef(634, 1, "DOWNLOADED"), StoreRef(635, 2, "DOWNLOADED")), zone_refs=((634, 1), (635, 2), (636, 3)))
    (waits,) = [s.wait_after for s in cz.full_plan(lost, only_group(lost), 634) if s.name == "activate_canonical"]
    assert [(w.zone_id, w.blocked_by) for w in waits if w.blocked_by] == [
        (3, "XenServer's Active template 634 is in none of its image stores; check the zone by hand")
    ]


def test_a_running_ssvm_is_restarted_for_a_download_even_when_the_zones_cpvm_is_stopped():
    # Zone 2 runs on KVM; its CPVM is Stopped but its SSVM runs. The SSVM downloads the XenServer template only once its
    # cloud service restarts: waiting for it to "start" would never end.
    vms = mixed_cloud().system_vms[:2] + (
        SystemVm(60, "s-60-VM", cz.SSVM, "Running", 2, 802, "KVM"),
        SystemVm(61, "v-61-VM", cz.CPVM, "Stopped", 2, 802, "KVM"),
    )
    cloud = mixed_cloud(system_vms=vms)
    xen = group_of(cloud, "XenServer")
    (step,) = cz.full_plan(cloud, xen, 634)
    (zone_2,) = [w for w in step.wait_after if w.zone_id == 2]
    assert (zone_2.kind, zone_2.restart_ssvm, zone_2.blocked_by) == ("template_download", True, None)
    assert "restart (do not destroy) the cloud service on the SSVM of that zone" in zone_2.message


def test_the_hypervisor_of_a_zone_without_system_vm_rows_comes_from_its_templates_or_is_reported_unknown():
    cloud = mixed_cloud(system_vm_hypervisors={2: "KVM", 3: "XenServer"})
    # zone 1 holds XenServer and KVM rows and has no SSVM/CPVM row at all: which one CloudStack picks is unknown
    assert cloud.zone_hypervisor(1) is None
    report = cz.analyse(cloud, group_of(cloud, "XenServer"))
    assert any(p.startswith("zone 1 (zone-1) has no SSVM or CPVM row in vm_instance") and "KVM, XenServer" in p for p in report.problems)
    assert seed_cloud().zone_hypervisor(1) == "XenServer"


def test_a_step_that_would_strand_a_zone_is_refused_with_the_reason():
    # zone 3's SSVM/CPVM are Stopped and CloudStack can recreate them from 636 (the row it takes); with 636 canonical the
    # first step would make 634 the only Active row, in none of zone 3's stores
    stopped = (SystemVm(7, "s-7-VM", cz.SSVM, "Stopped", 3, 636), SystemVm(8, "v-8-VM", cz.CPVM, "Stopped", 3, 636))
    cloud = seed_cloud(system_vms=stopped)
    report = cz.analyse(cloud, only_group(cloud), 636)
    assert report.status == "blocked" and report.plan == []
    assert report.action.blocked == (
        "refusing step activate_zone_1 of the XenServer templates 'systemvm-xenserver-4.5': zone 3 (zone-3) runs its SSVM and CPVM on XenServer "
        "and they are not Running (SSVM Stopped, CPVM Stopped); it can recreate them now from template 636, but afterwards XenServer's Active "
        "template would be 634, which is in none of its image stores (3); wait until those system VMs run (or choose another "
        "canonical_template_id), then run again"
    )
    changes = cz._changes_to(cloud, only_group(cloud), 634, 636)
    with pytest.raises(cz.CrossZoneError, match=r"refusing to change templates 635, 636: zone 3 \(zone-3\) runs its SSVM"):
        cz.check_step_safe(cloud, changes)
    # by default the zone that can recreate now goes first, with the row it recreates from: nobody is stranded
    plan = cz.full_plan(cloud, only_group(cloud), 634)
    assert [s.name for s in plan] == ["activate_zone_3", "activate_zone_2", "activate_canonical"]
    for step in plan:
        cz.check_step_safe(cloud, step.changes)
        cloud = cz.cloud_after_waits(cz.cloud_with_changes(cloud, step.changes), step.wait_after)


def test_plan_text_lists_groups_zones_steps_sql_and_waits():
    cloud = seed_cloud()
    report = cz.report_as_dict(cloud, cz.analyse(cloud, only_group(cloud)), "cloud", None)
    lines = cz.plan_text([report])
    assert lines[:7] == [
        (
            "XenServer 'systemvm-xenserver-4.5': step_pending; rows 634 Active cross_zones=0 in zone(s) 1, 635 Active cross_zones=0 in zone(s) 2, "
            "636 Active cross_zones=0 in zone(s) 3"
        ),
        f"  CloudStack takes template 636 today; canonical template 634 ({cz.CANONICAL_RULE})",
        (
            "  zone 1 (zone-1), image store(s) 1: system VMs on XenServer (SSVM none, CPVM none), CANNOT recreate them (template 636 is in none of its "
            "image stores)"
        ),
        (
            "  zone 2 (zone-2), image store(s) 2: system VMs on XenServer (SSVM none, CPVM none), CANNOT recreate them (template 636 is in none of its "
            "image stores)"
        ),
        "  zone 3 (zone-3), image store(s) 3: system VMs on XenServer (SSVM Running, CPVM Running)",
        "  zones that cannot recreate their SSVM/CPVM: 1, 2",
        (
            "  step 1 activate_zone_2: make template 634 cross-zone and Inactive, template 635 (the copy in zone 2 (zone-2)) the only Active one, so "
            "that zone 2 (zone-2) can recreate its SSVM and CPVM"
        ),
    ]
    assert lines[7:10] == [
        "    UPDATE `cloud`.`vm_template` SET state='Inactive', cross_zones=1 WHERE id=634 AND state<=>'Active' AND cross_zones=0;",
        "    UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=636 AND state<=>'Active' AND cross_zones=0;",
        (
            "    then wait for: the SSVM and the CPVM of zone 2 (zone-2) Running (vm_instance type SecondaryStorageVm/ConsoleProxy, state Running, "
            "removed IS NULL); CloudStack can now create them from template 635"
        ),
    ]
    assert lines[10].startswith("  step 2 activate_canonical:")
    assert cz.plan_text([]) == ["no system VM template is registered per zone: nothing to repair"]


def test_backup_entries_record_the_attempt_and_then_the_outcome(tmp_path):
    path = str(tmp_path / "backup.json")
    change = cz.Change(634, {"state": "Active", "cross_zones": 0}, {"state": "Inactive", "cross_zones": 1})
    first = cz.append_backup(path, "cloud", "activate_zone_2", [{"id": 634, "state": "Active", "cross_zones": 0}], (change,))
    assert cz.read_backup(path, "cloud")["entries"][first]["status"] == "attempted"
    cz.mark_backup(path, "cloud", first, "failed", error="denied; rolled back, nothing was changed")
    second = cz.append_backup(path, "cloud", "activate_zone_2", [{"id": 634, "state": "Active", "cross_zones": 0}], (change,))
    cz.mark_backup(path, "cloud", second, "applied")
    entries = cz.read_backup(path, "cloud")["entries"]
    assert [(e["status"], e.get("error")) for e in entries] == [("failed", "denied; rolled back, nothing was changed"), ("applied", None)]
    assert entries[1]["changes"] == [{"template_id": 634, "after": {"state": "Inactive", "cross_zones": 1}}]


def test_an_unwritable_backup_directory_is_a_clear_error():
    # /proc exists and takes no new file, even from root
    with pytest.raises(cz.CrossZoneError, match=r"^cannot write backup_file /proc/acs-crosszone-backup.json: .*; nothing was changed$"):
        cz.append_backup("/proc/acs-crosszone-backup.json", "cloud", "x", [{"id": 1, "state": "Active", "cross_zones": 0}])
