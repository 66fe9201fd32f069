# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""One decision: the plan (on the fleet dict cs_fleet_info returns), cs_livepatch and cs_recreate (on the fleet objects)
give every system VM and network/VPC of the same fleet the same path and the same reason."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, Router, SystemVm
from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import LEGACY, LIVEPATCH, SKIPPED, plan_systemvm, plan_unit
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import payload_scriptsversion
from ansible_collections.acs.upgrade.plugins.module_utils._plan import DecideOptions, build_plan, decide
from ansible_collections.acs.upgrade.plugins.module_utils._recreate import systemvm_target, unit_target

MS = "4.18.0.0"
PAYLOAD, OLD = "payload-4180", "payload-4161"


def router(name, network, state="Running", version="4.16.0", softwareversion="4.16.1.0", scriptsversion=OLD, vpc=False, redundantstate=None):
    return Router.from_api(
        {
            "id": "id-" + name,
            "name": name,
            "state": state,
            "version": version,
            "softwareversion": softwareversion,
            "scriptsversion": scriptsversion,
            "requiresupgrade": False,
            "zoneid": "z1",
            "zonename": "zone-a",
            "podid": "p1",
            "hostid": "h1",
            "account": "admin",
            "domainid": "d1",
            "domain": "ROOT",
            "redundantstate": redundantstate,
            "isredundantrouter": redundantstate is not None,
            "vpcid" if vpc else "guestnetworkid": network,
        },
        {"h1": "c1"},
    )


def systemvm(name, template="4.16.0", agent="4.16.0.0", state="Running", kind="secondarystoragevm"):
    return SystemVm.from_api(
        {"id": "id-" + name, "name": name, "systemvmtype": kind, "state": state, "version": agent, "templatename": "systemvm-kvm-" + template, "zoneid": "z1"},
        {},
    )


def mixed_fleet(ms_version=MS):
    """A fleet with one of each case the decision tells apart."""
    fleet = Fleet()
    fleet.version = ms_version
    fleet.zones = {"z1": {"id": "z1", "name": "zone-a"}}
    fleet.min_template = {"z1": "4.18.0"}
    fleet.pods = {"p1": {"id": "p1", "name": "pod-a"}}
    fleet.clusters = {"c1": {"id": "c1", "name": "cluster-a"}}
    fleet.domains = {"d1": {"id": "d1", "name": "ROOT", "path": "ROOT"}}
    names = ["n-old", "n-413", "n-414", "n-half-stopped", "n-stopped", "n-patched", "n-current", "n-other-payload", "n-pair"]
    fleet.networks = {name: {"id": name, "name": name, "zoneid": "z1", "state": "Implemented"} for name in names}
    fleet.networks.update(
        {
            "t-busy": {"id": "t-busy", "name": "t-busy", "vpcid": "vpc-busy", "state": "Implemented"},
            "t-idle": {"id": "t-idle", "name": "t-idle", "vpcid": "vpc-idle", "state": "Allocated"},
        }
    )
    fleet.vpcs = {name: {"id": name, "name": name, "zoneid": "z1"} for name in ("vpc-busy", "vpc-idle", "vpc-empty")}
    fleet.routers = [
        router("r-old", "n-old"),
        router("r-413", "n-413", version="4.13.1"),
        router("r-414", "n-414", version="4.14.0"),
        router("r-half-1", "n-half-stopped"),
        router("r-half-2", "n-half-stopped", state="Stopped", version="4.13.0"),
        router("r-stopped", "n-stopped", state="Stopped"),
        router("r-patched", "n-patched", softwareversion=MS, scriptsversion=PAYLOAD),
        router("r-current", "n-current", version="4.18.0", softwareversion=MS, scriptsversion=PAYLOAD),
        router("r-other", "n-other-payload", softwareversion=MS, scriptsversion=OLD),
        router("r-primary", "n-pair", redundantstate="PRIMARY"),
        router("r-backup", "n-pair", redundantstate="BACKUP"),
        router("r-busy", "vpc-busy", vpc=True),
        router("r-idle", "vpc-idle", vpc=True),
        router("r-empty", "vpc-empty", vpc=True),
    ]
    fleet.systemvms = [
        systemvm("s-old"),
        systemvm("v-413", template="4.13.1", agent="4.13.1.0", kind="consoleproxy"),
        systemvm("s-patched", agent=MS),
        systemvm("s-413-agent-ms", template="4.13.1", agent=MS),
        systemvm("v-stopped", state="Stopped", kind="consoleproxy"),
        systemvm("s-414", template="4.14.1", agent="4.14.1.0"),
    ]
    return fleet


