# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Where a stage stands, read from the plan and the journal while its module runs: "zone2 routers: 812/2,000 done ..."."""

from __future__ import annotations

import typing as t

# Journal statuses that end a target's work in a stage.
FAILED = frozenset(("failed", "refused", "unknown"))
ENDED = FAILED | {"done", "skipped"}


class StageCount(t.NamedTuple):
    total: int
    done: int
    failed: int
    in_flight: int
    skipped: int = 0

    @property
    def ended(self) -> int:
        return self.done + self.failed + self.skipped


def stage_count(plan: dict[str, t.Any], entries: t.Iterable[dict[str, t.Any]], group: str, stage: str, paths: t.Collection[str]) -> StageCount:
    """The targets of ``group``'s ``stage`` on ``paths`` and how far they are, by the last journal entry of each."""
    planned = {item["key"]: item for item in plan["items"] if item["path"] in paths}
    targets = {key for batch in plan["batches"] if batch["group"] == group and batch["stage"] == stage for key in batch["items"] if key in planned}
    last: dict[str, str] = {}
    for entry in entries:
        if entry.get("key") in targets and entry.get("ms_version") in (None, plan["ms_version"]):
            last[entry["key"]] = entry.get("status", "")
    statuses = list(last.values())
    return StageCount(
        total=len(targets),
        done=statuses.count("done"),
        failed=sum(1 for status in statuses if status in FAILED),
        in_flight=statuses.count("submitted"),
        skipped=statuses.count("skipped"),
    )


def duration(seconds: float) -> str:
    if seconds < 90:
        return "%d s" % max(1, round(seconds))
    if seconds < 5400:
        return "%d min" % round(seconds / 60)
    return "%.1f h" % (seconds / 3600)


def progress_line(group: str, stage: str, now: StageCount, at_start: StageCount, elapsed: float) -> str:
    """The line the task output shows; the ETA extrapolates what ended since the module started."""
    line = "%s %s: %s/%s done, %d failed, %d in flight" % (group, stage, format(now.done, ","), format(now.total, ","), now.failed, now.in_flight)
    ended_here = now.ended - at_start.ended
    remaining = now.total - now.ended
    if ended_here > 0 and remaining > 0:
        line += ", ETA %s" % duration(elapsed / ended_here * remaining)
    return line + " (running %s)" % duration(elapsed)
