# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What the molecule verifiers check on a router or system VM container after a live patch."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path

STATE = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
PAYLOAD_FILES = ("cloud-scripts.tgz", "agent.zip", "patch-sysvms.sh")


def _builder():
    spec = importlib.util.spec_from_file_location("acs_router_payload", PROJECT / "tests" / "router" / "payload" / "build_payload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def payload_md5(version: str) -> str:
    return hashlib.md5(_builder().cloud_scripts(version)).hexdigest()


def ms_version() -> str:
    return json.loads((STATE / "sim" / "sim.json").read_text())["version"]


def pids_before(container: str) -> dict[str, str]:
    return json.loads((STATE / "pids-before.json").read_text())[container]


def container_name(host) -> str:
    return host.backend.get_hostname()


def enabled_services(host) -> list[str]:
    return host.file("/var/cache/cloud/enabled_svcs").content_string.split()


def service_pid(host, service: str) -> str:
    return host.check_output(f"acs-svc pid {service}")


def health_results(host) -> dict:
    return json.loads(host.check_output("/opt/cloud/bin/getRouterMonitorResults.sh true"))


def failed_checks(host) -> dict[str, str]:
    results = health_results(host)
    return {name: r["message"] for kind in ("basic", "advanced") for name, r in results[kind].items() if name != "lastRun" and r["success"] != "true"}


def probe_report(container: str, timeout: float = 30.0) -> dict:
    """Stop the downtime probes (they ran since prepare) and read the report of this router."""
    (STATE / "probes.stop").touch()
    report = STATE / f"probe-{container}.json"
    deadline = time.monotonic() + timeout
    while not report.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"no probe report for {container} in {STATE}")
        time.sleep(0.1)
    return json.loads(report.read_text())


def leftover_payload(host) -> list[str]:
    names = ["bkpup_live_patch", *PAYLOAD_FILES]
    return [name for name in names if host.file(f"/var/cache/cloud/{name}").exists]
