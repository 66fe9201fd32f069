# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""state=detected against a real MariaDB holding CloudStack's tables: what is reported, and that nothing changes."""

from __future__ import annotations

import pymysql
import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_template_crosszone as module


def test_seed_is_reported_as_in_the_article(cloud_db, run_module):
    db = cloud_db("seed")
    before = db.snapshot()
    result = run_module(module, db.params)
    assert db.snapshot() == before
    assert result["changed"] is False
    assert result["needs_remediation"] is True
    (group,) = result["groups"]
    assert (group["hypervisor"], group["template_name"]) == ("XenServer", "systemvm-xenserver-4.5")
    assert group["taken_template_id"] == 636
    assert group["zones_unable_to_recreate"] == [1, 2]
    assert group["canonical_template_id"] == 634
    assert [(t["id"], t["state"], t["cross_zones"], t["zones"]) for t in group["templates"]] == [
        (634, "Active", 0, [1]),
        (635, "Active", 0, [2]),
        (636, "Active", 0, [3]),
    ]
    # the removed SYSTEM row 600, the BUILTIN and the USER template are not part of it
    assert all(t["id"] in (634, 635, 636) for t in group["templates"])
    assert [(z["id"], z["system_vms_running"]) for z in group["zones"]] == [(1, False), (2, False), (3, True)]
    assert [s["name"] for s in group["plan"]] == ["activate_zone_2", "activate_canonical"]
    assert group["plan"][0]["sql"][0] == "UPDATE `cloud`.`vm_template` SET state='Inactive', cross_zones=1 WHERE id=634 AND state<=>'Active' AND cross_zones=0;"
    assert result["next_step"]["name"] == "activate_zone_2"
    assert result["step"] is None


def test_healthy_cloud_has_nothing_to_do(cloud_db, run_module):
    db = cloud_db("healthy")
    result = run_module(module, db.params)
    assert result["done"] is True
    assert result["next_step"] is None
    assert result["waiting_for"] == []
    by_name = {g["template_name"]: g for g in result["groups"]}
    assert by_name["systemvm-xenserver-4.6"]["status"] == "healthy"
    # the per-zone 4.5 rows are all Inactive: an old version, left alone
    assert by_name["systemvm-xenserver-4.5"]["status"] == "healthy"
    assert by_name["systemvm-xenserver-4.5"]["plan"] == []


def test_several_stores_per_zone(cloud_db, run_module):
    db = cloud_db("multi_store")
    (group,) = run_module(module, db.params)["groups"]
    assert [(z["id"], z["store_ids"]) for z in group["zones"]] == [(1, [1, 4]), (2, [2, 5]), (3, [3])]
    final = group["plan"][-1]
    downloads = {w["zone_id"]: w["store_ids"] for w in final["wait_after"] if w["kind"] == "template_download"}
    # the destroyed copy of 634 in store 5 does not count; the removed store 6 and the cache store 7 are not waited for
    assert downloads == {1: [4], 2: [2, 5], 3: [3]}


def test_two_hypervisors_are_reported_separately_and_can_be_filtered(cloud_db, run_module):
    db = cloud_db("two_hypervisors")
    result = run_module(module, db.params)
    groups = {g["hypervisor"]: g for g in result["groups"]}
    assert set(groups) == {"KVM", "XenServer"}
    assert groups["KVM"]["taken_template_id"] == 702
    assert groups["KVM"]["zones_unable_to_recreate"] == [4]
    assert [s["name"] for s in groups["KVM"]["plan"]] == ["activate_zone_5", "activate_canonical"]
    assert [g["hypervisor"] for g in run_module(module, dict(db.params, hypervisor="kvm"))["groups"]] == ["KVM"]


def test_half_finished_remediation_continues_where_it_stopped(cloud_db, run_module):
    db = cloud_db("half_finished")
    result = run_module(module, db.params)
    assert [s["name"] for s in result["groups"][0]["plan"]] == ["activate_canonical"]
    assert result["groups"][0]["taken_template_id"] == 635


def test_unexpected_schema_is_refused_naming_the_columns(cloud_db, run_module):
    db = cloud_db("legacy_schema")
    result = run_module(module, db.params)
    assert result["failed"]
    assert "vm_template.state" in result["msg"]
    assert "template_store_ref.id" in result["msg"]


@pytest.mark.parametrize(
    ("canonical", "message"),
    [
        (9999, "canonical_template_id 9999: no such row in vm_template"),
        (700, "canonical_template_id 700 ('web-golden-image') is of type 'USER', not SYSTEM"),
        (600, "canonical_template_id 600 ('systemvm-xenserver-4.5') was removed on 2015-06-01 09:30:00"),
    ],
)
def test_unfit_canonical_rows_are_refused(cloud_db, run_module, canonical, message):
    db = cloud_db("seed")
    result = run_module(module, dict(db.params, canonical_template_id=canonical))
    assert result["failed"]
    assert result["msg"].startswith(message)
    # and what to choose instead
    assert result["msg"].endswith("; choose one of 634, 635, 636 (XenServer 'systemvm-xenserver-4.5')")


