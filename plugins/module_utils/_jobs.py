# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Follow many CloudStack async jobs at once.

At most ``parallel`` jobs are in flight. Each round polls all of them with one ``listAsyncJobs`` page (or a
few ``queryAsyncJobResult`` calls when only a few are in flight). The server lists the jobs of a whole day in
creation order (``startdate`` is read to the day), so the runner keeps where its jobs are in that list and reads
only the page that holds them: the cost of a round does not grow with the jobs of the day. The pause between
rounds follows the rate at which jobs end, so that a round sees a few ends (few reads per job) while a freed slot
waits a small part of a job's duration for its successor; it stays between a short first wait and
``poll_interval``. Every job has a timeout and the whole run a deadline, so no wait is unbounded; the clock runs
through the requests too (a slow API does not stretch a deadline by a round of reads), and a job is declared
timed out only from a state read after its time was up (or when every read of it failed for UNREAD_ROUNDS pauses
of ``poll_interval`` after that). A caller that must let go (its run is gone) is asked at least every ABANDON_CHECK
seconds, however long the pause. The reads that judge a job that ended (its target read back, fresh health checks) may
run off the round (``prepare`` returns their futures): the window refills while they run, and a job is judged once its
reads are in.
"""

from __future__ import annotations

import datetime
import time
import typing as t
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackError, UnknownOutcomeError

PENDING, SUCCEEDED, FAILED, CANCELLED = 0, 1, 2, 3
STATUS_NAMES = {SUCCEEDED: "succeeded", FAILED: "failed", CANCELLED: "cancelled"}

# Outcome statuses a caller can see.
# submit_failed: the server refused the submit, nothing started; outcome_unknown: its answer was lost and could not be settled.
OUTCOMES = ("succeeded", "failed", "cancelled", "timed_out", "submit_failed", "outcome_unknown", "not_submitted", "submitted")
FAILURES = frozenset(("failed", "cancelled", "timed_out", "submit_failed", "outcome_unknown"))

# A poll read that fails is retried once by the client; the next round reads again anyway.
POLL_ATTEMPTS = 2

# With this many jobs in flight, one listAsyncJobs per round is cheaper than a queryAsyncJobResult per job.
LIST_THRESHOLD = 4
# Seconds listed before the oldest job in flight was submitted (the server's clock may be behind the controller's).
LIST_MARGIN = 10
# Pages of the job list a round reads at most to find the jobs in flight; a job further back is read by itself.
LIST_PAGES = 2
# Rounds at the longest pause a job past its time waits for a read of its state that succeeds, before it is reported
# timed out without one (the API stays down).
UNREAD_ROUNDS = 2
# Ends a round should see when the window is full: more means fewer reads per job, a slot waiting longer for its
# successor. A freed slot waits half a round on average, that is ENDS_PER_ROUND / (2 * parallel) of a job's duration.
ENDS_PER_ROUND = 2.0
# Longest sleep between two questions to ``abandon``: a runner whose run is gone returns within about this long.
ABANDON_CHECK = 1.0


@dataclass
class JobTask:
    """One unit of work: ``submit()`` starts it and returns the job id, or ``jobid`` follows a job already queued."""

    key: str
    submit: t.Callable[[], str] | None = None
    jobid: str | None = None
    context: t.Any = None


@dataclass
class JobOutcome:
    key: str
    status: str = "not_submitted"
    jobid: str | None = None
    result: dict[str, t.Any] = field(default_factory=dict)
    errortext: str | None = None
    started: float | None = None
    finished: float | None = None
    context: t.Any = None
    # When the job's time is up (its timeout or the run deadline), and when its last state read began.
    due: float | None = field(default=None, repr=False)
    read_at: float | None = field(default=None, repr=False)
    # Its index in the server's job list of the day (exact once seen there, else the least it can be), or None.
    position: int | None = field(default=None, repr=False)
    # Wall-clock start and end (ISO-8601 UTC) for reports; ``started``/``finished`` are on the runner's clock.
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILURES

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return round(self.finished - self.started, 3)

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "key": self.key,
            "status": self.status,
            "jobid": self.jobid,
            "errortext": self.errortext,
            "duration": self.duration,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def _wall_clock() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def failure_exceeded(total: int, outcomes: t.Iterable[JobOutcome], max_fail_percentage: float) -> bool:
    """Whether failed jobs are more than ``max_fail_percentage`` percent of the ``total`` targets of a run (Ansible's meaning)."""
    failed = sum(1 for outcome in outcomes if outcome.failed)
    return total > 0 and 100.0 * failed / total > max_fail_percentage


class JobRunner:
    """Submit tasks with at most ``parallel`` jobs in flight and follow them to the end.

    ``on_complete(outcome)`` runs as each job ends and may turn a success into a failure (a verification that
    found nothing changed); it may return follow-up tasks (a fallback on the same target, started only now that
    its first job has ended), which are submitted before the rest of the queue. ``should_stop(outcomes)`` is
    asked before each new submission, so a ``max_fail_percentage`` stops new work while the jobs already running
    are followed to their end. There is no barrier: a slot that frees up takes the next task at once.

    ``prepare(ended)`` sees the jobs that ended in a round before ``on_complete`` runs for each. It may return, for each of
    them, a future of the reads that judging it needs (or None): a job whose future is not done is judged when it is,
    between rounds, while its slot already takes the next task; its target has left the queue, so nothing acts on it
    again meanwhile. A job that did not succeed holds every submit until it is judged, as its failure may stop the run.

    ``abandon()`` is asked before each round, after each read of the jobs and at least every ABANDON_CHECK seconds of
    a pause: once it answers True, the runner returns at once, without ``on_complete`` for the jobs in flight. Their
    outcomes say ``submitted`` (with the job id): what became of them is for a later run to read.
    """

    def __init__(
        self,
        client: t.Any,
        parallel: int = 5,
        poll_interval: float = 5.0,
        job_timeout: float = 600.0,
        deadline: float = 3600.0,
        first_poll: float | None = None,
        on_complete: t.Callable[[JobOutcome], t.Iterable[JobTask] | None] | None = None,
        should_stop: t.Callable[[list[JobOutcome]], bool] | None = None,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
        workers: int = 1,
        prepare: t.Callable[[list[JobOutcome]], list[Future | None] | None] | None = None,
        abandon: t.Callable[[], bool] | None = None,
    ):
        if parallel < 1:
            raise ValueError("parallel must be at least 1, not %s" % parallel)
        if poll_interval <= 0 or job_timeout <= 0 or deadline <= 0:
            raise ValueError("poll_interval, job timeout and deadline must be positive")
        self.client = client
        self.parallel = parallel
        self.poll_interval = poll_interval
        self.first_poll = min(first_poll if first_poll is not None else poll_interval / 8, poll_interval)
        self.job_timeout = job_timeout
        self.deadline = deadline
        self.on_complete = on_complete
        self.should_stop = should_stop
        self._clock = clock
        self._sleep = sleep
        # Requests sent at once when several slots are free (submits); ``prepare(ended)`` sees the jobs that ended in
        # a round before ``on_complete`` runs for each, so that a caller can read them back concurrently (see above).
        self.workers = max(1, workers)
        self.prepare = prepare
        self.abandon = abandon
        self.abandoned = False
        self.max_in_flight_seen = 0
        self.poll_calls = 0
        # The job list the rounds read: from the day the run started, and how long it is (None: not known yet).
        self._list_from: datetime.datetime | None = None
        self._list_length: int | None = None
        # Ends per second per job in flight, as the last rounds saw it (None until a round saw an end).
        self.end_rate: float | None = None
        self._ends = 0.0
        self._watched = 0.0

    def run(self, tasks: t.Iterable[JobTask], wait: bool = True) -> list[JobOutcome]:
        tasks = list(tasks)
        outcomes = [JobOutcome(key=task.key, context=task.context) for task in tasks]
        if not wait:
            for task, outcome in zip(tasks, outcomes):
                self._start(task, outcome)
                if outcome.status == "pending":
                    outcome.status = "submitted"
                else:
                    self._complete(outcome)
            return outcomes

        end_of_run = self._clock() + self.deadline
        queue = list(zip(tasks, outcomes))
        in_flight: dict[str, JobOutcome] = {}
        # Jobs that ended, waiting for the reads that judge them (``prepare``'s futures), in the order they ended.
        parked: list[tuple[JobOutcome, Future]] = []
        interval = self.first_poll
        stopped = False
        if len(tasks) >= LIST_THRESHOLD:
            self._measure_list()
        last_round = self._clock()
        pool = ThreadPoolExecutor(max_workers=self.workers) if self.workers > 1 else None
        try:
            while (queue or in_flight or parked) and not self._abandoned():
                queue[:0] = self._judge_ready(parked, outcomes)
                # A job that failed is judged before anything else starts (as without ``prepare``'s futures).
                held = any(outcome.status != "succeeded" for outcome, _future in parked)
                while queue and len(in_flight) < self.parallel and not stopped and not held and self._clock() < end_of_run:
                    if self.should_stop and self.should_stop(outcomes):
                        stopped = True
                        break
                    # Every free slot is filled at once (the stop rules were asked just now, after the last end).
                    burst = queue[: self.parallel - len(in_flight)]
                    del queue[: len(burst)]
                    if pool is not None and len(burst) > 1:
                        list(pool.map(lambda pair: self._start(*pair), burst))
                    else:
                        for task, outcome in burst:
                            self._start(task, outcome)
                    created = self._list_length
                    for _task, outcome in burst:
                        if outcome.status == "pending":
                            # The job's time starts when it exists: settling a lost answer or waiting out refusals is not the job's.
                            outcome.due = min(self._clock() + self.job_timeout, end_of_run)
                            if outcome.position is None and created is not None and not _task.jobid:
                                # A job created now comes after every job listed so far (the burst's order among itself is open).
                                outcome.position = created
                                self._list_length = (self._list_length or 0) + 1
                            in_flight[outcome.jobid] = outcome  # type: ignore[index]
                        else:
                            queue[:0] = self._complete(outcome, outcomes)
                self.max_in_flight_seen = max(self.max_in_flight_seen, len(in_flight))
                if not in_flight and not parked:
                    break
                # The pause runs from the last read: judging what ended and submitting the next jobs is part of it.
                now = self._clock()
                # Up to the next job's time (a job past it whose state could not be read waits the pause, not a busy loop).
                coming = [outcome.due - now for outcome in in_flight.values() if outcome.due > now]  # type: ignore[operator]
                pause = max(0.0, min([last_round + interval - now] + coming)) if in_flight else self.poll_interval
                round_at = now + pause
                if not self._pause(pause, [future for _outcome, future in parked]):
                    break
                if parked and (not in_flight or self._clock() < round_at):
                    # A parked job's reads are in before the round is due: judge it (and fill its slot) first.
                    continue
                finished_any = self._poll(in_flight)
                # A job whose time ran out while the round read it (a slow API) is read once more: its state then is its last.
                overdue = {jobid: outcome for jobid, outcome in in_flight.items() if outcome.status == "pending" and self._is_overdue(outcome)}
                if overdue:
                    finished_any |= self._poll(overdue)
                if self._abandoned():
                    break
                now = self._clock()
                ended = []
                for jobid, outcome in list(in_flight.items()):
                    if outcome.status == "pending" and outcome.read_at is not None and outcome.read_at >= outcome.due:  # type: ignore[operator]
                        outcome.status = "timed_out"
                        limit = "the run deadline of %ss" % self.deadline if outcome.due >= end_of_run else "the job timeout of %ss" % self.job_timeout
                        outcome.errortext = "job %s still running after %s; it may still finish on the management server" % (jobid, limit)
                    elif outcome.status == "pending" and now >= outcome.due + UNREAD_ROUNDS * self.poll_interval:  # type: ignore[operator]
                        # Every read since its time was up failed: the run does not wait on the API for ever.
                        outcome.status = "timed_out"
                        limit = "the run deadline of %ss" % self.deadline if outcome.due >= end_of_run else "the job timeout of %ss" % self.job_timeout
                        outcome.errortext = "job %s: its state could not be read after %s; it may have ended or still run" % (jobid, limit)
                    if outcome.status != "pending":
                        outcome.finished, outcome.finished_at = now, _wall_clock()
                        del in_flight[jobid]
                        ended.append(outcome)
                futures = self.prepare(ended) if ended and self.prepare is not None else None
                for outcome, future in zip(ended, futures or [None] * len(ended)):
                    if future is not None and not future.done():
                        parked.append((outcome, future))
                    else:
                        if future is not None:
                            future.result()
                        queue[:0] = self._complete(outcome, outcomes)
                interval = self._next_interval(interval, len(ended), now - last_round, finished_any, len(in_flight))
                last_round = now
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        for outcome in [*in_flight.values(), *(outcome for outcome, _future in parked)]:
            # Whatever its last read said, this run started it and did not follow it to its end (or did not judge it).
            outcome.status = "submitted"
        for _task, outcome in queue:
            if outcome.status == "not_submitted":
                why = "the run let go" if self.abandoned else "the failure limit was reached" if stopped else "the run deadline passed"
                outcome.errortext = "not submitted: %s" % why
        return outcomes

    def _abandoned(self) -> bool:
        self.abandoned = self.abandoned or (self.abandon is not None and self.abandon())
        return self.abandoned

    def _pause(self, seconds: float, futures: list[Future] | None = None) -> bool:
        """Sleep ``seconds``, asking ``abandon`` at least every ABANDON_CHECK seconds; False when it answered True.

        With ``futures`` (parked jobs' reads), the pause ends early as soon as one of them is done."""
        if self.abandon is None and not futures:
            self._sleep(seconds)
            return True
        end = self._clock() + seconds
        while not self._abandoned():
            left = end - self._clock()
            if left <= 0 or (futures and any(future.done() for future in futures)):
                return True
            if futures:
                wait_futures(futures, timeout=min(ABANDON_CHECK, left), return_when=FIRST_COMPLETED)
            else:
                self._sleep(min(ABANDON_CHECK, left))
        return False

    def _judge_ready(self, parked: list[tuple[JobOutcome, Future]], outcomes: list[JobOutcome]) -> list[tuple[JobTask, JobOutcome]]:
        """``on_complete`` for the parked jobs whose reads are in, in the order they ended; their follow-up tasks."""
        follow: list[tuple[JobTask, JobOutcome]] = []
        for entry in [entry for entry in parked if entry[1].done()]:
            parked.remove(entry)
            entry[1].result()  # a read that raised (not an API error: those are the caller's) ends the run as it would have
            follow[:0] = self._complete(entry[0], outcomes)
        return follow

    def _next_interval(self, interval: float, ends: int, elapsed: float, finished_any: bool, in_flight: int) -> float:
        """The pause before the next round.

        From how often a job in flight ends (a moving average over the rounds, per job, so that it holds while the
        window fills or drains): long enough for a round to see about ENDS_PER_ROUND ends with a full window, a
        quarter of a job's expected duration with a single job (each of the few jobs is then read by itself), within
        [first_poll, poll_interval]. Until a job has ended, the pause doubles from the first wait (the jobs' length is
        not known yet).
        """
        watched = in_flight + ends
        if elapsed > 0 and watched:
            # Ends over job-seconds watched, older rounds weighing less: a ratio, so a round without an end lowers it
            # by its share of the time, not by a fixed step.
            self._ends = self._ends * 0.95 + ends
            self._watched = self._watched * 0.95 + elapsed * watched
            if self._ends:
                self.end_rate = self._ends / self._watched
        if not in_flight:
            return self.first_poll
        if not self.end_rate:
            return max(self.first_poll, interval / 2) if finished_any else min(interval * 2, self.poll_interval)
        wanted = min(ENDS_PER_ROUND, max(0.25, in_flight / 4.0))
        return max(self.first_poll, min(self.poll_interval, wanted / (self.end_rate * in_flight)))

    def _measure_list(self, since: datetime.datetime | None = None) -> None:
        """How long the server's job list of the day of ``since`` is now: the jobs submitted after come after that index.

        Before the first submit ``since`` is now (less the margin for the server's clock); when that read failed, the
        next round measures again from its oldest job in flight, so one failed read does not cost the whole run.
        """
        self._list_from = since or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=LIST_MARGIN)
        try:
            self.poll_calls += 1
            _jobs, self._list_length = self.client.jobs_page(self._list_from, 1, 1, attempts=POLL_ATTEMPTS)
        except (CloudStackError, AttributeError):
            self._list_length = None

    def _list(self, in_flight: dict[str, JobOutcome]) -> dict[str, dict[str, t.Any]]:
        """The jobs in flight that the pages of the job list holding them show (one page in a steady window).

        A job seen gets its exact index; one not seen (further back than the pages worth reading, or not in the list:
        a server clock behind by more than the margin) is read by itself (``queryAsyncJobResult``) by the caller.
        """
        limit = max(1, int(getattr(self.client, "page_size", 500) or 500))
        if self._list_length is None:
            self._measure_list(self._since(in_flight))
            if self._list_length is None:
                raise CloudStackError("listAsyncJobs", 0, "the job list could not be read; each job is read by itself this round")
        end = self._list_length
        known = sorted(outcome.position for outcome in in_flight.values() if outcome.position is not None and outcome.position >= end - LIST_PAGES * limit)
        start = _cheapest_start(known, end, limit) if known else max(0, end - len(in_flight))
        seen: dict[str, dict[str, t.Any]] = {}
        before = {jobid: outcome.position for jobid, outcome in in_flight.items()}
        read_to = None
        for page, size in _cover(start, max(end, start + 1), limit):
            self.poll_calls += 1
            jobs, length = self.client.jobs_page(self._list_from, page, size, attempts=POLL_ATTEMPTS)
            self._locate(jobs, (page - 1) * size, in_flight, seen)
            self._list_length, read_to = length, (page - 1) * size + len(jobs)
        # Jobs created meanwhile by others push the newest of ours past the page read: one more page covers them.
        missing = [outcome for jobid, outcome in in_flight.items() if jobid not in seen and (outcome.position or 0) >= start]
        if missing and read_to is not None and self._list_length > read_to:
            for page, size in _cover(read_to, self._list_length, limit)[:1]:
                self.poll_calls += 1
                jobs, self._list_length = self.client.jobs_page(self._list_from, page, size, attempts=POLL_ATTEMPTS)
                self._locate(jobs, (page - 1) * size, in_flight, seen)
        # Finished jobs expire from the head of the list (AsyncJobManagerImpl's collector, job.expire.minutes): the list
        # is shorter than it was, the jobs seen moved down, and so did the ones not seen (this round reads those by
        # themselves; without the shift, every round would until they end).
        moved = (before[jobid] - in_flight[jobid].position for jobid in seen if before[jobid] is not None)
        shift = max(end - self._list_length, *moved, 0)  # type: ignore[operator]
        if shift > 0:
            for jobid, outcome in in_flight.items():
                if jobid not in seen and outcome.position is not None:
                    outcome.position = max(0, outcome.position - shift)
        return seen

    @staticmethod
    def _locate(jobs: list[dict[str, t.Any]], first: int, in_flight: dict[str, JobOutcome], seen: dict[str, dict[str, t.Any]]) -> None:
        for index, job in enumerate(jobs):
            outcome = in_flight.get(job.get("jobid"))  # type: ignore[arg-type]
            if outcome is not None:
                outcome.position = first + index
                seen[job["jobid"]] = job

    def _since(self, in_flight: dict[str, JobOutcome]) -> datetime.datetime:
        """The creation time to list jobs from: the oldest job in flight, with a margin for the server's clock.

        Moving it forward keeps each listAsyncJobs to the jobs of the last moments, whatever the length of the run. A job
        the list misses (a server clock further behind than the margin) is still read, with queryAsyncJobResult.
        """
        oldest = self._clock() - min(outcome.started for outcome in in_flight.values())  # type: ignore[type-var]
        return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=oldest + LIST_MARGIN)

    def _is_overdue(self, outcome: JobOutcome) -> bool:
        """Its time is up, and its last state read began before that."""
        return self._clock() >= outcome.due and (outcome.read_at is None or outcome.read_at < outcome.due)  # type: ignore[operator]

    def _start(self, task: JobTask, outcome: JobOutcome) -> None:
        outcome.started, outcome.started_at = self._clock(), _wall_clock()
        if task.jobid:
            outcome.jobid, outcome.status = task.jobid, "pending"
            return
        try:
            outcome.jobid = task.submit()  # type: ignore[misc]
            outcome.status = "pending"
        except UnknownOutcomeError as exc:
            outcome.status, outcome.errortext, outcome.finished = "outcome_unknown", exc.message, self._clock()
            outcome.result = exc.as_dict()
        except CloudStackError as exc:
            outcome.status, outcome.errortext, outcome.finished, outcome.finished_at = "submit_failed", exc.message, self._clock(), _wall_clock()
            outcome.result = exc.as_dict()

    def _complete(self, outcome: JobOutcome, outcomes: list[JobOutcome] | None = None) -> list[tuple[JobTask, JobOutcome]]:
        """Run ``on_complete``; the follow-up tasks it returns become outcomes of the run, to submit next."""
        follow = self.on_complete(outcome) if self.on_complete is not None else None
        added = [(task, JobOutcome(key=task.key, context=task.context)) for task in follow or ()]
        if outcomes is not None:
            outcomes.extend(added_outcome for _task, added_outcome in added)
        return added

    def _poll(self, in_flight: dict[str, JobOutcome]) -> bool:
        """Read the state of every job in flight; True when at least one ended."""
        seen: dict[str, dict[str, t.Any]] = {}
        # ``read_at`` is when the last read that returned the job's state began: a failed read is not one.
        if len(in_flight) >= LIST_THRESHOLD:
            started = self._clock()
            try:
                seen = self._list(in_flight)
            except CloudStackError:
                seen = {}  # fall back to one query per job below
            for jobid in seen:
                in_flight[jobid].read_at = started
        finished = False
        for jobid, outcome in in_flight.items():
            job = seen.get(jobid)
            if job is None:
                self.poll_calls += 1
                started = self._clock()
                try:
                    job = self.client.query_job(jobid, attempts=POLL_ATTEMPTS)
                except CloudStackError as exc:
                    if exc.status in (431, 530) and "job" in exc.errortext.lower():
                        outcome.status, outcome.errortext, outcome.read_at = "failed", exc.message, started
                        finished = True
                    continue  # transient trouble: the client already retried; ask again next round
                outcome.read_at = started
            finished |= self._record(outcome, job)
        return finished

    @staticmethod
    def _record(outcome: JobOutcome, job: dict[str, t.Any]) -> bool:
        status = int(job.get("jobstatus", PENDING))
        if status == PENDING:
            return False
        result = job.get("jobresult") or {}
        outcome.result = result if isinstance(result, dict) else {"value": result}
        outcome.status = STATUS_NAMES.get(status, "failed")
        if outcome.status != "succeeded":
            outcome.errortext = outcome.result.get("errortext") or "job %s ended with jobstatus %s" % (outcome.jobid, status)
        return True


