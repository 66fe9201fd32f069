# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._plan import (
    PlanError,
    build_plan,
    check_plan,
    parse_journal,
    plan_table,
    resumable,
    start_run,
    unfinished,
    window_status,
)

MS = "4.18.0.0"
UTC = datetime.timezone.utc


def router(rid, unit, zone="z1", pod="p1", cluster="c1", version="4.15.0", state="Running", account="alice", domainid="d1", **extra):
    data = {
        "id": rid,
        "name": "r-%s-VM" % rid,
        "state": state,
        "version": version,
        "requiresupgrade": True,
        "softwareversion": version + ".0",
        "scriptsversion": "old",
        "zoneid": zone,
        "podid": pod,
        "clusterid": cluster,
        "account": account,
        "domainid": domainid,
        "domain": {"d1": "ROOT", "d2": "customers"}[domainid],
        "redundantstate": None,
        "_unit": unit,
    }
    data.update(extra)
    return data


def fleet(routers, systemvms=(), vpcs=None, version=MS, minreq="4.18.0"):
    """A fleet dict as acs.upgrade.cs_fleet_info returns it, built from routers tagged with their unit; every zone's
    minreq.sysvmtemplate.version is ``minreq`` (4.18.0 is what the 4.18.0.0 upgrade sets)."""
    units = {}
    for item in routers:
        kind, uid = item["_unit"]
        unit = units.setdefault(
            (kind, uid),
            {
                "kind": kind,
                "id": uid,
                "name": uid,
                "zoneid": item["zoneid"],
                "account": item["account"],
                "domainid": item["domainid"],
                "routers": [],
                "tiers": [],
            },
        )
        unit["routers"].append(item["id"])
        if kind == "vpc":
            unit["tiers"] = (vpcs or {}).get(uid, ["tier-1"])
    return {
        "version": version,
        "zones": [{"id": "z1", "name": "zone-a"}, {"id": "z2", "name": "zone-b"}, {"id": "z3", "name": "zone-c"}],
        "min_template": {"z1": minreq, "z2": minreq, "z3": minreq},
        "pods": [{"id": "p1", "name": "pod-1"}, {"id": "p2", "name": "pod-2"}],
        "clusters": [{"id": "c1", "name": "cluster-1"}, {"id": "c2", "name": "cluster-2"}],
        "domains": [{"id": "d1", "name": "ROOT", "path": "ROOT"}, {"id": "d2", "name": "customers", "path": "ROOT/customers"}],
        "routers": [{k: v for k, v in item.items() if k != "_unit"} for item in routers],
        "systemvms": list(systemvms),
        "units": list(units.values()),
    }


def svm(vid, zone, kind="secondarystoragevm", version="4.15.0", state="Running", agent=None):
    """``version`` is the template's (in templatename); listSystemVms ``version`` is the agent's (``agent``)."""
    return {
        "id": vid,
        "name": "%s-%s" % ("s" if kind == "secondarystoragevm" else "v", vid),
        "systemvmtype": kind,
        "state": state,
        "version": agent or version + ".0",
        "templatename": "systemvm-kvm-%s" % version,
        "zoneid": zone,
    }


def items(plan):
    return {item["key"]: item for item in plan["items"]}


def batch_keys(plan):
    return [(batch["stage"], batch["group"], batch["items"]) for batch in plan["batches"]]


# ------------------------------------------------------------------------------------------------- paths


