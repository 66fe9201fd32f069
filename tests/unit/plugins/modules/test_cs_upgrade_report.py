# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import datetime
import json

from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan, journal_entries
from ansible_collections.acs.upgrade.plugins.modules import cs_upgrade_report

ROUTER = {"state": "Running", "version": "4.15.0", "requiresupgrade": True, "softwareversion": "4.15.0.0", "zoneid": "z1"}
FLEET = {
    "version": "4.18.0.0",
    "zones": [{"id": "z1", "name": "zone-a"}],
    "routers": [dict(ROUTER, id="r1", name="r-1-VM"), dict(ROUTER, id="r2", name="r-2-VM"), dict(ROUTER, id="r3", name="r-3-VM", state="Stopped")],
    "units": [
        {"kind": "network", "id": "n1", "name": "net-1", "zoneid": "z1", "routers": ["r1"], "tiers": []},
        {"kind": "network", "id": "n2", "name": "net-<2>", "zoneid": "z1", "routers": ["r2"], "tiers": []},
        {"kind": "network", "id": "n3", "name": "net-3", "zoneid": "z1", "routers": ["r3"], "tiers": []},
    ],
}


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
        "unknown": 0,
        "not_run": 0,
        "skipped": 1,
        "paths": {"livepatch": 2, "skip": 1},
        "duration": 3.0,
        "failed_names": ["net-<2>"],
        "unknown_names": [],
        "recreated_names": [],
    }
    html = (output / "report.html").read_text()
    # One page with nothing to fetch (no link, src, href, CSS url or import); names escaped; the signed URL of the error redacted.
    assert html.startswith("<!DOCTYPE html>") and not any(marker in html for marker in ("<link", "src=", "href=", "url(", "@import"))
    assert "net-&lt;2&gt;" in html and "net-<2>" not in html
    assert "restartNetwork failed" in html and "signature" not in html and "SIG" not in html and "apiKey" not in html
    markdown = (output / "report.md").read_text()
    assert "| net-1 | router | r-1-VM |  | livepatch | done |" in markdown
    assert "| failed | network | net-&lt;2&gt; | zone-a | restartNetwork failed: see https://cloud.example.com/client/api?&lt;redacted&gt; |" in markdown
    assert json.loads((output / "report.json").read_text())["totals"]["failed"] == 1

    assert run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(output)})["changed"] is False


def test_check_mode_writes_nothing(run_module, tmp_path):
    plan = build_plan(FLEET)
    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(tmp_path / "none.jsonl"), "output_dir": str(tmp_path / "report")}, check_mode=True)
    assert result["stats"]["not_run"] == 2
    # A dry run: the report says nothing ran yet, not that a run stopped or skipped anything.
    assert result["stats"]["outcome"] == "not_started"
    assert [entry["action"] for entry in result["report"]["attention"] if entry["outcome"] == "not_run"] == [
        "nothing ran yet (a dry run, or a run that has not started): run the upgrade"
    ]
    assert not (tmp_path / "report").exists()


def test_stop_reason_and_downtime_probe_reports(run_module, tmp_path):
    plan = build_plan(FLEET, canary_size=0)
    now = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc)
    entries = journal_entries([{"key": "network:n1", "ok": True, "changed": True, "duration": 3.0}], plan, 1, "livepatch", now)
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
    assert result["report"]["outcome"]["summary"] == "Stopped in group zone-a (batch 1) because batch 1 livepatch: the run stops: on_failure is stop"
    row = result["report"]["groups"][0]["units"][0]["vms"][0]
    assert (row["name"], row["downtime"], row["downtime_services"]) == ("r-1-VM", 0.34, {"dns": 0.21, "http": 0.34})
    assert "0.34 s" in (tmp_path / "report" / "report.html").read_text()
    # net-<2> was planned but never ran: it needs attention, because the run stopped before it.
    assert [(entry["name"], entry["outcome"]) for entry in result["report"]["attention"]] == [("net-<2>", "not_run"), ("net-3", "skipped")]


def test_a_hand_edited_journal_with_a_bad_value_fails_with_the_journal_named(run_module, tmp_path):
    plan = build_plan(FLEET)
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"key": "network:n1", "name": "net-1", "batch": 1, "path": "livepatch", "status": "done", "duration": "three"}) + "\n")
    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(tmp_path / "report")})
    assert result["failed"] and str(journal) in result["msg"] and "three" in result["msg"]
    assert not (tmp_path / "report").exists()
