#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Benchmark: the preflight (cs_upgrade_preflight's work) on a generated fleet. Prints figures; fails above the budget.

    .venv/bin/python tests/benchmarks/bench_preflight.py [--routers 10000] [--zones 4] [--max-calls 60] [--max-seconds 5]

The simulator runs in its own process (``acs-sim --generate``). The fleet is read first and written to a file, as
``acs.upgrade.discover`` does; then the module's work is timed - the fleet file read, its own API reads, the checks and
preflight.json written - and its API calls counted (every page is a call).
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
from ansible_collections.acs.upgrade.plugins.module_utils._common import write_private_json  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._preflight import read_cloud, run_checks, summary_lines  # noqa: E402


def calls(sim: Sim) -> dict[str, int]:
    return dict(sim.side("GET", "counters")["per_api"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--routers", type=int, default=10000)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--max-calls", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Sim(args.routers, args.zones, 1, 0.01, Path(tmp))
        try:
            client = CloudStackClient(endpoint=sim.url, api_key=sim.key, api_secret=sim.secret, timeout=120)
            started = time.perf_counter()
            fleet = Fleet.read(client, include_accounts=True).as_dict()
            print("fleet: %d routers, %d system VMs, %d hosts in %d zones; read in %.2f s" % (
                len(fleet["routers"]), len(fleet["systemvms"]), len(fleet["hosts"]), len(fleet["zones"]), time.perf_counter() - started))
            fleet_file = Path(tmp) / "fleet.json"
            write_private_json(str(fleet_file), fleet)
            before = calls(sim)
            started = time.perf_counter()
            fleet = json.loads(fleet_file.read_text(encoding="utf-8"))
            loaded = time.perf_counter()
            cloud = read_cloud(client, fleet)
            read = time.perf_counter()
            result = run_checks(fleet, cloud)
            summary_lines(result)
            write_private_json(str(Path(tmp) / "preflight.json"), result)
            wall = time.perf_counter() - started
            after = calls(sim)
            made = {name: after.get(name, 0) - before.get(name, 0) for name in after if after.get(name, 0) != before.get(name, 0)}
            total = sum(made.values())
            print("preflight: %.2f s (fleet file %.1f MB read in %.2f s, API reads %.2f s, checks and preflight.json %.2f s), %d API calls (%s)" % (
                wall, fleet_file.stat().st_size / 1e6, loaded - started, read - loaded, wall - (read - started), total,
                ", ".join("%s %d" % item for item in sorted(made.items()))))
            print("findings: %s" % ", ".join("%s %s" % (item["severity"], item["check"]) for item in result["findings"]))
        finally:
            sim.stop()
    if total > args.max_calls or wall > args.max_seconds:
        print("over the budget of %d calls and %.0f s" % (args.max_calls, args.max_seconds))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
