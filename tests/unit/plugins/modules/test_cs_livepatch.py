# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_livepatch without a server: how each target is planned and verified, and how bad options are refused."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, Router, SystemVm, Unit
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobOutcome
from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import (
    LEGACY,
    LIVEPATCH,
    SKIPPED,
    judge_systemvm,
    judge_unit,
    plan_systemvm,
    plan_unit,
    summarize,
    verify_unit,
)
from ansible_collections.acs.upgrade.plugins.modules import cs_livepatch

MS = "4.18.0.0"
OLD_SCRIPTS, NEW_SCRIPTS = "5d41402abc4b2a76b9719d911017c592", "7d793037a0760186574b0282f2f435e7"


def router(name, state="Running", version="4.16.0", softwareversion="4.16.1.0", scriptsversion=OLD_SCRIPTS, redundant=None, vpcid=None, networkid="net-1"):
    return Router(
        id="id-" + name,
        name=name,
        state=state,
        role="VIRTUAL_ROUTER",
        redundantstate=redundant,
        isredundantrouter=redundant is not None,
        version=version,
        scriptsversion=scriptsversion,
        softwareversion=softwareversion,
        requiresupgrade=True,
        zoneid="zone-1",
        zonename="zone-a",
        podid="pod-1",
        hostid="host-1",
        clusterid="cluster-1",
        account="admin",
        domainid="dom-1",
        domain="ROOT",
        guestnetworkid=None if vpcid else networkid,
        vpcid=vpcid,
    )


def systemvm(name, systemvmtype="secondarystoragevm", state="Running", version="4.16.0", agent=None):
    """``version`` is the template's; ``agent`` the version listSystemVms reports (the template's own by default)."""
    return SystemVm(
        id="id-" + name,
        name=name,
        systemvmtype=systemvmtype,
        state=state,
        agentstate="Up",
        version=agent or version + ".0",
        templateid="tpl-" + version,
        templatename="systemvm-kvm-" + version,
        template_version=version,
        zoneid="zone-1",
        zonename="zone-a",
        podid="pod-1",
        hostid="host-1",
        clusterid="cluster-1",
    )


@pytest.fixture
def fleet():
    fleet = Fleet()
    fleet.version = MS
    fleet.zones = {"zone-1": {"id": "zone-1", "name": "zone-a"}}
    fleet.min_template = {"zone-1": "4.18.0"}
    fleet.pods = {"pod-1": {"id": "pod-1", "name": "pod-a"}}
    fleet.clusters = {"cluster-1": {"id": "cluster-1", "name": "cluster-a"}}
    fleet.domains = {"dom-1": {"id": "dom-1", "name": "ROOT"}}
    fleet.networks = {"tier-1": {"id": "tier-1", "vpcid": "vpc-1", "state": "Implemented"}, "tier-2": {"id": "tier-2", "vpcid": "vpc-2", "state": "Allocated"}}
    return fleet


def unit(kind="network", routers=(), tiers=()):
    return Unit(kind, kind + "-1", kind + "-a", "zone-1", "admin", "dom-1", routers=list(routers), tiers=list(tiers))


def test_network_with_old_routers_is_live_patched_with_where_it_runs(fleet):
    target = plan_unit(unit(routers=[router("r-1")]), fleet, forced=False)
    assert (target.path, target.warnings) == (LIVEPATCH, [])
    assert (target.zone, target.pods, target.clusters, target.account, target.domain) == ("zone-a", ["pod-a"], ["cluster-a"], "admin", "ROOT")
    assert target.before == {"r-1": {"state": "Running", "version": "4.16.0", "scriptsversion": OLD_SCRIPTS, "softwareversion": "4.16.1.0"}}


def test_network_whose_running_routers_are_current_is_skipped_unless_forced(fleet):
    current = unit(routers=[router("r-1", softwareversion="4.18.0"), router("r-2", state="Stopped")])
    skipped = plan_unit(current, fleet, forced=False)
    assert (skipped.path, skipped.status) == (SKIPPED, "unchanged")
    assert skipped.routers_not_running == ["r-2"]
    forced = plan_unit(current, fleet, forced=True)
    assert forced.path == LIVEPATCH and "forced" in forced.reason


