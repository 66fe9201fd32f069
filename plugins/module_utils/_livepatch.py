# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Live patching of system VMs and routers: which targets, which path, and whether the patch really happened.

A router is live-patched only through ``restartNetwork``/``restartVPC`` with ``livepatch=true``, which patches
every Running router of that network or VPC at once; a system VM through ``patchSystemVm``. CloudStack reports
success even when nothing was patched (a VPC without tiers, a router that is not Running), so every job is
verified by reading the routers again. The planning and verification functions here are pure; only
:class:`LivePatcher` talks to the API.
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass, field

from ansible_collections.acs.upgrade.plugins.module_utils._actions import Path, action_for
from ansible_collections.acs.upgrade.plugins.module_utils._api import UNCHANGED_MARKER, CloudStackError
from ansible_collections.acs.upgrade.plugins.module_utils._common import selected
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, FleetError, Router, SystemVm, Unit, with_projects
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobOutcome, JobRunner, JobTask, failure_exceeded
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    LIVEPATCH_MIN_MS_VERSION,
    REFUSED_ACTION,
    REFUSED_BY_SERVER,
    is_current,
    learn_payload_checksum,
    ms_supports_livepatch,
    payload_scriptsversion,
    router_facts,
    server_accepts,
)
from ansible_collections.acs.upgrade.plugins.module_utils._plan import RECREATE_HINT, DecideOptions, Decision, decide, target_outcome

# cs_livepatch's own words for a target's path (its documented return values): the plan's livepatch, skip and legacy.
LIVEPATCH, SKIPPED, LEGACY = Path.LIVEPATCH.value, "skipped", "legacy_required"
SYSTEMVM_KINDS = {"ssvm": "secondarystoragevm", "cpvm": "consoleproxy"}
# Statuses of a target that make the run fail. Only "failed" asks for a recreate: a target "not_submitted" was never
# touched, and one whose outcome is unknown must be checked before anything else is done to it.
FAILED_STATUSES = frozenset(("failed", "timed_out", "not_submitted", "outcome_unknown"))


def recreate_hint(what: str = "it") -> str:
    return RECREATE_HINT % what


@dataclass
class Target:
    """One thing a live patch job acts on: a system VM, or a network/VPC with its routers."""

    kind: str  # secondarystoragevm | consoleproxy | network | vpc
    id: str
    name: str
    zoneid: str | None
    zone: str | None
    pods: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    account: str | None = None
    domain: str | None = None
    path: str = LIVEPATCH
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    status: str = "not_patched"
    jobid: str | None = None
    duration: float | None = None
    started: str | None = None
    finished: str | None = None
    before: dict[str, t.Any] = field(default_factory=dict)
    after: dict[str, t.Any] = field(default_factory=dict)
    routers: list[Router] = field(default_factory=list)
    routers_touched: list[str] = field(default_factory=list)
    routers_not_running: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "%s %s (%s)" % (self.kind, self.name, self.id)

    @property
    def is_router_unit(self) -> bool:
        return self.kind in ("network", "vpc")

    @property
    def recreate_required(self) -> bool:
        return self.path == LEGACY or self.status == "failed"

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "zone": self.zone,
            "zoneid": self.zoneid,
            "pods": self.pods,
            "clusters": self.clusters,
            "account": self.account,
            "domain": self.domain,
            "path": self.path,
            "reason": self.reason,
            "warnings": self.warnings,
            "status": self.status,
            "outcome": target_outcome(self.status),
            "jobid": self.jobid,
            "duration": self.duration,
            "started": self.started,
            "finished": self.finished,
            "before": self.before,
            "after": self.after,
            "routers": [router.name for router in self.routers],
            "routers_touched": self.routers_touched,
            "routers_not_running": self.routers_not_running,
            "recreate_required": self.recreate_required,
        }