def _cheapest_start(known: list[int], end: int, limit: int) -> int:
    """Where a round starts reading the job list, given the sorted indexes of its jobs in flight.

    Reading from the oldest job costs pages holding every job created since (one long job among short ones would
    make each round read hundreds of others); leaving the oldest few out costs one ``queryAsyncJobResult`` each. A
    call counts 1, and each row read 4 / ``limit`` (a full page costs as much as five calls: every row is a job with its
    result, read from a join view).
    """
    best: tuple[float, int] | None = None
    for skipped, start in enumerate(known):
        if skipped and start == known[skipped - 1]:
            continue
        cost = skipped + sum(1 + 4.0 * size / limit for _page, size in _cover(start, max(end, start + 1), limit))
        if best is None or cost < best[0]:
            best = (cost, start)
    return best[1] if best is not None else end


def _cover(start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """(page, pagesize) pairs whose pages hold the list's items from index ``start`` to ``end`` (excluded).

    One page when a page size up to ``limit`` can hold that range, else consecutive pages of ``limit``.
    """
    width = max(1, end - start)
    for size in range(width, limit + 1):
        page = start // size + 1
        if page * size >= end:
            return [(page, size)]
    return [(page, limit) for page in range(start // limit + 1, (end - 1) // limit + 2)]
