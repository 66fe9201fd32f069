# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The approved plan: its digest, its summary for an approver, and what a plan made later changes in it.

A plan's digest is the sha256 of its canonical JSON without its run stamp (the attempt's id and times): two plans
with the same digest do the same work in the same batches, whenever they were made.
"""

from __future__ import annotations

import hashlib
import json
import typing as t

# Lines of the plan table an approver sees in the summary (the whole table is in plan.txt).
SUMMARY_TABLE_LINES = 20
# Lines of differences shown; the rest are counted.
DIFFERENCE_LINES = 20
# Targets that only move to another batch are counted, with this many named.
BATCH_EXAMPLES = 3
# The record of a run refused because the plan changed since its approval, beside plan.json in the state directory
# (cs_upgrade_plan writes it, cs_upgrade_report reports it, the next plan written there removes it).
REFUSED_FILE = "refused.json"


def plan_digest(plan: dict[str, t.Any]) -> str:
    """sha256 of the plan's canonical JSON, its ``run`` stamp left out."""
    content = {key: value for key, value in plan.items() if key != "run"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def preflight_status(result: t.Mapping[str, t.Any] | None, error: str | None = None) -> dict[str, t.Any]:
    """The preflight as an approver reads it: whether it passed, each blocker by its check id with its one-line finding,
    how many warnings, and the check ids accepted (ignored). ``passed`` is None when no preflight result was read
    (``error`` says why, when there was one to read)."""
    if result is None:
        status: dict[str, t.Any] = {"passed": None, "blockers": [], "warnings": 0, "ignored": []}
        if error:
            status["error"] = error
        return status
    return {
        "passed": bool(result.get("passed")),
        "blockers": [{"check": item["check"], "found": item["found"]} for item in result.get("blockers") or []],
        "warnings": int((result.get("counts") or {}).get("warning", 0)),
        "ignored": sorted({item["check"] for item in result.get("findings") or [] if item.get("ignored")}),
    }


def plan_summary(plan: dict[str, t.Any], table: list[str], digest: str, preflight: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """What an approver reads: the preflight's status (see ``preflight_status``), counts per path and per group, the
    head of the table and the digest."""
    groups: dict[str, dict[str, int]] = {}
    for item in plan["items"]:
        counts = groups.setdefault(item["group"], {})
        counts[item["path"]] = counts.get(item["path"], 0) + 1
    head = table[:SUMMARY_TABLE_LINES]
    if len(table) > SUMMARY_TABLE_LINES:
        head = head + ["... %d more lines in plan.txt" % (len(table) - SUMMARY_TABLE_LINES)]
    return {
        "digest": digest,
        "ms_version": plan["ms_version"],
        "counts": dict(plan["summary"]),
        "batches": len(plan["batches"]),
        "groups": groups,
        "table_head": head,
        "preflight": preflight if preflight is not None else preflight_status(None),
    }


def _work(plan: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {item["key"]: item for item in plan["items"] if item["path"] != "skip"}


def _named(item: dict[str, t.Any]) -> str:
    return "%s %s (%s)" % (item.get("systemvmtype") or item["kind"], item["name"], item["id"])


def _batch_of(plan: dict[str, t.Any]) -> dict[str, tuple[int, str, str]]:
    return {key: (batch["index"], batch["group"], batch["stage"]) for batch in plan["batches"] for key in batch["items"]}


def plan_differences(approved: dict[str, t.Any], fresh: dict[str, t.Any]) -> list[str]:
    """What ``fresh`` (the plan a run would make now) does differently from ``approved``, one line each.

    Settings and the server first, then targets added, removed, on another path or in another batch; a line that
    counts the rest when there are more than ``DIFFERENCE_LINES``. Empty when the two plans have the same digest.
    """
    if plan_digest(approved) == plan_digest(fresh):
        return []
    lines = []
    if approved.get("ms_version") != fresh.get("ms_version"):
        lines.append("management server version: %s -> %s" % (approved.get("ms_version"), fresh.get("ms_version")))
    old_settings, new_settings = approved.get("settings") or {}, fresh.get("settings") or {}
    for name in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(name) != new_settings.get(name):
            lines.append("setting %s: %s -> %s" % (name, json.dumps(old_settings.get(name)), json.dumps(new_settings.get(name))))
    if (approved.get("min_template") or {}) != (fresh.get("min_template") or {}):
        lines.append("zone minimum templates: %s -> %s" % (json.dumps(approved.get("min_template")), json.dumps(fresh.get("min_template"))))
    old_work, new_work = _work(approved), _work(fresh)
    all_fresh = {item["key"]: item for item in fresh["items"]}
    for key in sorted(set(new_work) - set(old_work), key=lambda key: new_work[key]["name"]):
        item = new_work[key]
        lines.append("target added: %s, %s, %s" % (_named(item), item["path"], item["reason"]))
    for key in sorted(set(old_work) - set(new_work), key=lambda key: old_work[key]["name"]):
        item = old_work[key]
        now = all_fresh.get(key)
        lines.append("target removed: %s, was %s; now %s" % (_named(item), item["path"], ("skip: %s" % now["reason"]) if now else "not in the fleet"))
    old_batches, new_batches = _batch_of(approved), _batch_of(fresh)
    moved = []
    for key in sorted(set(old_work) & set(new_work), key=lambda key: old_work[key]["name"]):
        before, after = old_work[key], new_work[key]
        if before["path"] != after["path"]:
            lines.append("path changed: %s, %s -> %s (%s)" % (_named(after), before["path"], after["path"], after["reason"]))
        elif old_batches.get(key) != new_batches.get(key):
            moved.append("%s, batch %s -> %s" % (_named(after), _shown_batch(old_batches.get(key)), _shown_batch(new_batches.get(key))))
    if len(moved) > BATCH_EXAMPLES:
        lines.append("%d targets in another batch, such as %s" % (len(moved), "; ".join(moved[:BATCH_EXAMPLES])))
    else:
        lines += ["batch changed: %s" % line for line in moved]
    if not lines:
        parts = sorted(key for key in set(approved) | set(fresh) if key != "run" and approved.get(key) != fresh.get(key))
        lines.append("the same targets, paths and batches, but the plans differ in: %s" % ", ".join(parts))
    if len(lines) > DIFFERENCE_LINES:
        lines = lines[: DIFFERENCE_LINES - 1] + ["... %d more differences" % (len(lines) - DIFFERENCE_LINES + 1)]
    return lines


def _shown_batch(batch: tuple[int, str, str] | None) -> str:
    return "%d (%s %s)" % batch if batch else "none"
