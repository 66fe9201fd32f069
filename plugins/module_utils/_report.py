# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The upgrade report: the plan and the journal of finished work, per group, as JSON, Markdown and one HTML page.

Pure functions (no I/O). Texts that came from the API go through ``redact``: a report is shared more widely than
the run's log, and must never carry a signed URL or a secret.
"""

from __future__ import annotations

import html
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._api import redact
from ansible_collections.acs.upgrade.plugins.module_utils._plan import journal_state

# What became of a planned item, in the order the totals show them.
OUTCOMES = ("done", "failed", "not_run", "skipped")


def build_report(plan: dict[str, t.Any], journal: list[dict[str, t.Any]], title: str = "CloudStack system VM and router upgrade") -> dict[str, t.Any]:
    """Groups in running order, each with its items (path, outcome, reason) and its timeline, plus totals."""
    version = plan["ms_version"]
    state = journal_state(journal, version)
    entries = [entry for entry in journal if entry.get("ms_version") in (None, version)]
    batch_of = {batch["index"]: batch for batch in plan["batches"]}
    groups: dict[str, dict[str, t.Any]] = {}
    for batch in plan["batches"]:
        groups.setdefault(batch["group"], {"name": batch["group"], "batches": [], "items": [], "timeline": []})["batches"].append(batch["index"])
    totals = dict.fromkeys(OUTCOMES, 0)
    paths: dict[str, int] = {}
    attempt = (plan.get("run") or {}).get("attempt")
    for item in plan["items"]:
        entry = state.get(item["key"])
        if entry is not None and entry["status"] == "done":
            outcome = "done"
        elif item["path"] == "skip":
            outcome = "skipped"
        elif entry is None or entry["status"] == "submitted":
            outcome = "not_run"
        else:
            # "unknown": the job outlived its timeout; it counts as failed until a run follows it to its end.
            outcome = "failed" if entry["status"] == "unknown" else entry["status"]
        earlier = bool(entry) and outcome == "done" and (item["path"] == "skip" or (attempt is not None and entry.get("attempt") != attempt))
        totals[outcome] += 1
        final_path = entry.get("path") if entry else item["path"]
        paths[final_path] = paths.get(final_path, 0) + 1
        group = groups.setdefault(item["group"], {"name": item["group"], "batches": [], "items": [], "timeline": []})
        group["items"].append(
            {
                "kind": item.get("systemvmtype") or item["kind"],
                "name": item["name"],
                "planned_path": item["path"],
                "path": final_path,
                "outcome": outcome,
                "earlier_run": earlier,
                "reason": redact(item["reason"]),
                "error": redact(entry["error"]) if entry and entry.get("error") else None,
                "warnings": [redact(warning) for warning in item.get("warnings", [])],
            }
        )
    for entry in entries:
        if entry.get("status") == "submitted":
            continue
        batch = batch_of.get(entry.get("batch"))
        group = groups.get(batch["group"]) if batch else None
        if group is None:
            continue
        group["timeline"].append(
            {
                "time": entry.get("time"),
                "batch": entry.get("batch"),
                "stage": batch["stage"],
                "name": entry.get("name"),
                "path": entry.get("path"),
                "status": entry.get("status"),
                "changed": entry.get("changed"),
                "duration": entry.get("duration"),
                "health_before": entry.get("health_before"),
                "health_after": entry.get("health_after"),
                "error": redact(entry["error"]) if entry.get("error") else None,
            }
        )
    for group in groups.values():
        group["timeline"].sort(key=lambda event: (event["time"] or "", event["batch"] or 0))
        group["totals"] = {outcome: sum(1 for item in group["items"] if item["outcome"] == outcome) for outcome in OUTCOMES}
        times = [event["time"] for event in group["timeline"] if event["time"]]
        group["started"], group["finished"] = (min(times), max(times)) if times else (None, None)
    return {
        "title": title,
        "ms_version": version,
        "settings": plan["settings"],
        "totals": totals,
        "paths": paths,
        "groups": list(groups.values()),
    }


def stats(report: dict[str, t.Any]) -> dict[str, t.Any]:
    """The few numbers a job summary (AWX ``set_stats``) shows."""
    return {"ms_version": report["ms_version"], "groups": len(report["groups"]), **report["totals"], "paths": report["paths"]}


def _duration(value: t.Any) -> str:
    return "" if value in (None, "") else "%.1f s" % float(value)


def _outcome(item: dict[str, t.Any]) -> str:
    return "%s (earlier run)" % item["outcome"] if item.get("earlier_run") else item["outcome"]


def render_markdown(report: dict[str, t.Any]) -> str:
    totals = report["totals"]
    lines = [
        "# %s" % report["title"],
        "",
        "Management server %s, grouped by %s. Done %d, failed %d, not run %d, skipped %d."
        % (report["ms_version"], report["settings"]["group_by"], totals["done"], totals["failed"], totals["not_run"], totals["skipped"]),
    ]
    for group in report["groups"]:
        lines += ["", "## %s" % group["name"], ""]
        lines += ["| kind | name | planned | path | outcome | why |", "|---|---|---|---|---|---|"]
        for item in group["items"]:
            why = item["error"] or item["reason"]
            lines.append(
                "| %s | %s | %s | %s | %s | %s |" % (item["kind"], item["name"], item["planned_path"], item["path"], _outcome(item), why.replace("|", "\\|"))
            )
        if group["timeline"]:
            lines += ["", "| time | batch | stage | name | path | status | duration | health before | health after | error |", "|" + "---|" * 10]
            for event in group["timeline"]:
                lines.append(
                    "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                    % (
                        event["time"],
                        event["batch"],
                        event["stage"],
                        event["name"],
                        event["path"],
                        event["status"],
                        _duration(event["duration"]),
                        event["health_before"] or "",
                        event["health_after"] or "",
                        (event["error"] or "").replace("|", "\\|"),
                    )
                )
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f0f0f0}.done{background:#e6f4ea}.failed{background:#fce8e6}.not_run{background:#fef7e0}.skipped{color:#666}
.totals span{display:inline-block;margin-right:1.5em;font-weight:bold}
"""


