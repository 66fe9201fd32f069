# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_upgrade_stage refuses bad options and a missing plan before it reads or changes anything."""

from __future__ import annotations

import datetime
import json
import socket
import time

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils import _state
from ansible_collections.acs.upgrade.plugins.modules import cs_upgrade_stage

# An address nothing listens on: a test that reached the API would fail with "Connection refused".
NOWHERE = {"api_url": "http://127.0.0.1:9/client/api", "api_key": "key-0", "api_secret": "secret-not-in-any-message"}

# The fields of a plan besides its items and batches, for plan files broken in one place.
PLAN_HEAD = {"ms_version": "4.18.0.0", "settings": {"group_by": "zone"}, "summary": {"livepatch": 0, "legacy": 0, "skip": 0}}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"parallel": 0}, "parallel must be between 1 and 1000, got 0"),
        ({"parallel": 1001}, "parallel must be between 1 and 1000, got 1001"),
        ({"timeout": 0}, "timeout must be 1 second or more"),
        ({"poll_interval": 0}, "poll_interval must be more than 0"),
        ({"max_fail_percentage": 101}, "max_fail_percentage must be between 0 and 100"),
        ({"progress_every": 0}, "progress_every must be 1 or more"),
        ({"lock_lease": 59}, "lock_lease must be 60 seconds or more, got 59"),
    ],
)
def test_bad_options_are_refused_with_a_reason(run_module, tmp_path, args, words):
    result = run_module(cs_upgrade_stage, dict(NOWHERE, plan=str(tmp_path / "plan.json"), journal=str(tmp_path / "j"), group="z", stage="routers", **args))
    assert result["failed"] is True and words in result["msg"]
    assert not (tmp_path / "j.lock").exists()


def test_a_missing_plan_names_what_to_run_first(run_module, tmp_path):
    result = run_module(cs_upgrade_stage, dict(NOWHERE, plan=str(tmp_path / "plan.json"), journal=str(tmp_path / "j"), group="z", stage="routers"))
    assert result["failed"] is True and "no plan at" in result["msg"] and "acs.upgrade.plan" in result["msg"]


def test_a_group_is_required_and_release_leaves_a_foreign_lock_alone(run_module, tmp_path):
    assert "group is required" in run_module(cs_upgrade_stage, dict(NOWHERE, plan="p", journal=str(tmp_path / "j"), stage="canary"))["msg"]
    foreign = {"owner": "someone", "host": "elsewhere", "pid": 1, "start": "2026-11-27T01:00:00+00:00"}
    (tmp_path / "j.lock").write_text(json.dumps(foreign))
    result = run_module(cs_upgrade_stage, dict(NOWHERE, plan="p", journal=str(tmp_path / "j"), stage="release"))
    assert result["changed"] is False and result["msg"] == "this run held no state lock"
    assert json.loads((tmp_path / "j.lock").read_text()) == foreign


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[]", "it is a list, not an object"),
        (json.dumps(dict(PLAN_HEAD, items={}, batches=[])), "items is {}, not a list"),
        (json.dumps(dict(PLAN_HEAD, items=[], batches=[{"index": 1, "group": "z", "stage": "routers"}])), "batches[0] has no items"),
    ],
)
def test_a_plan_file_that_is_not_a_plan_is_refused_before_anything_is_touched(run_module, tmp_path, content, words):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(content)
    result = run_module(cs_upgrade_stage, dict(NOWHERE, plan=str(plan_file), journal=str(tmp_path / "j"), group="z", stage="routers"))
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot run z routers: %s is not a plan of acs.upgrade.cs_upgrade_plan: %s; move it aside, then make the plan again with the acs.upgrade.plan role"
        % (plan_file, words)
    )
    assert not (tmp_path / "j").exists() and not (tmp_path / "j.lock").exists()


