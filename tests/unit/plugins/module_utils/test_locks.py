# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Who owns a run, which cloud a lock is for, and a journal that is not text."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils import _common
from ansible_collections.acs.upgrade.plugins.module_utils._state import CloudLock, EngineError, Heartbeat, Journal, RunLock, cloud_identity


def test_one_management_server_is_one_cloud_whatever_the_spelling_of_its_url():
    assert cloud_identity("http://localhost:8080/client/api") == cloud_identity("http://127.0.0.1:8080/client/api/")
    assert cloud_identity("HTTP://LOCALHOST:8080/client/api") == cloud_identity("http://[::1]:8080/client/api")
    assert cloud_identity("https://127.0.0.1/client/api") == cloud_identity("https://127.0.0.1:443/client/api")
    assert cloud_identity("http://127.0.0.1:8080/client/api") != cloud_identity("http://127.0.0.1:8081/client/api")


def test_two_spellings_of_one_endpoint_meet_on_one_lock(tmp_path):
    first = CloudLock("http://localhost:8080/client/api", "/state/a", pid=1, directory=str(tmp_path))
    second = CloudLock("http://127.0.0.1:8080/client/api", "/state/b", pid=2, directory=str(tmp_path))
    assert first.path == second.path


def test_a_shell_that_starts_two_playbooks_is_not_their_run(tmp_path):
    # sh -c "ansible-playbook ... & ansible-playbook ... & wait": each playbook is its own run, the shell is neither.
    shell = subprocess.Popen(["sh", "-c", "sleep 5 # ansible-playbook a.yml & ansible-playbook b.yml"])
    fake = tmp_path / "ansible-playbook"
    fake.write_text("import time; time.sleep(5)\n")
    playbook = subprocess.Popen([sys.executable, str(fake), "site.yml"])
    try:
        for process, program in ((shell, b"sh"), (playbook, str(fake).encode())):
            # A child shows its own command line once it has exec'd, a moment after Popen returns.
            deadline = time.monotonic() + 10
            while program not in Path("/proc/%d/cmdline" % process.pid).read_bytes() and time.monotonic() < deadline:
                time.sleep(0.01)
        assert not _common._runs_ansible_playbook(shell.pid)
        assert _common._runs_ansible_playbook(playbook.pid)
    finally:
        for process in (shell, playbook):
            process.kill()
            process.wait()


# A stand-in for ansible-playbook with Ansible's process shape: the run forks a worker that calls os.setsid() (as
# WorkerProcess._detach does), and the worker starts the module through a shell. With "end", the run ends before the
# worker starts the module, as it does when ansible-runner's cancel kills the run's process group.
FAKE_PLAYBOOK = """
import os, subprocess, sys, time
module, report, end_run = sys.argv[1], sys.argv[2], sys.argv[3] == "end"
run = os.getpid()
worker = os.fork()
if worker == 0:
    os.setsid()
    while end_run and os.getppid() == run:
        time.sleep(0.01)
    subprocess.run(["/bin/sh", "-c", "%s %s > %s" % (sys.executable, module, report)], check=True)
    os._exit(0)
if not end_run:
    os.waitpid(worker, 0)
"""


