# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""state=remediated and state=restored in-process against a real MariaDB; between the steps the test plays
CloudStack (new system VMs Running, downloads done) by writing the rows CloudStack would write."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_template_crosszone as module

SEED_FINAL = {634: ("Active", 1), 635: ("Inactive", 0), 636: ("Inactive", 0)}
SEED_START = {634: ("Active", 0), 635: ("Active", 0), 636: ("Active", 0)}


@pytest.fixture
def backup(tmp_path):
    return str(tmp_path / "crosszone-backup.json")


def remediate(run_module, db, backup, **extra):
    return run_module(module, dict(db.params, state="remediated", backup_file=backup, **extra))


def test_check_mode_and_diff_change_nothing_and_show_the_step(cloud_db, run_module, backup):
    db = cloud_db("seed")
    before = db.snapshot()
    result = run_module(module, dict(db.params, state="remediated", backup_file=backup), check_mode=True, diff=True)
    assert db.snapshot() == before
    assert result["changed"] is True
    assert result["step"]["name"] == "activate_zone_2"
    assert result["diff"] == {
        "before": {"vm_template": {"634": {"state": "Active", "cross_zones": 0}, "636": {"state": "Active", "cross_zones": 0}}},
        "after": {"vm_template": {"634": {"state": "Inactive", "cross_zones": 1}, "636": {"state": "Inactive", "cross_zones": 0}}},
    }
    assert not os.path.exists(backup)


def test_seed_remediated_step_by_step_then_restored(cloud_db, run_module, backup):
    db = cloud_db("seed")
    untouched = db.snapshot()

    first = remediate(run_module, db, backup)
    assert first["changed"] and first["step"]["name"] == "activate_zone_2"
    assert first["msg"] == "ran step activate_zone_2 for the XenServer templates 'systemvm-xenserver-4.5'"
    assert db.templates() == {634: ("Inactive", 1), 635: ("Active", 0), 636: ("Inactive", 0)}
    assert [(w["kind"], w["zone_id"], w["template_id"]) for w in first["waiting_for"]] == [("system_vms_running", 2, 635)]
    assert first["next_step"]["name"] == "activate_canonical"

    # nothing happened in zone 2 yet: the module waits and changes nothing
    snapshot = db.snapshot()
    waiting = remediate(run_module, db, backup)
    assert waiting["changed"] is False and waiting["step"] is None
    assert [w["zone_id"] for w in waiting["waiting_for"]] == [2]
    assert waiting["msg"].startswith("no change: waiting for the SSVM and the CPVM of zone 2 (zone-2) Running")
    assert db.snapshot() == snapshot

    db.system_vms_started(zone_id=2, template_id=635)
    second = remediate(run_module, db, backup)
    assert second["step"]["name"] == "activate_canonical"
    assert db.templates() == SEED_FINAL
    kinds = sorted((w["kind"], w["zone_id"]) for w in second["waiting_for"])
    assert kinds == [("system_vms_running", 1), ("template_download", 2), ("template_download", 3)]
    assert second["done"] is False

    db.system_vms_started(zone_id=1, template_id=634)
    db.template_downloaded(634, store_id=2)
    third = remediate(run_module, db, backup)
    assert third["changed"] is False
    assert [(w["kind"], w["zone_id"], w["store_ids"]) for w in third["waiting_for"]] == [("template_download", 3, [3])]

    db.template_downloaded(634, store_id=3)
    done = remediate(run_module, db, backup)
    assert done["changed"] is False and done["done"] is True and done["next_step"] is None
    # the final tables of the article: 634 Active and cross-zone, downloaded in the store of every zone
    assert db.templates() == SEED_FINAL
    rows = db.query(
        "SELECT r.store_id, r.template_id, s.data_center_id FROM template_store_ref r JOIN image_store s ON s.id = r.store_id "
        "WHERE r.destroyed = 0 AND r.template_id = 634 ORDER BY r.store_id"
    )
    assert rows == [(1, 634, 1), (2, 634, 2), (3, 634, 3)]

    with open(backup, encoding="utf-8") as handle:
        doc = json.load(handle)
    assert [e["action"] for e in doc["entries"]] == ["activate_zone_2", "activate_canonical"]
    assert {r["id"] for r in doc["entries"][0]["rows"]} == {634, 636}
    assert doc["entries"][0]["rows"][0]["unique_name"] == "routing-634"

    checked = run_module(module, dict(db.params, state="restored", backup_file=backup), check_mode=True, diff=True)
    assert checked["changed"] and checked["restored_template_ids"] == [634, 635, 636]
    assert db.templates() == SEED_FINAL

    restored = run_module(module, dict(db.params, state="restored", backup_file=backup))
    assert restored["changed"] is True
    assert restored["msg"] == "restored vm_template row(s) 634, 635, 636"
    assert db.templates() == SEED_START
    assert db.query("SELECT * FROM vm_template ORDER BY 1") == untouched["vm_template"]
    again = run_module(module, dict(db.params, state="restored", backup_file=backup))
    assert again["changed"] is False
    with open(backup, encoding="utf-8") as handle:
        entries = json.load(handle)["entries"]
    assert [(e["action"], e["status"]) for e in entries] == [("activate_zone_2", "applied"), ("activate_canonical", "applied"), ("restore", "applied")]
    assert {r["id"]: (r["state"], r["cross_zones"]) for r in entries[-1]["rows"]} == SEED_FINAL


