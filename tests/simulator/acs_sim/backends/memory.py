# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The default backend: machines exist only as the simulator's records."""
from __future__ import annotations

from typing import Any

from acs_sim.backends.base import Backend, PatchResult
from acs_sim.spec import version_tuple

LIVE_PATCH_MINIMUM = (4, 14)


class MemoryBackend(Backend):
    def __init__(self, **_options: object) -> None:
        pass

    def create_vm(self, vm: dict[str, Any]) -> None:
        pass

    def destroy_vm(self, vm: dict[str, Any]) -> None:
        pass

    def stop_vm(self, vm: dict[str, Any]) -> None:
        pass

    def start_vm(self, vm: dict[str, Any]) -> None:
        pass

    def reboot_vm(self, vm: dict[str, Any]) -> None:
        pass

    def patch_vm(self, vm: dict[str, Any], ms_version: str) -> PatchResult:
        if version_tuple(vm["version"]) < LIVE_PATCH_MINIMUM:
            # Templates up to 4.13 ship a JRE/userland the new payload cannot run on: live patching them is unsupported.
            return PatchResult(ok=False, scriptsversion=None,
                               message=f"patch-sysvms.sh exited 1 on {vm['name']}: services failed to restart on template {vm['version']}")
        checksum = self.scripts_checksum(ms_version)
        return PatchResult(ok=True, scriptsversion=checksum, message=f"version:{checksum}")

    def health_checks(self, vm: dict[str, Any], fresh: bool) -> list[dict[str, Any]] | None:
        return None