def test_paths_and_reasons():
    plan = build_plan(
        fleet(
            [
                router("a", ("network", "n-ok")),
                router("b", ("network", "n-old"), version="4.13.0"),
                router("c", ("network", "n-114"), version="4.14.0"),
                router("d", ("vpc", "vpc-empty")),
                router("e", ("network", "n-current"), version="4.18.0", softwareversion=MS),
                router("i", ("network", "n-requiresupgrade-false"), requiresupgrade=False),
                router("f", ("network", "n-stopped"), state="Stopped"),
                router("g", ("network", "n-patched"), softwareversion=MS),
                router("h", ("network", "n-forced")),
            ],
            [svm("s1", "z1"), svm("v1", "z1", "consoleproxy", version="4.13.1"), svm("s2", "z2", state="Stopped"), svm("s3", "z2", version="4.18.0", agent=MS)],
            vpcs={"vpc-empty": []},
        ),
        force_legacy=["n-forced"],
    )
    by_key = items(plan)
    assert by_key["network:n-ok"]["path"] == "livepatch"
    assert by_key["network:n-old"]["path"] == "legacy"
    assert "JDK" in by_key["network:n-old"]["reason"] and "r-b-VM" in by_key["network:n-old"]["reason"]
    assert by_key["network:n-114"]["path"] == "livepatch"
    assert any("strongSwan" in warning for warning in by_key["network:n-114"]["warnings"])
    assert by_key["vpc:vpc-empty"]["path"] == "legacy" and "no tiers" in by_key["vpc:vpc-empty"]["reason"]
    assert by_key["network:n-current"]["path"] == "skip"
    assert "at or above zone-a's minimum 4.18.0 (minreq.sysvmtemplate.version)" in by_key["network:n-current"]["reason"]
    assert by_key["network:n-requiresupgrade-false"]["path"] == "livepatch", "requiresupgrade is never taken as proof"
    assert by_key["network:n-stopped"]["path"] == "skip" and "Stopped" in by_key["network:n-stopped"]["reason"]
    assert by_key["network:n-patched"]["path"] == "skip" and MS in by_key["network:n-patched"]["reason"]
    assert by_key["network:n-forced"]["path"] == "legacy" and "operator" in by_key["network:n-forced"]["reason"]
    assert by_key["systemvm:s1"]["path"] == "livepatch"
    assert by_key["systemvm:v1"]["path"] == "legacy"
    assert by_key["systemvm:s2"]["path"] == "skip" and "Stopped" in by_key["systemvm:s2"]["reason"]
    assert by_key["systemvm:s3"]["path"] == "skip" and "4.18.0" in by_key["systemvm:s3"]["reason"]
    assert plan["summary"] == {"livepatch": 4, "legacy": 4, "skip": 5, "total": 13}


def test_old_management_server_sends_everything_legacy():
    plan = build_plan(fleet([router("a", ("network", "n1"))], [svm("s1", "z1")], version="4.16.1.0"))
    assert {item["path"] for item in plan["items"]} == {"legacy"}
    assert all("4.17" in item["reason"] for item in plan["items"])


def test_require_new_template_sends_live_candidates_legacy():
    plan = build_plan(fleet([router("a", ("network", "n1"))], [svm("s1", "z1")]), require_new_template=True)
    assert [item["path"] for item in plan["items"]] == ["legacy", "legacy"]
    assert all("kernel, JRE or security" in item["reason"] for item in plan["items"])


def test_the_legacy_method_is_recorded_on_the_networks_of_the_legacy_path_only():
    routers = [router("a", ("network", "n1")), router("b", ("network", "n2"), version="4.18.0", softwareversion=MS)]
    plan = build_plan(fleet(routers, [svm("s1", "z1")]), require_new_template=True, legacy_method="upgrade_router_template")
    found = {item["key"]: (item["path"], item.get("method")) for item in plan["items"]}
    assert found == {"network:n1": ("legacy", "upgrade_router_template"), "network:n2": ("skip", None), "systemvm:s1": ("legacy", None)}
    assert "upgradeRouterTemplate" in items(plan)["network:n1"]["reason"]
    assert check_plan(json.loads(json.dumps(plan)), "plan.json")["items"] == plan["items"]
    with pytest.raises(PlanError, match="legacy_method must be one of"):
        build_plan(fleet(routers), legacy_method="destroy")


