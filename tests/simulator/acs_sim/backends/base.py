# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The seam between the simulated management server and the machines behind it.

The simulator owns the CloudStack view (ids, states, versions, jobs); a backend owns the machines. Every call
is made from a job worker thread, never with the simulator's lock held, so a backend may block (a container
start, a patch script) for as long as the real operation would take.

`vm` is a snapshot dict of the simulated VM with at least: id, name, type ("router" | "secondarystoragevm" |
"consoleproxy"), role, redundantstate, zoneid, networkid, vpcid, networkids (the guest networks it serves),
version (template), scriptsversion, softwareversion, state.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from acs_sim.payload import scripts_checksum


@dataclass(frozen=True)
class PatchResult:
    ok: bool
    scriptsversion: str | None
    message: str


class Backend(abc.ABC):
    """Implementations must be thread-safe: several jobs run at once."""

    @abc.abstractmethod
    def create_vm(self, vm: dict[str, Any]) -> None:
        """A new system VM or router was deployed (topology load, cleanup restart, system VM recreation)."""

    @abc.abstractmethod
    def destroy_vm(self, vm: dict[str, Any]) -> None:
        """The VM was destroyed and expunged."""

    @abc.abstractmethod
    def stop_vm(self, vm: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def start_vm(self, vm: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def reboot_vm(self, vm: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def patch_vm(self, vm: dict[str, Any], ms_version: str) -> PatchResult:
        """Live-patch the VM with the scripts payload of management server `ms_version`."""

    @abc.abstractmethod
    def health_checks(self, vm: dict[str, Any], fresh: bool) -> list[dict[str, Any]] | None:
        """Router health check results ({checkname, checktype, success, lastupdated, details}); None lets the simulator synthesise them."""

    def scripts_checksum(self, ms_version: str) -> str:
        """md5 of the scripts payload of `ms_version`, as this backend builds it (what a patched VM reports as scriptsversion)."""
        return scripts_checksum(ms_version)

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release what the backend holds (containers, threads) when the simulator stops."""
