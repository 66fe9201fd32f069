# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import json

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan
from ansible_collections.acs.upgrade.plugins.modules import cs_upgrade_batch

ROUTER = {"state": "Running", "version": "4.15.0", "requiresupgrade": True, "softwareversion": "4.15.0.0", "zoneid": "z1"}
FLEET = {
    "version": "4.18.0.0",
    "zones": [{"id": "z1", "name": "zone-a"}],
    "routers": [dict(ROUTER, id="r1", name="r-1-VM", guestnetworkid="n1"), dict(ROUTER, id="r2", name="r-2-VM", guestnetworkid="n2")],
    "systemvms": [{"id": "s1", "name": "s-1-VM", "systemvmtype": "secondarystoragevm", "state": "Running", "version": "4.15.0", "zoneid": "z1"}],
    "units": [
        {"kind": "network", "id": "n1", "name": "net-1", "zoneid": "z1", "routers": ["r1"], "tiers": []},
        {"kind": "network", "id": "n2", "name": "net-2", "zoneid": "z1", "routers": ["r2"], "tiers": []},
    ],
}


@pytest.fixture
def plan():
    return build_plan(FLEET, canary_size=0, batch_size=5)


def args(plan, journal, **more):
    base = {"plan": plan, "batch": 2, "upgrade_path": "livepatch", "journal": str(journal)}
    base.update(more)
    return base


def test_gate_gives_the_ids_to_act_on(run_module, plan, tmp_path):
    result = run_module(cs_upgrade_batch, args(plan, tmp_path / "journal.jsonl"))
    assert result["action"] == "run" and result["changed"] is False
    assert result["networks"] == ["n1", "n2"] and result["vpcs"] == [] and result["system_vms"] == []
    assert result["routers"] == ["r1", "r2"]


def test_gate_leaves_out_unhealthy_networks_but_not_for_the_version_check(run_module, plan, tmp_path):
    health = {
        "routers": [
            {"id": "r1", "name": "r-1-VM", "network_id": "n1", "passed": False, "failing": ["dns_check.py", "router_version_check.py"]},
            {"id": "r2", "name": "r-2-VM", "network_id": "n2", "passed": False, "failing": ["router_version_check.py"]},
        ]
    }
    result = run_module(cs_upgrade_batch, args(plan, tmp_path / "journal.jsonl", health=health))
    assert result["networks"] == ["n2"]
    assert result["unhealthy_items"] == {"network:n1": "r-1-VM fails dns_check.py"}
    stopped = run_module(cs_upgrade_batch, args(plan, tmp_path / "journal.jsonl", health=health, unhealthy="stop"))
    assert stopped["action"] == "stop" and "r-1-VM fails dns_check.py" in stopped["reason"]


def test_record_journals_outcomes_and_hands_failures_to_the_legacy_path(run_module, plan, tmp_path):
    journal = tmp_path / "journal.jsonl"
    patched = {
        "changed": True,
        "failed": False,
        "targets": [
            {"kind": "network", "id": "n1", "status": "patched", "duration": 2.5},
            {"kind": "network", "id": "n2", "status": "failed", "reason": "restartNetwork job 9 failed: haproxy"},
        ],
    }
    result = run_module(cs_upgrade_batch, args(plan, journal, step="record", results=[patched]))
    assert result["changed"] is True and result["failed_items"] == ["network:n2"] and result["stop"] is False
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(entry["key"], entry["status"], entry["path"]) for entry in entries] == [("network:n1", "done", "livepatch"), ("network:n2", "failed", "livepatch")]
    assert "haproxy" in entries[1]["error"]

    legacy = run_module(cs_upgrade_batch, args(plan, journal, upgrade_path="legacy"))
    assert legacy["action"] == "run" and legacy["networks"] == ["n2"]
    assert run_module(cs_upgrade_batch, args(plan, journal))["action"] == "done"
    without_fallback = run_module(cs_upgrade_batch, args(plan, journal, upgrade_path="legacy", fallback=False))
    assert without_fallback["action"] == "done"


