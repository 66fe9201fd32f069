# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The kill matrix: one task, one action, nothing lost, when playbooks/upgrade.yml is interrupted the hard way.

Each case starts upgrade.yml (ansible-runner, as AWX runs it) on a simulated cloud of its own, waits for a moment,
interrupts the run, then reruns it on the same state directory with every fault cleared, and reads what the simulator
saw:

* the interruptions: SIGKILL of every process of the run at once (the playbook's process group and the module
  processes, which Ansible runs in a session of their own: a container teardown), SIGTERM of the playbook's process
  group, and ansible-runner's job timeout (it SIGKILLs the playbook's process group, as AWX's does);
* the moments: slow submits held in the server, a full window of jobs in flight, a fallback running (the recreate
  after a failed live patch), and right after a fault of the fault matrix (an answer lost to a reset or to a 500 after
  the server acted, killed while the module looks for the job; a submit slower than the settle window, killed once
  the module has given up on it);
* the rerun starts once the killed playbook has ended and the server has answered every request of it (a request
  still in the server then is the settle window's business, which the fault matrix tests); it must end rc 0;
* 0 targets acted on twice: per network, VPC and system VM at most one live-patch job and one recreate job in all (a
  recreate after a failed live patch is the fallback, allowed; a patchSystemVm that found the scripts unchanged is a
  check, not an action);
* 0 unaccounted: every planned target of plan.json ends ``done`` in the journal, or ``failed`` or ``skipped`` with
  a reason; none missing, none left ``submitted`` or ``unknown``.

Two runs with their own state directories on one cloud at the same time must not act on a target twice either: one
waits, refuses naming the other, or adopts its jobs; at least one finishes the upgrade.

The cases the session selected run two at a time (the first test runs them, each test reports its own). A failure
message names the case, the targets acted on twice with their jobs (who journalled them, when they ran), the targets
unaccounted, the timeline of the runs and the journal.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from acs_sim.server import Simulator
from playbook_runner import (
    KILLS,
    Launched,
    actions,
    read_journal_lines,
    read_plan,
    start_playbook,
    unaccounted,
    units_of_routers,
    wait_until,
)
from test_upgrade_playbooks import extravars

# Cases run at once (each on its own simulator).
WORKERS = 2
# Job durations are real-cloud seconds times this: with the durations of kill_cloud, a router's live patch takes
# 0.6-0.9 s and its redeploy 1-1.5 s, long enough for a moment to be seen, short enough for the time budget.
TIME_FACTOR = 0.01
PARALLEL = 3
# A slow submit in the server: far below api_timeout (10 s), so the killed run would have had its answer.
SLOW_SUBMIT = 2.0
# How long the server holds the module's look for the job of a lost answer (listAsyncJobs): the kill lands then.
HELD_LOOK = 2.0
# The settle window is 3 x api_timeout: with api_timeout 2 s, a submit the server holds 8 s is answered 2 s after it.
SETTLE_API_TIMEOUT = 2
BEYOND_SETTLE = 8.0
FALLBACK_NETWORK = "net-04"
FAULT_NETWORK = "net-05"
# Seconds to wait: for a moment to come, for a killed playbook to end, for a whole run.
MOMENT_TIMEOUT = 180
END_TIMEOUT = 60
RUN_TIMEOUT = 300
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def kill_cloud(durations: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """One zone: its SSVM and CPVM, a redundant pair (the canary), six networks with one router, one on 4.13 (the legacy
    path), a VPC with a tier and a network whose router is stopped (the plan skips it)."""
    networks: list[dict[str, t.Any]] = [
        {
            "name": "ha-pair",
            "zone": "zone1",
            "account": "globex",
            "redundant": True,
            "routers": [{"version": "4.14.1", "redundantstate": "PRIMARY"}, {"version": "4.14.1", "redundantstate": "BACKUP"}],
        }
    ]
    networks += [{"name": "net-%02d" % number, "zone": "zone1", "account": "acme", "routers": [{"version": "4.15.1"}]} for number in range(1, 7)]
    networks += [
        {"name": "old-413", "zone": "zone1", "account": "globex", "routers": [{"version": "4.13.1"}]},
        {"name": "stopped-net", "zone": "zone1", "account": "globex", "routers": [{"version": "4.15.1", "state": "Stopped"}]},
    ]
    return {
        "managementserver": {"version": "4.18.0.0"},
        "seed": 11,
        "jobs": {"workers": 20, "durations": {"livepatch_router": [60, 90], "router_deploy": [100, 150], **(durations or {})}},
        "domains": [{"name": "customers"}],
        "accounts": [{"name": "acme", "domain": "ROOT/customers"}, {"name": "globex", "domain": "ROOT/customers"}],
        "zones": [
            {
                "name": "zone1",
                "pods": [{"name": "zone1-pod1", "clusters": [{"name": "zone1-cluster1", "hosts": ["kvm1", "kvm2"]}]}],
                "systemvms": {"version": "4.15.1"},
            }
        ],
        "networks": networks,
        "vpcs": [{"name": "vpc-1", "zone": "zone1", "account": "acme", "tiers": ["vpc-1-web"], "routers": [{"version": "4.15.1"}]}],
    }


def upgrade_vars(output: Path) -> dict[str, str]:
    return extravars(output, livepatch_parallel=str(PARALLEL), livepatch_poll_interval="0.2", legacy_recreate_poll_interval="0.2")


# ---------------------------------------------------------------------------------------------- what a case records


@dataclass
class Case:
    """One case under way: its simulator, its runs, and the timeline its failure message shows."""

    name: str
    sim: t.Any
    started: float = field(default_factory=time.time)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    runs: list[Launched] = field(default_factory=list)
    before: dict[str, t.Any] = field(default_factory=dict)
    # The fault a moment injected (as the simulator stored it, with its id).
    fault: dict[str, t.Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.timeline.append((time.time(), text))

    def at(self, moment: float | None) -> str:
        return "-" if moment is None else "%+.1f s" % (moment - self.started)

    def id_of(self, name: str) -> str:
        return next(item["id"] for kind in ("networks", "vpcs", "systemvms") for item in self.before[kind] if item["name"] == name)

    def start(self, workdir: Path, output: Path, label: str, env: dict[str, str] | None = None) -> Launched:
        run = start_playbook(self.sim, workdir, "upgrade.yml", upgrade_vars(output), label=label, env=env)
        self.runs.append(run)
        self.note("%s started (ansible-playbook pid %s) on the state directory %s" % (label, run.playbook_pid(), output))
        return run

    def finish(self, run: Launched, timeout: float) -> t.Any:
        """Wait for a run to end; one still running then is SIGKILLed (and noted)."""
        result = run.wait(timeout)
        if result is None:
            self.note("%s still runs after %d s: %s" % (run.label, timeout, run.kill("sigkill")))
            result = run.wait(END_TIMEOUT)
        if result is not None:
            self.note("%s ended: status %s, rc %s" % (run.label, result.status, result.rc))
        return result

    def watch(self, run: Launched) -> None:
        """Note, in the background, when the last process of an ended run (a module Ansible left behind) ends."""
        left = run.processes()
        if not left:
            return
        self.note("%s has ended, its processes still run: %s" % (run.label, "; ".join(map(str, left))))

        def follow() -> None:
            if wait_until(lambda: not run.processes(), 120, interval=0.1):
                self.note("the last process of %s ended" % run.label)

        threading.Thread(target=follow, daemon=True).start()

    def settle(self) -> None:
        """Every process of every run gone (stragglers are noted, then SIGKILLed: they are this case's own) and every
        job of the cloud ended, so that the job log and the journals are complete."""
        for run in self.runs:
            if run.processes() and wait_until(lambda run=run: not run.processes(), 30) is None:
                self.note("processes of %s still running 30 s after the case ended, now SIGKILLed: %s" % (run.label, "; ".join(map(str, run.processes()))))
                run.kill("sigkill")
        try:
            self.sim.wait_jobs(timeout=60)
        except TimeoutError:
            self.note("jobs still pending 60 s after the runs ended: %s" % [job["jobid"] for job in self.sim.jobs() if job["jobstatus"] == 0])

    def names(self) -> dict[str, str]:
        """``network NAME``, ``vpc NAME``, ``system VM NAME`` of every id, before the runs and now."""
        found = {}
        for state in (self.before, self.sim.state()):
            for kind, label in (("networks", "network"), ("vpcs", "vpc"), ("systemvms", "system VM")):
                found.update({item["id"]: "%s %s" % (label, item["name"]) for item in state[kind]})
        return found

    def acted_twice(self, journals: dict[str, Path]) -> list[str]:
        """Each target with more than one job of one kind of action, with those jobs and who journalled them."""
        owners: dict[str, list[str]] = {}
        for label, output in journals.items():
            entries, _bad = read_journal_lines(output)
            for entry in entries:
                if entry.get("jobid"):
                    owners.setdefault(entry["jobid"], []).append(
                        "%s attempt %s %s %s%s" % (label, entry.get("attempt"), entry["stage"], entry["status"], " (adopted)" if entry.get("adopted") else "")
                    )
        names = self.names()
        found = []
        for (target, kind), jobs in sorted(actions(self.sim.jobs(), units_of_routers(self.before, self.sim.state())).items()):
            if len(jobs) < 2:
                continue
            lines = ["%s (%s): %d %s jobs" % (names.get(target, "object"), target, len(jobs), kind)]
            for job in jobs:
                lines.append(
                    "    job %s %s %s queued %s, ended %s (jobstatus %s); journalled by: %s"
                    % (
                        job["jobid"],
                        job["command"],
                        " ".join("%s=%s" % (key, job["params"][key]) for key in ("livepatch", "cleanup", "forced") if key in job["params"]),
                        self.at(job["queued"]),
                        self.at(job["end"]),
                        job["jobstatus"],
                        ", ".join(owners.get(job["jobid"], [])) or "no journal",
                    )
                )
            found.append("\n".join(lines))
        return found

    def report(self, problems: list[str], journals: dict[str, Path]) -> str:
        lines = ["%s: %d problem(s)" % (self.name, len(problems))]
        lines += ["- " + problem for problem in problems]
        lines.append("Timeline (seconds since the case started):")
        lines += ["  %+6.1f s  %s" % (moment - self.started, text) for moment, text in sorted(self.timeline, key=lambda note: note[0])]
        for label, output in journals.items():
            entries, bad = read_journal_lines(output)
            lines.append("Journal of %s (%s), %d entries%s:" % (label, output / "journal.jsonl", len(entries), ", unreadable: %s" % bad if bad else ""))
            lines += [
                "  %s %-11s %-9s attempt %s %-9s job %s %s"
                % (
                    str(entry.get("time", "-"))[11:19],
                    entry.get("name"),
                    entry.get("path"),
                    entry.get("attempt"),
                    entry["status"],
                    entry.get("jobid"),
                    entry.get("error") or "",
                )
                for entry in entries
            ]
        return "\n".join(lines)


def check_journal(output: Path, earlier_plan: dict[str, t.Any] | None = None) -> list[str]:
    """The journal's unreadable lines and its unaccounted targets against the plan (and the killed run's plan, when the
    rerun made another one), as problems."""
    problems = []
    entries, bad = read_journal_lines(output)
    if bad:
        problems.append("the journal %s has lines that are not entries: %s" % (output / "journal.jsonl", "; ".join(bad)))
    if not (output / "plan.json").exists():
        return problems + ["no plan.json in %s" % output]
    plan = read_plan(output)
    missing = unaccounted(plan, entries)
    if earlier_plan and earlier_plan["run"].get("id") != plan["run"].get("id"):
        before = [line for line in unaccounted(earlier_plan, entries) if line not in missing]
        missing += ["%s (planned by the killed run, plan %s)" % (line, earlier_plan["run"].get("id")) for line in before]
    if missing:
        problems.append("%d planned target(s) unaccounted in %s:\n    %s" % (len(missing), output / "journal.jsonl", "\n    ".join(missing)))
    return problems


def stop_message(run: t.Any) -> str:
    """What a run said when it ended: the message of its last failed task and the tail of its output."""
    failed = [event for event in run.events if event.get("event") == "runner_on_failed"]
    msg = (failed[-1]["event_data"].get("res") or {}).get("msg") if failed else None
    tail = ANSI.sub("", run.stdout)[-1500:]
    return "last failure: %s\n    output tail:\n%s" % (msg, "\n".join("      " + line for line in tail.splitlines()))


class CaseError(Exception):
    """A case that could not get to what it tests (its moment never came)."""


# ---------------------------------------------------------------------------------------------- the moments


@dataclass(frozen=True)
class Moment:
    """When a run is interrupted: ``prepare`` injects what makes the moment (before the run); ``reached`` says what is
    seen once it has come (else None)."""

    name: str
    prepare: t.Callable[[Case], None]
    reached: t.Callable[[Case, Path], str | None]
    env: dict[str, str] = field(default_factory=dict)
    durations: dict[str, t.Any] = field(default_factory=dict)


def _slow_submits(case: Case) -> None:
    case.sim.inject(kind="slow", api="restartNetwork", delay=SLOW_SUBMIT)


def _slow_submits_reached(case: Case, output: Path) -> str | None:
    held = case.sim.requests_in_progress("restartNetwork")
    return "%d restartNetwork submits held in the server (slow: %g s)" % (held, SLOW_SUBMIT) if held >= 2 else None


def _full_window_reached(case: Case, output: Path) -> str | None:
    pending = [job for job in case.sim.jobs() if job["jobstatus"] == 0 and job["params"].get("livepatch") == "true"]
    if len(pending) >= PARALLEL:
        return "the window is full: %d live patch jobs pending (%s)" % (len(pending), ", ".join(job["jobid"] for job in pending))
    return None


def _fallback(case: Case) -> None:
    case.sim.inject(kind="livepatch_failure", object=FALLBACK_NETWORK, errortext="patch script exited 1: haproxy failed to restart")


def _fallback_reached(case: Case, output: Path) -> str | None:
    network = case.id_of(FALLBACK_NETWORK)
    for job in case.sim.jobs():
        if job["instanceid"] == network and job["jobstatus"] == 0 and job["params"].get("cleanup") == "true":
            return "the recreate of %s after its failed live patch is running: job %s" % (FALLBACK_NETWORK, job["jobid"])
    return None


def _answer_lost(spec: dict[str, t.Any]) -> t.Callable[[Case], None]:
    def prepare(case: Case) -> None:
        case.fault = case.sim.inject(api="restartNetwork", object=FAULT_NETWORK, count=1, **spec)
        # The module's look for the job of the lost answer is held in the server: the kill lands during it.
        case.sim.inject(kind="slow", api="listAsyncJobs", delay=HELD_LOOK)

    return prepare


def _looking_for_the_job(case: Case, output: Path) -> str | None:
    if any(item["id"] == case.fault["id"] for item in case.sim.cloud.faults.list()):
        return None
    if case.sim.requests_in_progress("listAsyncJobs") < 1:
        return None
    return "the %s fault lost the answer to the restartNetwork of %s (the job started); the module's listAsyncJobs for it is held in the server" % (
        case.fault["kind"],
        FAULT_NETWORK,
    )


def _beyond_settle(case: Case) -> None:
    case.fault = case.sim.inject(kind="slow", api="restartNetwork", object=FAULT_NETWORK, count=1, delay=BEYOND_SETTLE)


def _given_up(case: Case, output: Path) -> str | None:
    """The module gave up settling the slow submit (the settle window passed without its job): it journals it unknown."""
    entries, _bad = read_journal_lines(output)
    key = "network:%s" % case.id_of(FAULT_NETWORK)
    for entry in entries:
        if entry["key"] == key and entry["status"] == "unknown":
            return "the submit of %s outlived the settle window and is journalled unknown: %s" % (FAULT_NETWORK, entry.get("error"))
    return None


MOMENTS = {
    "slow_submits": Moment("slow submits", _slow_submits, _slow_submits_reached),
    # Live patches of 1.5-2 s: the first three of the routers stage are pending together, on a loaded machine too.
    "full_window": Moment("a full window", lambda case: None, _full_window_reached, durations={"livepatch_router": [150, 200]}),
    "fallback": Moment("a fallback", _fallback, _fallback_reached),
}
FAULTS = {
    "reset_answer_lost": Moment("an answer lost to a connection reset", _answer_lost({"kind": "connection_reset", "when": "after"}), _looking_for_the_job),
    "http_500_acted": Moment("a 500 after the server acted", _answer_lost({"kind": "http_error", "status": 500, "when": "after"}), _looking_for_the_job),
    "slow_beyond_settle": Moment("a submit slower than the settle window", _beyond_settle, _given_up, env={"CLOUDSTACK_TIMEOUT": str(SETTLE_API_TIMEOUT)}),
}


# ---------------------------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Spec:
    """One case of the matrix: a run killed at a moment then rerun, or (without a moment) two runs at once."""

    id: str
    title: str
    moment: Moment | None = None
    kill: str | None = None

    def __str__(self) -> str:
        return self.id


KILLED = [
    Spec("%s-%s" % (moment, kill), "killed by %s during %s" % (kill, MOMENTS[moment].name), MOMENTS[moment], kill) for moment in MOMENTS for kill in KILLS
]
AFTER_FAULT = [
    Spec("%s-%s" % (fault, kill), "killed by %s after %s" % (kill, FAULTS[fault].name), FAULTS[fault], kill)
    for fault, kill in (("reset_answer_lost", "sigkill"), ("http_500_acted", "sigterm"), ("slow_beyond_settle", "job_timeout"))
]
TWO_RUNS = Spec("two_runs", "two runs with their own state directories on one cloud at once")


def journals_of(spec: Spec, workdir: Path) -> dict[str, Path]:
    """The state directory of each run of a case, by the name its messages give it."""
    if spec.moment is None:
        return {"run A": workdir / "state-a", "run B": workdir / "state-b"}
    return {"the run": workdir / "state"}


def kill_then_rerun(case: Case, spec: Spec, workdir: Path) -> list[str]:
    moment, sim = spec.moment, case.sim
    assert moment is not None and spec.kill is not None
    journals = journals_of(spec, workdir)
    output = journals["the run"]
    problems: list[str] = []
    moment.prepare(case)
    first = case.start(workdir / "first", output, "run 1", env=moment.env)
    seen = wait_until(lambda: moment.reached(case, output) or (not first.running and "run 1 ended"), MOMENT_TIMEOUT)
    if not seen or not first.running:
        ended = case.finish(first, END_TIMEOUT)
        raise CaseError("the moment (%s) never came: %s\n%s" % (moment.name, seen or "not within %d s" % MOMENT_TIMEOUT, stop_message(ended) if ended else ""))
    case.note("moment: %s" % seen)
    case.note("run 1 interrupted: %s" % first.kill(spec.kill))
    if case.finish(first, END_TIMEOUT) is None:
        problems.append("run 1 did not end within %d s of its interruption (%s)" % (END_TIMEOUT, spec.kill))
    case.watch(first)
    earlier_plan = read_plan(output) if (output / "plan.json").exists() else None
    sim.clear_faults()
    if wait_until(lambda: sim.requests_in_progress() == 0, 30) is None:
        case.note("the server still holds %d request(s) of run 1 30 s after it ended" % sim.requests_in_progress())
    else:
        pending = [job["jobid"] for job in sim.jobs() if job["jobstatus"] == 0]
        case.note("the server has answered every request of run 1; jobs pending: %s" % (", ".join(pending) or "none"))
    again = case.finish(case.start(workdir / "rerun", output, "rerun"), RUN_TIMEOUT)
    case.settle()
    if again is None:
        problems.append("the rerun did not end within %d s" % RUN_TIMEOUT)
    elif again.rc != 0:
        problems.append("the rerun (no fault) ended rc %s, status %s: %s" % (again.rc, again.status, stop_message(again)))
    twice = case.acted_twice(journals)
    if twice:
        problems.append("%d target(s) acted on twice:\n  %s" % (len(twice), "\n  ".join(twice)))
    return problems + check_journal(output, earlier_plan)


def two_runs(case: Case, spec: Spec, workdir: Path) -> list[str]:
    journals = journals_of(spec, workdir)
    runs = {label: case.start(workdir / label.replace(" ", "-"), output, label) for label, output in journals.items()}
    results = {label: case.finish(run, RUN_TIMEOUT) for label, run in runs.items()}
    case.settle()
    problems = []
    twice = case.acted_twice(journals)
    if twice:
        problems.append("%d target(s) acted on twice:\n  %s" % (len(twice), "\n  ".join(twice)))
    finished = []
    for label, output in journals.items():
        result = results[label]
        other = next(name for name in journals if name != label)
        # The other run by its state directory, its ansible-playbook pid, its run id or a job it journalled.
        names_other = [str(journals[other]), "pid %s" % runs[other].playbook_pid()]
        if (journals[other] / "plan.json").exists():
            names_other.append(str(read_plan(journals[other])["run"].get("id")))
        names_other += sorted({entry["jobid"] for entry in read_journal_lines(journals[other])[0] if entry.get("jobid")})
        if result is None:
            problems.append("%s did not end within %d s" % (label, RUN_TIMEOUT))
        elif result.rc == 0:
            finished.append(label)
            problems += ["%s: %s" % (label, problem) for problem in check_journal(output)]
        elif any(name in result.stdout for name in names_other):
            case.note("%s refused, naming %s" % (label, other))
        else:
            problems.append(
                "%s ended rc %s without naming %s (its state directory, ansible-playbook pid, run id or one of its jobs: %s): %s"
                % (label, result.rc, other, ", ".join(names_other), stop_message(result))
            )
    if not finished:
        problems.append("neither run finished the upgrade (rc 0)")
    return problems


def run_case(spec: Spec, workdir: Path) -> str | None:
    """Run one case on a simulator of its own: its failure message, or None when it holds."""
    sim = Simulator(kill_cloud(spec.moment.durations if spec.moment else None), time_factor=TIME_FACTOR).start()
    case = Case(spec.title, sim, before=sim.state())
    try:
        problems = (two_runs if spec.moment is None else kill_then_rerun)(case, spec, workdir)
    except CaseError as exc:
        problems = ["the case could not run: %s" % exc]
    except Exception:
        # Reported as the case's failure, with the traceback: the other cases go on.
        problems = ["the case could not run: %s" % traceback.format_exc()]
    finally:
        case.settle()
        unknown = sim.counters()["unknown_params"]
        sim.stop()
    if unknown:
        problems.append("requests carried parameters the API does not have: %s" % unknown)
    return case.report(problems, journals_of(spec, workdir)) if problems else None


@pytest.fixture(scope="module")
def matrix(request, tmp_path_factory) -> dict[str, str | None]:
    """Every case the session selected from this module, run WORKERS at a time once: case id -> failure message or None."""
    specs: dict[str, Spec] = {}
    for item in request.session.items:
        spec = getattr(item, "callspec", None) and item.callspec.params.get("spec")
        if item.module is request.module and isinstance(spec, Spec):
            specs.setdefault(spec.id, spec)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {key: pool.submit(run_case, spec, tmp_path_factory.mktemp(key)) for key, spec in specs.items()}
        results = {key: future.result() for key, future in futures.items()}
    print("\nkill matrix: %d case(s), %d failing, in %.0f s" % (len(results), sum(1 for value in results.values() if value), time.monotonic() - started))
    return results


def check(matrix: dict[str, str | None], spec: Spec) -> None:
    failure = matrix[spec.id]
    if failure:
        pytest.fail(failure, pytrace=False)


@pytest.mark.parametrize("spec", KILLED, ids=str)
def test_a_run_killed_then_rerun_acts_once_on_every_target_and_accounts_for_all(matrix, spec):
    check(matrix, spec)


@pytest.mark.parametrize("spec", AFTER_FAULT, ids=str)
def test_a_run_killed_right_after_a_fault_then_rerun_acts_once_on_every_target_and_accounts_for_all(matrix, spec):
    check(matrix, spec)


@pytest.mark.parametrize("spec", [TWO_RUNS], ids=str)
def test_two_runs_on_one_cloud_at_once_never_act_twice_on_a_target(matrix, spec):
    check(matrix, spec)
