# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_vr_health with source api against the simulated management server."""

from __future__ import annotations

import copy
import json
import math
import time

import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_vr_health

# zone1: web (1 router), db (redundant pair), idle (stopped router), shop VPC (1 router); zone2: a router on an old template
# whose disk is full.
TOPOLOGY = {
    "managementserver": {"version": "4.18.0.0"},
    "seed": 3,
    "domains": [{"name": "customers"}],
    "accounts": [{"name": "acme", "domain": "ROOT/customers"}, {"name": "globex", "domain": "ROOT/customers"}],
    "zones": [
        {"name": "zone1", "pods": [{"name": "pod1", "clusters": [{"name": "cluster1", "hosts": ["kvm1", "kvm2"]}]}]},
        {"name": "zone2"},
    ],
    "networks": [
        {"name": "web", "zone": "zone1", "account": "acme"},
        {"name": "db", "zone": "zone1", "account": "acme", "redundant": True},
        {"name": "idle", "zone": "zone1", "account": "globex", "routers": [{"state": "Stopped"}]},
        # router_version_check.py passes on an outdated router (it compares the router with its own record, 4.18.0.0):
        # the old router's known failure is a full disk.
        {"name": "old", "zone": "zone2", "account": "globex", "routers": [{"version": "4.16.1", "failing_checks": ["disk_space"]}]},
    ],
    "vpcs": [{"name": "shop", "zone": "zone1", "account": "acme", "tiers": ["shop-web"]}],
}


def topology(**configurations) -> dict:
    topo = copy.deepcopy(TOPOLOGY)
    topo["configurations"] = configurations
    return topo


@pytest.fixture
def sim(acs_sim):
    return acs_sim(topology=topology())


def conn(sim) -> dict:
    return {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret}


def routers_by(sim, field: str) -> dict[str, list[dict]]:
    """The simulator's routers grouped by a field of their API view (guestnetworkname, vpcname, zonename)."""
    grouped: dict[str, list[dict]] = {}
    for router in sim.state()["routers"]:
        grouped.setdefault(router.get(field), []).append(router)
    return grouped


def names(routers) -> list[str]:
    return sorted(router["name"] for router in routers)


def max_overlap(calls) -> int:
    """The highest number of calls that were in progress on the server at the same time."""
    edges = sorted([(c["time"], 1) for c in calls] + [(c["time"] + c["duration"], -1) for c in calls], key=lambda e: (e[0], e[1]))
    running = highest = 0
    for _moment, step in edges:
        running += step
        highest = max(highest, running)
    return highest


def test_cached_results_of_a_zone_come_from_one_listing_and_stopped_routers_are_skipped(sim, run_module):
    result = run_module(cs_vr_health, dict(conn(sim), zone="zone1"))
    by_net = routers_by(sim, "guestnetworkname")
    shop = routers_by(sim, "vpcname")["shop"]
    assert result["gate_passed"] is True, result.get("msg")
    assert result["changed"] is False
    assert names(result["routers"]) == names(by_net["web"] + by_net["db"] + shop)
    assert [(s["name"], s["state"]) for s in result["skipped"]] == [(by_net["idle"][0]["name"], "Stopped")]
    assert result["summary"]["routers"] == 4 and result["summary"]["skipped"] == 1
    report = result["routers"][0]
    assert {c["type"] for c in report["checks"]} == {"basic", "advanced"}
    assert all(c["success"] and c["last_updated"].endswith("Z") for c in report["checks"])
    listings = sim.calls("listRouters")
    assert len(listings) == 1
    assert listings[0]["params"]["fetchhealthcheckresults"] == "true"
    assert sim.calls("getRouterHealthCheckResults") == []


