# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The plan after a live patch of the sample cloud: live-patched is not "on the current template".

After a live patch CloudStack reports requiresupgrade=false for the patched routers although their template did not
change (DomainRouterJoinDaoImpl.newDomainRouterResponse, 4.18.0.0), and listSystemVms reports the server's version for
the patched system VMs (ApiResponseHelper, 4.18.0.0). With plan_require_new_template the plan must still recreate every
one of them on an old template; without it, it must plan nothing for them.

The upgrade repoints every system VM to the new template (SystemVmTemplateRegistration.updateSystemVMEntries ->
VMInstanceDaoImpl.updateSystemVmTemplateId), so the listed template proves nothing; the ROOT volume's does
(listVolumes listsystemvms, QueryManagerImpl.searchForVolumesInternal 4.18.0.0): with plan_require_new_template every
system VM whose disk is older than its zone's minreq.sysvmtemplate.version is recreated, and the reason names both.
"""

from __future__ import annotations

import pytest
from playbook_runner import read_plan, run_playbook

from ansible_collections.acs.upgrade.plugins.modules import cs_livepatch

MS = "4.18.0.0"


@pytest.fixture
def patched_cloud(acs_sim, run_module):
    sim = acs_sim(topology="sample-cloud", time_factor=0.001)
    args = {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "routers": ["all"], "system_vms": ["all"],
            "parallel": 10, "poll_interval": 0.05, "max_fail_percentage": 100}
    result = run_module(cs_livepatch, args)
    assert result["summary"]["patched"] > 20, result.get("msg")
    return sim


def live_patched(sim) -> tuple[set[str], set[str]]:
    """Units (network/VPC ids) whose Running routers are all live-patched on an old template, and such system VMs."""
    state = sim.state()
    units: dict[str, list[dict]] = {}
    for router in state["routers"]:
        if router["state"] == "Running":
            units.setdefault(router.get("vpcid") or router["guestnetworkid"], []).append(router)
    patched_units = {uid for uid, routers in units.items() if all(r["softwareversion"] == MS and r["version"] != "4.18.0" for r in routers)}
    # Every system VM is listed with the new template (the upgrade repointed them): the agent's version tells the patched ones.
    assert {vm["templatename"] for vm in state["systemvms"]} == {"systemvm-kvm-4.18.0"}
    patched_vms = {vm["id"] for vm in state["systemvms"] if vm["version"] == MS}
    return patched_units, patched_vms


@pytest.mark.parametrize("require_new_template", ["true", "false"])
def test_plan_after_a_live_patch_follows_require_new_template(patched_cloud, tmp_path, require_new_template):
    sim = patched_cloud
    patched_units, patched_vms = live_patched(sim)
    assert len(patched_units) >= 15 and len(patched_vms) == 4, "the sample cloud's 4.14/4.15 routers and system VMs were patched"
    assert all(not r["requiresupgrade"] for r in sim.state()["routers"] if (r.get("vpcid") or r["guestnetworkid"]) in patched_units)

    output = tmp_path / "out"
    jobs_before = len(sim.jobs())
    run = run_playbook(sim, tmp_path, "plan.yml", {"acs_upgrade_dir": str(output), "plan_require_new_template": require_new_template})
    assert run.rc == 0, run.stdout[-3000:]
    items = {item["id"]: item for item in read_plan(output)["items"]}

    for uid in patched_units:
        item = items[uid]
        if require_new_template == "true":
            assert item["path"] == "legacy" and "already live-patched" in item["reason"], item
        else:
            assert item["path"] == "skip" and "already live-patched" in item["reason"], item
    systemvms = {vm["id"] for vm in sim.state()["systemvms"] if vm["state"] == "Running"}
    for vmid in systemvms:
        item = items[vmid]
        if require_new_template == "true":
            assert item["path"] == "legacy" and "is older than %s's minimum 4.18.0 (minreq.sysvmtemplate.version)" % item["zonename"] in item["reason"], item
        elif vmid in patched_vms:
            assert item["path"] == "skip" and "already live-patched" in item["reason"], item
        else:
            # Not patched: zone3's SSVM/CPVM, listed with the new template but their agent still reports the 4.13 disk.
            assert item["path"] == "legacy" and "4.13" in item["reason"], item
    # What the live patch could not reach is planned as before: 4.13 templates and the VPC without tiers legacy; the failed
    # initech-net14 (a failure no journal recorded) is live-patched again unless the current template is required.
    unpatched = {item["name"]: item for item in items.values() if item["kind"] != "systemvm" and item["id"] not in patched_units}
    assert unpatched.pop("initech-net14")["path"] == ("legacy" if require_new_template == "true" else "livepatch")
    assert unpatched.pop("hooli-vpc-empty")["path"] == "legacy"
    assert unpatched.pop("globex-net7")["path"] == "skip", "its only router is Stopped"
    why = "requires the current template" if require_new_template == "true" else "template 4.13.1"
    assert unpatched and all(item["path"] == "legacy" and why in item["reason"] for item in unpatched.values()), unpatched
    assert len(sim.jobs()) == jobs_before, "planning changes nothing"