@pytest.mark.parametrize("status", ["not_submitted", "outcome_unknown"])
def test_a_live_patch_never_started_or_of_unknown_outcome_is_never_handed_to_the_legacy_path(run_module, plan, tmp_path, status):
    journal = tmp_path / "journal.jsonl"
    results = {
        "failed": True,
        "targets": [
            {"kind": "network", "id": "n1", "status": "patched"},
            {"kind": "network", "id": "n2", "status": status, "reason": "restartNetwork refused with HTTP 503 for 60 s"},
        ],
    }
    result = run_module(cs_upgrade_batch, args(plan, journal, step="record", results=[results]))
    assert result["failed_items"] == ["network:n2"] and result["entries"][1]["recreate"] is False
    # Nobody will recreate it in this run: it counts as a failure now (the default budget of 0% stops the run).
    assert result["stop"] is True and "max_fail_percentage" in result["reason"]
    assert run_module(cs_upgrade_batch, args(plan, journal, upgrade_path="legacy"))["action"] == "done"
    # The next run takes it on the live patch path again.
    assert run_module(cs_upgrade_batch, args(plan, journal))["networks"] == ["n2"]


def test_record_stops_on_failure_when_asked(run_module, plan, tmp_path):
    failed = {"msg": "live patch failed", "targets": [{"kind": "network", "id": "n1", "status": "failed", "reason": "x"}]}
    result = run_module(cs_upgrade_batch, args(plan, tmp_path / "journal.jsonl", step="record", results=[failed], on_failure="stop"))
    assert result["stop"] is True and "on_failure is stop" in result["reason"]
    # n2 was not reported at all: it is failed too, with the module's message, never taken as done.
    assert result["failed_items"] == ["network:n1", "network:n2"]
    assert "live patch failed" in result["entries"][1]["error"]


def test_record_in_check_mode_writes_nothing(run_module, plan, tmp_path):
    journal = tmp_path / "journal.jsonl"
    would = {"targets": [{"kind": "network", "id": "n1", "status": "would_patch"}, {"kind": "network", "id": "n2", "status": "would_patch"}]}
    result = run_module(cs_upgrade_batch, args(plan, journal, step="record", results=[would]), check_mode=True)
    assert result["changed"] is False and result["entries"] == []
    assert not journal.exists()


def test_skipped_task_records_nothing(run_module, plan, tmp_path):
    result = run_module(cs_upgrade_batch, args(plan, tmp_path / "journal.jsonl", step="record", results=[{"skipped": True, "changed": False}]))
    assert result["entries"] == [] and "was not run" in result["reason"]


def test_record_fails_a_health_regression(run_module, plan, tmp_path):
    patched = {"targets": [{"kind": "network", "id": "n1", "status": "patched"}, {"kind": "network", "id": "n2", "status": "patched"}]}
    before = {"routers": [{"id": "r1", "name": "r-1-VM", "passed": True}, {"id": "r2", "name": "r-2-VM", "passed": True}]}
    # After the patch r-2-VM fails dns (a regression); the version check of r-1-VM does not count.
    after = {
        "routers": [
            {"id": "r1", "name": "r-1-VM", "passed": False, "failing": ["router_version_check.py"]},
            {"id": "r2", "name": "r-2-VM", "passed": False, "failing": ["dns_check.py"]},
        ]
    }
    result = run_module(cs_upgrade_batch, args(plan, tmp_path / "journal.jsonl", step="record", results=[patched], health_before=before, health=after))
    assert result["failed_items"] == ["network:n2"]
    first, second = result["entries"]
    assert (first["health_before"], first["health_after"], first["status"]) == ("passed", "passed", "done")
    assert (second["health_before"], second["health_after"], second["status"]) == ("passed", "r-2-VM fails dns_check.py", "failed")
    assert second["error"] == "health after the upgrade: r-2-VM fails dns_check.py"
