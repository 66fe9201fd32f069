# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Stand-in for the system VM agent (the `cloud` service of SSVM and CPVM).

Like the real agent it refuses to start without its version file and its keystore (conf/cloud.jks), which the
patch script must carry over from the old agent; while running it records the version it was started with.
"""
from __future__ import annotations

import os
import signal
import sys
import time

HOME = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    try:
        with open(os.path.join(HOME, "VERSION"), encoding="utf-8") as handle:
            version = handle.read().strip()
    except OSError as exc:
        print(f"agent: cannot read its version: {exc}", file=sys.stderr)
        return 1
    if not os.path.isfile(os.path.join(HOME, "conf", "cloud.jks")):
        print("agent: keystore conf/cloud.jks missing", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open("/var/run/cloud-agent.version", "w", encoding="utf-8") as handle:
        handle.write(version + "\n")
    print(f"agent {version} running", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
