# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The demo's upgrade (make demo: playbooks/upgrade.yml on the sample cloud) on each release's own system VM template.

The simulator plays the release given by ``version`` with the template its pom.xml ships
(project.systemvm.template.version: 4.18.2.0 ships 4.18.1, 4.19.3.0 ships 4.19.1) and sets each zone's
minreq.sysvmtemplate.version from it (SystemVmTemplateRegistration.getSystemVmTemplateVersion). The collection must
judge recreated routers and system VMs by that minimum, not by the server version: a correct recreate is done, not
failed, and a second plan finds nothing to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from playbook_runner import read_journal, read_plan, run_playbook

# release -> the minimum its upgrade sets (pom.xml project.systemvm.template.version at the release commit)
SAMPLE_CLOUD = Path(__file__).resolve().parents[2] / "simulator" / "topologies" / "sample-cloud.yml"
RELEASES = {"4.18.0.0": "4.18.0", "4.18.2.0": "4.18.1", "4.19.3.0": "4.19.1", "4.20.2.0": "4.20.2"}


def demo_vars(output, **more):
    # As demo/run-demo.sh passes them (AWX hands extra vars over as strings).
    base = {
        "acs_upgrade_dir": str(output),
        "plan_group_by": "zone",
        "livepatch_poll_interval": "1",
        "legacy_recreate_poll_interval": "1",
        "legacy_recreate_parallel": "4",
    }
    base.update(more)
    return base


def assert_nothing_left(sim, tmp_path, output):
    """plan.yml again (a dry run), in the run's state directory and in a new one: every item skipped, no job started.

    The new directory has no journal, so nothing is skipped for having been "finished in an earlier run": every item
    must be judged done from what CloudStack shows (templates at the zone's minimum, routers live-patched and accepted).
    """
    jobs = len(sim.jobs())
    for directory in (output, tmp_path / "fresh"):
        again = run_playbook(sim, tmp_path, "plan.yml", {"acs_upgrade_dir": str(directory)})
        assert again.rc == 0, again.stdout[-3000:]
        plan = read_plan(directory)
        left = [(item["name"], item["path"], item["reason"]) for item in plan["items"] if item["path"] != "skip"]
        assert left == [], (directory, left)
        assert len(sim.jobs()) == jobs


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_demo_upgrade_on_each_release_ends_with_no_failure_and_nothing_left(acs_sim, tmp_path, release):
    sim = acs_sim(topology="sample-cloud", version=release, time_factor=0.002)
    minreq = RELEASES[release]
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", demo_vars(output))
    assert run.rc == 0, run.stdout[-3000:]
    assert run.stats["acs_upgrade"]["failed"] == 0, run.stdout[-3000:]
    plan = read_plan(output)
    assert set(plan["min_template"].values()) == {minreq}
    # As make demo checks it: the run finished, nothing failed, was refused by the server or ended unknown.
    report = json.loads((output / "report.json").read_text())
    totals = report["totals"]
    assert report["outcome"]["status"] == "finished" and totals["done"] > 0, report["outcome"]
    assert {key: totals[key] for key in ("failed", "refused", "unknown", "not_run")} == {"failed": 0, "refused": 0, "unknown": 0, "not_run": 0}
    # Each item's last word in the journal (the sample cloud's failing live patch is refused, then recreated: done).
    last = {entry["key"]: entry for entry in read_journal(output)}
    assert not [(entry["name"], entry["status"]) for entry in last.values() if entry["status"] in ("failed", "refused", "unknown")]
    # What the server itself judges (NetworkHelperImpl.checkRouterVersion): no Running router is refused.
    assert [router["name"] for router in sim.state()["routers"] if router["refused"]] == []
    # Every router recreated in the run (the sample cloud's failing live patch, the VPCs without tiers) is on the minimum.
    recreated = [entry for entry in read_journal(output) if entry["path"] == "legacy" and entry["key"].startswith(("network:", "vpc:"))]
    assert recreated and all(entry["status"] == "done" for entry in recreated), recreated
    routers = sim.state()["routers"]
    new = [router for router in routers if router["version"] == minreq]
    assert new and all(router["requiresupgrade"] is False for router in new)
    assert_nothing_left(sim, tmp_path, output)