@pytest.mark.parametrize("end_run", [False, True], ids=["run alive", "run ended"])
def test_a_module_knows_when_the_run_that_started_it_has_ended(tmp_path, end_run):
    fake = tmp_path / "ansible-playbook"
    fake.write_text(FAKE_PLAYBOOK)
    root = Path(_common.__file__).parents[5]  # the directory that holds ansible_collections/acs/upgrade
    module = tmp_path / "module.py"
    module.write_text(
        "import sys\nsys.path.insert(0, %r)\n"
        "from ansible_collections.acs.upgrade.plugins.module_utils._common import run_ended\nprint(run_ended())\n" % str(root)
    )
    report = tmp_path / "report"
    subprocess.run([sys.executable, str(fake), str(module), str(report), "end" if end_run else "live"], check=True, timeout=30)
    deadline = time.monotonic() + 20
    while not (report.exists() and report.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert report.read_text().strip() == str(end_run)


def test_a_journal_line_that_is_not_utf8_is_named_with_what_to_do(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"key": "network:n1", "status": "done"}\n{"key": "network:n2", "status": "done", "name": "caf\xe9"}\n')
    with pytest.raises(EngineError, match=r"journal line 2 is not UTF-8 text .*fix or remove that line") as error:
        Journal(str(path)).entries()
    assert str(path) in str(error.value)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def two_hosts(tmp_path, clock, lease=600):
    # One state directory shared by two AWX execution nodes (pods): the same journal, another host name each.
    journal = str(tmp_path / "journal.jsonl")
    return RunLock(journal, pid=101, host="awx-job-1-pod", lease=lease, clock=clock), RunLock(journal, pid=202, host="awx-job-2-pod", lease=lease, clock=clock)


def test_a_fresh_lease_from_another_host_is_refused_with_its_holder_age_and_when_it_may_be_taken(tmp_path):
    clock = Clock()
    first, second = two_hosts(tmp_path, clock)
    assert first.acquire() == []
    clock.now += 120
    with pytest.raises(EngineError) as refused:
        second.acquire()
    message = str(refused.value)
    assert "pid 101" in message and "awx-job-1-pod" in message
    assert "heartbeat is 120 s old" in message and "lease of 600 s" in message
    assert datetime.datetime.fromtimestamp(clock.now + 480, datetime.timezone.utc).isoformat(timespec="seconds") in message
    with pytest.raises(EngineError):
        second.check()
    assert first.held() and not second.held()


def test_a_stale_lease_from_another_host_is_taken_over_with_a_warning_naming_the_old_holder(tmp_path):
    clock = Clock()
    first, second = two_hosts(tmp_path, clock)
    first.acquire()
    clock.now += 601
    second.check()
    warnings = second.acquire()
    assert len(warnings) == 1
    assert "pid 101" in warnings[0] and "awx-job-1-pod" in warnings[0] and "601 s old" in warnings[0]
    assert second.held() and not first.held()
    assert second.read()["took_over"] == {"pid": 101, "host": "awx-job-1-pod", "at": second.read()["start"]}
    # The old run, if it still lived, would see the lock is no longer its own and write nothing more.
    assert first.heartbeat() is False
    assert not first.release()
    assert second.held()


def test_a_lock_written_before_heartbeats_ages_from_its_start(tmp_path):
    clock = Clock()
    first, second = two_hosts(tmp_path, clock)
    Path(first.path).write_text(json.dumps({"owner": "awx", "host": "old-node", "pid": 7, "start": "2020-01-01T00:00:00+00:00"}))
    assert "old-node" in second.acquire()[0]
    assert second.held()


def test_the_heartbeat_keeps_a_long_run_s_lease_fresh(tmp_path):
    clock = Clock()
    first, second = two_hosts(tmp_path, clock)
    first.acquire()
    for minute in range(10, 110, 10):  # a stage of 100 minutes, renewed well within each lease
        clock.now += 590
        assert first.heartbeat() is True
        with pytest.raises(EngineError, match="heartbeat is 0 s old"):
            second.acquire()
        assert first.held(), "minute %d" % minute
    # A module that holds the lock renews it when it starts, too.
    clock.now += 590
    assert first.acquire() == []
    clock.now += 590
    with pytest.raises(EngineError):
        second.acquire()
    assert first.held()


def test_the_background_heartbeat_renews_the_lease_while_a_stage_runs(tmp_path):
    clock = Clock()
    first, second = two_hosts(tmp_path, clock)
    first.acquire()
    clock.now += 3600
    with Heartbeat([first], interval=0.01):
        deadline = time.monotonic() + 5
        while first.heartbeat_age(first.read()) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert first.heartbeat_age(first.read()) == 0
    with pytest.raises(EngineError):
        second.acquire()


def test_on_one_host_the_pid_decides_not_the_lease(tmp_path):
    clock = Clock()
    journal = str(tmp_path / "journal.jsonl")
    alive = subprocess.Popen(["sleep", "30"])
    try:
        RunLock(journal, pid=alive.pid, host="node", clock=clock).acquire()
        clock.now += 100_000
        with pytest.raises(EngineError, match="another run holds the state lock"):
            RunLock(journal, pid=1234567, host="node", clock=clock).acquire()
    finally:
        alive.kill()
        alive.wait()
    assert "no longer running" in RunLock(journal, pid=1234567, host="node", clock=clock).acquire()[0]


def test_the_cloud_lock_keeps_the_lease_of_the_state_lock(tmp_path):
    clock = Clock()
    first = CloudLock("http://localhost:8080/client/api", "/state/a", pid=1, directory=str(tmp_path), host="node-a", lease=60, clock=clock)
    second = CloudLock("http://localhost:8080/client/api", "/state/b", pid=2, directory=str(tmp_path), host="node-b", lease=60, clock=clock)
    first.acquire()
    with pytest.raises(EngineError, match="lease of 60 s"):
        second.acquire()
    clock.now += 61
    assert "node-a" in second.acquire()[0]
    assert second.read()["state"] == "/state/b"


def test_a_report_on_another_host_tells_a_killed_run_once_its_lease_has_run_out(tmp_path):
    from ansible_collections.acs.upgrade.plugins.modules.cs_upgrade_report import read_run_lock

    journal = tmp_path / "journal.jsonl"
    lock = Path(str(journal) + ".lock")
    now = datetime.datetime.now(datetime.timezone.utc)
    for age, alive in ((30, None), (3600, False)):
        beat = (now - datetime.timedelta(seconds=age)).isoformat(timespec="seconds")
        lock.write_text(json.dumps({"owner": "awx", "host": "automation-job-41-x7q2p", "pid": 12, "start": beat, "heartbeat": beat}))
        assert read_run_lock(str(journal))["alive"] is alive
