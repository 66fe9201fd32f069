# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The live patch support matrix of the upgrade notes and the version comparisons the upgrade relies on."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._api import FEATURES_SINCE
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    LIVEPATCH_MIN_MS_VERSION,
    UpgradeFacts,
    compare_versions,
    is_current,
    livepatch_support,
    ms_supports_livepatch,
    older_than_minimum,
    payload_scriptsversion,
    router_facts,
    systemvm_facts,
    template_is_current,
    template_version_from_name,
    unit_livepatch_support,
    unknown_minimum_reason,
    vpc_tiers_livepatchable,
)


@pytest.mark.parametrize(
    ("template", "supported", "warned"),
    [
        ("4.11.3", False, False),
        ("4.13.0", False, False),
        ("4.13.1.0", False, False),
        ("4.14.0", True, True),
        ("4.14.1.0", True, True),
        ("4.15.0", True, False),
        ("4.16.1", True, False),
        ("4.18.0", True, False),
        ("4.20.0.0-SNAPSHOT", True, False),
        ("5.0", True, False),
    ],
)
def test_support_matrix_of_the_upgrade_notes(template, supported, warned):
    support = livepatch_support(template, "4.18.0.0")
    assert support.supported is supported
    assert bool(support.warnings) is warned
    assert template in support.reason


def test_old_template_reason_names_the_jdk_and_the_legacy_path():
    supported, reason, warnings = livepatch_support("4.13.1", "4.17.2.0")
    assert not supported
    assert "JDK" in reason and "legacy" in reason
    assert warnings == []


def test_template_414_warns_about_remote_access_vpn():
    support = livepatch_support("4.14.0", "4.19.0.0")
    assert support.supported
    assert "strongSwan" in support.warnings[0] and "remote-access VPN" in support.warnings[0]


@pytest.mark.parametrize("ms_version", ["4.16.1.0", "4.16.0", "4.15.2.0", "4.11"])
def test_management_server_before_417_cannot_live_patch_any_template(ms_version):
    support = livepatch_support("4.16.0", ms_version)
    assert not support.supported
    assert ms_version in support.reason and "4.17" in support.reason
    assert not ms_supports_livepatch(ms_version)


@pytest.mark.parametrize("ms_version", ["4.17.0.0", "4.17", "4.18.1.0", "4.20.0.0-SNAPSHOT"])
def test_management_server_417_and_later_can_live_patch(ms_version):
    assert ms_supports_livepatch(ms_version)
    assert livepatch_support("4.15.0", ms_version).supported


@pytest.mark.parametrize("template", [None, "", "unknown", "-"])
def test_unknown_template_version_is_not_guessed(template):
    support = livepatch_support(template, "4.18.0.0")
    assert not support.supported
    assert "unknown" in support.reason


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("4.18.0.0", "4.18.0", 0),
        ("4.18", "4.18.0.0", 0),
        ("4.18.0.0-SNAPSHOT", "4.18.0.0", 0),
        ("4.9.0", "4.18.0", -1),
        ("4.18.1.0", "4.18.0.9", 1),
        ("4.17.2.0", "4.18.0.0", -1),
    ],
)
def test_versions_compare_numerically_with_missing_parts_as_zero(left, right, expected):
    assert compare_versions(left, right) == expected
    swapped_left, swapped_right = right, left
    assert compare_versions(swapped_left, swapped_right) == -expected


@pytest.mark.parametrize(
    ("softwareversion", "ms_version", "current"),
    [
        ("4.18.0.0", "4.18.0.0", True),
        ("4.18.0", "4.18.0.0", True),
        ("4.18.0.0", "4.18.0", True),
        ("4.17.2.0", "4.18.0.0", False),
        ("4.18.1.0", "4.18.0.0", False),
        (None, "4.18.0.0", False),
        ("", "4.18.0.0", False),
        ("garbage", "4.18.0.0", False),
    ],
)
def test_is_current_compares_software_with_the_management_server(softwareversion, ms_version, current):
    assert is_current(softwareversion, ms_version) is current


@pytest.mark.parametrize(
    ("template", "minreq", "current"),
    [
        ("4.18.0", "4.18.0", True),
        ("4.18.1", "4.18.0", True),
        ("4.17.0", "4.18.0", False),
        # 4.18.2.0 ships template 4.18.1 (pom.xml project.systemvm.template.version at 154566f914): its zones' minimum.
        ("4.18.1", "4.18.1", True),
        ("4.18.0", "4.18.1", False),
        # 4.19.2.0/4.19.3.0 ship 4.19.1: a router recreated under them is current, not older than "4.19.3".
        ("4.19.1", "4.19.1", True),
        ("4.20.0", "4.20.0.0", True),
        (None, "4.18.0", False),
        ("", "4.18.0", False),
    ],
)
def test_template_is_current_against_the_zone_minimum(template, minreq, current):
    """NetworkHelperImpl.checkRouterTemplateVersion / DomainRouterJoinDaoImpl (4.17-4.20): the router template is compared
    with the zone's minreq.sysvmtemplate.version, which the upgrade sets from the release's template version."""
    assert template_is_current(template, minreq) is current