def render_html(report: dict[str, t.Any]) -> str:
    """One page with its style inline, no script and no external resource, so it can be mailed or archived as is."""
    esc = html.escape
    totals = report["totals"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head><body>' % (esc(report["title"]), _STYLE),
        "<h1>%s</h1>" % esc(report["title"]),
        "<p>Management server %s, grouped by %s.</p>" % (esc(report["ms_version"]), esc(report["settings"]["group_by"])),
        '<p class="totals">%s</p>' % "".join("<span>%s: %d</span>" % (esc(name.replace("_", " ")), totals[name]) for name in OUTCOMES),
    ]
    for group in report["groups"]:
        parts.append("<h2>%s</h2>" % esc(group["name"]))
        if group["started"]:
            parts.append("<p>From %s to %s.</p>" % (esc(group["started"]), esc(group["finished"])))
        parts.append("<table><tr><th>kind</th><th>name</th><th>planned</th><th>path</th><th>outcome</th><th>why</th><th>warnings</th></tr>")
        for item in group["items"]:
            parts.append(
                '<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                % (
                    esc(item["outcome"]),
                    esc(item["kind"]),
                    esc(item["name"]),
                    esc(item["planned_path"]),
                    esc(item["path"]),
                    esc(_outcome(item).replace("_", " ")),
                    esc(item["error"] or item["reason"]),
                    "<br>".join(esc(warning) for warning in item["warnings"]),
                )
            )
        parts.append("</table>")
        if group["timeline"]:
            parts.append(
                "<table><tr><th>time</th><th>batch</th><th>stage</th><th>name</th><th>path</th><th>status</th><th>duration</th>"
                "<th>health before</th><th>health after</th><th>error</th></tr>"
            )
            for event in group["timeline"]:
                parts.append(
                    '<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                    % (
                        esc(event["status"] or ""),
                        esc(str(event["time"])),
                        esc(str(event["batch"])),
                        esc(event["stage"]),
                        esc(str(event["name"])),
                        esc(str(event["path"])),
                        esc(str(event["status"])),
                        esc(_duration(event["duration"])),
                        esc(event["health_before"] or ""),
                        esc(event["health_after"] or ""),
                        esc(event["error"] or ""),
                    )
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