def test_unit_with_one_old_router_goes_legacy_and_stopped_router_is_warned():
    plan = build_plan(
        fleet(
            [
                router("a", ("network", "n1")),
                router("b", ("network", "n1"), state="Stopped"),
                router("c", ("network", "n2")),
                router("d", ("network", "n2"), version="4.12.0"),
            ]
        )
    )
    by_key = items(plan)
    assert by_key["network:n1"]["path"] == "livepatch"
    assert any("r-b-VM is Stopped" in warning for warning in by_key["network:n1"]["warnings"])
    assert by_key["network:n2"]["path"] == "legacy"


# ------------------------------------------------------------------------------------------------- order


def test_default_order_by_zone_with_system_vms_before_the_zones_routers_and_canary_first():
    plan = build_plan(
        fleet(
            [
                router("b1", ("network", "nb1"), zone="z2"),
                router("a1", ("network", "na1")),
                router("a2", ("network", "na2")),
                router("b2", ("network", "nb2"), zone="z2"),
            ],
            [svm("s2", "z2"), svm("s1", "z1"), svm("s3", "z3")],
        ),
        batch_size=5,
        canary_size=1,
    )
    assert batch_keys(plan) == [
        ("systemvms", "zone-a", ["systemvm:s1"]),
        ("canary", "zone-a", ["network:na1"]),
        ("routers", "zone-a", ["network:na2"]),
        ("systemvms", "zone-b", ["systemvm:s2"]),
        ("routers", "zone-b", ["network:nb1", "network:nb2"]),
        ("systemvms", "zone-c", ["systemvm:s3"]),
    ]
    assert plan["batches"][1]["canary"] is True
    assert items(plan)["network:na2"]["batch"] == 3


def test_explicit_order_batch_size_and_no_canary():
    routers = [router("a%d" % i, ("network", "na%d" % i)) for i in range(3)] + [router("b1", ("network", "nb1"), zone="z2")]
    plan = build_plan(fleet(routers), order=["zone-b", "z1"], batch_size=2, canary_size=0)
    assert batch_keys(plan) == [
        ("routers", "zone-b", ["network:nb1"]),
        ("routers", "zone-a", ["network:na0", "network:na1"]),
        ("routers", "zone-a", ["network:na2"]),
    ]
    assert plan["settings"]["order"] == ["zone-b", "zone-a"]


def test_groups_by_account_domain_pod_and_cluster():
    routers = [
        router("a", ("network", "n1"), account="alice"),
        router("b", ("network", "n2"), account="bob", domainid="d2", pod="p2", cluster="c2"),
        router("c", ("network", "n3"), account="carol", cluster="c2"),
    ]
    by_account = build_plan(fleet(routers), group_by="account", order=["bob"], canary_size=0)
    assert [batch["group"] for batch in by_account["batches"]] == ["ROOT/customers/bob", "ROOT/alice", "ROOT/carol"]
    by_domain = build_plan(fleet(routers), group_by="domain", canary_size=0)
    assert [(batch["group"], batch["items"]) for batch in by_domain["batches"]] == [("ROOT", ["network:n1", "network:n3"]), ("ROOT/customers", ["network:n2"])]
    by_pod = build_plan(fleet(routers), group_by="pod", order=["pod-2"], canary_size=0)
    assert [batch["group"] for batch in by_pod["batches"]] == ["pod-2", "pod-1"]
    by_cluster = build_plan(fleet(routers), group_by="cluster", canary_size=0)
    assert [(batch["group"], batch["items"]) for batch in by_cluster["batches"]] == [("cluster-1", ["network:n1"]), ("cluster-2", ["network:n2", "network:n3"])]