def test_an_injected_failure_fails_the_gate_naming_router_and_check(sim, run_module):
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.inject(kind="health_check_failure", object=web["name"], checks=["dns_check.py"])
    result = run_module(cs_vr_health, dict(conn(sim), zone="zone1"))
    assert result["failed"] is True
    assert result["msg"] == "router health gate failed for 1 of 4 routers: %s (dns_check.py)" % web["name"]
    assert result["failing"] == {web["name"]: ["dns_check.py"]}
    failing_report = [r for r in result["routers"] if r["name"] == web["name"]][0]
    assert [c["details"] for c in failing_report["checks"] if not c["success"]] == ["dns_check.py check failed"]

    assert run_module(cs_vr_health, dict(conn(sim), zone="zone1", ignore=["dns_check.py"]))["gate_passed"] is True
    assert run_module(cs_vr_health, dict(conn(sim), zone="zone1", fail_on=["dhcp_check.py", "haproxy.service"]))["gate_passed"] is True
    assert run_module(cs_vr_health, dict(conn(sim), zone="zone1", types=["basic"]))["gate_passed"] is True
    assert run_module(cs_vr_health, dict(conn(sim), zone="zone1", fail_on=["dns_check.py"]))["failed"] is True


def test_service_and_server_checks_are_named_as_a_real_server_reports_them(sim, run_module):
    """VirtualNetworkApplianceManagerImpl, 4.18.0.0: <service>.service of the router's monitor, and the server's own
    connectivity.test and filesystem.writable.test, can fail the gate and be ignored like the scripts."""
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.inject(kind="health_check_failure", object=web["name"], checks=["dnsmasq.service", "filesystem.writable.test"])
    result = run_module(cs_vr_health, dict(conn(sim), network="web"))
    assert result["failing"] == {web["name"]: ["dnsmasq.service", "filesystem.writable.test"]}
    names_seen = {check["name"] for check in result["routers"][0]["checks"]}
    assert {"connectivity.test", "apache2.service", "router_version_check.py", "iptables_check.py"} <= names_seen
    ignored = run_module(cs_vr_health, dict(conn(sim), network="web", ignore=["dnsmasq.service", "filesystem.writable.test"]))
    assert ignored["gate_passed"] is True and ignored["routers"][0]["failed_checks"] == ["dnsmasq.service", "filesystem.writable.test"]


def test_fresh_checks_ask_each_running_router_with_bounded_concurrency(sim, run_module):
    running = [r for r in sim.state()["routers"] if r["zonename"] == "zone1" and r["state"] == "Running"]
    sim.inject(kind="slow", api="getRouterHealthCheckResults", delay=0.2)
    result = run_module(cs_vr_health, dict(conn(sim), zone="zone1", fresh=True, parallel=2))
    assert result["gate_passed"] is True
    assert all(r["fresh"] for r in result["routers"])
    fresh_calls = sim.calls("getRouterHealthCheckResults")
    assert sorted(c["params"]["routerid"] for c in fresh_calls) == sorted(r["id"] for r in running)
    assert {c["params"]["performfreshchecks"] for c in fresh_calls} == {"true"}
    assert max_overlap(fresh_calls) == 2
    # The cached results are not needed when every router is asked anyway.
    assert "fetchhealthcheckresults" not in sim.calls("listRouters")[0]["params"]


def test_a_router_whose_fresh_checks_fail_fails_the_gate_with_the_reason(sim, run_module):
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.inject(
        kind="http_error",
        api="getRouterHealthCheckResults",
        object=web["name"],
        status=530,
        errortext="Unable to perform fresh checks on router - Basic tests results unavailable",
    )
    result = run_module(cs_vr_health, dict(conn(sim), network="web", fresh=True))
    assert result["failed"] is True
    assert result["failing"] == {web["name"]: ["fresh health checks failed: Unable to perform fresh checks on router - Basic tests results unavailable"]}


