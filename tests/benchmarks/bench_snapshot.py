#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Benchmark: a snapshot (cs_fleet_snapshot's work) of a generated fleet. Prints figures; fails above the budget.

    .venv/bin/python tests/benchmarks/bench_snapshot.py [--routers 10000] [--zones 4] [--max-calls 60] [--max-seconds 10]

The simulator runs in its own process (``acs-sim --generate``); a few jobs are run first so that the history is not empty.
Every page is a call.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "simulator"), str(REPO / "tests" / "benchmarks")]

# conftest makes the checkout the collection acs.upgrade.
import conftest  # noqa: E402,F401 # pylint: disable=unused-import
from bench_upgrade import Sim  # noqa: E402

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._snapshot import anonymize, read_snapshot  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--routers", type=int, default=10000)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--max-calls", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Sim(args.routers, args.zones, 1, 0.001, Path(tmp))
        try:
            networks = sim.client.call("listNetworks", listall=True, pagesize=20, page=1)["network"]
            for network in [n for n in networks if not n.get("vpcid")][:10]:
                sim.client.run("restartNetwork", id=network["id"], livepatch=True)
            client = CloudStackClient(endpoint=sim.url, api_key=sim.key, api_secret=sim.secret, timeout=120)
            before = sim.side("GET", "counters")["per_api"]
            started = time.perf_counter()
            snapshot = read_snapshot(client)
            wall = time.perf_counter() - started
            after = sim.side("GET", "counters")["per_api"]
            made = {name: after.get(name, 0) - before.get(name, 0) for name in after if after.get(name, 0) != before.get(name, 0)}
            started = time.perf_counter()
            anonymize(snapshot)
            anonymize_wall = time.perf_counter() - started
            size = len(json.dumps(snapshot))
        finally:
            sim.stop()
    total = sum(made.values())
    print("snapshot: %d routers, %d networks, %d VPCs, %d hosts in %d zones; %.2f s, %d API calls (%s); %.1f MB; anonymized in %.2f s" % (
        snapshot["counts"]["routers"], snapshot["counts"]["networks"], snapshot["counts"]["vpcs"], snapshot["counts"]["hosts"],
        snapshot["counts"]["zones"], wall, total, ", ".join("%s %d" % item for item in sorted(made.items())), size / 1e6, anonymize_wall))
    if total > args.max_calls or wall > args.max_seconds:
        print("over the budget of %d calls and %.0f s" % (args.max_calls, args.max_seconds))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
