# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Downtime of DNS and HTTP on a router: live patch versus legacy recreate of the same router.

The measured gaps are printed (they are the figures quoted in the README); the assertions are the promise:
a live patch interrupts each service for well under a second, a recreate for longer than the live patch.
"""
from __future__ import annotations

import json
import time

from router.probe import DowntimeProbe

from integration.router.helpers import NEW_VERSION, vm


def measure(container: str, action) -> dict:
    probe = DowntimeProbe(container)
    probe.start()
    time.sleep(0.3)
    action()
    # keep probing a little: a service that is still down counts until the end of the window
    time.sleep(0.5)
    return probe.stop()


def test_live_patch_versus_recreate_gaps(backend, capsys):
    router = vm("r-40-VM")
    backend.create_vm(router)
    name = backend.container(router)

    live = measure(name, lambda: backend.patch_vm(router, NEW_VERSION))

    def recreate() -> None:
        backend.destroy_vm(router)
        backend.create_vm({**router, "version": "4.18.0", "softwareversion": NEW_VERSION})

    legacy = measure(name, recreate)

    with capsys.disabled():
        print("\nrouter downtime (longest gap between two answers, probe every 50 ms inside the router):")
        for label, report in (("live patch", live), ("recreate", legacy)):
            print(f"  {label:10s} dns {report['dns']['longest_gap']:.3f} s  http {report['http']['longest_gap']:.3f} s  ({json.dumps(report)})")

    assert live["execs"] == 1, "the live patch must not interrupt the container"
    assert legacy["execs"] >= 2, "the recreate replaces the container"
    for service in ("dns", "http"):
        assert live[service]["samples"] > 10
        assert live[service]["longest_gap"] < 1.0, (service, live)
        assert legacy[service]["longest_gap"] > live[service]["longest_gap"], (service, live, legacy)
