# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What the report makes of a plan and a journal: outcomes, the needs-attention list, router rows, caveats, the page."""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import re

from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import recreate_hint
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import REFUSED_ACTION, REFUSED_BY_SERVER, STRONGSWAN_WARNING
from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan, start_run
from ansible_collections.acs.upgrade.plugins.module_utils._report import (
    _collapse_not_run,
    _gantt_rows,
    _where_entry,
    build_report,
    parse_downtime,
    render_html,
    render_markdown,
    stats,
)
from journal_fixtures import journal_entries, outcomes_from_targets

MS = "4.18.0.0"
RUNNING = {"state": "Running", "requiresupgrade": True, "softwareversion": "4.14.1.0", "zoneid": "z1", "scriptsversion": "old0000000000"}
FLEET = {
    "version": MS,
    "zones": [{"id": "z1", "name": "zone-a"}],
    "min_template": {"z1": "4.18.0"},
    "systemvms": [{"id": "s1", "name": "s-1-VM", "systemvmtype": "secondarystoragevm", "state": "Running", "version": "4.14.1", "zoneid": "z1"}],
    "routers": [
        dict(RUNNING, id="r1", name="r-1-VM", version="4.14.1"),
        dict(RUNNING, id="r2", name="r-2-VM", version="4.15.1", redundantstate="PRIMARY"),
        dict(RUNNING, id="r3", name="r-3-VM", version="4.15.1", redundantstate="BACKUP"),
        dict(RUNNING, id="r4", name="r-4-VM", version="4.15.1"),
    ],
    "units": [
        {"kind": "network", "id": "n1", "name": "net-1", "zoneid": "z1", "routers": ["r1"], "tiers": []},
        {"kind": "network", "id": "n2", "name": "net-2", "zoneid": "z1", "routers": ["r2", "r3"], "tiers": []},
        {"kind": "network", "id": "n4", "name": "net-4", "zoneid": "z1", "routers": ["r4"], "tiers": []},
    ],
}
T0 = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc)


def _at(seconds: float) -> str:
    return (T0 + datetime.timedelta(seconds=seconds)).isoformat()


def _journal(plan):
    """s-1-VM patched; net-1 patched; net-2's live patch failed, then a restart with cleanup replaced its pair; net-4 timed out."""
    livepatch = [
        {"kind": "secondarystoragevm", "id": "s1", "status": "patched", "duration": 1.0, "started": _at(0), "finished": _at(1),
         "before": {"s-1-VM": {"version": "4.14.1"}}, "after": {"s-1-VM": {"version": "4.14.1"}}},
        {"kind": "network", "id": "n1", "status": "patched", "duration": 2.0, "started": _at(10), "finished": _at(12),
         "after": {"r-1-VM": {"version": "4.14.1", "scriptsversion": "new0000000000"}}},
        {"kind": "network", "id": "n2", "status": "failed", "jobid": "j2", "reason": "haproxy failed to restart", "duration": 1.5,
         "started": _at(10), "finished": _at(11.5)},
        {"kind": "network", "id": "n4", "status": "timed_out", "reason": "job j4 still running after the job timeout of 60s", "started": _at(10)},
    ]
    recreate = [
        {"kind": "network", "id": "n2", "status": "succeeded", "duration": 30.0, "started": _at(20), "finished": _at(50),
         "routers": [{"id": "r2", "name": "r-2-VM", "redundantstate": "PRIMARY"}, {"id": "r3", "name": "r-3-VM", "redundantstate": "BACKUP"}],
         "routers_after": [{"id": "r9", "name": "r-9-VM", "redundantstate": "BACKUP", "version": "4.18.0", "scriptsversion": "new0000000000"},
                           {"id": "r8", "name": "r-8-VM", "redundantstate": "PRIMARY", "version": "4.18.0", "scriptsversion": "new0000000000"}]},
    ]
    keys = [item["key"] for item in plan["items"]]
    first = journal_entries(outcomes_from_targets(plan, keys, livepatch), plan, 1, "livepatch", T0 + datetime.timedelta(seconds=15))
    second = journal_entries(outcomes_from_targets(plan, ["network:n2"], recreate), plan, 1, "legacy", T0 + datetime.timedelta(seconds=55))
    return first + second


def _report(**options):
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    return plan, build_report(plan, _journal(plan), **options)


