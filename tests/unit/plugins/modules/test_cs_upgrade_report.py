# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan
from ansible_collections.acs.upgrade.plugins.modules import cs_upgrade_report

ROUTER = {"state": "Running", "version": "4.15.0", "requiresupgrade": True, "softwareversion": "4.15.0.0", "zoneid": "z1"}
FLEET = {
    "version": "4.18.0.0",
    "zones": [{"id": "z1", "name": "zone-a"}],
    "min_template": {"z1": "4.18.0"},
    "routers": [dict(ROUTER, id="r1", name="r-1-VM"), dict(ROUTER, id="r2", name="r-2-VM"), dict(ROUTER, id="r3", name="r-3-VM", state="Stopped")],
    "units": [
        {"kind": "network", "id": "n1", "name": "net-1", "zoneid": "z1", "routers": ["r1"], "tiers": []},
        {"kind": "network", "id": "n2", "name": "net-<2>", "zoneid": "z1", "routers": ["r2"], "tiers": []},
        {"kind": "network", "id": "n3", "name": "net-3", "zoneid": "z1", "routers": ["r3"], "tiers": []},
    ],
}


# The fields of a plan besides its items and batches, for plan files broken in one place.
PLAN_HEAD = {"ms_version": "4.18.0.0", "settings": {"group_by": "zone"}, "summary": {"livepatch": 0, "legacy": 0, "skip": 0}}


def test_report_files_and_stats(run_module, tmp_path):
    plan = build_plan(FLEET, canary_size=0)
    now = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc).isoformat()
    error = "restartNetwork failed: see https://cloud.example.com/client/api?command=x&apiKey=KEY&signature=SIG"
    common = {"ms_version": "4.18.0.0", "batch": 1, "path": "livepatch", "time": now}
    entries = [
        dict(common, key="network:n1", name="net-1", status="submitted", jobid="j1"),
        dict(common, key="network:n2", name="net-<2>", status="submitted", jobid="j2"),
        dict(common, key="network:n1", name="net-1", status="done", jobid="j1", changed=True, duration=3.0),
        dict(common, key="network:n2", name="net-<2>", status="failed", jobid="j2", error=error),
    ]
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    output = tmp_path / "report"

    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(output)})
    assert result["changed"] is True
    assert result["stats"] == {
        "ms_version": "4.18.0.0",
        "outcome": "finished_with_failures",
        "groups": 1,
        "done": 1,
        "recreated": 0,
        "failed": 1,
        "refused": 0,
        "unknown": 0,
        "not_run": 0,
        "skipped": 1,
        "paths": {"livepatch": 2, "skip": 1},
        "by_path": {
            "livepatch": {"done": 1, "recreated": 0, "failed": 1, "refused": 0, "unknown": 0, "not_run": 0, "skipped": 0},
            "skip": {"done": 0, "recreated": 0, "failed": 0, "refused": 0, "unknown": 0, "not_run": 0, "skipped": 1},
        },
        "duration": 3.0,
        "failed_names": ["net-<2>"],
        "failed_more": 0,
        "refused_names": [],
        "refused_more": 0,
        "unknown_names": [],
        "unknown_more": 0,
        "recreated_names": [],
        "recreated_more": 0,
    }
    assert result["files"] == {"json": str(output / "report.json"), "markdown": str(output / "report.md"), "html": str(output / "report.html")}
    assert "report" not in result
    html = (output / "report.html").read_text()
    # One page with nothing to fetch (no link, src, href, CSS url or import); names escaped; the signed URL of the error redacted.
    assert html.startswith("<!DOCTYPE html>") and not any(marker in html for marker in ("<link", "src=", "href=", "url(", "@import"))
    assert "net-&lt;2&gt;" in html and "net-<2>" not in html
    assert "restartNetwork failed" in html and "signature" not in html and "SIG" not in html and "apiKey" not in html
    markdown = (output / "report.md").read_text()
    assert "| net-1 | router | r-1-VM |  | livepatch | done |" in markdown
    assert "| failed | network | net-<2> | zone-a | restartNetwork failed: see https://cloud.example.com/client/api?\\<redacted> |" in markdown
    assert json.loads((output / "report.json").read_text())["totals"]["failed"] == 1

    assert run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(output)})["changed"] is False


def test_the_files_are_private_whatever_the_umask_and_an_older_report_left(run_module, tmp_path):
    plan = build_plan(FLEET, canary_size=0)
    output = tmp_path / "state" / "report"
    args = {"plan": plan, "journal": str(tmp_path / "none.jsonl"), "output_dir": str(output)}
    umask = os.umask(0)
    try:
        assert run_module(cs_upgrade_report, args)["changed"] is True
        assert stat.S_IMODE(output.stat().st_mode) == 0o700
        assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in output.iterdir()} == dict.fromkeys(("report.json", "report.md", "report.html"), 0o600)
        # A report of an earlier version, readable by all: the same content is written again, private.
        (output / "report.md").chmod(0o644)
        assert run_module(cs_upgrade_report, args)["changed"] is True
        assert stat.S_IMODE((output / "report.md").stat().st_mode) == 0o600
    finally:
        os.umask(umask)


