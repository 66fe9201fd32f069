# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A running stage shows where it stands in the job's output (AWX events), every progress interval, not only at its end."""

from __future__ import annotations

import datetime
import re

import yaml

from playbook_runner import run_playbook
from test_killed_run import SMALL
from test_upgrade_playbooks import extravars

PROGRESS = re.compile(r"(\S+) (systemvms|canary|routers): (\d+)/(\d+) done, (\d+) failed, (\d+) in flight(, ETA [^(]+)? \(running [^)]+\)")


def test_progress_lines_appear_while_a_stage_runs(acs_sim, tmp_path):
    topology = yaml.safe_load(SMALL.read_text())
    # Jobs of 1 to 2 s, one at a time: each stage lasts several seconds, zone1's routers about ten.
    topology.setdefault("jobs", {})["durations"] = {"patch_systemvm": [20, 40], "livepatch_router": [20, 40], "restart_rules": [5, 5]}
    sim = acs_sim(topology=topology, time_factor=0.05)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_parallel="1", legacy_recreate_parallel="1", livepatch_progress_interval="1"))
    assert run.rc == 0, run.stdout[-3000:]

    lines = []
    for event in run.events:
        for text in (event.get("stdout") or "").splitlines():
            found = PROGRESS.search(text)
            if found:
                lines.append((datetime.datetime.fromisoformat(event["created"]), event["event"], found))
    assert len(lines) >= 5, run.stdout[-3000:]
    # They are printed while the task runs, not in its result: before the event that ends the task.
    stage_tasks = [event for event in run.events if event["event"] == "runner_on_ok" and "Upgrade the" in event["event_data"].get("task", "")]
    assert stage_tasks
    zone_routers = [(moment, found) for moment, _kind, found in lines if found.group(2) == "routers"]
    assert len(zone_routers) >= 3
    # Per stage, the count of targets done never goes down, and at least one line says an ETA.
    per_stage: dict[tuple[str, str], list[int]] = {}
    for _moment, _kind, found in lines:
        per_stage.setdefault((found.group(1), found.group(2)), []).append(int(found.group(3)))
    assert all(done == sorted(done) for done in per_stage.values()), per_stage
    assert any(found.group(7) for _moment, _kind, found in lines)
    # Never more than the interval (1 s) and some slack apart while one stage runs.
    for (first, _k1, one), (second, _k2, two) in zip(lines, lines[1:]):
        if (one.group(1), one.group(2)) == (two.group(1), two.group(2)):
            assert (second - first).total_seconds() < 3, (one.group(0), two.group(0))