def test_redundant_pair_across_clusters_is_placed_with_its_primary_and_warned():
    routers = [router("a", ("network", "n1"), cluster="c1", redundantstate="BACKUP"), router("b", ("network", "n1"), cluster="c2", redundantstate="PRIMARY")]
    plan = build_plan(fleet(routers), group_by="cluster", canary_size=0)
    assert plan["batches"][0]["group"] == "cluster-2"
    assert any("cluster-1, cluster-2" in warning for warning in plan["items"][0]["warnings"])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"group_by": "rack"}, "group_by must be one of zone|pod|cluster|account|domain"),
        ({"order": ["zone-x"]}, "group 'zone-x' in the order matches no group"),
        ({"batch_size": "0"}, "batch_size must be at least 1"),
        ({"canary_size": "many"}, "canary_size must be a whole number"),
        ({"outside_window": "later"}, "outside_window must be one of wait|skip"),
        ({"windows": {"zone-a": {"start": "25:00", "end": "02:00"}}}, "maintenance window of zone-a"),
        ({"windows": {"zone-a": {"start": "2026-11-22T02:00:00Z", "end": "2026-11-22T01:00:00Z"}}}, "ends"),
        ({"windows": {"zone-a": {"start": "22:00", "end": "02:00", "days": ["someday"]}}}, "unknown day"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(PlanError, match=message):
        build_plan(fleet([router("a", ("network", "n1"))]), **options)


def test_ambiguous_order_entry():
    routers = [router("a", ("network", "n1"), account="alice"), router("b", ("network", "n2"), account="alice", domainid="d2")]
    with pytest.raises(PlanError, match="ambiguous"):
        build_plan(fleet(routers), group_by="account", order=["alice"])


# ------------------------------------------------------------------------------------------------- windows


def test_daily_window_across_midnight():
    windows = [{"start": "22:00", "end": "02:00", "days": ["sat"]}]
    saturday_night = datetime.datetime(2026, 11, 21, 23, 30, tzinfo=UTC)  # a Saturday
    assert window_status(windows, saturday_night) == (True, 0.0)
    assert window_status(windows, saturday_night + datetime.timedelta(hours=2)) == (True, 0.0)  # Sunday 01:30, still Saturday's window
    is_open, wait = window_status(windows, saturday_night + datetime.timedelta(hours=3))
    assert not is_open and wait == (6 * 24 + 19.5) * 3600  # Sunday 02:30 to Saturday 22:00


def test_one_off_window_in_the_past_has_no_opening():
    windows = [{"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-20T01:00:00+00:00"}]
    assert window_status(windows, datetime.datetime(2026, 11, 22, tzinfo=UTC)) == (False, None)


# ------------------------------------------------------------------------------------------------- journal


def entry(key, status, path="livepatch", **more):
    return dict({"key": key, "name": key.split(":")[1], "ms_version": MS, "status": status, "path": path, "time": "2026-11-22T01:00:00+00:00"}, **more)


def test_journal_resume_and_fallback_to_legacy():
    base = fleet([router("a", ("network", "na")), router("b", ("network", "nb")), router("c", ("network", "nc"))], [svm("s1", "z1")])
    journal = [
        entry("network:na", "submitted", jobid="j1"),
        entry("network:na", "done"),
        entry("network:nb", "failed", jobid="j2", error="restartNetwork job failed"),
    ]
    # A new plan made from the journal does not repeat finished work and recreates what failed.
    again = build_plan(base, canary_size=1, batch_size=5, journal=parse_journal("\n".join(json.dumps(entry) for entry in journal)))
    by_key = items(again)
    assert by_key["network:na"]["path"] == "skip" and "earlier run" in by_key["network:na"]["reason"]
    assert by_key["network:nb"]["path"] == "legacy" and "restartNetwork job failed" in by_key["network:nb"]["reason"]
    # An upgrade to another version does not reuse this journal.
    newer = build_plan(dict(base, version="4.19.0.0"), journal=journal)
    assert items(newer)["network:na"]["path"] == "livepatch"


def test_parse_journal_ignores_a_torn_last_line_but_not_others():
    good = json.dumps({"key": "network:n1", "status": "done"})
    assert len(parse_journal(good + "\n" + '{"key": "netw')) == 1
    with pytest.raises(PlanError, match="journal line 1"):
        parse_journal('{"key": \n' + good)
    with pytest.raises(PlanError, match="journal line 1: it is not an entry"):
        parse_journal(json.dumps({"key": "x", "status": "maybe"}) + "\n" + good)


def test_parse_journal_takes_a_bad_last_line_that_was_ended_as_an_error():
    """Only a line without its line end is torn; a complete one that is not JSON (an append glued onto a torn line) is not."""
    good = json.dumps({"key": "network:n1", "status": "done"})
    with pytest.raises(PlanError, match="journal line 2 is not JSON"):
        parse_journal(good + "\n" + '{"key": "netw' + good + "\n")


def test_parse_journal_takes_every_field_the_engine_and_the_report_write():
    engine = entry(
        "network:n1", "done", run="r1", attempt=2, batch=3, group="zone-a", stage="routers", jobid="j1", error=None, reason="patched",
        changed=True, duration=12.5, health_before="passed", health_after="passed", fallback=False, recreate=False, adopted=True,
        after=[{"name": "r-1-VM", "version": "4.18.0"}], started="2026-11-22T01:00:00.123+00:00", finished="2026-11-22T01:00:12Z",
    )
    older = entry("network:n2", "failed", batch=1, duration=3, statuses=["failed", "patched"], error="patch script exited 1", started=None)
    assert parse_journal(json.dumps(engine) + "\n" + json.dumps(older) + "\n") == [engine, older]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("key", 5, "key is 5, not a non-empty text"),
        ("key", "", "key is '', not a non-empty text"),
        ("time", 5, "time is 5, not an ISO-8601 date and time"),
        ("time", "yesterday", "time is 'yesterday', not an ISO-8601 date and time"),
        ("started", 1, "started is 1, not an ISO-8601 date and time"),
        ("duration", "x", "duration is 'x', not a number of seconds"),
        ("duration", True, "duration is True, not a number of seconds"),
        ("jobid", 7, "jobid is 7, not a non-empty text"),
        ("attempt", "2", "attempt is '2', not a whole number"),
        ("batch", 1.5, "batch is 1.5, not a whole number"),
        ("ms_version", 4.18, "ms_version is 4.18, not a non-empty text"),
        ("run", 1, "run is 1, not a non-empty text"),
        ("path", "sideways", "path is 'sideways', not one of livepatch/legacy"),
        ("changed", "yes", "changed is 'yes', not true or false"),
        ("statuses", "failed", "statuses is 'failed', not a list of texts"),
        ("after", [["r-1-VM"]], "after is [['r-1-VM']], not a list of objects"),
        ("error", {"text": "x"}, "error is {'text': 'x'}, not a text"),
    ],
)
def test_parse_journal_refuses_a_field_of_the_wrong_type_by_line_and_field(field, value, words):
    lines = [json.dumps(entry("network:n1", "done")), json.dumps(dict(entry("network:n2", "done"), **{field: value}))]
    with pytest.raises(PlanError) as error:
        parse_journal("\n".join(lines) + "\n")
    assert str(error.value) == "journal line 2: %s; fix or remove that line" % words


