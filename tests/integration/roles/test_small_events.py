# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""No event of an upgrade job grows with the fleet: AWX drops event data over about 700 KB and then shows nothing of
the task, so every module argument and result of the upgrade path is a path or a summary, and the files hold the rest."""

from __future__ import annotations

import json
import re

from playbook_runner import read_plan, run_playbook

ROUTERS = 3000
# Far below AWX's limit, and far below what a fleet of this size weighs (its plan.json is megabytes).
EVENT_LIMIT = 100_000
FAILING = 30


def test_upgrade_of_thousands_of_routers_keeps_every_event_small_and_the_report_files_hold_every_router(acs_sim, tmp_path):
    sim = acs_sim(generate="zones=2,routers=%d,redundant=0.2,seed=7" % ROUTERS, time_factor=0.0005)
    state = sim.state()
    # More failed live patches than the result names: the rest is counted, the files name them all.
    failing = sorted(network["name"] for network in state["networks"] if not network.get("vpcid"))[-FAILING:]
    for name in failing:
        sim.inject(kind="livepatch_failure", object=name, errortext="patch script exited 1: haproxy failed to restart")
    output = tmp_path / "out"
    run = run_playbook(
        sim,
        tmp_path,
        "upgrade.yml",
        {
            "acs_upgrade_dir": str(output),
            "livepatch_parallel": "100",
            "livepatch_poll_interval": "0.05",
            "livepatch_progress_every": "500",
        },
        # ansible-runner empties the result of an event over MAX_EVENT_RES (700,000 characters, AWX's limit): keep
        # every result whole, to measure it.
        env={"MAX_EVENT_RES": str(10**9)},
    )
    assert run.rc == 0, run.stdout[-3000:]

    # What a result carrying the plan or the report would weigh: megabytes.
    assert (output / "plan.json").stat().st_size > 10 * EVENT_LIMIT and (output / "report.json").stat().st_size > 10 * EVENT_LIMIT
    sizes = sorted(((len(json.dumps(event)), event.get("event"), (event.get("event_data") or {}).get("task")) for event in run.events), reverse=True)
    assert sizes[0][0] <= EVENT_LIMIT, sizes[:5]

    # The job summary: totals of every item, the first 20 names of what was recreated and how many more.
    stats = run.stats["acs_upgrade"]
    plan = read_plan(output)
    assert sum(stats[outcome] for outcome in ("done", "recreated", "failed", "unknown", "not_run", "skipped")) == len(plan["items"])
    assert (stats["outcome"], stats["failed"], stats["not_run"]) == ("finished", 0, 0)
    assert stats["recreated"] > 20 and len(stats["recreated_names"]) == 20 and stats["recreated_more"] == stats["recreated"] - 20
    assert set(stats["recreated_names"]) <= set(failing)
    assert sum(stats["by_path"][path][outcome] for path in stats["by_path"] for outcome in stats["by_path"][path]) == len(plan["items"])

    # The files hold every router and system VM, and every target that needs attention.
    report = json.loads((output / "report.json").read_text())
    rows = {vm["name"] for group in report["groups"] for unit in group["units"] for vm in unit["vms"]}
    assert {router["name"] for router in state["routers"]} | {vm["name"] for vm in state["systemvms"]} <= rows
    recreated = [entry["name"] for entry in report["attention"] if entry["outcome"] == "recreated"]
    assert len(recreated) == stats["recreated"] and set(recreated) <= set(failing)
    # The job output names the first 20 entries of the needs-attention list and counts the others.
    assert "and %d more in the report" % (len(report["attention"]) - 20) in run.stdout
    html = (output / "report.html").read_text()
    markdown = (output / "report.md").read_text()
    assert set(re.findall(r"\br-\d+-VM\b", html)) == set(re.findall(r"\br-\d+-VM\b", markdown)) >= {router["name"] for router in state["routers"]}

    # The AWX "report" job (playbooks/report.yml) writes the same report again from the state directory, by path.
    for name in ("report.json", "report.md", "report.html"):
        (output / name).unlink()
    again = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output)}, env={"MAX_EVENT_RES": str(10**9)})
    assert again.rc == 0, again.stdout[-3000:]
    assert max(len(json.dumps(event)) for event in again.events) <= EVENT_LIMIT
    assert json.loads((output / "report.json").read_text())["totals"] == report["totals"]
    assert again.stats["acs_upgrade"] == stats
