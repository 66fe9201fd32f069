# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Routers the server refuses (NetworkHelperImpl.checkRouterVersion), the server's payload checksum, host agents and known
live-patch regressions: the _matrix rules and the plan decisions that follow them."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    host_blocks_livepatch,
    learn_payload_checksum,
    livepatch_regression,
    server_accepts,
)
from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan
from ansible_collections.acs.upgrade.plugins.module_utils._report import build_report, render_html, render_markdown

NEW, OLD = "n" * 32, "o" * 32


def rtr(version="4.14.1", scripts=OLD, software="4.14.1.0", state="Running", host="h1", zone="z1", rid="r1"):
    return {"id": rid, "name": "r-%s-VM" % rid, "version": version, "scriptsversion": scripts, "softwareversion": software, "state": state,
            "hostid": host, "zoneid": zone}


def host(hid="h1", version="4.19.3.0", state="Up"):
    return {"id": hid, "name": "kvm-%s" % hid, "version": version, "state": state}


# ------------------------------------------------------------------------------------------------- server_accepts


@pytest.mark.parametrize(
    ("router", "minreq", "payload", "check", "expected"),
    [
        (rtr(version="4.19.1"), "4.19.1", None, True, True),  # template at the minimum: accepted, checksum not read
        (rtr(), "4.19.1", NEW, True, False),  # old template and a checksum that is not the payload's
        (rtr(scripts=NEW), "4.19.1", NEW, True, True),  # old template, the server's checksum (a good live patch)
        (rtr(), "4.19.1", None, True, None),  # checksum not known: never a guess
        (rtr(), None, NEW, True, None),  # minimum not read: not known either
        (rtr(), "4.19.1", NEW, False, True),  # router.version.check false: every router
        (rtr(version=None), "4.19.1", NEW, True, False),  # no recorded template version: refused
    ],
)
def test_server_accepts_follows_check_router_version(router, minreq, payload, check, expected):
    assert server_accepts(router, minreq, payload, check) is expected


def test_a_checksum_known_not_to_be_the_servers_is_refused_without_the_payload():
    assert server_accepts(rtr(), "4.19.1", None, True, not_payload=[OLD]) is False
    assert server_accepts(rtr(scripts=NEW), "4.19.1", None, True, not_payload=[OLD]) is None


# ------------------------------------------------------------------------------------------------- learn_payload_checksum


def test_payload_checksum_is_learnt_from_routers_booted_on_a_current_template_and_agent():
    routers = [rtr("4.19.1", NEW, "4.19.3.0", rid="a"), rtr("4.14.1", OLD, "4.19.3.0", rid="b")]  # b: live-patched, #9900
    checksum, how = learn_payload_checksum(routers, [host()], "4.19.3.0", {"z1": "4.19.1"})
    assert checksum == NEW and "1 router" in how


@pytest.mark.parametrize(
    ("routers", "hosts"),
    [
        ([rtr("4.19.1", NEW, "4.19.3.0")], [host(version="4.19.1.0")]),  # its host's agent is old: it booted with old scripts
        ([rtr("4.19.1", NEW, "4.19.3.0")], [host(state="Disconnected")]),
        ([rtr("4.14.1", NEW, "4.19.3.0")], [host()]),  # below the minimum
        ([rtr("4.19.1", NEW, "4.19.1.0")], [host()]),  # not on this server's software
    ],
)
def test_payload_checksum_is_not_known_without_a_witness(routers, hosts):
    checksum, how = learn_payload_checksum(routers, hosts, "4.19.3.0", {"z1": "4.19.1"})
    assert checksum is None and "not known" in how


def test_disagreeing_witnesses_give_no_answer_unless_this_run_booted_one():
    routers = [rtr("4.19.1", NEW, "4.19.3.0", rid="a"), rtr("4.19.1", OLD, "4.19.3.0", rid="b")]
    assert learn_payload_checksum(routers, [host()], "4.19.3.0", {"z1": "4.19.1"})[0] is None
    assert learn_payload_checksum(routers, [host()], "4.19.3.0", {"z1": "4.19.1"}, booted=["a"])[0] == NEW


# ------------------------------------------------------------------------------------------------- hosts and regressions


