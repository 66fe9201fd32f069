#!/usr/bin/env python
# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for the API client on a large simulated fleet: reading it, and following many jobs.

Run from the repository root:  .venv/bin/python tests/benchmarks/bench_client.py [--routers 20000] [--jobs 400]
Prints: fleet read time, API calls and peak Python memory; job waiter wall time, poll calls per job, jobs in flight.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "simulator")]

import conftest  # noqa: E402  (makes the checkout importable as ansible_collections.acs.upgrade)
from acs_sim.server import Simulator  # noqa: E402

sys.path.insert(0, str(conftest.COLLECTIONS_ROOT))

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobRunner, JobTask  # noqa: E402


def bench_fleet_read(routers: int) -> None:
    started = time.perf_counter()
    sim = Simulator(None, generate="zones=4,routers=%d,redundant=0.2,projects=0.05" % routers, time_factor=0.001).start()
    print("simulator: %d routers generated and serving in %.2f s" % (routers, time.perf_counter() - started))
    try:
        client = CloudStackClient(sim.url, sim.admin_key, sim.admin_secret)
        started = time.perf_counter()
        fleet = Fleet.read(client)
        units = fleet.units()
        elapsed = time.perf_counter() - started
        calls = client.calls
        # A second read under tracemalloc (which slows Python down) for the memory figure.
        tracemalloc.start()
        Fleet.read(CloudStackClient(sim.url, sim.admin_key, sim.admin_secret)).units()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        per_api = {}
        for call in sim.calls()[: len(sim.calls()) // 2]:
            per_api[call["command"]] = per_api.get(call["command"], 0) + 1
        print("fleet read: %d routers, %d system VMs, %d units in %.2f s" % (len(fleet.routers), len(fleet.systemvms), len(units), elapsed))
        print("fleet read: %d API calls (%s)" % (calls, ", ".join("%s %d" % item for item in sorted(per_api.items()))))
        print("fleet read: peak Python memory %.1f MiB" % (peak / 2**20))
    finally:
        sim.stop()


def bench_job_waiter(jobs: int, parallel: int) -> None:
    zones = max(1, jobs // 2)
    sim = Simulator(None, generate="zones=%d,routers=%d" % (zones, zones), time_factor=0.02).start()
    try:
        client = CloudStackClient(sim.url, sim.admin_key, sim.admin_secret)
        vms = sim.state()["systemvms"][:jobs]
        tasks = [JobTask(key=vm["id"], submit=lambda vm=vm: client.submit("patchSystemVm", id=vm["id"], forced=True)) for vm in vms]
        runner = JobRunner(client, parallel=parallel, poll_interval=1.0, job_timeout=120, deadline=600)
        started = time.perf_counter()
        outcomes = runner.run(tasks)
        elapsed = time.perf_counter() - started
        statuses = {}
        for outcome in outcomes:
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        polls = len(sim.calls("listAsyncJobs")) + len(sim.calls("queryAsyncJobResult"))
        print("job waiter: %d patchSystemVm jobs, parallel %d, in %.2f s: %s" % (len(vms), parallel, elapsed, statuses))
        print("job waiter: %d poll calls (%.2f per job); most jobs in flight on the server: %d" % (polls, polls / max(1, len(vms)), sim.max_jobs_in_flight()))
    finally:
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routers", type=int, default=20000)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--parallel", type=int, default=20)
    options = parser.parse_args()
    bench_fleet_read(options.routers)
    bench_job_waiter(options.jobs, options.parallel)


if __name__ == "__main__":
    main()