def router_versions(routers: t.Iterable[Router]) -> dict[str, dict[str, t.Any]]:
    """``{router name: {state, version, scriptsversion, softwareversion}}``: what before/after report for a unit."""
    return {
        router.name: {"state": router.state, "version": router.version, "scriptsversion": router.scriptsversion, "softwareversion": router.softwareversion}
        for router in routers
    }


def systemvm_versions(vm: SystemVm) -> dict[str, t.Any]:
    # listSystemVms carries no scriptsversion/softwareversion: its version is the agent's, the template is reported apart.
    return {vm.name: {"state": vm.state, "agentstate": vm.agentstate, "version": vm.version, "template_version": vm.template_version}}


def _names(fleet: Fleet, table: str, ids: t.Iterable[str | None]) -> list[str]:
    objects = getattr(fleet, table)
    return sorted({objects.get(i, {}).get("name", i) for i in ids if i})


def _apply(target: Target, decision: Decision) -> Target:
    """Put the one decision (``_plan.decide``) in this module's words: a skip that is not done needs the legacy path here,
    since a live patch cannot reach what is not Running."""
    target.reason = decision.reason
    target.warnings.extend(warning for warning in decision.warnings if warning not in target.warnings)
    if decision.path == Path.LIVEPATCH:
        target.path = LIVEPATCH
    elif decision.path == Path.SKIP and decision.done:
        target.path, target.status = SKIPPED, "unchanged"
    else:
        target.path = LEGACY
    return target


def _server_options(fleet: Fleet, server_payload: str | None) -> dict[str, t.Any]:
    """What the server checks, for ``_plan.decide`` as the plan passes it: the hosts (a VM on a host whose agent is older than
    the server, or not Up, is not live-patched: the payload is the agent's), each zone's minimum, router.version.check (True
    unless read) and the server's payload checksum (``_matrix.learn_payload_checksum``, None when not known)."""
    check = getattr(fleet, "router_version_check", None)
    return {"hosts": fleet.hosts, "min_template": fleet.min_template, "version_check": True if check is None else check, "server_payload": server_payload}


def plan_systemvm(vm: SystemVm, fleet: Fleet, forced: bool, server_payload: str | None = None) -> Target:
    """The path of one SSVM or CPVM and why (decided by ``_plan.decide``)."""
    target = Target(
        kind=vm.systemvmtype,
        id=vm.id,
        name=vm.name,
        zoneid=vm.zoneid,
        zone=vm.zonename or fleet.zone_name(vm.zoneid),
        pods=_names(fleet, "pods", [vm.podid]),
        clusters=_names(fleet, "clusters", [vm.clusterid]),
        before=systemvm_versions(vm),
    )
    options = DecideOptions(force=forced, minreq=fleet.min_template.get(vm.zoneid or ""), zone=target.zone, **_server_options(fleet, server_payload))
    return _apply(target, decide("systemvm", vm, fleet.version, options))


def plan_unit(unit: Unit, fleet: Fleet, forced: bool, payload: str | None = None, server_payload: str | None = None) -> Target:
    """The path of one network or VPC (all its routers at once) and why (decided by ``_plan.decide``); ``payload``: see
    ``_matrix.payload_scriptsversion``."""
    domain = fleet.domains.get(unit.domainid or "", {}).get("name", unit.routers[0].domain if unit.routers else None)
    target = Target(
        kind=unit.kind,
        id=unit.id,
        name=unit.name,
        zoneid=unit.zoneid,
        zone=fleet.zone_name(unit.zoneid),
        pods=_names(fleet, "pods", unit.podids),
        clusters=_names(fleet, "clusters", unit.clusterids),
        account=unit.account,
        domain=domain,
        routers=list(unit.routers),
        before=router_versions(unit.routers),
    )
    target.routers_not_running = [router.name for router in unit.routers if router.state != "Running"]
    tier_states = [fleet.networks.get(tier, {}).get("state") for tier in unit.tiers]
    options = DecideOptions(force=forced, minreq=fleet.min_template.get(unit.zoneid or ""), zone=target.zone, **_server_options(fleet, server_payload))
    _apply(target, decide(unit.kind, unit, fleet.version, options, unit.routers, tier_states, payload))
    redundant = [router for router in unit.routers if router.isredundantrouter]
    if len(redundant) > 1:
        target.warnings.append(
            "redundant routers %s are patched together by one restart: the BACKUP-before-PRIMARY order cannot be chosen on the live patch path; "
            "use acs.upgrade.cs_recreate (reboot) where the order matters"
            % ", ".join("%s (%s)" % (router.name, router.redundantstate or "UNKNOWN") for router in redundant)
        )
    return target


