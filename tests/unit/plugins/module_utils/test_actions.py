# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The action table: which call acts on a target on each path, and the one success rule of a recreate."""

from __future__ import annotations

import json

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._actions import (
    ACTIONS,
    UPGRADE_ROUTER_TEMPLATE,
    Path,
    action_for,
    router_order,
    routers_recreated_problems,
    systemvm_recreated_problem,
)


class FakeClient:
    """Answers listVolumes with the ROOT volume of each VM, as a 4.18 server does for a ROOT admin."""

    def __init__(self, volumes, lists_system_volumes=True):
        self.volumes = volumes
        self.lists_system_volumes = lists_system_volumes

    def has_feature(self, name):
        return name != "listVolumes.listsystemvms" or self.lists_system_volumes

    def list(self, command, _key, **params):
        assert command == "listVolumes", command
        return [volume for volume in self.volumes if volume["virtualmachineid"] == params["virtualmachineid"]]


def test_paths_are_the_plan_json_strings():
    assert [path.value for path in Path] == ["livepatch", "legacy", "skip"]
    assert json.dumps({"path": Path.LEGACY}) == '{"path": "legacy"}' and Path.LIVEPATCH == "livepatch"


@pytest.mark.parametrize(
    "path, kind, method, command, params",
    [
        ("livepatch", "network", None, "restartNetwork", {"id": "n1", "livepatch": True, "cleanup": False}),
        ("livepatch", "vpc", None, "restartVPC", {"id": "n1", "livepatch": True, "cleanup": False}),
        ("livepatch", "systemvm", None, "patchSystemVm", {"id": "n1", "forced": False}),
        ("legacy", "network", None, "restartNetwork", {"id": "n1", "cleanup": True}),
        ("legacy", "vpc", None, "restartVPC", {"id": "n1", "cleanup": True}),
        ("legacy", "systemvm", None, "rebootSystemVm", {"id": "n1", "forced": True}),
        ("legacy", "network", UPGRADE_ROUTER_TEMPLATE, "upgradeRouterTemplate", {"id": "n1"}),
    ],
)
def test_each_path_and_kind_has_one_call(path, kind, method, command, params):
    action = action_for(path, kind, method)
    assert action.command == command
    assert action.request("n1", lambda feature: True) == params


def test_a_live_patch_falls_back_to_the_legacy_path_and_a_recreate_to_nothing():
    assert {action.fallback for action in ACTIONS.values() if action.path == Path.LIVEPATCH} == {Path.LEGACY}
    assert {action.fallback for action in ACTIONS.values() if action.path == Path.LEGACY} == {None}


def test_a_server_without_a_forced_reboot_gets_a_plain_one():
    assert action_for("legacy", "systemvm").request("s1", lambda feature: False) == {"id": "s1"}


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError):
        action_for("legacy", "systemvm", UPGRADE_ROUTER_TEMPLATE)


def test_per_router_order_takes_the_primary_of_a_pair_last():
    routers = [{"id": "p", "redundantstate": "PRIMARY"}, {"id": "b", "redundantstate": "BACKUP"}, {"id": "s", "redundantstate": None}]
    assert [router["id"] for router in router_order(routers)] == ["b", "s", "p"]


def test_recreated_routers_are_judged_by_their_template_against_the_zone_minimum():
    current = {"id": "r1", "name": "r-1-VM", "state": "Running", "version": "4.18.0"}
    old = {"id": "r2", "name": "r-2-VM", "state": "Running", "version": "4.15.1"}
    assert routers_recreated_problems([current], "4.18.0", "zone1") is None
    assert "r-2-VM (Running, template 4.15.1)" in routers_recreated_problems([current, old], "4.18.0", "zone1")
    assert "cannot be judged" in routers_recreated_problems([current], None, "zone1")
    assert "no router afterwards" in routers_recreated_problems([], "4.18.0", "zone1")


def test_a_recreated_system_vm_is_judged_by_its_root_volume_not_by_its_agent():
    # After the upgrade the listed template always names the new one and the agent reports the server's version:
    # only the ROOT volume tells a disk that was not rebuilt (DOMAIN.md; SystemVmTemplateRegistration).
    vm = {"id": "s1", "name": "s-1-VM", "state": "Running", "version": "4.18.0.0", "templatename": "systemvm-kvm-4.18.0"}
    stale = FakeClient([{"virtualmachineid": "s1", "type": "ROOT", "templatename": "systemvm-kvm-4.15.1"}])
    problem, version = systemvm_recreated_problem(stale, vm, "4.18.0", "zone1")
    assert version == "4.15.1" and "older than zone1's minimum 4.18.0" in problem
    rebuilt = FakeClient([{"virtualmachineid": "s1", "type": "ROOT", "templatename": "systemvm-kvm-4.18.0"}])
    assert systemvm_recreated_problem(rebuilt, vm, "4.18.0", "zone1") == (None, "4.18.0")
    # 4.17 lists no system VM volume: the listed template, from which a VM started since the upgrade was rebuilt.
    assert systemvm_recreated_problem(FakeClient([], lists_system_volumes=False), vm, "4.18.0", "zone1") == (None, "4.18.0")
    stopped = dict(vm, state="Stopped")
    assert systemvm_recreated_problem(rebuilt, stopped, "4.18.0", "zone1")[0] == "s-1-VM is Stopped"