@pytest.mark.parametrize("minreq", [None, "", "latest"])
def test_an_unknown_minimum_judges_nothing_current_and_says_why(minreq):
    assert template_is_current("4.20.2", minreq) is False
    reason = unknown_minimum_reason("zone1", minreq)
    assert "zone zone1's minreq.sysvmtemplate.version" in reason and "updateConfiguration" in reason
    assert {None: "was not read", "": "is empty", "latest": "'latest', not a version"}[minreq] in reason


def test_the_reason_names_the_zone_minimum():
    assert older_than_minimum("4.18.0", "zone1", "4.18.1") == "template 4.18.0 is older than zone1's minimum 4.18.1 (minreq.sysvmtemplate.version)"


def test_the_livepatch_apis_all_appear_in_the_version_the_matrix_requires():
    for feature in ("patchSystemVm", "restartNetwork.livepatch", "restartVPC.livepatch"):
        assert compare_versions(FEATURES_SINCE[feature], LIVEPATCH_MIN_MS_VERSION) == 0


def test_one_router_that_cannot_take_the_payload_rules_the_whole_network_out():
    support = unit_livepatch_support("network", "net-1", [], [("r-1", "4.15.1"), ("r-2", "4.13.1")], "4.18.0.0")
    assert not support.supported
    assert support.reason.startswith("r-2: ") and "JDK" in support.reason


def test_a_network_of_live_patchable_routers_gets_the_oldest_routers_reason_and_each_warning_once():
    support = unit_livepatch_support("network", "net-1", [], [("r-1", "4.15.1"), ("r-2", "4.14.1"), ("r-3", "4.14.1")], "4.18.0.0")
    assert support.supported and "4.14.1" in support.reason
    assert len(support.warnings) == 1 and "strongSwan" in support.warnings[0]


@pytest.mark.parametrize("tier_states, qualifier", [([], ""), (["Allocated", "Shutdown"], " in the Implemented state")])
def test_a_vpc_without_an_implemented_tier_cannot_be_live_patched_before_4_18_2(tier_states, qualifier):
    support = unit_livepatch_support("vpc", "vpc-1", tier_states, [("r-1", "4.15.1")], "4.18.0.0")
    assert not support.supported
    assert support.reason.startswith("VPC vpc-1 has no tiers%s:" % qualifier)
    assert unit_livepatch_support("vpc", "vpc-1", ["Allocated", "Implemented"], [("r-1", "4.15.1")], "4.18.0.0").supported


def test_no_unit_is_live_patchable_on_a_416_management_server():
    support = unit_livepatch_support("network", "net-1", [], [("r-1", "4.15.1")], "4.16.1.0")
    assert not support.supported and "4.17" in support.reason


@pytest.mark.parametrize("ms_version, patchable", [("4.18.1.0", False), ("4.18.2.0", True), ("4.19.0.0", True), ("4.20.0.0", True)])
def test_a_vpc_whose_tiers_are_not_implemented_is_live_patched_from_4_18_2(ms_version, patchable):
    """VpcManagerImpl.restartVpc: from 4.18.2.0 (apache/cloudstack#7958) every tier counts, before it only Implemented ones."""
    support = unit_livepatch_support("vpc", "vpc-1", ["Allocated", "Shutdown"], [("r-1", "4.15.1")], ms_version)
    assert support.supported is patchable
    assert not vpc_tiers_livepatchable([], ms_version), "a VPC without tiers is never patched"


@pytest.mark.parametrize(
    ("name", "version"),
    [("systemvm-kvm-4.15.1", "4.15.1"), ("systemvm-vmware-4.18.0.0", "4.18.0.0"), ("SystemVM Template (KVM)", None), (None, None), ("tpl-4", None)],
)
def test_template_version_from_its_name(name, version):
    assert template_version_from_name(name) == version


