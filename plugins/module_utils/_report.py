# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The upgrade report: what an operator reads the morning after, as JSON, Markdown and one HTML page.

At the top, whether the run finished (or where and why it stopped), the totals, how long it took, and what needs
a hand: failed targets with the error and what to do, targets recreated after a failed live patch, outcomes
unknown, targets skipped or not run with why. Then, group by group, every network/VPC with a row per router (and
a row per system VM): names before and after a recreate, redundant state, template, scripts version, health, job
duration, longest service gap where it was measured; and a timeline of the jobs as an inline SVG.

Pure functions (no I/O). Texts that came from the API go through ``redact``: a report is shared more widely than
the run's log, and must never carry a signed URL or a secret. The HTML page fetches nothing and runs only its own
inline script (allowed by hash in its Content-Security-Policy).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import re
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._actions import Path
from ansible_collections.acs.upgrade.plugins.module_utils._api import redact
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import REFUSED_ACTION, REFUSED_BY_SERVER, STRONGSWAN_WARNING, has_strongswan_caveat
from ansible_collections.acs.upgrade.plugins.module_utils._plan import RECREATE_HINT, is_done, livepatch_failed, target_outcome

# What became of a planned item, in the order the totals show them. "recreated" finished on the legacy path after
# its live patch failed; "unknown" ended without a verdict (a job still running when the run gave up on it); "refused"
# was live-patched but the management server refuses it (NetworkHelperImpl.checkRouterVersion): never done.
OUTCOMES = ("done", "recreated", "failed", "refused", "unknown", "not_run", "skipped")
ATTENTION = ("failed", "refused", "unknown", "recreated", "not_run", "skipped")
OUTCOME_LABELS = {
    "done": "done",
    "recreated": "recreated after a failed live patch",
    "failed": "failed",
    "refused": REFUSED_BY_SERVER,
    "unknown": "outcome unknown",
    "not_run": "not run",
    "skipped": "skipped",
}
STRONGSWAN_CAVEAT = STRONGSWAN_WARNING.replace("template %s ships", "templates 4.14 ship")
# Why an item was not run, by what became of the run (see _run_state). A target left out as unhealthy is "skipped"
# (the journal says so); what the journal does not name was never reached.
NOT_RUN_ACTIONS = {
    "stopped": "the run stopped before it: fix what stopped the run, then run again (finished work is skipped)",
    "killed": "not run yet: the run stopped before reaching it (killed or cancelled); run again to continue (finished work is skipped)",
    "running": "not run yet: the run is still going and had not reached it when this report was written",
    "locked_elsewhere": "not run yet: the run that holds the state lock had not reached it; once that run has ended, run again to continue",
    "not_started": "nothing ran yet (a dry run, or a run that has not started): run the upgrade",
    "approval_refused": "not run: the upgrade was refused because the plan changed since it was approved; make the plan again and have it approved",
    "ended": "the run ended before reaching it, or left its path out: run again to continue (finished work is skipped)",
    "ended_windowed": "outside its maintenance window, or the run ended before reaching it: run again (inside the window) to continue",
}


# ---------------------------------------------------------------------------------------------- times


def _instant(value: t.Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment


def _span(entry: dict[str, t.Any]) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """Start and end of an entry's jobs: recorded by the module, else its record time less its duration."""
    started, finished = _instant(entry.get("started")), _instant(entry.get("finished"))
    recorded = _instant(entry.get("time"))
    if finished is None:
        finished = recorded
    if started is None and finished is not None:
        started = finished - datetime.timedelta(seconds=float(entry.get("duration") or 0))
    return started, finished


def _iso(moment: datetime.datetime | None, timespec: str = "seconds") -> str | None:
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec=timespec) if moment else None


def human_duration(seconds: t.Any) -> str:
    if seconds in (None, ""):
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return "%.1f s" % seconds
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return "%d min %02d s" % (minutes, rest)
    return "%d h %02d min" % divmod(minutes, 60)


# ---------------------------------------------------------------------------------------------- build


def _history(journal: list[dict[str, t.Any]], version: str) -> dict[str, list[dict[str, t.Any]]]:
    """The ends of each item's work; a submit (the engine journals it before the job's end) counts only while it is the last word.

    The end of one job can be journalled twice: a killed attempt's module still follows its jobs in flight, and the
    resumed attempt adopts them. Which writes last is a matter of timing: the job ended once, as the earlier attempt's.
    """
    history: dict[str, list[dict[str, t.Any]]] = {}
    for entry in journal:
        if entry.get("ms_version") in (None, version):
            entries = history.setdefault(entry["key"], [])
            if entries and entries[-1].get("status") == "submitted":
                entries.pop()
            previous = entries[-1] if entries else None
            if previous and entry.get("jobid") and (previous.get("jobid"), previous.get("status")) == (entry["jobid"], entry.get("status")):
                if (entry.get("attempt") or 0) < (previous.get("attempt") or 0):
                    entries[-1] = entry
                continue
            entries.append(entry)
    return history


def _outcome(item: dict[str, t.Any], entries: list[dict[str, t.Any]]) -> str:
    last = entries[-1] if entries else None
    if last is None:
        return "skipped" if item["path"] == Path.SKIP else "not_run"
    if last.get("status") in ("submitted", "unknown"):
        # A job in flight when the run ended, or one that outlived its timeout: it may still be running.
        return "unknown"
    if last.get("status") == "skipped":
        return "skipped"
    if last.get("status") == "refused":
        return "refused"
    if is_done(last):
        return "recreated" if last.get("path") == Path.LEGACY and any(livepatch_failed(entry) for entry in entries) else "done"
    statuses = last.get("statuses")
    # Module target statuses (journals of 0.1.0) that leave the outcome open: the job may still run in the cloud.
    if statuses is not None and (not statuses or any(target_outcome(status) in ("unknown", "submitted") for status in statuses)):
        return "unknown"
    return "failed"


def _never_started(entry: dict[str, t.Any]) -> bool:
    """Whether no job of the entry was started: its targets were all ``not_submitted`` (none sent, none recreated)."""
    statuses = set(entry.get("statuses") or ())
    return bool(statuses) and statuses <= {"not_submitted"}


def _not_running(item: dict[str, t.Any]) -> bool:
    if item["kind"] == "systemvm":
        return item.get("state") not in (None, "Running")
    return not any(router.get("state") == "Running" for router in item.get("routers") or [])


def _action(item: dict[str, t.Any], outcome: str, entries: list[dict[str, t.Any]], run: str, windowed: bool = False) -> str:
    """What the operator does next about an item that needs attention; ``windowed``: its batch has maintenance windows."""
    last = entries[-1] if entries else {}
    error = str(last.get("error") or "")
    if outcome == "failed":
        if _never_started(last):
            return (
                "nothing was started for it and nothing changed (the run stopped sending jobs, or the management server refused it): "
                "fix the cause, then run again"
            )
        if error.startswith("health after the upgrade"):
            return "the job finished but its routers fail their health checks: look at them (playbooks/health.yml), fix, then run again"
        if last.get("path") == Path.LIVEPATCH:
            return "recreate it (run again with livepatch_on_failure=recreate, or playbooks/legacy_recreate.yml), or fix the cause and run again"
        return "read the job's error in the management server log, fix the cause, then run again: finished work is skipped"
    if outcome == "refused":
        return REFUSED_ACTION
    if outcome == "unknown":
        return "its job may still be running: look it up (listAsyncJobs, or the UI's events) and wait for it to end before running again"
    if outcome == "recreated":
        return (
            "nothing to do now: it was recreated from the current template (a redeploy: minutes of downtime); "
            "before the next upgrade, find out why its live patch failed"
        )
    if outcome == "skipped":
        if item["kind"] == "systemvm":
            return "start it (or destroy it so that CloudStack recreates it), then run again"
        return "start the network (or restart it with cleanup), then run again"
    if outcome == "not_run":
        return NOT_RUN_ACTIONS["ended_windowed" if run == "ended" and windowed else run]
    return ""


