# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The failure limit and outcome bookkeeping of the job waiter (the waiting itself is tested against the simulator)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobOutcome, JobRunner, JobTask, failure_exceeded


def test_max_fail_percentage_counts_failures_against_all_targets_of_the_run():
    one_failed = [JobOutcome(key="a", status="failed"), JobOutcome(key="b", status="succeeded")]
    assert failure_exceeded(4, one_failed, 0)
    assert not failure_exceeded(4, one_failed, 25)
    assert failure_exceeded(4, one_failed + [JobOutcome(key="c", status="timed_out")], 25)
    assert not failure_exceeded(4, [JobOutcome(key="a", status="succeeded")], 0)
    assert not failure_exceeded(0, [], 0)


def test_every_unsuccessful_end_counts_as_a_failure():
    for status in ("failed", "cancelled", "timed_out", "submit_failed"):
        assert JobOutcome(key="x", status=status).failed
    for status in ("succeeded", "not_submitted", "submitted"):
        assert not JobOutcome(key="x", status=status).failed


def test_duration_is_known_only_for_finished_jobs():
    assert JobOutcome(key="x", started=10.0).duration is None
    assert JobOutcome(key="x", started=10.0, finished=12.25).duration == 2.25


@pytest.mark.parametrize("options", [{"parallel": 0}, {"poll_interval": 0}, {"job_timeout": -1}, {"deadline": 0}])
def test_runner_refuses_settings_that_would_wait_forever_or_never_start(options):
    with pytest.raises(ValueError):
        JobRunner(client=None, **options)


def test_a_runner_told_to_let_go_returns_within_a_second_leaving_its_jobs_submitted():
    now = [0.0]
    ended = []

    class Client:
        def query_job(self, jobid, attempts=1):
            return {"jobid": jobid, "jobstatus": 0}

    def sleep(seconds):
        now[0] += seconds

    runner = JobRunner(
        Client(),
        parallel=2,
        poll_interval=60.0,
        first_poll=60.0,
        on_complete=ended.append,
        abandon=lambda: now[0] >= 7.5,
        clock=lambda: now[0],
        sleep=sleep,
    )
    outcomes = runner.run([JobTask(key=key, submit=lambda key=key: "job-" + key) for key in ("a", "b", "c")])
    # The pause between two reads is a minute long; the runner still asks at least every second.
    assert 7.5 <= now[0] <= 8.5
    assert [(outcome.status, outcome.jobid) for outcome in outcomes] == [("submitted", "job-a"), ("submitted", "job-b"), ("not_submitted", None)]
    assert ended == []


def _judged_off_the_round(failing: set[str], read_wait: float) -> list[str]:
    """Two tasks through a window of one whose ended jobs are read back in a pool (``prepare``'s futures): the order of
    the submits, the reads and the judgements. The read of job-a waits until job-b is submitted, or ``read_wait``."""
    events: list[str] = []
    submitted_b = threading.Event()

    class Client:
        def query_job(self, jobid, attempts=1):
            return {"jobid": jobid, "jobstatus": 2 if jobid in failing else 1, "jobresult": {}}

    def submit(key):
        events.append("submit " + key)
        if key == "b":
            submitted_b.set()
        return "job-" + key

    def read(outcome):
        submitted_b.wait(read_wait if outcome.key == "a" else 0)
        events.append("read " + outcome.key)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runner = JobRunner(
            Client(),
            parallel=1,
            poll_interval=0.05,
            first_poll=0.01,
            prepare=lambda ended: [pool.submit(read, outcome) for outcome in ended],
            on_complete=lambda outcome: events.append("judge %s %s" % (outcome.key, outcome.status)),
        )
        outcomes = runner.run([JobTask(key=key, submit=lambda key=key: submit(key)) for key in ("a", "b")])
    assert [outcome.status for outcome in outcomes] == ["failed" if "job-" + outcome.key in failing else "succeeded" for outcome in outcomes]
    return events


def test_a_job_that_succeeded_is_judged_once_its_read_is_in_while_its_slot_takes_the_next_task():
    events = _judged_off_the_round(set(), read_wait=5.0)
    assert events.index("submit b") < events.index("read a") < events.index("judge a succeeded")
    assert events.count("judge a succeeded") == events.count("submit a") == events.count("submit b") == 1


def test_a_job_that_failed_holds_every_submit_until_it_is_judged():
    events = _judged_off_the_round({"job-a"}, read_wait=0.3)
    assert events.index("read a") < events.index("judge a failed") < events.index("submit b")


def test_a_runner_that_lets_go_leaves_a_job_not_yet_judged_submitted():
    release = threading.Event()
    judged = []

    class Client:
        def query_job(self, jobid, attempts=1):
            return {"jobid": jobid, "jobstatus": 1}

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        runner = JobRunner(
            Client(),
            parallel=1,
            poll_interval=0.05,
            first_poll=0.01,
            prepare=lambda ended: [pool.submit(release.wait, 5.0) for _outcome in ended],
            on_complete=judged.append,
            abandon=lambda: time.monotonic() - started > 0.3,
        )
        outcomes = runner.run([JobTask(key="a", submit=lambda: "job-a")])
        release.set()
    assert [(outcome.status, outcome.jobid) for outcome in outcomes] == [("submitted", "job-a")]
    assert judged == []
