# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Async jobs the way a management server runs them: a bounded worker pool, a queue, real job ids."""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from acs_sim.render import cs_date

# The Java command classes CloudStack reports in a job's `cmd`.
COMMAND_CLASSES = {
    "patchSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.PatchSystemVMCmd",
    "rebootSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.RebootSystemVmCmd",
    "stopSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.StopSystemVmCmd",
    "startSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.StartSystemVMCmd",
    "destroySystemVm": "org.apache.cloudstack.api.command.admin.systemvm.DestroySystemVmCmd",
    "migrateSystemVm": "org.apache.cloudstack.api.command.admin.systemvm.MigrateSystemVMCmd",
    "rebootRouter": "org.apache.cloudstack.api.command.admin.router.RebootRouterCmd",
    "stopRouter": "org.apache.cloudstack.api.command.admin.router.StopRouterCmd",
    "startRouter": "org.apache.cloudstack.api.command.admin.router.StartRouterCmd",
    "destroyRouter": "org.apache.cloudstack.api.command.admin.router.DestroyRouterCmd",
    "restartNetwork": "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd",
    "restartVPC": "org.apache.cloudstack.api.command.user.vpc.RestartVPCCmd",
}


# Commands whose job records no instance: PatchSystemVMCmd (4.18.0.0) has no getApiResourceId/Type, so listAsyncJobs
# and queryAsyncJobResult show its job without jobinstanceid/jobinstancetype. The simulator still knows the VM (for
# its sync queue and its job log), it only does not show it.
JOBS_WITHOUT_INSTANCE = frozenset({"patchSystemVm"})


class JobFailure(Exception):
    """Ends a job with jobstatus 2; `errorcode` goes into the jobresult (jobresultcode stays 530)."""

    jobstatus = 2

    def __init__(self, errortext: str, errorcode: int = 530) -> None:
        super().__init__(errortext)
        self.errortext = errortext
        self.errorcode = errorcode


class JobCancelled(JobFailure):
    """Ends a job with jobstatus 3 (cancelled)."""

    jobstatus = 3


class Cancelled(Exception):
    """The simulator is stopping or resetting: the job is abandoned, as on a management server shutdown."""


class Job:
    __slots__ = ("id", "command", "params", "userid", "accountid", "instancetype", "instanceid", "created", "completed",
                 "status", "resultcode", "result", "start", "end", "queued", "created_at", "errortext", "modelled")

    def __init__(self, command: str, params: dict[str, str], userid: str, accountid: str, instancetype: str | None, instanceid: str | None) -> None:
        self.id = str(uuid.uuid4())
        self.command = command
        self.params = params
        self.userid = userid
        self.accountid = accountid
        self.instancetype = instancetype
        self.instanceid = instanceid
        self.queued = time.time()
        # The seconds the job's steps waited by the duration model (its sleeps): its length without the simulator's own CPU.
        self.modelled = 0.0
        # When the server's clock (which a clock_skew fault puts off) says the job was created: what startdate reads.
        self.created_at = self.queued
        self.created = cs_date(self.queued)
        self.completed: str | None = None
        self.status = 0
        self.resultcode = 0
        self.result: dict[str, Any] | None = None
        self.start: float | None = None
        self.end: float | None = None
        self.errortext: str | None = None

    def log_entry(self) -> dict[str, Any]:
        return {"jobid": self.id, "command": self.command, "instanceid": self.instanceid, "params": dict(self.params),
                "queued": self.queued, "start": self.start, "end": self.end, "modelled": round(self.modelled, 6), "jobstatus": self.status,
                "errortext": self.errortext, "result": self.result}


class JobManager:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self._in_flight: dict[str, int] = defaultdict(int)
        self._max_in_flight: dict[str, int] = defaultdict(int)
        self._running = 0
        self._max_running = 0
        self.stop_event = threading.Event()
        # The server's zone, in which dates are rendered (Cloud sets it from the topology).
        self.utc_offset = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="acs-sim-job")
        self._sync: dict[str, threading.Lock] = defaultdict(threading.Lock)
        # The scale of the durations a job waits (Cloud.duration reads it in the job's thread): see Cloud.history_scale.
        self.local = threading.local()
        self.scale_for: Callable[[Job], float | None] | None = None

    def submit(self, job: Job, work: Callable[[Job], dict[str, Any]]) -> Job:
        with self._lock:
            self.jobs[job.id] = job
            self._in_flight[job.command] += 1
            self._in_flight["*"] += 1
            for key in (job.command, "*"):
                self._max_in_flight[key] = max(self._max_in_flight[key], self._in_flight[key])
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], dict[str, Any]]) -> None:
        stop_event = self.stop_event
        if stop_event.is_set():
            return
        with self._lock:
            job.start = time.time()
            self._running += 1
            self._max_running = max(self._max_running, self._running)
        status, resultcode, result, errortext = 1, 0, None, None
        with self._lock:
            sync = self._sync[job.instanceid or job.id]
        try:
            # Like the management server's sync queues: jobs on the same object run one after the other.
            while not sync.acquire(timeout=0.05):
                if stop_event.is_set():
                    raise Cancelled()
            try:
                self.local.scale = self.scale_for(job) if self.scale_for else None
                self.local.job = job
                try:
                    result = work(job)
                finally:
                    self.local.job = None
            finally:
                sync.release()
        except Cancelled:
            return
        except JobFailure as exc:
            status, resultcode, errortext = exc.jobstatus, 530, exc.errortext
            result = {"errorcode": exc.errorcode, "errortext": exc.errortext}
        except Exception as exc:  # noqa: BLE001 - a bug in an operation must end the job like a CloudRuntimeException would
            status, resultcode, errortext = 2, 530, f"Internal error executing command, please contact your system administrator ({exc})"
            result = {"errorcode": 530, "errortext": errortext}
        finally:
            with self._lock:
                self._running -= 1
        if stop_event.is_set():
            return
        with self._lock:
            job.end = time.time()
            job.completed = cs_date(job.end, self.utc_offset)
            job.result = result
            job.resultcode = resultcode
            job.errortext = errortext
            job.status = status
            self._in_flight[job.command] -= 1
            self._in_flight["*"] -= 1

    def sleep(self, seconds: float) -> None:
        job = getattr(self.local, "job", None)
        if job is not None and seconds > 0:
            job.modelled += seconds
        if seconds > 0 and self.stop_event.wait(seconds):
            raise Cancelled()
        if self.stop_event.is_set():
            raise Cancelled()

    def hang(self) -> None:
        self.stop_event.wait()
        raise Cancelled()

    def get(self, jobid: str) -> Job | None:
        with self._lock:
            return self.jobs.get(jobid)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self.jobs.values())

    def max_in_flight(self, command: str | None = None) -> int:
        with self._lock:
            return self._max_in_flight.get(command or "*", 0)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"workers": self.workers, "running": self._running, "max_running": self._max_running,
                    "in_flight": {k: v for k, v in self._in_flight.items() if v}, "max_in_flight": dict(self._max_in_flight)}

    def shutdown(self) -> None:
        self.stop_event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