def test_results_older_than_max_age_fail_unless_refreshed(sim, run_module):
    web = routers_by(sim, "guestnetworkname")["web"][0]
    # The simulator stamps results to the whole second, so a result just taken is up to 1 s old at once. The ages are
    # kept 2 s away from max_age on either side: the other routers' results (from the start of the simulator) are over
    # 4 s old, web's fresh ones under 1 s plus however long a loaded machine takes to get to the module's check.
    time.sleep(4.1)
    sim.client().call("getRouterHealthCheckResults", routerid=web["id"], performfreshchecks=True)
    before = len(sim.calls("getRouterHealthCheckResults"))

    stale = run_module(cs_vr_health, dict(conn(sim), zone="zone1", max_age=3))
    assert stale["failed"] is True
    assert sorted(stale["failing"]) == sorted(r["name"] for r in stale["routers"] if r["name"] != web["name"])
    assert all(r["stale_checks"] for r in stale["routers"] if r["name"] != web["name"])
    assert sim.calls("getRouterHealthCheckResults")[before:] == []

    refreshed = run_module(cs_vr_health, dict(conn(sim), zone="zone1", max_age=60, refresh_stale=True))
    assert refreshed["gate_passed"] is True
    assert sim.calls("getRouterHealthCheckResults")[before:] == []  # nothing was older than 60 s

    time.sleep(1.1)
    sim.client().call("getRouterHealthCheckResults", routerid=web["id"], performfreshchecks=True)
    before = len(sim.calls("getRouterHealthCheckResults"))
    refreshed = run_module(cs_vr_health, dict(conn(sim), zone="zone1", max_age=3, refresh_stale=True))
    assert refreshed["gate_passed"] is True, refreshed.get("msg")
    asked = {c["params"]["routerid"] for c in sim.calls("getRouterHealthCheckResults")[before:]}
    assert asked == {r["id"] for r in refreshed["routers"] if r["name"] != web["name"]}
    assert [r["fresh"] for r in refreshed["routers"] if r["name"] == web["name"]] == [False]


def test_baseline_fails_only_on_new_failures(sim, run_module):
    old = routers_by(sim, "guestnetworkname")["old"][0]
    web = routers_by(sim, "guestnetworkname")["web"][0]
    before = run_module(cs_vr_health, dict(conn(sim), enforce=False))
    assert before["gate_passed"] is False and "failed" not in before
    assert before["failing"] == {old["name"]: ["disk_space_check.py"]}

    same = run_module(cs_vr_health, dict(conn(sim), baseline=before))
    assert same["gate_passed"] is True
    assert [r["known_failures"] for r in same["routers"] if r["name"] == old["name"]] == [["disk_space_check.py"]]

    sim.inject(kind="health_check_failure", object=web["name"], checks=["dhcp_check.py"])
    worse = run_module(cs_vr_health, dict(conn(sim), baseline=before))
    assert worse["failed"] is True
    assert worse["failing"] == {web["name"]: ["dhcp_check.py"]}
    assert worse["msg"] == "router health gate failed for 1 of 5 routers: %s (dhcp_check.py)" % web["name"]


def test_baseline_follows_a_router_recreated_by_a_network_restart(acs_sim, run_module):
    # The new router's first basic and advanced runs both come 15 minutes after it boots (0.9 s at the time factor
    # 0.001): the module finds it without results however long a loaded machine takes to get there, within 0.9 s.
    sim = acs_sim(topology=topology(**{"router.health.checks.basic.interval": 15, "router.health.checks.advanced.interval": 15}))
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.inject(kind="health_check_failure", object=web["name"], checks=["haproxy_check.py"])
    before = run_module(cs_vr_health, dict(conn(sim), network="web", enforce=False))
    sim.clear_faults()
    sim.client().run("restartNetwork", id=web["guestnetworkid"], cleanup=True)
    [new] = routers_by(sim, "guestnetworkname")["web"]
    assert new["id"] != web["id"]
    sim.inject(kind="health_check_failure", object=new["name"], checks=["haproxy_check.py", "dns_check.py"])

    # The new router has no results until its first scheduled runs: it is waited for, then judged.
    after = run_module(cs_vr_health, dict(conn(sim), network="web", baseline=before))
    assert after["failing"] == {new["name"]: ["dns_check.py"]}
    assert after["routers"][0]["baseline_match"] == "network_id"
    assert after["routers"][0]["known_failures"] == ["haproxy_check.py"]
    assert after["routers"][0]["waited"] > 0 and after["routers"][0]["fresh"] is False


