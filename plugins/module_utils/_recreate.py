# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The legacy upgrade path: recreate system VMs and routers so that they boot the current template.

The decisions (what is already current, what may be touched, in which order) are pure functions over the
objects of ``_fleet``; :class:`Recreator` runs the jobs through ``_jobs.JobRunner`` and verifies each target by
reading it again. Every wait is bounded by the job timeout.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, field

from ansible_collections.acs.upgrade.plugins.module_utils._actions import (
    Path,
    action_for,
    routers_recreated_problems,
    settle_queued_job,
    systemvm_recreated_problem,
    upgraded_job_ids,
)
from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackError, UnknownOutcomeError
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import (
    Fleet,
    Router,
    SystemVm,
    Unit,
    with_projects,
    zone_min_template,
)
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobOutcome, JobRunner, JobTask, failure_exceeded
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    MIN_TEMPLATE_SETTING,
    older_than_minimum,
    systemvm_facts,
    template_is_current,
    unknown_minimum_reason,
)
from ansible_collections.acs.upgrade.plugins.module_utils._plan import DecideOptions, Decision, decide, target_outcome

SYSTEMVM_METHODS = ("reboot", "stop_start", "destroy")
ROUTER_METHODS = ("restart_cleanup", "reboot", "upgrade_template")

# Target statuses that make the module fail.
FAILED_STATUSES = frozenset(("failed", "timed_out", "not_submitted", "outcome_unknown"))

# The routers of a redundant network or VPC; a reboot may take down one of them at a time only.
PRIMARY = "PRIMARY"
UNKNOWN = "UNKNOWN"
# A redundant router's redundantstate is written only by CheckRouterTask, every router.check.interval seconds (30 by
# default; VirtualNetworkApplianceManagerImpl, 4.18.0.0): a pair just booted shows UNKNOWN that long. Running pairs
# with an UNKNOWN router are read again for up to this many seconds (two runs of the task) before they count as unsettled.
REDUNDANT_STATE_WAIT = 60.0
# A system VM's agentstate is its own host's status (ApiResponseHelper.createSystemVmResponse, 4.18.0.0): a new SSVM/CPVM
# is Running and Connecting before its agent is Up.
AGENT_UP = "Up"

# upgradeRouterTemplate reboots only Running routers below the zone's minimum (NetworkHelperImpl.checkRouterTemplateVersion).
NOTHING_QUEUED_HINT = (
    "CloudStack reboots only Running routers whose template is below the zone's minreq.sysvmtemplate.version, and none while "
    "router.version.check is false; check those settings, or use method reboot or restart_cleanup"
)