def test_host_blocks_livepatch_names_the_host_its_version_and_what_to_do():
    assert host_blocks_livepatch(host(version="4.19.3.0"), "4.19.3.0") is None
    why = host_blocks_livepatch(host(version="4.18.2.0"), "4.19.3.0")
    assert "kvm-h1" in why and "4.18.2.0" in why and "upgrade the agent" in why
    assert "Disconnected" in host_blocks_livepatch(host(state="Disconnected"), "4.19.3.0")


@pytest.mark.parametrize(
    ("ms", "template", "issue"),
    [
        ("4.19.2.0", "4.18.0", "#9900"),
        ("4.19.3.0", "4.15.1", "#9900"),
        ("4.20.1.0", "4.19.0", "#9900"),
        ("4.19.1.0", "4.18.0", None),
        ("4.20.0.0", "4.19.0", None),
        ("4.20.2.0", "4.19.0", None),  # fixed by #10962
        ("4.19.3.0", "4.19.1", None),  # at the minimum: accepted whatever the checksum
        ("4.20.0.0", "4.15.1", "#8497"),
        ("4.20.2.0", "4.14.0", "#8497"),
        ("4.19.1.0", "4.15.1", None),
    ],
)
def test_livepatch_regressions_by_release(ms, template, issue):
    minreq = {"4.19.2.0": "4.19.1", "4.19.3.0": "4.19.1", "4.20.1.0": "4.20.1", "4.19.1.0": "4.19.1"}.get(ms, ".".join(ms.split(".")[:3]))
    why = livepatch_regression(ms, template, minreq)
    assert (why is None) if issue is None else (issue in why)


# ------------------------------------------------------------------------------------------------- the plan


def fleet(routers, hosts, version="4.19.3.0", minreq="4.19.1"):
    units = [{"kind": "network", "id": "n%d" % i, "name": "net-%d" % i, "zoneid": "z1", "account": "a", "domainid": "d1", "routers": [r["id"]], "tiers": []}
             for i, r in enumerate(routers)]
    for router in routers:
        router.update(account="a", domainid="d1", domain="ROOT", podid="p1", clusterid="c1", redundantstate=None, requiresupgrade=True)
    return {"version": version, "zones": [{"id": "z1", "name": "zone-a"}], "pods": [], "clusters": [],
            "domains": [{"id": "d1", "name": "ROOT", "path": "ROOT"}], "hosts": hosts, "min_template": {"z1": minreq}, "router_version_check": True,
            "routers": routers, "systemvms": [], "units": units}


def paths(plan):
    return {item["name"]: (item["path"], item["reason"]) for item in plan["items"]}


def test_plan_recreates_routers_a_9900_release_would_leave_refused():
    plan = build_plan(fleet([rtr(rid="r1")], [host()]))
    path, reason = paths(plan)["net-0"]
    assert path == "legacy" and "apache/cloudstack#9900" in reason and "#12211" in reason


def test_plan_calls_a_refused_live_patched_router_never_done():
    # Live-patched on 4.19.3 (software current, old checksum): listRouters says requiresupgrade false, the server refuses it.
    routers = [rtr(scripts=OLD, software="4.19.3.0", rid="r1"), rtr("4.19.1", NEW, "4.19.3.0", rid="w")]
    plan = build_plan(fleet(routers, [host()]))
    path, reason = paths(plan)["net-0"]
    assert path == "legacy" and "refused by the server" in reason
    assert plan["server"]["payload_checksum"] == NEW


def test_a_router_not_yet_patched_is_live_patched_although_the_server_refuses_it_and_its_payload_is_known():
    """checkRouterVersion refuses every router below the minimum until it has the server's scripts, so a router this server
    has not patched yet (softwareversion of its old release) is refused: its live patch is what cures it. Once a router booted
    under the server tells the payload's checksum (a witness), the plan must still live-patch it, not recreate it."""
    routers = [rtr(version="4.16.1", scripts=OLD, software="4.16.1.0", rid="r1"), rtr("4.20.2", NEW, "4.20.2.0", rid="w")]
    plan = build_plan(fleet(routers, [host(version="4.20.2.0")], version="4.20.2.0", minreq="4.20.2"))
    assert plan["server"]["payload_checksum"] == NEW
    assert paths(plan)["net-0"][0] == "livepatch", paths(plan)["net-0"]
    # The same router after a live patch that kept its old checksum (softwareversion now the server's): refused, recreated.
    routers = [rtr(version="4.16.1", scripts=OLD, software="4.20.2.0", rid="r1"), rtr("4.20.2", NEW, "4.20.2.0", rid="w")]
    path, reason = paths(build_plan(fleet(routers, [host(version="4.20.2.0")], version="4.20.2.0", minreq="4.20.2")))["net-0"]
    assert path == "legacy" and "refused by the server" in reason