def verify_unit(target: Target, routers_after: t.Iterable[Router], ms_version: str) -> list[str]:
    """Check the routers of a unit after a successful restart; returns the problems (empty: patched)."""
    after = {router.id: router for router in routers_after}
    problems = []
    target.routers_touched = []
    for before in target.routers:
        if before.state != "Running":
            continue
        now = after.get(before.id)
        if now is None:
            problems.append("%s is gone" % before.name)
        elif not router_facts(now, ms_version, None).live_patched:
            problems.append("%s still reports softwareversion %s" % (before.name, now.softwareversion or "(none)"))
        elif now.scriptsversion == before.scriptsversion and not router_facts(before, ms_version, None).live_patched:
            problems.append("%s still has scriptsversion %s" % (before.name, now.scriptsversion or "(none)"))
        else:
            target.routers_touched.append(before.name)
    return problems


def _job_did_not_succeed(target: Target, outcome: JobOutcome, command: str) -> bool:
    """Record a job that did not succeed on its target; False when it succeeded."""
    if outcome.status == "succeeded":
        return False
    if outcome.status == "timed_out":
        target.status, target.reason = "timed_out", "%s; check job %s before running again" % (outcome.errortext, outcome.jobid)
    else:
        target.status = "failed"
        target.reason = "%s job %s %s: %s; a failed live patch leaves the services in an unknown state: %s" % (
            command,
            outcome.jobid,
            outcome.status,
            outcome.errortext,
            recreate_hint(),
        )
    return True


def judge_unit(target: Target, outcome: JobOutcome, routers_after: t.Iterable[Router], ms_version: str) -> None:
    """The status of a network or VPC after its restart job, from the job and the routers read again."""
    command = "restartVPC" if target.kind == "vpc" else "restartNetwork"
    routers_after = list(routers_after)
    selected = {router.id for router in target.routers}
    outside = [router.name for router in routers_after if router.id not in selected]
    if outside:
        target.warnings.append("the restart also acts on routers outside the pod/cluster asked for: %s" % ", ".join(outside))
    if _job_did_not_succeed(target, outcome, command):
        return
    problems = verify_unit(target, routers_after, ms_version)
    if problems:
        target.status = "failed"
        target.reason = "%s job %s succeeded but the live patch did not reach every Running router (%s); %s" % (
            command,
            outcome.jobid,
            "; ".join(problems),
            recreate_hint("them"),
        )
    else:
        target.status, target.reason = "patched", "live-patched %s to %s" % (", ".join(target.routers_touched), ms_version)


def judge_systemvm(target: Target, outcome: JobOutcome, vm_after: SystemVm | None, ms_version: str) -> None:
    """The status of an SSVM or CPVM after its patchSystemVm job, from the job answer and the VM read again."""
    if _job_did_not_succeed(target, outcome, "patchSystemVm"):
        return
    displaytext = str(outcome.result.get("displaytext") or "")
    if outcome.result.get("success") is False:
        target.status, target.reason = "failed", "patchSystemVm job %s answered success=false: %s; %s" % (outcome.jobid, displaytext, recreate_hint())
    elif UNCHANGED_MARKER.lower() in displaytext.lower():
        target.status, target.reason = "unchanged", displaytext
    elif vm_after is None or vm_after.state != "Running":
        target.status = "failed"
        target.reason = "patchSystemVm job %s succeeded but %s is %s afterwards; %s" % (
            outcome.jobid,
            target.name,
            vm_after.state if vm_after else "gone",
            recreate_hint(),
        )
    else:
        target.status, target.reason = "patched", displaytext or "live-patched to %s" % ms_version


