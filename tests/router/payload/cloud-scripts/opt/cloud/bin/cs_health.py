# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Common frame of the scripts in /root/health_checks/.

Contract: `<script> basic|advanced` prints a message (nothing when the script is not a check of that type)
and exits 0 for pass, non-zero for fail.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

# Thresholds the management server may push; the defaults are CloudStack's global setting defaults.
CONFIG_FILE = "/root/health_checks_data.json"
DEFAULTS = {"maxCpuUsage": 100.0, "maxMemoryUsage": 100.0, "minDiskNeeded": 100.0}
CMDLINE = "/var/cache/cloud/cmdline"
ENABLED_SVCS = "/var/cache/cloud/enabled_svcs"


def config() -> dict:
    try:
        with open(CONFIG_FILE, encoding="utf-8") as handle:
            return {**DEFAULTS, **json.load(handle)}
    except FileNotFoundError:
        return dict(DEFAULTS)


def vm_type() -> str:
    with open(CMDLINE, encoding="utf-8") as handle:
        for token in handle.read().split():
            if token.startswith("type="):
                return token[5:]
    return ""


def enabled_services() -> list[str]:
    with open(ENABLED_SVCS, encoding="utf-8") as handle:
        return handle.read().split()


def guest_hosts() -> dict[str, str]:
    """Guest VMs the router serves: the lines of /etc/hosts marked "# guest", as {name: address}."""
    hosts = {}
    with open("/etc/hosts", encoding="utf-8") as handle:
        for line in handle:
            if line.rstrip().endswith("# guest"):
                address, name = line.split()[:2]
                hosts[name] = address
    return hosts


def service_running(name: str) -> bool:
    return subprocess.run(["/usr/local/sbin/acs-svc", "status", name], capture_output=True, check=False).returncode == 0


def main(check_type: str, check: Callable[[], tuple[bool, str]], router_only: bool = False) -> None:
    """Run `check` when invoked with its type; print its message and exit 0/1."""
    if len(sys.argv) < 2 or sys.argv[1] != check_type or (router_only and vm_type() != "router"):
        sys.exit(0)
    try:
        success, message = check()
    except Exception as exc:  # a crashing check is a failed check with a readable reason
        success, message = False, f"check crashed: {exc}"
    print(message)
    sys.exit(0 if success else 1)
