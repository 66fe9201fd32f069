#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Advanced check: /etc/dhcphosts.txt is well formed and agrees with the guest entries of /etc/hosts."""
from __future__ import annotations

import re
import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import guest_hosts, main  # noqa: E402

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def check() -> tuple[bool, str]:
    hosts = guest_hosts()
    problems = []
    count = 0
    with open("/etc/dhcphosts.txt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            count += 1
            fields = line.strip().split(",")
            if len(fields) < 3 or not MAC.match(fields[0]):
                problems.append(f"line {number} malformed")
            elif hosts.get(fields[2]) != fields[1]:
                problems.append(f"{fields[2]} has {fields[1]} in dhcphosts but {hosts.get(fields[2])} in /etc/hosts")
    with open("/etc/dnsmasq.d/cloud.conf", encoding="utf-8") as handle:
        if "dhcp-hostsfile=/etc/dhcphosts.txt" not in handle.read():
            problems.append("dnsmasq does not read /etc/dhcphosts.txt")
    if problems:
        return False, "; ".join(problems)
    return True, f"{count} DHCP entries match the guest VMs"


main("advanced", check, router_only=True)