def _vm_rows(item: dict[str, t.Any], entries: list[dict[str, t.Any]], downtime: dict[str, dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """A row per router of a network/VPC (or one for a system VM): before from the plan, after from the journal."""
    last = next((entry for entry in reversed(entries) if is_done(entry)), entries[-1] if entries else {})
    after = list(last.get("after") or [])
    if item["kind"] == "systemvm":
        before = [{"name": item["name"], "version": item.get("version"), "state": item.get("state")}]
    else:
        before = list(item.get("routers") or [])
    rows = []
    for router in before:
        new = next((vm for vm in after if vm.get("replaced") == router.get("name")), None) or next(
            (vm for vm in after if vm.get("name") == router.get("name")), None
        )
        if new is not None:
            after.remove(new)
        rows.append(_vm_row(item, router, new, last, downtime))
    # Routers that only exist after the job (a recreate that made more routers than it replaced).
    rows.extend(_vm_row(item, {}, vm, last, downtime) for vm in after)
    return rows


def _vm_row(
    item: dict[str, t.Any], before: dict[str, t.Any], after: dict[str, t.Any] | None, entry: dict[str, t.Any], downtime: dict[str, dict[str, t.Any]]
) -> dict[str, t.Any]:
    after = after or {}
    name = before.get("name") or after.get("name")
    new_name = after.get("name") if after.get("name") and after.get("name") != name else None
    gaps = downtime.get(new_name or "") or downtime.get(name or "") or {}
    return {
        "name": name,
        "new_name": new_name,
        "kind": item.get("systemvmtype") or ("router" if item["kind"] != "systemvm" else "systemvm"),
        "state": before.get("state"),
        "redundantstate": after.get("redundantstate") or before.get("redundantstate"),
        "template_before": before.get("version"),
        "template_after": after.get("version"),
        "scripts_before": before.get("scriptsversion"),
        "scripts_after": after.get("scriptsversion"),
        "health_before": entry.get("health_before"),
        "health_after": entry.get("health_after"),
        "duration": entry.get("duration"),
        "downtime": max(gaps.values()) if gaps else None,
        "downtime_services": gaps or None,
    }


def parse_downtime(reports: t.Iterable[dict[str, t.Any]]) -> dict[str, dict[str, float]]:
    """``{router name: {service: longest gap in seconds}}`` from downtime probe reports (``tests/router/probe.py``)."""
    found: dict[str, dict[str, float]] = {}
    for report in reports:
        name = report.get("container") or report.get("name")
        if not name:
            continue
        gaps = {service: float(value["longest_gap"]) for service, value in report.items() if isinstance(value, dict) and "longest_gap" in value}
        if gaps:
            found[str(name)] = gaps
    return found


def _caveat_routers(item: dict[str, t.Any], path: str) -> list[str]:
    """Routers of a live-patched network/VPC whose 4.14 template carries the remote-access VPN caveat (never a system VM)."""
    if item["kind"] == "systemvm" or path != Path.LIVEPATCH:
        return []
    return [router["name"] for router in item.get("routers") or [] if router.get("state") == "Running" and has_strongswan_caveat(router.get("version"))]


def _item_warnings(item: dict[str, t.Any]) -> list[str]:
    """The plan's warnings of an item less the remote-access VPN caveat, which the report shows once per group."""
    # By its wording, whatever version it names: the plan names the template ("4.14.1") where a system VM reports
    # its software version ("4.14.1.0").
    before, after = STRONGSWAN_WARNING.split("%s")
    return [redact(warning) for warning in item.get("warnings") or [] if not (warning.startswith(before) and warning.endswith(after))]


def _earlier_attempt(plan: dict[str, t.Any], entry: dict[str, t.Any] | None) -> bool:
    """Whether a resumed run's entry was written by an earlier attempt of it (the plan's ``run`` counts attempts)."""
    attempt = (plan.get("run") or {}).get("attempt")
    return bool(entry) and attempt is not None and entry.get("attempt") is not None and entry["attempt"] != attempt  # type: ignore[union-attr]


def _run_state(stop_reason: str | None, ran: bool, run_lock: dict[str, t.Any] | None) -> str:
    """What became of the run: stopped (with a reason), not_started, running, killed, locked_elsewhere, or ended.

    A run holds the state lock until it ends, even when it stops on a failure; a run killed or cancelled (an AWX job
    timeout) leaves it behind, its process gone. ``run_lock`` is that lock with ``alive``: whether its process still
    runs (None: it is on another host, which cannot be asked).
    """
    if stop_reason:
        return "stopped"
    if not ran:
        return "not_started"
    if run_lock:
        return {True: "running", False: "killed"}.get(run_lock.get("alive"), "locked_elsewhere")
    return "ended"


def build_report(
    plan: dict[str, t.Any],
    journal: list[dict[str, t.Any]],
    title: str = "CloudStack system VM and router upgrade",
    stop_reason: str | None = None,
    downtime: dict[str, dict[str, float]] | None = None,
    run_lock: dict[str, t.Any] | None = None,
    refusal: dict[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """The report as plain data (what ``report.json`` holds); ``stop_reason`` is the message the run stopped with,
    ``run_lock`` the state lock left next to the journal (see ``_run_state``), None when no run holds it;
    ``refusal`` the record of the last run, refused because this plan changed since it was approved (refused.json)."""
    version = plan["ms_version"]
    history = _history(journal, version)
    entries = [entry for entry in journal if entry.get("ms_version") in (None, version)]
    batch_of = {batch["index"]: batch for batch in plan["batches"]}
    # A run that had nothing to do journals nothing: its end, stamped on the plan's run, says that it ran.
    ran = bool(entries) or bool((plan.get("run") or {}).get("ended"))
    run = "approval_refused" if refusal and not stop_reason else _run_state(stop_reason, ran, run_lock)
    groups: dict[str, dict[str, t.Any]] = {}

    def group_of(name: str) -> dict[str, t.Any]:
        return groups.setdefault(
            name, {"name": name, "batches": [], "units": [], "timeline": [], "gates": [], "caveat": None, "totals": dict.fromkeys(OUTCOMES, 0)}
        )

    for batch in plan["batches"]:
        group_of(batch["group"])["batches"].append(batch["index"])
    totals = dict.fromkeys(OUTCOMES, 0)
    by_path: dict[str, dict[str, int]] = {}
    attention: list[dict[str, t.Any]] = []
    not_targeted = 0
    for item in plan["items"]:
        item_entries = history.get(item["key"], [])
        outcome = _outcome(item, item_entries)
        last = item_entries[-1] if item_entries else None
        final_path = last.get("path") if last else item["path"]
        totals[outcome] += 1
        by_path.setdefault(final_path, dict.fromkeys(OUTCOMES, 0))[outcome] += 1
        group = group_of(item["group"])
        group["totals"][outcome] += 1
        moments = [moment for entry in item_entries for moment in _span(entry) if moment]
        failed_live = next((entry for entry in item_entries if livepatch_failed(entry)), None)
        batch = batch_of.get(item.get("batch"))
        unit = {
            "key": item["key"],
            "kind": item.get("systemvmtype") or item["kind"],
            "name": item["name"],
            "batch": item.get("batch"),
            "canary": bool(batch and batch.get("canary")),
            "planned_path": item["path"],
            "path": final_path,
            "outcome": outcome,
            "earlier_run": outcome in ("done", "recreated") and (item["path"] == Path.SKIP or _earlier_attempt(plan, last)),
            "reason": redact(item["reason"]),
            "error": redact(last["error"]) if last and last.get("error") and outcome != "done" else None,
            "livepatch_error": redact(failed_live["error"]) if failed_live and failed_live.get("error") else None,
            "warnings": _item_warnings(item),
            "health_before": last.get("health_before") if last else None,
            "health_after": last.get("health_after") if last else None,
            "duration": sum(float(entry.get("duration") or 0) for entry in item_entries) or None,
            "started": _iso(min(moments)) if moments else None,
            "finished": _iso(max(moments)) if moments else None,
            "vms": _vm_rows(item, item_entries, downtime or {}),
            "caveat_routers": _caveat_routers(item, final_path),
        }
        # What the needs-attention list shows (and the page's "needs attention only" filter keeps).
        # What include/exclude left out is not targeted: it needs nothing (the plan says why), whatever its state.
        unit["not_targeted"] = bool(item.get("excluded"))
        unit["attention"] = outcome in ATTENTION and not unit["not_targeted"] and not (outcome == "skipped" and not _not_running(item))
        not_targeted += unit["not_targeted"]
        group["units"].append(unit)
        if unit["attention"]:
            # The badge says it failed: the module's "failed: " before the error would only repeat it.
            detail = _strip_prefix(unit["error"], "failed: ") or unit["reason"]
            if outcome == "failed" and item_entries and _never_started(item_entries[-1]):
                detail = "never started: %s" % _strip_prefix(detail, "not_submitted: ")
            if outcome == "recreated":
                detail = _recreated_story(unit)
            elif outcome == "skipped":
                stopped = ", ".join("%s %s" % (vm["name"], vm["state"]) for vm in unit["vms"] if vm["name"])
                detail = "not Running: %s" % stopped if stopped else unit["reason"] or "skipped by the plan (plan.txt says why)"
            attention.append(
                {
                    "outcome": outcome,
                    "kind": unit["kind"],
                    "name": item["name"],
                    "names": [item["name"]],
                    "group": item["group"],
                    "detail": detail,
                    "action": _action(item, outcome, item_entries, run, bool(batch and batch.get("windows"))),
                }
            )
    attention = _collapse_not_run(attention)

    kept = {id(entry) for item_entries in history.values() for entry in item_entries}
    for entry in entries:
        if entry.get("status") == "submitted" or id(entry) not in kept:
            continue  # the end of the same job follows, with its start and end; an end journalled twice is one bar
        batch = batch_of.get(entry.get("batch"))
        if batch is None or batch["group"] not in groups or _never_started(entry):
            continue  # no job ran, so no bar: the needs-attention list says why
        start, end = _span(entry)
        groups[batch["group"]]["timeline"].append(
            {
                "name": entry.get("name"),
                "key": entry.get("key"),
                "batch": entry.get("batch"),
                "stage": batch["stage"],
                "canary": bool(batch.get("canary")),
                "path": entry.get("path"),
                "status": entry.get("status"),
                "started": _iso(start, "milliseconds"),
                "finished": _iso(end, "milliseconds"),
                "time": entry.get("time"),
                "duration": entry.get("duration"),
                "health_before": entry.get("health_before"),
                "health_after": entry.get("health_after"),
                "error": redact(entry["error"]) if entry.get("error") else None,
            }
        )
    for group in groups.values():
        group["timeline"].sort(key=lambda event: (event["started"] or "", event["batch"] or 0))
        # A health gate ends each batch whose routers were judged: the record time of the batch.
        gates: dict[tuple[t.Any, t.Any], dict[str, t.Any]] = {}
        for event in group["timeline"]:
            if event["health_after"] is None:
                continue
            gate = gates.setdefault((event["batch"], event["time"]), {"batch": event["batch"], "time": event["time"], "passed": True})
            gate["passed"] = gate["passed"] and event["health_after"] == "passed"
        group["gates"] = sorted(gates.values(), key=lambda gate: gate["time"] or "")
        # From the first job's start to the last record (the health gate after the last batch included).
        moments = [
            moment for event in group["timeline"] for moment in (_instant(event["started"]), _instant(event["finished"]), _instant(event["time"])) if moment
        ]
        group["started"], group["finished"] = (_iso(min(moments)), _iso(max(moments))) if moments else (None, None)
        group["duration"] = (max(moments) - min(moments)).total_seconds() if moments else None
        caveat_routers = sorted({name for unit in group["units"] for name in unit["caveat_routers"]})
        group["caveat"] = {"text": STRONGSWAN_CAVEAT, "routers": caveat_routers} if caveat_routers else None

    moments = [moment for entry in entries for moment in _span(entry) + (_instant(entry.get("time")),) if moment]
    outcome = _run_outcome(totals, stop_reason, _where_entry(entries, stop_reason), batch_of, run, run_lock)
    if run == "approval_refused" and refusal:
        outcome = _refused_outcome(refusal)
    return {
        "title": title,
        "ms_version": version,
        "settings": plan["settings"],
        "outcome": outcome,
        "started": _iso(min(moments)) if moments else None,
        "finished": _iso(max(moments)) if moments else None,
        "duration": (max(moments) - min(moments)).total_seconds() if moments else None,
        "totals": totals,
        # Of the skipped: what include/exclude left out (never in the needs-attention list).
        "not_targeted": not_targeted,
        "paths": {path: sum(counts.values()) for path, counts in by_path.items()},
        "by_path": by_path,
        "attention": attention,
        "groups": list(groups.values()),
    }


def _strip_prefix(text: str | None, prefix: str) -> str | None:
    return text[len(prefix) :] if text and text.startswith(prefix) else text


# The advice a failed live patch's error ends with (cs_livepatch, cs_upgrade_stage): "recreate it/them", or the
# refused router's "recreate it ... or reboot it". Once the legacy path recreated the item, it is no longer advice.
_RECREATE_ADVICE = re.compile(
    r"(?:;\s*)?(?:a failed live patch leaves the services in an unknown state:\s*)?" + re.escape(RECREATE_HINT).replace("%s", r"[\w ]+?")
)


def _without_advice(text: str | None) -> str | None:
    if not text:
        return text
    text = _RECREATE_ADVICE.sub("", text.replace("; " + REFUSED_ACTION, "").replace(REFUSED_ACTION, ""))
    return text.rstrip("; :") or None


def _recreated_story(unit: dict[str, t.Any]) -> str:
    """What became of an item recreated after a failed live patch, in order: the failure, then the recreate."""
    failure = _without_advice(_strip_prefix(unit["livepatch_error"], "failed: ")) or "no detail"
    then = "then recreated (legacy path)"
    replaced = ", ".join("%s → %s" % (vm["name"] or "(new)", vm["new_name"]) for vm in unit["vms"] if vm["new_name"])
    if replaced:
        then += ": %s" % replaced
    templates = sorted({str(vm["template_after"]) for vm in unit["vms"] if vm["template_after"]})
    if templates:
        then += ", now on template %s" % ", ".join(templates)
    if unit["health_after"]:
        then += "; health afterwards: %s" % unit["health_after"]
    return "live patch failed: %s; %s" % (failure, then)


def _why(unit: dict[str, t.Any]) -> str:
    """The "why" of an item's row, the same in the page and in the Markdown."""
    if unit["outcome"] == "recreated":
        story = _recreated_story(unit)
        return "in an earlier run: %s" % story if unit["earlier_run"] else story
    if unit["earlier_run"]:
        return "finished in an earlier run"
    return unit["error"] or unit["reason"] or ""


def _collapse_not_run(attention: list[dict[str, t.Any]], shown: int = 12) -> list[dict[str, t.Any]]:
    """Problems first; what was not run becomes one entry per group (a run stopped at its canary leaves thousands)."""
    result = [entry for entry in attention if entry["outcome"] != "not_run"]
    by_group: dict[str, list[dict[str, t.Any]]] = {}
    for entry in attention:
        if entry["outcome"] == "not_run":
            by_group.setdefault(entry["group"], []).append(entry)
    for group, entries in by_group.items():
        names = [entry["name"] for entry in entries]
        listed = ", ".join(names[:shown]) + (" and %d more" % (len(names) - shown) if len(names) > shown else "")
        result.append(
            {
                "outcome": "not_run",
                "kind": entries[0]["kind"] if len(names) == 1 else "",
                "name": names[0] if len(names) == 1 else "%d not run" % len(names),
                "names": names,
                "group": group,
                "detail": "planned, never started: %s" % listed,
                "action": entries[0]["action"],
            }
        )
    return sorted(result, key=lambda entry: ATTENTION.index(entry["outcome"]))


def _where_entry(entries: list[dict[str, t.Any]], stop_reason: str | None) -> dict[str, t.Any] | None:
    """The entry that places the run: for a stopped run, the failure it stopped on, not the last job to end.

    Jobs still in flight when a stop rule fires end after the failure that fired it (the rolling window drains),
    and may belong to another batch; the stop message names its target, so the last failed or unknown entry named
    in it is where the run stopped (then the last failed or unknown one, then the last entry).
    """
    if not entries:
        return None
    pools = [entries]
    if stop_reason:
        problems = [entry for entry in entries if entry.get("status") in ("failed", "refused", "unknown")]
        named = [entry for entry in problems if entry.get("name") and re.search(r"(?<![\w.-])%s(?![\w.-])" % re.escape(str(entry["name"])), stop_reason)]
        pools = [named, problems, entries]
    pool = next(pool for pool in pools if pool)
    return max(pool, key=lambda entry: entry.get("time") or "")


def _refused_outcome(refusal: dict[str, t.Any], shown: int = 5) -> dict[str, t.Any]:
    """The last run was refused before any change: the plan changed since it was approved (cs_upgrade_plan's refused.json)."""
    differences = [redact(str(line)) for line in refusal.get("differences") or []]
    if differences:
        why = "the plan it would make now differs from the approved one: %s" % "; ".join(differences[:shown])
        if len(differences) > shown:
            why += "; and %d more (refused.json)" % (len(differences) - shown)
    else:
        why = "another plan was made since (plan.json has digest %s)" % refusal.get("plan_digest")
    summary = (
        "Refused at %s, before any change: the plan changed since it was approved (approved digest %s): %s. "
        "Make the plan again (the plan job) and have the new plan approved; the upgrade then runs it"
        % (refusal.get("time") or "an unknown time", refusal.get("approved_digest"), why)
    )
    return {"group": None, "batch": None, "status": "approval_refused", "summary": summary, "reason": why}


def _run_outcome(
    totals: dict[str, int],
    stop_reason: str | None,
    last_entry: dict[str, t.Any] | None,
    batch_of: dict[int, dict[str, t.Any]],
    run: str,
    run_lock: dict[str, t.Any] | None,
) -> dict[str, t.Any]:
    batch = batch_of.get((last_entry or {}).get("batch"))
    where = {"group": batch["group"], "batch": batch["index"]} if batch else {"group": None, "batch": None}
    place = " in group %s (batch %d)" % (where["group"], where["batch"]) if batch else ""
    if run == "stopped":
        return dict(where, status="stopped", summary="Stopped%s because %s" % (place, redact(stop_reason)), reason=redact(stop_reason))
    if run == "not_started":
        return dict(where, status="not_started", summary="Nothing ran yet: this report shows the plan (a dry run, or a run that has not started)", reason=None)
    problems = totals["failed"] + totals["refused"] + totals["unknown"]
    counts = ", ".join("%d %s" % (totals[name], OUTCOME_LABELS[name]) for name in OUTCOMES if totals[name])
    left = "%d not run yet, %d failed or unknown" % (totals["not_run"], problems)
    if run_lock and (totals["not_run"] or totals["unknown"]):
        holder = "pid %s on %s, started %s" % (run_lock.get("pid"), run_lock.get("host"), run_lock.get("start"))
        if run == "running":
            return dict(where, status="in_progress", summary="In progress (%s): %s so far" % (holder, left), reason=None)
        if run == "killed":
            reason = "the run ended before it finished (killed or cancelled: %s, is gone)" % holder
            return dict(where, status="stopped", summary="Stopped%s: %s; %s: run again to continue" % (place, reason, left), reason=reason)
        return dict(
            where,
            status="incomplete",
            summary="Incomplete: the run that holds the state lock (%s) is still going or was killed; %s" % (holder, left),
            reason=None,
        )
    if totals["not_run"]:
        return dict(
            where,
            status="incomplete",
            summary="Incomplete: %d not run (outside their maintenance window, or not reached by the run), %d failed or unknown"
            % (totals["not_run"], problems),
            reason=None,
        )
    if problems:
        return dict(where, status="finished_with_failures", summary="Finished with %d failed or unknown: %s" % (problems, counts), reason=None)
    if not any(totals[name] for name in OUTCOMES if name != "skipped"):
        return dict(where, status="finished", summary="Finished: nothing to upgrade (%d skipped)" % totals["skipped"], reason=None)
    return dict(where, status="finished", summary="Finished: %s" % counts, reason=None)


# Names of failed, unknown and recreated targets (and entries of the needs-attention list) a module result carries by
# default; the report files hold them all. An Ansible result is an event of the job: AWX drops event data over about
# 700 KB and then shows nothing of the task.
NAMES_LIMIT = 20


def stats(report: dict[str, t.Any], limit: int = NAMES_LIMIT) -> dict[str, t.Any]:
    """What a job summary (AWX ``set_stats``) shows: outcome, totals, and the names of the first ``limit`` targets
    that failed, have no known outcome or were recreated, with how many more there are (``failed_more``, ...)."""
    names: dict[str, list[str]] = {"failed": [], "refused": [], "unknown": [], "recreated": []}
    for entry in report["attention"]:
        names.get(entry["outcome"], []).extend(entry["names"])
    result = {
        "ms_version": report["ms_version"],
        "outcome": report["outcome"]["status"],
        "groups": len(report["groups"]),
        **report["totals"],
        "paths": report["paths"],
        "by_path": report["by_path"],
        "duration": report["duration"],
    }
    for outcome, listed in names.items():
        result["%s_names" % outcome] = listed[:limit]
        result["%s_more" % outcome] = max(0, len(listed) - limit)
    return result


def _clip(text: str | None, length: int = 300) -> str | None:
    """A text of a result: an error the API gave may be a page long; the report files keep it whole."""
    return text if text is None or len(text) <= length else text[: length - 1] + "…"


def summary(report: dict[str, t.Any], limit: int = NAMES_LIMIT) -> dict[str, t.Any]:
    """The module result: the verdict, the totals and the first ``limit`` entries of the needs-attention list (each
    without the full list of names a collapsed "not run" entry keeps), never the rows: those are in the files."""
    keys = ("outcome", "kind", "name", "group", "action")
    attention = [dict({key: entry[key] for key in keys}, detail=_clip(entry["detail"])) for entry in report["attention"][:limit]]
    return {
        "outcome": report["outcome"],
        "stats": stats(report, limit),
        "attention": attention,
        "attention_more": max(0, len(report["attention"]) - limit),
    }


# ---------------------------------------------------------------------------------------------- Markdown


# A "<" that a Markdown renderer would take for the start of an HTML tag, a comment or an autolink.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def _md(text: t.Any) -> str:
    """A table cell: no pipe, no line break, no "<" a Markdown renderer would take for HTML (a backslash before it:
    it shows as itself). Plain text otherwise: "50 -> 2" stays as it is, never an HTML entity."""
    return _TAG_START.sub(r"\\<", str("" if text is None else text).replace("|", "\\|").replace("\n", " "))


def _arrow(before: t.Any, after: t.Any) -> str:
    if not after or after == before:
        return str(before or "")
    return "%s → %s" % (before or "?", after)


def _gap(vm: dict[str, t.Any]) -> str:
    return "" if vm["downtime"] is None else "%.2f s" % vm["downtime"]


def render_markdown(report: dict[str, t.Any]) -> str:
    totals = report["totals"]
    lines = [
        "# %s" % report["title"],
        "",
        "**%s.**" % _md(report["outcome"]["summary"]),
        "",
        "Management server %s, grouped by %s. %s."
        % (report["ms_version"], report["settings"]["group_by"], ", ".join("%s %d" % (OUTCOME_LABELS[name], totals[name]) for name in OUTCOMES)),
    ]
    if report.get("not_targeted"):
        lines[-1] += " Of the skipped, %d not targeted (left out by include/exclude)." % report["not_targeted"]
    if report["started"]:
        lines.append("From %s to %s (%s)." % (report["started"], report["finished"], human_duration(report["duration"])))
    lines += _preflight_markdown(report.get("preflight"))
    lines += ["", "## Needs attention", ""]
    if report["attention"]:
        lines += ["| outcome | kind | name | group | what happened | what to do |", "|---|---|---|---|---|---|"]
        lines += [
            "| %s | %s | %s | %s | %s | %s |"
            % (OUTCOME_LABELS[entry["outcome"]], entry["kind"], _md(entry["name"]), _md(entry["group"]), _md(entry["detail"]), _md(entry["action"]))
            for entry in report["attention"]
        ]
    else:
        lines.append("Nothing.")
    for group in report["groups"]:
        lines += ["", "## %s" % _md(group["name"]), ""]
        if group["started"]:
            lines += ["From %s to %s (%s)." % (group["started"], group["finished"], human_duration(group["duration"])), ""]
        if group["caveat"]:
            lines += ["> %s: %s" % (group["caveat"]["text"], _md(", ".join(group["caveat"]["routers"]))), ""]
        lines += [
            "| network/VPC | kind | name | redundant | path | outcome | template | scripts | health | duration | longest gap | why | warnings |",
            "|" + "---|" * 13,
        ]
        for unit in group["units"]:
            why = _why(unit)
            for vm in unit["vms"] or [{}]:
                lines.append(
                    "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                    % (
                        _md(unit["name"] if unit["kind"] in ("network", "vpc") else ""),
                        vm.get("kind") or unit["kind"],
                        _md(_arrow(vm.get("name"), vm.get("new_name"))),
                        _md(_redundant(unit, vm)),
                        unit["path"],
                        OUTCOME_LABELS[unit["outcome"]],
                        _md(_arrow(vm.get("template_before"), vm.get("template_after"))),
                        _md(_arrow(_short(vm.get("scripts_before")), _short(vm.get("scripts_after")))),
                        _md(_arrow(vm.get("health_before"), vm.get("health_after"))),
                        human_duration(unit["duration"]),
                        _gap(vm) if vm else "",
                        _md(why),
                        _md("; ".join(unit["warnings"])),
                    )
                )
    return "\n".join(lines) + "\n"


def preflight_summary(preflight: t.Mapping[str, t.Any] | None, limit: int = NAMES_LIMIT) -> dict[str, t.Any] | None:
    """What the report keeps of the preflight (``cs_upgrade_preflight``'s result): verdict, counts, the findings that are
    not info, each with at most ``limit`` objects."""
    if not preflight:
        return None
    findings = [
        dict(item, objects=list(item.get("objects") or [])[:limit], objects_more=max(0, len(item.get("objects") or []) - limit))
        for item in preflight.get("findings") or []
        if item.get("severity") != "info"
    ]
    return {
        "passed": bool(preflight.get("passed")),
        "checked_at": preflight.get("checked_at"),
        "counts": dict(preflight.get("counts") or {}),
        "ignored_checks": list(preflight.get("ignored_checks") or []),
        "findings": findings,
    }


def _preflight_verdict(preflight: t.Mapping[str, t.Any]) -> str:
    counts = preflight["counts"]
    return "Preflight %s at %s: %d blocker(s), %d warning(s), %d accepted by the operator (%s)" % (
        "passed" if preflight["passed"] else "blocked the run",
        preflight.get("checked_at") or "?",
        counts.get("blocker", 0),
        counts.get("warning", 0),
        counts.get("ignored", 0),
        ", ".join(preflight["ignored_checks"]) or "none ignored",
    )


def _preflight_markdown(preflight: t.Mapping[str, t.Any] | None) -> list[str]:
    if not preflight:
        return []
    lines = ["", "## Preflight", "", "%s." % _md(_preflight_verdict(preflight))]
    if preflight["findings"]:
        lines += ["", "| severity | check | found | what to do |", "|---|---|---|---|"]
        lines += [
            "| %s%s | %s | %s | %s |" % (item["severity"], " (accepted)" if item.get("ignored") else "", item["check"], _md(item["found"]), _md(item["action"]))
            for item in preflight["findings"]
        ]
    return lines


def _preflight_html(preflight: t.Mapping[str, t.Any] | None) -> list[str]:
    if not preflight:
        return []
    esc = html.escape
    parts = ['<h2 id="preflight">Preflight</h2>', '<p class="muted">%s.</p>' % esc(_preflight_verdict(preflight))]
    if preflight["findings"]:
        parts.append('<table id="preflight-findings"><thead><tr><th>severity</th><th>check</th><th>found</th><th>what to do</th></tr></thead><tbody>')
        for item in preflight["findings"]:
            parts.append(
                '<tr class="%s"><td>%s%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                % (
                    "failed" if item["severity"] == "blocker" and not item.get("ignored") else "unknown",
                    esc(item["severity"]),
                    " (accepted)" if item.get("ignored") else "",
                    esc(item["check"]),
                    esc(item["found"]),
                    esc(item["action"]),
                )
            )
        parts.append("</tbody></table>")
    return parts


def _short(checksum: t.Any) -> str:
    return str(checksum)[:8] if checksum else ""


# ---------------------------------------------------------------------------------------------- HTML

_STYLE = """
:root{--done:#1e8e3e;--recreated:#e37400;--failed:#d93025;--refused:#a50e0e;--unknown:#9334e6;--not_run:#80868b;--skipped:#bdc1c6}
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#202124;font-size:14px}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:2px solid #dadce0}
.verdict{font-size:1.2em;font-weight:600;padding:.6em .8em;border-radius:6px;margin:.6em 0}
.verdict.finished{background:#e6f4ea}.verdict.stopped,.verdict.finished_with_failures,.verdict.approval_refused{background:#fce8e6}
.verdict.incomplete,.verdict.not_started,.verdict.in_progress{background:#fef7e0}
.totals{display:flex;flex-wrap:wrap;gap:.5em;margin:.6em 0}
.totals span{border-radius:4px;padding:.2em .6em;background:#f1f3f4}.totals b{font-size:1.2em;margin-right:.3em}
table{border-collapse:collapse;margin:.4em 0 1em;width:100%}
th,td{border-bottom:1px solid #e0e0e0;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#f1f3f4;position:sticky;top:0}th.sort{cursor:pointer;user-select:none}th.sort:after{content:" \\2195";color:#9aa0a6}
tr.unit td{border-top:2px solid #bdc1c6;background:#fafafa}tr.unit td:first-child{font-weight:600}
.badge{display:inline-block;border-radius:3px;padding:0 .4em;color:#fff;font-size:.85em;font-weight:600}
.badge.done{background:var(--done)}.badge.recreated{background:var(--recreated)}.badge.failed{background:var(--failed)}.badge.refused{background:var(--refused)}
.badge.unknown{background:var(--unknown)}.badge.not_run{background:var(--not_run)}.badge.skipped{background:var(--skipped);color:#202124}
#attention td:first-child,#attention td:nth-child(2){white-space:nowrap}
table.targets td:first-child{white-space:nowrap;max-width:22em;overflow:hidden;text-overflow:ellipsis}
table.targets td:nth-child(9),table.targets td:nth-child(10){white-space:nowrap}
.legend{font-size:.85em;color:#5f6368;margin:-.4em 0 .8em}.legend i{display:inline-block;width:.9em;height:.9em;margin:0 .25em 0 .8em;vertical-align:-.1em}
.legend .l-done{background:#1e8e3e}.legend .l-recreated{background:#e37400}.legend .l-failed{background:#d93025}.legend .l-unknown{background:#9334e6}
.legend .l-lpfailed{background:#f28b82}.legend .l-canary{background:#fef7e0;border:1px solid #f9ab00}.legend .l-gate{border-left:2px dashed #1a73e8;width:0}
.muted{color:#5f6368}.warn{color:#b06000}
.caveat{background:#fef7e0;border-left:4px solid #f9ab00;padding:.4em .7em;margin:.4em 0}
.filters{margin:1em 0;display:flex;gap:1em;align-items:center}.filters input[type=search]{width:24em;padding:.3em}
svg.gantt{width:100%;height:auto;max-width:1100px;display:block;margin:.3em 0 .8em}
code{font-size:.9em}
@media print{
  body{margin:0;font-size:10px}.filters{display:none}tbody{display:table-row-group!important}
  th{position:static}th.sort:after{content:none}table.targets td:nth-child(n+2){white-space:normal}tr,svg.gantt,.caveat{break-inside:avoid}h2{break-after:avoid}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

# Filter box (text, and "needs attention only"; a link to report.html#filter=TEXT opens filtered) and sortable
# columns; a network/VPC moves with its routers. It marks the page once it ran (data-script="ran", and data-style
# says whether the browser applied the inline style).
_SCRIPT = """
(function(){
var q=document.getElementById('filter'),only=document.getElementById('only-attention');
function apply(){var text=q.value.toLowerCase(),bad=only.checked;
document.querySelectorAll('tbody.unit').forEach(function(b){
var show=(!text||b.textContent.toLowerCase().indexOf(text)>=0)&&(!bad||b.dataset.attention==='1');b.hidden=!show;});}
q.addEventListener('input',apply);only.addEventListener('change',apply);
if(location.hash.indexOf('#filter=')===0){try{q.value=decodeURIComponent(location.hash.slice(8));}catch(e){q.value=location.hash.slice(8);}apply();}
document.documentElement.setAttribute('data-script','ran');
document.documentElement.setAttribute('data-style',document.styleSheets.length?'applied':'blocked');
document.querySelectorAll('table.targets th.sort').forEach(function(th){th.addEventListener('click',function(){
var table=th.closest('table'),col=th.cellIndex,asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
var bodies=Array.prototype.slice.call(table.querySelectorAll('tbody.unit'));
function key(b){var c=b.rows[0].cells[col];return c.dataset.sort!==undefined?c.dataset.sort:c.textContent.trim().toLowerCase();}
bodies.sort(function(a,b){var x=key(a),y=key(b),nx=parseFloat(x),ny=parseFloat(y);
var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:(x<y?-1:x>y?1:0);return asc?r:-r;});
bodies.forEach(function(b){table.appendChild(b);});});});
})();
"""

_COLORS = {
    "done": "#1e8e3e",
    "recreated": "#e37400",
    "failed": "#d93025",
    "refused": "#a50e0e",
    "unknown": "#9334e6",
    "livepatch_failed": "#f28b82",
}


def _csp_hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _badge(outcome: str) -> str:
    return '<span class="badge %s">%s</span>' % (outcome, html.escape(OUTCOME_LABELS[outcome]))


def _arrow_html(before: t.Any, after: t.Any, short: bool = False) -> str:
    esc = html.escape

    def show(value: t.Any) -> str:
        if not value:
            return '<span class="muted">?</span>'
        return '<span title="%s">%s</span>' % (esc(str(value)), esc(_short(value))) if short else esc(str(value))

    if not after:
        return show(before) if before else ""
    if after == before:
        return show(after)
    # In a narrow column it wraps after the arrow, never before it.
    return "%s&nbsp;→ %s" % (show(before), show(after))


def _health(before: t.Any, after: t.Any) -> str:
    """Health before → after; one word when it did not change, nothing when it was never judged."""

    def show(value: t.Any) -> str:
        if not value:
            return '<span class="muted">not judged</span>'
        return html.escape(str(value)) if value == "passed" else '<span class="warn">%s</span>' % html.escape(str(value))

    if not before and not after:
        return ""
    return show(after) if before == after else "%s → %s" % (show(before), show(after))


def _redundant(unit: dict[str, t.Any], vm: dict[str, t.Any]) -> str:
    """A router's redundant state; nothing for a router that is not one of a redundant pair, for which CloudStack says
    UNKNOWN. A pair's router may say UNKNOWN too (a new one, until CheckRouterTask runs): that one is shown."""
    state = vm.get("redundantstate")
    if not state or (state == "UNKNOWN" and not (unit["kind"] in ("network", "vpc") and len(unit["vms"]) > 1)):
        return ""
    return str(state)


# Up to this many targets a timeline has a labelled row per target; beyond, bars that do not overlap share a row.
GANTT_LABELLED_ROWS = 60
# What fits the label column of a timeline (170 px at 11 px).
GANTT_LABEL_CHARS = 26


def _gantt_rows(events: list[dict[str, t.Any]]) -> tuple[dict[int, int], list[str]]:
    """(row of each event, row labels): a row per target, or for a large group as few rows as jobs ran at once."""
    targets = list(dict.fromkeys(event["name"] for event in events))
    if len(targets) <= GANTT_LABELLED_ROWS:
        index = {name: number for number, name in enumerate(targets)}
        return {id(event): index[event["name"]] for event in events}, [str(name) for name in targets]
    ends: list[str] = []  # per row, when its last bar ends
    rows = {}
    for event in sorted(events, key=lambda event: event["started"]):
        free = next((number for number, end in enumerate(ends) if end <= event["started"]), None)
        if free is None:
            ends.append(event["finished"])
            free = len(ends) - 1
        ends[free] = event["finished"]
        rows[id(event)] = free
    labels = [""] * len(ends)
    labels[0] = "%d targets, packed" % len(targets)
    if len(labels) > 1:
        labels[1] = "(hover for names)"
    return rows, labels


# Steps of a timeline's axis in milliseconds, from a tenth of a second to a day: the first that gives at most
# GANTT_TICKS labels is taken, each label on a whole multiple of it (so no two labels are the same).
GANTT_STEPS = tuple(
    int(seconds * 1000)
    for seconds in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
)
GANTT_TICKS = 6


def _ticks(start: datetime.datetime, total: float) -> list[tuple[float, str]]:
    """(seconds after ``start``, label) of the time axis of a timeline ``total`` seconds long, in UTC.

    Labels fall on round times and show what tells them apart: tenths of a second for a span of a second or two,
    seconds for a short span, minutes for a longer one (and the day for one over a day)."""
    first = int(start.timestamp() * 1000)
    last = first + int(round(total * 1000))
    day = GANTT_STEPS[-1]
    step = next((step for step in GANTT_STEPS if (last - first) // step + 1 <= GANTT_TICKS), day * ((last - first) // (day * (GANTT_TICKS - 1)) + 1))
    if step < 1000:
        shape = "%H:%M:%S.{tenths}"
    elif step < 60_000:
        shape = "%H:%M:%S"
    elif step < 21_600_000:
        shape = "%H:%M"
    else:
        shape = "%m-%d %H:%M"
    ticks = []
    for moment in range(-(-first // step) * step, last + 1, step):
        when = datetime.datetime.fromtimestamp(moment / 1000, datetime.timezone.utc)
        ticks.append(((moment - first) / 1000, when.strftime(shape).replace("{tenths}", str(moment % 1000 // 100))))
    return ticks


def _gantt(group: dict[str, t.Any]) -> str:
    """One bar per target over the group's time: coloured by outcome, the canary batch shaded, health gates as lines."""
    esc = html.escape
    events = [event for event in group["timeline"] if event["started"] and event["finished"]]
    if not events:
        return '<p class="muted">No job ran in this group: no timeline.</p>'
    row_of, names = _gantt_rows(events)
    start = min(_instant(event["started"]) for event in events)  # type: ignore[type-var]
    end = max(_instant(event["finished"]) for event in events)  # type: ignore[type-var]
    gate_times = [_instant(gate["time"]) for gate in group["gates"] if gate["time"]]
    end = max([end] + [moment for moment in gate_times if moment])  # type: ignore[type-var]
    total = max((end - start).total_seconds(), 1.0)  # type: ignore[operator]
    label_width, width, row, top = 170, 900, 16, 30
    plot = width - label_width - 10
    height = top + row * len(names) + 24

    def x(moment: datetime.datetime | None) -> float:
        return label_width + plot * (moment - start).total_seconds() / total  # type: ignore[operator]

    unit_outcome = {unit["key"]: unit["outcome"] for unit in group["units"]}
    parts = [
        # Inline SVG in HTML needs no namespace declaration: the page names no URL at all.
        '<svg class="gantt" viewBox="0 0 %d %d" role="img" aria-label="timeline of %s">' % (width, height, esc(group["name"])),
        "<title>Jobs of %s over time</title>" % esc(group["name"]),
    ]
    canary = [event for event in events if event["canary"]]
    if canary:
        left = x(min(_instant(event["started"]) for event in canary))  # type: ignore[type-var]
        right = max(x(max(_instant(event["finished"]) for event in canary)), left + 3)  # type: ignore[type-var]
        parts.append('<rect class="canary" x="%.1f" y="%d" width="%.1f" height="%d" fill="#fef7e0"/>' % (left, top - 6, right - left, row * len(names) + 6))
        parts.append('<text x="%.1f" y="%d" font-size="10" fill="#b06000">canary</text>' % (left, top - 8))
    for seconds, label in _ticks(start, total):  # type: ignore[arg-type]
        tx = label_width + plot * seconds / total
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>' % (tx, top - 4, tx, top + row * len(names)))
        # Centred under its line, but kept inside the picture at its right edge.
        anchor = "end" if tx > width - 30 else "middle"
        parts.append(
            '<text class="tick" x="%.1f" y="%d" font-size="10" fill="#5f6368" text-anchor="%s">%s</text>' % (tx, height - 8, anchor, esc(label))
        )
    parts.append('<text x="%d" y="%d" font-size="10" fill="#5f6368" text-anchor="end">UTC</text>' % (label_width - 6, height - 8))
    for index, name in enumerate(names):
        y = top + index * row
        # A label longer than its column would run off the left edge: cut it, the full name in its tooltip.
        label = str(name) if len(str(name)) <= GANTT_LABEL_CHARS else str(name)[: GANTT_LABEL_CHARS - 1] + "…"
        parts.append(
            '<text class="label" x="%d" y="%d" font-size="11" text-anchor="end" fill="#202124"><title>%s</title>%s</text>'
            % (label_width - 6, y + 11, esc(str(name)), esc(label))
        )
    for event in events:
        y = top + row_of[id(event)] * row
        left = x(_instant(event["started"]))
        length = max(x(_instant(event["finished"])) - left, 2.0)
        if event["status"] == "done":
            colour = _COLORS[unit_outcome.get(event["key"], "done")] if event["path"] == Path.LEGACY else _COLORS["done"]
        elif event["path"] == Path.LIVEPATCH and unit_outcome.get(event["key"]) == "recreated":
            colour = _COLORS["livepatch_failed"]
        else:
            colour = _COLORS["unknown"] if unit_outcome.get(event["key"]) == "unknown" else _COLORS["failed"]
        tip = "%s: %s %s, batch %s%s, %s to %s (%s)%s" % (
            event["name"],
            event["path"],
            event["status"],
            event["batch"],
            " (canary)" if event["canary"] else "",
            event["started"],
            event["finished"],
            human_duration(event["duration"]),
            ": %s" % event["error"] if event["error"] else "",
        )
        parts.append(
            '<rect class="bar %s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s</title></rect>'
            % (esc(str(event["status"])), left, y + 2, length, row - 5, colour, esc(tip))
        )
    for gate in group["gates"]:
        moment = _instant(gate["time"])
        if moment is None:
            continue
        gx = x(moment)
        colour = "#1a73e8" if gate["passed"] else _COLORS["failed"]
        parts.append(
            '<line class="gate" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="3,2"><title>health gate after batch %s: %s</title></line>'
            % (gx, top - 4, gx, top + row * len(names), colour, gate["batch"], "passed" if gate["passed"] else "failed")
        )
        parts.append('<text x="%.1f" y="%d" font-size="9" fill="%s" text-anchor="middle">%s</text>' % (gx, top - 16, colour, "✓" if gate["passed"] else "✗"))
    parts.append("</svg>")
    return "".join(parts)


_LEGEND = (
    '<div class="legend"><i class="l-done"></i>done<i class="l-recreated"></i>recreated<i class="l-lpfailed"></i>live patch failed, then recreated'
    '<i class="l-failed"></i>failed<i class="l-unknown"></i>outcome unknown<i class="l-canary"></i>canary batch<i class="l-gate"></i>health gate '
    "(✓ passed, ✗ failed)</div>"
)
_COLUMNS = ("network/VPC or VM", "kind", "redundant", "path", "outcome", "template", "scripts", "health", "duration", "longest gap", "why")


def _unit_rows(unit: dict[str, t.Any]) -> str:
    esc = html.escape
    is_unit = unit["kind"] in ("network", "vpc")
    why = esc(_why(unit))
    warnings = "".join('<div class="warn">%s</div>' % esc(warning) for warning in unit["warnings"])
    attention = "1" if unit["attention"] else "0"
    vm = unit["vms"][0] if unit["vms"] and not is_unit else {}
    head = (
        '<tr class="unit"><td title="%s">%s%s</td><td>%s</td><td>%s</td><td>%s</td><td data-sort="%d">%s</td><td>%s</td><td>%s</td><td>%s</td>'
        '<td data-sort="%s">%s</td><td data-sort="%s">%s</td><td>%s%s</td></tr>'
        % (
            esc(unit["name"]),
            esc(unit["name"]),
            ' <span class="muted">(canary)</span>' if unit["canary"] else "",
            esc(unit["kind"]),
            esc(_redundant(unit, vm)),
            esc(unit["path"]),
            OUTCOMES.index(unit["outcome"]),
            _badge(unit["outcome"]),
            _arrow_html(vm.get("template_before"), vm.get("template_after")) if vm else "",
            _arrow_html(vm.get("scripts_before"), vm.get("scripts_after"), short=True) if vm else "",
            _health(unit["health_before"], unit["health_after"]) if is_unit else "",
            unit["duration"] or 0,
            esc(human_duration(unit["duration"])),
            vm.get("downtime") if vm.get("downtime") is not None else -1,
            "%.2f s" % vm["downtime"] if vm.get("downtime") is not None else "",
            why,
            warnings,
        )
    )
    rows = [head]
    for vm in unit["vms"] if is_unit else []:
        name = esc(vm["name"] or "")
        title = vm["name"] or ""
        if vm["new_name"]:
            name = '%s → %s' % (name or '<span class="muted">(new)</span>', esc(vm["new_name"]))
            title = "%s → %s" % (vm["name"] or "(new)", vm["new_name"])
        gaps = vm["downtime_services"] or {}
        rows.append(
            '<tr class="vm"><td title="%s">&nbsp;&nbsp;%s</td><td>router</td><td>%s</td><td></td><td></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
            '<td title="%s">%s</td><td>%s</td></tr>'
            % (
                esc(title),
                name,
                esc(_redundant(unit, vm)),
                _arrow_html(vm["template_before"], vm["template_after"]),
                _arrow_html(vm["scripts_before"], vm["scripts_after"], short=True),
                _health(vm["health_before"], vm["health_after"]),
                esc(human_duration(vm["duration"])),
                esc(", ".join("%s %.2f s" % item for item in sorted(gaps.items()))),
                "%.2f s" % vm["downtime"] if vm["downtime"] is not None else "",
                "" if vm["state"] in (None, "Running") else '<span class="warn">%s</span>' % esc(vm["state"]),
            )
        )
    return '<tbody class="unit" data-outcome="%s" data-attention="%s">%s</tbody>' % (unit["outcome"], attention, "".join(rows))


def render_html(report: dict[str, t.Any]) -> str:
    """One page: inline style, inline script allowed by hash, inline SVG; nothing fetched, so it can be mailed or archived."""
    esc = html.escape
    totals = report["totals"]
    csp = "default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (_csp_hash(_STYLE), _csp_hash(_SCRIPT))
    outcome = report["outcome"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % esc(csp),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title><style>%s</style></head><body>" % (esc(report["title"]), _STYLE),
        "<h1>%s</h1>" % esc(report["title"]),
        '<div id="outcome" class="verdict %s">%s</div>' % (esc(outcome["status"]), esc(outcome["summary"])),
        '<p class="muted">Management server %s, grouped by %s%s.</p>'
        % (
            esc(report["ms_version"]),
            esc(report["settings"]["group_by"]),
            ", from %s to %s (%s)" % (esc(report["started"]), esc(report["finished"]), esc(human_duration(report["duration"]))) if report["started"] else "",
        ),
        '<div class="totals" id="totals">%s%s</div>'
        % (
            "".join('<span><b>%d</b>%s</span>' % (totals[name], esc(OUTCOME_LABELS[name])) for name in OUTCOMES),
            '<span><b>%d</b>of the skipped: not targeted</span>' % report["not_targeted"] if report.get("not_targeted") else "",
        ),
    ]
    rows = []
    for path, counts in sorted(report["by_path"].items()):
        rows.append(
            "<tr><td>%s</td>%s<td>%d</td></tr>" % (esc(path), "".join("<td>%s</td>" % (counts[name] or "") for name in OUTCOMES), sum(counts.values()))
        )
    parts.append(
        '<table id="by-path"><thead><tr><th>path</th>%s<th>total</th></tr></thead><tbody>%s</tbody></table>'
        % ("".join("<th>%s</th>" % esc(OUTCOME_LABELS[name]) for name in OUTCOMES), "".join(rows))
    )
    parts.extend(_preflight_html(report.get("preflight")))
    parts.append('<h2 id="needs-attention">Needs attention (%d)</h2>' % len(report["attention"]))
    if report["attention"]:
        parts.append(
            '<table id="attention"><thead><tr><th>outcome</th><th>name</th><th>group</th><th>what happened</th><th>what to do</th></tr></thead><tbody>'
        )
        for entry in report["attention"]:
            parts.append(
                '<tr class="%s"><td>%s</td><td>%s <span class="muted">%s</span></td><td>%s</td><td>%s</td><td>%s</td></tr>'
                % (
                    esc(entry["outcome"]),
                    _badge(entry["outcome"]),
                    esc(entry["name"]),
                    esc(entry["kind"]),
                    esc(entry["group"]),
                    esc(entry["detail"]),
                    esc(entry["action"]),
                )
            )
        parts.append("</tbody></table>")
    else:
        parts.append('<p id="attention-none">Nothing: every planned item is done.</p>')
    parts.append(
        '<div class="filters"><input type="search" id="filter" placeholder="Filter: name, router, outcome, error…" aria-label="filter">'
        '<label><input type="checkbox" id="only-attention"> needs attention only</label></div>'
    )
    for group in report["groups"]:
        parts.append('<section class="group" data-group="%s">' % esc(group["name"]))
        parts.append("<h2>%s</h2>" % esc(group["name"]))
        counts = ", ".join("%d %s" % (group["totals"][name], OUTCOME_LABELS[name]) for name in OUTCOMES if group["totals"][name])
        span = " From %s to %s (%s)." % (group["started"], group["finished"], human_duration(group["duration"])) if group["started"] else ""
        parts.append('<p class="muted">%s.%s</p>' % (esc(counts or "nothing planned"), esc(span)))
        if group["caveat"]:
            parts.append(
                '<div class="caveat"><b>Remote-access VPN:</b> %s. Routers on a 4.14 template here: %s</div>'
                % (esc(group["caveat"]["text"]), esc(", ".join(group["caveat"]["routers"])))
            )
        parts.append(_gantt(group))
        if group["timeline"]:
            parts.append(_LEGEND)
        parts.append(
            '<table class="targets"><thead><tr>%s</tr></thead>%s</table>'
            % ("".join('<th class="sort">%s</th>' % esc(column) for column in _COLUMNS), "".join(_unit_rows(unit) for unit in group["units"]))
        )
        parts.append("</section>")
    parts.append("<script>%s</script></body></html>" % _SCRIPT)
    return "\n".join(parts) + "\n"
