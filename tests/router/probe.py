#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Downtime probe for a router container.

A long-running probe runs INSIDE the container (docker exec) and queries dnsmasq (DNS, a guest VM name) and
apache2 (HTTP, the metadata server) on 127.0.0.1 every 50 ms, printing one line per round. This side collects
the lines and reports, per service, the longest gap between two successful answers. When the container is
replaced (legacy recreate) the inner probe dies with it; this side starts a new one as soon as a container of
that name runs again, so the gap covers the whole replacement (the clocks are the same kernel clock).

    probe.py CONTAINER --duration 10          probe for 10 s
    probe.py CONTAINER -- COMMAND [ARGS...]   probe while COMMAND runs (e.g. a patch or a recreate)
    probe.py CONTAINER --until FILE --out F   probe until FILE exists (F.ready is written once probing runs)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("dns", "http")

# Runs inside the container with its own python3; the DNS/HTTP clients are those of the health checks.
INNER = r"""
import json, sys, threading, time
sys.path.insert(0, "/opt/cloud/bin")
from cs_netcheck import dns_query, http_get
interval, name = float(sys.argv[1]), sys.argv[2]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.is_set():
    began = time.time()
    try:
        dns = bool(dns_query(name, timeout=0.25))
    except OSError:
        dns = False
    try:
        http = http_get("/latest/meta-data/instance-id", timeout=0.25)[0] == 200
    except OSError:
        http = False
    print(json.dumps([time.time(), dns, http]), flush=True)
    stop.wait(max(0.0, interval - (time.time() - began)))
"""


@dataclass
class ServiceGaps:
    samples: int = 0
    failures: int = 0
    successes: list[float] = field(default_factory=list)

    def longest_gap(self, start: float, end: float) -> float:
        """Longest time without a successful answer inside [start, end]."""
        points = [start] + [t for t in self.successes if start <= t <= end] + [end]
        return max(b - a for a, b in zip(points, points[1:]))


class DowntimeProbe:
    def __init__(self, container: str, interval: float = 0.05, dns_name: str = "vm-web-1") -> None:
        self.container = container
        self.interval = interval
        self.dns_name = dns_name
        self.services = {name: ServiceGaps() for name in SERVICES}
        self.execs = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = 0.0
        self.stopped = 0.0

    def _running(self) -> bool:
        out = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", self.container], capture_output=True, text=True, check=False)
        return out.stdout.strip() == "true"

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._running():
                self._stop.wait(self.interval)
                continue
            cmd = ["docker", "exec", "-i", self.container, "python3", "-u", "-c", INNER, str(self.interval), self.dns_name]
            with self._lock:
                if self._stop.is_set():
                    return
                self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                self.execs += 1
            for line in self._proc.stdout:
                try:
                    stamp, *results = json.loads(line)
                except ValueError:
                    continue
                for name, ok in zip(SERVICES, results):
                    gaps = self.services[name]
                    gaps.samples += 1
                    if ok:
                        gaps.successes.append(stamp)
                    else:
                        gaps.failures += 1
            self._proc.wait()

    def start(self, ready_timeout: float = 30.0) -> None:
        """Start probing; return once every service has answered once (the window starts there)."""
        self._thread.start()
        deadline = time.time() + ready_timeout
        while not all(gaps.successes for gaps in self.services.values()):
            if time.time() > deadline:
                self.stop()
                raise TimeoutError(f"{self.container}: DNS/HTTP did not answer within {ready_timeout} s")
            time.sleep(0.02)
        self.started = time.time()

    def stop(self) -> dict:
        self.stopped = time.time()
        # let the probe answer at least once after the measured action: a service still down counts to the end
        self._stop.set()
        with self._lock:
            if self._proc and self._proc.poll() is None:
                self._proc.stdin.close()
        self._thread.join(timeout=10)
        return self.report()

    def report(self) -> dict:
        return {
            "container": self.container,
            "window": round(self.stopped - self.started, 3),
            "execs": self.execs,
            **{
                name: {
                    "longest_gap": round(gaps.longest_gap(self.started, self.stopped), 3),
                    "samples": gaps.samples,
                    "failures": gaps.failures,
                }
                for name, gaps in self.services.items()
            },
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("container")
    parser.add_argument("--duration", type=float, default=None, help="probe for this many seconds")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between probe rounds (default 0.05)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds to keep probing after COMMAND ends")
    parser.add_argument("--until", type=Path, help="probe until this file exists")
    parser.add_argument("--out", type=Path, help="write the JSON report here instead of stdout")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command and args.duration is None and args.until is None:
        parser.error("give --duration, --until FILE or -- COMMAND")
    probe = DowntimeProbe(args.container, args.interval)
    probe.start()
    if args.out:
        args.out.with_name(args.out.name + ".ready").write_text(f"{probe.started}\n")
    rc = 0
    if command:
        rc = subprocess.run(command, check=False).returncode
        time.sleep(args.settle)
    elif args.until:
        while not args.until.exists():
            time.sleep(0.1)
    else:
        time.sleep(args.duration)
    report = probe.stop()
    report["command_rc"] = rc
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(report) + "\n")
        tmp.replace(args.out)
    else:
        print(json.dumps(report))
    return rc


if __name__ == "__main__":
    sys.exit(main())
