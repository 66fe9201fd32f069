#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Advanced check: the haproxy configuration is valid and the load-balancer rule forwards to its backend."""
from __future__ import annotations

import subprocess
import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import main  # noqa: E402
from cs_netcheck import http_get  # noqa: E402


def check() -> tuple[bool, str]:
    proc = subprocess.run(["haproxy", "-c", "-q", "-f", "/etc/haproxy/haproxy.cfg"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return False, "invalid haproxy configuration: " + (proc.stderr.strip() or proc.stdout.strip())[:300]
    status = http_get("/latest/meta-data/instance-id", port=8081)[0]
    if status != 200:
        return False, f"load-balancer rule on port 8081 answered HTTP {status}"
    return True, "configuration valid, load-balancer rule 8081 answers"


main("advanced", check, router_only=True)