@dataclass
class Target:
    """One thing the module acts on: a system VM, a router, or a network/VPC restarted with cleanup."""

    kind: str  # systemvm | router | network | vpc
    id: str
    name: str
    method: str
    zoneid: str | None = None
    zonename: str | None = None
    podid: str | None = None
    clusterid: str | None = None
    account: str | None = None
    domain: str | None = None
    systemvmtype: str | None = None
    redundantstate: str | None = None
    routers: list[Router] = field(default_factory=list)
    unit: Unit | None = None
    status: str = "pending"
    reason: str = ""
    jobids: list[str] = field(default_factory=list)
    duration: float = 0.0
    started: str | None = None
    finished: str | None = None
    version_before: str | None = None
    version_after: str | None = None
    new_ids: list[str] = field(default_factory=list)
    routers_after: list[Router] = field(default_factory=list)
    nothing_queued: bool = False

    @property
    def label(self) -> str:
        return "%s %s (%s)" % ("system VM" if self.kind == "systemvm" else self.kind, self.name, self.id)

    def finish(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason

    def leave(self, status: str, reason: str) -> None:
        """Nothing will be done: the target stays as it is."""
        self.version_after = self.version_before
        self.finish(status, reason)

    def add_outcome(self, outcome: JobOutcome) -> None:
        if outcome.jobid:
            self.jobids.append(outcome.jobid)
        self.duration = round(self.duration + (outcome.duration or 0.0), 3)
        self.started = self.started or outcome.started_at
        self.finished = outcome.finished_at or self.finished

    def as_result(self) -> dict[str, t.Any]:
        result: dict[str, t.Any] = {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "zoneid": self.zoneid,
            "zonename": self.zonename,
            "podid": self.podid,
            "clusterid": self.clusterid,
            "method": self.method,
            "status": self.status,
            "outcome": target_outcome(self.status),
            "reason": self.reason,
            "jobid": self.jobids[-1] if self.jobids else None,
            "jobids": list(self.jobids),
            "duration": self.duration if self.jobids else None,
            "started": self.started,
            "finished": self.finished,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "new_ids": list(self.new_ids),
        }
        if self.kind == "systemvm":
            result["systemvmtype"] = self.systemvmtype
        else:
            result.update(account=self.account, domain=self.domain)
        if self.kind == "router":
            result["redundantstate"] = self.redundantstate
        if self.kind in ("network", "vpc"):
            result["routers"] = [{"id": router.id, "name": router.name, "redundantstate": router.redundantstate} for router in self.routers]
            result["routers_after"] = [
                {field: getattr(router, field) for field in ("id", "name", "redundantstate", "version", "scriptsversion")} for router in self.routers_after
            ]
        return result


# -- decisions (pure) ------------------------------------------------------------------------------------------


def router_is_current(router: Router, minreq: str | None) -> bool:
    """Whether the router runs the current template: its ``version`` at or above its zone's minreq.sysvmtemplate.version
    (``minreq``); never ``requiresupgrade``, which turns false after a live patch."""
    return template_is_current(router.version, minreq)


def nothing_queued_reason(target: Target) -> str:
    return "upgradeRouterTemplate queued no reboot for %s on template %s: %s" % (target.label, target.version_before, NOTHING_QUEUED_HINT)


def pair_settled(routers: t.Sequence[Router]) -> tuple[bool, str]:
    """Whether redundant routers are all Running with exactly one PRIMARY, and their states in words."""
    states = ", ".join("%s %s/%s" % (router.name, router.state, router.redundantstate or "UNKNOWN") for router in routers)
    primaries = sum(1 for router in routers if router.redundantstate == PRIMARY)
    settled = bool(routers) and all(router.state == "Running" for router in routers) and primaries == 1
    return settled, states or "no router"


def _apply(target: Target, decision: Decision) -> Target:
    """Put the one decision (``_plan.decide``) in this module's words: a skip is "unchanged" when nothing is left to do."""
    if decision.path == Path.SKIP:
        target.leave("unchanged" if decision.done else "skipped", decision.reason)
    else:
        target.reason = decision.reason
    return target


def systemvm_target(vm: SystemVm, method: str, ms_version: str, force: bool, *, minreq: str | None) -> Target:
    target = Target(
        kind="systemvm",
        id=vm.id,
        name=vm.name,
        method=method,
        zoneid=vm.zoneid,
        zonename=vm.zonename,
        podid=vm.podid,
        clusterid=vm.clusterid,
        systemvmtype=vm.systemvmtype,
        version_before=systemvm_facts(vm, ms_version, minreq).template_version,
    )
    return _apply(target, decide("systemvm", vm, ms_version, DecideOptions(force=force, method=method, minreq=minreq, zone=vm.zonename)))


def router_target(router: Router, method: str, ms_version: str, force: bool, unit: Unit | None, *, minreq: str | None) -> Target:
    target = Target(
        kind="router",
        id=router.id,
        name=router.name,
        method=method,
        zoneid=router.zoneid,
        zonename=router.zonename,
        podid=router.podid,
        clusterid=router.clusterid,
        account=router.account,
        domain=router.domain,
        redundantstate=router.redundantstate,
        routers=[router],
        unit=unit,
        version_before=router.version,
    )
    return _apply(target, decide("router", router, ms_version, DecideOptions(force=force, method=method, minreq=minreq, zone=router.zonename), unit=unit))


def unit_target(unit: Unit, ms_version: str, force: bool, *, minreq: str | None) -> Target:
    first = unit.routers[0] if unit.routers else None
    target = Target(
        kind=unit.kind,
        id=unit.id,
        name=unit.name,
        method="restart_cleanup",
        zoneid=unit.zoneid,
        zonename=first.zonename if first else None,
        podid=first.podid if first else None,
        clusterid=first.clusterid if first else None,
        account=unit.account,
        domain=first.domain if first else None,
        routers=list(unit.routers),
        unit=unit,
        version_before=_versions(unit.routers),
    )
    options = DecideOptions(force=force, method="restart_cleanup", minreq=minreq, zone=first.zonename if first else unit.zoneid)
    return _apply(target, decide(unit.kind, unit, ms_version, options, unit.routers))


def reboot_waves(targets: t.Sequence[Target]) -> tuple[list[Target], list[Target]]:
    """Routers to reboot first (BACKUPs and single routers), then the PRIMARYs of redundant pairs."""
    first = [target for target in targets if target.redundantstate != PRIMARY]
    second = [target for target in targets if target.redundantstate == PRIMARY]
    return first, second


def summarize(targets: t.Sequence[Target]) -> dict[str, int]:
    summary = {"total": len(targets)}
    for status in ("unchanged", "skipped", "would_recreate", "succeeded", "failed", "timed_out", "not_submitted", "outcome_unknown"):
        summary[status] = sum(1 for target in targets if target.status == status)
    return summary


def _versions(routers: t.Sequence[Router]) -> str | None:
    versions = sorted({router.version for router in routers if router.version})
    return ", ".join(versions) if versions else None


def _chunks(items: t.Sequence[Target], size: int) -> t.Iterator[list[Target]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# -- running ---------------------------------------------------------------------------------------------------


class NothingQueued(CloudStackError):
    """upgradeRouterTemplate answered with no job: CloudStack found nothing to upgrade."""


class Recreator:
    """Runs the jobs of one method over the targets that need it, at most ``parallel`` at a time."""

    def __init__(
        self,
        client: t.Any,
        fleet: Fleet,
        parallel: int = 2,
        timeout: float = 600.0,
        poll_interval: float = 5.0,
        max_fail_percentage: float = 0.0,
        sleep: t.Callable[[float], None] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.fleet = fleet
        self.parallel = parallel
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_fail_percentage = max_fail_percentage
        # How many targets the run acts on; set by the caller before the first job.
        self.total = 0
        self._sleep = sleep
        self._clock = clock
        self._cluster_of_host = {host_id: host.get("clusterid") for host_id, host in fleet.hosts.items() if host.get("clusterid")}
        self.outcomes: list[JobOutcome] = []
        self.warnings: list[str] = []
        self.state_wait = min(REDUNDANT_STATE_WAIT, timeout)

    # -- the job runner, with the failure limit shared by every wave of the run

    def _should_stop(self, outcomes: list[JobOutcome]) -> bool:
        """Ansible's meaning, as cs_livepatch has it: failed jobs against all the targets of the run."""
        return failure_exceeded(self.total, self.outcomes + outcomes, self.max_fail_percentage)

    def _run(self, tasks: list[JobTask], parallel: int | None = None, limited: bool = True) -> list[JobOutcome]:
        """Run ``tasks``; ``limited=False`` for jobs that must run whatever failed before (starting what was stopped)."""
        if not tasks:
            return []
        runner = JobRunner(
            self.client,
            parallel=parallel or self.parallel,
            poll_interval=self.poll_interval,
            job_timeout=self.timeout,
            deadline=self.timeout * (len(tasks) + 1),
            on_complete=self._on_complete,
            should_stop=self._should_stop if limited else None,
            sleep=self._sleep,
            clock=self._clock,
        )
        outcomes = runner.run(tasks)
        self.outcomes.extend(outcomes)
        return outcomes

    @staticmethod
    def _on_complete(outcome: JobOutcome) -> None:
        target = outcome.context
        if isinstance(target, Target) and target.nothing_queued:
            outcome.status = "unchanged"

    def _job_failed(self, target: Target, outcome: JobOutcome, command: str) -> bool:
        """Record a job's end on its target; True (and the target failed) when the job did not succeed."""
        target.add_outcome(outcome)
        if outcome.status == "succeeded":
            return False
        if outcome.status == "not_submitted":
            target.finish("not_submitted", "%s not sent for %s: %s" % (command, target.label, outcome.errortext or "stopped"))
        elif outcome.status == "submit_failed":
            target.finish("not_submitted", "%s of %s was not started, nothing changed: %s" % (command, target.label, outcome.errortext))
        elif outcome.status == "outcome_unknown":
            target.finish("outcome_unknown", "%s of %s: %s; nothing was sent again" % (command, target.label, outcome.errortext))
        elif outcome.status == "timed_out":
            target.finish("timed_out", "%s of %s: %s; check the job in CloudStack before running again" % (command, target.label, outcome.errortext))
        else:
            target.finish("failed", "%s of %s failed: %s" % (command, target.label, outcome.errortext or outcome.status))
        return True

    # -- system VMs

    def systemvms(self, targets: list[Target], method: str) -> None:
        if method == "stop_start":
            for batch in _chunks(targets, self.parallel):
                stopped = self._jobs(batch, "stopSystemVm", lambda target: {"id": target.id})
                self._jobs(stopped, "startSystemVm", lambda target: {"id": target.id}, limited=False)
        elif method == "reboot":
            action = action_for(Path.LEGACY, "systemvm")
            if not self.client.has_feature("rebootSystemVm.forced"):
                self.warnings.append("management server %s has no forced reboot: rebootSystemVm restarts the guest only" % self.fleet.version)
            self._jobs(targets, action.command, lambda target: action.request(target.id, self.client.has_feature))
        else:
            destroyed = self._jobs(targets, "destroySystemVm", lambda target: {"id": target.id})
            self._wait_replacements(destroyed)
            return
        self._verify_systemvms([target for target in targets if target.status == "pending"])

    def _jobs(self, targets: list[Target], command: str, params: t.Callable[[Target], dict[str, t.Any]], limited: bool = True) -> list[Target]:
        """One ``command`` job per target; returns the targets whose job succeeded."""
        tasks = [JobTask(key=target.id, submit=self._submitter(command, params(target)), context=target) for target in targets if target.status == "pending"]
        return [outcome.context for outcome in self._run(tasks, limited=limited) if not self._job_failed(outcome.context, outcome, command)]

    def _submitter(self, command: str, params: dict[str, t.Any]) -> t.Callable[[], str]:
        return lambda: self.client.submit(command, **params)

    def _verify_systemvms(self, targets: list[Target]) -> None:
        now = {vm["id"]: vm for zoneid in {target.zoneid for target in targets} for vm in self.client.list("listSystemVms", "systemvm", zoneid=zoneid)}
        for target in targets:
            vm = now.get(target.id)
            if vm is None:
                target.finish("failed", "%s is gone after %s; list the system VMs of zone %s" % (target.label, target.method, target.zonename))
                continue
            self._check_recreated(target, vm)

    def _check_recreated(self, target: Target, item: dict[str, t.Any]) -> None:
        """Judge a system VM read again by the action table's rule: its disk's template (listSystemVms ``version`` is its
        agent's, not the template's)."""
        problem, target.version_after = systemvm_recreated_problem(self.client, item, self._minreq(target), target.zonename)
        if item.get("state") != "Running":
            target.finish("failed", "%s is %s after %s; start it or recreate it with method destroy" % (target.label, item.get("state"), target.method))
        elif problem:
            target.finish(
                "failed",
                "%s: %s; check that the system VM template of that version is registered, Ready in zone %s and is the active "
                "SYSTEM template" % (target.label, problem, target.zonename),
            )
        else:
            target.finish("succeeded", "recreated from template %s, at or above %s" % (target.version_after, self._minimum(target)))

    def _minreq(self, target: Target) -> str | None:
        return zone_min_template(self.fleet, target.zoneid)

    def _minimum(self, target: Target) -> str:
        return "%s's minimum %s (%s)" % (target.zonename, self._minreq(target), MIN_TEMPLATE_SETTING)

    def _not_current(self, target: Target, version: str | None) -> str:
        """Why a recreated VM on ``version`` is not current: older than its zone's minimum, or the minimum is unknown."""
        minreq = self._minreq(target)
        if minreq is None:
            return "on template %s, but %s" % (version, unknown_minimum_reason(target.zonename, (self.fleet.min_template or {}).get(target.zoneid or "")))
        return "with %s" % older_than_minimum(version, target.zonename, minreq)

    def _wait_replacements(self, destroyed: list[Target]) -> None:
        """After destroySystemVm, CloudStack deploys a new VM of the same type in the zone; wait for it to run."""
        if not destroyed:
            return
        groups: dict[tuple[str | None, str | None], list[Target]] = {}
        for target in destroyed:
            groups.setdefault((target.zoneid, target.systemvmtype), []).append(target)
        known = {vm.id for vm in self.fleet.systemvms}
        # The newest replacement seen per zone and type that is Running with its agent not Up yet (Connecting).
        connecting: dict[tuple[str | None, str | None], dict[str, t.Any]] = {}
        end = self._clock() + self.timeout
        while True:
            pending = {key: waiting for key, waiting in groups.items() if any(target.status == "pending" for target in waiting)}
            for (zoneid, vmtype), waiting in pending.items():
                listed = self.client.list("listSystemVms", "systemvm", zoneid=zoneid, systemvmtype=vmtype)
                running = [vm for vm in listed if vm["id"] not in known and vm.get("state") == "Running"]
                fresh = [vm for vm in running if vm.get("agentstate", AGENT_UP) == AGENT_UP]
                if len(fresh) < len(running):
                    connecting[(zoneid, vmtype)] = next(vm for vm in running if vm.get("agentstate", AGENT_UP) != AGENT_UP)
                for target, vm in zip([target for target in waiting if target.status == "pending"], fresh):
                    known.add(vm["id"])
                    target.new_ids.append(vm["id"])
                    self._check_recreated(target, vm)
                    if target.status == "succeeded":
                        target.reason = "replaced by %s (%s) on template %s" % (vm.get("name"), vm["id"], target.version_after)
            if not any(target.status == "pending" for target in destroyed) or self._clock() >= end:
                break
            self._sleep(self.poll_interval)
        for target in destroyed:
            seen = connecting.get((target.zoneid, target.systemvmtype))
            if target.status == "pending" and seen is not None:
                target.finish(
                    "timed_out",
                    "%s was destroyed and its replacement %s (%s) is Running, but its agent is still %s after %ss: the management server "
                    "does not manage it yet; check the agent of %s (its console, /var/log/cloud.log) and the management server log"
                    % (target.label, seen.get("name"), seen["id"], seen.get("agentstate"), self.timeout, seen.get("name")),
                )
            elif target.status == "pending":
                target.finish(
                    "timed_out",
                    "%s was destroyed but no new %s is Running in zone %s after %ss: check the system VM template of that zone "
                    "(see the cross-zone template trap) and the management server log" % (target.label, target.systemvmtype, target.zonename, self.timeout),
                )

    # -- routers: reboot and per-router template upgrade, BACKUP before PRIMARY

    def hold_unsettled_pairs(self, targets: list[Target]) -> None:
        """Skip the routers of redundant pairs that are not settled now (reads only, so check mode tells it too); a
        Running pair with an UNKNOWN router is read again until CheckRouterTask has run (at most ``state_wait`` s)."""
        for key, unit in self._redundant_units(targets).items():
            settled, states = self._settled_within(unit, self.state_wait)
            if settled:
                continue
            for target in targets:
                if _unit_key(target) == key:
                    target.finish(
                        "skipped",
                        "the redundant routers of %s %s are not settled (%s): rebooting now could take down the only working router; "
                        "fix the pair or use method restart_cleanup" % (unit.kind, unit.name, states),
                    )

    def _settled_within(self, unit: Unit, wait: float) -> tuple[bool, str]:
        """pair_settled, read again while the pair is all Running with an UNKNOWN router, for at most ``wait`` seconds."""
        end = self._clock() + wait
        while True:
            routers = self._unit_routers(unit)
            settled, states = pair_settled(routers)
            running = bool(routers) and all(router.state == "Running" for router in routers)
            waiting = running and any((router.redundantstate or UNKNOWN) == UNKNOWN for router in routers)
            if settled or not waiting or self._clock() >= end:
                if waiting and not settled:
                    states += " (still UNKNOWN after %ds: CheckRouterTask updates it every router.check.interval seconds)" % wait
                return settled, states
            self._sleep(self.poll_interval)

    def routers(self, targets: list[Target], method: str) -> None:
        """Reboot (or upgrade) routers whose pairs :meth:`hold_unsettled_pairs` found settled: BACKUPs, then PRIMARYs."""
        units = self._redundant_units(targets)
        command = "upgradeRouterTemplate" if method == "upgrade_template" else "rebootRouter"
        first, second = reboot_waves([target for target in targets if target.status == "pending"])
        self._router_wave(first, command)
        touched = {_unit_key(target) for target in first if _unit_key(target) in units}
        waiting = {key for key in touched if any(_unit_key(target) == key for target in second)}
        settled = self._wait_settled({key: units[key] for key in waiting}) if waiting else {}
        for target in second:
            key = _unit_key(target)
            if key not in units:
                continue
            peers = [other for other in first if _unit_key(other) == key]
            broken = [other for other in peers if other.status in FAILED_STATUSES]
            if broken:
                target.finish(
                    "not_submitted",
                    "not rebooted: its peer %s did not come back (%s); the PRIMARY keeps serving the network" % (broken[0].name, broken[0].status),
                )
            elif key in settled and not settled[key][0]:
                target.finish(
                    "not_submitted",
                    "not rebooted: the pair did not settle with one PRIMARY within %ss (%s); the PRIMARY keeps serving the network"
                    % (self.timeout, settled[key][1]),
                )
        self._router_wave([target for target in second if target.status == "pending"], command)
        done = [target for target in targets if target.status == "pending"]
        final = self._wait_settled({key: units[key] for key in {_unit_key(target) for target in done} if key in units})
        for target in done:
            key = _unit_key(target)
            if key in final and not final[key][0]:
                unit_name = target.unit.name if target.unit else target.name
                target.finish("failed", "the redundant pair of %s did not settle with one PRIMARY within %ss: %s" % (unit_name, self.timeout, final[key][1]))
        self._verify_routers([target for target in done if target.status == "pending"])

    def _router_wave(self, targets: list[Target], command: str) -> None:
        if command == "rebootRouter":
            self._jobs(targets, command, lambda target: {"id": target.id})
            return
        tasks = [JobTask(key=target.id, submit=self._template_upgrader(target), context=target) for target in targets]
        for outcome in self._run(tasks):
            target = outcome.context
            if target.nothing_queued and router_is_current(target.routers[0], self._minreq(target)):
                target.finish(
                    "unchanged",
                    "CloudStack queued no reboot for %s: its template %s is at or above %s's %s %s"
                    % (target.label, target.routers[0].version, target.zonename, MIN_TEMPLATE_SETTING, self._minreq(target)),
                )
            elif target.nothing_queued:
                target.finish("failed", nothing_queued_reason(target))
            else:
                self._job_failed(target, outcome, "the reboot queued by upgradeRouterTemplate")

    def _template_upgrader(self, target: Target) -> t.Callable[[], str]:
        def submit() -> str:
            answer = self.client.call(
                "upgradeRouterTemplate", _settle=lambda attempt: settle_queued_job(self.client, "upgradeRouterTemplate", target.id, attempt), id=target.id
            )
            jobs = upgraded_job_ids(answer)
            if not jobs:
                target.nothing_queued = True
                raise NothingQueued("upgradeRouterTemplate", 200, "nothing queued for %s" % target.label)
            return jobs[0]

        return submit

    @staticmethod
    def _redundant_units(targets: list[Target]) -> dict[tuple[str, str], Unit]:
        return {
            _unit_key(target): target.unit
            for target in targets
            if target.status == "pending" and target.unit is not None and target.routers and target.routers[0].isredundantrouter
        }

    def _unit_routers(self, unit: Unit) -> list[Router]:
        where = {"vpcid": unit.id} if unit.kind == "vpc" else {"networkid": unit.id}
        return [Router.from_api(item, self._cluster_of_host) for item in self.client.list("listRouters", "router", **with_projects(dict(where, listall=True)))]

    def _wait_settled(self, units: dict[tuple[str, str], Unit]) -> dict[tuple[str, str], tuple[bool, str]]:
        """Read the redundant routers of each unit (the fleet may have been narrowed to a pod) until they settle."""
        results: dict[tuple[str, str], tuple[bool, str]] = {}
        pending = dict(units)
        end = self._clock() + self.timeout
        while pending:
            for key, unit in list(pending.items()):
                results[key] = pair_settled(self._unit_routers(unit))
                if results[key][0]:
                    del pending[key]
            if not pending or self._clock() >= end:
                break
            self._sleep(self.poll_interval)
        return results

    def _verify_routers(self, targets: list[Target]) -> None:
        zones = {target.zoneid for target in targets}
        now = {item["id"]: item for zoneid in zones for item in self.client.list("listRouters", "router", **with_projects({"listall": True, "zoneid": zoneid}))}
        for target in targets:
            item = now.get(target.id)
            if item is None:
                target.finish("failed", "%s is gone after %s; restart its network with cleanup to recreate it" % (target.label, target.method))
                continue
            router = Router.from_api(item, self._cluster_of_host)
            target.version_after = router.version
            target.redundantstate = router.redundantstate
            if router.state != "Running":
                target.finish("failed", "%s is %s after %s; restart its network with cleanup" % (target.label, router.state, target.method))
            elif not router_is_current(router, self._minreq(target)):
                target.finish("failed", "%s came back and %s" % (target.label, self._not_current(target, router.version)))
            else:
                target.finish("succeeded", "rebooted onto template %s" % router.version)

    # -- routers: network/VPC restart with cleanup

    def restart_cleanup(self, targets: list[Target]) -> None:
        tasks = []
        for target in targets:
            action = action_for(Path.LEGACY, target.kind)
            tasks.append(JobTask(key=target.id, submit=self._submitter(action.command, action.request(target.id, self.client.has_feature)), context=target))
        for outcome in self._run(tasks):
            target = outcome.context
            if self._job_failed(target, outcome, action_for(Path.LEGACY, target.kind).command):
                continue
            after = self._unit_routers(target.unit)
            target.routers_after = after
            before = {router.id for router in target.routers}
            target.new_ids = [router.id for router in after if router.id not in before]
            target.version_after = _versions(after)
            problem = routers_recreated_problems([router.raw for router in after], self._minreq(target), target.zonename)
            if problem:
                target.finish("failed", "after the restart with cleanup of %s: %s" % (target.label, problem))
            else:
                target.finish("succeeded", "routers %s on template %s" % (", ".join(router.name for router in after), target.version_after))

    # -- routers: one upgradeRouterTemplate call for a whole zone/pod/cluster/domain

    def upgrade_by_selector(self, targets: list[Target], selector: dict[str, str]) -> None:
        try:
            answer = self.client.call("upgradeRouterTemplate", **selector)
        except CloudStackError as exc:
            # One call for all of them: each target gets the call's fate, so that none is left without a status.
            status = "outcome_unknown" if isinstance(exc, UnknownOutcomeError) else "not_submitted"
            for target in targets:
                target.finish(status, "upgradeRouterTemplate %s: %s" % (", ".join("%s=%s" % item for item in selector.items()), exc.message))
            return
        jobs = upgraded_job_ids(answer)
        outcomes = self._run([JobTask(key=jobid, jobid=jobid) for jobid in jobs], parallel=max(len(jobs), 1))
        by_router: dict[str, JobOutcome] = {}
        for outcome in outcomes:
            routerid = (outcome.result.get("router") or {}).get("id")
            if not routerid:
                try:
                    routerid = self.client.query_job(outcome.jobid).get("jobinstanceid")
                except CloudStackError:
                    routerid = None
            if routerid:
                by_router[routerid] = outcome
        chosen = {target.id for target in targets}
        for routerid, outcome in by_router.items():
            if routerid not in chosen:
                self.warnings.append(
                    "upgradeRouterTemplate also queued job %s (%s) for router %s, which was not to be touched" % (outcome.jobid, outcome.status, routerid)
                )
        pending = []
        for target in targets:
            outcome = by_router.get(target.id)
            if outcome is None:
                target.finish("failed", nothing_queued_reason(target))
            elif not self._job_failed(target, outcome, "the reboot queued by upgradeRouterTemplate"):
                pending.append(target)
        self._verify_routers(pending)


def _unit_key(target: Target) -> tuple[str, str]:
    unit = target.unit
    return (unit.kind, unit.id) if unit is not None else ("router", target.id)
