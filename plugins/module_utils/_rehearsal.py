# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What a rehearsal predicts: the report of the upgrade run on the simulated copy, brought back to real scale.

A span of the rehearsed run (a group, the whole run) is split in two with the simulator's job log: the time during which
at least one job ran, and the rest, the controller's own time (planning, stages starting, read-backs between stages),
which does not depend on the factor and is kept as measured. The job time at real scale comes from replaying each stage's
jobs, their durations divided by the time factor, in the run's window (:func:`replay`): at a small time factor a large
stage is paced by the controller, not by its jobs, and dividing its wall time by the factor would multiply the
controller's time too (a rehearsal of 10,000 routers at 0.01 predicted six times the time of the run at real scale).
Without the journal, the job time is divided by the factor; without the job log, every second is. The range applies to
the job time the spread of the cloud's own job durations (the snapshot's history): its 10th and 90th
percentiles over the median, per command, pooled; without history, the spread of the simulator's default model (two
thirds to four thirds of the mean).
"""

from __future__ import annotations

import datetime
import heapq
import html
import statistics
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._report import _instant

DEFAULT_SPREAD = (2 / 3, 4 / 3)
LABEL = "REHEARSAL"


def spread(history: t.Mapping[str, t.Any]) -> tuple[float, float]:
    """(low, high) factors around a predicted duration, from the snapshot's job history."""
    ratios = []
    for entry in history.values():
        seconds = [float(sample["seconds"]) for sample in entry.get("samples") or []]
        median = statistics.median(seconds) if seconds else 0
        if median > 0:
            ratios += [value / median for value in seconds]
    if len(ratios) < 2:
        return DEFAULT_SPREAD
    ratios.sort()
    return ratios[int(len(ratios) * 0.1)], ratios[min(len(ratios) - 1, int(len(ratios) * 0.9))]


def window_seconds(window: t.Any) -> float | None:
    """The length of a plan window ({start: "22:00", end: "04:00"} daily, or one-off ISO-8601 start and end), or of the
    longest of a list of them."""
    if isinstance(window, list):
        lengths = [length for length in map(window_seconds, window) if length is not None]
        return max(lengths) if lengths else None
    if not isinstance(window, t.Mapping) or "start" not in window or "end" not in window:
        return None
    start, end = str(window["start"]), str(window["end"])
    if len(start) <= 5 and len(end) <= 5:
        (start_h, start_m), (end_h, end_m) = (map(int, start.split(":")), map(int, end.split(":")))
        return float(((end_h * 60 + end_m) - (start_h * 60 + start_m)) % (24 * 60) * 60 or 24 * 3600)
    return (datetime.datetime.fromisoformat(end) - datetime.datetime.fromisoformat(start)).total_seconds()


def _epoch(text: t.Any) -> float | None:
    moment = _instant(text)
    return None if moment is None else moment.timestamp()


def busy_seconds(jobs: t.Iterable[t.Mapping[str, t.Any]], start: float, end: float) -> float:
    """How long at least one of ``jobs`` (``start``/``end`` in epoch seconds) ran between ``start`` and ``end``."""
    spans = sorted((max(float(job["start"]), start), min(float(job["end"]), end)) for job in jobs if job.get("start") and job.get("end"))
    busy, reach = 0.0, start
    for first, last in spans:
        first = max(first, reach)
        if last > first:
            busy += last - first
            reach = last
    return busy


def split(seconds: t.Any, started: t.Any, jobs: list[t.Mapping[str, t.Any]] | None) -> tuple[float, float] | None:
    """(job time, controller time) of a span of the rehearsed run that lasted ``seconds`` from ``started`` (ISO-8601)."""
    if seconds is None:
        return None
    first = _epoch(started)
    if jobs is None or first is None:
        return float(seconds), 0.0
    busy = busy_seconds(jobs, first, first + float(seconds))
    return busy, max(0.0, float(seconds) - busy)