def test_management_server_416_sends_every_unit_and_system_vm_to_the_legacy_path(fleet):
    fleet.version = "4.16.1.0"
    network = plan_unit(unit(routers=[router("r-1", softwareversion="4.15.0.0")]), fleet, forced=False)
    vm = plan_systemvm(systemvm("s-1-VM"), fleet, forced=False)
    for target in (network, vm):
        assert target.path == LEGACY
        assert "4.16.1.0" in target.reason and "4.17" in target.reason


def test_vpc_without_tiers_needs_the_legacy_path(fleet):
    target = plan_unit(unit("vpc", routers=[router("r-1", vpcid="vpc-0")]), fleet, forced=False)
    assert target.path == LEGACY
    assert "no tier" in target.reason and "cs_recreate" in target.reason


def test_vpc_without_implemented_tier_needs_the_legacy_path(fleet):
    target = plan_unit(unit("vpc", routers=[router("r-1", vpcid="vpc-2")], tiers=["tier-2"]), fleet, forced=False)
    assert target.path == LEGACY and "Implemented" in target.reason
    patched = plan_unit(unit("vpc", routers=[router("r-1", vpcid="vpc-1")], tiers=["tier-1"]), fleet, forced=False)
    assert patched.path == LIVEPATCH


def test_one_router_on_a_413_template_rules_out_its_whole_network(fleet):
    target = plan_unit(unit(routers=[router("r-1"), router("r-2", version="4.13.1")]), fleet, forced=False)
    assert target.path == LEGACY
    assert target.reason.startswith("r-2: ") and "JDK" in target.reason


def test_a_stopped_413_router_does_not_block_its_running_peer(fleet):
    target = plan_unit(unit(routers=[router("r-1"), router("r-2", version="4.13.1", state="Stopped")]), fleet, forced=False)
    assert target.path == LIVEPATCH and target.routers_not_running == ["r-2"]


def test_template_414_router_is_patched_with_the_vpn_warning(fleet):
    target = plan_unit(unit(routers=[router("r-1", version="4.14.0")]), fleet, forced=False)
    assert target.path == LIVEPATCH
    assert any("remote-access VPN" in warning for warning in target.warnings)


def test_routers_not_running_are_reported_and_the_running_ones_patched(fleet):
    target = plan_unit(unit(routers=[router("r-1"), router("r-2", state="Stopped")]), fleet, forced=False)
    assert target.path == LIVEPATCH
    assert target.routers_not_running == ["r-2"]
    assert any("router r-2 is Stopped" in warning for warning in target.warnings)


def test_network_without_running_router_needs_the_legacy_path(fleet):
    target = plan_unit(unit(routers=[router("r-1", state="Stopped")]), fleet, forced=False)
    assert target.path == LEGACY and "no router" in target.reason


def test_redundant_pair_warns_that_the_order_cannot_be_chosen(fleet):
    pair = [router("r-1", redundant="PRIMARY"), router("r-2", redundant="BACKUP")]
    target = plan_unit(unit(routers=pair), fleet, forced=False)
    assert target.path == LIVEPATCH
    assert any("r-1 (PRIMARY), r-2 (BACKUP)" in warning and "cannot be chosen" in warning for warning in target.warnings)


def test_system_vm_paths(fleet):
    assert plan_systemvm(systemvm("s-1-VM"), fleet, forced=False).path == LIVEPATCH
    stopped = plan_systemvm(systemvm("v-2-VM", "consoleproxy", state="Stopped"), fleet, forced=False)
    assert stopped.path == LEGACY and "Stopped" in stopped.reason
    old = plan_systemvm(systemvm("s-3-VM", version="4.11.3"), fleet, forced=False)
    assert old.path == LEGACY and "JDK" in old.reason
    assert plan_systemvm(systemvm("s-4-VM", version="4.14.1"), fleet, forced=False).warnings


