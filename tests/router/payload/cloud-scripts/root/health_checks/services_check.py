#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Basic check: every service of /var/cache/cloud/enabled_svcs is running."""
from __future__ import annotations

import sys

sys.path.insert(0, "/opt/cloud/bin")
from cs_health import enabled_services, main, service_running  # noqa: E402


def check() -> tuple[bool, str]:
    services = enabled_services()
    stopped = [name for name in services if not service_running(name)]
    if stopped:
        return False, f"not running: {' '.join(stopped)}"
    return True, f"running: {' '.join(services)}"


main("basic", check)
