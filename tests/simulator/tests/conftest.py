# SPDX-License-Identifier: Apache-2.0
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


def router_by_network(client: SimClient, name: str) -> list[dict]:
    net = client.call("listNetworks", listall=True, keyword=name)["network"][0]
    return client.call("listRouters", listall=True, networkid=net["id"]).get("router", [])


def network_id(client: SimClient, name: str) -> str:
    return next(n["id"] for n in client.call("listNetworks", listall=True)["network"] if n["name"] == name)


def vpc_id(client: SimClient, name: str) -> str:
    return next(v["id"] for v in client.call("listVPCs", listall=True)["vpc"] if v["name"] == name)