def test_outcomes_tell_recreated_and_unknown_from_done_and_failed():
    _plan, report = _report()
    assert report["totals"] == {"done": 2, "recreated": 1, "failed": 0, "refused": 0, "unknown": 1, "not_run": 0, "skipped": 0}
    assert [(entry["outcome"], entry["name"]) for entry in report["attention"]] == [("unknown", "net-4"), ("recreated", "net-2")]
    unknown, recreated = report["attention"]
    assert "still be running" in unknown["action"] and "listAsyncJobs" in unknown["action"]
    assert recreated["detail"] == (
        "live patch failed: haproxy failed to restart; then recreated (legacy path): r-2-VM → r-8-VM, r-3-VM → r-9-VM, now on template 4.18.0"
    )
    assert report["outcome"]["status"] == "finished_with_failures"
    assert report["started"] == "2026-11-22T01:00:00+00:00" and report["duration"] == 55.0
    summary = stats(report)
    assert (summary["unknown_names"], summary["recreated_names"], summary["failed_names"]) == (["net-4"], ["net-2"], [])


def test_a_lost_answer_the_client_could_not_settle_is_unknown_not_failed():
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    lost = [{"kind": "network", "id": "n1", "status": "outcome_unknown", "reason": "the answer was lost and its job could be neither found nor ruled out"}]
    report = build_report(plan, journal_entries(outcomes_from_targets(plan, ["network:n1"], lost), plan, 1, "livepatch", T0))
    assert [(entry["outcome"], entry["name"]) for entry in report["attention"] if entry["outcome"] != "not_run"] == [("unknown", "net-1")]


def test_router_rows_pair_old_and_new_routers_by_their_role():
    _plan, report = _report()
    units = {unit["name"]: unit for unit in report["groups"][0]["units"]}
    rows = [(vm["name"], vm["new_name"], vm["redundantstate"], vm["template_before"], vm["template_after"]) for vm in units["net-2"]["vms"]]
    assert rows == [("r-2-VM", "r-8-VM", "PRIMARY", "4.15.1", "4.18.0"), ("r-3-VM", "r-9-VM", "BACKUP", "4.15.1", "4.18.0")]
    patched = units["net-1"]["vms"][0]
    assert (patched["new_name"], patched["scripts_before"], patched["scripts_after"]) == (None, "old0000000000", "new0000000000")
    assert units["net-2"]["duration"] == 31.5 and units["s-1-VM"]["vms"][0]["template_after"] == "4.14.1"


def test_vpn_caveat_once_per_group_for_live_patched_routers_of_414_templates_only():
    _plan, report = _report()
    group = report["groups"][0]
    # net-1's r-1-VM is on 4.14 and was live-patched; s-1-VM is on 4.14 too but a system VM; net-2 was recreated.
    assert group["caveat"]["routers"] == ["r-1-VM"]
    assert all("strongSwan" not in warning for unit in group["units"] for warning in unit["warnings"])
    page = render_html(report)
    assert page.count("strongSwan") == 1


def test_old_journal_entries_without_times_or_vms_still_make_a_report():
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    journal = [{"key": "network:n1", "name": "net-1", "ms_version": MS, "batch": 1, "path": "livepatch", "status": "failed", "error": "boom",
                "duration": 4.0, "time": _at(60)}]
    report = build_report(plan, journal)
    event = report["groups"][0]["timeline"][0]
    # No job times in the entry: the bar ends when the batch was recorded and lasts the job's duration.
    assert [datetime.datetime.fromisoformat(event[field]) for field in ("started", "finished")] == [T0 + datetime.timedelta(seconds=s) for s in (56, 60)]
    assert report["totals"]["failed"] == 1 and report["totals"]["not_run"] == 3
    assert [entry["outcome"] for entry in report["attention"]] == ["failed", "not_run"]
    assert "<svg" in render_html(report) and "| failed |" in render_markdown(report)


def test_stop_reason_makes_the_verdict_and_is_redacted():
    _plan, report = _report(stop_reason="batch 1 livepatch: the canary batch failed; see https://cloud/client/api?apiKey=K&signature=S")
    assert report["outcome"]["status"] == "stopped"
    assert report["outcome"]["summary"].startswith("Stopped in group zone-a (batch 1) because batch 1 livepatch: the canary batch failed")
    assert "signature" not in report["outcome"]["summary"]


def _first_target_done():
    """A plan of net-1 first, one target a batch, and the journal of a run that finished only net-1."""
    plan = build_plan(FLEET, canary_size=0, batch_size=1, order=None)
    first = plan["items"][0]
    journal = [{"key": first["key"], "name": first["name"], "ms_version": MS, "batch": first["batch"], "path": first["path"], "status": "done",
                "duration": 1.0, "time": _at(10)}]
    return plan, journal


