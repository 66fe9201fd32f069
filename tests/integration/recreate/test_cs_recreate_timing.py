# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_recreate on what a real server shows late: a replacement SSVM/CPVM's agent Connecting before Up
(ApiResponseHelper.createSystemVmResponse, 4.18.0.0), redundant states UNKNOWN until CheckRouterTask runs
(VirtualNetworkApplianceManagerImpl, 4.18.0.0), project-owned routers (listRouters projectid=-1)."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from ansible_collections.acs.upgrade.plugins.modules import cs_recreate

SIMULATOR = Path(__file__).resolve().parents[2] / "simulator"


def connection(sim, **args) -> dict:
    return {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "poll_interval": 0.05, "timeout": 20, **args}


def small_topology(**durations) -> dict:
    topology = yaml.safe_load((SIMULATOR / "topologies" / "small.yml").read_text())
    topology.setdefault("jobs", {})["durations"] = durations
    return topology


def test_a_replacement_cpvm_connecting_then_up_passes(acs_sim, run_module):
    # The new CPVM's agent connects 1500 s x 0.001 = 1.5 s after it is Running.
    sim = acs_sim(topology=small_topology(agent_connect=1500, systemvm_respawn=1, systemvm_boot=1, systemvm_destroy=1), time_factor=0.001)
    started = time.monotonic()
    result = run_module(cs_recreate, connection(sim, target="systemvm", method="destroy", zone="zone1", systemvm_type="consoleproxy"))
    assert result.get("failed") is not True, result.get("msg")
    (target,) = result["targets"]
    assert target["status"] == "succeeded" and time.monotonic() - started >= 1.4
    now = {vm["id"]: vm for vm in sim.state()["systemvms"]}
    assert now[target["new_ids"][0]]["agentstate"] == "Up"


def test_a_replacement_whose_agent_stays_connecting_times_out_and_says_so(acs_sim, run_module):
    sim = acs_sim(topology=small_topology(agent_connect=100000, systemvm_respawn=1, systemvm_boot=1, systemvm_destroy=1), time_factor=0.001)
    result = run_module(cs_recreate, connection(sim, target="systemvm", method="destroy", zone="zone1", systemvm_type="consoleproxy", timeout=1))
    assert result["failed"] is True
    (target,) = result["targets"]
    assert target["status"] == "timed_out"
    assert "is Running, but its agent is still Connecting" in target["reason"] and "check the agent of" in target["reason"]


def test_a_pair_unknown_until_check_router_task_is_rebooted_once_it_ran(acs_sim, run_module):
    """A cleanup restart leaves new redundant routers UNKNOWN until the next CheckRouterTask run (router.check.interval
    5000 s x 0.001 = 5 s here): the reboot waits for it instead of skipping the pair as unsettled."""
    topology = small_topology(router_deploy=1, router_destroy=1, restart_rules=1, vm_stop=1, vm_start=1)
    topology["configurations"] = {"router.check.interval": 5000}
    sim = acs_sim(topology=topology, time_factor=0.001)
    admin = sim.client()
    network = next(n for n in admin.call("listNetworks", listall=True)["network"] if n["name"] == "acme-db")
    admin.run("restartNetwork", id=network["id"], cleanup=True)
    assert {r["redundantstate"] for r in admin.call("listRouters", listall=True, networkid=network["id"])["router"]} == {"UNKNOWN"}
    result = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["acme-db"], force=True))
    assert result.get("failed") is not True, result.get("msg")
    assert [target["status"] for target in result["targets"]] == ["succeeded", "succeeded"]


def test_a_project_router_is_rebooted(acs_sim, run_module):
    topology = small_topology(vm_stop=1, vm_start=1)
    topology["projects"] = [{"name": "shop", "domain": "ROOT/customers"}]
    topology["networks"].append({"name": "shop-net", "zone": "zone1", "project": "shop", "routers": [{"version": "4.15.1"}]})
    sim = acs_sim(topology=topology, time_factor=0.001)
    result = run_module(cs_recreate, connection(sim, target="router", method="reboot", names=["shop-net"]))
    assert result.get("failed") is not True, result.get("msg")
    assert [target["status"] for target in result["targets"]] == ["succeeded"]
    router = next(r for r in sim.state()["routers"] if r.get("guestnetworkname") == "shop-net")
    assert router["version"] == "4.18.0"