def test_plan_does_not_live_patch_on_an_old_agent_and_says_why():
    plan = build_plan(fleet([rtr(version="4.16.1", rid="r1")], [host(version="4.18.0.0")], version="4.20.2.0", minreq="4.20.2"))
    path, reason = paths(plan)["net-0"]
    assert path == "skip" and "kvm-h1" in reason and "4.18.0.0" in reason and "upgrade the agent" in reason


def test_plan_names_12211_for_a_420_2_server_over_420_1_agents():
    """apache/cloudstack#12211: the patch script is the agent's, so 4.20.1.0 agents (#9900) under a 4.20.2.0 server leave
    live-patched routers refused; the plan does not live-patch there and names both issues. A 4.19.1.0 agent is only old."""
    plan = build_plan(fleet([rtr(version="4.16.1", rid="r1")], [host(version="4.20.1.0")], version="4.20.2.0", minreq="4.20.2"))
    path, reason = paths(plan)["net-0"]
    assert path == "skip" and "apache/cloudstack#9900" in reason and "apache/cloudstack#12211" in reason and "upgrade the agent" in reason
    plan = build_plan(fleet([rtr(version="4.16.1", rid="r1")], [host(version="4.19.1.0")], version="4.20.2.0", minreq="4.20.2"))
    path, reason = paths(plan)["net-0"]
    assert path == "skip" and "4.19.1.0" in reason and "#12211" not in reason


def test_plan_does_not_live_patch_on_a_disconnected_host():
    plan = build_plan(fleet([rtr(version="4.16.1", rid="r1")], [host(version="4.20.2.0", state="Disconnected")], version="4.20.2.0", minreq="4.20.2"))
    assert paths(plan)["net-0"][0] == "skip" and "Disconnected" in paths(plan)["net-0"][1]


def test_plan_recreates_415_routers_on_420_for_8497():
    plan = build_plan(fleet([rtr(version="4.15.1", rid="r1")], [host(version="4.20.0.0")], version="4.20.0.0", minreq="4.20.0"))
    path, reason = paths(plan)["net-0"]
    assert path == "legacy" and "apache/cloudstack#8497" in reason


def test_plan_live_patches_where_nothing_stands_in_the_way():
    plan = build_plan(fleet([rtr(version="4.16.1", rid="r1")], [host(version="4.20.2.0")], version="4.20.2.0", minreq="4.20.2"))
    assert paths(plan)["net-0"][0] == "livepatch"


def test_report_shows_refused_by_the_server_as_its_own_outcome():
    plan = build_plan(fleet([rtr(version="4.16.1", rid="r1")], [host(version="4.20.2.0")], version="4.20.2.0", minreq="4.20.2"))
    journal = [{"key": "network:n0", "name": "net-0", "ms_version": "4.20.2.0", "path": "livepatch", "status": "refused", "jobid": "j1",
                "error": "refused by the server after restartNetwork job j1", "time": "2026-12-07T10:00:00+00:00", "batch": 1}]
    report = build_report(plan, journal)
    assert report["totals"]["refused"] == 1 and report["totals"]["done"] == 0
    entry = next(entry for entry in report["attention"] if entry["outcome"] == "refused")
    assert "recreate it" in entry["action"] and "reboot it" in entry["action"]
    assert "refused by the server" in render_markdown(report) and "refused by the server" in render_html(report)


def test_a_router_on_a_current_template_is_never_taken_for_a_9900_victim_when_the_minimum_is_not_read():
    fresh = rtr("4.19.3", NEW, "4.19.3.0")
    assert livepatch_regression("4.19.3.0", fresh["version"], None) is None
    plan = build_plan(fleet([fresh], [host()], minreq=None))
    assert paths(plan)["net-0"][0] == "skip"