def _not_run_action(report):
    return next(entry["action"] for entry in report["attention"] if entry["outcome"] == "not_run")


def test_a_killed_run_says_its_unfinished_work_was_not_reached_yet():
    # What the state lock says of the run: its process is gone without giving the lock back (killed or cancelled).
    plan, journal = _first_target_done()
    lock = {"owner": "awx", "host": "runner-1", "pid": 4242, "start": _at(0), "alive": False}
    report = build_report(plan, journal, run_lock=lock)
    assert report["totals"]["not_run"] == len(plan["items"]) - 1
    text = report["outcome"]["summary"] + " " + _not_run_action(report)
    assert "maintenance window" not in text and "unhealthy" not in text
    assert report["outcome"]["status"] == "stopped"
    assert report["outcome"]["summary"].startswith("Stopped in group zone-a (batch 1): the run ended before it finished (killed or cancelled")
    assert "pid 4242 on runner-1" in report["outcome"]["summary"]
    assert _not_run_action(report) == "not run yet: the run stopped before reaching it (killed or cancelled); run again to continue (finished work is skipped)"


def test_a_report_written_while_the_run_goes_on_says_it_is_in_progress():
    plan, journal = _first_target_done()
    report = build_report(plan, journal, run_lock={"owner": "awx", "host": "runner-1", "pid": 4242, "start": _at(0), "alive": True})
    assert report["outcome"]["status"] == "in_progress"
    assert report["outcome"]["summary"].startswith("In progress (pid 4242 on runner-1, started %s): %d not run yet" % (_at(0), len(plan["items"]) - 1))
    assert _not_run_action(report) == "not run yet: the run is still going and had not reached it when this report was written"
    assert "in_progress" in render_html(report)


def test_a_run_whose_lock_is_held_on_another_host_is_neither_called_finished_nor_killed():
    plan, journal = _first_target_done()
    report = build_report(plan, journal, run_lock={"owner": "awx", "host": "elsewhere", "pid": 4242, "start": _at(0), "alive": None})
    assert report["outcome"]["status"] == "incomplete"
    assert "the run that holds the state lock (pid 4242 on elsewhere" in report["outcome"]["summary"]
    assert "is still going or was killed" in report["outcome"]["summary"]
    assert _not_run_action(report).startswith("not run yet: the run that holds the state lock had not reached it")


def test_an_ended_run_calls_what_it_left_outside_a_window_only_where_there_is_one():
    plan, journal = _first_target_done()
    report = build_report(plan, journal)
    assert report["outcome"]["status"] == "incomplete"
    assert "unhealthy" not in report["outcome"]["summary"] and "maintenance window" not in _not_run_action(report)
    assert _not_run_action(report) == "the run ended before reaching it, or left its path out: run again to continue (finished work is skipped)"
    windowed = build_plan(FLEET, canary_size=0, batch_size=1, windows={"*": {"start": "22:00", "end": "04:00"}})
    report = build_report(windowed, journal)
    assert _not_run_action(report).startswith("outside its maintenance window, or the run ended before reaching it")


def test_a_stopped_run_is_placed_at_the_failure_it_stopped_on_not_at_the_last_job_to_end():
    # The rolling window drains: a job of an earlier batch still in flight ends after the failure that stopped the run.
    plan = build_plan(FLEET, canary_size=1, batch_size=1)
    batch_of = {item["name"]: item["batch"] for item in plan["items"]}
    assert batch_of["net-2"] != batch_of["net-1"]
    journal = [
        {"key": "network:n2", "name": "net-2", "ms_version": MS, "batch": batch_of["net-2"], "path": "livepatch", "status": "failed",
         "error": "patch script exited 1", "time": _at(10)},
        {"key": "network:n1", "name": "net-1", "ms_version": MS, "batch": batch_of["net-1"], "path": "livepatch", "status": "done", "time": _at(12)},
    ]
    report = build_report(plan, journal, stop_reason="network net-2 failed and on_failure is stop: patch script exited 1")
    assert report["outcome"]["batch"] == batch_of["net-2"]
    assert report["outcome"]["summary"].startswith("Stopped in group zone-a (batch %d) because network net-2 failed" % batch_of["net-2"])


