# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two ideals of the upgrade benchmark, which its README table compares the collection with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_upgrade.py"
spec = importlib.util.spec_from_file_location("bench_upgrade", SOURCE)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def job(jobid, start, end, instance=None):
    return {"jobid": jobid, "start": 1000 + start, "end": 1000 + end, "instanceid": instance or jobid}


def test_the_group_order_ideal_runs_each_group_stage_after_the_other_and_the_global_one_packs_them():
    plan = {"batches": [
        {"group": "zone1", "stage": "systemvms", "items": ["systemvm:s1"]},
        {"group": "zone1", "stage": "routers", "items": ["network:a", "network:b"]},
        {"group": "zone2", "stage": "routers", "items": ["network:c"]},
        {"group": "zone1", "stage": "routers", "items": ["network:d"]},  # a second batch of a stage counts in that stage
    ]}
    journal = [{"key": "systemvm:s1", "state": "submitted", "jobid": "j1"}, {"key": "network:a", "state": "submitted", "jobid": "j2"},
               {"key": "network:b", "state": "submitted", "jobid": "j3"}, {"key": "network:c", "state": "submitted", "jobid": "j4"},
               {"key": "network:d", "state": "submitted", "jobid": "j5"}, {"key": "network:d", "state": "done"}]
    jobs = [job("j1", 0, 4), job("j2", 4, 6), job("j3", 4, 14), job("j4", 14, 17), job("j5", 4, 5), job("x", 20, 21)]
    in_order = bench.group_order_ideal(jobs, plan, journal, parallel=2)
    # zone1 system VMs 4 s; zone1 routers max(10, 13/2) = 10 s; zone2 routers 3 s.
    assert in_order == {"makespan": 17.0, "steps": 3, "jobs_not_placed": 1}
    packed = bench.ideal(jobs, parallel=2)
    assert packed["makespan"] == 10.5  # 21 job-seconds over 2 slots; the longest job is 10 s
    assert packed["makespan"] < in_order["makespan"]
