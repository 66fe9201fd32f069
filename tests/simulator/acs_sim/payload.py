# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What a management server version ships to its system VMs."""
from __future__ import annotations

import hashlib


def scripts_checksum(ms_version: str) -> str:
    """md5 of the scripts payload (cloud-scripts.tgz) a management server of `ms_version` pushes to system VMs."""
    return hashlib.md5(f"cloud-scripts.tgz {ms_version}".encode()).hexdigest()


def template_version(ms_version: str) -> str:
    """The system VM template version a management server of `ms_version` requires (4.18.0.0 -> 4.18.0)."""
    return ".".join(ms_version.split(".")[:3])