def test_the_failure_a_run_stopped_on_is_found_by_its_whole_name():
    entries = [
        {"name": "net-1", "status": "failed", "batch": 3, "time": _at(20)},
        {"name": "net-10", "status": "failed", "batch": 2, "time": _at(10)},
        {"name": "net-2", "status": "done", "batch": 4, "time": _at(30)},
    ]
    assert _where_entry(entries, "network net-10 failed and on_failure is stop: boom")["batch"] == 2
    assert _where_entry(entries, "the failure limit is reached: 2 of 3 planned items failed")["batch"] == 3
    assert _where_entry(entries, None)["batch"] == 4


def test_not_run_items_are_one_attention_entry_per_group():
    entries = [
        {"outcome": "not_run", "name": "net-%d" % number, "names": ["net-%d" % number], "group": "zone-a", "kind": "network", "action": "run again"}
        for number in range(15)
    ]
    entries.append({"outcome": "failed", "name": "net-x", "names": ["net-x"], "group": "zone-b", "kind": "network", "action": "fix"})
    collapsed = _collapse_not_run(entries)
    assert [entry["outcome"] for entry in collapsed] == ["failed", "not_run"]
    assert collapsed[1]["names"] == ["net-%d" % number for number in range(15)]
    assert collapsed[1]["detail"].endswith("net-11 and 3 more") and collapsed[1]["name"] == "15 not run"


def test_downtime_from_probe_reports():
    reports = [{"container": "r-1-VM", "window": 5.0, "dns": {"longest_gap": 0.2, "samples": 90}, "http": {"longest_gap": 0.31}}, {"unrelated": True}]
    assert parse_downtime(reports) == {"r-1-VM": {"dns": 0.2, "http": 0.31}}
    _plan, report = _report(downtime=parse_downtime(reports))
    row = report["groups"][0]["units"][1]["vms"][0]
    assert (row["name"], row["downtime"]) == ("r-1-VM", 0.31)


def test_page_allows_exactly_its_own_style_and_script():
    _plan, report = _report()
    page = render_html(report)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1).replace("&#x27;", "'")
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)

    def digest(text):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert "default-src 'none'" in csp and "style-src %s;" % digest(style) in csp and "script-src %s;" % digest(script) in csp
    assert page.count("<svg") == 1 and 'class="legend"' in page and "@media print" in style


