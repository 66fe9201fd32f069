# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""pytest plugin: the `acs_sim` factory fixture (load with `-p acs_sim.pytest_plugin`)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from acs_sim.server import Simulator


@pytest.fixture
def acs_sim() -> Iterator[Callable[..., Simulator]]:
    """Start simulators on free loopback ports; all are stopped when the test ends.

    sim = acs_sim(topology="small", time_factor=0.001, backend="memory", version=None)
    `topology` is a name under tests/simulator/topologies/, a path or a dict; `generate="zones=4,routers=10000"` builds a fleet instead.
    A real server accepts parameters it does not know (and ignores them); the simulator accepts them too but counts
    them, and a test fails at teardown when the collection sent any. Tests of that rule pass `allow_unknown_params=True`.
    """
    started: list[tuple[Simulator, bool]] = []

    def factory(topology: str | Path | dict[str, Any] = "small", time_factor: float = 0.001, backend: str = "memory",
                version: str | None = None, allow_unknown_params: bool = False, **options: Any) -> Simulator:
        sim = Simulator(topology, time_factor=time_factor, backend=backend, version=version, **options).start()
        started.append((sim, allow_unknown_params))
        return sim

    yield factory
    unknown = {}
    for sim, allowed in started:
        if not allowed:
            unknown.update(sim.counters()["unknown_params"])
        sim.stop()
    if unknown:
        pytest.fail(f"requests carried parameters the API does not have (a real server ignores them silently): {unknown}")
