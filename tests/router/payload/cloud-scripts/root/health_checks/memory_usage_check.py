#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Basic check: used memory against maxMemoryUsage."""
from __future__ import annotations

import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import config, main  # noqa: E402


def check() -> tuple[bool, str]:
    info = {}
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0])
    usage = 100.0 * (1 - info["MemAvailable"] / info["MemTotal"])
    limit = float(config()["maxMemoryUsage"])
    return usage <= limit, f"Memory usage {usage:.1f}% (max {limit:.1f}%)"


main("basic", check)
