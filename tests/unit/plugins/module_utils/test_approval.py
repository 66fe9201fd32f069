# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import copy

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._approval import plan_differences, plan_digest, plan_summary, preflight_status


def item(key, name, path="livepatch", batch=1, group="zone1"):
    kind, ident = key.split(":")
    return {"key": key, "kind": kind, "id": ident, "name": name, "path": path, "group": group, "reason": "why " + name, "batch": batch}


def plan():
    items = [item("network:n1", "web"), item("network:n2", "db", batch=2), item("vpc:v1", "vpc", path="skip", batch=None)]
    return {
        "ms_version": "4.18.0.0",
        "settings": {"batch_size": 1, "group_by": "zone"},
        "min_template": {"z1": "4.18.0"},
        "items": items,
        "batches": [
            {"index": 1, "group": "zone1", "stage": "routers", "items": ["network:n1"]},
            {"index": 2, "group": "zone1", "stage": "routers", "items": ["network:n2"]},
        ],
        "summary": {"livepatch": 2, "legacy": 0, "skip": 1, "total": 3},
        "run": {"id": "a", "attempt": 1},
    }


def test_the_digest_ignores_the_run_stamp_and_key_order():
    other = copy.deepcopy(plan())
    other["run"] = {"id": "b", "attempt": 3}
    other = dict(reversed(list(other.items())))
    assert plan_digest(other) == plan_digest(plan())
    assert plan_differences(plan(), other) == []


def test_differences_name_settings_and_targets():
    fresh = copy.deepcopy(plan())
    fresh["settings"]["batch_size"] = 2
    fresh["items"][1]["path"] = "skip"
    fresh["items"][1]["reason"] = "router Stopped"
    fresh["items"][2].update(path="legacy", batch=1)
    fresh["items"][0]["path"] = "legacy"
    assert plan_differences(plan(), fresh) == [
        "setting batch_size: 1 -> 2",
        "target added: vpc vpc (v1), legacy, why vpc",
        "target removed: network db (n2), was livepatch; now skip: router Stopped",
        "path changed: network web (n1), livepatch -> legacy (why web)",
    ]


def test_a_batch_change_and_an_otherwise_unexplained_difference():
    fresh = copy.deepcopy(plan())
    fresh["batches"][1]["index"] = 3
    assert plan_differences(plan(), fresh) == ["batch changed: network db (n2), batch 2 (zone1 routers) -> 3 (zone1 routers)"]
    fresh = copy.deepcopy(plan())
    fresh["items"][0]["reason"] = "another reason"
    assert plan_differences(plan(), fresh) == ["the same targets, paths and batches, but the plans differ in: items"]


def test_the_summary_counts_per_group_and_cuts_the_table():
    summary = plan_summary(plan(), ["line %d" % number for number in range(30)], "d")
    assert summary["groups"] == {"zone1": {"livepatch": 2, "skip": 1}} and summary["batches"] == 2
    assert len(summary["table_head"]) == 21 and summary["table_head"][-1] == "... 10 more lines in plan.txt"
    assert summary["preflight"] == {"passed": None, "blockers": [], "warnings": 0, "ignored": []}


def test_the_summary_carries_the_preflight_blockers_warnings_and_accepted_ids():
    """An approver sees a blocked preflight in the summary, not only in plan.txt."""
    blocker = {"check": "jobs_in_flight", "severity": "blocker", "found": "1 job(s) in flight on r-1-VM", "action": "wait", "ignored": False}
    accepted = {"check": "management_server_versions", "severity": "blocker", "found": "4.17.2.0 on ms-2", "action": "x", "ignored": True}
    warning = {"check": "health_checks", "severity": "warning", "found": "off", "action": "y", "ignored": False}
    result = {
        "passed": False,
        "counts": {"blocker": 1, "warning": 1, "info": 0, "ignored": 1},
        "findings": [blocker, accepted, warning],
        "blockers": [blocker],
    }
    summary = plan_summary(plan(), [], "d", preflight_status(result))
    assert summary["preflight"] == {
        "passed": False,
        "blockers": [{"check": "jobs_in_flight", "found": "1 job(s) in flight on r-1-VM"}],
        "warnings": 1,
        "ignored": ["management_server_versions"],
    }
    assert preflight_status(None, "preflight.json cannot be read")["error"] == "preflight.json cannot be read"


def test_many_targets_in_other_batches_are_counted_not_listed():
    items = [item("network:n%d" % number, "net%02d" % number, batch=number) for number in range(1, 31)]
    batches = [{"index": number, "group": "zone1", "stage": "routers", "items": ["network:n%d" % number]} for number in range(1, 31)]
    approved = dict(plan(), items=items, batches=batches)
    fresh = copy.deepcopy(approved)
    fresh["settings"]["batch_size"] = 2
    fresh["batches"] = [
        {"index": number // 2 + 1, "group": "zone1", "stage": "routers", "items": ["network:n%d" % number, "network:n%d" % (number + 1)]}
        for number in range(1, 31, 2)
    ]
    lines = plan_differences(approved, fresh)
    assert lines[0] == "setting batch_size: 1 -> 2"
    assert len(lines) == 2 and lines[1].startswith("29 targets in another batch, such as network net02 (n2), batch 2 (zone1 routers) -> 1 (zone1 routers); ")


class Refused(Exception):
    pass


class Module:
    def fail_json(self, msg, **result):
        raise Refused(msg)


def test_a_digest_that_is_no_digest_is_named_as_such():
    from ansible_collections.acs.upgrade.plugins.modules.cs_upgrade_plan import check_approved

    for given in ("garbage", "", "abc" * 30):
        with pytest.raises(Refused, match="is not a plan digest .64 hexadecimal digits.: nothing was changed"):
            check_approved(Module(), given, plan(), plan(), False, "/state/plan.json")
    # A digest in capitals or with spaces around it is the same digest.
    check_approved(Module(), "  %s " % plan_digest(plan()).upper(), plan(), plan(), False, "/state/plan.json")