def test_an_unknown_canonical_row_names_the_rows_of_every_hypervisor_to_choose_from(cloud_db, run_module):
    db = cloud_db("mixed_hypervisors")
    result = run_module(module, dict(db.params, canonical_template_id=9999))
    assert result["failed"]
    assert result["msg"] == (
        "canonical_template_id 9999: no such row in vm_template; choose one of 801, 802 (KVM 'systemvm-kvm-4.5'); "
        "634, 635, 636 (XenServer 'systemvm-xenserver-4.5')"
    )


def test_canonical_downloaded_nowhere_is_refused(cloud_db, run_module, tmp_path):
    db = cloud_db("seed")
    db.execute(
        "INSERT INTO vm_template (id, unique_name, name, public, featured, type, hvm, bits, format, created, account_id, guest_os_id, cross_zones, "
        "hypervisor_type, state) VALUES (637, 'routing-637', 'systemvm-xenserver-4.5', 0, 0, 'SYSTEM', 1, 64, 'VHD', NOW(), 1, 99, 0, 'XenServer', 'Active')"
    )
    before = db.snapshot()
    result = run_module(module, dict(db.params, state="remediated", canonical_template_id=637, backup_file=str(tmp_path / "b.json")))
    assert result["failed"]
    assert "template 637 ('systemvm-xenserver-4.5') is downloaded in no image store" in result["msg"]
    assert db.snapshot() == before
    assert not (tmp_path / "b.json").exists()


def test_wrong_password_fails_clearly(cloud_db, run_module):
    db = cloud_db("seed")
    result = run_module(module, dict(db.params, login_password="wrong-password"))
    assert result["failed"]
    assert "cannot connect to database 'cloud' on 127.0.0.1" in result["msg"]
    assert "Access denied" in result["msg"]
    assert "wrong-password" not in result["msg"]


def test_the_module_user_may_not_change_anything_else(cloud_db):
    # The test user has only SELECT and UPDATE on `cloud`, as the module documents; prove the grant is what is tested.
    db = cloud_db("seed")
    conn = pymysql.connect(host="127.0.0.1", port=db.server.port, user=db.server.user, password=db.server.password, database="cloud")
    with conn, conn.cursor() as cur, pytest.raises(pymysql.err.OperationalError, match="DELETE command denied"):
        cur.execute("DELETE FROM vm_template WHERE id = 634")


def test_a_hypervisor_without_system_templates_is_refused(cloud_db, run_module):
    db = cloud_db("seed")
    result = run_module(module, dict(db.params, hypervisor="VMware"))
    assert result["failed"]
    assert result["msg"] == "hypervisor 'VMware': no SYSTEM template of it; SYSTEM templates exist for: XenServer"
    result = run_module(module, dict(db.params, hypervisor="KVM", canonical_template_id=634))
    assert result["failed"]
    assert result["msg"] == (
        "canonical_template_id 634 ('systemvm-xenserver-4.5') is a XenServer template, but hypervisor is 'KVM' (which has no SYSTEM template); "
        "give a canonical_template_id of that hypervisor, or drop one of the two options"
    )


def test_a_canonical_row_of_another_hypervisor_is_named_as_such(cloud_db, run_module):
    # Both hypervisors have several SYSTEM templates: the error says which option contradicts the other, not "no template".
    db = cloud_db("two_hypervisors")
    before = db.snapshot()
    result = run_module(module, dict(db.params, hypervisor="kvm", canonical_template_id=635))
    assert result["failed"]
    assert result["msg"] == (
        "canonical_template_id 635 ('systemvm-xenserver-4.5') is a XenServer template, but hypervisor is 'kvm' (its SYSTEM templates: 701, 702); "
        "give a canonical_template_id of that hypervisor, or drop one of the two options"
    )
    assert db.snapshot() == before


def test_login_through_the_unix_socket(cloud_db, run_module):
    db = cloud_db("healthy")
    params = {k: v for k, v in db.params.items() if k not in ("login_host", "login_port")}
    result = run_module(module, dict(params, login_unix_socket=db.server.socket))
    assert result.get("failed") is not True, result.get("msg")
    assert result["done"] is True


def test_tls_options_reach_a_server_that_requires_tls(cloud_db, run_module):
    # The user may only log in over TLS; the server certificate names 127.0.0.1 only, not localhost.
    db = cloud_db("healthy")
    tls = dict(db.params, login_user=db.server.tls_user, ca_cert=db.server.ca_cert)
    result = run_module(module, dict(tls, check_hostname=True))
    assert result.get("failed") is not True, result.get("msg")
    assert result["done"] is True
    mismatch = run_module(module, dict(tls, login_host="localhost", check_hostname=True))
    assert mismatch["failed"]
    assert "Hostname mismatch, certificate is not valid for 'localhost'" in mismatch["msg"]
    unchecked = run_module(module, dict(tls, login_host="localhost", check_hostname=False))
    assert unchecked.get("failed") is not True, unchecked.get("msg")
