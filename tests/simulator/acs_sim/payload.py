# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What a management server version pushes to its system VMs (the template it ships is in acs_sim/releases.py)."""
from __future__ import annotations

import hashlib


def scripts_checksum(ms_version: str) -> str:
    """md5 of the scripts payload (cloud-scripts.tgz) a management server of `ms_version` pushes to system VMs."""
    return hashlib.md5(f"cloud-scripts.tgz {ms_version}".encode()).hexdigest()
