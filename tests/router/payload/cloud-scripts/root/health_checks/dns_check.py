#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Advanced check: every guest VM of /etc/hosts resolves through dnsmasq to its address."""
from __future__ import annotations

import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import guest_hosts, main  # noqa: E402
from cs_netcheck import dns_query  # noqa: E402


def check() -> tuple[bool, str]:
    hosts = guest_hosts()
    wrong = []
    for name, address in hosts.items():
        answer = dns_query(name)
        if address not in answer:
            wrong.append(f"{name} -> {answer or 'NXDOMAIN'} (expected {address})")
    if wrong:
        return False, "wrong DNS answers: " + ", ".join(wrong)
    return True, f"{len(hosts)} guest VMs resolve"


main("advanced", check, router_only=True)