def test_an_interrupted_run_is_continued_with_its_plan_and_a_finished_or_changed_one_is_not():
    base = fleet([router(str(i), ("network", "n%d" % i)) for i in range(4)])
    now = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    first = start_run(build_plan(base, batch_size=2), None, now, 3600, "run1")
    assert first["run"] == {
        "id": "run1",
        "attempt": 1,
        "started": now.isoformat(),
        "first_started": now.isoformat(),
        "deadline": (now + datetime.timedelta(hours=1)).isoformat(),
    }
    fresh = build_plan(base, batch_size=2)
    assert resumable(first, fresh, []) == (False, "the earlier run did nothing")
    journal = [entry("network:n1", "done", run="run1")]
    assert resumable(first, fresh, journal) == (True, "continues run run1 (attempt 2): 3 item(s) left")
    assert unfinished(first, journal) == 3
    again = start_run(first, first, now, 0, "run2")
    assert again["run"]["id"] == "run1" and again["run"]["attempt"] == 2 and again["run"]["deadline"] is None
    # Other settings make a new plan; so does a finished run.
    assert resumable(first, build_plan(base, batch_size=3), journal)[0] is False
    done = [entry("network:n%d" % i, "done", run="run1") for i in range(4)]
    assert resumable(first, fresh, done) == (False, "the earlier run finished")