def test_routers_recreated_from_the_4181_template_on_4182_are_current(acs_sim, tmp_path):
    """4.18.2.0 ships template 4.18.1 (pom.xml at 154566f914), so the zones' minimum is 4.18.1: with
    plan_require_new_template every router and system VM is recreated, each recreate is done (not failed for being older
    than "4.18.2"), the system VMs' ROOT volumes carry 4.18.1, and a second plan with the same option plans nothing."""
    sim = acs_sim(topology="small", version="4.18.2.0", time_factor=0.002)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", demo_vars(output, plan_require_new_template="true"))
    assert run.rc == 0, run.stdout[-3000:]
    assert run.stats["acs_upgrade"]["failed"] == 0
    ends = read_journal(output)
    legacy = [entry for entry in ends if entry["path"] == "legacy"]
    assert legacy and all(entry["status"] == "done" for entry in legacy), legacy
    running = [router for router in sim.state()["routers"] if router["state"] == "Running"]
    assert running and {router["version"] for router in running} == {"4.18.1"}
    volumes = sim.client("admin").call("listVolumes", type="ROOT", listall=True, listsystemvms=True)["volume"]
    assert {volume["templatename"] for volume in volumes if volume["vmtype"] != "DomainRouter"} == {"systemvm-kvm-4.18.1"}
    plan_text = (output / "plan.txt").read_text()
    assert "older than zone1's minimum 4.18.1 (minreq.sysvmtemplate.version)" in plan_text
    jobs = len(sim.jobs())
    again = run_playbook(sim, tmp_path, "plan.yml", {"acs_upgrade_dir": str(output), "plan_require_new_template": "true"})
    assert again.rc == 0, again.stdout[-3000:]
    left = [(item["name"], item["reason"]) for item in read_plan(output)["items"] if item["path"] != "skip"]
    assert left == [] and len(sim.jobs()) == jobs


def test_a_420_2_server_over_420_1_agents_in_one_cluster_patches_nothing_there_and_says_why(acs_sim, tmp_path):
    """apache/cloudstack#12211: a 4.20.2.0 server whose agents in one cluster are still 4.20.1.0. The live patch payload is
    the host agent's (LibvirtPatchSystemVmCommandWrapper, ServerResource.systemVmPatchFiles) and 4.20.1.0's patch script has
    #9900, so a router live-patched there keeps its old checksum and the server refuses it. The demo's upgrade does not
    live-patch a VM on those hosts, names them, the agent version and both issues; nothing it touched ends refused, and a
    second plan (the server's payload now known from the recreated routers) holds the same VMs back and plans nothing else."""
    topology = yaml.safe_load(SAMPLE_CLOUD.read_text())
    cluster = topology["zones"][0]["pods"][0]["clusters"][0]
    cluster["agent_version"] = "4.20.1.0"
    sim = acs_sim(topology=topology, version="4.20.2.0", time_factor=0.002)
    old_hosts = {host["id"]: host["name"] for host in sim.state()["hosts"] if host["version"] == "4.20.1.0"}
    assert sorted(old_hosts.values()) == sorted(cluster["hosts"])
    before = {vm["id"]: vm for vm in sim.state()["routers"] + sim.state()["systemvms"] if vm.get("hostid") in old_hosts}
    refused_before = {router["id"]: (router["scriptsversion"], router["softwareversion"]) for router in sim.state()["routers"] if router["refused"]}
    assert before, "the sample cloud places VMs in that cluster"
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", demo_vars(output))
    assert run.rc == 0, run.stdout[-3000:]
    plan = read_plan(output)
    held = [item for item in plan["items"] if item["path"] == "skip" and any(name in item["reason"] for name in old_hosts.values())]
    assert held, [(item["name"], item["path"], item["reason"]) for item in plan["items"]]
    for item in held:
        assert "4.20.1.0" in item["reason"] and "upgrade the agent" in item["reason"], item
        assert "apache/cloudstack#9900" in item["reason"] and "apache/cloudstack#12211" in item["reason"], item
    # Not one VM left on those hosts was live-patched: the same scripts and software as before the run.
    after = {vm["id"]: vm for vm in sim.state()["routers"] + sim.state()["systemvms"]}
    patched = [vm["name"] for vid, vm in before.items() if vid in after
               and (after[vid].get("scriptsversion"), after[vid].get("softwareversion"), after[vid].get("version"))
               != (vm.get("scriptsversion"), vm.get("softwareversion"), vm.get("version"))]
    assert patched == []
    # Nothing the run touched is refused by the server. What stays refused was refused before the run, is unchanged, and
    # serves a network or VPC the plan held back for those hosts (a unit with one router there is not patched at all).
    report = json.loads((output / "report.json").read_text())
    assert (report["totals"]["refused"], report["totals"]["failed"], report["totals"]["unknown"]) == (0, 0, 0), report["totals"]
    held_names = {item["name"] for item in held}
    still_refused = [router for router in sim.state()["routers"] if router["refused"]]
    assert still_refused
    for router in still_refused:
        assert router["id"] in refused_before and {router.get("guestnetworkname"), router.get("vpcname")} & held_names, router
        assert (router["scriptsversion"], router["softwareversion"]) == refused_before[router["id"]], router
    # The preflight of the run says it first: the cluster, its hosts and their version, and both issues.
    preflight = json.loads((output / "preflight.json").read_text())
    [agents] = [finding for finding in preflight["findings"] if finding["check"] == "host_agent_version"]
    assert "cluster zone1-pod1-cluster1: kvm-z1p1-1 (4.20.1.0), kvm-z1p1-2 (4.20.1.0)" in agents["found"]
    assert "apache/cloudstack#9900" in agents["found"] and "apache/cloudstack#12211" in agents["found"]
    # A second plan holds the same VMs back and plans nothing else.
    assert_nothing_left(sim, tmp_path, output)
