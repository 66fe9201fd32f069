# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import datetime
import json

from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan
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
    assert result["stats"] == {"ms_version": "4.18.0.0", "groups": 1, "done": 1, "failed": 1, "not_run": 0, "skipped": 1, "paths": {"livepatch": 2, "skip": 1}}
    html = (output / "report.html").read_text()
    # One page with nothing to fetch or run; names escaped; the signed URL of the error redacted.
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "<link" not in html and "src=" not in html
    assert "net-&lt;2&gt;" in html and "net-<2>" not in html
    assert "restartNetwork failed" in html and "signature" not in html and "SIG" not in html and "apiKey" not in html
    markdown = (output / "report.md").read_text()
    assert "| network | net-1 | livepatch | livepatch | done |" in markdown
    assert json.loads((output / "report.json").read_text())["totals"]["failed"] == 1

    assert run_module(cs_upgrade_report, {"plan": plan, "journal": str(journal), "output_dir": str(output)})["changed"] is False


def test_check_mode_writes_nothing(run_module, tmp_path):
    plan = build_plan(FLEET)
    result = run_module(cs_upgrade_report, {"plan": plan, "journal": str(tmp_path / "none.jsonl"), "output_dir": str(tmp_path / "report")}, check_mode=True)
    assert result["stats"]["not_run"] == 2
    assert not (tmp_path / "report").exists()
