# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Lookups by name shared by the simulator's tests."""
from __future__ import annotations

from acs_sim.client import SimClient


def router_by_network(client: SimClient, name: str) -> list[dict]:
    net = client.call("listNetworks", listall=True, keyword=name)["network"][0]
    return client.call("listRouters", listall=True, networkid=net["id"]).get("router", [])


def network_id(client: SimClient, name: str) -> str:
    return next(n["id"] for n in client.call("listNetworks", listall=True)["network"] if n["name"] == name)


def vpc_id(client: SimClient, name: str) -> str:
    return next(v["id"] for v in client.call("listVPCs", listall=True)["vpc"] if v["name"] == name)
