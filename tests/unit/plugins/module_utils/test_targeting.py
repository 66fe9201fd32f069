# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._targeting import TargetingError, clean_entries, select_targets

from test_plan import fleet, router, svm

FLEET = fleet(
    [
        router("1", ("network", "net-a"), zone="z1", account="alice"),
        router("2", ("network", "net-b"), zone="z1", pod="p2", cluster="c2", account="bob", domainid="d2"),
        router("3", ("vpc", "vpc-c"), zone="z2", account="bob", domainid="d2"),
        router("4", ("vpc", "vpc-c"), zone="z2", account="bob", domainid="d2"),
    ],
    systemvms=[svm("10", "z1"), svm("11", "z2", kind="consoleproxy")],
)


def targeted(result):
    return sorted(["systemvm:%s" % vm["id"] for vm in result["fleet"]["systemvms"]] + ["%s:%s" % (u["kind"], u["id"]) for u in result["fleet"]["units"]])


def test_no_lists_target_everything():
    result = select_targets(FLEET)
    assert targeted(result) == ["network:net-a", "network:net-b", "systemvm:10", "systemvm:11", "vpc:vpc-c"]
    assert result["excluded"] == []


def test_include_by_zone_name_keeps_its_system_vms_and_networks_and_says_why_the_others_are_left_out():
    result = select_targets(FLEET, include=["zone-b"])
    assert targeted(result) == ["systemvm:11", "vpc:vpc-c"]
    reasons = {item["key"]: item["reason"] for item in result["excluded"]}
    assert set(reasons) == {"network:net-a", "network:net-b", "systemvm:10"}
    assert reasons["network:net-a"] == "network net-a is not targeted: it matches no include entry (zone-b)"


def test_a_router_stands_for_its_vpc_and_exclude_names_the_entry():
    result = select_targets(FLEET, exclude=["r-3-VM"])
    assert "vpc:vpc-c" not in targeted(result)
    assert result["excluded"] == [
        {
            "key": "vpc:vpc-c",
            "kind": "vpc",
            "id": "vpc-c",
            "name": "vpc-c",
            "zoneid": "z2",
            "reason": "vpc vpc-c is excluded by the operator: exclude entry 'r-3-VM' names router r-3-VM of vpc vpc-c",
        }
    ]


def test_kind_prefix_pod_cluster_domain_and_account_forms():
    assert targeted(select_targets(FLEET, include=["pod:pod-2"])) == ["network:net-b"]
    assert targeted(select_targets(FLEET, include=["cluster-2"])) == ["network:net-b"]
    assert targeted(select_targets(FLEET, include=["ROOT/customers"])) == ["network:net-b", "vpc:vpc-c"]
    assert targeted(select_targets(FLEET, include=["account:ROOT/customers/bob"], exclude=["vpc:vpc-c"])) == ["network:net-b"]
    # Exclude wins over include; system VMs belong to no account.
    assert targeted(select_targets(FLEET, include=["zone-a"], exclude=["systemvm:s-10"])) == ["network:net-a", "network:net-b"]


def test_an_entry_that_matches_nothing_is_an_error_naming_it():
    with pytest.raises(TargetingError, match="exclude entry 'net-z' matches no router, network, VPC"):
        select_targets(FLEET, exclude=["net-z"])
    with pytest.raises(TargetingError, match="include entry 'zone:net-a' matches no"):
        select_targets(FLEET, include=["zone:net-a"])


def test_survey_answers_are_split_and_blanks_dropped():
    assert clean_entries("zone-a, r-1-VM,,") == ["zone-a", "r-1-VM"]
    assert clean_entries([""]) == []
    assert clean_entries(None) == []


def test_an_include_name_of_several_objects_is_an_error_unless_the_kind_is_given():
    """A name shared by a zone and an account, or by the accounts of two domains, would widen an include list."""
    shared = fleet(
        [
            router("1", ("network", "net-a"), zone="z1", account="zone-b"),
            router("2", ("network", "net-b"), zone="z1", account="alice", domainid="d2"),
            router("3", ("vpc", "vpc-c"), zone="z2", account="bob", domainid="d2"),
            router("4", ("network", "net-d"), zone="z1", account="alice"),
        ],
    )
    with pytest.raises(TargetingError, match=r"include entry 'zone-b' is ambiguous: it names 2 objects \(account ROOT/zone-b, zone zone-b\)"):
        select_targets(shared, include=["zone-b"])
    with pytest.raises(TargetingError, match=r"include entry 'alice' is ambiguous: it names 2 objects \(account ROOT/alice, account ROOT/customers/alice\)"):
        select_targets(shared, include="alice")
    # The kind first (or the account's domain) says which, or that every object of that kind is meant.
    assert targeted(select_targets(shared, include=["zone:zone-b"])) == ["vpc:vpc-c"]
    assert targeted(select_targets(shared, include=["account:ROOT/zone-b"])) == ["network:net-a"]
    assert targeted(select_targets(shared, include=["account:alice"])) == ["network:net-b", "network:net-d"]
    # Excluding never widens a run: an exclude entry may name several objects.
    assert targeted(select_targets(shared, exclude=["zone-b"])) == ["network:net-b", "network:net-d"]


def test_a_vpc_and_its_tier_of_the_same_name_are_one_target():
    same = fleet([router("3", ("vpc", "web"), zone="z2")], vpcs={"web": ["web"]})
    same["networks"] = [{"id": "web", "name": "web"}]
    assert targeted(select_targets(same, include=["web"])) == ["vpc:web"]


def test_a_domain_takes_its_sub_domains_as_cloudstack_listings_with_isrecursive_do():
    nested = fleet(
        [
            router("1", ("network", "net-a"), zone="z1"),
            router("2", ("network", "net-b"), zone="z1", domainid="d2"),
            router("3", ("network", "net-e"), zone="z1", domainid="d2", account="eve"),
        ],
    )
    nested["domains"].append({"id": "d3", "name": "eu", "path": "ROOT/customers/eu"})
    nested["units"][2]["domainid"] = "d3"
    assert targeted(select_targets(nested, include=["domain:customers"])) == ["network:net-b", "network:net-e"]
    assert targeted(select_targets(nested, exclude=["ROOT/customers"])) == ["network:net-a"]
    assert targeted(select_targets(nested, include=["eu"])) == ["network:net-e"]
    reasons = {item["key"]: item["reason"] for item in select_targets(nested, exclude=["customers"])["excluded"]}
    assert reasons["network:net-e"] == "network net-e is excluded by the operator: exclude entry 'customers' names domain customers"
