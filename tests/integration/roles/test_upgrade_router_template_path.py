# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The "upgradeRouterTemplate only" way of the legacy path, from upgrade.yml (plan_force_legacy_method)."""

from __future__ import annotations

from playbook_runner import read_journal, read_plan, run_playbook
from test_upgrade_playbooks import extravars


def routers_by_unit(sim):
    found = {}
    names = {item["id"]: item["name"] for kind in ("networks", "vpcs") for item in sim.state()[kind]}
    for router in sim.state()["routers"]:
        unit = names.get(router.get("vpcid") or router.get("guestnetworkid"))
        found.setdefault(unit, []).append(router)
    return found


def test_upgrade_yml_recreates_routers_with_upgrade_router_template_backup_before_primary(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    before = routers_by_unit(sim)
    output = tmp_path / "out"
    run = run_playbook(
        sim, tmp_path, "upgrade.yml", extravars(output, plan_require_new_template="true", plan_force_legacy_method="upgrade_router_template")
    )
    assert run.rc == 0, run.stdout[-3000:]

    planned = {item["name"]: item for item in read_plan(output)["items"] if item["kind"] in ("network", "vpc") and item["path"] == "legacy"}
    assert planned and all(item["method"] == "upgrade_router_template" for item in planned.values()), planned
    # No restart touched a network or VPC: each router was rebooted onto the current template by upgradeRouterTemplate.
    assert [job for job in sim.jobs() if job["command"] in ("restartNetwork", "restartVPC")] == []
    calls = sim.calls("upgradeRouterTemplate")
    assert all(set(call["params"]) - {"command", "response", "signature", "apiKey", "expires", "signatureversion"} == {"id"} for call in calls), calls
    rebooted = [job["instanceid"] for job in sim.jobs() if job["command"] == "rebootRouter"]
    assert calls and "acme-db" in planned, sorted(planned)
    assert len(rebooted) == len(set(rebooted)) == len(calls)

    after = routers_by_unit(sim)
    for name in planned:
        # The routers keep their ids and run the current template.
        assert sorted(router["id"] for router in after[name]) == sorted(router["id"] for router in before[name]), name
        assert all(router["state"] == "Running" and not router["requiresupgrade"] for router in after[name]), after[name]
    # The redundant pair: its BACKUP's reboot ended before its PRIMARY's began.
    pair = {router["redundantstate"]: router["id"] for router in before["acme-db"]}
    jobs = {job["instanceid"]: job for job in sim.jobs() if job["command"] == "rebootRouter"}
    assert jobs[pair["BACKUP"]]["end"] <= jobs[pair["PRIMARY"]]["start"]

    ends = {entry["name"]: entry for entry in read_journal(output) if entry["name"] in planned}
    expected = dict.fromkeys(planned, ("done", "legacy", "upgrade_router_template"))
    assert {name: (entry["status"], entry["path"], entry.get("method")) for name, entry in ends.items()} == expected

    # A second run has nothing left to do.
    again = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_require_new_template="true", plan_force_legacy_method="upgrade_router_template"))
    assert again.rc == 0, again.stdout[-3000:]
    assert len(sim.calls("upgradeRouterTemplate")) == len(calls)


def test_a_backup_whose_reboot_fails_leaves_the_primary_serving(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    pair = {router["redundantstate"]: router for router in routers_by_unit(sim)["acme-db"]}
    sim.inject(kind="job_failure", api="rebootRouter", object=pair["BACKUP"]["name"], errortext="Unable to reboot: host is in maintenance")
    output = tmp_path / "out"
    run = run_playbook(
        sim, tmp_path, "upgrade.yml", extravars(output, plan_require_new_template="true", plan_force_legacy_method="upgrade_router_template")
    )
    assert run.rc != 0, run.stdout[-3000:]
    rebooted = [job["instanceid"] for job in sim.jobs() if job["command"] == "rebootRouter"]
    assert pair["BACKUP"]["id"] in rebooted and pair["PRIMARY"]["id"] not in rebooted, rebooted
    (end,) = [entry for entry in read_journal(output) if entry["name"] == "acme-db"]
    assert (end["status"], end["path"], end["method"]) == ("failed", "legacy", "upgrade_router_template")
    assert "upgradeRouterTemplate of router %s" % pair["BACKUP"]["name"] in end["error"] and "host is in maintenance" in end["error"], end["error"]
    primary = next(router for router in sim.state()["routers"] if router["id"] == pair["PRIMARY"]["id"])
    assert primary["state"] == "Running" and primary["version"] == pair["PRIMARY"]["version"]
