#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Benchmark: ``playbooks/rehearse.yml`` on a generated fleet, from the snapshot to the rehearsal report. Prints figures.

    .venv/bin/python tests/benchmarks/bench_rehearse.py [--routers 10000] [--zones 4] [--time-factor 0.01] [--max-seconds 600]

The "real" cloud is ``acs-sim --generate`` in its own process; the rehearsal starts a second simulator from the snapshot,
as an operator's run does. Exits 1 above ``--max-seconds`` or when the real cloud received anything but reads.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "simulator"), str(REPO / "tests" / "benchmarks")]

from bench_upgrade import BIN, Sim, collection_copy  # noqa: E402

READ_ONLY = re.compile(r"^(list|get|query)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--routers", type=int, default=10000)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--time-factor", type=float, default=0.01)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rehearse-") as tmp:
        work = Path(tmp)
        real = Sim(args.routers, args.zones, 1, args.time_factor, work)
        try:
            env = real.env()
            env["ANSIBLE_COLLECTIONS_PATH"] = str(collection_copy(work))
            extra = {"acs_upgrade_dir": str(work / "state"), "rehearse_time_factor": args.time_factor,
                     "rehearse_simulator": "%s %s" % (sys.executable, REPO / "tests" / "simulator" / "acs-sim"),
                     "rehearse_upgrade_vars": {"livepatch_parallel": args.parallel, "legacy_recreate_parallel": args.parallel}}
            started = time.time()
            done = subprocess.run([str(BIN / "ansible-playbook"), "acs.upgrade.rehearse", "-i", "localhost,", "-e", "ansible_connection=local",
                                   "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", json.dumps(extra)],
                                  env=env, capture_output=True, text=True, check=False, cwd=tmp)
            wall = time.time() - started
            counters = real.side("GET", "counters")["per_api"]
        finally:
            real.stop()
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-5000:] + done.stderr[-3000:])
            print("rehearse.yml failed (rc %d)" % done.returncode)
            return 1
        snapshot = work / "state" / "rehearsal" / "snapshot.json"
        rehearsal = json.loads((work / "state" / "rehearsal" / "upgrade" / "rehearsal.json").read_text())
        snapshot_size = os.path.getsize(snapshot)
    writes = sorted(command for command in counters if not READ_ONLY.match(command))
    total = rehearsal["total"]
    print("rehearsal of %d routers in %d zones at time factor %s: %.0f s wall (budget %.0f s); snapshot %.1f MB, %d API calls to the real cloud"
          " (%s); predicted %.0f s at real scale (%.0f-%.0f s), of which %.0f s of the controller's own time; outcome %s"
          % (args.routers, args.zones, args.time_factor, wall, args.max_seconds, snapshot_size / 1e6, sum(counters.values()),
             ", ".join("%s %d" % item for item in sorted(counters.items())), total["seconds"], total["low_seconds"], total["high_seconds"],
             total.get("controller_seconds") or 0, rehearsal["outcome"]))
    if writes:
        print("the real cloud received more than reads: %s" % ", ".join(writes))
        return 1
    return 0 if wall <= args.max_seconds else 1


if __name__ == "__main__":
    sys.exit(main())
