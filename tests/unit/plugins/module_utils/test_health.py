# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The health gate without any server: parsing the three result sources and judging them."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._health import (
    Check,
    GateOptions,
    HealthError,
    RouterHealth,
    check_from_script,
    checks_from_api,
    checks_from_results_file,
    describe_unknown,
    gate_message,
    judge,
    needs_refresh,
    parse_timestamp,
    unknown_check_names,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime.datetime:
    return NOW - datetime.timedelta(seconds=seconds)


def check(name: str, success: bool = True, age: float = 10, check_type: str = "basic") -> Check:
    return Check(name=name, type=check_type, success=success, last_updated=ago(age), details="%s says %s" % (name, success))


def basic_gate(**options) -> GateOptions:
    """A gate on basic checks only, for routers made of basic checks."""
    return GateOptions(types=("basic",), **options)


def router(name: str = "r-10-VM", checks: list[Check] | None = None, **fields) -> RouterHealth:
    fields.setdefault("id", "id-" + name)
    return RouterHealth(name=name, checks=checks if checks is not None else [check("dns_check.py"), check("dhcp_check.py", check_type="advanced")], **fields)


# -- parsing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-22T00:59:00+0000", datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)),
        ("2026-11-22T01:59:00+0100", datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)),
        ("2026-11-22T00:59:00Z", datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)),
        ("2026-11-22T00:59:00", datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)),
        (1795309140000, datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)),
        ("1795309140000", datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_timestamps_from_api_and_results_files(value, expected):
    assert parse_timestamp(value) == expected


def test_a_time_that_is_no_time_is_named():
    with pytest.raises(HealthError, match="yesterday"):
        parse_timestamp("yesterday")


def test_api_results_keep_name_type_outcome_time_and_details():
    checks = checks_from_api(
        [
            {"checkname": "dns_check.py", "checktype": "advanced", "success": False, "lastupdated": "2026-11-22T00:59:00+0000", "details": "wrong answer"},
            {"checkname": "disk_space_check.py", "checktype": "basic", "success": "true", "lastupdated": "2026-11-22T00:58:00+0000", "details": "ok"},
        ]
    )
    assert [(c.name, c.type, c.success, c.details) for c in checks] == [
        ("dns_check.py", "advanced", False, "wrong answer"),
        ("disk_space_check.py", "basic", True, "ok"),
    ]
    assert checks[0].as_dict() == {
        "name": "dns_check.py",
        "type": "advanced",
        "success": False,
        "last_updated": "2026-11-22T00:59:00Z",
        "details": "wrong answer",
        "stale": False,
    }
    assert checks_from_api(None) == []


def test_results_file_skips_the_run_record_and_reads_string_outcomes():
    data = {
        "dns_check.py": {"success": "false", "lastUpdate": 1795309140000, "lastRunDuration": 12, "message": "wrong DNS answers: vm1"},
        "dhcp_check.py": {"success": "true", "lastUpdate": 1795309140000, "lastRunDuration": 3, "message": "2 leases"},
        "lastRun": {"start": 1795309139000, "end": 1795309140000, "duration": 1000},
    }
    checks = checks_from_results_file(data, "advanced", "/root/advanced_monitor_results.json")
    assert [(c.name, c.type, c.success, c.details) for c in checks] == [
        ("dhcp_check.py", "advanced", True, "2 leases"),
        ("dns_check.py", "advanced", False, "wrong DNS answers: vm1"),
    ]
    assert checks[0].last_updated == datetime.datetime(2026, 11, 22, 0, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    "data, fragment",
    [
        ([1, 2], "not a health check results file"),
        ({"dns_check.py": "ok"}, "'dns_check.py' is not a health check result"),
        ({"dns_check.py": {"success": "maybe"}}, "not a health check outcome: 'maybe'"),
    ],
)
def test_a_broken_results_file_is_named(data, fragment):
    with pytest.raises(HealthError, match=fragment) as caught:
        checks_from_results_file(data, "basic", "/root/basic_monitor_results.json")
    assert str(caught.value).startswith("/root/basic_monitor_results.json")


def test_script_output_decides_whether_it_is_a_check_and_its_exit_code_the_outcome():
    assert check_from_script("dns_check.py", "basic", 0, "  \n", NOW) is None
    passed = check_from_script("disk_space_check.py", "basic", 0, "free 900 MB\n", NOW)
    failed = check_from_script("dns_check.py", "advanced", 1, "wrong answers\n", NOW)
    assert (passed.success, passed.details, passed.type, passed.last_updated) == (True, "free 900 MB", "basic", NOW)
    assert (failed.success, failed.details, failed.type) == (False, "wrong answers", "advanced")
    assert check_from_script("x", "basic", 2, "crashed", NOW).success is False


# -- the gate ------------------------------------------------------------------------------------------------


def test_all_passing_routers_pass_the_gate():
    result = judge([router("r-1-VM"), router("r-2-VM")], GateOptions(), NOW)
    assert result["gate_passed"] is True
    assert result["failing"] == {}
    assert result["summary"] == {
        "routers": 2,
        "passed": 2,
        "failed": 0,
        "skipped": 0,
        "checks": 4,
        "failed_checks": 0,
        "stale_checks": 0,
        "not_yet_known": 0,
        "checked_at": "2026-11-22T01:00:00Z",
    }
    assert all(report["passed"] for report in result["routers"])


def test_any_failing_check_fails_the_gate_and_names_router_and_check():
    sick = router("r-2-VM", [check("dns_check.py", success=False), check("disk_space_check.py")])
    result = judge([router("r-1-VM"), sick], basic_gate(), NOW)
    assert result["gate_passed"] is False
    assert result["failing"] == {"r-2-VM": ["dns_check.py"]}
    report = result["routers"][1]
    assert (report["failed_checks"], report["failing"], report["passed"]) == (["dns_check.py"], ["dns_check.py"], False)
    assert gate_message(result) == "router health gate failed for 1 of 2 routers: r-2-VM (dns_check.py)"


def test_only_failed_checks_keeps_the_result_small_with_the_same_verdict_and_counts():
    routers = [router("r-1-VM"), router("r-2-VM", [check("dns_check.py", success=False), check("disk_space_check.py")])]
    full = judge(routers, basic_gate(), NOW)
    small = judge(routers, basic_gate(), NOW, only_failed_checks=True)
    assert [[c["name"] for c in report["checks"]] for report in small["routers"]] == [[], ["dns_check.py"]]
    assert (small["failing"], small["summary"]) == (full["failing"], full["summary"])
    assert judge([router("r-2-VM", [check("dns_check.py", success=False)])], basic_gate(baseline=small), NOW)["gate_passed"] is True


def test_ignored_checks_are_reported_but_do_not_fail_the_gate():
    sick = router("r-2-VM", [check("cpu_usage_check.py", success=False), check("dns_check.py")])
    result = judge([sick], basic_gate(ignore=["cpu_usage_check.py"]), NOW)
    assert result["gate_passed"] is True
    assert result["routers"][0]["failed_checks"] == ["cpu_usage_check.py"]
    assert result["summary"]["failed_checks"] == 1


def test_fail_on_a_list_only_counts_those_checks():
    sick = router("r-2-VM", [check("cpu_usage_check.py", success=False), check("dns_check.py", success=False)])
    result = judge([sick], basic_gate(fail_on=["dns_check.py", "dhcp_check.py"]), NOW)
    assert result["failing"] == {"r-2-VM": ["dns_check.py"]}
    assert judge([router("r-3-VM", [check("cpu_usage_check.py", success=False)])], basic_gate(fail_on=["dns_check.py"]), NOW)["gate_passed"] is True


def test_types_select_basic_or_advanced_checks():
    sick = router("r-2-VM", [check("cpu_usage_check.py"), check("dns_check.py", success=False, check_type="advanced")])
    basic_only = judge([sick], GateOptions(types=("basic",)), NOW)
    assert basic_only["gate_passed"] is True
    assert [c["name"] for c in basic_only["routers"][0]["checks"]] == ["cpu_usage_check.py"]
    assert judge([sick], GateOptions(types=("advanced",)), NOW)["gate_passed"] is False


def test_results_older_than_max_age_count_as_failed():
    aging = router("r-2-VM", [check("dns_check.py", age=30), check("dhcp_check.py", age=900, check_type="advanced")])
    result = judge([aging], GateOptions(max_age=600), NOW)
    report = result["routers"][0]
    assert result["failing"] == {"r-2-VM": ["dhcp_check.py"]}
    assert report["stale_checks"] == ["dhcp_check.py"]
    assert [c["stale"] for c in report["checks"]] == [False, True]
    assert [c["success"] for c in report["checks"]] == [True, True]
    assert judge([router("r-2-VM", [check("dns_check.py", age=900)])], basic_gate(max_age=1000), NOW)["gate_passed"] is True


def test_a_check_without_a_time_is_stale_when_max_age_is_set():
    timeless = router("r-2-VM", [Check("dns_check.py", "basic", True, None, "ok")])
    assert judge([timeless], basic_gate(), NOW)["gate_passed"] is True
    assert judge([timeless], basic_gate(max_age=60), NOW)["failing"] == {"r-2-VM": ["dns_check.py"]}


def test_a_router_without_results_or_with_an_error_fails_the_gate():
    empty = router("r-3-VM", [])
    broken = router("r-4-VM", [], error="fresh health checks failed: no answer")
    result = judge([empty, broken], GateOptions(types=("basic",)), NOW)
    assert result["failing"] == {"r-3-VM": ["no basic health check results"], "r-4-VM": ["fresh health checks failed: no answer"]}
    assert "r-3-VM (no basic health check results); r-4-VM (fresh health checks failed: no answer)" in gate_message(result)


def test_needs_refresh_when_results_of_a_type_are_missing_or_stale():
    both = [check("dns_check.py", age=900), check("dhcp_check.py", age=100, check_type="advanced")]
    assert needs_refresh(router("r-1-VM", []), NOW, None, CHECK_TYPES_BOTH)
    assert needs_refresh(router("r-1-VM", [check("dns_check.py", check_type="advanced")]), NOW, None, ("basic",))
    assert needs_refresh(router("r-1-VM", [check("dns_check.py")]), NOW, None, CHECK_TYPES_BOTH)
    assert not needs_refresh(router("r-1-VM", [check("dns_check.py")]), NOW, None, ("basic",))
    assert not needs_refresh(router("r-1-VM", both), NOW, None, CHECK_TYPES_BOTH)
    assert needs_refresh(router("r-1-VM", both), NOW, 600, CHECK_TYPES_BOTH)
    assert not needs_refresh(router("r-1-VM", both), NOW, 600, ("advanced",))
    assert not needs_refresh(router("r-1-VM", both), NOW, 1000, CHECK_TYPES_BOTH)


def test_a_router_without_results_of_a_type_cannot_be_vouched_for():
    basic_only = router("r-5-VM", [check("dns_check.py")])
    result = judge([basic_only], GateOptions(), NOW)
    assert result["failing"] == {"r-5-VM": ["no advanced health check results"]}
    assert judge([basic_only], basic_gate(), NOW)["gate_passed"] is True


CHECK_TYPES_BOTH = ("basic", "advanced")


def test_gate_message_is_bounded_for_thousands_of_failing_routers():
    routers = [router("r-%d-VM" % i, [check("dns_check.py", success=False)]) for i in range(100)]
    message = gate_message(judge(routers, basic_gate(), NOW), limit=3)
    assert message.startswith("router health gate failed for 100 of 100 routers: r-0-VM (dns_check.py); r-1-VM (dns_check.py); r-10-VM (dns_check.py)")
    assert message.endswith(" and 97 more")


# -- check names -----------------------------------------------------------------------------------------------


def test_unknown_names_in_fail_on_and_ignore_are_found():
    routers = [router("r-1-VM", [check("my_custom_check.sh")]), router("r-2-VM", [check("dns_check.py")])]
    options = GateOptions(fail_on=["dns_check.py", "dns"], ignore=["my_custom_check.sh", "cpu_usage_check.py"])
    unknown = unknown_check_names(options, routers)
    assert unknown == {"fail_on": ["dns"], "ignore": ["cpu_usage_check.py"]}
    assert describe_unknown(unknown, routers) == (
        "fail_on names unknown health checks: dns; ignore names unknown health checks: cpu_usage_check.py. "
        "The selected routers report: dns_check.py, my_custom_check.sh"
    )
    assert unknown_check_names(GateOptions(fail_on=None, ignore=["dns_check.py"]), routers) == {}
    assert describe_unknown({"ignore": ["x"]}, []) == "ignore names unknown health checks: x. The selected routers report: no checks at all"


# -- baseline ------------------------------------------------------------------------------------------------


def baseline_of(*routers: RouterHealth) -> dict:
    return judge(list(routers), basic_gate(), NOW)


def test_baseline_only_new_failures_fail_the_gate():
    before = baseline_of(router("r-1-VM", [check("dns_check.py", success=False), check("dhcp_check.py")]))
    after = router("r-1-VM", [check("dns_check.py", success=False), check("dhcp_check.py")])
    result = judge([after], basic_gate(baseline=before), NOW)
    assert result["gate_passed"] is True
    report = result["routers"][0]
    assert (report["known_failures"], report["failing"], report["baseline_match"]) == (["dns_check.py"], [], "id")

    regressed = router("r-1-VM", [check("dns_check.py", success=False), check("dhcp_check.py", success=False)])
    result = judge([regressed], basic_gate(baseline=before), NOW)
    assert result["failing"] == {"r-1-VM": ["dhcp_check.py"]}


def test_baseline_follows_a_recreated_router_through_its_network_or_vpc():
    before = baseline_of(
        router("r-1-VM", [check("dns_check.py", success=False)], network_id="net-1"),
        router("r-2-VM", [check("haproxy_check.py", success=False)], vpc_id="vpc-1"),
    )
    new_net_router = router("r-7-VM", [check("dns_check.py", success=False), check("dhcp_check.py", success=False)], network_id="net-1")
    new_vpc_router = router("r-8-VM", [check("haproxy_check.py", success=False)], vpc_id="vpc-1", network_id="tier-1")
    stranger = router("r-9-VM", [check("dns_check.py", success=False)], network_id="net-9")
    result = judge([new_net_router, new_vpc_router, stranger], basic_gate(baseline=before), NOW)
    assert result["failing"] == {"r-7-VM": ["dhcp_check.py"], "r-9-VM": ["dns_check.py"]}
    assert [report["baseline_match"] for report in result["routers"]] == ["network_id", "vpc_id", None]


def test_a_check_that_was_stale_in_the_baseline_was_already_failing():
    before = judge([router("r-1-VM", [check("dns_check.py", age=900)])], basic_gate(max_age=600), NOW)
    result = judge([router("r-1-VM", [check("dns_check.py", age=900)])], basic_gate(max_age=600, baseline=before), NOW)
    assert result["gate_passed"] is True


def test_baseline_accepts_the_routers_list_alone():
    before = baseline_of(router("r-1-VM", [check("dns_check.py", success=False)]))
    assert judge([router("r-1-VM", [check("dns_check.py", success=False)])], basic_gate(baseline=before["routers"]), NOW)["gate_passed"] is True


def test_baseline_from_a_looped_task_or_a_skipped_one():
    net1 = baseline_of(router("r-1-VM", [check("dns_check.py", success=False)], network_id="net-1"))
    net2 = baseline_of(router("r-2-VM", [check("dhcp_check.py", success=False)], network_id="net-2"))
    looped = {"changed": False, "results": [net1, net2, {"skipped": True, "changed": False, "item": "net-3"}]}
    after = [
        router("r-5-VM", [check("dns_check.py", success=False)], network_id="net-1"),
        router("r-6-VM", [check("dhcp_check.py", success=False), check("dns_check.py", success=False)], network_id="net-2"),
    ]
    assert judge(after, basic_gate(baseline=looped), NOW)["failing"] == {"r-6-VM": ["dns_check.py"]}
    # A baseline task that was skipped vouches for nothing: every failure counts.
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    assert judge(after, basic_gate(baseline=skipped), NOW)["failing"] == {"r-5-VM": ["dns_check.py"], "r-6-VM": ["dhcp_check.py", "dns_check.py"]}


@pytest.mark.parametrize("baseline", [{"changed": False}, "r-1-VM", {"routers": ["r-1-VM"]}, {"routers": [{"name": "r-1-VM", "checks": ["dns"]}]}])
def test_a_baseline_that_is_no_result_of_this_module_is_refused(baseline):
    with pytest.raises(HealthError, match="cs_vr_health"):
        judge([router()], GateOptions(baseline=baseline), NOW)


# -- results from before an act (FetchRouterHealthChecksResultTask stores them every fetch interval, 4.18.0.0) ----------


def test_results_from_before_since_are_not_yet_known_never_passed():
    patched_at = ago(60)
    old = router("r-old", [check("dns_check.py", age=120)])
    new = router("r-new", [check("dns_check.py", age=30)])
    result = judge([old, new], basic_gate(since=patched_at), NOW)
    assert result["gate_passed"] is False
    reports = {report["name"]: report for report in result["routers"]}
    assert reports["r-new"]["passed"] is True and reports["r-new"]["not_yet_known"] is False
    assert reports["r-old"]["passed"] is False and reports["r-old"]["not_yet_known"] is True
    assert reports["r-old"]["error"].startswith("not yet known: 1 result(s) from before 2026-11-22T00:59:00Z (dns_check.py)")
    assert result["summary"]["not_yet_known"] == 1 and "not yet known" in gate_message(result)


def test_a_failing_check_from_before_since_is_still_reported_failing():
    result = judge([router("r-old", [check("dns_check.py", success=False, age=120)])], basic_gate(since=ago(60)), NOW)
    (report,) = result["routers"]
    assert report["failing"] == ["dns_check.py"] and report["not_yet_known"] is True and report["passed"] is False
