# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The upgrade engine: one stage of one group of the plan, as a rolling window of jobs.

A stage (``systemvms``, ``canary`` or ``routers`` of a group) is run by one call of :class:`StageRunner`:

* up to ``parallel`` jobs are in flight; the next target is submitted as soon as one ends (no barrier per batch);
* per target: act (the path the plan decided) -> verify the versions -> judge its routers' health against their own
  state before the act -> on failure, the fallback the policy asks for, only once the first job has ended -> record;
  the server stores health results only every ``router.health.checks.results.fetch.interval`` minutes, so results
  older than the act are replaced by fresh checks (``performfreshchecks``); when those are refused, or health checks
  are disabled on the server, the target's health after is recorded as not yet known, never as passed;
* every submit and every end is written to the journal at once (fsync), with the job id, so a rerun adopts the jobs
  still in flight instead of submitting again, and never repeats a finished target;
* the stop rules (a failed canary, a health regression, ``on_failure: stop``, ``max_fail_percentage``) are evaluated
  after every target and stop submitting at once; so do a closed maintenance window and the run's deadline;
* the end of the process that runs the playbook, or another run taking the state lock over, make the stage let go
  within a second: it stops following its jobs and writes nothing more, so that its jobs in flight stay ``submitted``
  in the journal for the next run to adopt (a run that ends while this one still journals would record them twice).

The decision of each target's path is the plan's (:mod:`_plan`, from :mod:`_matrix`); nothing here decides it again.
A lock next to the journal keeps two runs from acting on the same state.
"""

from __future__ import annotations

import datetime
import math
import threading
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor

from ansible_collections.acs.upgrade.plugins.module_utils._actions import (
    Path,
    action_for,
    router_order,
    routers_recreated_problems,
    settle_queued_job,
    systemvm_recreated_problem,
    upgraded_job_ids,
)
from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackError, job_command, parse_cs_time
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Router, SystemVm, with_projects
from ansible_collections.acs.upgrade.plugins.module_utils._health import checks_from_api, parse_timestamp
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import ABANDON_CHECK, JobOutcome, JobRunner, JobTask
from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import Target as PatchTarget
from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import judge_systemvm, judge_unit
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    MIN_TEMPLATE_SETTING,
    REFUSED_ACTION,
    REFUSED_BY_SERVER,
    is_current,
    router_facts,
    server_accepts,
    systemvm_facts,
)
from ansible_collections.acs.upgrade.plugins.module_utils._state import EngineError, Journal, RunLock
from ansible_collections.acs.upgrade.plugins.module_utils._progress import duration
from ansible_collections.acs.upgrade.plugins.module_utils._plan import (
    JOURNAL_PATHS,
    STAGES,
    VERSION_CHECK_PREFIX,
    journal_state,
    livepatch_failed,
    target_outcome,
    vms_after,
    window_status,
)

ON_FAILURE = ("stop", "continue", "recreate")
UNHEALTHY = ("skip", "stop", "ignore")
# The journal's vocabulary: a target is submitted (its job in flight), then done, failed, skipped (not acted on, with
# the reason) or unknown (its job outlived the timeout: it may still finish; a rerun follows it).
IN_FLIGHT = ("submitted", "unknown")
# API requests sent at once for the submits of free slots and the reads after jobs that ended together (a management
# server serves many API requests at once; its job threads, not its API threads, bound the jobs that run).
API_THREADS = 8
# Up to this many networks/VPCs in a stage, their routers are read one network/VPC at a time before they are acted on
# (a canary); more, and the routers of their zones are read page by page.
TARGETED_READS = 10
# The commands whose jobs act on a target, by kind (listAsyncJobs ``cmd``: the class name, lower case, without "cmd").
# A job of one of them on a target, that this journal does not know, is followed instead of acting again.
ACTING_COMMANDS = {
    "network": ("restartnetwork",),
    "vpc": ("restartvpc",),
    "systemvm": ("patchsystemvm", "rebootsystemvm", "stopsystemvm", "startsystemvm", "destroysystemvm", "migratesystemvm"),
}
# Jobs on one router of a network or VPC (upgradeRouterTemplate queues rebootRouter jobs of the router's account and the
# SYSTEM user, which listAsyncJobs shows only with listall=true): while one runs, its network or VPC is not acted on.
ROUTER_COMMANDS = ("rebootrouter", "stoprouter", "startrouter", "destroyrouter")
# Jobs created this long before the run's first act are looked at too (a management server's clock a little behind).
JOB_MARGIN = 120
# The global setting that lets CloudStack run and return router health checks (VirtualNetworkApplianceManager, 4.18.0.0).
HEALTH_ENABLED = "router.health.checks.enabled"


# What a stage's summary adds to its counts when it happened.
_NOTES = (
    ("earlier_run", "by an earlier run"),
    ("found_done", "found upgraded by a job of no run of this journal"),
    ("fallbacks", "recreated after a failed live patch"),
    ("adopted", "followed from an earlier run"),
)


def _failing(routers: t.Iterable[dict[str, t.Any]]) -> set[str]:
    """The failing health checks' names. router_version_check.py is left out: it compares the router with its own recorded
    versions (systemvm/debian/root/health_checks, 4.18.0.0), so it proves nothing about an upgrade either way."""
    failing = set()
    for router in routers:
        for check in checks_from_api(router.get("healthcheckresults")):
            if check.failing and not check.name.startswith(VERSION_CHECK_PREFIX):
                failing.add(check.name)
    return failing


def _describe(failing: set[str] | None) -> str:
    return "passed" if not failing else "fails " + ", ".join(sorted(failing))


class _Work:
    """One target of the stage: the plan's item, the path it is on now, and its before-state."""

    def __init__(self, item: dict[str, t.Any], batch: int, path: str):
        self.item = item
        self.batch = batch
        self.path = path
        # The action table's entry for it on this path (the item's legacy method, or the kind's default).
        self.action = action_for(path, item["kind"], item.get("method") if path == Path.LEGACY else None)
        # A per-router action's routers still to act on, in order (BACKUP first), once the first one's call is made.
        self.queue: list[dict[str, t.Any]] = []
        # The router a per-router action's call is on now (named in its messages).
        self.acting_on: str | None = None
        self.before: list[dict[str, t.Any]] = []
        self.before_failing: set[str] = set()
        self.fell_back = False
        # Its job was started by someone else than this journal's run (found in listAsyncJobs): which act it was is unknown.
        self.foreign = False
        # Its routers (or system VM) read back after its job, by the round's concurrent reads, or the error of that read.
        self.after: list[dict[str, t.Any]] | None = None
        self.after_error: CloudStackError | None = None
        # When its job started (wall clock, ISO-8601), and why its routers' health after it is not known (or None).
        self.started_at: str | None = None
        self.health_unknown: str | None = None

    @property
    def key(self) -> str:
        return self.item["key"]

    @property
    def is_unit(self) -> bool:
        return self.item["kind"] in ("network", "vpc")