def test_the_two_facts_of_a_router_are_decided_apart():
    """Live-patched (softwareversion and payload) and current template (version) are two facts; requiresupgrade is neither."""
    payload = "new-md5"
    patched_old = {"version": "4.15.1", "softwareversion": "4.18.0.0", "scriptsversion": payload, "requiresupgrade": False}
    assert router_facts(patched_old, "4.18.0.0", "4.18.0", payload) == UpgradeFacts(True, False, "4.15.1")
    other_payload = dict(patched_old, scriptsversion="older-md5")
    assert router_facts(other_payload, "4.18.0.0", "4.18.0", payload).live_patched is False, "same version string, another payload"
    assert router_facts(other_payload, "4.18.0.0", "4.18.0", None).live_patched is True, "without a known payload, softwareversion decides"
    recreated = {"version": "4.18.0", "softwareversion": "4.18.0.0", "scriptsversion": payload, "requiresupgrade": True}
    assert router_facts(recreated, "4.18.0.0", "4.18.0", payload) == UpgradeFacts(True, True, "4.18.0")
    # On 4.18.2.0 the zone's minimum is 4.18.1: a router recreated from that template is current, though older than "4.18.2".
    on_4182 = {"version": "4.18.1", "softwareversion": "4.18.2.0", "scriptsversion": payload}
    assert router_facts(on_4182, "4.18.2.0", "4.18.1", payload) == UpgradeFacts(True, True, "4.18.1")


def test_the_two_facts_of_a_system_vm_come_from_its_agent_and_its_template():
    patched = {"version": "4.18.0.0", "templatename": "systemvm-kvm-4.15.1"}
    assert systemvm_facts(patched, "4.18.0.0", "4.18.0") == UpgradeFacts(True, False, "4.15.1")
    looked_up = {"version": "4.15.1.0", "templatename": "SystemVM Template (KVM)", "template_version": "4.15.1"}
    assert systemvm_facts(looked_up, "4.18.0.0", "4.18.0") == UpgradeFacts(False, False, "4.15.1")
    assert systemvm_facts({"version": "4.18.0.0"}, "4.18.0.0", "4.18.0").template_current is False, "an unknown template is not current"
    # The upgrade repoints every system VM to the new template (VMInstanceDaoImpl.updateSystemVmTemplateId): listed is no proof.
    repointed = {"version": "4.18.0.0", "templatename": "systemvm-kvm-4.18.0"}
    assert systemvm_facts(repointed, "4.18.0.0", "4.18.0") == UpgradeFacts(True, False, "4.18.0"), "without its disk, never known current"
    # Repointed but not yet patched or rebooted: its agent still reports the old disk's software, the bound that counts.
    old_disk = {"version": "4.13.1.0", "templatename": "systemvm-kvm-4.18.0"}
    assert systemvm_facts(old_disk, "4.18.0.0", "4.18.0") == UpgradeFacts(False, False, "4.13.1.0")
    assert not livepatch_support(systemvm_facts(old_disk, "4.18.0.0", "4.18.0").template_version, "4.18.0.0").supported, "a 4.13 disk is not live-patched"


def test_a_system_vm_is_judged_by_its_root_volume_template():
    """QueryManagerImpl.searchForVolumesInternal (4.18.0.0, listsystemvms): the ROOT volume's template is the disk's; the
    listed template was repointed by the upgrade (SystemVmTemplateRegistration.updateSystemVMEntries)."""
    recreated = {"version": "4.18.2.0", "templatename": "systemvm-kvm-4.18.1", "disk_template_version": "4.18.1"}
    assert systemvm_facts(recreated, "4.18.2.0", "4.18.1") == UpgradeFacts(True, True, "4.18.1")
    old_disk = {"version": "4.18.2.0", "templatename": "systemvm-kvm-4.18.1", "disk_template_version": "4.15.1"}
    assert systemvm_facts(old_disk, "4.18.2.0", "4.18.1") == UpgradeFacts(True, False, "4.15.1")
    assert systemvm_facts(recreated, "4.18.2.0", None).template_current is False, "no minimum, nothing current"


def test_the_payload_checksum_is_the_one_most_routers_on_the_server_software_report():
    routers = [
        {"softwareversion": "4.18.0.0", "scriptsversion": "a"},
        {"softwareversion": "4.18.0.0", "scriptsversion": "a"},
        {"softwareversion": "4.18.0.0", "scriptsversion": "b"},
        {"softwareversion": "4.15.1.0", "scriptsversion": "c"},
        {"softwareversion": "4.15.1.0", "scriptsversion": "c"},
        {"softwareversion": "4.15.1.0", "scriptsversion": "c"},
    ]
    assert payload_scriptsversion(routers, "4.18.0.0") == "a"
    assert payload_scriptsversion(routers[3:], "4.18.0.0") is None
