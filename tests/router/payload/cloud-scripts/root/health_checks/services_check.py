#!/usr/bin/env python
# SPDX-License-Identifier: Apache-2.0
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
