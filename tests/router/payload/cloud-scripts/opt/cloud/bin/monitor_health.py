#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Run the health checks of one type and keep their results where the management server fetches them.

Like a real router, a basic run also records each monitored service (/var/cache/cloud/enabled_svcs) as
"<service>.service", the way monitorServices.py does; the scripts are reported by their file names.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import enabled_services, service_running  # noqa: E402

CHECKS_DIR = "/root/health_checks"
RESULTS = {"basic": "/root/basic_monitor_results.json", "advanced": "/root/advanced_monitor_results.json"}


def now_ms() -> int:
    return int(time.time() * 1000)


def run_checks(check_type: str) -> dict:
    results: dict = {}
    start = now_ms()
    for name in sorted(os.listdir(CHECKS_DIR)):
        path = os.path.join(CHECKS_DIR, name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        began = now_ms()
        try:
            proc = subprocess.run([path, check_type], capture_output=True, text=True, timeout=30, check=False)
            message, success = proc.stdout.strip(), proc.returncode == 0
        except subprocess.TimeoutExpired:
            message, success = "check timed out after 30 s", False
        if not message:
            continue
        results[name] = {"success": "true" if success else "false", "lastUpdate": now_ms(), "lastRunDuration": now_ms() - began, "message": message}
    if check_type == "basic":
        for service in enabled_services():
            began = now_ms()
            running = service_running(service)
            results[f"{service}.service"] = {
                "success": "true" if running else "false",
                "lastUpdate": now_ms(),
                "lastRunDuration": now_ms() - began,
                "message": f"service {service} is {'running' if running else 'not running'}",
            }
    end = now_ms()
    results["lastRun"] = {"start": start, "end": end, "duration": end - start}
    tmp = RESULTS[check_type] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    os.replace(tmp, RESULTS[check_type])
    return results


if __name__ == "__main__":
    types = sys.argv[1:] or ["basic", "advanced"]
    for kind in types:
        if kind not in RESULTS:
            sys.exit(f"unknown check type {kind!r}: use basic or advanced")
        run_checks(kind)