def test_system_vm_already_live_patched_is_not_patched_again(fleet):
    """Its agent reports the server's version (after patchSystemVm or a boot under it): the template (4.16.0) is not the proof."""
    patched = plan_systemvm(systemvm("s-5-VM", agent=MS), fleet, forced=False)
    assert (patched.path, patched.status) == (SKIPPED, "unchanged") and "already live-patched" in patched.reason
    assert plan_systemvm(systemvm("s-5-VM", agent=MS), fleet, forced=True).path == LIVEPATCH
    agent_only = plan_systemvm(systemvm("s-6-VM", version="4.13.1", agent=MS), fleet, forced=False)
    assert agent_only.path == LEGACY, "a 4.13 template cannot be patched, whatever its agent reports"


def test_verification_accepts_routers_now_on_the_ms_software_with_new_scripts(fleet):
    target = plan_unit(unit(routers=[router("r-1"), router("r-2", state="Stopped")]), fleet, forced=False)
    after = [router("r-1", softwareversion=MS, scriptsversion=NEW_SCRIPTS), router("r-2", state="Stopped")]
    assert verify_unit(target, after, MS) == []
    assert target.routers_touched == ["r-1"]


def test_verification_rejects_a_job_that_patched_nothing(fleet):
    target = plan_unit(unit(routers=[router("r-1"), router("r-2")]), fleet, forced=False)
    after = [router("r-1", softwareversion=MS, scriptsversion=NEW_SCRIPTS), router("r-2")]
    assert verify_unit(target, after, MS) == ["r-2 still reports softwareversion 4.16.1.0"]
    stale_scripts = [router("r-1", softwareversion=MS), router("r-2", softwareversion=MS, scriptsversion=NEW_SCRIPTS)]
    assert verify_unit(target, stale_scripts, MS) == ["r-1 still has scriptsversion %s" % OLD_SCRIPTS]
    assert verify_unit(target, [], MS) == ["r-1 is gone", "r-2 is gone"]


def test_verification_of_a_forced_patch_of_current_routers_accepts_unchanged_scripts(fleet):
    target = plan_unit(unit(routers=[router("r-1", softwareversion=MS, scriptsversion=NEW_SCRIPTS)]), fleet, forced=True)
    assert verify_unit(target, [router("r-1", softwareversion=MS, scriptsversion=NEW_SCRIPTS)], MS) == []


@pytest.mark.parametrize(
    ("outcome", "vm_after", "status", "reason_has"),
    [
        (
            JobOutcome("s", "succeeded", "job-1", {"success": True, "displaytext": "Successfully patched system VM s-1-VM"}),
            "Running",
            "patched",
            "Successfully",
        ),
        (
            JobOutcome("s", "succeeded", "job-1", {"success": True, "displaytext": "No change in the scripts checksum, not patching systemVM s-1-VM"}),
            "Running",
            "unchanged",
            "No change",
        ),
        (JobOutcome("s", "succeeded", "job-1", {"success": False, "displaytext": "patch script exited 1"}), "Running", "failed", "success=false"),
        (JobOutcome("s", "succeeded", "job-1", {"success": True}), "Stopped", "failed", "is Stopped afterwards"),
        (JobOutcome("s", "succeeded", "job-1", {"success": True}), None, "failed", "is gone afterwards"),
        (JobOutcome("s", "failed", "job-1", {}, "services did not restart"), "Running", "failed", "services did not restart; a failed live patch"),
        (JobOutcome("s", "timed_out", "job-1", {}, "job job-1 still running"), "Running", "timed_out", "check job job-1"),
    ],
)
def test_system_vm_outcome_is_judged_from_the_answer_and_the_vm_read_again(fleet, outcome, vm_after, status, reason_has):
    target = plan_systemvm(systemvm("s-1-VM"), fleet, forced=False)
    judge_systemvm(target, outcome, systemvm("s-1-VM", state=vm_after) if vm_after else None, MS)
    assert target.status == status
    assert reason_has in target.reason
    assert target.recreate_required is (status == "failed")