@pytest.mark.parametrize("advanced_interval, fresh", [(3, False), (60, True)])
def test_a_new_router_is_waited_for_not_failed_nor_called_healthy(acs_sim, run_module, advanced_interval, fresh):
    """A recreated router answers no results until router.health.checks.basic.interval (and .advanced.interval) has passed
    (VirtualNetworkApplianceManagerImpl, 4.18.0.0): the gate reads it again until its first results are stored, bounded;
    when they lack the advanced checks (a longer interval), it asks for fresh checks instead of waiting on."""
    # Basic results 0.9 s after the new router boots; the restart's steps after the boot are kept short, so that the
    # read of the test and the module's first read still come before them on a loaded machine.
    topo = topology(**{"router.health.checks.advanced.interval": advanced_interval})
    topo["jobs"] = {"durations": {"router_destroy": 1, "restart_rules": 1}}
    sim = acs_sim(topology=topo, time_factor=0.005)
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.client().run("restartNetwork", id=web["guestnetworkid"], cleanup=True)
    [new] = routers_by(sim, "guestnetworkname")["web"]
    assert sim.client().raw("getRouterHealthCheckResults", routerid=new["id"]).status_code == 530
    result = run_module(cs_vr_health, dict(conn(sim), network="web", results_timeout=60))
    assert result["gate_passed"] is True, result.get("msg")
    report = result["routers"][0]
    assert report["name"] == new["name"] and report["fresh"] is fresh and 0.5 < report["waited"] < 30
    assert {check["type"] for check in report["checks"]} == {"basic", "advanced"}
    fresh_calls = [call for call in sim.calls("getRouterHealthCheckResults") if call["params"].get("performfreshchecks") == "true"]
    assert len(fresh_calls) == (1 if fresh else 0)


def test_a_router_still_without_results_gets_fresh_checks(acs_sim, run_module):
    sim = acs_sim(topology=topology(**{"router.health.checks.basic.interval": 0, "router.health.checks.advanced.interval": 0}))
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.client().run("restartNetwork", id=web["guestnetworkid"], cleanup=True)
    [new] = routers_by(sim, "guestnetworkname")["web"]
    result = run_module(cs_vr_health, dict(conn(sim), network="web", results_timeout=1))
    assert result["gate_passed"] is True, result.get("msg")
    assert result["routers"][0]["fresh"] is True and result["routers"][0]["waited"] >= 1
    assert [(c["params"]["routerid"], c["params"]["performfreshchecks"]) for c in sim.calls("getRouterHealthCheckResults")] == [(new["id"], "true")]


def test_fresh_checks_have_their_own_timeout_and_are_never_sent_twice(sim, run_module):
    """Fresh checks run inside the request (QueryManagerImpl, 4.18.0.0): they get fresh_timeout, not api_timeout, and a lost
    answer is not resent by the read-retry rule."""
    web = routers_by(sim, "guestnetworkname")["web"][0]
    sim.inject(kind="slow", api="getRouterHealthCheckResults", delay=2, count=1)
    slow = run_module(cs_vr_health, dict(conn(sim), network="web", fresh=True, api_timeout=1, fresh_timeout=10))
    assert slow["gate_passed"] is True and slow["routers"][0]["fresh"] is True
    assert len(sim.calls("getRouterHealthCheckResults")) == 1

    sim.inject(kind="slow", api="getRouterHealthCheckResults", delay=3, count=1)
    lost = run_module(cs_vr_health, dict(conn(sim), network="web", fresh=True, fresh_timeout=1))
    assert lost["failed"] is True
    assert lost["failing"][web["name"]][0].startswith("fresh health checks gave no answer within fresh_timeout (1 s) and were not sent again")
    deadline = time.time() + 10
    while len(sim.calls("getRouterHealthCheckResults")) < 2 and time.time() < deadline:
        time.sleep(0.1)  # the simulator logs the slow call once it has answered it, after the client gave up
    time.sleep(0.5)
    assert len(sim.calls("getRouterHealthCheckResults")) == 2, "one call per run: the lost one was not resent"


