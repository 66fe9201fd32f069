# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Journals for the report's tests, made from what cs_livepatch and cs_recreate say of their targets.

The engine journals each target itself (``_engine.StageRunner._record``); these entries have the fields the report
reads, without the engine's run, attempt, group and stage, and with the module's target statuses (``statuses``) as the
journals of 0.1.0 had them: the report reads both.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._plan import target_outcome, vms_after

SYSTEMVM_KINDS = frozenset(("systemvm", "secondarystoragevm", "consoleproxy"))


def outcomes_from_targets(plan: dict[str, t.Any], keys: t.Iterable[str], targets: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Per-item outcomes of the ``keys`` a module acted on: a router target counts for its network or VPC."""
    wanted = list(keys)
    router_unit = {router["id"]: item["key"] for item in plan["items"] for router in item.get("routers", [])}
    seen: dict[str, list[dict[str, t.Any]]] = {key: [] for key in wanted}
    for target in targets:
        kind = target.get("kind")
        if kind in SYSTEMVM_KINDS:
            key = "systemvm:%s" % target.get("id")
        else:
            key = router_unit.get(target.get("id"), "") if kind == "router" else "%s:%s" % (kind, target.get("id"))
        if key in seen:
            seen[key].append(target)
    outcomes = []
    for key in wanted:
        reported = seen[key]
        bad = [target for target in reported if target_outcome(target.get("status")) != "done"]
        unknown = any(target_outcome(target.get("status")) == "unknown" for target in bad)
        started = [target["started"] for target in reported if target.get("started")]
        finished = [target["finished"] for target in reported if target.get("finished")]
        outcomes.append(
            {
                "key": key,
                "status": "done" if reported and not bad else ("unknown" if unknown else "failed"),
                "changed": any(target.get("status") in ("patched", "succeeded") for target in reported),
                "error": "; ".join("%s: %s" % (target.get("status"), target.get("reason")) for target in bad) or None,
                "duration": sum(float(target.get("duration") or 0) for target in reported) or None,
                "statuses": sorted({str(target.get("status")) for target in reported}),
                "started": min(started) if started else None,
                "finished": max(finished) if finished else None,
                "after": [vm for target in reported for vm in vms_after(target)],
                "jobid": next((target["jobid"] for target in reported if target.get("jobid")), None),
            }
        )
    return outcomes


def journal_entries(outcomes: t.Iterable[dict[str, t.Any]], plan: dict[str, t.Any], batch: int, path: str, now: datetime.datetime) -> list[dict[str, t.Any]]:
    """Journal entries of per-item outcomes ``{key, status, changed, error, duration, ...}`` recorded at ``now``."""
    stamp = now.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    names = {item["key"]: item["name"] for item in plan["items"]}
    entries = []
    for outcome in outcomes:
        entry = {"key": outcome["key"], "name": names.get(outcome["key"], outcome["key"]), "ms_version": plan["ms_version"], "batch": int(batch)}
        entry.update(path=path, status=outcome.get("status", "done"), recreate=outcome.get("status") == "failed", time=stamp)
        fields = ("changed", "error", "duration", "statuses", "started", "finished", "after", "jobid")
        entry.update({field: outcome[field] for field in fields if field in outcome})
        entries.append(entry)
    return entries
