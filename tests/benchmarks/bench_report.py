#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""How the report scales: build and render the report of a generated fleet, and (with chromium) load the page.

    .venv/bin/python tests/benchmarks/bench_report.py [--routers 2000] [--zones 4] [--browser]

Prints the time to build the report and to render HTML and Markdown, the sizes of the three files, and with
--browser how long headless Chromium takes to load the page and take a screenshot.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import conftest  # noqa: E402  (makes this checkout importable as ansible_collections.acs.upgrade)

sys.path.insert(0, str(conftest.COLLECTIONS_ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils"))

from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan  # noqa: E402
from journal_fixtures import journal_entries, outcomes_from_targets  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._report import build_report, render_html, render_markdown  # noqa: E402

MS = "4.18.0.0"


def fleet(routers: int, zones: int) -> dict:
    versions = ("4.13.1", "4.14.1", "4.15.1")
    fleet = {"version": MS, "zones": [{"id": "z%d" % zone, "name": "zone%d" % zone} for zone in range(zones)], "routers": [], "units": [], "systemvms": []}
    for number in range(routers):
        zone = "z%d" % (number % zones)
        fleet["routers"].append(
            {"id": "r%d" % number, "name": "r-%d-VM" % number, "state": "Running", "requiresupgrade": True, "zoneid": zone,
             "version": versions[number % 3], "softwareversion": versions[number % 3] + ".0", "scriptsversion": "%032x" % number}
        )
        fleet["units"].append({"kind": "network", "id": "n%d" % number, "name": "net-%d" % number, "zoneid": zone, "routers": ["r%d" % number], "tiers": []})
    return fleet


def journal(plan: dict) -> list[dict]:
    """Every batch ran: jobs of 5 s, five at a time, one in 50 live patches failed and was recreated."""
    start = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc)
    entries, clock = [], 0.0
    for batch in plan["batches"]:
        keys = batch["items"]
        for path in ("livepatch", "legacy"):
            items = [item for item in plan["items"] if item["key"] in keys and item["path"] == path]
            targets = []
            for index, item in enumerate(items):
                began = start + datetime.timedelta(seconds=clock + index // 5 * 5)
                status = "failed" if path == "livepatch" and int(item["id"][1:]) % 50 == 0 else "patched" if path == "livepatch" else "succeeded"
                targets.append(
                    {
                        "kind": "network",
                        "id": item["id"],
                        "status": status,
                        "reason": "job ended with %s" % status,
                        "duration": 5.0,
                        "started": began.isoformat(),
                        "finished": (began + datetime.timedelta(seconds=5)).isoformat(),
                    }
                )
            clock += 5 * (len(items) // 5 + 1)
            entries += journal_entries(outcomes_from_targets(plan, [item["key"] for item in items], targets), plan, batch["index"], path,
                                       start + datetime.timedelta(seconds=clock))
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routers", type=int, default=2000)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--browser", action="store_true", help="also load the page in headless chromium")
    args = parser.parse_args()
    plan = build_plan(fleet(args.routers, args.zones), canary_size=1, batch_size=50)
    entries = journal(plan)
    began = time.perf_counter()
    report = build_report(plan, entries)
    built = time.perf_counter()
    page = render_html(report)
    rendered = time.perf_counter()
    markdown = render_markdown(report)
    data = json.dumps(report, indent=2, sort_keys=True)
    print("%d routers, %d journal entries, %d groups" % (args.routers, len(entries), len(report["groups"])))
    print("build %.2f s, HTML %.2f s, Markdown %.2f s" % (built - began, rendered - built, time.perf_counter() - rendered))
    print("report.html %.1f MiB, report.md %.1f MiB, report.json %.1f MiB" % tuple(len(text.encode()) / 2**20 for text in (page, markdown, data)))
    if args.browser:
        with tempfile.TemporaryDirectory() as work:
            html = Path(work) / "report.html"
            html.write_text(page)
            command = [shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=%s/profile" % work,
                       "--window-size=1280,1000", "--screenshot=%s/shot.png" % work, "--dump-dom", html.as_uri()]
            began = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
            seconds = time.perf_counter() - began
            print("chromium: load, script and screenshot %.1f s (exit %d, DOM %.1f MiB)" % (seconds, done.returncode, len(done.stdout) / 2**20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
