#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Benchmark: generate a large fleet and page through listRouters over HTTP. Prints figures; asserts nothing."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from acs_sim.server import Simulator  # noqa: E402 - the package sits next to this script
from acs_sim.topology import generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generate", default="zones=4,routers=10000,redundant=0.2")
    parser.add_argument("--samples", type=int, default=50, help="listRouters page requests to time")
    parser.add_argument("--pagesize", type=int, default=500)
    args = parser.parse_args()

    started = time.perf_counter()
    topology = generate(args.generate)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    sim = Simulator(topology, time_factor=0.001).start()
    loaded = time.perf_counter() - started
    client = sim.client()
    try:
        samples = []
        for index in range(args.samples):
            started = time.perf_counter()
            page = client.call("listRouters", listall=True, page=index % 3 + 1, pagesize=args.pagesize)
            samples.append(time.perf_counter() - started)
        total = page["count"]
        samples.sort()
        started = time.perf_counter()
        seen, number = 0, 1
        while True:
            items = client.call("listRouters", listall=True, page=number, pagesize=args.pagesize).get("router", [])
            seen += len(items)
            if len(items) < args.pagesize:
                break
            number += 1
        full = time.perf_counter() - started
        started = time.perf_counter()
        filtered = client.call("listRouters", listall=True, healthchecksfailed=True, fetchhealthcheckresults=True, pagesize=args.pagesize)
        health = time.perf_counter() - started
    finally:
        sim.stop()
    print(f"fleet: {args.generate} -> {total} routers")
    print(f"generate topology: {generated:.3f} s; build cloud and start: {loaded:.3f} s")
    print(f"listRouters page of {args.pagesize}: p50 {statistics.median(samples) * 1000:.1f} ms, "
          f"p95 {samples[int(len(samples) * 0.95) - 1] * 1000:.1f} ms, max {samples[-1] * 1000:.1f} ms ({len(samples)} samples)")
    print(f"full paging: {seen} routers in {number} pages, {full:.3f} s")
    print(f"listRouters healthchecksfailed=true fetchhealthcheckresults=true page: {health * 1000:.1f} ms ({filtered.get('count', 0)} matching)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
