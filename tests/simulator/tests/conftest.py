# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import pytest

from acs_sim.client import SimClient
from acs_sim.server import Simulator


@pytest.fixture
def sim(acs_sim) -> Simulator:
    return acs_sim(topology="small", time_factor=0.0005)


@pytest.fixture
def admin(sim: Simulator) -> SimClient:
    return sim.client("admin")


@pytest.fixture
def user(sim: Simulator) -> SimClient:
    return sim.client("user")
