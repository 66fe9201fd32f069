# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Helpers shared by the router container tests."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from acs_sim.backends.docker import payload_builder

ROUTER_DIR = Path(__file__).resolve().parents[2] / "router"
BASE_VERSION = "4.16.1.0"
NEW_VERSION = "4.18.0.0"


def vm(name: str, kind: str = "router", version: str = "4.16.1", software: str = BASE_VERSION) -> dict:
    return {"id": f"id-{name}", "name": name, "type": kind, "state": "Running", "version": version, "softwareversion": software}


def sh(container: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", container, "bash", "-c", command], capture_output=True, text=True, check=check)


def payload_md5(version: str, broken: bool = False) -> str:
    return hashlib.md5(payload_builder.cloud_scripts(version, broken_haproxy=broken)).hexdigest()


def service_pids(container: str, services: list[str]) -> dict[str, str]:
    return {svc: sh(container, f"acs-svc pid {svc}").stdout.strip() for svc in services}
