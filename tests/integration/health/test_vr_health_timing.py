# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_vr_health after an upgrade: CloudStack stores new results only every router.health.checks.results.fetch.interval
minutes (FetchRouterHealthChecksResultTask, VirtualNetworkApplianceManagerImpl 4.18.0.0), so results from before the
act are not yet known, waited for within results_timeout, or refreshed; with health checks disabled it says so."""

from __future__ import annotations

import datetime
import time

from ansible_collections.acs.upgrade.plugins.modules import cs_vr_health

TOPOLOGY = {
    "managementserver": {"version": "4.18.0.0"},
    "seed": 3,
    "jobs": {"durations": {"livepatch_router": 1, "restart_rules": 1, "fresh_health_checks": 1}},
    "accounts": [{"name": "acme", "domain": "ROOT"}],
    "zones": [{"name": "zone1"}],
    "networks": [{"name": "web", "zone": "zone1", "account": "acme", "routers": [{"version": "4.16.1"}]}],
}


def conn(sim, **args) -> dict:
    return {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, **args}


def patched(acs_sim, fetch_minutes: int, time_factor: float):
    sim = acs_sim(topology=dict(TOPOLOGY, configurations={"router.health.checks.results.fetch.interval": fetch_minutes}), time_factor=time_factor)
    sim.inject(kind="livepatch_breaks_health", object="web", checks=["dns"])
    # The results the server has are stamped to the second: the act begins in the next one.
    time.sleep(1.05)
    since = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    admin = sim.client()
    network = admin.call("listNetworks", listall=True)["network"][0]
    admin.run("restartNetwork", id=network["id"], livepatch=True)
    return sim, since


def test_results_from_before_the_patch_are_not_yet_known_within_the_bound(acs_sim, run_module):
    sim, since = patched(acs_sim, fetch_minutes=1000, time_factor=0.005)
    started = time.monotonic()
    result = run_module(cs_vr_health, conn(sim, since=since, results_timeout=1, enforce=False))
    assert 1 <= time.monotonic() - started < 10, "waited for new results, within results_timeout"
    (router,) = result["routers"]
    assert router["not_yet_known"] is True and router["passed"] is False and router["error"].startswith("not yet known")
    assert result["gate_passed"] is False and result["summary"]["not_yet_known"] == 1
    assert not [call for call in sim.calls("getRouterHealthCheckResults") if call["params"].get("performfreshchecks") == "true"]


def test_results_stored_by_the_next_fetch_are_waited_for(acs_sim, run_module):
    # A fetch every minute: 0.3 s at time factor 0.005 (on a busy machine it may come before the module's first read).
    sim, since = patched(acs_sim, fetch_minutes=1, time_factor=0.005)
    result = run_module(cs_vr_health, conn(sim, since=since, results_timeout=10, enforce=False))
    (router,) = result["routers"]
    assert router["not_yet_known"] is False and router["failing"] == ["dns_check.py"] and not router["fresh"]
    assert all(check["last_updated"] >= since for check in router["checks"]), "judged on results stored after the patch"


def test_refresh_stale_runs_the_checks_of_routers_with_results_from_before(acs_sim, run_module):
    sim, since = patched(acs_sim, fetch_minutes=1000, time_factor=0.005)
    result = run_module(cs_vr_health, conn(sim, since=since, refresh_stale=True, enforce=False))
    (router,) = result["routers"]
    assert router["fresh"] is True and router["failing"] == ["dns_check.py"] and not router["not_yet_known"]


def test_with_health_checks_disabled_the_gate_says_so(acs_sim, run_module):
    sim = acs_sim(topology=dict(TOPOLOGY, configurations={"router.health.checks.enabled": False}), time_factor=0.005)
    result = run_module(cs_vr_health, conn(sim))
    assert result["failed"] is True
    assert "router health checks are disabled on the management server" in result["msg"] and "not known" in result["msg"]


def test_a_since_that_is_no_time_is_named(acs_sim, run_module):
    sim = acs_sim(topology=TOPOLOGY, time_factor=0.005)
    result = run_module(cs_vr_health, conn(sim, since="yesterday"))
    assert result["failed"] is True and "since must be a time in ISO-8601" in result["msg"]