def plan_items(fleet, **options):
    """The plan as the roles make it: from the fleet serialised by cs_fleet_info."""
    return {item["name"]: item for item in build_plan(fleet.as_dict(), **options)["items"]}


def livepatch_targets(fleet, forced=False):
    payload = payload_scriptsversion(fleet.routers, fleet.version)
    targets = [plan_systemvm(vm, fleet, forced) for vm in fleet.systemvms]
    targets += [plan_unit(unit, fleet, forced, payload) for unit in fleet.units()]
    return {target.name: target for target in targets}


# cs_livepatch's words for the plan's paths: what a live patch cannot reach (a skip that is not done) needs the legacy path.
LIVEPATCH_WORDS = {("livepatch", False): LIVEPATCH, ("legacy", False): LEGACY, ("skip", True): SKIPPED, ("skip", False): LEGACY}


@pytest.mark.parametrize("ms_version", [MS, "4.16.1.0", "4.18.2.0"])
def test_the_plan_and_cs_livepatch_give_every_target_the_same_path_and_reason(ms_version):
    fleet = mixed_fleet(ms_version)
    items = plan_items(fleet)
    targets = livepatch_targets(fleet)
    assert set(items) == set(targets) and len(items) == 18
    for name, item in items.items():
        target = targets[name]
        done = item["path"] == "skip" and target.status == "unchanged"
        assert target.path == LIVEPATCH_WORDS[(item["path"], done)], (name, item["path"], target.path)
        assert target.reason == item["reason"], name
        assert set(item["warnings"]) <= set(target.warnings), name


def test_the_decision_covers_each_case_of_the_mixed_fleet():
    """The paths themselves, so that agreement cannot come from both sides being wrong the same way."""
    items = plan_items(mixed_fleet())
    paths = {name: item["path"] for name, item in items.items()}
    assert paths == {
        "n-old": "livepatch",
        "n-413": "legacy",
        "n-414": "livepatch",
        "n-half-stopped": "livepatch",  # its Stopped 4.13 router does not rule out the Running one
        "n-stopped": "skip",
        "n-patched": "skip",
        "n-current": "skip",
        "n-other-payload": "livepatch",  # the server's softwareversion with another payload's scripts
        "n-pair": "livepatch",
        "vpc-busy": "livepatch",
        "vpc-idle": "legacy",  # Allocated tiers only, before 4.18.2.0
        "vpc-empty": "legacy",
        "s-old": "livepatch",
        "v-413": "legacy",
        "s-patched": "skip",
        "s-413-agent-ms": "legacy",  # an agent on the server's version does not make a 4.13 disk patchable
        "v-stopped": "skip",
        "s-414": "livepatch",
    }
    assert any("strongSwan" in warning for warning in items["n-414"]["warnings"])
    assert "JDK" in items["n-413"]["reason"] and "no tiers" in items["vpc-empty"]["reason"]


def test_forced_live_patch_is_the_only_difference_cs_livepatch_adds():
    fleet = mixed_fleet()
    forced = livepatch_targets(fleet, forced=True)
    assert forced["n-patched"].path == LIVEPATCH and "(forced)" in forced["n-patched"].reason
    assert forced["s-patched"].path == LIVEPATCH and "forced" in forced["s-patched"].reason
    assert forced["vpc-empty"].path == LEGACY, "forcing never live-patches what cannot be live-patched"
    assert forced["n-stopped"].path == LEGACY and "no router" in forced["n-stopped"].reason


def test_cs_recreate_recreates_the_networks_the_plan_sends_to_the_legacy_path_for_a_new_template():
    """cs_recreate runs the legacy path alone: it recreates a network/VPC exactly when the plan with require_new_template sends it
    there, and leaves it unchanged when the plan says every router already runs the current template."""
    fleet = mixed_fleet()
    items = plan_items(fleet, require_new_template=True)
    for unit in fleet.units():
        item = items[unit.name]
        target = unit_target(unit, fleet.version, force=False, minreq=fleet.min_template[unit.zoneid])
        if not any(router.state == "Running" for router in unit.routers):
            continue  # a restart with cleanup starts a network's stopped routers; the plan leaves that to the operator
        assert (target.status == "pending") is (item["path"] == "legacy"), (unit.name, item["path"], target.status)
        assert (target.status == "unchanged") is (item["path"] == "skip" and "at or above zone-a's minimum 4.18.0" in item["reason"]), unit.name
    for vm in fleet.systemvms:
        target = systemvm_target(vm, "stop_start", fleet.version, force=False, minreq=fleet.min_template[vm.zoneid])
        assert target.status == "pending", "without its ROOT volume (4.17) a system VM's disk template is unknown: recreated when asked"
        if vm.state == "Running":
            assert items[vm.name]["path"] == "legacy"


