# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_upgrade_plan

FLEET = {
    "version": "4.18.0.0",
    "zones": [{"id": "z1", "name": "zone-a"}],
    "min_template": {"z1": "4.18.0"},
    "routers": [
        {"id": "r1", "name": "r-1-VM", "state": "Running", "version": "4.15.0", "requiresupgrade": True, "softwareversion": "4.15.0.0", "zoneid": "z1"},
        {"id": "r2", "name": "r-2-VM", "state": "Running", "version": "4.15.0", "requiresupgrade": True, "softwareversion": "4.15.0.0", "zoneid": "z1"},
    ],
    "systemvms": [{"id": "s1", "name": "s-1-VM", "systemvmtype": "secondarystoragevm", "state": "Running", "version": "4.15.0.0",
                   "templatename": "systemvm-kvm-4.15.0", "zoneid": "z1"}],
    "units": [
        {"kind": "network", "id": "n1", "name": "net-1", "zoneid": "z1", "routers": ["r1"], "tiers": []},
        {"kind": "network", "id": "n2", "name": "net-2", "zoneid": "z1", "routers": ["r2"], "tiers": []},
    ],
}


def test_plan_from_fleet_and_journal(run_module, tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"key": "network:n1", "status": "done", "ms_version": "4.18.0.0", "time": "2026-11-22T00:00:00+00:00"}) + "\n")
    result = run_module(cs_upgrade_plan, {"fleet": FLEET, "journal": str(journal), "batch_size": "1"})
    assert result["changed"] is False
    items = {item["key"]: item for item in result["plan"]["items"]}
    assert items["network:n1"]["path"] == "skip"
    assert [batch["items"] for batch in result["plan"]["batches"]] == [["systemvm:s1"], ["network:n2"]]
    assert result["table"][-1].startswith("management server 4.18.0.0: 2 live patch")


def test_bad_order_fails_with_the_group_names(run_module):
    result = run_module(cs_upgrade_plan, {"fleet": FLEET, "order": ["zone-z"]})
    assert result["failed"] is True
    assert "group 'zone-z' in the order matches no group" in result["msg"] and "zone-a" in result["msg"]


def test_blank_survey_answers_for_the_order_and_force_legacy_are_no_entries(run_module):
    """An AWX survey's optional text answered with nothing (or with a trailing comma) arrives as [""] after the spec."""
    result = run_module(cs_upgrade_plan, {"fleet": FLEET, "order": "zone-a,", "force_legacy": ""})
    assert result.get("failed") is not True, result
    assert result["plan"]["summary"]["legacy"] == 0
    assert run_module(cs_upgrade_plan, {"fleet": FLEET, "order": "", "force_legacy": " net-2 ,"})["plan"]["summary"]["legacy"] == 1


def test_corrupt_journal_is_named(run_module, tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text("not json\n" + json.dumps({"key": "network:n1", "status": "done"}) + "\n")
    result = run_module(cs_upgrade_plan, {"fleet": FLEET, "journal": str(journal)})
    assert result["failed"] is True and str(journal) in result["msg"] and "line 1" in result["msg"]


def test_excluded_items_are_skipped_in_the_plan_with_the_reason(run_module):
    result = run_module(cs_upgrade_plan, {"fleet": FLEET, "exclude": "net-2", "include": ["zone-a", ""]})
    assert result.get("failed") is not True, result
    plan = result["plan"]
    items = {item["key"]: item for item in plan["items"]}
    assert items["network:n2"]["path"] == "skip" and items["network:n2"]["excluded"] is True
    assert items["network:n2"]["reason"] == "network net-2 is excluded by the operator: exclude entry 'net-2' names network net-2"
    assert [batch["items"] for batch in plan["batches"]] == [["systemvm:s1"], ["network:n1"]]
    assert plan["settings"]["exclude"] == ["net-2"] and plan["settings"]["include"] == ["zone-a"]
    assert plan["summary"] == {"livepatch": 2, "legacy": 0, "skip": 1, "total": 3}
    assert any("net-2" in line and "excluded by the operator" in line for line in result["table"])


def test_a_target_that_matches_nothing_fails_and_names_it(run_module):
    result = run_module(cs_upgrade_plan, {"fleet": FLEET, "include": ["net-9"]})
    assert result["failed"] is True and "include entry 'net-9' matches no router" in result["msg"]


def test_the_result_of_a_plan_written_to_files_stays_small_whatever_the_fleet(run_module, tmp_path):
    """3,000 networks, all but one left out: the result lists 60 lines of the table and of the excluded, plan.txt all."""
    router = dict(FLEET["routers"][0])
    fleet = dict(
        FLEET,
        routers=[dict(router, id="r%d" % index, name="r-%d-VM" % index) for index in range(3000)],
        units=[{"kind": "network", "id": "n%d" % index, "name": "net-%d" % index, "zoneid": "z1", "routers": ["r%d" % index], "tiers": []}
               for index in range(3000)],
    )
    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps(fleet))
    result = run_module(
        cs_upgrade_plan,
        {"fleet_file": str(fleet_file), "output_dir": str(tmp_path), "journal": str(tmp_path / "journal.jsonl"), "include": ["net-0", "s-1-VM"]},
    )
    assert result.get("failed") is not True, result
    assert len(json.dumps(result)) < 30_000
    text = (tmp_path / "plan.txt").read_text()
    assert len(result["excluded"]) == 60 and result["excluded"][-1] == "... 2940 more in %s/plan.txt" % tmp_path
    assert len(result["table"]) == 60 and result["table"][-2] == "... %d more lines in %s/plan.txt" % (len(text.splitlines()) - 59, tmp_path)
    assert "net-2999" in text and "net-1" in text