def test_acquire_takes_the_lock_and_refuses_while_another_live_run_holds_it(run_module, tmp_path, monkeypatch):
    # The lock per cloud goes to this test's own directory, not the host's /run/lock that other runs share.
    monkeypatch.setattr(_state, "lock_directory", lambda: str(tmp_path))
    args = dict(NOWHERE, plan="p", journal=str(tmp_path / "j"), stage="acquire")
    # A dry run only checks: it leaves no lock behind.
    checked = run_module(cs_upgrade_stage, args, check_mode=True)
    assert not checked.get("failed") and "no other run holds the state lock" in checked["msg"]
    assert not (tmp_path / "j.lock").exists()
    taken = run_module(cs_upgrade_stage, args)
    assert taken["changed"] is False and "state lock" in taken["msg"] and json.loads((tmp_path / "j.lock").read_text())["host"] == socket.gethostname()
    # Another run on this host that still runs (pid 1 always does) holds it: refused, in check mode too, and the lock stays its.
    holder = {"owner": "night-shift", "host": socket.gethostname(), "pid": 1, "start": "2026-11-27T01:00:00+00:00"}
    (tmp_path / "j.lock").write_text(json.dumps(holder))
    for check_mode in (False, True):
        refused = run_module(cs_upgrade_stage, args, check_mode=check_mode)
        assert refused["failed"] is True and "another run holds the state lock" in refused["msg"] and "pid 1 of night-shift" in refused["msg"]
    assert json.loads((tmp_path / "j.lock").read_text()) == holder


def test_acquire_names_the_cloud_lock_after_the_endpoint_of_cloudstack_ini(run_module, tmp_path, monkeypatch):
    """With the endpoint only in cloudstack.ini, the lock per cloud is that endpoint's: a second state directory on the
    same cloud is refused, as with api_url given as an option."""
    monkeypatch.setattr(_state, "lock_directory", lambda: str(tmp_path))
    ini = tmp_path / "cloudstack.ini"
    ini.write_text("[cloudstack]\nendpoint = %s\nkey = %s\nsecret = %s\n" % (NOWHERE["api_url"], NOWHERE["api_key"], NOWHERE["api_secret"]))
    monkeypatch.setenv("CLOUDSTACK_CONFIG", str(ini))
    first = run_module(cs_upgrade_stage, {"plan": "p", "journal": str(tmp_path / "a" / "j"), "stage": "acquire"})
    assert not first.get("failed"), first
    [cloud_lock] = tmp_path.glob("acs-upgrade-cloud-*")
    # The first run is another process that still runs (pid 1 always does): the lock stays its.
    holder = json.loads(cloud_lock.read_text())
    cloud_lock.write_text(json.dumps(dict(holder, pid=1)))
    # The same cloud spelled as an option, from another state directory: the lock of the first run holds it.
    (tmp_path / "b").mkdir()
    second = run_module(cs_upgrade_stage, dict(NOWHERE, api_url="http://localhost:9/client/api", plan="p", journal=str(tmp_path / "b" / "j"), stage="acquire"))
    assert second["failed"] is True and str(tmp_path / "a") in second["msg"], second


