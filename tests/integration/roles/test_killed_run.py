# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A run that ends under its modules' feet, and a run refused because another holds the state: nothing of theirs goes on.

Ansible starts each task in a session of its own (its workers call setsid), so killing the process group of
``ansible-playbook`` (an AWX cancel or job timeout) leaves the module of the task running: it must notice and exit, and
write nothing a later run could read twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import yaml

from playbook_runner import SYSTEMVM_COMMANDS, read_journal, run_playbook, start_playbook, wait_until, wait_until_lock_owner_ended
from test_upgrade_playbooks import extravars

SMALL = Path(__file__).resolve().parents[2] / "simulator" / "topologies" / "small.yml"


def test_a_killed_playbook_leaves_no_module_running_and_its_jobs_to_the_next_run(acs_sim, tmp_path):
    topology = yaml.safe_load(SMALL.read_text())
    # System VM patches of 8 to 10 s: the kill lands while they run, and they outlast the few seconds the module may take to exit.
    topology.setdefault("jobs", {})["durations"] = {"patch_systemvm": [160, 200]}
    sim = acs_sim(topology=topology, time_factor=0.05)
    output = tmp_path / "out"

    def submits():
        return [entry for entry in read_journal(output, ends=False) if entry["status"] == "submitted"]

    first = start_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_parallel="4"))
    try:
        wait_until(lambda: len(submits()) >= 2, 120)
        submitted = submits()
        assert len(submitted) == 2 and all(entry["stage"] == "systemvms" for entry in submitted), submitted
        leader = first.playbook_pid()
        assert leader is not None and leader == json.loads((output / "journal.jsonl.lock").read_text())["pid"] and leader != os.getpgid(0)
        # Ansible runs the task's worker, and the module under it, in a session of their own: the kill does not reach them.
        assert [process for process in first.processes() if process.sid != leader], first.processes()
        lines_at_kill = len(read_journal(output, ends=False))
        os.killpg(leader, signal.SIGKILL)
        killed = time.monotonic()

        left = wait_until(lambda: not first.processes(), 5)
        assert left, "%.1f s after its playbook was killed, the run still has %s" % (time.monotonic() - killed, "; ".join(map(str, first.processes())))
        journal_when_gone = (output / "journal.jsonl").read_bytes()
        # Nothing but the submits of the jobs it had started: their ends are the next run's to journal.
        assert all(entry["status"] == "submitted" for entry in read_journal(output, ends=False)[lines_at_kill:])
        in_flight = {entry["jobid"] for entry in read_journal(output, ends=False) if entry["status"] == "submitted"}
        # The jobs it left run on; once they have ended, the journal still has no line about them.
        assert wait_until(lambda: not any(job["jobstatus"] == 0 for job in sim.jobs() if job["jobid"] in in_flight), 30)
        time.sleep(1.5)
        assert (output / "journal.jsonl").read_bytes() == journal_when_gone
    finally:
        # Whatever a failed assertion left of this run (the processes that carry its marker) is ended here.
        for process in first.processes():
            os.kill(process.pid, signal.SIGKILL)
        first.wait(60)
    wait_until_lock_owner_ended(output)

    rerun = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, livepatch_parallel="4"))
    assert rerun.rc == 0, rerun.stdout[-3000:]
    # The two patches it left in flight were followed, not started again: no target got a second job.
    acted = [job["instanceid"] for job in sim.jobs()]
    assert len(acted) == len(set(acted)), acted
    patches = [job for job in sim.jobs() if job["command"] in SYSTEMVM_COMMANDS]
    assert {entry["jobid"] for entry in submitted} <= {job["jobid"] for job in patches}
    done = [entry["key"] for entry in read_journal(output) if entry["status"] == "done"]
    assert len(done) == len(set(done)), "journalled done twice: %s" % sorted(key for key in done if done.count(key) > 1)
    adopted = [entry for entry in read_journal(output) if entry.get("jobid") in {entry["jobid"] for entry in submitted}]
    assert [entry["status"] for entry in adopted] == ["done", "done"] and all(entry["attempt"] == 2 for entry in adopted)


def state_files(directory: Path) -> dict[str, str]:
    return {str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.rglob("*")) if path.is_file()}


def test_a_run_refused_by_the_state_lock_writes_nothing_in_the_state_directory(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    # A state directory as a finished run leaves it: fleet, plan, journal, progress and reports.
    assert run_playbook(sim, tmp_path, "upgrade.yml", extravars(output)).rc == 0
    assert {"fleet.json", "plan.json", "journal.jsonl", "report.json"} <= set(state_files(output))
    jobs = len(sim.jobs())
    # Another run on this host holds the state now (this test's own process plays it).
    holder = {"owner": "night-shift", "host": socket.gethostname(), "pid": os.getpid(), "start": "2026-11-27T01:00:00+00:00"}
    (output / "journal.jsonl.lock").write_text(json.dumps(holder))
    before = state_files(output)
    for playbook, check in (("upgrade.yml", False), ("upgrade.yml", True), ("livepatch.yml", False), ("legacy_recreate.yml", False), ("plan.yml", False)):
        refused = run_playbook(sim, tmp_path, playbook, extravars(output), check=check)
        assert refused.rc != 0, (playbook, check)
        assert "another run holds the state lock" in refused.stdout and "pid %d of night-shift" % os.getpid() in refused.stdout, refused.stdout[-3000:]
        assert state_files(output) == before, "%s%s changed the state directory" % (playbook, " --check" if check else "")
    assert len(sim.jobs()) == jobs
