# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The failure limit and outcome bookkeeping of the job waiter (the waiting itself is tested against the simulator)."""

from __future__ import annotations

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
