#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Advanced check: the packet filter answers (the router's firewall and NAT rules are in place)."""
from __future__ import annotations

import shutil
import subprocess
import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import main  # noqa: E402


def check() -> tuple[bool, str]:
    tool = shutil.which("iptables-save") or shutil.which("nft")
    if tool is None:
        # The test image ships no packet filter: there are no rules to compare.
        return True, "no packet filter tool on this router: nothing to compare"
    proc = subprocess.run([tool] if tool.endswith("iptables-save") else [tool, "list", "ruleset"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return False, f"{tool} failed: {proc.stderr.strip() or proc.returncode}"
    return True, f"{len(proc.stdout.splitlines())} lines of rules"


main("advanced", check, router_only=True)
