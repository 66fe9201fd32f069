# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

from ansible_collections.acs.upgrade.plugins.module_utils._progress import StageCount, progress_line, stage_count

PLAN = {
    "ms_version": "4.18.0.0",
    "items": [{"key": "network:%d" % number, "path": "livepatch" if number < 4 else "legacy"} for number in range(5)],
    "batches": [
        {"group": "zone2", "stage": "routers", "items": ["network:0", "network:1", "network:2", "network:4"]},
        {"group": "zone2", "stage": "canary", "items": ["network:3"]},
    ],
}


def entry(key, status, version="4.18.0.0"):
    return {"key": key, "status": status, "ms_version": version}


def test_the_count_takes_each_targets_last_entry_of_this_version():
    entries = [
        entry("network:0", "submitted"),
        entry("network:0", "done"),
        entry("network:1", "submitted"),
        entry("network:2", "failed"),
        entry("network:2", "submitted"),
        entry("network:3", "done"),
        entry("network:1", "done", version="4.17.0.0"),
    ]
    assert stage_count(PLAN, entries, "zone2", "routers", ["livepatch"]) == StageCount(total=3, done=1, failed=0, in_flight=2)
    assert stage_count(PLAN, entries, "zone2", "routers", ["livepatch", "legacy"]).total == 4


def test_the_line_says_done_of_total_and_an_eta_from_what_ended_since_the_start():
    start = StageCount(total=2000, done=700, failed=0, in_flight=0)
    now = StageCount(total=2000, done=812, failed=3, in_flight=40)
    assert progress_line("zone2", "routers", now, start, 60) == "zone2 routers: 812/2,000 done, 3 failed, 40 in flight, ETA 10 min (running 60 s)"
    assert progress_line("zone2", "routers", start, start, 5) == "zone2 routers: 700/2,000 done, 0 failed, 0 in flight (running 5 s)"