def test_table_lists_batches_then_skipped_items():
    plan = build_plan(fleet([router("a", ("network", "na")), router("b", ("network", "nb"), version="4.18.0", softwareversion=MS)], [svm("s1", "z1")]))
    lines = plan_table(plan)
    assert lines[0].split() == ["batch", "group", "stage", "kind", "name", "path", "reason"]
    assert lines[1].split()[:6] == ["1", "zone-a", "systemvms", "secondarystoragevm", "s-s1", "livepatch"]
    assert lines[2].split()[:6] == ["2", "zone-a", "canary", "network", "na", "livepatch"]
    assert lines[3].split()[:6] == ["-", "zone-a", "-", "network", "nb", "skip"]
    assert lines[-2] == "current template (minreq.sysvmtemplate.version, per zone): zone-a 4.18.0"
    assert lines[-1] == "management server 4.18.0.0: 2 live patch, 0 legacy recreate, 1 skipped, in 2 batches"


@pytest.mark.parametrize("require_new_template", [False, True])
def test_live_patched_vms_on_an_old_template_follow_require_new_template(require_new_template):
    """Live-patched is no proof of the current template (requiresupgrade turns false after a live patch, DomainRouterJoinDaoImpl
    4.18.0.0): with require_new_template they are recreated, without it nothing is planned for them; current routers never.
    A system VM whose ROOT volume was not read (4.17 lists none) has no known template (the upgrade repoints the listed one,
    VMInstanceDaoImpl.updateSystemVmTemplateId), so even one listed with the new template is recreated when the operator
    requires it, once: the journal skips it afterwards."""
    routers = [
        router("p", ("network", "n-patched"), softwareversion=MS, scriptsversion="payload", requiresupgrade=False),
        router("c", ("network", "n-current"), version="4.18.0", softwareversion=MS, scriptsversion="payload", requiresupgrade=False),
    ]
    systemvms = [svm("s1", "z1", agent=MS), svm("s2", "z1", version="4.18.0", agent=MS)]
    by_key = items(build_plan(fleet(routers, systemvms), require_new_template=require_new_template))
    if require_new_template:
        assert by_key["network:n-patched"]["path"] == "legacy" and "already live-patched" in by_key["network:n-patched"]["reason"]
        for key in ("systemvm:s1", "systemvm:s2"):
            assert by_key[key]["path"] == "legacy" and "listVolumes returns no system VM volume before 4.18" in by_key[key]["reason"]
            assert "recreated once" in by_key[key]["reason"]
        journal = [{"key": "systemvm:s2", "ms_version": MS, "status": "done", "path": "legacy", "time": "2026-11-27T10:00:00+00:00"}]
        again = items(build_plan(fleet(routers, systemvms), require_new_template=True, journal=journal))
        assert again["systemvm:s2"]["path"] == "skip" and "finished in an earlier run" in again["systemvm:s2"]["reason"]
        assert again["systemvm:s1"]["path"] == "legacy"
    else:
        assert by_key["network:n-patched"]["path"] == "skip" and "already live-patched" in by_key["network:n-patched"]["reason"]
        assert by_key["systemvm:s1"]["path"] == "skip" and "already live-patched" in by_key["systemvm:s1"]["reason"]
        assert by_key["systemvm:s2"]["path"] == "skip"
    assert by_key["network:n-current"]["path"] == "skip"