# The fields of a plan besides its items and batches, for plan files broken in one place.
PLAN_HEAD = {"ms_version": "4.18.0.0", "settings": {"group_by": "zone"}, "summary": {"livepatch": 0, "legacy": 0, "skip": 0}}


def plan_in(run_module, tmp_path, **more):
    args = {"fleet": FLEET, "output_dir": str(tmp_path), "journal": str(tmp_path / "journal.jsonl"), "batch_size": 1}
    return run_module(cs_upgrade_plan, dict(args, **more))


def started_run(tmp_path):
    """The state of a run stopped after its first item: its plan, and a journal that finished the system VM."""
    plan = json.loads((tmp_path / "plan.json").read_text())
    done = {"key": "systemvm:s1", "status": "done", "ms_version": "4.18.0.0", "run": plan["run"]["id"], "time": "2026-11-22T00:00:00+00:00"}
    (tmp_path / "journal.jsonl").write_text(json.dumps(done) + "\n")
    return plan


def test_an_interrupted_run_is_continued_and_other_settings_make_a_new_plan(run_module, tmp_path):
    assert plan_in(run_module, tmp_path).get("failed") is not True
    first = started_run(tmp_path)
    resumed = plan_in(run_module, tmp_path)
    assert resumed["run"]["id"] == first["run"]["id"] and resumed["run"]["attempt"] == 2 and "2 item(s) left" in resumed["resumed"]
    other = plan_in(run_module, tmp_path, batch_size=2)
    assert other.get("failed") is not True and other["run"]["id"] != first["run"]["id"] and "other settings" in other["resumed"]
    assert json.loads((tmp_path / "plan.json").read_text())["settings"]["batch_size"] == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[]", "it is a list, not an object"),
        ('{"items": {}, "batches": []}', "it has no ms_version"),
        ("not json", "it is not JSON (Expecting value: line 1 column 1 (char 0))"),
        (json.dumps(dict(PLAN_HEAD, items=[], batches=[{"index": 1}])), "batches[0] has no group"),
    ],
)
@pytest.mark.parametrize("resume", [True, False])
def test_a_plan_file_that_is_not_a_plan_is_refused_and_left_as_it_is(run_module, tmp_path, content, words, resume):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(content)
    result = plan_in(run_module, tmp_path, resume=resume)
    assert result["failed"] is True
    assert words in result["msg"]
    assert result["msg"].startswith("the earlier plan was not replaced: %s is not a plan of acs.upgrade.cs_upgrade_plan: " % plan_file)
    assert result["msg"].endswith("; move it aside, then make the plan again with the acs.upgrade.plan role")
    assert plan_file.read_text() == content and not (tmp_path / "plan.txt").exists()


def test_an_earlier_plan_whose_version_is_a_number_is_refused_not_replaced(run_module, tmp_path):
    assert plan_in(run_module, tmp_path).get("failed") is not True
    plan = started_run(tmp_path)
    plan["ms_version"] = 4.18
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    result = plan_in(run_module, tmp_path)
    assert result["failed"] is True and "ms_version is 4.18, not a non-empty text" in result["msg"] and str(tmp_path / "plan.json") in result["msg"]
    assert json.loads((tmp_path / "plan.json").read_text()) == plan


def test_a_torn_journal_line_is_set_aside_when_the_plan_takes_the_state(run_module, tmp_path):
    journal = tmp_path / "journal.jsonl"
    done = json.dumps({"key": "network:n1", "status": "done", "ms_version": "4.18.0.0", "time": "2026-11-22T00:00:00+00:00"}) + "\n"
    journal.write_text(done + '{"key": "network:n2", "sta')
    result = plan_in(run_module, tmp_path)
    assert result.get("failed") is not True, result
    # ansible-core 2.19 returns a warning as a structured event, older cores as its text.
    warnings = [warning["event"]["msg"] if isinstance(warning, dict) else warning for warning in result["warnings"]]
    assert any(str(journal) in warning and str(journal) + ".torn" in warning for warning in warnings), warnings
    assert journal.read_text() == done and (tmp_path / "journal.jsonl.torn").read_text() == '{"key": "network:n2", "sta\n'
    # Check mode reads the journal and changes nothing.
    journal.write_text(done + '{"key": "network:n2", "sta')
    assert run_module(cs_upgrade_plan, {"fleet": FLEET, "output_dir": str(tmp_path), "journal": str(journal)}, check_mode=True).get("failed") is not True
    assert journal.read_text() == done + '{"key": "network:n2", "sta'


def test_the_plan_takes_the_state_lock_of_another_host_only_once_its_lease_has_run_out(run_module, tmp_path):
    assert "lock_lease must be 60 seconds or more, got 59" in plan_in(run_module, tmp_path, lock_lease=59)["msg"]
    beat = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=300)).isoformat(timespec="seconds")
    holder = {"owner": "awx", "host": "automation-job-41-x7q2p", "pid": 12, "start": beat, "heartbeat": beat}
    lock = tmp_path / "journal.jsonl.lock"
    lock.write_text(json.dumps(holder))
    refused = plan_in(run_module, tmp_path)
    assert refused["failed"] is True and refused["msg"].startswith("cannot start the run: ") and "lease of 600 s" in refused["msg"]
    assert json.loads(lock.read_text()) == holder and not (tmp_path / "plan.json").exists()
    taken = plan_in(run_module, tmp_path, lock_lease=120)
    assert taken.get("failed") is not True and (tmp_path / "plan.json").exists()
    assert "took over the state lock of pid 12 of awx on host automation-job-41-x7q2p" in json.dumps(taken["warnings"])