def summarize(targets: t.Iterable[Target]) -> dict[str, int]:
    counts = {"targets": 0, LIVEPATCH: 0, SKIPPED: 0, LEGACY: 0}
    for status in ("would_patch", "submitted", "patched", "unchanged", "failed", "timed_out", "not_submitted", "outcome_unknown", "not_patched"):
        counts[status] = 0
    for target in targets:
        counts["targets"] += 1
        counts[target.path] += 1
        counts[target.status] += 1
    return counts


class LivePatcher:
    """Select the targets, plan each one, and run the live patch jobs with bounded concurrency and verification."""

    def __init__(self, client: t.Any, params: t.Mapping[str, t.Any], check_mode: bool):
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.fleet: Fleet | None = None
        self.targets: list[Target] = []
        self.server_payload: str | None = None

    # -- selection -------------------------------------------------------------------------------------------

    def selectors(self, option: str) -> list[str]:
        return list(self.params.get(option) or [])

    def read_fleet(self) -> Fleet:
        params = self.params
        if self.selectors("system_vms") and (params["domain"] or params["account"]):
            raise FleetError("system VMs belong to no account: select system_vms without domain/account, or routers/networks/vpcs with them")
        return Fleet.read(
            self.client,
            **selected(params),
            include_systemvms=bool(self.selectors("system_vms")),
        )

    def select_systemvms(self, fleet: Fleet) -> list[SystemVm]:
        chosen: dict[str, SystemVm] = {}
        for selector in self.selectors("system_vms"):
            if selector == "all":
                matches = list(fleet.systemvms)
            elif selector in SYSTEMVM_KINDS:
                matches = [vm for vm in fleet.systemvms if vm.systemvmtype == SYSTEMVM_KINDS[selector]]
            else:
                matches = [fleet.find_systemvm(selector)]
            for vm in matches:
                chosen.setdefault(vm.id, vm)
        return sorted(chosen.values(), key=lambda vm: (fleet.zone_name(vm.zoneid), vm.systemvmtype, vm.name))

    def select_units(self, fleet: Fleet) -> tuple[list[Unit], list[Target]]:
        """The units to act on, and targets for networks/VPCs named by the user that have no router to patch."""
        units = {(unit.kind, unit.id): unit for unit in fleet.units()}
        keys: list[tuple[str, str]] = []
        empty: list[Target] = []

        def add(key: tuple[str, str]) -> None:
            if key not in keys:
                keys.append(key)

        for selector in self.selectors("routers"):
            if selector == "all":
                for key in units:
                    add(key)
            else:
                router = fleet.find_router(selector)
                add(("vpc", router.vpcid) if router.vpcid else ("network", router.guestnetworkid or ""))
        for kind in ("network", "vpc"):
            for selector in self.selectors(kind + "s"):
                object_id = fleet.find_network(selector) if kind == "network" else fleet.find_vpc(selector)
                vpcid = fleet.networks.get(object_id, {}).get("vpcid") if kind == "network" else None
                key = ("vpc", vpcid) if vpcid else (kind, object_id)
                if key in units:
                    add(key)
                elif key not in [(target.kind, target.id) for target in empty]:
                    source = fleet.vpcs.get(key[1]) if key[0] == "vpc" else fleet.networks.get(key[1])
                    source = source or {"name": selector}
                    empty.append(
                        Target(
                            kind=key[0],
                            id=key[1],
                            name=source.get("name", selector),
                            zoneid=source.get("zoneid"),
                            zone=source.get("zonename"),
                            account=source.get("account"),
                            domain=source.get("domain"),
                            path=SKIPPED,
                            reason="%s %s has no router%s: nothing to live-patch"
                            % (key[0], source.get("name", selector), " in the zone/pod/cluster asked for" if any(fleet.filters.values()) else ""),
                        )
                    )
        return [units[key] for key in keys], empty

    def plan(self) -> list[Target]:
        fleet = self.fleet = self.read_fleet()
        forced = self.params["forced"]
        units, empty = self.select_units(fleet)
        self.server_payload = learn_payload_checksum(fleet.routers, fleet.hosts, fleet.version, fleet.min_template)[0]
        self.targets = [plan_systemvm(vm, fleet, forced, self.server_payload) for vm in self.select_systemvms(fleet)]
        payload = payload_scriptsversion(fleet.routers, fleet.version)
        self.targets += [plan_unit(unit, fleet, forced, payload, self.server_payload) for unit in units] + empty
        return self.targets

    def refused(self, target: Target, routers_after: t.Iterable[Router]) -> str:
        """The routers of a live-patched unit that the server refuses (NetworkHelperImpl.checkRouterVersion, see
        ``_matrix.server_accepts``), described; "" when none is known to be. The checksums the routers reported before this
        server patched them are known not to be the server's payload."""
        fleet = self.fleet
        if fleet is None:
            return ""
        check = getattr(fleet, "router_version_check", None)
        old = {router.scriptsversion for router in target.routers if router.scriptsversion and not is_current(router.softwareversion, fleet.version)}
        found = []
        for router in routers_after:
            minreq = fleet.min_template.get(router.zoneid or "")
            if router.state == "Running" and server_accepts(router, minreq, self.server_payload, True if check is None else check, old) is False:
                found.append(
                    "%s (template %s below the zone's minimum %s, scripts %s not the server's)" % (router.name, router.version, minreq, router.scriptsversion)
                )
        return ", ".join(found)

    # -- running ---------------------------------------------------------------------------------------------

    def _submit(self, target: Target) -> t.Callable[[], str]:
        action = action_for(Path.LIVEPATCH, target.kind)
        params = action.request(target.id, self.client.has_feature)
        if action.kind == "systemvm":
            params["forced"] = self.params["forced"]
        return lambda: self.client.submit(action.command, **params)

    def _reread_unit(self, target: Target) -> list[Router]:
        selector = {"vpcid": target.id} if target.kind == "vpc" else {"networkid": target.id}
        cluster_of_host = {router.hostid: router.clusterid for router in target.routers if router.hostid and router.clusterid}
        return [Router.from_api(item, cluster_of_host) for item in self.client.list("listRouters", "router", **with_projects(dict(selector, listall=True)))]

    def _reread_systemvm(self, target: Target) -> SystemVm | None:
        found = self.client.list("listSystemVms", "systemvm", id=target.id)
        return SystemVm.from_api(found[0], {}) if found else None

    def verify(self, outcome: JobOutcome) -> None:
        """Settle one finished job: read the target again and decide patched, unchanged or failed."""
        target: Target = outcome.context
        target.jobid, target.duration, target.started, target.finished = outcome.jobid, outcome.duration, outcome.started_at, outcome.finished_at
        if outcome.status == "outcome_unknown":
            target.status = "outcome_unknown"
            target.reason = "the answer to the live patch request was lost and its job could be neither found nor ruled out, so nothing was sent again: %s" % (
                outcome.errortext
            )
            return
        if outcome.status in ("submit_failed", "not_submitted"):
            target.status = "not_submitted"
            target.reason = "the live patch was not started, nothing changed (run again to patch it): %s" % outcome.errortext
            return
        try:
            if target.is_router_unit:
                routers_after = self._reread_unit(target)
                target.after = router_versions(routers_after)
            else:
                vm_after = self._reread_systemvm(target)
                target.after = systemvm_versions(vm_after) if vm_after else {}
        except CloudStackError as exc:
            target.status = "timed_out" if outcome.status == "timed_out" else "failed"
            target.reason = "%s; reading %s back failed: %s" % (outcome.errortext or "job %s %s" % (outcome.jobid, outcome.status), target.label, exc.message)
        else:
            if target.is_router_unit:
                judge_unit(target, outcome, routers_after, self.fleet.version)  # type: ignore[union-attr]
                refused = self.refused(target, routers_after) if target.status == "patched" else ""
                if refused:
                    # The job succeeded (restartVPC ignores its tiers' results) and the routers run the server's software, but
                    # the server refuses them: never patched (apache/cloudstack#12211).
                    target.status = "failed"
                    target.reason = "%s after %s job %s: %s; %s" % (
                        REFUSED_BY_SERVER, "restartVPC" if target.kind == "vpc" else "restartNetwork", outcome.jobid, refused, REFUSED_ACTION)
            else:
                judge_systemvm(target, outcome, vm_after, self.fleet.version)  # type: ignore[union-attr]
        settled = getattr(self.client, "settled", {}).get(outcome.jobid)
        if settled:
            target.reason = "%s (%s)" % (target.reason, settled)
        if target.status == "failed":
            # The runner's max_fail_percentage counts this target as failed even when its job succeeded.
            outcome.status, outcome.errortext = "failed", target.reason

    def execute(self) -> dict[str, t.Any]:
        targets = self.plan()
        to_patch = [target for target in targets if target.path == LIVEPATCH]
        params = self.params
        if self.check_mode:
            for target in to_patch:
                target.status = "would_patch"
        elif to_patch:
            if not params["wait"] and len(to_patch) > params["parallel"]:
                raise ValueError(
                    "wait=false would start %d live patch jobs at once, more than parallel=%d; raise parallel, narrow the targets, or wait for the jobs"
                    % (len(to_patch), params["parallel"])
                )
            runner = JobRunner(
                self.client,
                parallel=params["parallel"],
                poll_interval=params["poll_interval"],
                job_timeout=params["timeout"],
                deadline=params["timeout"] * (math.ceil(len(to_patch) / params["parallel"]) + 1),
                on_complete=self.verify,
                should_stop=lambda outcomes: failure_exceeded(len(to_patch), outcomes, params["max_fail_percentage"]),
            )
            outcomes = runner.run([JobTask(key=target.id, submit=self._submit(target), context=target) for target in to_patch], wait=params["wait"])
            for outcome in outcomes:
                target = outcome.context
                if outcome.status == "submitted":
                    target.jobid, target.status = outcome.jobid, "submitted"
                    target.reason = "job %s started; follow it with queryAsyncJobResult and verify the routers/system VMs afterwards" % outcome.jobid
                elif target.status == "not_patched":
                    # Never settled by the runner: not started (failure limit, deadline) or refused with wait=false.
                    self.verify(outcome)
        return self.result()

    def result(self) -> dict[str, t.Any]:
        fleet = self.fleet
        summary = summarize(self.targets)
        changed = bool(summary["would_patch"] or summary["submitted"] or summary["patched"])
        failed = [target for target in self.targets if target.status in FAILED_STATUSES]
        result: dict[str, t.Any] = {
            "changed": changed,
            "ms_version": fleet.version if fleet else None,
            "targets": [target.as_dict() for target in self.targets],
            "summary": summary,
            "jobs": [{"kind": target.kind, "id": target.id, "name": target.name, "jobid": target.jobid} for target in self.targets if target.jobid],
        }
        if fleet and not ms_supports_livepatch(fleet.version):
            result["msg"] = "management server %s cannot live-patch (needs %s or later): every target needs the legacy path" % (
                fleet.version,
                LIVEPATCH_MIN_MS_VERSION,
            )
        if failed:
            result["failed"] = True
            result["msg"] = "live patch failed for %d of %d target(s): %s" % (
                len(failed),
                summary["targets"],
                "; ".join("%s: %s" % (target.label, target.reason) for target in failed),
            )
        return result
