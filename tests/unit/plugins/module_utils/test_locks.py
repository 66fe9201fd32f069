# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Who owns a run, which cloud a lock is for, and a journal that is not text."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils import _common
from ansible_collections.acs.upgrade.plugins.module_utils._state import CloudLock, EngineError, Journal, cloud_identity


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