def test_check_mode_writes_nothing(run_module, tmp_path):
    plan = build_plan(FLEET)
    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(tmp_path / "none.jsonl"), "output_dir": str(tmp_path / "report")}, check_mode=True)
    assert result["stats"]["not_run"] == 2
    # A dry run: the report says nothing ran yet, not that a run stopped or skipped anything.
    assert result["stats"]["outcome"] == "not_started"
    assert [entry["action"] for entry in result["attention"] if entry["outcome"] == "not_run"] == [
        "nothing ran yet (a dry run, or a run that has not started): run the upgrade"
    ]
    assert not (tmp_path / "report").exists()


def test_stop_reason_and_downtime_probe_reports(run_module, tmp_path):
    plan = build_plan(FLEET, canary_size=0)
    now = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc)
    entries = [
        {"key": "network:n1", "name": "net-1", "ms_version": plan["ms_version"], "batch": 1, "path": "livepatch", "status": "done", "changed": True,
         "duration": 3.0, "time": now.isoformat(timespec="seconds")}
    ]
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "probe-r-1-VM.json").write_text(json.dumps({"container": "r-1-VM", "window": 9.0, "dns": {"longest_gap": 0.21}, "http": {"longest_gap": 0.34}}))
    (probes / "probe-r-1-VM.json.ready").write_text("1.0\n")
    (probes / "broken.json").write_text("{not json")

    result = run_module(
        cs_upgrade_report,
        {"plan": plan, "journal": str(journal), "output_dir": str(tmp_path / "report"), "stop_reason": "batch 1 livepatch: the run stops: on_failure is stop",
         "downtime_dir": str(probes)},
    )
    assert result["stats"]["outcome"] == "stopped"
    assert result["outcome"]["summary"] == "Stopped in group zone-a (batch 1) because batch 1 livepatch: the run stops: on_failure is stop"
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    row = report["groups"][0]["units"][0]["vms"][0]
    assert (row["name"], row["downtime"], row["downtime_services"]) == ("r-1-VM", 0.34, {"dns": 0.21, "http": 0.34})
    assert "0.34 s" in (tmp_path / "report" / "report.html").read_text()
    # net-<2> was planned but never ran: it needs attention, because the run stopped before it.
    assert [(entry["name"], entry["outcome"]) for entry in result["attention"]] == [("net-<2>", "not_run"), ("net-3", "skipped")]


def test_a_hand_edited_journal_with_a_bad_value_fails_with_the_journal_named(run_module, tmp_path):
    plan = build_plan(FLEET)
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"key": "network:n1", "name": "net-1", "batch": 1, "path": "livepatch", "status": "done", "duration": "three"}) + "\n")
    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(tmp_path / "report")})
    assert result["failed"] and str(journal) in result["msg"] and "three" in result["msg"]
    assert not (tmp_path / "report").exists()


def test_a_journal_line_of_the_wrong_types_is_named_by_file_line_and_field(run_module, tmp_path):
    """Before, times of two types reached the report's sort: "'>' not supported between instances of 'int' and 'str'"."""
    plan = build_plan(FLEET)
    now = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc).isoformat()
    common = {"ms_version": "4.18.0.0", "batch": 1, "path": "livepatch", "status": "failed", "error": "x"}
    journal = tmp_path / "journal.jsonl"
    lines = [dict(common, key="network:n1", name="net-1", time=now), dict(common, key="network:n2", name="net-2", time=5)]
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(tmp_path / "report"), "stop_reason": "stopped"})
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot write the upgrade report: cannot read the journal %s: journal line 2: time is 5, not an ISO-8601 date and time; fix or remove that line"
        % journal
    )
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[]", "it is a list, not an object"),
        (json.dumps(dict(PLAN_HEAD, items=[[]], batches=[])), "items[0] is [], not an object"),
    ],
)
def test_a_plan_file_that_is_not_a_plan_is_named_with_what_to_do(run_module, tmp_path, content, words):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(content)
    result = run_module(cs_upgrade_report, {"plan_file": str(plan_file), "journal": str(tmp_path / "none.jsonl"), "output_dir": str(tmp_path / "report")})
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot write the upgrade report: %s is not a plan of acs.upgrade.cs_upgrade_plan: %s; "
        "move it aside, then make the plan again with the acs.upgrade.plan role" % (plan_file, words)
    )