def test_unit_outcome_is_judged_from_the_routers_read_again(fleet):
    target = plan_unit(unit(routers=[router("r-1")]), fleet, forced=False)
    judge_unit(target, JobOutcome("n", "succeeded", "job-2", {"success": True}), [router("r-1")], MS)
    assert target.status == "failed" and "restartNetwork job job-2 succeeded but the live patch did not reach" in target.reason
    judge_unit(target, JobOutcome("n", "succeeded", "job-3", {"success": True}), [router("r-1", softwareversion=MS, scriptsversion=NEW_SCRIPTS)], MS)
    assert (target.status, target.routers_touched) == ("patched", ["r-1"])
    vpc = plan_unit(unit("vpc", routers=[router("r-2", vpcid="vpc-1")], tiers=["tier-1"]), fleet, forced=False)
    judge_unit(vpc, JobOutcome("v", "failed", "job-4", {}, "Failed to live patch router r-2"), [router("r-2", vpcid="vpc-1")], MS)
    assert vpc.status == "failed" and vpc.reason.startswith("restartVPC job job-4 failed: Failed to live patch router r-2")


def test_summary_counts_paths_and_statuses(fleet):
    targets = [plan_systemvm(systemvm("s-1-VM"), fleet, forced=False), plan_systemvm(systemvm("s-2-VM", version="4.12.0"), fleet, forced=False)]
    targets[0].status = "patched"
    summary = summarize(targets)
    assert (summary["targets"], summary[LIVEPATCH], summary[LEGACY], summary["patched"], summary["not_patched"]) == (2, 1, 1, 1, 1)


CONNECTION = {"api_url": "http://127.0.0.1:9/client/api", "api_key": "key", "api_secret": "s3cr3t-never-shown"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "one of the following is required"),
        ({"routers": ["all"], "parallel": 0}, "parallel must be 1 or more"),
        ({"routers": ["all"], "max_fail_percentage": 150}, "max_fail_percentage must be between 0 and 100"),
        ({"routers": ["all"], "poll_interval": 0}, "poll_interval must be more than 0"),
        ({"routers": ["all"], "account": "acme"}, "missing parameter(s) required by 'account': domain"),
    ],
)
def test_bad_options_are_refused_before_any_call(run_module, args, message):
    result = run_module(cs_livepatch, dict(CONNECTION, **args))
    assert result["failed"]
    assert message in result["msg"]
    assert "s3cr3t-never-shown" not in str(result)


def test_system_vms_with_an_account_filter_is_refused(run_module):
    result = run_module(cs_livepatch, dict(CONNECTION, system_vms=["all"], domain="ROOT", account="admin", api_timeout=1))
    assert result["failed"]
    assert "system VMs belong to no account" in result["msg"]


def test_routers_outside_the_selection_that_the_restart_reaches_are_named(fleet):
    target = plan_unit(unit(routers=[router("r-1", redundant="PRIMARY")]), fleet, forced=False)
    after = [router("r-1", redundant="PRIMARY", softwareversion=MS, scriptsversion=NEW_SCRIPTS), router("r-2", redundant="BACKUP", softwareversion=MS)]
    judge_unit(target, JobOutcome("n", "succeeded", "job-5", {"success": True}), after, MS)
    assert target.status == "patched"
    assert target.warnings[-1] == "the restart also acts on routers outside the pod/cluster asked for: r-2"


def test_a_router_on_the_server_version_with_another_payload_is_patched_again(fleet):
    """Live-patched means the server's softwareversion and the payload's scripts checksum (one rule, _matrix.upgrade_facts)."""
    stale = unit(routers=[router("r-1", softwareversion=MS, scriptsversion=OLD_SCRIPTS)])
    assert plan_unit(stale, fleet, forced=False, payload=NEW_SCRIPTS).path == LIVEPATCH
    current = unit(routers=[router("r-1", softwareversion=MS, scriptsversion=NEW_SCRIPTS)])
    assert plan_unit(current, fleet, forced=False, payload=NEW_SCRIPTS).path == SKIPPED
    assert plan_unit(stale, fleet, forced=False).path == SKIPPED, "without a known payload the softwareversion decides"