def test_a_system_vm_whose_root_volume_is_on_the_zone_minimum_is_not_recreated():
    """listVolumes type=ROOT listsystemvms=true (QueryManagerImpl.searchForVolumesInternal, 4.18.0.0): the disk template of an
    SSVM/CPVM is read; on the zone's minimum it is current, so neither the plan nor cs_recreate recreates it again."""
    fleet = mixed_fleet("4.18.2.0")
    fleet.min_template = {"z1": "4.18.1"}
    for vm in fleet.systemvms:
        vm.disk_template_version = "4.18.1" if vm.name == "s-patched" else vm.template_version
    items = plan_items(fleet, require_new_template=True)
    assert items["s-patched"]["path"] == "skip"
    assert "already runs template 4.18.1 (its ROOT volume), at or above zone-a's minimum 4.18.1 (minreq.sysvmtemplate.version)" in items["s-patched"]["reason"]
    assert items["s-old"]["path"] == "legacy"
    assert "template 4.16.0 is older than zone-a's minimum 4.18.1 (minreq.sysvmtemplate.version)" in items["s-old"]["reason"]
    targets = {vm.name: systemvm_target(vm, "stop_start", fleet.version, force=False, minreq="4.18.1") for vm in fleet.systemvms}
    assert targets["s-patched"].status == "unchanged" and targets["s-old"].status == "pending"
    assert systemvm_target(fleet.systemvms[2], "stop_start", fleet.version, force=True, minreq="4.18.1").status == "pending", "force recreates anyway"


@pytest.mark.parametrize(
    ("options", "path", "words"),
    [
        (DecideOptions(), "livepatch", "can be live-patched"),
        (DecideOptions(force_legacy=frozenset({"n-old"})), "legacy", "listed for the legacy path by the operator"),
        (DecideOptions(entry={"key": "network:n-old", "status": "done", "time": "T"}), "skip", "finished in an earlier run"),
        (
            DecideOptions(entry={"key": "network:n-old", "status": "failed", "path": "livepatch", "jobid": "j-1", "error": "boom"}),
            "legacy",
            "failed in an earlier run (boom)",
        ),
        # livepatch.yml journals its failures with recreate false: legacy_recreate.yml still takes them up.
        (
            DecideOptions(entry={"key": "network:n-old", "status": "failed", "path": "livepatch", "jobid": "j-1", "recreate": False, "error": "boom"}),
            "legacy",
            "failed in an earlier run (boom)",
        ),
        # A live patch that was never started (its submit was refused) is tried again.
        (DecideOptions(entry={"key": "network:n-old", "status": "failed", "path": "livepatch", "error": "refused"}), "livepatch", "can be live-patched"),
        (DecideOptions(require_new_template=True), "legacy", "requires the current template"),
        (DecideOptions(method="restart_cleanup"), "legacy", "routers needing a new template: r-old"),
    ],
)
def test_each_option_of_the_callers_reaches_the_one_decision_on_fleet_objects_and_dicts(options, path, words):
    fleet = mixed_fleet()
    options = options._replace(minreq=fleet.min_template["z1"], zone="zone-a")
    (unit,) = [unit for unit in fleet.units() if unit.name == "n-old"]
    from_objects = decide(unit.kind, unit, fleet.version, options, unit.routers)
    from_dicts = decide("network", unit.as_dict(), fleet.version, options, [router.as_dict() for router in unit.routers])
    assert from_objects == from_dicts
    assert from_objects.path == path and words in from_objects.reason


def test_a_kind_without_a_decision_is_refused_by_name():
    with pytest.raises(ValueError, match="cannot decide the path of a 'secondarystoragevm'; the kinds are systemvm, router, network, vpc"):
        decide("secondarystoragevm", {"name": "s-1-VM"}, MS)