# ---------------------------------------------------------------------------------------------- the stage


class StageRunner:
    """Run one stage of one group of a plan; see the module docstring."""

    def __init__(
        self,
        client: t.Any,
        plan: dict[str, t.Any],
        journal: Journal,
        group: str,
        stage: str,
        parallel: int = 50,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_failure: str = "recreate",
        max_fail_percentage: float = 0.0,
        health_gate: bool = True,
        unhealthy: str = "skip",
        max_wait: float = 3600.0,
        paths: t.Sequence[str] = JOURNAL_PATHS,
        check_mode: bool = False,
        progress: t.Callable[[str], None] | None = None,
        progress_every: int = 100,
        alive: t.Callable[[], bool] | None = None,
        state_lock: RunLock | None = None,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
        now: t.Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
    ):
        if stage not in STAGES:
            raise EngineError("stage must be one of %s, got %r" % ("|".join(STAGES), stage))
        self.client = client
        self.plan = plan
        self.journal = journal
        self.group = group
        self.stage = stage
        self.parallel = parallel
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.on_failure = on_failure
        self.max_fail_percentage = max_fail_percentage
        self.health_gate = health_gate
        self.unhealthy = unhealthy
        self.max_wait = max_wait
        self.paths = tuple(paths)
        self.check_mode = check_mode
        self._progress = progress
        self.progress_every = max(1, int(progress_every))
        self._alive = alive
        self._state_lock = state_lock
        # Why the stage let go (its run is gone, or another run holds the lock), once it has.
        self.let_go: str | None = None
        self._lost_lock = False
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self.ms_version = plan["ms_version"]
        # Each zone's minreq.sysvmtemplate.version as the plan read it: the current template of the zone.
        self.min_template: dict[str, t.Any] = plan.get("min_template") or {}
        # What NetworkHelperImpl.checkRouterVersion reads, as the plan read it (see _plan.build_plan "server").
        self.server = plan.get("server") or {}
        self.run = plan.get("run") or {}
        self.batches = [batch for batch in plan["batches"] if batch["group"] == group and batch["stage"] == stage]
        self.items = {item["key"]: item for item in plan["items"]}
        self.counts = {
            "targets": 0,
            "done": 0,
            "failed": 0,
            "refused": 0,
            "skipped": 0,
            "unknown": 0,
            "not_run": 0,
            "earlier_run": 0,
            "adopted": 0,
            "fallbacks": 0,
            "found_done": 0,
        }
        self.stop_reason: str | None = None
        self.left_reason: str | None = None
        self.failures: list[str] = []
        self.warnings: list[str] = []
        self.lines: list[str] = []
        self.in_flight = 0
        self.ended = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._started = clock()
        self._planned = [item["key"] for item in plan["items"] if item["path"] != Path.SKIP]
        self._final: dict[str, str] = {}
        # Why the routers' health cannot be known in this stage (router.health.checks.enabled is false), or None.
        self._health_unknown: str | None = None

    # -- progress

    def _line(self, force: bool = False) -> None:
        total = self.counts["targets"]
        finished = self.counts["done"] + self.counts["failed"] + self.counts["refused"] + self.counts["skipped"] + self.counts["unknown"]
        if not force and (finished == 0 or finished % self.progress_every):
            return
        elapsed = self._clock() - self._started
        remaining = total - finished
        eta = ""
        if finished and remaining > 0 and self.ended:
            eta = ", ETA %s" % duration(elapsed / self.ended * remaining)
        line = "%s %s: %s/%s done, %d failed, %d in flight%s" % (
            self.group,
            self.stage,
            format(self.counts["done"], ","),
            format(total, ","),
            self.counts["failed"] + self.counts["refused"] + self.counts["unknown"],
            self.in_flight,
            eta,
        )
        self.lines.append(line)
        if self._progress and not self._letting_go():
            self._progress(line)

    # -- journal

    def _record(self, work: _Work, status: str, **fields: t.Any) -> None:
        # Once the stage lets go, only the submit of a job that now runs is still journalled (without it, the next run
        # would act on the target again), and only while the lock is this run's.
        if self._letting_go() and (status != "submitted" or self._lock_lost()):
            return
        entry = {
            "key": work.key,
            "name": work.item["name"],
            "ms_version": self.ms_version,
            "run": self.run.get("id"),
            "attempt": self.run.get("attempt"),
            "batch": work.batch,
            "group": self.group,
            "stage": self.stage,
            "path": work.path,
            "status": status,
            **({"method": work.action.method} if work.item.get("method") and work.path == Path.LEGACY else {}),
            "time": self._now().isoformat(timespec="seconds"),
        }
        entry.update(fields)
        self.journal.append(entry)

    # -- the stop rules and the conditions to keep submitting

    def _failed_share_exceeded(self) -> tuple[bool, str]:
        failed = [key for key, status in self._final.items() if status in ("failed", "refused", "unknown")]
        if not self._planned:
            return False, ""
        share = 100.0 * len(failed) / len(self._planned)
        return share > self.max_fail_percentage, "%d of %d planned items failed (%.0f%%, limit %s%%)" % (
            len(failed),
            len(self._planned),
            share,
            format(self.max_fail_percentage, "g"),
        )

    def _stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def _judge_stop(self, work: _Work, status: str, reason: str, regression: bool) -> None:
        if status not in ("failed", "refused", "unknown"):
            return
        self.failures.append("%s %s: %s" % (work.item["kind"], work.item["name"], reason))
        if regression:
            self._stop("the health of %s %s regressed after its upgrade (%s): the run stops" % (work.item["kind"], work.item["name"], reason))
        elif self.on_failure == "stop":
            self._stop("%s %s failed and on_failure is stop: %s" % (work.item["kind"], work.item["name"], reason))
        elif self.stage == "canary":
            self._stop("the canary %s %s failed (%s): nothing else is upgraded; fix it, then run again" % (work.item["kind"], work.item["name"], reason))
        else:
            exceeded, message = self._failed_share_exceeded()
            if exceeded:
                self._stop("the failure limit is reached: %s" % message)

    def _deadline_passed(self) -> bool:
        deadline = self.run.get("deadline")
        if not deadline:
            return False
        return self._now() >= datetime.datetime.fromisoformat(deadline)

    def _may_submit(self) -> bool:
        """Asked before every submit: a stop rule, the run's end or deadline, or a closed window stop the submitting."""
        if self.stop_reason or self.left_reason or self._letting_go():
            return False
        if self._deadline_passed():
            self._stop("the run's deadline %s has passed: nothing more is started; run again to continue" % self.run.get("deadline"))
            return False
        return self._window_open(waiting_allowed=self.in_flight == 0)

    def _window_open(self, waiting_allowed: bool) -> bool:
        windows = self.batches[0].get("windows") if self.batches else None
        while True:
            is_open, wait = window_status(windows or [], self._now())
            if is_open:
                return True
            outside = self.plan["settings"].get("outside_window", "wait")
            if not waiting_allowed or wait is None or outside == "skip" or wait > self.max_wait:
                # Not a failure: the group is left for a run inside its window, and the run goes on with the next group.
                self.left_reason = "%s %s is outside its maintenance window%s: %s left for a run inside the window" % (
                    self.group,
                    self.stage,
                    "" if wait is None else " (next opening in %d s)" % wait,
                    "the rest is" if self.ended else "it is",
                )
                return False
            self.lines.append("%s %s: waiting %d s for the maintenance window" % (self.group, self.stage, int(wait) + 1))
            if self._progress and not self._letting_go():
                self._progress(self.lines[-1])
            end = self._clock() + wait + 1
            while self._clock() < end:
                if self._letting_go():
                    return False
                self._sleep(min(ABANDON_CHECK, max(0.0, end - self._clock())))

    # -- letting go: the run is gone, or another run holds the state

    def _lock_lost(self) -> bool:
        """Whether another run holds the state lock now: one read of the small lock file, until it is lost."""
        if not self._lost_lock and self._state_lock is not None and not self._state_lock.held():
            self._lost_lock = True
            self.let_go = (
                "another run took over the state lock %s (%s): this run stopped at once and wrote nothing more; "
                "that run follows the jobs this one left in flight" % (self._state_lock.path, self._state_lock.holder())
            )
            self._stop(self.let_go)
        return self._lost_lock

    def _letting_go(self) -> bool:
        """Whether the stage must let go at once: asked before every journal line, every round and every second of a wait."""
        if self._lock_lost():
            return True
        if self.let_go is None and self._alive is not None and not self._alive():
            self.let_go = (
                "the process that runs the playbook is gone: this stage stopped at once; "
                "its jobs in flight stay submitted in the journal, for the next run to follow"
            )
            self._stop(self.let_go)
        return self.let_go is not None

    # -- reads

    def _read_routers(self, zoneids: t.Iterable[str], health: bool) -> dict[str, dict[str, t.Any]]:
        params: dict[str, t.Any] = {"listall": True}
        if health:
            params["fetchhealthcheckresults"] = True
        found = {}
        for zoneid in sorted(zoneids):
            for router in self.client.list("listRouters", "router", zoneid=zoneid, **with_projects(params)):
                found[router["id"]] = router
        return found

    def _pool_map(self, read: t.Callable[[_Work], t.Any], works: list[_Work]) -> list[t.Any]:
        if len(works) < 2:
            return [read(work) for work in works]
        with ThreadPoolExecutor(max_workers=min(API_THREADS, len(works))) as pool:
            return list(pool.map(read, works))

    def _read_systemvm(self, work: _Work) -> dict[str, t.Any] | None:
        found = self.client.list("listSystemVms", "systemvm", id=work.item["id"])
        return found[0] if found else None

    def _read_unit(self, work: _Work) -> list[dict[str, t.Any]]:
        selector = {"vpcid": work.item["id"]} if work.item["kind"] == "vpc" else {"networkid": work.item["id"]}
        params: dict[str, t.Any] = {"listall": True}
        if self._with_health:
            params["fetchhealthcheckresults"] = True
        return self.client.list("listRouters", "router", **with_projects(dict(params, **selector)))

    # -- the work list

    def _works(self, state: dict[str, dict[str, t.Any]], entries: list[dict[str, t.Any]]) -> tuple[list[_Work], list[tuple[_Work, str]]]:
        """The targets to act on, and the jobs of an earlier attempt still in flight (adopted, not submitted again)."""
        works, adopted = [], []
        patch_failed = {entry["key"] for entry in entries if livepatch_failed(entry)}
        for batch in self.batches:
            for key in batch["items"]:
                item = self.items[key]
                entry = state.get(key)
                path = item["path"]
                if entry and entry.get("status") == "done":
                    self.counts["earlier_run"] += 1
                    continue
                if entry and entry.get("status") in IN_FLIGHT and entry.get("jobid"):
                    work = _Work(item, batch["index"], entry.get("path") or path)
                    work.fell_back = work.path != item["path"]
                    adopted.append((work, entry["jobid"]))
                    continue
                if key in patch_failed and path == Path.LIVEPATCH:
                    # Its live patch ran and failed (in this run, in livepatch.yml, or before a recreate that failed too):
                    # never live-patched again; the legacy path takes it up.
                    if self.on_failure != "recreate" and Path.LIVEPATCH in self.paths:
                        self.counts["earlier_run"] += 1
                        self._final[key] = "failed"
                        continue
                    path = Path.LEGACY
                if path not in self.paths:
                    continue
                works.append(_Work(item, batch["index"], path))
        return works, adopted

    def _run_since(self, entries: list[dict[str, t.Any]]) -> datetime.datetime:
        """When this run began acting, less a margin for the server's clock: jobs created since may be this run's."""
        moments = [datetime.datetime.fromisoformat(entry["time"]) for entry in entries if entry.get("run") == self.run.get("id") and entry.get("time")]
        for name in ("first_started", "started"):
            if self.run.get(name):
                moments.append(datetime.datetime.fromisoformat(self.run[name]))
        start = min(moments) if moments else self._now()
        return start - datetime.timedelta(seconds=JOB_MARGIN)

    def _jobs_on_targets(self, works: list[_Work], entries: list[dict[str, t.Any]]) -> tuple[dict[str, dict[str, t.Any]], list[dict[str, t.Any]]]:
        """Jobs that this journal does not know on the targets about to be acted on, by target id (the pending one, else
        the newest finished since the run began), and the pending jobs to wait for first: those that name no object
        (``patchSystemVm``) and those on one router of a target (``rebootRouter``, as upgradeRouterTemplate queues them).

        Whoever started them (a killed attempt of this run that could not journal its submit, a lost answer, another
        run, an operator, an interrupted cs_recreate), a target is never acted on while such a job runs, nor again after
        one of its own has ended. The job list is read with listall=true: upgradeRouterTemplate's jobs belong to the
        router's account and the SYSTEM user (VirtualNetworkApplianceManagerImpl.rebootRouters, 4.18.0.0); a project's
        are never listed (QueryManagerImpl.searchForAsyncJobs skips project accounts).
        """
        known = {entry.get("jobid") for entry in entries if entry.get("jobid")}
        since = self._run_since(entries)
        wanted = {work.item["id"]: work for work in works}
        unit_of_router = {router["id"]: work for work in works if work.is_unit for router in work.item.get("routers", [])}
        found: dict[str, dict[str, t.Any]] = {}
        anonymous = []
        for job in self.client.jobs_since(since):
            if job.get("jobid") in known:
                continue
            command = job_command(job)
            pending = int(job.get("jobstatus", 0)) == 0
            created = parse_cs_time(job.get("created"))
            if not pending and (created is None or created < since):
                continue
            instance = job.get("jobinstanceid")
            if not instance:
                if pending and command in ACTING_COMMANDS["systemvm"] and self.stage == "systemvms":
                    anonymous.append(job)
                continue
            if pending and instance in unit_of_router and command in ROUTER_COMMANDS:
                anonymous.append(job)
                continue
            work = wanted.get(instance)
            if work is None or command not in ACTING_COMMANDS[_kind(work.item)]:
                continue
            held = found.get(instance)
            if held is None or (int(held.get("jobstatus", 0)) != 0 and (pending or str(job.get("created")) >= str(held.get("created")))):
                found[instance] = job
        return found, anonymous

    def _took_over(self) -> tuple[datetime.datetime | None, float, t.Any]:
        """When this run took over the lock of a run that died (or None), the client's settle window, and that run's pid."""
        held = (self._state_lock.read() if self._state_lock is not None else None) or {}
        took = held.get("took_over") if isinstance(held.get("took_over"), dict) else {}
        window = float(getattr(self.client, "settle_window", 0) or 0)
        return (datetime.datetime.fromisoformat(took["at"]) if took.get("at") else None), window, took.get("pid")

    def _own_jobs_until(self) -> datetime.datetime | None:
        """Until when a job this journal does not know may be this run's own (its killed attempt's)."""
        began = datetime.datetime.fromisoformat(self.run["started"]) if self.run.get("started") else None
        took, window, _pid = self._took_over()
        if took is not None and began is not None:
            return max(began, took + datetime.timedelta(seconds=window))
        return began

    def _settle_after_takeover(self) -> bool:
        """After taking over the lock of a run that died, wait until the client's settle window has passed since: a
        request that run sent just before it died may still become a job until then, and only then does the job list
        tell everything it started. False when the run is let go while waiting."""
        took, window, pid = self._took_over()
        if took is None or window <= 0:
            return True
        wait = (took + datetime.timedelta(seconds=window) - self._now()).total_seconds()
        if wait <= 0:
            return True
        self.warnings.append(
            "waited %d s before reading the job list: requests of the run whose lock this run took over (pid %s) may become jobs "
            "until the settle window (%d s) after it has passed" % (math.ceil(wait), pid, window)
        )
        end = self._clock() + wait
        while self._clock() < end:
            if self._letting_go():
                return False
            self._sleep(min(1.0, max(0.0, end - self._clock())))
        return True

    def _adopt_jobs(self, works: list[_Work], entries: list[dict[str, t.Any]]) -> tuple[list[_Work], list[tuple[_Work, str]]]:
        """Follow the jobs found on the targets instead of acting (see :meth:`_jobs_on_targets`); a fresh run refuses
        to start while another actor's jobs run on them: two runs must never act on one cloud at once."""
        if not self._settle_after_takeover():
            return [], []
        found, anonymous = self._jobs_on_targets(works, entries)
        pending = [job for job in found.values() if int(job.get("jobstatus", 0)) == 0] + anonymous
        if int(self.run.get("attempt") or 1) > 1:
            # A resumed run follows what its killed attempt left in flight; a job created after this attempt began (and
            # after the settle window of a dead run's requests) is not that attempt's: someone else acts on the cloud now.
            began = self._own_jobs_until()
            pending = [job for job in pending if began is not None and (parse_cs_time(job.get("created")) or began) > began]
        if pending:
            names = {work.item["id"]: "%s %s" % (work.item["kind"], work.item["name"]) for work in works}
            names.update(
                {
                    router["id"]: "router %s of %s %s" % (router.get("name", router["id"]), work.item["kind"], work.item["name"])
                    for work in works
                    if work.is_unit
                    for router in work.item.get("routers", [])
                }
            )
            described = ["%s (job %s, %s)" % (names.get(job.get("jobinstanceid"), job_command(job)), job.get("jobid"), _issuer(job)) for job in pending[:5]]
            self._stop(
                "another run or an operator is acting on this cloud: %d job(s) in flight on targets of this plan that this run did not "
                "start: %s%s; two runs must never act on the same cloud at once: wait until they end (or stop the run that "
                "started them), then run again" % (len(pending), "; ".join(described), " and %d more" % (len(pending) - 5) if len(pending) > 5 else "")
            )
            return [], []
        if anonymous:
            # patchSystemVm names no system VM, a router's reboot names no target: wait for those jobs to end, then each
            # target's state tells whether it still needs its act.
            self.warnings.append(
                "followed %d job(s) that this journal does not know before acting: %s"
                % (len(anonymous), ", ".join("%s (%s)" % (job.get("jobid"), job_command(job)) for job in anonymous))
            )
            JobRunner(
                self.client,
                parallel=len(anonymous),
                poll_interval=self.poll_interval,
                job_timeout=self.timeout,
                deadline=self.timeout,
                clock=self._clock,
                sleep=self._sleep,
                abandon=self._letting_go,
            ).run([JobTask(key=job["jobid"], jobid=job["jobid"]) for job in anonymous])
        adopted = []
        for work in works:
            job = found.get(work.item["id"])
            if job is None:
                continue
            work.foreign = True
            self.warnings.append(
                "%s %s: job %s (%s, %s) was not started by this journal's run; it is followed, not repeated"
                % (work.item["kind"], work.item["name"], job["jobid"], job_command(job), _issuer(job))
            )
            self._record(work, "submitted", jobid=job["jobid"], adopted=True, adopted_from=_issuer(job))
            adopted.append((work, job["jobid"]))
        return [work for work in works if work.item["id"] not in found], adopted

    def _minreq(self, item: t.Mapping[str, t.Any]) -> str | None:
        """The minreq.sysvmtemplate.version of the item's zone, as the plan read it (None: not read)."""
        value = item.get("min_template", self.min_template.get(item.get("zoneid") or ""))
        return None if value is None else str(value)

    def _already_upgraded(self, work: _Work) -> str | None:
        """Why a target needs no act any more (upgraded since the plan, by a job this journal does not know), or None."""
        if work.is_unit:
            running = [router for router in work.before if router.get("state") == "Running"]
            if not running or len(running) < len(work.before):
                return None
            facts = [router_facts(router, self.ms_version, self._minreq(work.item)) for router in running]
            if all(fact.template_current for fact in facts) or (work.path == Path.LIVEPATCH and all(fact.live_patched for fact in facts)):
                return "every router of %s %s already runs the %s: upgraded since the plan, by no job of this run" % (
                    work.item["kind"],
                    work.item["name"],
                    "current template" if all(fact.template_current for fact in facts) else "software of %s" % self.ms_version,
                )
            return None
        if work.path != Path.LIVEPATCH or not work.before:
            return None
        vm = SystemVm.from_api(work.before[0], {})
        if vm.state == "Running" and systemvm_facts(vm, self.ms_version, self._minreq(work.item)).live_patched:
            return "%s already runs the software of %s (agent version %s): patched since the plan, by no job of this run" % (
                work.item["name"],
                self.ms_version,
                vm.version,
            )
        return None

    # -- acting

    def _submitter(self, work: _Work) -> t.Callable[[], str]:
        action = work.action
        if not action.per_router:
            params = action.request(work.item["id"], self.client.has_feature)
            return lambda: self.client.submit(action.command, **params)
        if not work.queue:
            minreq = self._minreq(work.item)
            work.queue = [router for router in router_order(work.before) if not router_facts(router, self.ms_version, minreq).template_current]
        if not work.queue:
            # Every router on the current template, but not all Running (else _already_upgraded): nothing to call for.
            message = "no router of %s %s is below the zone's minimum template; start its stopped routers" % (work.item["kind"], work.item["name"])

            def refuse() -> str:
                raise CloudStackError(action.command, None, message)

            return refuse
        router = work.queue.pop(0)
        work.acting_on = router.get("name", router["id"])

        def submit() -> str:
            answer = self.client.call(
                action.command, _settle=lambda attempt: settle_queued_job(self.client, action.command, router["id"], attempt), id=router["id"]
            )
            jobs = upgraded_job_ids(answer)
            if not jobs:
                raise CloudStackError(
                    action.command,
                    530,
                    "CloudStack queued no reboot for router %s (template %s): router.version.check is false, or the router is not Running"
                    % (router.get("name", router["id"]), router.get("version")),
                )
            return jobs[0]

        return submit

    def _task(self, work: _Work, jobid: str | None = None) -> JobTask:
        submit = None if jobid else self._guarded(work)
        return JobTask(key=work.key, submit=submit, jobid=jobid, context=work)

    def _guarded(self, work: _Work) -> t.Callable[[], str]:
        submit = self._submitter(work)

        def run() -> str:
            jobid = submit()
            self._record(work, "submitted", jobid=jobid)
            with self._lock:
                self.in_flight += 1
            return jobid

        return run

    # -- judging one ended job

    def _verify(self, work: _Work, outcome: JobOutcome) -> tuple[str, str, list[dict[str, t.Any]]]:
        """(status, reason, routers after) of a job that ended: the job's end and the versions read back."""
        item = work.item
        if outcome.status == "submit_failed":
            return "failed", "%s was not started: %s" % (_command(work), outcome.errortext), []
        if outcome.status == "timed_out":
            return "unknown", "%s; the job may still finish: the next run follows it (job %s)" % (outcome.errortext, outcome.jobid), []
        if outcome.status == "outcome_unknown":
            return "unknown", "%s; whether %s started is unknown: the next run looks for its job before acting" % (outcome.errortext, _command(work)), []
        if work.after is None and work.after_error is None:
            self._read_back(work)
        after, work.after, error, work.after_error = work.after or [], None, work.after_error, None
        if error is not None:
            return "failed", "job %s %s; reading %s back failed: %s" % (outcome.jobid, outcome.status, item["name"], error.message), []
        if work.path == Path.LIVEPATCH:
            target = PatchTarget(kind=item["kind"], id=item["id"], name=item["name"], zoneid=item.get("zoneid"), zone=item.get("zonename"))
            if work.is_unit:
                target.routers = [Router.from_api(router, {}) for router in work.before]
                judge_unit(target, outcome, [Router.from_api(router, {}) for router in after], self.ms_version)
                refused = self._refused(work, after)
                if refused and outcome.status in ("succeeded", "failed"):
                    # Whatever the job said: the server refuses these routers, so the item is not done (apache/cloudstack#12211).
                    return "refused", "%s after %s job %s (%s): %s; %s" % (
                        REFUSED_BY_SERVER, _command(work), outcome.jobid, outcome.status, refused, REFUSED_ACTION), after
                if (
                    work.foreign
                    and target_outcome(target.status) != "done"
                    and outcome.status == "succeeded"
                    and not routers_recreated_problems(after, self._minreq(item), item.get("zonename"))
                ):
                    # A job this run did not start may have been a restart with cleanup: its routers are new, on the current template.
                    return "done", "routers %s run the current template" % ", ".join(router.get("name", router["id"]) for router in after), after
            else:
                judge_systemvm(target, outcome, SystemVm.from_api(after[0], {}) if after else None, self.ms_version)
            return ("done" if target_outcome(target.status) == "done" else "failed"), target.reason, after
        if outcome.status != "succeeded":
            return "failed", "%s job %s %s: %s" % (_command(work), outcome.jobid, outcome.status, outcome.errortext), after
        if work.is_unit:
            problems = routers_recreated_problems(after, self._minreq(item), item.get("zonename"))
            if problems:
                return "failed", "after %s: %s" % (_command(work), problems), after
            return "done", "routers %s run a template at or above %s's minimum %s (%s)" % (
                ", ".join(router.get("name", router["id"]) for router in after),
                item.get("zonename"),
                self._minreq(item),
                MIN_TEMPLATE_SETTING,
            ), after
        if not after:
            return "failed", "%s is gone after %s" % (item["name"], _command(work)), after
        problem, version = systemvm_recreated_problem(self.client, after[0], self._minreq(item), item.get("zonename"))
        if problem:
            return "failed", "after %s: %s" % (_command(work), problem), after
        return "done", "%s runs template %s, at or above %s's minimum %s (%s)" % (
            item["name"],
            version,
            item.get("zonename"),
            self._minreq(item),
            MIN_TEMPLATE_SETTING,
        ), after

    def _refused(self, work: _Work, after: list[dict[str, t.Any]]) -> str:
        """The routers of a live-patched unit that the server refuses (_matrix.server_accepts), described; "" when none is.

        The server's payload checksum is the plan's (None when it was not known); the checksums the routers
        reported before this server patched them (older software) are known not to be the server's, so a patch that left
        one of them is refused even when the payload's own checksum is not known.
        """
        minimum = self.server.get("min_template") or {}
        payload = self.server.get("payload_checksum")
        old = {
            router.get("scriptsversion")
            for router in work.before
            if router.get("scriptsversion") and not is_current(router.get("softwareversion"), self.ms_version)
        }
        refused = []
        for router in after:
            if router.get("state") != "Running":
                continue
            minreq = minimum.get(router.get("zoneid") or "")
            if server_accepts(router, minreq, payload, self.server.get("router_version_check", True), old) is False:
                refused.append(
                    "%s (template %s below the zone's minimum %s, scripts %s not the server's)"
                    % (router.get("name", router.get("id")), router.get("version"), minreq, router.get("scriptsversion"))
                )
        return ", ".join(refused)

    def _health_checks_disabled(self) -> str | None:
        """Why health results cannot come (router.health.checks.enabled false), or None (enabled, or unreadable: then the
        fresh checks say it)."""
        try:
            found = self.client.list("listConfigurations", "configuration", name=HEALTH_ENABLED)
        except CloudStackError:
            return None
        value = next((item.get("value") for item in found if item.get("name") == HEALTH_ENABLED), "true")
        if str(value).strip().lower() == "false":
            return (
                "%s is false on the management server: CloudStack neither runs the routers' health checks nor returns results "
                "(FetchRouterHealthChecksResultTask and getRouterHealthCheckResults), so the health after the upgrade is not known; "
                "set it to true (dynamic) and check the routers with acs.upgrade.cs_vr_health fresh=true" % HEALTH_ENABLED
            )
        return None

    def _health_after(self, outcome: JobOutcome, after: list[dict[str, t.Any]]) -> tuple[set[str] | None, str | None]:
        """The failing checks of a unit's routers after its job, judged on results taken after the job started; or None and
        why they are not known yet.

        The server stores a router's results only every router.health.checks.results.fetch.interval minutes (10 by
        default: FetchRouterHealthChecksResultTask, 4.18.0.0), so right after an act they are those from before it:
        never proof of the act. Those routers' checks were run when it was read back (:meth:`_fresh_health`,
        getRouterHealthCheckResults performfreshchecks=true within the client's timeout); a refusal leaves the health
        not yet known.
        """
        unknown = self._health_unknown or outcome.context.health_unknown
        if unknown:
            return None, unknown
        return _failing(after), None

    def _fresh_health(self, work: _Work, routers: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The routers read back, with fresh results for each Running one whose stored results predate the job (run
        in the read-back pool, off the job waiter's round, :meth:`_prepare`); a refusal leaves the work's health not yet known."""
        since = parse_timestamp(work.started_at)
        fresh = []
        for router in routers:
            checks = checks_from_api(router.get("healthcheckresults"))
            if router.get("state") == "Running" and (since is None or not checks or any(c.last_updated is None or c.last_updated < since for c in checks)):
                try:
                    answer = self.client.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)
                except CloudStackError as exc:
                    work.health_unknown = "router %s has only results from before the act and its fresh checks were refused: %s" % (
                        router.get("name", router["id"]),
                        exc.message,
                    )
                    return routers
                router = dict(router, healthcheckresults=(answer.get("routerhealthchecks") or {}).get("healthchecks") or [])
            fresh.append(router)
        return fresh

    def _read_back(self, work: _Work) -> None:
        try:
            if work.is_unit:
                work.after = self._read_unit(work)
                # Health is judged once the whole network or VPC is acted on (a per-router action's last job).
                if self._with_health and not self._health_unknown and not work.queue:
                    work.after = self._fresh_health(work, work.after)
            else:
                vm = self._read_systemvm(work)
                work.after = [vm] if vm else []
        except CloudStackError as exc:
            work.after_error = exc

    def _router_step_passed(self, work: _Work) -> bool:
        """Whether the routers a per-router action has acted on so far are back, Running on the current template (read back
        now); the rest of them wait for that, and the network or VPC is judged whole when one is not."""
        if work.after is None and work.after_error is None:
            self._read_back(work)
        after, work.after, work.after_error = work.after or [], None, None
        waiting = {router["id"] for router in work.queue}
        acted = [router for router in after if router["id"] not in waiting]
        return bool(acted) and routers_recreated_problems(acted, self._minreq(work.item), work.item.get("zonename")) is None

    def _prepare(self, ended: list[JobOutcome]) -> list[Future | None]:
        """Start reading back every target whose job ended in this round (its routers, then their fresh health checks) in
        the pool, off the job waiter's round: the runner judges each (:meth:`_on_complete`) once its read is in, and fills
        its slot meanwhile. The target stays ``submitted`` in the journal (and in flight) until it is judged."""
        futures: list[Future | None] = []
        for outcome in ended:
            work: _Work = outcome.context
            work.started_at = getattr(outcome, "started_at", None)
            read = self._pool is not None and outcome.status not in ("submit_failed", "timed_out", "outcome_unknown")
            futures.append(self._pool.submit(self._read_back, work) if read else None)  # type: ignore[union-attr]
        return futures

    def _on_complete(self, outcome: JobOutcome) -> list[JobTask]:
        if self._letting_go():
            return []
        work: _Work = outcome.context
        work.started_at = work.started_at or getattr(outcome, "started_at", None)
        if outcome.jobid and outcome.status not in ("submit_failed", "outcome_unknown"):
            # Counted in flight until judged: a closed window waits only when nothing is in flight or being judged.
            with self._lock:
                self.in_flight = max(0, self.in_flight - 1)
            self.ended += 1
        if work.queue and outcome.status == "succeeded" and self._router_step_passed(work) and self._may_submit():
            # A per-router action: the next router (the PRIMARY of a pair last) once this one is back on the current template.
            return [self._task(work)]
        status, reason, after = self._verify(work, outcome)
        health_after = None
        regression = False
        if status == "done" and self._with_health and work.is_unit:
            now_failing, unknown = self._health_after(outcome, after)
            if now_failing is None:
                health_after = "not yet known: %s" % unknown
            else:
                new = now_failing - work.before_failing
                health_after = _describe(now_failing)
                if new:
                    status, regression = "failed", True
                    reason = "health regressed: %s (before: %s)" % (", ".join(sorted(new)), _describe(work.before_failing))
        if status in ("failed", "refused") and not regression and work.path == Path.LIVEPATCH and self.on_failure == "recreate" and Path.LEGACY in self.paths:
            # The live patch job has ended (failed, verified wrong or refused by the server): now, and only now, the legacy path may act.
            if self._may_submit():
                self._record(
                    work,
                    status,
                    jobid=outcome.jobid,
                    error=reason,
                    duration=outcome.duration,
                    changed=False,
                    recreate=True,
                    started=getattr(outcome, "started_at", None),
                    finished=getattr(outcome, "finished_at", None),
                )
                self.counts["fallbacks"] += 1
                fallback = _Work(work.item, work.batch, Path.LEGACY)
                fallback.before, fallback.before_failing, fallback.fell_back = work.before, work.before_failing, True
                return [self._task(fallback)]
            reason = "%s; its recreate was not started: %s" % (reason, self.stop_reason)
        changed = status == "done" and "unchanged" not in reason.lower() and "no change" not in reason.lower()
        if work.is_unit and work.path == Path.LEGACY:
            seen = {"routers": work.before, "routers_after": after}
        else:
            seen = {"after": {vm.get("name", vm.get("id")): vm for vm in after}}
        self._record(
            work,
            status,
            jobid=outcome.jobid,
            error=None if status == "done" else reason,
            reason=reason if status == "done" else None,
            changed=changed,
            duration=outcome.duration,
            health_before=_describe(work.before_failing) if self._with_health and work.is_unit else None,
            health_after=health_after,
            fallback=work.fell_back,
            recreate=False,
            after=vms_after(seen) or None,
            started=getattr(outcome, "started_at", None),
            finished=getattr(outcome, "finished_at", None),
        )
        self.counts[status] += 1
        self._final[work.key] = status
        self._judge_stop(work, status, reason, regression)
        self._line()
        return []

    # -- the stage

    def execute(self) -> dict[str, t.Any]:
        if not self.batches:
            return self.result("nothing planned for %s %s" % (self.group, self.stage))
        entries = self.journal.entries()
        state = journal_state(entries, self.ms_version)
        self._final = {
            key: entry["status"] for key, entry in state.items() if entry.get("status") in ("done", "failed", "refused", "unknown") and key in self._planned
        }
        works, adopted = self._works(state, entries)
        if works and not self.check_mode:
            works, found = self._adopt_jobs(works, entries)
            adopted += found
            if self.stop_reason:
                return self.result(None)
        self.counts["targets"] = len(works) + len(adopted) + self.counts["earlier_run"]
        self.counts["done"] = self.counts["earlier_run"]
        self._with_health = self.health_gate and self.stage != "systemvms" and self.client.has_feature("listRouters.fetchhealthcheckresults")
        if self._with_health and (works or adopted):
            self._health_unknown = self._health_checks_disabled()
            if self._health_unknown:
                self.warnings.append("the health gate cannot judge %s %s: %s" % (self.group, self.stage, self._health_unknown))
        if self.stage != "systemvms" and (works or adopted):
            units = [work for work, _jobid in adopted] + works
            routers = None
            if len(units) <= TARGETED_READS:
                # A canary or a few targets: their own routers, not every router of their zones (a network or VPC gone
                # since the plan makes its read fail: then the zones are read, where its routers are missing).
                try:
                    reads = self._pool_map(self._read_unit, units)
                    routers = {router["id"]: router for found in reads for router in found}
                except CloudStackError:
                    routers = None
            if routers is None:
                zones = {work.item.get("zoneid") for work in units}
                routers = self._read_routers([zone for zone in zones if zone], self._with_health)
            for work in units:
                work.before = _routers_of(work.item, routers)
                work.before_failing = _failing(work.before)
        elif works:
            vms = {vm["id"]: vm for vm in self._pool_map(self._read_systemvm, works) if vm}
            for work in works:
                work.before = [vms[work.item["id"]]] if work.item["id"] in vms else []
        ready = []
        for work in works:
            done = self._already_upgraded(work)
            if done:
                if not self.check_mode:
                    self._record(work, "done", reason=done, changed=False, found_done=True)
                self.counts["done"] += 1
                self.counts["found_done"] += 1
                self._final[work.key] = "done"
                continue
            if work.is_unit and not work.before:
                self._record(work, "skipped", error="its routers are gone since the plan was made (deleted or recreated): plan again to see it")
                self.counts["skipped"] += 1
                continue
            if work.is_unit and self._with_health and work.before_failing and self.unhealthy != "ignore":
                reason = "its routers are unhealthy before the upgrade (%s)" % _describe(work.before_failing)
                if self.unhealthy == "stop":
                    self._stop("%s %s: %s; fix them or set unhealthy to skip/ignore" % (work.item["kind"], work.item["name"], reason))
                    break
                self._record(work, "skipped", error=reason + ": left alone; fix them, then run again")
                self.counts["skipped"] += 1
                continue
            ready.append(work)
        if self.check_mode:
            self.counts["would_act"] = len(ready)
            return self.result(
                "check mode: %d target(s) of %s %s would be upgraded, %d job(s) of an earlier run followed" % (len(ready), self.group, self.stage, len(adopted))
            )
        self.counts["adopted"] = len(adopted)
        self.in_flight = len(adopted)
        # The longest jobs first (a VPC or a redundant pair restarts several routers): the window then ends on short jobs
        # and drains sooner. The order is the plan's among targets of the same size.
        ready.sort(key=lambda work: -len(work.item.get("routers") or ()))
        tasks = [self._task(work, jobid) for work, jobid in adopted] + ([] if self.stop_reason else [self._task(work) for work in ready])
        if tasks:
            # The read-backs run in this pool, off the job waiter's round (the window refills meanwhile); with health after
            # the act, each unit's fresh checks take seconds on its routers, so as many run side by side as the window holds.
            self._pool = ThreadPoolExecutor(max_workers=max(API_THREADS, self.parallel) if self._with_health else API_THREADS)
            runner = JobRunner(
                self.client,
                parallel=self.parallel,
                poll_interval=self.poll_interval,
                job_timeout=self.timeout,
                deadline=self.timeout * (math.ceil(len(tasks) * 2 / self.parallel) + 2),
                on_complete=self._on_complete,
                should_stop=lambda _outcomes: not self._may_submit(),
                clock=self._clock,
                sleep=self._sleep,
                workers=API_THREADS,
                prepare=self._prepare,
                abandon=self._letting_go,
            )
            try:
                outcomes = runner.run(tasks)
            finally:
                # Reads not begun when the stage let go are not made: their targets stay submitted for the next run.
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            self.max_in_flight = runner.max_in_flight_seen
            self.poll_calls = runner.poll_calls
            self.counts["not_run"] = sum(1 for outcome in outcomes if outcome.status == "not_submitted")
        self._line(force=True)
        return self.result(None)

    def result(self, note: str | None) -> dict[str, t.Any]:
        failed = bool(self.stop_reason) and not self.check_mode
        msg = (
            self.stop_reason
            or self.left_reason
            or note
            or "%s %s: %d done%s, %d failed, %d skipped, %d not run"
            % (
                self.group,
                self.stage,
                self.counts["done"],
                "".join(", %d %s" % (self.counts[name], label) for name, label in _NOTES if self.counts[name]),
                self.counts["failed"] + self.counts["refused"] + self.counts["unknown"],
                self.counts["skipped"],
                self.counts["not_run"],
            )
        )
        return {
            "changed": (self.counts["done"] - self.counts["earlier_run"]) > 0 or self.counts["fallbacks"] > 0 or bool(self.counts.get("would_act")),
            "failed": failed,
            "stop": bool(self.stop_reason),
            "msg": msg,
            "group": self.group,
            "stage": self.stage,
            "counts": self.counts,
            "failures": self.failures[:20],
            "progress": self.lines[-5:],
            "max_in_flight": getattr(self, "max_in_flight", 0),
            "poll_calls": getattr(self, "poll_calls", 0),
            "warnings": self.warnings,
        }

    _with_health = False


def _issuer(job: t.Mapping[str, t.Any]) -> str:
    """Who started a job and when, as listAsyncJobs tells it (the operator finds the run or person by them)."""
    return "%s, %s by user %s of account %s, created %s" % (
        "in flight" if int(job.get("jobstatus", 0)) == 0 else "ended",
        job_command(job),
        job.get("userid") or "?",
        job.get("accountid") or "?",
        job.get("created") or "?",
    )


def _kind(item: t.Mapping[str, t.Any]) -> str:
    return item["kind"] if item["kind"] in ("network", "vpc") else "systemvm"


def _routers_of(item: t.Mapping[str, t.Any], routers: t.Mapping[str, dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The routers of a network or VPC now: those of the plan still there, and those serving it since (recreated)."""
    planned = {router["id"] for router in item.get("routers", [])}
    field = "vpcid" if item["kind"] == "vpc" else "guestnetworkid"
    return [router for rid, router in routers.items() if rid in planned or (router.get(field) == item["id"] and (field == "vpcid" or not router.get("vpcid")))]


def _command(work: _Work) -> str:
    if work.acting_on:
        return "%s of router %s" % (work.action.label, work.acting_on)
    return work.action.label
