# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""AWX's two ways to end a job, through ansible-runner as AWX drives it: the job timeout and a cancel.

Either way, no process of the job is left 10 s later (the module of the running stage included, with its progress lines
being printed), and the next job of the workflow adopts the jobs the ended one left in flight: 0 targets acted on twice.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
import yaml

from playbook_runner import (
    RUN_MARKER,
    SYSTEMVM_COMMANDS,
    marked_processes,
    read_journal,
    run_playbook,
    start_playbook,
    wait_until,
    wait_until_lock_owner_ended,
)
from test_killed_run import SMALL
from test_upgrade_playbooks import extravars

# The job's stage prints its progress every second while it is ended.
JOB = {"livepatch_parallel": "4", "livepatch_progress_interval": "1"}


def submits(output):
    return [entry for entry in read_journal(output, ends=False) if entry["status"] == "submitted"]


def in_flight_for_a_while(output, seconds: float = 2.5):
    """True once two patches have been in flight for ``seconds`` (the stage has printed its progress by then)."""
    seen: list[float] = []

    def ready() -> bool:
        if len(submits(output)) < 2:
            return False
        seen[:] = seen or [time.monotonic()]
        return time.monotonic() - seen[0] >= seconds

    return ready


@pytest.mark.parametrize("end", ["job_timeout", "cancel"])
def test_a_job_ended_by_its_timeout_or_cancelled_leaves_nothing_running_and_the_next_job_adopts_its_jobs(acs_sim, tmp_path, end):
    topology = yaml.safe_load(SMALL.read_text())
    # System VM patches of 8 to 10 s: the job ends while they run.
    topology.setdefault("jobs", {})["durations"] = {"patch_systemvm": [160, 200]}
    sim = acs_sim(topology=topology, time_factor=0.05)
    output = tmp_path / "out"

    if end == "job_timeout":
        job = start_playbook(sim, tmp_path, "upgrade.yml", extravars(output, **JOB))
        marker = job.marker
        assert wait_until(in_flight_for_a_while(output), 120), job.processes()
        print(job.kill("job_timeout"))
        ended_run = job.wait(60)
        assert ended_run is not None and ended_run.status == "timeout", ended_run
    else:
        marker = uuid.uuid4().hex
        ended_run = run_playbook(
            sim, tmp_path, "upgrade.yml", extravars(output, **JOB), cancel=in_flight_for_a_while(output), env={RUN_MARKER: marker}
        )
        assert ended_run.status == "canceled", (ended_run.status, ended_run.stdout[-3000:])
    ended = time.monotonic()
    in_flight = {entry["jobid"] for entry in submits(output)}
    assert len(in_flight) >= 2
    try:
        assert wait_until(lambda: not marked_processes(marker), 10), "%.1f s after the job ended, it still has %s" % (
            time.monotonic() - ended,
            "; ".join(map(str, marked_processes(marker))),
        )
    finally:
        for process in marked_processes(marker):
            os.kill(process.pid, signal.SIGKILL)
    # The ended job's progress lines were in its output while the stage ran.
    assert "systemvms: " in ended_run.stdout and " in flight" in ended_run.stdout
    wait_until_lock_owner_ended(output)

    following = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, **JOB))
    assert following.rc == 0, following.stdout[-3000:]
    # 0 repeats: no target got a second job, and the jobs left in flight were followed, not started again.
    acted = [job["instanceid"] for job in sim.jobs() if job["command"] in SYSTEMVM_COMMANDS or job["command"] in ("restartNetwork", "restartVPC")]
    assert len(acted) == len(set(acted)), acted
    adopted = [entry for entry in read_journal(output) if entry.get("jobid") in in_flight]
    assert len(adopted) == len(in_flight) and all(entry["status"] == "done" and entry["attempt"] == 2 for entry in adopted), adopted
    done = [entry["key"] for entry in read_journal(output) if entry["status"] == "done"]
    assert len(done) == len(set(done))