@pytest.mark.parametrize("fresh", [True, False])
def test_disabled_health_checks_say_what_to_set(acs_sim, run_module, fresh):
    sim = acs_sim(topology=topology(**{"router.health.checks.enabled": False}))
    result = run_module(cs_vr_health, dict(conn(sim), zone="zone1", fresh=fresh))
    assert result["failed"] is True
    assert result["msg"].startswith(
        "router health checks are disabled on the management server (the management server has router.health.checks.enabled set to false): "
        "CloudStack then neither runs them nor returns any result, cached or fresh, so the routers' health is not known. "
        "Set the global setting router.health.checks.enabled to true"
    )
    assert sim.calls("getRouterHealthCheckResults") == []
    assert sim.calls("listRouters") == []


def test_disabled_health_checks_are_recognised_from_the_answers_when_settings_cannot_be_read(acs_sim, run_module):
    sim = acs_sim(topology=topology(**{"router.health.checks.enabled": False}))
    sim.inject(kind="http_error", api="listConfigurations", status=432, errortext="The given command does not exist or it is not available for user")
    web = routers_by(sim, "guestnetworkname")["web"][0]
    fresh = run_module(cs_vr_health, dict(conn(sim), network="web", fresh=True))
    assert fresh["failed"] is True
    assert fresh["msg"].startswith("router health checks are disabled on the management server (fresh checks were refused on %s)" % web["name"])
    # CloudStack returns no cached results while the checks are disabled: the routers are given fresh checks at once
    # (results_timeout 0), which are refused, and that says the checks are disabled.
    cached = run_module(cs_vr_health, dict(conn(sim), zone="zone1", results_timeout=0))
    assert cached["failed"] is True
    assert cached["msg"].startswith("router health checks are disabled on the management server (fresh checks were refused on ")


def test_named_routers_are_looked_up_one_by_one_and_must_be_running(sim, run_module):
    by_net = routers_by(sim, "guestnetworkname")
    web, idle = by_net["web"][0], by_net["idle"][0]
    ok = run_module(cs_vr_health, dict(conn(sim), routers=[web["name"], by_net["db"][0]["id"]]))
    assert ok["gate_passed"] is True
    assert names(ok["routers"]) == names([web, by_net["db"][0]])
    assert sorted(tuple(sorted(set(c["params"]) & {"id", "name"})) for c in sim.calls("listRouters")) == [("id",), ("name",)]

    stopped = run_module(cs_vr_health, dict(conn(sim), routers=[idle["name"]]))
    assert stopped["failed"] is True
    assert stopped["failing"] == {
        idle["name"]: ["the router is Stopped, not Running: its health checks cannot run; start it (or recreate it with a network restart) and check again"]
    }

    unknown = run_module(cs_vr_health, dict(conn(sim), routers=["r-999-VM"], zone="zone1"))
    assert unknown["failed"] is True
    assert unknown["msg"] == (
        "cannot select the routers to check: no router with the name or id r-999-VM matching the zone/pod/cluster/domain/account/network/vpc "
        "filters; list them with acs.upgrade.cs_fleet_info"
    )


def test_many_named_routers_are_picked_from_one_paged_read(acs_sim, run_module):
    sim = acs_sim(generate="zones=1,routers=60,stopped=0,redundant=0,seed=5")
    wanted = names(sim.state()["routers"])[:25]
    result = run_module(cs_vr_health, dict(conn(sim), routers=wanted, enforce=False))
    assert names(result["routers"]) == wanted
    assert len(sim.calls("listRouters")) == 1


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"network": "db"}, lambda by: by["guestnetworkname"]["db"]),
        ({"vpc": "shop"}, lambda by: by["vpcname"]["shop"]),
        (
            {"domain": "customers", "account": "acme", "zone": "zone1"},
            lambda by: by["guestnetworkname"]["web"] + by["guestnetworkname"]["db"] + by["vpcname"]["shop"],
        ),
        ({"pod": "pod1", "cluster": "cluster1"}, lambda by: by["guestnetworkname"]["web"] + by["guestnetworkname"]["db"] + by["vpcname"]["shop"]),
    ],
)
def test_filters_select_the_routers(sim, run_module, filters, expected):
    by = {field: routers_by(sim, field) for field in ("guestnetworkname", "vpcname")}
    result = run_module(cs_vr_health, dict(conn(sim), **filters))
    assert result["gate_passed"] is True, result.get("msg")
    assert names(result["routers"]) == names(expected(by))