def test_half_finished_remediation(cloud_db, run_module, backup):
    db = cloud_db("half_finished")
    result = remediate(run_module, db, backup)
    assert result["step"]["name"] == "activate_canonical"
    assert [c["template_id"] for c in result["step"]["changes"]] == [634, 635]
    assert db.templates() == SEED_FINAL


def test_healthy_cloud_is_left_alone(cloud_db, run_module, backup):
    db = cloud_db("healthy")
    before = db.snapshot()
    result = remediate(run_module, db, backup)
    assert result["changed"] is False and result["done"] is True
    assert db.snapshot() == before


def test_two_hypervisors_one_step_per_call(cloud_db, run_module, backup):
    db = cloud_db("two_hypervisors")
    first = remediate(run_module, db, backup)
    assert (first["step"]["hypervisor"], first["step"]["name"]) == ("KVM", "activate_zone_5")
    assert db.templates()[701] == ("Inactive", 1)
    assert db.templates()[634] == ("Active", 0)
    # KVM waits for zone 5; XenServer can go on meanwhile
    second = remediate(run_module, db, backup)
    assert (second["step"]["hypervisor"], second["step"]["name"]) == ("XenServer", "activate_zone_2")
    third = remediate(run_module, db, backup, hypervisor="KVM")
    assert third["changed"] is False
    assert [(w["kind"], w["zone_id"]) for w in third["waiting_for"]] == [("system_vms_running", 5)]


def test_several_stores_per_zone_wait_for_every_store(cloud_db, run_module, backup):
    db = cloud_db("multi_store")
    remediate(run_module, db, backup)
    db.system_vms_started(zone_id=2, template_id=635)
    result = remediate(run_module, db, backup)
    assert result["step"]["name"] == "activate_canonical"
    db.system_vms_started(zone_id=1, template_id=634)
    for store in (2, 3, 4):
        db.template_downloaded(634, store_id=store)
    result = remediate(run_module, db, backup)
    assert not result["done"]
    assert [(w["zone_id"], w["store_ids"]) for w in result["waiting_for"]] == [(2, [5])]
    db.template_downloaded(634, store_id=5)
    assert remediate(run_module, db, backup)["done"] is True


def test_a_held_lock_makes_the_run_fail_without_change(cloud_db, run_module, backup):
    db = cloud_db("seed")
    before = db.snapshot()
    with db.server.root() as other, other.cursor() as cur:
        cur.execute("SELECT GET_LOCK('acs_upgrade_crosszone', 0), CONNECTION_ID()")
        got, holder = cur.fetchone()
        assert got == 1
        result = remediate(run_module, db, backup, lock_timeout=0)
    assert result["failed"]
    assert result["msg"].startswith(f"database lock 'acs_upgrade_crosszone' is held by another run (connection id {holder})")
    assert db.snapshot() == before


def test_a_canonical_row_can_be_chosen(cloud_db, run_module, backup):
    db = cloud_db("seed")
    result = remediate(run_module, db, backup, canonical_template_id=636)
    assert result["step"]["name"] == "activate_zone_1"
    assert db.templates() == {634: ("Active", 0), 635: ("Inactive", 0), 636: ("Inactive", 1)}


def test_restore_refuses_a_backup_of_rows_that_are_gone(cloud_db, run_module, backup):
    db = cloud_db("seed")
    remediate(run_module, db, backup)
    db.execute("DELETE FROM template_zone_ref WHERE template_id = 636")
    db.execute("DELETE FROM template_store_ref WHERE template_id = 636")
    db.execute("DELETE FROM vm_instance WHERE vm_template_id = 636")
    db.execute("DELETE FROM vm_template WHERE id = 636")
    before = db.snapshot()
    result = run_module(module, dict(db.params, state="restored", backup_file=backup))
    assert result["failed"]
    assert result["msg"] == "cannot restore: vm_template row(s) 636 of the backup no longer exist"
    assert db.snapshot() == before


