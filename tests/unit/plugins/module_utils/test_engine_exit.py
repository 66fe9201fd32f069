# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A stage lets go at once when its run ends or another run takes its state lock: it writes nothing more, and the jobs it
leaves in flight stay ``submitted`` in the journal, for the next run to adopt."""

from __future__ import annotations

import json
import os
import socket

from ansible_collections.acs.upgrade.plugins.module_utils._engine import StageRunner
from ansible_collections.acs.upgrade.plugins.module_utils._state import Journal, RunLock

MS = "4.18.0.0"
PLAN = {
    "ms_version": MS,
    "run": {"id": "run1", "attempt": 1},
    "settings": {},
    "batches": [{"group": "zone-a", "stage": "systemvms", "index": 1, "items": ["systemvm:s1", "systemvm:s2"]}],
    "items": [
        {"key": "systemvm:%s" % vm, "kind": "secondarystoragevm", "id": vm, "name": "s-%s-VM" % vm, "path": "livepatch", "group": "zone-a", "zoneid": "z1"}
        for vm in ("s1", "s2")
    ],
}


class Clock:
    """The engine's clock and sleep: sleeping moves the time on, at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Cloud:
    """patchSystemVm jobs that end when the test says so; ``on_poll`` runs before each read of a job."""

    def __init__(self) -> None:
        self.submits: list[str] = []
        self.ended: set[str] = set()
        self.on_poll = lambda: None

    def submit(self, command: str, **params: object) -> str:
        self.submits.append("%s %s" % (command, params["id"]))
        return "job-%s" % params["id"]

    def query_job(self, jobid: str, attempts: int = 1) -> dict:
        self.on_poll()
        if jobid in self.ended:
            return {"jobid": jobid, "jobstatus": 1, "jobresult": {"success": True, "displaytext": "patched"}}
        return {"jobid": jobid, "jobstatus": 0}

    def list(self, command: str, key: str, **params: object) -> list[dict]:
        # The agent reports the server's version once the VM is patched.
        version = MS if "job-%s" % params["id"] in self.ended else "4.15.1"
        return [{"id": params["id"], "name": "s-%s-VM" % params["id"], "systemvmtype": "secondarystoragevm", "state": "Running", "version": version}]

    def has_feature(self, name: str) -> bool:
        return True

    def jobs_since(self, since: object) -> list[dict]:
        return [
            {"jobid": "job-%s" % vm, "jobinstanceid": vm, "cmd": "PatchSystemVMCmd", "jobstatus": 1 if "job-%s" % vm in self.ended else 0}
            for vm in (submit.split()[1] for submit in self.submits)
        ]


def stage(cloud, tmp_path, clock, **options):
    journal = Journal(str(tmp_path / "journal.jsonl"))

    def progress(line: str) -> None:
        with open(tmp_path / "progress.log", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    options = dict({"poll_interval": 30.0, "progress": progress, "progress_every": 1}, **options)
    return StageRunner(cloud, PLAN, journal, "zone-a", "systemvms", clock=clock, sleep=clock.sleep, **options), journal


def taken_lock(tmp_path):
    lock = RunLock(str(tmp_path / "journal.jsonl"), pid=os.getpid())
    assert lock.acquire() == []
    return lock


def take_over(lock, pid):
    with open(lock.path, "w", encoding="utf-8") as handle:
        json.dump({"owner": "day-shift", "host": socket.gethostname(), "pid": pid, "start": "2026-11-27T09:00:00+00:00"}, handle)


def test_jobs_that_end_while_the_lock_is_the_runs_are_journalled(tmp_path):
    cloud, clock = Cloud(), Clock()
    cloud.on_poll = lambda: cloud.ended.update(("job-s1", "job-s2"))
    runner, journal = stage(cloud, tmp_path, clock, state_lock=taken_lock(tmp_path), alive=lambda: True)
    result = runner.execute()
    assert not result["stop"] and result["counts"]["done"] == 2
    assert [entry["status"] for entry in journal.entries()] == ["submitted", "submitted", "done", "done"]


def test_a_stage_whose_lock_another_run_took_writes_nothing_more_and_stops_at_once(tmp_path):
    cloud, clock = Cloud(), Clock()
    lock = taken_lock(tmp_path)
    other = os.getppid()

    def taken_over_as_the_jobs_end():
        take_over(lock, other)
        cloud.ended = {"job-s1", "job-s2"}

    cloud.on_poll = taken_over_as_the_jobs_end
    runner, journal = stage(cloud, tmp_path, clock, state_lock=lock, alive=lambda: True)
    result = runner.execute()
    assert result["stop"] and "another run took over the state lock" in result["msg"] and "pid %d of day-shift" % other in result["msg"]
    # The ends it read are not journalled (the run that holds the lock now follows those jobs), nor is any progress line.
    assert [entry["status"] for entry in journal.entries()] == ["submitted", "submitted"]
    assert not (tmp_path / "progress.log").exists()
    assert len(cloud.submits) == 2
    # The lock stays the other run's.
    assert lock.read()["pid"] == other


def test_a_stage_that_finds_another_runs_lock_submits_and_writes_nothing(tmp_path):
    cloud, clock = Cloud(), Clock()
    lock = taken_lock(tmp_path)
    take_over(lock, os.getppid())
    runner, journal = stage(cloud, tmp_path, clock, state_lock=lock, alive=lambda: True)
    result = runner.execute()
    assert result["stop"] and "another run took over the state lock" in result["msg"]
    assert cloud.submits == [] and journal.entries() == [] and not (tmp_path / "progress.log").exists()


def test_a_stage_whose_playbook_is_gone_leaves_its_jobs_in_flight_within_a_second_and_the_next_run_adopts_them(tmp_path):
    cloud, clock = Cloud(), Clock()
    lock = taken_lock(tmp_path)
    gone_at = clock.now + 3.2
    runner, journal = stage(cloud, tmp_path, clock, state_lock=lock, alive=lambda: clock.now < gone_at)
    result = runner.execute()
    # Within a second of the end of its playbook, though the pause between two reads of its jobs is 30 s long.
    assert gone_at <= clock.now <= gone_at + 1.0
    assert result["stop"] and "the process that runs the playbook is gone" in result["msg"]
    # The two submits run side by side: their lines come in either order.
    assert sorted((entry["status"], entry["jobid"]) for entry in journal.entries()) == [("submitted", "job-s1"), ("submitted", "job-s2")]
    assert not (tmp_path / "progress.log").exists()

    # The next run (its jobs have ended meanwhile) follows them: no second patch, each journalled done once.
    cloud.ended = {"job-s1", "job-s2"}
    next_run = dict(PLAN, run={"id": "run1", "attempt": 2})
    rerun = StageRunner(cloud, next_run, journal, "zone-a", "systemvms", poll_interval=30.0, clock=clock, sleep=clock.sleep, alive=lambda: True)
    result = rerun.execute()
    assert not result["stop"] and result["counts"]["adopted"] == 2 and result["counts"]["done"] == 2
    assert len(cloud.submits) == 2
    assert sorted((entry["status"], entry["jobid"]) for entry in journal.entries()[2:]) == [("done", "job-s1"), ("done", "job-s2")]