def test_acquire_without_an_endpoint_anywhere_says_where_to_set_it(run_module, tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDSTACK_CONFIG", str(tmp_path / "absent.ini"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    result = run_module(cs_upgrade_stage, {"plan": "p", "journal": str(tmp_path / "j"), "stage": "acquire"})
    assert result["failed"] is True and "missing CloudStack connection settings: api_url, api_key, api_secret" in result["msg"]
    assert "cloudstack.ini" in result["msg"] and not (tmp_path / "j.lock").exists()


def test_acquire_refuses_a_fresh_lease_of_another_host_and_takes_over_a_stale_one(run_module, tmp_path, monkeypatch):
    monkeypatch.setattr(_state, "lock_directory", lambda: str(tmp_path))
    args = dict(NOWHERE, plan="p", journal=str(tmp_path / "j"), stage="acquire")
    now = datetime.datetime.now(datetime.timezone.utc)
    beat = (now - datetime.timedelta(seconds=300)).isoformat(timespec="seconds")
    holder = {"owner": "awx", "host": "automation-job-41-x7q2p", "pid": 12, "start": beat, "heartbeat": beat}
    (tmp_path / "j.lock").write_text(json.dumps(holder))
    for check_mode in (False, True):
        refused = run_module(cs_upgrade_stage, args, check_mode=check_mode)
        assert refused["failed"] is True and "automation-job-41-x7q2p" in refused["msg"] and "lease of 600 s" in refused["msg"]
    assert json.loads((tmp_path / "j.lock").read_text()) == holder
    # The same heartbeat with a lease of 4 minutes: that job is taken to be gone.
    taken = run_module(cs_upgrade_stage, dict(args, lock_lease=240))
    assert not taken.get("failed"), taken
    # A warning is a string before ansible-core 2.19, a summary with its message after.
    assert "took over the state lock of pid 12 of awx on host automation-job-41-x7q2p" in json.dumps(taken["warnings"])
    assert json.loads((tmp_path / "j.lock").read_text())["host"] == socket.gethostname()


def test_a_running_stage_renews_its_lease_in_the_background(run_module, tmp_path, monkeypatch):
    monkeypatch.setattr(_state, "lock_directory", lambda: str(tmp_path))
    monkeypatch.setattr(_state, "HEARTBEAT_INTERVAL", 0.02)
    lock = tmp_path / "j.lock"
    old = "2026-01-01T00:00:00+00:00"
    renewed = []

    class LongStage:
        """A stage that runs until its lock's heartbeat, set back here, has been renewed behind it."""

        def __init__(self, *args, **kwargs):
            pass

        def execute(self):
            lock.write_text(json.dumps(dict(json.loads(lock.read_text()), heartbeat=old)))
            deadline = time.monotonic() + 10
            while json.loads(lock.read_text())["heartbeat"] == old and time.monotonic() < deadline:
                time.sleep(0.01)
            renewed.append(json.loads(lock.read_text())["heartbeat"])
            return {"changed": False, "stop": False, "failed": False, "msg": "done", "counts": {}, "warnings": []}

    monkeypatch.setattr(cs_upgrade_stage, "StageRunner", LongStage)
    monkeypatch.setattr(cs_upgrade_stage, "load_plan", lambda path: {})
    result = run_module(cs_upgrade_stage, dict(NOWHERE, plan="p", journal=str(tmp_path / "j"), group="z", stage="routers"))
    assert not result.get("failed"), result
    assert renewed and renewed[0] != old


def test_release_stamps_the_end_of_a_run_it_held_on_the_plan_and_leaves_a_foreign_runs_plan_alone(run_module, tmp_path):
    plan = dict(PLAN_HEAD, items=[], batches=[], run={"id": "run-1", "attempt": 1, "started": "2026-11-27T01:00:00+00:00"})
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    args = dict(NOWHERE, plan=str(plan_file), journal=str(tmp_path / "j"))
    # Another run holds the lock: this one gives nothing back and stamps nothing.
    foreign = {"owner": "someone", "host": "elsewhere", "pid": 1, "start": "2026-11-27T01:00:00+00:00"}
    (tmp_path / "j.lock").write_text(json.dumps(foreign))
    assert run_module(cs_upgrade_stage, dict(args, stage="release", record_end=True))["msg"] == "this run held no state lock"
    assert json.loads(plan_file.read_text()) == plan
    (tmp_path / "j.lock").unlink()
    assert run_module(cs_upgrade_stage, dict(args, stage="acquire")).get("failed") is not True
    assert run_module(cs_upgrade_stage, dict(args, stage="release", record_end=True))["msg"] == "state lock released"
    ended = json.loads(plan_file.read_text())
    assert datetime.datetime.fromisoformat(ended["run"].pop("ended")).tzinfo is not None
    assert ended == plan
    # Without record_end (the dry run's release), the plan is left as it is.
    plan_file.write_text(json.dumps(plan))
    assert run_module(cs_upgrade_stage, dict(args, stage="acquire")).get("failed") is not True
    assert run_module(cs_upgrade_stage, dict(args, stage="release"))["msg"] == "state lock released"
    assert json.loads(plan_file.read_text()) == plan