def test_the_backup_says_what_happened_when_the_account_may_only_select(cloud_db, run_module, backup):
    # An account that may read the tables but not UPDATE them: the UPDATE fails and rolls back; the backup entry is
    # recorded as attempted before the UPDATE and then marked failed with the error, never as a step that ran.
    db = cloud_db("seed")
    with db.server.root() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'acs_readonly'@'127.0.0.1' IDENTIFIED BY %s", (db.server.password,))
        cur.execute("GRANT SELECT ON `cloud`.* TO 'acs_readonly'@'127.0.0.1'")
    before = db.snapshot()
    result = remediate(run_module, db, backup, login_user="acs_readonly")
    assert result["failed"]
    assert "UPDATE command denied to user 'acs_readonly'" in result["msg"]
    # what happened and what to do, not only the server's words
    assert result["msg"].startswith("activate_zone_2 failed on database 'cloud' on 127.0.0.1:")
    assert "was rolled back, nothing was changed (its backup_file entry is marked failed)" in result["msg"]
    assert result["msg"].endswith("the account needs the SELECT and UPDATE privileges on `cloud`.`vm_template` (GRANT SELECT, UPDATE ON ...), then run again")
    assert db.snapshot() == before
    with open(backup, encoding="utf-8") as handle:
        (entry,) = json.load(handle)["entries"]
    assert (entry["action"], entry["status"]) == ("activate_zone_2", "failed")
    assert "UPDATE command denied" in entry["error"] and entry["error"].endswith("rolled back, nothing was changed")
    assert entry["changes"] == [
        {"template_id": 634, "after": {"state": "Inactive", "cross_zones": 1}},
        {"template_id": 636, "after": {"state": "Inactive", "cross_zones": 0}},
    ]

    # with the right account the same step runs and its entry is marked applied after the commit
    result = remediate(run_module, db, backup)
    assert result["step"]["name"] == "activate_zone_2"
    with open(backup, encoding="utf-8") as handle:
        entries = json.load(handle)["entries"]
    assert [(e["action"], e["status"]) for e in entries] == [("activate_zone_2", "failed"), ("activate_zone_2", "applied")]
    # a restore takes every entry's rows as they were before that attempt: the failed one changed nothing
    run_module(module, dict(db.params, state="restored", backup_file=backup))
    assert db.snapshot() == before


def test_an_interrupted_run_is_rerun_and_restored_from_its_backup(cloud_db, run_module, backup):
    # A run killed at each of its two unsafe points leaves exactly this behind: the XenServer step committed but its entry
    # never marked (killed between the commit and the mark), and the KVM step's entry written but its UPDATEs never run
    # (killed between the backup and the UPDATEs). A rerun goes on from the tables; a restore from that file gives the
    # rows as they were before the first step, byte for byte.
    db = cloud_db("mixed_hypervisors")
    untouched = db.snapshot()
    first = remediate(run_module, db, backup)
    assert (first["step"]["name"], first["step"]["hypervisor"]) == ("activate_canonical", "XenServer")
    after_first = db.snapshot()
    with open(backup, encoding="utf-8") as handle:
        doc = json.load(handle)
    doc["entries"][0]["status"] = "attempted"
    del doc["entries"][0]["status_time"]
    kvm_rows = [dict(zip(("id", "state", "cross_zones"), row)) for row in db.query("SELECT id, state, cross_zones FROM vm_template WHERE id IN (801, 802)")]
    doc["entries"].append(
        {"time": "2026-11-27T03:00:00+00:00", "action": "activate_canonical", "status": "attempted", "table": "vm_template", "rows": kvm_rows}
    )
    with open(backup, "w", encoding="utf-8") as handle:
        json.dump(doc, handle)

    # the rerun changes nothing it already did and runs the KVM step that never ran
    rerun = remediate(run_module, db, backup)
    assert (rerun["step"]["name"], rerun["step"]["hypervisor"]) == ("activate_canonical", "KVM")
    assert db.snapshot()["vm_template"] != after_first["vm_template"]
    assert {tid: db.templates()[tid] for tid in (634, 635, 636)} == SEED_FINAL
    with open(backup, encoding="utf-8") as handle:
        assert [e["status"] for e in json.load(handle)["entries"]] == ["attempted", "attempted", "applied"]

    checked = run_module(module, dict(db.params, state="restored", backup_file=backup), check_mode=True)
    assert checked["restored_template_ids"] == [634, 635, 636, 801, 802]
    restored = run_module(module, dict(db.params, state="restored", backup_file=backup))
    assert restored["changed"] is True
    assert db.snapshot()["vm_template"] == untouched["vm_template"]
