# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Benchmark: cs_vr_health on a generated fleet. Prints API calls, time and result size per mode; asserts nothing.

Run: .venv/bin/python tests/integration/health/bench_health.py --routers 10000 --fresh-routers 200
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TESTS / "simulator"), str(TESTS)]

from conftest import COLLECTIONS_ROOT  # noqa: E402 - links the checkout as ansible_collections.acs.upgrade there

sys.path.insert(0, str(COLLECTIONS_ROOT))

from acs_sim.server import Simulator  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.acs.upgrade.plugins.modules import cs_vr_health  # noqa: E402


def run(sim: Simulator, **args) -> tuple[dict, float, int]:
    args = dict(api_url=sim.url, api_key=sim.admin_key, api_secret=sim.admin_secret, enforce=False, **args)
    out = io.StringIO()
    started = time.perf_counter()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            cs_vr_health.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - started
    return json.loads(out.getvalue()), elapsed, len(out.getvalue())


def measure(spec: str, label: str, **args) -> None:
    sim = Simulator(generate=spec, time_factor=0.001).start()
    try:
        result, elapsed, size = run(sim, **args)
        calls = sim.counters()["per_api"]
    finally:
        sim.stop()
    summary = result["summary"]
    print(
        "%-34s %6d judged %4d skipped  %3d API calls %-70s %6.2f s  result %6.1f MB"
        % (label, summary["routers"], summary["skipped"], sum(calls.values()), json.dumps(calls, sort_keys=True), elapsed, size / 1e6)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routers", type=int, default=10000)
    parser.add_argument("--fresh-routers", type=int, default=200, help="fleet size for the fresh-check run (one call per router)")
    parser.add_argument("--parallel", type=int, default=10)
    args = parser.parse_args()
    spec = "zones=4,routers=%d,seed=3" % args.routers
    measure(spec, "cached, report_checks=all")
    measure(spec, "cached, report_checks=failed", report_checks="failed")
    measure("zones=2,routers=%d,seed=3" % args.fresh_routers, "fresh, parallel=%d" % args.parallel, fresh=True, parallel=args.parallel, report_checks="failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