def test_a_large_group_packs_its_timeline_into_as_many_rows_as_jobs_ran_at_once():
    events = [
        {"name": "net-%d" % number, "started": _at(10 * (number // 5) + 0.001 * number), "finished": _at(10 * (number // 5) + 5)} for number in range(100)
    ]
    rows, labels = _gantt_rows(events)
    # Five jobs at a time, each wave after the last: five rows, each bar on its own row within a wave.
    assert len(labels) == 5 and labels[0] == "100 targets, packed"
    assert sorted(rows[id(event)] for event in events[:5]) == [0, 1, 2, 3, 4]
    few_rows, few_labels = _gantt_rows(events[:10])
    assert few_labels == ["net-%d" % number for number in range(10)] and [few_rows[id(event)] for event in events[:10]] == list(range(10))


def test_work_finished_by_an_earlier_run_counts_as_done_after_a_resume():
    first_plan = build_plan(FLEET, canary_size=0, batch_size=10)
    journal = _journal(first_plan)
    # The resumed run plans again with the journal: what was finished is skipped by the plan, but done in the report.
    resumed = build_plan(FLEET, canary_size=0, batch_size=10, journal=journal)
    assert {item["name"]: item["path"] for item in resumed["items"]}["net-1"] == "skip"
    report = build_report(resumed, journal)
    units = {unit["name"]: unit for unit in report["groups"][0]["units"]}
    assert (units["net-1"]["outcome"], units["net-1"]["earlier_run"]) == ("done", True)
    assert units["net-2"]["outcome"] == "recreated" and report["totals"]["skipped"] == 0
    assert "finished in an earlier run" in render_html(report)


def test_a_target_never_submitted_is_failed_with_nothing_started_and_no_recreate_advised():
    """cs_livepatch's not_submitted (stopped by max_fail_percentage, or refused): nothing ran, so nothing to recreate."""
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    targets = [
        {"kind": "network", "id": "n1", "status": "not_submitted", "reason": "stopped by max_fail_percentage"},
        {"kind": "network", "id": "n2", "status": "failed", "jobid": "j2", "reason": "haproxy failed to restart", "started": _at(0), "finished": _at(1)},
    ]
    report = build_report(plan, journal_entries(outcomes_from_targets(plan, ["network:n1", "network:n2"], targets), plan, 1, "livepatch", T0))
    failed = {entry["name"]: entry for entry in report["attention"] if entry["outcome"] == "failed"}
    assert failed["net-1"]["detail"] == "never started: stopped by max_fail_percentage"
    assert failed["net-1"]["action"].startswith("nothing was started for it and nothing changed") and "recreate" not in failed["net-1"]["action"]
    assert failed["net-2"]["action"].startswith("recreate it")
    assert stats(report)["failed_names"] == ["net-1", "net-2"]
    # No job ran for net-1: the timeline has no bar for it.
    assert [event["name"] for event in report["groups"][0]["timeline"]] == ["net-2"]


def test_names_and_texts_from_the_cloud_cannot_inject_markup_into_the_page_or_the_markdown():
    """A zone, network or router named with HTML in it shows as text; an error quoting a key shows no key."""
    fleet = dict(FLEET, zones=[{"id": "z1", "name": "zone<script>alert(1)</script>"}])
    fleet["routers"] = [dict(FLEET["routers"][0], name="r-1-<img src=x onerror=alert(2)>")] + FLEET["routers"][1:]
    fleet["units"] = [dict(FLEET["units"][0], name='net-<svg onload=alert(3)>"&')] + FLEET["units"][1:]
    plan = build_plan(fleet, canary_size=0, batch_size=10)
    targets = [{"kind": "network", "id": "n1", "status": "patched", "started": _at(0), "finished": _at(1)},
               {"kind": "network", "id": "n2", "status": "failed", "reason": "proxy said api_key=AKSECRET signature=SGSECRET", "started": _at(0)}]
    report = build_report(plan, journal_entries(outcomes_from_targets(plan, ["network:n1", "network:n2"], targets), plan, 1, "livepatch", T0),
                          stop_reason="<b>stopped</b> with apiKey: STOPSECRET")
    page, markdown = render_html(report), render_markdown(report)
    for text in (page, markdown, str(report)):
        assert "SECRET" not in text
    assert "<script>alert" not in page and "<img" not in page and "<svg onload" not in page and "<b>stopped" not in page
    assert "zone&lt;script&gt;alert(1)&lt;/script&gt;" in page and "r-1-&lt;img src=x onerror=alert(2)&gt;" in page
    # Every "<" that would open a tag in a Markdown renderer has a backslash before it: it shows as itself.
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", markdown), [line for line in markdown.splitlines() if re.search(r"(?<!\\)<[A-Za-z/!?]", line)]
    assert "\\<b>stopped\\</b>" in markdown


def test_a_long_name_is_cut_in_the_timeline_label_and_whole_in_its_tooltip():
    long_name = "acme-production-frontend-tier-network-eu-west"
    fleet = dict(FLEET, units=[dict(FLEET["units"][0], name=long_name)] + FLEET["units"][1:])
    plan = build_plan(fleet, canary_size=0, batch_size=10)
    targets = [{"kind": "network", "id": "n1", "status": "patched", "started": _at(0), "finished": _at(1)}]
    page = render_html(build_report(plan, journal_entries(outcomes_from_targets(plan, ["network:n1"], targets), plan, 1, "livepatch", T0)))
    labels = re.findall(r'<text class="label"[^>]*><title>([^<]*)</title>([^<]*)</text>', page)
    assert labels == [(long_name, long_name[:25] + "…")]


def test_no_vpn_caveat_on_a_system_vm_row_whose_version_has_four_parts():
    """listSystemVms reports 4.14.1.0 where the plan's warning names template 4.14.1: the row still drops it."""
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    for item in plan["items"]:
        if item["kind"] == "systemvm":
            # What the plan of the sample cloud holds for its SSVM on 4.14 (version from listSystemVms).
            item["version"], item["warnings"] = "4.14.1.0", [STRONGSWAN_WARNING % "4.14.1"]
    report = build_report(plan, [])
    assert [unit["warnings"] for unit in report["groups"][0]["units"] if unit["kind"] == "secondarystoragevm"] == [[]]
    assert render_html(report).count("strongSwan") == 1 and render_markdown(report).count("strongSwan") == 1


def test_needs_attention_only_keeps_exactly_what_the_needs_attention_list_shows():
    """A network skipped because its router is Stopped is in the list: the filter must not hide it."""
    fleet = dict(FLEET, routers=FLEET["routers"] + [dict(RUNNING, id="r5", name="r-5-VM", version="4.15.1", state="Stopped")])
    fleet["units"] = FLEET["units"] + [{"kind": "network", "id": "n5", "name": "net-5", "zoneid": "z1", "routers": ["r5"], "tiers": []}]
    plan = build_plan(fleet, canary_size=0, batch_size=10)
    report = build_report(plan, [entry for entry in _journal(plan) if entry["key"] != "network:n5"])
    assert ("skipped", "net-5") in [(entry["outcome"], entry["name"]) for entry in report["attention"]]
    page = render_html(report)
    kept = re.findall(r'<tbody class="unit" data-outcome="[a-z_]+" data-attention="1"><tr class="unit"><td[^>]*>([^<]+)</td>', page)
    assert sorted(kept) == sorted(entry["name"] for entry in report["attention"])


def test_a_job_end_journalled_by_both_attempts_counts_once_as_the_earlier_attempts_in_either_order():
    """A killed attempt's module still follows its jobs in flight and journals their ends, while the resumed attempt
    adopts the same jobs and journals their ends too: which of the two is written last depends on timing, and the
    report must not (finished by an earlier run, one job's duration)."""
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    plan["run"] = {"id": "run1", "attempt": 2}
    item = next(item for item in plan["items"] if item["name"] == "net-1")
    base = {"key": item["key"], "name": "net-1", "ms_version": MS, "run": "run1", "batch": item["batch"], "path": "livepatch", "jobid": "j1"}
    submitted = dict(base, status="submitted", attempt=1, time=_at(10))
    end = {"status": "done", "duration": 2.0, "started": _at(10), "finished": _at(12), "after": [{"name": "r-1-VM", "scriptsversion": "new0000000000"}]}
    by_killed, by_resumed = dict(base, attempt=1, time=_at(13), **end), dict(base, attempt=2, time=_at(13), **end)
    for journal in ([submitted, by_killed, by_resumed], [submitted, by_resumed, by_killed]):
        report = build_report(plan, journal)
        unit = next(unit for group in report["groups"] for unit in group["units"] if unit["name"] == "net-1")
        assert (unit["outcome"], unit["earlier_run"], unit["duration"]) == ("done", True, 2.0), [entry["attempt"] for entry in journal]
        assert [event["name"] for group in report["groups"] for event in group["timeline"]].count("net-1") == 1


def _axis_labels(page):
    """(x, text) of the time labels under the timeline, as the browser draws them."""
    return [(float(x), text) for x, text in re.findall(r'<text[^>]* x="([0-9.]+)"[^>]*>((?:\d\d-\d\d )?\d\d:\d\d(?::\d\d(?:\.\d)?)?)</text>', page)]


def _timeline_page(seconds):
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    targets = [
        {"kind": "network", "id": "n1", "status": "patched", "started": _at(0), "finished": _at(seconds * 0.4)},
        {"kind": "network", "id": "n4", "status": "patched", "started": _at(seconds * 0.2), "finished": _at(seconds)},
    ]
    return render_html(build_report(plan, journal_entries(outcomes_from_targets(plan, ["network:n1", "network:n4"], targets), plan, 1, "livepatch", T0)))


def test_the_time_axis_of_a_timeline_never_shows_the_same_label_twice():
    """Three seconds cut in fifths gave 01:00:00 twice and 01:00:01 twice: ticks fall on round times, seconds for a short span, minutes for a long one."""
    for seconds, expected in (
        (3, ["01:00:00", "01:00:01", "01:00:02", "01:00:03"]),
        (5.7, ["01:00:00", "01:00:01", "01:00:02", "01:00:03", "01:00:04", "01:00:05"]),
        (40, ["01:00:00", "01:00:10", "01:00:20", "01:00:30", "01:00:40"]),
        (40 * 60, ["01:00", "01:10", "01:20", "01:30", "01:40"]),
        (3 * 3600 + 5, ["01:00", "02:00", "03:00", "04:00"]),
    ):
        labels = _axis_labels(_timeline_page(seconds))
        assert [text for _x, text in labels] == expected, seconds
        # Readable: far enough apart for their text (8 characters at 10 px), inside the picture.
        assert all(right - left >= 60 for (left, _l), (right, _r) in zip(labels, labels[1:])), labels
        assert all(170 <= x <= 890 for x, _text in labels)


def test_a_network_recreated_after_a_failed_live_patch_reads_as_what_happened_with_nothing_left_to_do():
    """The live patch's error ends with its advice (recreate them, or recreate or reboot a refused router): once the
    legacy path recreated the network, what happened says so after the failure, and what to do asks for no recreate."""
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    recreate = _journal(plan)[-1:]
    errors = (
        "restartNetwork job j2 succeeded but the live patch did not reach every Running router (r-2-VM scripts old); %s" % recreate_hint("them"),
        "restartNetwork job j2 failed: boom; a failed live patch leaves the services in an unknown state: %s" % recreate_hint(),
        "%s after restartNetwork(livepatch) job j2 (failed): r-2-VM (template 4.15.1 below the minimum); %s" % (REFUSED_BY_SERVER, REFUSED_ACTION),
    )
    for error in errors:
        failed = {"key": "network:n2", "name": "net-2", "ms_version": MS, "batch": 1, "path": "livepatch", "status": "failed", "jobid": "j2",
                  "error": error, "started": _at(10), "finished": _at(11), "time": _at(15)}
        report = build_report(plan, [failed] + recreate)
        entry = next(entry for entry in report["attention"] if entry["name"] == "net-2")
        assert entry["outcome"] == "recreated"
        happened, to_do = entry["detail"], entry["action"]
        assert happened.startswith("live patch failed: ") and happened.endswith(
            "; then recreated (legacy path): r-2-VM → r-8-VM, r-3-VM → r-9-VM, now on template 4.18.0"
        ), happened
        assert error.split(";", maxsplit=1)[0] in happened
        for text in (happened, to_do):
            assert "cs_recreate" not in text and "recreate it" not in text and "recreate them" not in text and "reboot it" not in text, text
        assert to_do.startswith("nothing to do now: it was recreated")
        # The row of the network in the page tells the same story.
        assert html.escape(happened) in render_html(report)


def _markdown_rows(markdown):
    """The rows of the Markdown tables of the groups, each as its cells by column name."""
    rows, columns = [], None
    for line in markdown.splitlines():
        if line.startswith("| network/VPC |"):
            columns = [cell.strip() for cell in line.strip("|").split(" | ")]
        elif columns and line.startswith("| ") and not line.startswith("|---"):
            rows.append(dict(zip(columns, [cell.strip() for cell in line.strip("|").split(" | ")])))
        elif not line.startswith("|"):
            columns = None
    return rows


def test_a_single_router_shows_no_redundant_state_in_the_markdown_or_the_page():
    """CloudStack says UNKNOWN for a router that is not one of a redundant pair: no state to show. A new router of a
    pair says UNKNOWN until CheckRouterTask runs: that one is a state of the pair, and shown."""
    fleet = dict(FLEET, routers=[dict(router, redundantstate=router.get("redundantstate", "UNKNOWN")) for router in FLEET["routers"]])
    fleet["routers"][2]["redundantstate"] = "UNKNOWN"  # r-3-VM, the BACKUP of net-2's pair
    plan = build_plan(fleet, canary_size=0, batch_size=10)
    report = build_report(plan, _journal(plan)[:1])
    redundant = {row["name"]: row["redundant"] for row in _markdown_rows(render_markdown(report))}
    assert redundant == {"s-1-VM": "", "r-1-VM": "", "r-2-VM": "PRIMARY", "r-3-VM": "UNKNOWN", "r-4-VM": ""}, redundant
    page = render_html(report)
    cells = dict(re.findall(r'<tr class="vm"><td[^>]*>&nbsp;&nbsp;([^<]+)</td><td>router</td><td>([^<]*)</td>', page))
    assert cells == {"r-1-VM": "", "r-2-VM": "PRIMARY", "r-3-VM": "UNKNOWN", "r-4-VM": ""}, cells


def test_the_markdown_marks_work_finished_by_an_earlier_run_as_the_page_does():
    journal = _journal(build_plan(FLEET, canary_size=0, batch_size=10))
    resumed = build_plan(FLEET, canary_size=0, batch_size=10, journal=journal)
    report = build_report(resumed, journal)
    earlier = sorted(unit["name"] for unit in report["groups"][0]["units"] if unit["earlier_run"])
    assert earlier == ["net-1", "net-2", "s-1-VM"]
    why = {row["network/VPC"] or row["name"]: row["why"] for row in _markdown_rows(render_markdown(report))}
    page = render_html(report)
    assert why["net-1"] == why["s-1-VM"] == "finished in an earlier run"
    assert why["net-2"].startswith("in an earlier run: live patch failed: haproxy failed to restart; then recreated (legacy path)")
    for name in earlier:
        assert re.search(r"<td[^>]*>%s</td>.*?<td>%s</td></tr>" % (re.escape(name), re.escape(html.escape(why[name]))), page), name
    assert why["net-4"] != "finished in an earlier run"
    # A resumed attempt of the same run: the job ended in the attempt that was killed, the plan still names its path.
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    plan["run"] = {"id": "run1", "attempt": 2}
    item = next(item for item in plan["items"] if item["name"] == "net-1")
    done = {"key": item["key"], "name": "net-1", "ms_version": MS, "run": "run1", "attempt": 1, "batch": item["batch"], "path": "livepatch",
            "jobid": "j1", "status": "done", "duration": 2.0, "started": _at(10), "finished": _at(12), "time": _at(13)}
    report = build_report(plan, [done])
    why = {row["network/VPC"] or row["name"]: row["why"] for row in _markdown_rows(render_markdown(report))}
    assert why["net-1"] == "finished in an earlier run" and "finished in an earlier run" in render_html(report)


def _current_plan():
    """A cloud already on the new templates: every item of the plan is skipped, and a run of it journals nothing."""
    current = dict(FLEET, routers=[dict(router, version="4.18.0", softwareversion=MS, requiresupgrade=False) for router in FLEET["routers"]])
    current["systemvms"] = []
    plan = build_plan(current, canary_size=0, batch_size=10)
    assert plan["items"] and {item["path"] for item in plan["items"]} == {"skip"}
    return start_run(plan, None, T0, None, "run-1")


def test_a_run_with_nothing_to_upgrade_is_finished_and_its_dry_run_is_not_started():
    plan = _current_plan()
    dry = build_report(plan, [])
    assert dry["outcome"]["status"] == "not_started" and dry["outcome"]["summary"].startswith("Nothing ran yet")
    plan["run"]["ended"] = _at(30)
    report = build_report(plan, [])
    assert report["outcome"]["status"] == "finished", report["outcome"]
    assert report["outcome"]["summary"] == "Finished: nothing to upgrade (%d skipped)" % len(plan["items"])
    assert "Nothing ran yet" not in render_markdown(report)
    assert build_report(plan, [], stop_reason="the preflight failed")["outcome"]["status"] == "stopped"


def test_what_include_exclude_left_out_is_counted_as_not_targeted_and_never_needs_attention():
    from ansible_collections.acs.upgrade.plugins.module_utils._targeting import select_targets
    from ansible_collections.acs.upgrade.plugins.modules.cs_upgrade_plan import add_excluded

    targets = select_targets(FLEET, exclude=["net-4"])
    plan = build_plan(targets["fleet"], canary_size=0, batch_size=10)
    add_excluded(plan, targets)
    left_out = next(item for item in plan["items"] if item.get("excluded"))
    assert left_out["name"] == "net-4" and left_out["path"] == "skip"
    report = build_report(start_run(plan, None, T0, None, "run-1"), [])
    assert "net-4" not in [name for entry in report["attention"] for name in entry["names"]]
    assert report["not_targeted"] == 1 and report["totals"]["skipped"] >= 1
    assert "net-4" not in "".join(line for line in render_markdown(report).split("## Needs attention")[1].split("\n## ")[0].splitlines())
    assert "Of the skipped, 1 not targeted (left out by include/exclude)." in render_markdown(report)
    unit = next(unit for group in report["groups"] for unit in group["units"] if unit["name"] == "net-4")
    assert unit["attention"] is False and unit["reason"] == left_out["reason"] != ""


def test_a_skipped_item_that_needs_attention_never_shows_an_empty_reason():
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    item = next(item for item in plan["items"] if item["name"] == "net-4")
    item.update(path="skip", routers=[], reason="net-4 has no router")
    entry = next(entry for entry in build_report(plan, [])["attention"] if entry["name"] == "net-4")
    assert entry["outcome"] == "skipped" and entry["detail"] == "net-4 has no router"


def test_the_markdown_carries_plain_text_and_escapes_only_what_would_open_an_html_tag():
    plan = build_plan(FLEET, canary_size=0, batch_size=10)
    refusal = {"time": _at(0), "approved_digest": "a" * 64, "plan_digest": "b" * 64, "differences": ["batch_size: 50 -> 2", "net <1> <b>bold</b>"]}
    markdown = render_markdown(build_report(plan, [], refusal=refusal))
    assert "batch_size: 50 -> 2" in markdown and "&gt;" not in markdown and "&lt;" not in markdown
    assert "net <1> \\<b>bold\\</b>" in markdown
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", markdown)
