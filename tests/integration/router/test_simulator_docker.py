# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The simulator with the docker backend: its API answers come from what happened in the containers."""
from __future__ import annotations

import json
import uuid

import pytest
from acs_sim.backends.docker import container_state
from acs_sim.client import SimClient

from integration.router.helpers import payload_md5, sh

MS_VERSION = "4.18.0.0"
TOPOLOGY = {
    "managementserver": {"version": MS_VERSION},
    "seed": 5,
    "keys": {"admin": {"apikey": "admin-key", "secretkey": "admin-secret"}, "user": {"apikey": "user-key", "secretkey": "user-secret", "account": "acme"}},
    "accounts": [{"name": "acme", "domain": "ROOT"}],
    "zones": [{"name": "zone1", "pods": [{"name": "pod1", "clusters": [{"name": "cluster1", "hosts": ["kvm1"]}]}], "systemvms": {"version": "4.16.1"}}],
    "networks": [{"name": "net-1", "zone": "zone1", "account": "acme", "routers": [{"name": "r-sim-1", "version": "4.16.1"}]}],
}


@pytest.fixture
def docker_sim(acs_sim, router_image, router_network, monkeypatch):
    prefix = f"sim-{uuid.uuid4().hex[:6]}-"

    def start(break_payload: str = ""):
        monkeypatch.setenv("ACS_SIM_DOCKER_IMAGE", router_image)
        monkeypatch.setenv("ACS_SIM_DOCKER_NETWORK", router_network)
        monkeypatch.setenv("ACS_SIM_DOCKER_PREFIX", prefix)
        monkeypatch.setenv("ACS_SIM_DOCKER_BREAK_PAYLOAD", break_payload)
        sim = acs_sim(topology=TOPOLOGY, backend="docker")
        return sim, SimClient(sim.url, sim.admin_key, sim.admin_secret), prefix

    return start


def router_of(client: SimClient) -> dict:
    (router,) = client.call("listRouters", listall=True)["router"]
    return router


def test_live_patch_and_health_checks_come_from_the_container(docker_sim):
    sim, client, prefix = docker_sim()
    network = client.call("listNetworks", listall=True)["network"][0]
    container = prefix + "r-sim-1"
    assert container_state(container) == "running"

    job = client.run("restartNetwork", id=network["id"], livepatch=True, cleanup=False, timeout=120)
    assert job["jobstatus"] == 1, job

    router = router_of(client)
    signature = sh(container, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip()
    assert router["scriptsversion"] == signature == payload_md5(MS_VERSION)
    assert router["softwareversion"] == MS_VERSION

    health = client.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]
    checks = {check["checkname"]: check for check in health["healthchecks"]}
    assert {"dns_check.py", "dnsmasq.service", "connectivity.test"} <= set(checks), "the container's own checks are reported by their real names"
    assert all(check["success"] for check in checks.values()), json.dumps(checks)
    assert checks["dnsmasq.service"]["details"] == "service dnsmasq is running"


def test_failed_live_patch_fails_the_restart_and_leaves_a_restored_router(docker_sim):
    """NetworkOrchestrator.restartNetwork (4.19.3.0): a router whose patch fails is skipped by the patch loop and keeps its
    old scripts; the rules sent next are refused (NetworkHelperImpl.checkRouterVersion: template below the zone's minimum,
    scripts not the server's), so RestartNetworkCmd fails the job with 530 "Failed to restart network"."""
    sim, client, prefix = docker_sim(break_payload="r-sim-1")
    network = client.call("listNetworks", listall=True)["network"][0]
    container = prefix + "r-sim-1"
    old_signature = sh(container, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip()
    before = router_of(client)

    job = client.run("restartNetwork", id=network["id"], livepatch=True, cleanup=False, timeout=120)

    assert (job["jobstatus"], job["jobresultcode"], job["jobresult"]["errortext"]) == (2, 530, "Failed to restart network"), job
    assert router_of(client)["scriptsversion"] == old_signature
    assert router_of(client)["softwareversion"] == before["softwareversion"] != MS_VERSION
    assert sh(container, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip() == old_signature


def test_cleanup_restart_replaces_the_container(docker_sim):
    sim, client, prefix = docker_sim()
    network = client.call("listNetworks", listall=True)["network"][0]
    old = router_of(client)

    job = client.run("restartNetwork", id=network["id"], cleanup=True, timeout=180)
    assert job["jobstatus"] == 1, job

    new = router_of(client)
    assert new["id"] != old["id"]
    assert container_state(prefix + old["name"]) is None
    assert container_state(prefix + new["name"]) == "running"
    assert sh(prefix + new["name"], "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip() == payload_md5(MS_VERSION)