def replay(jobs: t.Iterable[t.Mapping[str, t.Any]], journal: t.Iterable[t.Mapping[str, t.Any]], parallel: int,
           time_factor: float) -> dict[tuple[str, str], float]:
    """Each stage's jobs replayed at real scale in a window of ``parallel``: ``{(group, stage): seconds}``.

    A stage's jobs (the journal names the stage of each job it submitted; a job it does not name goes with a named job on
    the same object, else with the job started last before it) are taken in the order they
    were submitted, their durations divided by the time factor; the jobs of one target run one after the other, and each
    target takes the first slot that frees. This is what the engine does once the controller's own time per job is small
    against the jobs', as it is at real scale; a rehearsal at a small time factor cannot show it directly, since there
    the controller, not the jobs, sets the pace of a large stage.
    """
    where = {entry["jobid"]: (str(entry.get("group")), str(entry.get("stage")), str(entry.get("key"))) for entry in journal if entry.get("jobid")}
    chains: dict[tuple[str, str], dict[str, list[float]]] = {}
    last: tuple[str, str, str] | None = None
    # A job the journal does not name goes with a named job on the same object, else with the job started last before it.
    on_object: dict[str, tuple[str, str, str]] = {}
    for job in sorted((job for job in jobs if job.get("start") and job.get("end")), key=lambda job: float(job.get("queued") or job["start"])):
        place = where.get(job["jobid"]) or on_object.get(str(job.get("instanceid"))) or last
        if place is None:
            continue
        if job.get("instanceid"):
            on_object.setdefault(str(job["instanceid"]), place)
        last = place
        # The simulator logs how long the job's steps waited by its duration model: its length without the simulator's own
        # CPU, which on a loaded machine at a small factor can be as long as the job (older logs: its start to its end).
        length = job.get("modelled") if job.get("modelled") else max(0.0, float(job["end"]) - float(job["start"]))
        chains.setdefault(place[:2], {}).setdefault(place[2], []).append(float(length) / time_factor)
    stages = {}
    for stage, targets in chains.items():
        slots = [0.0] * max(1, int(parallel))
        for durations in targets.values():  # in submission order: dicts keep the order of the first job of each target
            heapq.heappush(slots, heapq.heappop(slots) + sum(durations))
        stages[stage] = max(slots)
    return stages


def real_scale(parts: tuple[float, float] | None, time_factor: float) -> float | None:
    """A span's length at real scale: its job time divided by the time factor, its controller time as measured."""
    return None if parts is None else parts[0] / time_factor + parts[1]


