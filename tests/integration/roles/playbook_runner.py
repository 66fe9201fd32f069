# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Run the collection's playbooks through ansible-runner, as AWX does, against the simulator."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import typing as t
import uuid
from pathlib import Path

import ansible_runner

from ansible_collections.acs.upgrade.plugins.module_utils._common import pid_alive

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
# Async commands that change something; the simulator records a job for each.
ROUTER_COMMANDS = frozenset(("restartNetwork", "restartVPC", "rebootRouter", "upgradeRouterTemplate"))
SYSTEMVM_COMMANDS = frozenset(("patchSystemVm", "rebootSystemVm", "stopSystemVm", "startSystemVm", "destroySystemVm"))


class Run(t.NamedTuple):
    rc: int
    status: str
    changed: int
    failures: int
    stdout: str
    stats: dict[str, t.Any]
    # Every event of the job, as ansible-runner hands them to AWX.
    events: tuple[dict[str, t.Any], ...] = ()


def run_playbook(
    sim: t.Any,
    workdir: Path,
    playbook: str,
    extravars: dict[str, t.Any],
    check: bool = False,
    cancel: t.Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """One ansible-runner job; the keys reach it through the environment, as an AWX credential would inject them."""
    result = ansible_runner.run(
        **_runner_args(sim, workdir, playbook, extravars, env),
        cmdline="--check" if check else None,
        quiet=True,
        cancel_callback=cancel,
        # ansible-runner asks the cancel callback each time the output is read, at the latest every pexpect_timeout
        # (5 s by default): a short one cancels near the moment the callback names, as an operator pressing cancel.
        settings={"pexpect_timeout": 0.1} if cancel is not None else None,
    )
    return _as_run(result)


def _runner_args(sim: t.Any, workdir: Path, playbook: str, extravars: dict[str, t.Any], env: dict[str, str] | None) -> dict[str, t.Any]:
    private = workdir / ("runner-%d" % len(list(workdir.glob("runner-*"))))
    private.mkdir(parents=True)
    envvars = {
        "CLOUDSTACK_ENDPOINT": sim.url,
        "CLOUDSTACK_KEY": sim.admin_key,
        "CLOUDSTACK_SECRET": sim.admin_secret,
        "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "ANSIBLE_PIPELINING": "true",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        **(env or {}),
    }
    return {
        "private_data_dir": str(private),
        "project_dir": str(PLAYBOOKS),
        "playbook": playbook,
        "inventory": "localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
        "extravars": extravars,
        "envvars": envvars,
    }


def _as_run(result: t.Any) -> Run:
    stdout = result.stdout.read()
    events = tuple(result.events)
    stats: dict[str, t.Any] = {}
    for event in events:
        if event.get("event") == "playbook_on_stats":
            stats = event["event_data"].get("artifact_data") or {}
    counts = result.stats or {}
    return Run(
        result.rc,
        result.status,
        sum((counts.get("changed") or {}).values()),
        sum((counts.get("failures") or {}).values()),
        stdout,
        stats,
        events,
    )


def read_plan(output: Path) -> dict[str, t.Any]:
    return json.loads((output / "plan.json").read_text())


def read_journal(output: Path, ends: bool = True) -> list[dict[str, t.Any]]:
    """The journal's entries; with ``ends`` only the ends of targets, without the submits that precede them."""
    path = output / "journal.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    return [entry for entry in entries if entry["status"] != "submitted"] if ends else entries


def zone_of(sim: t.Any) -> dict[str, str]:
    """Zone name of every network, VPC, router and system VM id the simulator knows now."""
    state = sim.state()
    return {item["id"]: item["zonename"] for kind in ("networks", "vpcs", "routers", "systemvms") for item in state[kind]}


# ---------------------------------------------------------------------------------------------- runs in the background

# Every process of a run started by start_playbook carries this variable in its environment, with a value of its own:
# how its processes are found, the module processes included (Ansible runs a worker in a session of its own, and with
# pipelining a module's command line is a bare python), as a container teardown finds everything a job started.
RUN_MARKER = "ACS_UPGRADE_TEST_RUN"
# How ansible-runner may end a run: its job timeout SIGKILLs the playbook's process group, as AWX's does.
KILLS = ("sigkill", "sigterm", "job_timeout")


class Process(t.NamedTuple):
    pid: int
    ppid: int
    pgid: int
    sid: int
    cmdline: str

    def __str__(self) -> str:
        return "pid %d (%s; parent %d, group %d, session %d)" % (self.pid, self.cmdline[:80], self.ppid, self.pgid, self.sid)


def marked_processes(marker: str) -> list[Process]:
    """The live processes whose environment carries ``RUN_MARKER=marker`` (a zombie is not live)."""
    wanted = ("%s=%s" % (RUN_MARKER, marker)).encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as handle:
                if wanted not in handle.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % name, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            found.append(Process(int(name), int(fields[1]), int(fields[2]), int(fields[3]), cmdline))
    return sorted(found)


def wait_until(condition: t.Callable[[], t.Any], timeout: float, interval: float = 0.05) -> t.Any:
    """Poll ``condition`` until it returns something true (returned) or ``timeout`` seconds have passed (None)."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= end:
            return value or None
        time.sleep(interval)


class Launched:
    """A playbook run going on in the background (ansible-runner's run_async), and every process it started."""

    def __init__(self, label: str, marker: str, thread: threading.Thread, runner: t.Any):
        self.label = label
        self.marker = marker
        self.thread = thread
        self.runner = runner
        self.started = time.time()
        self._playbook_pid: int | None = None

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def processes(self) -> list[Process]:
        return marked_processes(self.marker)

    def playbook_pid(self) -> int | None:
        """The ansible-playbook process ansible-runner spawned: the leader of the playbook's process group."""
        if self._playbook_pid is None:
            for process in self.processes():
                if process.ppid == os.getpid() and process.pid == process.pgid:
                    self._playbook_pid = process.pid
        return self._playbook_pid

    def kill(self, how: str) -> str:
        """Interrupt the run, and say how: ``sigkill`` every process of it at once (a container teardown), ``sigterm``
        the playbook's process group, or ``job_timeout``: ansible-runner's job timeout falls due now (set at the start,
        it is lowered to the time the job has run), and ansible-runner SIGKILLs the playbook's process group."""
        leader = self.playbook_pid()
        if how == "sigkill":
            killed: list[Process] = []
            end = time.monotonic() + 10
            while time.monotonic() < end:
                alive = self.processes()
                if not alive:
                    break
                for process in alive:
                    try:
                        os.kill(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    if process.pid not in {seen.pid for seen in killed}:
                        killed.append(process)
                time.sleep(0.01)
            return "SIGKILL of every process of the run: %s" % "; ".join(str(process) for process in killed)
        if how == "sigterm":
            if leader is None:
                return "SIGTERM not sent: the playbook process was not found"
            members = [process for process in self.processes() if process.pgid == leader]
            os.killpg(leader, signal.SIGTERM)
            return "SIGTERM to the process group %d of ansible-playbook: %s" % (leader, "; ".join(str(process) for process in members))
        if how == "job_timeout":
            elapsed = max(1, int(time.time() - self.started) - 1)
            members = [process for process in self.processes() if process.pgid == leader]
            self.runner.config.job_timeout = elapsed
            return "ansible-runner's job timeout (%d s) fell due: it SIGKILLs the process group %s of ansible-playbook: %s" % (
                elapsed,
                leader,
                "; ".join(str(process) for process in members),
            )
        raise ValueError("kill must be one of %s, not %r" % (", ".join(KILLS), how))

    def wait(self, timeout: float) -> Run | None:
        """The run once ansible-runner has seen its playbook process end; None if it still runs after ``timeout`` seconds."""
        self.thread.join(timeout)
        return None if self.thread.is_alive() else _as_run(self.runner)


def start_playbook(
    sim: t.Any,
    workdir: Path,
    playbook: str,
    extravars: dict[str, t.Any],
    label: str = "run",
    env: dict[str, str] | None = None,
    job_timeout: int = 900,
) -> Launched:
    """Start one ansible-runner job in the background, as run_playbook runs it, with AWX's job timeout set."""
    marker = uuid.uuid4().hex
    args = _runner_args(sim, workdir, playbook, extravars, dict(env or {}, **{RUN_MARKER: marker}))
    # Output read every 0.1 s: ansible-runner checks the job timeout (and sees the playbook end) that often.
    thread, runner = ansible_runner.run_async(**args, quiet=True, settings={"pexpect_timeout": 0.1, "job_timeout": job_timeout})
    launched = Launched(label, marker, thread, runner)
    # Known from its first moment, so that a message can name it after it has ended.
    wait_until(lambda: launched.playbook_pid() or not launched.running, 60)
    return launched


# ---------------------------------------------------------------------------------------------- what the cloud saw

UNCHANGED = "No change in the scripts checksum"
RECREATE_COMMANDS = frozenset(("rebootSystemVm", "destroySystemVm", "rebootRouter", "upgradeRouterTemplate"))


def job_action(job: dict[str, t.Any], unit_of_router: dict[str, str]) -> tuple[str, str] | None:
    """(target, kind of action) of a job of the simulator's log: the network, VPC or system VM it acted on, and
    ``live patch``, ``recreate`` or its command; None for a patchSystemVm that found the scripts unchanged (a check).
    A router's job counts for its network or VPC (``unit_of_router``: router id -> network/VPC id)."""
    command, params = job["command"], job["params"]
    target = job.get("instanceid") or params.get("id")
    target = unit_of_router.get(target, target)
    if command == "patchSystemVm":
        if str((job.get("result") or {}).get("displaytext") or "").startswith(UNCHANGED):
            return None
        return target, "live patch"
    if command in ("restartNetwork", "restartVPC"):
        if params.get("cleanup") == "true":
            return target, "recreate"
        return target, "live patch" if params.get("livepatch") == "true" else command
    return target, "recreate" if command in RECREATE_COMMANDS else command


def units_of_routers(*states: dict[str, t.Any]) -> dict[str, str]:
    """Router id -> the id of its network or VPC, from simulator states (the one before a run knows the routers it replaces)."""
    found = {}
    for state in states:
        for router in state["routers"]:
            unit = router.get("vpcid") or router.get("guestnetworkid")
            if unit:
                found[router["id"]] = unit
    return found


def actions(jobs: t.Iterable[dict[str, t.Any]], unit_of_router: dict[str, str]) -> dict[tuple[str, str], list[dict[str, t.Any]]]:
    """The jobs that acted, per (target, kind of action), in the order they were queued."""
    found: dict[tuple[str, str], list[dict[str, t.Any]]] = {}
    for job in sorted(jobs, key=lambda job: job["queued"]):
        action = job_action(job, unit_of_router)
        if action is not None:
            found.setdefault(action, []).append(job)
    return found


def read_journal_lines(output: Path) -> tuple[list[dict[str, t.Any]], list[str]]:
    """Every entry of the journal, and its lines that are not an entry (a torn write), as ``line N: text``."""
    path = output / "journal.jsonl"
    entries, bad = [], []
    if path.exists():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                bad.append("line %d: %r" % (number, line[:200]))
                continue
            if isinstance(entry, dict) and "key" in entry and "status" in entry:
                entries.append(entry)
            else:
                bad.append("line %d: %r" % (number, line[:200]))
    return entries, bad


def unaccounted(plan: dict[str, t.Any], entries: t.Sequence[dict[str, t.Any]]) -> list[str]:
    """Planned targets (path livepatch or legacy) whose last journal entry is not an end with a reason: ``done``, or
    ``failed``/``skipped`` with the reason; one never journalled, or left ``submitted`` or ``unknown``, is unaccounted."""
    last: dict[str, dict[str, t.Any]] = {}
    for entry in entries:
        if entry.get("ms_version") in (None, plan["ms_version"]):
            last[entry["key"]] = entry
    problems = []
    for item in plan["items"]:
        if item["path"] == "skip":
            continue
        entry = last.get(item["key"])
        name = "%s %s (%s, planned %s)" % (item["kind"], item["name"], item["id"], item["path"])
        if entry is None:
            problems.append("%s: not in the journal" % name)
        elif entry["status"] in ("submitted", "unknown"):
            problems.append(
                "%s: left %s on the %s path (job %s, run %s attempt %s): %s"
                % (name, entry["status"], entry.get("path"), entry.get("jobid"), entry.get("run"), entry.get("attempt"), entry.get("error") or "no reason")
            )
        elif entry["status"] in ("failed", "skipped") and not (entry.get("error") or entry.get("reason")):
            problems.append("%s: %s without a reason" % (name, entry["status"]))
        elif entry["status"] not in ("done", "failed", "skipped"):
            problems.append("%s: ends with the status %r" % (name, entry["status"]))
    return problems


def wait_until_lock_owner_ended(output: Path, timeout: float = 60.0) -> None:
    """Wait until the process that holds the state lock of ``output`` has ended (a cancelled run's playbook ends a moment
    after ansible-runner returns)."""
    lock = output / "journal.jsonl.lock"
    end = time.monotonic() + timeout
    while lock.exists() and time.monotonic() < end:
        try:
            if not pid_alive(json.loads(lock.read_text())["pid"]):
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
