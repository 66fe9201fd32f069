#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Basic check: free space on / against minDiskNeeded (MB)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import config, main  # noqa: E402


def check() -> tuple[bool, str]:
    stat = os.statvfs("/")
    free_mb = stat.f_bavail * stat.f_frsize / 1024 / 1024
    needed = float(config()["minDiskNeeded"])
    return free_mb >= needed, f"Free disk space {free_mb:.0f} MB (min {needed:.0f} MB)"


main("basic", check)