def test_unknown_check_names_and_objects_are_named(sim, run_module):
    result = run_module(cs_vr_health, dict(conn(sim), zone="zone1", fail_on=["dns"]))
    assert result["failed"] is True
    assert result["msg"].startswith("fail_on names unknown health checks: dns. The selected routers report: ")
    assert "dns_check.py, " in result["msg"] and "connectivity.test" in result["msg"]
    missing_zone = run_module(cs_vr_health, dict(conn(sim), zone="zone9"))
    assert missing_zone["msg"].startswith("cannot select the routers to check: no zone with the name or id 'zone9'")


def test_check_mode_gives_the_same_verdict(sim, run_module):
    normal = run_module(cs_vr_health, dict(conn(sim), fresh=True, enforce=False))
    checked = run_module(cs_vr_health, dict(conn(sim), fresh=True, enforce=False), check_mode=True)
    assert checked["changed"] is False
    assert checked["failing"] == normal["failing"]
    assert checked["summary"]["routers"] == normal["summary"]["routers"] == 5


@pytest.mark.parametrize("routers", [3000])
def test_thousands_of_routers_take_a_few_calls(acs_sim, run_module, routers):
    sim = acs_sim(generate="zones=2,routers=%d,stopped=0.02,seed=11" % routers)
    started = time.monotonic()
    result = run_module(cs_vr_health, dict(conn(sim), enforce=False, report_checks="failed"))
    elapsed = time.monotonic() - started
    total = result["summary"]["routers"] + result["summary"]["skipped"]
    assert total == routers
    counts = sim.counters()["per_api"]
    assert counts["listRouters"] == math.ceil(routers / 500)
    assert sum(counts.values()) == counts["listRouters"] + 2  # listCapabilities, listConfigurations
    print("\n%d routers (%d Running): %s API calls %s in %.2f s" % (routers, result["summary"]["routers"], sum(counts.values()), counts, elapsed))


def test_dest_keeps_every_router_in_a_file_and_the_result_small_and_the_file_is_a_baseline(acs_sim, run_module, tmp_path):
    sim = acs_sim(generate="zones=1,routers=60,stopped=0,redundant=0,seed=5")
    sim.inject(kind="health_check_failure", checks=["dns_check.py"])
    dest = tmp_path / "state" / "health.json"
    result = run_module(cs_vr_health, dict(conn(sim), enforce=False, dest=str(dest), ignore=["disk_space_check.py"]))
    assert result["gate_passed"] is False and result["result_file"] == str(dest)
    assert "routers" not in result and "skipped" not in result
    assert len(result["failing"]) == 20 and result["failing_more"] == 40 and result["summary"]["failed"] == 60
    written = json.loads(dest.read_text())
    assert names(written["routers"]) == names(sim.state()["routers"]) and len(written["failing"]) == 60
    assert oct(dest.stat().st_mode & 0o777) == "0o600"

    # The file is the baseline of the next gate: the checks that failed before do not fail it again.
    again = run_module(cs_vr_health, dict(conn(sim), baseline_file=str(dest), dest=str(tmp_path / "after.json"), ignore=["disk_space_check.py"]))
    assert again.get("failed") is not True, again.get("msg")
    assert again["gate_passed"] is True and again["failing"] == {} and again["failing_more"] == 0

    enforced = run_module(cs_vr_health, dict(conn(sim), dest=str(tmp_path / "enforced.json"), ignore=["disk_space_check.py"]))
    assert enforced["failed"] is True and enforced["msg"].endswith(" and 40 more") and "routers" not in enforced

    missing = run_module(cs_vr_health, dict(conn(sim), baseline_file=str(tmp_path / "nothing.json")))
    assert missing["failed"] is True and "cannot read the baseline file %s" % (tmp_path / "nothing.json") in missing["msg"]