def build(report: t.Mapping[str, t.Any], snapshot: t.Mapping[str, t.Any], time_factor: float, windows: t.Mapping[str, t.Any],
          run_rc: int = 0, jobs: list[t.Mapping[str, t.Any]] | None = None, journal: list[t.Mapping[str, t.Any]] | None = None,
          parallel: int | None = None) -> dict[str, t.Any]:
    """The rehearsal as plain data (rehearsal.json).

    ``jobs`` is the rehearsal simulator's job log (``/_sim/jobs``), ``journal`` the rehearsed run's journal and ``parallel``
    its window: with all three, each stage is replayed at real scale (:func:`replay`) and the controller's own time of a span
    is added as measured; with the job log alone, the span's job time is divided by the time factor; with neither, every
    second is.
    """
    low, high = spread(snapshot.get("jobs") or {})
    stages = replay(jobs, journal, parallel, time_factor) if jobs is not None and journal is not None and parallel else None

    def predicted(span: t.Mapping[str, t.Any], group: str | None = None) -> dict[str, t.Any]:
        parts = split(span.get("duration"), span.get("started"), jobs)
        if parts is None:
            return {"measured_seconds": None, "job_seconds": None, "controller_seconds": None, "seconds": None, "low_seconds": None, "high_seconds": None}
        controller = parts[1]
        if stages is not None:
            job_time = sum(seconds for (name, _stage), seconds in stages.items() if group is None or name == group)
        else:
            job_time = parts[0] / time_factor
        return {"measured_seconds": float(span["duration"]), "job_seconds": parts[0], "controller_seconds": controller, "seconds": job_time + controller,
                "low_seconds": job_time * low + controller, "high_seconds": job_time * high + controller}

    groups = []
    for group in report.get("groups") or []:
        window = windows.get(group["name"], windows.get("*"))
        length = window_seconds(window) if window is not None else None
        entry = {"name": group["name"], **predicted(group, group["name"]), "window_seconds": length, "totals": group.get("totals")}
        if length is None or entry["seconds"] is None:
            entry["fits"] = None
        else:
            entry["fits"] = "yes" if entry["high_seconds"] <= length else "tight" if entry["seconds"] <= length else "no"
        groups.append(entry)
    paths = {unit["name"]: unit["path"] for group in report.get("groups") or [] for unit in group.get("units") or []}
    return {
        "label": LABEL,
        "title": "%s of the upgrade of %s (management server %s)"
        % (LABEL, "the anonymized cloud" if snapshot.get("anonymized") else "the cloud", report.get("ms_version")),
        "snapshot_taken": snapshot.get("taken"),
        "time_factor": time_factor,
        "spread": {"low": low, "high": high, "from": "the cloud's job history" if (low, high) != DEFAULT_SPREAD else "the default model"},
        "model": (
            "each stage's jobs replayed at real scale in a window of %s + the controller's own time" % parallel
            if stages is not None
            else "job time / time factor + the controller's own time" if jobs is not None else "every second / time factor (no job log of the simulator)"
        ),
        "rehearsed_run_rc": run_rc,
        "outcome": report.get("outcome"),
        "total": predicted(report),
        "groups": groups,
        "paths": paths,
        "by_path": report.get("paths") or {},
        "needs_a_hand": [{key: item.get(key) for key in ("outcome", "kind", "name", "group", "detail", "action")} for item in report.get("attention") or []],
        "counts": snapshot.get("counts"),
    }


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, second = divmod(int(round(seconds)), 60)
    hours, minute = divmod(minutes, 60)
    return "%dh%02dm" % (hours, minute) if hours else "%dm%02ds" % (minute, second)


def markdown(rehearsal: t.Mapping[str, t.Any]) -> str:
    total = rehearsal["total"]
    lines = [
        "# %s" % rehearsal["title"],
        "",
        "**%s** - nothing was changed on the cloud: this run was made on a simulated copy (snapshot of %s, time factor %s)."
        % (LABEL, rehearsal["snapshot_taken"], rehearsal["time_factor"]),
        "",
        "Predicted total: **%s** (%s to %s, spread from %s)." % (_human(total["seconds"]), _human(total["low_seconds"]), _human(total["high_seconds"]),
                                                                 rehearsal["spread"]["from"]),
        "",
        "Model: %s%s." % (rehearsal.get("model", "every second / time factor"),
                          "; of the total, %s of the controller's own time" % _human(total["controller_seconds"]) if total.get("controller_seconds") else ""),
        "",
        "| group | predicted | range | window | fits |",
        "|---|---|---|---|---|",
    ]
    for group in rehearsal["groups"]:
        cells = (group["name"], _human(group["seconds"]), _human(group["low_seconds"]), _human(group["high_seconds"]), _human(group["window_seconds"]),
                 group["fits"] or "no window")
        lines.append("| %s | %s | %s - %s | %s | %s |" % cells)
    lines += ["", "## Paths (%s)" % LABEL, ""] + ["- %s: %d" % (path, count) for path, count in sorted(rehearsal["by_path"].items())]
    lines += ["", "## Would need a hand (%s)" % LABEL, ""]
    lines += ["- %s %s (%s): %s - %s" % (item["outcome"], item["name"], item["group"], item["detail"], item["action"]) for item in rehearsal["needs_a_hand"]]
    if not rehearsal["needs_a_hand"]:
        lines.append("- nothing")
    return "\n".join(lines) + "\n"


def html_page(rehearsal: t.Mapping[str, t.Any]) -> str:
    body = html.escape(markdown(rehearsal))
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><p style=\"font-weight:bold;color:#b00\">%s</p>"
            "<pre>%s</pre></body></html>\n") % (html.escape(rehearsal["title"]), LABEL, body)
