#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Basic check: the router has a default route (the gateway it forwards guest traffic to)."""
from __future__ import annotations

import subprocess
import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import main  # noqa: E402


def check() -> tuple[bool, str]:
    routes = subprocess.run(["ip", "-4", "route", "show", "default"], capture_output=True, text=True, check=False).stdout.split()
    if "via" not in routes:
        return False, "no default gateway"
    return True, f"default gateway {routes[routes.index('via') + 1]}"


main("basic", check, router_only=True)
