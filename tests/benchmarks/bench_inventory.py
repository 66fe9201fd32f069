# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Benchmark: ansible-inventory --list of the acs.upgrade.cloudstack plugin on a generated fleet. Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "simulator"))
sys.path.insert(0, str(REPO / "tests"))

import conftest  # noqa: E402 - makes the checkout the collection acs.upgrade (ANSIBLE_COLLECTIONS_PATH)
from acs_sim.server import Simulator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generate", default="zones=4,routers=10000,redundant=0.2")
    args = parser.parse_args()
    started = time.perf_counter()
    sim = Simulator("small", generate=args.generate).start()
    print(f"fleet: {args.generate}; simulator up in {time.perf_counter() - started:.2f} s")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "bench.cloudstack.yml"
            source.write_text("plugin: acs.upgrade.cloudstack\n")
            env = dict(os.environ, CLOUDSTACK_ENDPOINT=sim.url, CLOUDSTACK_KEY=sim.admin_key, CLOUDSTACK_SECRET=sim.admin_secret,
                       ANSIBLE_COLLECTIONS_PATH=str(conftest.COLLECTIONS_ROOT))
            before = len(sim.calls())
            cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--list"],
                                  capture_output=True, text=True, env=env, check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_seconds = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
            inventory = json.loads(done.stdout)
            hosts = inventory["_meta"]["hostvars"]
            # ansible-inventory marks the strings it got from the API as unsafe ({"__ansible_unsafe": value}).
            routers = sum(1 for variables in hosts.values() if variables["acs"]["kind"] in ("router", {"__ansible_unsafe": "router"}))
            groups = [name for name in inventory if name not in ("_meta", "all")]
            print(f"ansible-inventory --list: {len(hosts)} hosts ({routers} routers) in {len(groups)} groups,", end=" ")
            print(f"{wall:.2f} s wall, {cpu_seconds:.2f} s CPU, {len(done.stdout) / 1e6:.1f} MB JSON")
            print(f"API calls: {len(sim.calls()) - before}")
            cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--graph"], capture_output=True, env=env, check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            print(f"ansible-inventory --graph: {wall:.2f} s wall, {after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime:.2f} s CPU")
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
