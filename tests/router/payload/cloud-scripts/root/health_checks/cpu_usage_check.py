#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Basic check: CPU usage over a short window against maxCpuUsage."""
from __future__ import annotations

import sys
import time

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import config, main  # noqa: E402


def sample() -> tuple[int, int]:
    with open("/proc/stat", encoding="utf-8") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def check() -> tuple[bool, str]:
    total1, idle1 = sample()
    time.sleep(0.2)
    total2, idle2 = sample()
    usage = 100.0 * (1 - (idle2 - idle1) / max(total2 - total1, 1))
    limit = float(config()["maxCpuUsage"])
    return usage <= limit, f"CPU usage {usage:.1f}% (max {limit:.1f}%)"


main("basic", check)
