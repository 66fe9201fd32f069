#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Basic check: template release and scripts signature; the signature must match the installed payload."""
from __future__ import annotations

import hashlib
import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import config, main  # noqa: E402


def check() -> tuple[bool, str]:
    with open("/etc/cloudstack-release", encoding="utf-8") as handle:
        release = handle.read().strip()
    with open("/var/cache/cloud/cloud-scripts-signature", encoding="utf-8") as handle:
        signature = handle.read().strip()
    with open("/usr/share/cloud/cloud-scripts.tgz", "rb") as handle:
        installed = hashlib.md5(handle.read()).hexdigest()  # noqa: S324 - CloudStack's scripts signature is an md5
    problems = []
    if signature != installed:
        problems.append(f"signature {signature} does not match the installed payload {installed}")
    expected = config().get("expectedSignature")
    if expected and expected != signature:
        problems.append(f"signature {signature} differs from the expected {expected}")
    if problems:
        return False, "; ".join(problems)
    return True, f"Release: {release}; scripts signature: {signature}"


main("basic", check)
