# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Where simulated system VMs live: in memory, or in real containers (docker)."""
from __future__ import annotations

import importlib

from acs_sim.backends.base import Backend, PatchResult

__all__ = ["Backend", "PatchResult", "load_backend"]


def load_backend(name: str, **options: object) -> Backend:
    if name == "memory":
        from acs_sim.backends.memory import MemoryBackend

        return MemoryBackend(**options)
    if name == "docker":
        try:
            module = importlib.import_module("acs_sim.backends.docker")
        except ModuleNotFoundError as exc:
            if exc.name == "acs_sim.backends.docker":
                raise RuntimeError("backend 'docker' is not available: tests/simulator/acs_sim/backends/docker.py is missing; use --backend memory") from exc
            raise
        return module.DockerBackend(**options)
    raise ValueError(f"unknown backend {name!r}: choose memory or docker")