def _large_fleet(networks: int) -> dict:
    routers = [dict(ROUTER, id="r%d" % index, name="r-%d-VM" % index) for index in range(networks)]
    units = [
        {"kind": "network", "id": "n%d" % index, "name": "net-%d" % index, "zoneid": "z1", "routers": ["r%d" % index], "tiers": []} for index in range(networks)
    ]
    return dict(FLEET, routers=routers, units=units)


def test_the_result_of_a_large_fleet_is_a_summary_and_the_files_hold_every_target(run_module, tmp_path):
    """3,000 networks, a third failed with a long error: the result stays a few KB (an event of an AWX job), the files list all."""
    plan = build_plan(_large_fleet(3000), canary_size=0)
    now = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc).isoformat()
    long_error = "patch script exited 1: " + "x" * 2000
    entries = [
        dict(key=item["key"], name=item["name"], ms_version="4.18.0.0", batch=item["batch"], path="livepatch", time=now, duration=2.0,
             **({"status": "failed", "error": long_error} if index % 3 == 0 else {"status": "done", "changed": True}))
        for index, item in enumerate(plan["items"])
    ]
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    output = tmp_path / "report"

    result = run_module(cs_upgrade_report, {"plan_file": str(plan_file), "journal": str(journal), "output_dir": str(output), "names_limit": 5})
    assert len(json.dumps(result)) < 10_000
    stats = result["stats"]
    assert (stats["done"], stats["failed"], stats["outcome"]) == (2000, 1000, "finished_with_failures")
    assert stats["by_path"]["livepatch"]["failed"] == 1000
    assert stats["failed_names"] == ["net-0", "net-3", "net-6", "net-9", "net-12"] and stats["failed_more"] == 995
    assert len(result["attention"]) == 5 and result["attention_more"] == 995
    assert all(len(entry["detail"]) <= 300 for entry in result["attention"])
    report = json.loads((output / "report.json").read_text())
    assert sum(len(group["units"]) for group in report["groups"]) == 3000
    assert len(report["attention"]) == 1000 and long_error in json.dumps(report)
    assert "net-2997" in (output / "report.html").read_text() and "net-2997" in (output / "report.md").read_text()

    assert run_module(cs_upgrade_report, {"plan_file": str(plan_file), "journal": str(journal), "output_dir": str(output), "names_limit": 0})["stats"][
        "failed_names"
    ] == []
    refused = run_module(cs_upgrade_report, {"plan_file": str(plan_file), "journal": str(journal), "output_dir": str(tmp_path / "other"), "names_limit": -1})
    assert refused["failed"] and "names_limit" in refused["msg"] and not (tmp_path / "other").exists()


def test_a_run_refused_because_the_plan_changed_since_its_approval_is_reported_as_such(run_module, tmp_path):
    """refused.json beside plan.json (cs_upgrade_plan's record of the refusal) about this plan: the report says the run
    was refused and the plan must be made and approved again; about another plan, or unreadable, it is ignored."""
    from ansible_collections.acs.upgrade.plugins.module_utils._approval import plan_digest

    plan = build_plan(FLEET, canary_size=0)
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    journal = tmp_path / "journal.jsonl"
    differences = ["target removed: network net-%d (n%d), was livepatch" % (index, index) for index in range(7)]
    refusal = {"time": "2026-12-08T00:10:00+00:00", "approved_digest": "a" * 64, "plan_digest": plan_digest(plan), "differences": differences}
    (tmp_path / "refused.json").write_text(json.dumps(refusal))
    arguments = {"plan_file": str(tmp_path / "plan.json"), "journal": str(journal), "output_dir": str(tmp_path / "report")}

    result = run_module(cs_upgrade_report, arguments)
    assert result["stats"]["outcome"] == "approval_refused" and result["outcome"]["status"] == "approval_refused"
    summary = result["outcome"]["summary"]
    assert summary.startswith("Refused at 2026-12-08T00:10:00+00:00, before any change: ")
    assert "the plan changed since it was approved (approved digest %s)" % ("a" * 64) in summary
    assert "target removed: network net-0 (n0), was livepatch" in summary and "and 2 more (refused.json)" in summary
    assert "Make the plan again (the plan job) and have the new plan approved" in summary and "Nothing ran yet" not in summary
    html = (tmp_path / "report" / "report.html").read_text()
    assert "approval_refused" in html and "run the upgrade" not in html

    # A refusal about another plan (plan.json was made again since) is not this plan's story.
    (tmp_path / "refused.json").write_text(json.dumps(dict(refusal, plan_digest="b" * 64)))
    assert run_module(cs_upgrade_report, arguments)["stats"]["outcome"] == "not_started"
    (tmp_path / "refused.json").write_text("{not json")
    assert run_module(cs_upgrade_report, arguments)["stats"]["outcome"] == "not_started"
