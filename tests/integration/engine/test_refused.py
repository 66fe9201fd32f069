# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Routers the server refuses, against the simulator playing the releases: the plan recreates what a live patch would leave
refused (apache/cloudstack#9900 on 4.19.3.0), a forced live patch there ends "refused by the server" (never done), and a
cluster whose agents stay old is not live-patched, with the plan saying why."""

from __future__ import annotations

import datetime

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient
from ansible_collections.acs.upgrade.plugins.module_utils._engine import StageRunner
from ansible_collections.acs.upgrade.plugins.module_utils._state import Journal, plan_steps
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet
from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan, start_run
from ansible_collections.acs.upgrade.plugins.module_utils._report import build_report

NOW = datetime.datetime.now(datetime.timezone.utc)


def cloud(version: str, agent_c2: str | None = None) -> dict:
    """Two clusters of one zone; cluster c2's agents on ``agent_c2`` (default the server's); routers on 4.16.1 and 4.18.0."""
    c2 = {"name": "c2", "hosts": ["kvm2"]}
    if agent_c2:
        c2["agent_version"] = agent_c2
    return {
        "managementserver": {"version": version}, "seed": 5,
        "accounts": [{"name": "acme", "domain": "ROOT"}],
        "zones": [{"name": "z1", "pods": [{"name": "p1", "clusters": [{"name": "c1", "hosts": ["kvm1"]}, c2]}], "systemvms": {"version": "4.16.1"}}],
        "networks": [
            {"name": "web", "zone": "z1", "account": "acme", "routers": [{"version": "4.16.1", "host": "kvm1"}]},
            {"name": "db", "zone": "z1", "account": "acme", "redundant": True,
             "routers": [{"version": "4.18.0", "host": "kvm1", "redundantstate": "PRIMARY"},
                         {"version": "4.18.0", "host": "kvm1", "redundantstate": "BACKUP"}]},
            {"name": "app", "zone": "z1", "account": "acme", "routers": [{"version": "4.16.1", "host": "kvm2"}]},
        ],
    }


def plan_for(sim, tmp_path, **options):
    client = CloudStackClient(sim.url, sim.admin_key, sim.admin_secret)
    plan = start_run(build_plan(Fleet.read(client).as_dict(), canary_size=0, **options), None, NOW, 0, "run1")
    return client, plan, Journal(str(tmp_path / "journal.jsonl"))


def run_all(client, plan, journal, **options):
    return [
        StageRunner(client, plan, journal, group["name"], name, poll_interval=0.02, parallel=4, health_gate=False, **options).execute()
        for group in plan_steps(plan)
        for name in group["stages"]
    ]


def refused(sim) -> list[str]:
    return [router["name"] for router in sim.state()["routers"] if router["refused"]]


def test_on_4193_the_plan_recreates_what_a_live_patch_would_leave_refused(acs_sim, tmp_path):
    sim = acs_sim(topology=cloud("4.19.3.0"), time_factor=0.002)
    assert len(refused(sim)) == 4  # every router: old template, old scripts
    client, plan, journal = plan_for(sim, tmp_path)
    units = {item["name"]: item for item in plan["items"] if item["kind"] == "network"}
    assert {name: item["path"] for name, item in units.items()} == {"web": "legacy", "db": "legacy", "app": "legacy"}
    assert all("apache/cloudstack#9900" in item["reason"] for item in units.values())
    run_all(client, plan, journal)
    assert refused(sim) == []
    assert not [entry for entry in journal.entries() if entry["status"] in ("refused", "failed")]
    # Nothing left to do: a second plan of the same cloud plans nothing for the routers.
    again = build_plan(Fleet.read(client).as_dict(), journal=journal.entries())
    assert {item["path"] for item in again["items"] if item["kind"] == "network"} == {"skip"}


def test_a_forced_live_patch_on_4193_is_refused_by_the_server_not_done(acs_sim, tmp_path):
    sim = acs_sim(topology=cloud("4.19.3.0"), time_factor=0.002)
    client, plan, journal = plan_for(sim, tmp_path, include_systemvms=False)
    # The operator forces the live path in the plan file: the restarts live-patch (and #9900 keeps the old checksums).
    for item in plan["items"]:
        if item["kind"] == "network":
            item["path"] = "livepatch"
    results = run_all(client, plan, journal, on_failure="continue")
    ends = {entry["name"]: entry for entry in journal.entries() if entry["status"] != "submitted"}
    assert {name: entry["status"] for name, entry in ends.items()} == {"web": "refused", "db": "refused", "app": "refused"}
    assert all("refused by the server" in entry["error"] and "#12211" in entry["error"] for entry in ends.values())
    assert sum(result["counts"]["refused"] for result in results) == 3 and sum(result["counts"]["done"] for result in results) == 0
    # listRouters shows them live-patched (requiresupgrade false, the server's software): the server refuses them all the same.
    routers = client.list("listRouters", "router", listall=True)
    assert {router["softwareversion"] for router in routers} == {"4.19.3.0"} and not any(router["requiresupgrade"] for router in routers)
    assert len(refused(sim)) == 4
    report = build_report(plan, journal.entries())
    assert report["totals"]["refused"] == 3 and report["totals"]["done"] == 0
    # The next plan recreates them.
    again = build_plan(Fleet.read(client).as_dict(), journal=journal.entries())
    assert {item["path"] for item in again["items"] if item["kind"] == "network"} == {"legacy"}


def test_a_forced_live_patch_refused_falls_back_to_the_recreate(acs_sim, tmp_path):
    sim = acs_sim(topology=cloud("4.19.3.0"), time_factor=0.002)
    client, plan, journal = plan_for(sim, tmp_path, include_systemvms=False)
    for item in plan["items"]:
        if item["kind"] == "network":
            item["path"] = "livepatch"
    run_all(client, plan, journal, on_failure="recreate")
    assert refused(sim) == []
    report = build_report(plan, journal.entries())
    assert report["totals"]["recreated"] == 3 and report["totals"]["refused"] == 0


def test_a_cluster_whose_agents_stay_old_is_not_live_patched_and_the_plan_says_why(acs_sim, tmp_path):
    sim = acs_sim(topology=cloud("4.20.2.0", agent_c2="4.19.3.0"), time_factor=0.002)
    hosts = {host["name"]: host for host in CloudStackClient(sim.url, sim.admin_key, sim.admin_secret).list("listHosts", "host", type="Routing")}
    assert (hosts["kvm1"]["version"], hosts["kvm2"]["version"]) == ("4.20.2.0", "4.19.3.0")
    client, plan, journal = plan_for(sim, tmp_path, include_systemvms=False)
    app = next(item for item in plan["items"] if item["name"] == "app")
    assert app["path"] == "skip" and "kvm2" in app["reason"] and "4.19.3.0" in app["reason"] and "upgrade the agent" in app["reason"]
    # A 4.19.3.0 agent's patch script has #9900: a live patch there would leave the router refused (apache/cloudstack#12211).
    assert "apache/cloudstack#9900" in app["reason"] and "apache/cloudstack#12211" in app["reason"]
    before = next(router for router in sim.state()["routers"] if router.get("guestnetworkname") == "app")
    run_all(client, plan, journal)
    after = next(router for router in sim.state()["routers"] if router.get("guestnetworkname") == "app")
    assert (after["scriptsversion"], after["softwareversion"]) == (before["scriptsversion"], before["softwareversion"])
    assert not any(job["instanceid"] == app["id"] for job in sim.jobs())
    # The other networks were live-patched (4.16.1 and 4.18.0 templates on 4.20.2) and are accepted.
    assert refused(sim) == [after["name"]]
