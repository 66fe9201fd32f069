# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""acs-sim: run the simulator as a process (the demo, benchmarks, manual tries)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from acs_sim import snapshot
from acs_sim.server import Simulator
from acs_sim.topology import TOPOLOGY_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acs-sim", description="CloudStack management-server simulator (loopback only)")
    source = parser.add_mutually_exclusive_group(required=True)
    bundled = ", ".join(sorted(path.stem for path in TOPOLOGY_DIR.glob("*.yml")))
    source.add_argument("--topology", help=f"topology YAML file, or the name of a bundled one: {bundled}")
    source.add_argument("--generate", metavar="SPEC", help='generated fleet, e.g. "zones=4,routers=10000,redundant=0.2"')
    source.add_argument("--from-snapshot", metavar="FILE", help="the cloud of a snapshot written by acs.upgrade.cs_fleet_snapshot (same ids, names, "
                                                                "versions and states; job durations drawn from its history; made-up keys, in sim.json)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--time-factor", type=float, default=1.0, help="scale of job durations (0.001: a 40 s patch takes 40 ms)")
    parser.add_argument("--backend", choices=("memory", "docker"), default="memory")
    parser.add_argument("--workers", type=int, default=None,
                        help="async job threads (default: the topology's jobs.workers, else 125 = db.cloud.maxActive / 2 as AsyncJobManagerImpl has it)")
    parser.add_argument("--version", dest="ms_version", help="override the management server version of the topology (a release of acs_sim/releases.py)")
    parser.add_argument("--state-dir", help="directory for sim.json (url, keys; mode 0600), state.json and cloud.json (written at exit, "
                                            "cloud.json is loaded at the next start)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be 1 or more")
    if args.port == 8096:
        parser.error("port 8096 is CloudStack's unauthenticated integration port: this project never uses it, pick another port (or 0)")
    try:
        topology = snapshot.to_topology(snapshot.load(args.from_snapshot)) if args.from_snapshot else args.topology or "small"
        sim = Simulator(topology, generate=args.generate, time_factor=args.time_factor, backend=args.backend,
                        version=args.ms_version, port=args.port, state_dir=args.state_dir, workers=args.workers)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        print(f"acs-sim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sim.start()
    print(f"listening on {sim.url}", flush=True)
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