def test_a_router_on_the_server_version_with_another_payload_is_patched_again():
    routers = [
        router("a", ("network", "n-a"), softwareversion=MS, scriptsversion="payload"),
        router("b", ("network", "n-b"), softwareversion=MS, scriptsversion="payload"),
        router("c", ("network", "n-c"), softwareversion=MS, scriptsversion="an-older-build"),
    ]
    by_key = items(build_plan(fleet(routers)))
    assert [by_key[key]["path"] for key in ("network:n-a", "network:n-b", "network:n-c")] == ["skip", "skip", "livepatch"]


@pytest.mark.parametrize("ms_version, path", [("4.18.1.0", "legacy"), ("4.18.2.0", "livepatch"), ("4.20.0.0", "livepatch")])
def test_a_vpc_with_idle_tiers_is_live_patched_from_4_18_2(ms_version, path):
    # Template 4.16.0: the 4.14/4.15 ones cannot take the Python 3 payload of 4.20 (apache/cloudstack#8497).
    plan = build_plan(fleet([router("v", ("vpc", "vpc-idle"), version="4.16.0")], vpcs={"vpc-idle": ["t1"]}, version=ms_version) | {"networks": [
        {"id": "t1", "name": "tier-1", "vpcid": "vpc-idle", "state": "Allocated"}]})
    assert items(plan)["vpc:vpc-idle"]["path"] == path


# ------------------------------------------------------------------------------------------------- plan shape

ADVICE = "move it aside, then make the plan again with the acs.upgrade.plan role"


def a_plan():
    return start_run(build_plan(fleet([router("a", ("network", "na")), router("b", ("network", "nb"))], [svm("s1", "z1")]), batch_size=1),
                     None, datetime.datetime(2026, 11, 22, tzinfo=UTC), 0, "run1")


def test_check_plan_takes_a_plan_of_build_plan_with_or_without_its_run():
    plan = a_plan()
    assert check_plan(plan, "plan.json") is plan
    plan.pop("run")
    assert check_plan(plan, "plan.json") is plan


def _set(plan, path, value):
    *parents, last = path
    target = plan
    for step in parents:
        target = target[step]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ((), "it is a list, not an object"),
        ((("items",), {}), "items is {}, not a list"),
        ((("batches",), {}), "batches is {}, not a list"),
        ((("items", 0), "systemvm:s1"), "items[0] is 'systemvm:s1', not an object"),
        ((("items", 1, "key"), KeyError), "items[1] has no key"),
        ((("items", 1, "path"), "maybe"), "items[1].path is 'maybe', not one of livepatch/legacy/skip"),
        ((("items", 2, "key"), "network:na"), "items[2].key network:na is there twice"),
        ((("batches", 0), []), "batches[0] is [], not an object"),
        ((("batches", 0, "items"), KeyError), "batches[0] has no items"),
        ((("batches", 1, "group"), KeyError), "batches[1] has no group"),
        ((("batches", 1, "stage"), KeyError), "batches[1] has no stage"),
        ((("batches", 1, "stage"), "later"), "batches[1].stage is 'later', not one of systemvms/canary/routers"),
        ((("batches", 1, "index"), "2"), "batches[1].index is '2', not a whole number"),
        ((("batches", 1, "items"), ["network:zz"]), "batches[1].items names network:zz, which is not among the items"),
        ((("ms_version",), 4.18), "ms_version is 4.18, not a non-empty text"),
        ((("ms_version",), KeyError), "it has no ms_version"),
        ((("settings",), None), "settings is None, not an object"),
        ((("run",), "run1"), "run is 'run1', not an object"),
        ((("run", "attempt"), "2"), "run.attempt is '2', not a whole number"),
        ((("run", "deadline"), 5), "run.deadline is 5, not an ISO-8601 date and time"),
    ],
)
def test_check_plan_names_the_file_the_field_and_what_to_do(change, words):
    plan = a_plan()
    if change:
        _set(plan, *change)
    else:
        plan = []
    with pytest.raises(PlanError) as error:
        check_plan(plan, "/srv/state/plan.json")
    assert str(error.value) == "/srv/state/plan.json is not a plan of acs.upgrade.cs_upgrade_plan: %s; %s" % (words, ADVICE)
