# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Plan an upgrade: which path each system VM and network/VPC takes, in which groups, batches and windows.

Pure functions over the fleet that ``cs_fleet_info`` returns and the journal of finished work: no API call,
no Ansible import, so every decision is reachable from unit tests.

Order of work (the plan's ``batches``):

* router units (networks and VPCs) are grouped by ``zone|pod|cluster|account|domain``; groups run in the
  order asked for, then the groups not named there in the default order (by zone name, then by name);
* the first ``canary_size`` units to change form the canary batch, which runs before every other router batch;
* a zone's SSVM and CPVM batch comes before the first router batch that touches that zone, and the system VMs
  of zones without router work come last;
* a group's units are cut into batches of ``batch_size``; a batch never spans two groups.
"""

from __future__ import annotations

import datetime
import json
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._actions import LEGACY_METHODS, Path, action_for
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    LIVEPATCH_MIN_MS_VERSION,
    MIN_TEMPLATE_SETTING,
    REFUSED_BY_SERVER,
    SYSTEMVM_DISK_UNKNOWN,
    host_blocks_livepatch,
    is_current,
    is_valid_version,
    learn_payload_checksum,
    livepatch_regression,
    server_accepts,
    livepatch_support,
    ms_supports_livepatch,
    older_than_minimum,
    payload_scriptsversion,
    router_facts,
    systemvm_facts,
    unit_livepatch_support,
    unknown_minimum_reason,
)

GROUP_BY = ("zone", "pod", "cluster", "account", "domain")
OUTSIDE_WINDOW = ("wait", "skip")
PATHS = tuple(path.value for path in Path)
# The paths a journal entry records work on, and the stages of a group, in running order.
JOURNAL_PATHS = (Path.LIVEPATCH.value, Path.LEGACY.value)
STAGES = ("systemvms", "canary", "routers")
# Journal statuses (the one vocabulary of the engine, the plan and the report): "submitted" (a job in flight, with its
# id), then "done" (finishes an item), "failed" (on the live path it sends the item to the legacy path next time),
# "skipped" (not acted on, with the reason) or "unknown" (the job outlived its timeout; the next run follows it).
# "refused" ends a live patch the job did, after which the server refuses the router (NetworkHelperImpl.checkRouterVersion):
# a failure of its own, which sends the item to the legacy path like "failed".
JOURNAL_STATUSES = ("submitted", "done", "failed", "refused", "skipped", "unknown")
# The same vocabulary for a target of cs_livepatch or cs_recreate (their result's ``outcome``), from its detailed
# ``status`` or a job's end: what the journal would say of it, and "not_run" (the report's word) for a target nothing
# was started on (check mode, held back, refused by the server, or not on the module's path).
TARGET_OUTCOMES = {
    "patched": "done",
    "unchanged": "done",
    "succeeded": "done",
    "failed": "failed",
    "refused": "refused",
    "cancelled": "failed",
    "timed_out": "unknown",
    "outcome_unknown": "unknown",
    "submitted": "submitted",
    "skipped": "skipped",
    "not_submitted": "not_run",
    "not_patched": "not_run",
    "pending": "not_run",
    "would_patch": "not_run",
    "would_recreate": "not_run",
}


def target_outcome(status: str) -> str:
    """The journal's word for a detailed target or job status; one it does not know is never taken as done."""
    return TARGET_OUTCOMES.get(status, "failed")


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PlanError(ValueError):
    """Options that cannot make a plan; the message names the option or object and what to do."""


# ---------------------------------------------------------------------------------------------- journal


def _shown(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_text(value: t.Any) -> bool:
    return isinstance(value, str)


def _is_name(value: t.Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_instant(value: t.Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_whole(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_flag(value: t.Any) -> bool:
    return isinstance(value, bool)


def _are_texts(value: t.Any) -> bool:
    return isinstance(value, list) and all(isinstance(part, str) for part in value)


def _are_objects(value: t.Any) -> bool:
    return isinstance(value, list) and all(isinstance(part, dict) for part in value)


_TEXT = (_is_text, "a text")
_NAME = (_is_name, "a non-empty text")
_INSTANT = (_is_instant, "an ISO-8601 date and time")
_WHOLE = (_is_whole, "a whole number")
_FLAG = (_is_flag, "true or false")
# What the engine, the plan and the report take from a journal entry besides its key and status: these fields when
# set (null, or no field, is always allowed); fields not named here are kept as they are.
JOURNAL_FIELDS: dict[str, tuple[t.Callable[[t.Any], bool], str]] = {
    "name": _TEXT,
    "ms_version": _NAME,
    "run": _NAME,
    "jobid": _NAME,
    "group": _TEXT,
    "stage": _TEXT,
    "path": (lambda value: value in JOURNAL_PATHS, "one of %s" % "/".join(JOURNAL_PATHS)),
    "error": _TEXT,
    "reason": _TEXT,
    "health_before": _TEXT,
    "health_after": _TEXT,
    "time": _INSTANT,
    "started": _INSTANT,
    "finished": _INSTANT,
    "attempt": _WHOLE,
    "batch": _WHOLE,
    "duration": (_is_number, "a number of seconds"),
    "changed": _FLAG,
    "fallback": _FLAG,
    "recreate": _FLAG,
    "adopted": _FLAG,
    "statuses": (_are_texts, "a list of texts"),
    "after": (_are_objects, "a list of objects"),
}


def journal_entry_problem(entry: t.Any) -> str | None:
    """What is wrong with one parsed journal line, or None when its readers can take it."""
    if not isinstance(entry, dict) or "key" not in entry or entry.get("status") not in JOURNAL_STATUSES:
        return "it is not an entry with a key and a status of %s" % "/".join(JOURNAL_STATUSES)
    if not _is_name(entry["key"]):
        return "key is %s, not %s" % (_shown(entry["key"]), _NAME[1])
    for field, (valid, wanted) in JOURNAL_FIELDS.items():
        value = entry.get(field)
        if value is not None and not valid(value):
            return "%s is %s, not %s" % (field, _shown(value), wanted)
    return None


def parse_journal(text: str) -> list[dict[str, t.Any]]:
    """Journal entries from JSON lines, each checked for the fields its readers use.

    A last line without its line end that is not JSON was torn by an interrupted write and is left out (the journal's
    writer sets it aside); any other bad line is an error that names it.
    """
    entries = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            if number == len(lines) and not text.endswith("\n"):
                break
            raise PlanError("journal line %d is not JSON (%s); fix or remove that line" % (number, exc)) from None
        problem = journal_entry_problem(entry)
        if problem:
            raise PlanError("journal line %d: %s; fix or remove that line" % (number, problem))
        entries.append(entry)
    return entries


def journal_state(entries: t.Iterable[dict[str, t.Any]], ms_version: str) -> dict[str, dict[str, t.Any]]:
    """The last entry of each item for this management server version (an older upgrade's journal does not count)."""
    state: dict[str, dict[str, t.Any]] = {}
    for entry in entries:
        if entry.get("ms_version") in (None, ms_version):
            state[entry["key"]] = entry
    return state


def is_done(entry: dict[str, t.Any] | None) -> bool:
    return bool(entry) and entry.get("status") == "done"


def livepatch_failed(entry: dict[str, t.Any] | None) -> bool:
    """A live patch whose job ran and failed (or was verified wrong): the legacy path takes it up, whichever playbook ran it.

    One never started (no job) or whose outcome is unknown does not: the next run looks for its job first.
    """
    return bool(entry) and entry.get("status") in ("failed", "refused") and entry.get("path") == Path.LIVEPATCH and bool(entry.get("jobid"))


# ---------------------------------------------------------------------------------------------- windows


def _parse_time_of_day(value: t.Any, where: str) -> datetime.time:
    try:
        hours, minutes = str(value).split(":")
        return datetime.time(int(hours), int(minutes))
    except ValueError:
        raise PlanError("%s: %r is not a time of day HH:MM (UTC)" % (where, value)) from None


def _parse_instant(value: t.Any, where: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PlanError("%s: %r is neither HH:MM nor an ISO-8601 date and time" % (where, value)) from None
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment.astimezone(datetime.timezone.utc)


def normalize_window(spec: t.Any, where: str) -> dict[str, t.Any]:
    """A window is daily (``start``/``end`` HH:MM UTC, optional ``days``) or one-off (``start``/``end`` ISO-8601)."""
    if not isinstance(spec, dict) or "start" not in spec or "end" not in spec:
        raise PlanError("%s: a maintenance window needs start and end (HH:MM UTC, or ISO-8601 date and time), got %r" % (where, spec))
    unknown = set(spec) - {"start", "end", "days"}
    if unknown:
        raise PlanError("%s: unknown window key(s) %s; use start, end and days" % (where, ", ".join(sorted(unknown))))
    if ":" in str(spec["start"]) and len(str(spec["start"])) <= 5:
        start, end = _parse_time_of_day(spec["start"], where), _parse_time_of_day(spec["end"], where)
        days = [str(day).lower()[:3] for day in spec.get("days") or DAYS]
        wrong = [day for day in days if day not in DAYS]
        if wrong:
            raise PlanError("%s: unknown day(s) %s; use %s" % (where, ", ".join(wrong), ", ".join(DAYS)))
        if start == end:
            raise PlanError("%s: start and end are both %s; give a window of some length" % (where, spec["start"]))
        return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "days": days}
    if spec.get("days"):
        raise PlanError("%s: days only apply to a daily window (HH:MM)" % where)
    start, end = _parse_instant(spec["start"], where), _parse_instant(spec["end"], where)
    if end <= start:
        raise PlanError("%s: the window ends (%s) before it starts (%s)" % (where, spec["end"], spec["start"]))
    return {"start": start.isoformat(), "end": end.isoformat()}


def _openings(window: dict[str, t.Any], now: datetime.datetime) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The occurrences of a window that can contain ``now`` or start within a week after it."""
    if "days" not in window:
        return [(datetime.datetime.fromisoformat(window["start"]), datetime.datetime.fromisoformat(window["end"]))]
    start, end = datetime.time.fromisoformat(window["start"]), datetime.time.fromisoformat(window["end"])
    found = []
    for offset in range(-1, 8):
        day = (now + datetime.timedelta(days=offset)).date()
        if DAYS[day.weekday()] not in window["days"]:
            continue
        opens = datetime.datetime.combine(day, start, tzinfo=datetime.timezone.utc)
        closes = datetime.datetime.combine(day, end, tzinfo=datetime.timezone.utc)
        if closes <= opens:  # crosses midnight
            closes += datetime.timedelta(days=1)
        found.append((opens, closes))
    return found


def window_status(windows: list[dict[str, t.Any]], now: datetime.datetime) -> tuple[bool, float | None]:
    """(open now, seconds until the next opening or None when none is ahead); no windows means always open."""
    if not windows:
        return True, 0.0
    now = now.astimezone(datetime.timezone.utc)
    ahead = []
    for window in windows:
        for opens, closes in _openings(window, now):
            if opens <= now < closes:
                return True, 0.0
            if opens > now:
                ahead.append((opens - now).total_seconds())
    return False, (min(ahead) if ahead else None)


# ---------------------------------------------------------------------------------------------- paths
#
# The one decision: :func:`decide` gives a system VM, a router or a network/VPC its path and why. The plan calls it
# for every item, cs_livepatch and cs_recreate for what they select when used on their own; each passes its options
# (the plan its journal, require_new_template and force_legacy; the executors force and, for cs_recreate, the method).

# States a VM passes through on its own: acting now would race CloudStack.
TRANSITIONAL_STATES = frozenset(("Starting", "Stopping", "Migrating", "Expunging", "Destroyed", "Creating"))
RECREATE_HINT = "recreate %s with acs.upgrade.cs_recreate (legacy path)"
DECIDED_KINDS = ("systemvm", "router", "network", "vpc")


class Decision(t.NamedTuple):
    """The path of one system VM, router or network/VPC (``livepatch``, ``legacy`` or ``skip``) and why.

    ``done`` marks a skip because nothing is left to do (finished in an earlier run, already live-patched or on the
    current template); any other skip needs the operator (a VM not Running, a state in transition).
    """

    path: Path
    reason: str
    warnings: list[str]
    done: bool = False


class DecideOptions(t.NamedTuple):
    """What the operator asked, as the caller passes it to :func:`decide`.

    ``entry``: the item's last journal entry (the plan); ``require_new_template``: the current template is wanted, a live
    patch is not enough; ``force_legacy``: ids or names sent to the legacy path; ``force``: act even on what is already
    done (cs_livepatch ``forced``, cs_recreate ``force``); ``method``: the recreate method of cs_recreate, which decides
    the legacy path alone and refuses what that method cannot do in the VM's state; ``minreq``: the subject's zone's
    minreq.sysvmtemplate.version as read (None when the read failed, "" when empty), the one judge of "current
    template"; ``zone``: that zone's name, for the reasons.
    """

    entry: dict[str, t.Any] | None = None
    require_new_template: bool = False
    force_legacy: frozenset[str] = frozenset()
    force: bool = False
    method: str | None = None
    minreq: str | None = None
    zone: str | None = None
    # What the server checks (see _matrix.server_accepts): hosts by id (listHosts type=Routing), each zone's
    # minreq.sysvmtemplate.version, router.version.check, and the learnt checksum of the server's payload.
    hosts: t.Mapping[str, t.Any] | None = None
    min_template: t.Mapping[str, str | None] | None = None
    version_check: bool | None = True
    server_payload: str | None = None

    @property
    def minimum(self) -> str:
        """The zone's minimum as the reasons name it: "zone1's minimum 4.18.1 (minreq.sysvmtemplate.version)"."""
        if not is_valid_version(self.minreq):
            return "%s's minimum (%s, %s)" % (self.zone or "the zone", MIN_TEMPLATE_SETTING, "empty" if self.minreq == "" else "not read")
        return "%s's minimum %s (%s)" % (self.zone or "the zone", self.minreq, MIN_TEMPLATE_SETTING)


def _match(wanted: t.Iterable[str], *names: t.Any) -> bool:
    return any(name and str(name) in wanted for name in names)


def _get(obj: t.Any, name: str) -> t.Any:
    return obj.get(name) if isinstance(obj, t.Mapping) else getattr(obj, name, None)


def decide(
    kind: str,
    subject: t.Any,
    ms_version: str,
    options: DecideOptions | None = None,
    routers: t.Sequence[t.Any] = (),
    tier_states: t.Sequence[str | None] = (),
    payload: str | None = None,
    unit: t.Any = None,
) -> Decision:
    """The path and reason of a system VM (``kind`` systemvm), a router (router) or a network/VPC (network, vpc).

    ``subject`` is the fleet object (a ``_fleet`` object or the dict ``cs_fleet_info`` returns); a router unit's
    ``routers`` come apart (the plan's units list ids), with the states of a VPC's tiers; a router's ``unit`` is the
    network or VPC it serves (cs_recreate names it when a reboot cannot be done); ``payload``: the scripts
    checksum of this server's payload (:func:`_matrix.payload_scriptsversion`). Decided from the two facts of
    :func:`_matrix.systemvm_facts` / :func:`_matrix.router_facts` and the support matrix.
    """
    if kind not in DECIDED_KINDS:
        raise ValueError("cannot decide the path of a %r; the kinds are %s" % (kind, ", ".join(DECIDED_KINDS)))
    options = options or DecideOptions()
    entry = options.entry
    if kind == "systemvm":
        label = "%s %s" % (_get(subject, "systemvmtype"), _get(subject, "name"))
    else:
        label = "%s %s" % (kind, _get(subject, "name"))
    if is_done(entry):
        return Decision(Path.SKIP, "%s was finished in an earlier run (journal, %s)" % (label, entry.get("time", "?")), [], True)  # type: ignore[union-attr]
    if kind == "systemvm":
        return _decide_recreate_systemvm(subject, label, ms_version, options) if options.method else _decide_systemvm(subject, label, ms_version, options)
    if kind == "router":
        routers = [subject]
    return _decide_recreate_routers(kind, subject, label, routers, ms_version, options, unit) if options.method else _decide_unit(
        kind, subject, label, routers, ms_version, options, tier_states, payload
    )


def _decide_systemvm(vm: t.Any, label: str, ms_version: str, options: DecideOptions) -> Decision:
    state = _get(vm, "state")
    if state != "Running":
        return Decision(
            Path.SKIP,
            "%s is %s, not Running: a live patch (patchSystemVm) reaches Running system VMs only; start it (it boots with the current "
            "scripts) or destroy it so CloudStack recreates it, then run again%s" % (label, state, _no_livepatch_note(ms_version)),
            [],
        )
    facts = systemvm_facts(vm, ms_version, options.minreq)
    patched = " (live-patched)" if facts.live_patched else ""
    blocked = host_blocks_livepatch((options.hosts or {}).get(_get(vm, "hostid")), ms_version)
    if blocked and not options.require_new_template and not facts.live_patched:
        return Decision(Path.SKIP, "%s is not live-patched: %s" % (label, blocked), [])
    regression = livepatch_regression(ms_version, facts.template_version, None)
    if regression and "#8497" in regression and not facts.live_patched:
        return Decision(Path.LEGACY, "%s: %s; recreate it from the current template instead" % (label, regression), [])
    if options.require_new_template:
        return _systemvm_template_decision(vm, label + patched, facts, options, "the operator requires the current template (kernel, JRE or security fixes)")
    support = livepatch_support(facts.template_version, ms_version)
    if not support.supported:
        # Before "already live-patched": an agent on the server's version does not make a 4.13 disk patchable.
        return Decision(Path.LEGACY, "%s: %s" % (label + patched, support.reason), list(support.warnings))
    if facts.live_patched and not options.force:
        return Decision(
            Path.SKIP,
            "%s is already live-patched to %s: its agent reports version %s (its disk template %s %s)"
            % (
                label,
                ms_version,
                _get(vm, "version"),
                facts.template_version,
                "is current, at or above %s" % options.minimum
                if facts.template_current
                else "stays; set require_new_template to recreate it from the template of %s" % options.minimum,
            ),
            list(support.warnings),
            True,
        )
    if livepatch_failed(options.entry):
        return _failed_before(label, options.entry, [])
    if _match(options.force_legacy, _get(vm, "id"), _get(vm, "name")):
        return Decision(Path.LEGACY, "%s is listed for the legacy path by the operator" % label, [])
    return Decision(
        Path.LIVEPATCH,
        "%s; %s"
        % (
            support.reason,
            "forced: the payload is pushed and its services restarted even when the scripts checksum matches"
            if options.force
            else "CloudStack patches it only when its scripts checksum differs from the management server's payload",
        ),
        list(support.warnings),
    )


def _systemvm_template_decision(vm: t.Any, label: str, facts: t.Any, options: DecideOptions, why: str) -> Decision:
    """Recreate a system VM for its template, judged from its ROOT volume's template and its zone's minimum."""
    disk = _get(vm, "disk_template_version")
    if not is_valid_version(disk):
        # 4.17: the API does not list system VM volumes; the journal skips it once recreated, so a rerun does not repeat it.
        return Decision(Path.LEGACY, "%s: %s, and %s" % (label, why, SYSTEMVM_DISK_UNKNOWN), [])
    if not is_valid_version(options.minreq):
        return Decision(Path.SKIP, "%s: %s" % (label, unknown_minimum_reason(options.zone, options.minreq)), [])
    if facts.template_current and not options.force:
        return Decision(Path.SKIP, "%s already runs template %s (its ROOT volume), at or above %s" % (label, disk, options.minimum), [], True)
    if facts.template_current:
        return Decision(Path.LEGACY, "%s: forced (template %s is already at or above %s)" % (label, disk, options.minimum), [])
    return Decision(Path.LEGACY, "%s: %s, and its %s" % (label, why, older_than_minimum(disk, options.zone, str(options.minreq))), [])


def _failed_before(label: str, entry: t.Any, warnings: list[str]) -> Decision:
    why = "the live patch of %s failed in an earlier run (%s): it is recreated instead" % (label, entry.get("error") or "no detail")
    return Decision(Path.LEGACY, why, warnings)


def _no_livepatch_note(ms_version: str) -> str:
    """What a reason about a VM that is not Running adds when this server cannot live-patch at all."""
    return "" if ms_supports_livepatch(ms_version) else "; management server %s cannot live-patch (needs %s or later)" % (ms_version, LIVEPATCH_MIN_MS_VERSION)


def _decide_unit(
    kind: str,
    unit: t.Any,
    label: str,
    routers: t.Sequence[t.Any],
    ms_version: str,
    options: DecideOptions,
    tier_states: t.Sequence[str | None],
    payload: str | None,
) -> Decision:
    command = "restartVPC" if kind == "vpc" else "restartNetwork"
    running = [router for router in routers if _get(router, "state") == "Running"]
    # A restart without cleanup (the live patch's) starts the routers that are not Running after its patch loop
    # (VirtualRouterElement.implement -> NetworkHelperImpl.startRouters): they boot the current template with their host
    # agent's scripts. A router in another state stays as it is.
    warnings = [
        (
            "router %s is Stopped: the live patch (%s) skips it, then the same restart starts it from the current template"
            % (_get(router, "name"), command)
            if _get(router, "state") == "Stopped"
            else "router %s is %s: a live patch (%s) skips it and it stays on its old scripts; or %s"
            % (_get(router, "name"), _get(router, "state"), command, RECREATE_HINT % "it")
        )
        for router in routers
        if _get(router, "state") != "Running"
    ]
    if not running:
        return Decision(
            Path.SKIP,
            "no router of %s is Running (%s): a live patch reaches Running routers only (a restart without cleanup would start a Stopped "
            "one from the current template): start the %s or %s, then run again%s"
            % (
                label,
                ", ".join("%s %s" % (_get(router, "name"), _get(router, "state")) for router in routers) or "none",
                "VPC" if kind == "vpc" else "network",
                RECREATE_HINT % "its routers",
                _no_livepatch_note(ms_version),
            ),
            warnings,
        )
    if not is_valid_version(options.minreq):
        return Decision(Path.SKIP, "%s: %s" % (label, unknown_minimum_reason(options.zone, options.minreq)), warnings)
    facts = {_get(router, "name"): router_facts(router, ms_version, options.minreq, payload) for router in running}
    old_template = sorted(name for name, fact in facts.items() if not fact.template_current)
    not_patched = sorted(name for name, fact in facts.items() if not fact.live_patched)
    zone_minimum = (options.min_template or {}).get(_get(unit, "zoneid") or (_get(running[0], "zoneid") if running else "") or "")
    refused = [router for router in running if _refused(router, facts[_get(router, "name")].live_patched, zone_minimum, ms_version, options)]
    if refused and not options.require_new_template:
        # A router the server refuses is never done, whatever its softwareversion says (apache/cloudstack#12211): recreated.
        return Decision(
            Path.LEGACY,
            "%s: %s %s (template below the zone's minimum %s, scripts checksum not the server's payload%s): recreated from the current template"
            % (
                label,
                ", ".join(_get(router, "name") for router in refused),
                REFUSED_BY_SERVER,
                zone_minimum or "(not read)",
                "; %s" % livepatch_regression(ms_version, _get(refused[0], "version"), zone_minimum)
                if livepatch_regression(ms_version, _get(refused[0], "version"), zone_minimum)
                else "",
            ),
            warnings,
        )
    if not old_template and not not_patched and not options.force:
        return Decision(
            Path.SKIP,
            "every running router of %s already runs a template at or above %s and the software of %s" % (label, options.minimum, ms_version),
            warnings,
            True,
        )
    if options.require_new_template and old_template:
        patched = sorted(set(old_template) - set(not_patched))
        return Decision(
            Path.LEGACY,
            "the operator requires the current template (kernel, JRE or security fixes) for %s: %s%s"
            % (
                label,
                "; ".join("%s: %s" % (name, older_than_minimum(facts[name].template_version, options.zone, str(options.minreq))) for name in old_template),
                " (%s already live-patched)" % ", ".join(patched) if patched else "",
            ),
            warnings,
        )
    if not not_patched and not options.force:
        return Decision(
            Path.SKIP,
            "every running router of %s is already live-patched to %s (templates stay older than %s; set require_new_template to recreate them)"
            % (label, ms_version, options.minimum),
            warnings,
            True,
        )
    if livepatch_failed(options.entry):
        return _failed_before(label, options.entry, warnings)
    if _match(options.force_legacy, _get(unit, "id"), _get(unit, "name")):
        return Decision(Path.LEGACY, "%s is listed for the legacy path by the operator" % label, warnings)
    blocked = sorted({why for why in (host_blocks_livepatch((options.hosts or {}).get(_get(router, "hostid")), ms_version) for router in running) if why})
    if blocked and not options.force:
        return Decision(Path.SKIP, "%s is not live-patched: %s" % (label, "; ".join(blocked)), warnings)
    patchable = [router for router in running if _get(router, "name") in not_patched]
    regressions = sorted({why for why in (livepatch_regression(ms_version, _get(router, "version"), zone_minimum) for router in patchable) if why})
    if regressions and not options.force:
        return Decision(
            Path.LEGACY,
            "a live patch of %s on management server %s would leave its routers unpatched or refused by the server: %s; %s"
            % (label, ms_version, "; ".join(regressions), RECREATE_HINT % "its routers"),
            warnings,
        )
    support = unit_livepatch_support(kind, _get(unit, "name"), tier_states, [(_get(router, "name"), _get(router, "version")) for router in running], ms_version)
    warnings += [warning for warning in support.warnings if warning not in warnings]
    if not support.supported:
        return Decision(Path.LEGACY, "%s; %s" % (support.reason, RECREATE_HINT % "its routers"), warnings)
    return Decision(
        Path.LIVEPATCH,
        "%s; %d Running router(s), %d not live-patched to management server %s%s"
        % (support.reason, len(running), len(not_patched), ms_version, " (forced)" if not not_patched else ""),
        warnings,
    )


def _refused(router: t.Any, live_patched: bool, zone_minimum: str | None, ms_version: str, options: DecideOptions) -> bool:
    """Whether a router that already runs this server's software is refused by it (_matrix.server_accepts), or, its payload
    checksum not known, whether it was live-patched on a release whose live patch leaves the old checksum (apache/cloudstack#9900)
    on a template below the zone's minimum.

    A router this server has not patched yet (its softwareversion an older release's) is refused too: checkRouterVersion refuses
    every router below the minimum until it has the server's scripts, which is what its live patch gives it. That is the
    work to do, not a failed upgrade: the live-patch rules decide it (host agent, known regressions, support matrix).
    """
    if not is_current(_get(router, "softwareversion"), ms_version):
        return False
    accepted = server_accepts(router, zone_minimum, options.server_payload, options.version_check)
    if accepted is not None:
        return not accepted
    return live_patched and "#9900" in str(livepatch_regression(ms_version, _get(router, "version"), zone_minimum) or "")


def _decide_recreate_systemvm(vm: t.Any, label: str, ms_version: str, options: DecideOptions) -> Decision:
    """The legacy path of cs_recreate: whether ``options.method`` can recreate the system VM in its state."""
    state = _get(vm, "state")
    if state in TRANSITIONAL_STATES:
        return Decision(Path.SKIP, "%s is %s; wait until it is Running or Stopped and run again" % (label, state), [])
    if options.method == "reboot" and state != "Running":
        return Decision(Path.SKIP, "%s is %s and cannot be rebooted; use method stop_start or destroy" % (label, state), [])
    return _systemvm_template_decision(vm, label, systemvm_facts(vm, ms_version, options.minreq), options, "recreated for the current template")


def _decide_recreate_routers(
    kind: str, subject: t.Any, label: str, routers: t.Sequence[t.Any], ms_version: str, options: DecideOptions, unit: t.Any
) -> Decision:
    """The legacy path of cs_recreate for a router (reboot, upgrade_template) or a network/VPC (restart_cleanup)."""
    if not is_valid_version(options.minreq) and not options.force:
        return Decision(Path.SKIP, "%s: %s; or set force to recreate anyway" % (label, unknown_minimum_reason(options.zone, options.minreq)), [])
    stale = [router for router in routers if not router_facts(router, ms_version, options.minreq).template_current]
    if not stale and not options.force:
        if kind == "router":
            return Decision(
                Path.SKIP, "already on template %s, at or above %s; set force to recreate anyway" % (_get(subject, "version"), options.minimum), [], True
            )
        versions = ", ".join(sorted({str(_get(router, "version")) for router in routers if _get(router, "version")})) or None
        return Decision(
            Path.SKIP, "every router is on a template at or above %s (%s); set force to restart with cleanup anyway" % (options.minimum, versions), [], True
        )
    if kind == "router":
        state = _get(subject, "state")
        if state in TRANSITIONAL_STATES or (options.method in ("reboot", "upgrade_template") and state != "Running"):
            # upgradeRouterTemplate reboots: for a router that is not Running its reboot job fails (4.18.0.0).
            return Decision(
                Path.SKIP,
                "%s is %s and cannot be rebooted now; wait until it settles, or use method restart_cleanup on its %s"
                % (label, state, "%s %s" % (_get(unit, "kind"), _get(unit, "name")) if unit else "network %s" % _get(subject, "guestnetworkid")),
                [],
            )
        why = older_than_minimum(_get(subject, "version"), options.zone, str(options.minreq)) if stale else "forced"
        return Decision(Path.LEGACY, why, [])
    busy = [router for router in routers if _get(router, "state") in TRANSITIONAL_STATES]
    if busy:
        return Decision(Path.SKIP, "router %s of %s is %s; wait until it settles and run again" % (_get(busy[0], "name"), label, _get(busy[0], "state")), [])
    return Decision(
        Path.LEGACY,
        "forced"
        if not stale
        else "routers needing a new template: %s"
        % "; ".join("%s: %s" % (_get(router, "name"), older_than_minimum(_get(router, "version"), options.zone, str(options.minreq))) for router in stale),
        [],
    )


# ---------------------------------------------------------------------------------------------- groups


class _Names:
    """Names of the infrastructure and owners in a fleet, for group labels."""

    def __init__(self, fleet: dict[str, t.Any]):
        self.zones = {item["id"]: item.get("name", item["id"]) for item in fleet.get("zones", [])}
        self.pods = {item["id"]: item.get("name", item["id"]) for item in fleet.get("pods", [])}
        self.clusters = {item["id"]: item.get("name", item["id"]) for item in fleet.get("clusters", [])}
        self.domains = {item["id"]: item.get("path") or item.get("name", item["id"]) for item in fleet.get("domains", [])}

    def zone(self, zoneid: str | None) -> str:
        return self.zones.get(zoneid or "", zoneid or "(no zone)")


def _anchor(routers: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The router that places a unit in a pod or cluster group: the PRIMARY of a redundant pair, else the first."""
    for router in routers:
        if router.get("redundantstate") == "PRIMARY":
            return router
    return routers[0] if routers else {}


def unit_group(unit: dict[str, t.Any], routers: list[dict[str, t.Any]], group_by: str, names: _Names) -> tuple[dict[str, t.Any], list[str]]:
    """(group, warnings): the group has ``id``, ``name`` and ``sort`` (the default order)."""
    zone = names.zone(unit.get("zoneid"))
    anchor = _anchor(routers)
    warnings = []
    if group_by == "zone":
        return {"id": unit.get("zoneid") or "", "name": zone, "sort": (zone,)}, warnings
    if group_by in ("pod", "cluster"):
        field = group_by + "id"
        spread = sorted({router.get(field) for router in routers if router.get(field)})
        ident = anchor.get(field) or ""
        table = names.pods if group_by == "pod" else names.clusters
        if len(spread) > 1:
            warnings.append(
                "the routers of %s %s run in %ss %s: it is placed in the group of %s"
                % (unit["kind"], unit["name"], group_by, ", ".join(table.get(i, i) for i in spread), table.get(ident, ident))
            )
        name = table.get(ident, ident or "(no %s)" % group_by)
        return {"id": ident, "name": name, "sort": (zone, name)}, warnings
    domain = names.domains.get(unit.get("domainid") or "", anchor.get("domain") or unit.get("domainid") or "")
    if group_by == "domain":
        return {"id": unit.get("domainid") or "", "name": domain, "sort": (domain,)}, warnings
    account = "%s/%s" % (domain, unit.get("account") or "")
    return {
        "id": "%s/%s" % (unit.get("domainid") or "", unit.get("account") or ""),
        "name": account,
        "sort": (account,),
        "account": unit.get("account"),
    }, warnings


def order_groups(groups: dict[str, dict[str, t.Any]], order: list[str]) -> list[str]:
    """Group ids in the asked order, then the others in the default order; a name that matches no group is an error."""
    chosen: list[str] = []
    for wanted in order:
        matches = [gid for gid, group in groups.items() if wanted in (gid, group["name"], group.get("account"))]
        if not matches:
            raise PlanError(
                "group %r in the order matches no group of networks or VPCs; the groups are: %s"
                % (wanted, ", ".join(sorted(group["name"] for group in groups.values())) or "(none)")
            )
        if len(matches) > 1:
            raise PlanError(
                "group %r in the order is ambiguous (%s); use the full name or the id" % (wanted, ", ".join(groups[gid]["name"] for gid in matches))
            )
        if matches[0] not in chosen:
            chosen.append(matches[0])
    rest = sorted((gid for gid in groups if gid not in chosen), key=lambda gid: (groups[gid]["sort"], gid))
    return chosen + rest


def _windows_for(windows: dict[str, list[dict[str, t.Any]]], *names: str) -> list[dict[str, t.Any]]:
    for name in names:
        if name in windows:
            return windows[name]
    return windows.get("*", [])


def normalize_windows(windows: dict[str, t.Any] | None) -> dict[str, list[dict[str, t.Any]]]:
    result = {}
    for name, specs in (windows or {}).items():
        specs = specs if isinstance(specs, list) else [specs]
        result[str(name)] = [normalize_window(spec, "maintenance window of %s" % name) for spec in specs]
    return result


# ---------------------------------------------------------------------------------------------- plan


def _positive(name: str, value: t.Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PlanError("%s must be a whole number, got %r" % (name, value)) from None
    if number < minimum:
        raise PlanError("%s must be at least %d, got %d" % (name, minimum, number))
    return number


def _batches(keys: list[str], size: int) -> list[list[str]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def build_plan(
    fleet: dict[str, t.Any],
    group_by: str = "zone",
    order: list[str] | None = None,
    batch_size: int = 5,
    canary_size: int = 1,
    windows: dict[str, t.Any] | None = None,
    outside_window: str = "wait",
    require_new_template: bool = False,
    force_legacy: list[str] | None = None,
    journal: list[dict[str, t.Any]] | None = None,
    include_systemvms: bool = True,
    include_routers: bool = True,
    legacy_method: str | None = None,
) -> dict[str, t.Any]:
    """The whole plan as plain data (JSON-serialisable); see the module docstring for the order of work.

    ``legacy_method``: how the networks and VPCs on the legacy path are recreated (``_actions.LEGACY_METHODS``; None for a
    restart with cleanup); it is the item's ``method`` in the plan, the action table's key besides path and kind.
    """
    if group_by not in GROUP_BY:
        raise PlanError("group_by must be one of %s, got %r" % ("|".join(GROUP_BY), group_by))
    if outside_window not in OUTSIDE_WINDOW:
        raise PlanError("outside_window must be one of %s, got %r" % ("|".join(OUTSIDE_WINDOW), outside_window))
    batch_size = _positive("batch_size", batch_size, 1)
    canary_size = _positive("canary_size", canary_size, 0)
    ms_version = fleet.get("version") or ""
    if not ms_version:
        raise PlanError("the fleet has no management server version; read it with acs.upgrade.cs_fleet_info")
    windows = normalize_windows(windows)
    if legacy_method not in (None,) + LEGACY_METHODS:
        raise PlanError("legacy_method must be one of %s, got %r" % ("|".join(LEGACY_METHODS), legacy_method))
    done = journal_state(journal or [], ms_version)
    legacy_names = frozenset(str(name) for name in force_legacy or [])
    names = _Names(fleet)
    routers_by_id = {router["id"]: router for router in fleet.get("routers", [])}
    networks = {network["id"]: network for network in fleet.get("networks", [])}
    payload = payload_scriptsversion(fleet.get("routers", []), ms_version)
    # Each zone's minreq.sysvmtemplate.version, read once per zone by cs_fleet_info: the one judge of "current template".
    min_template = {str(zoneid): value for zoneid, value in (fleet.get("min_template") or {}).items()}
    hosts = {host["id"]: host for host in fleet.get("hosts", []) if host.get("id")}
    version_check = fleet.get("router_version_check", True)
    # The server's payload checksum, strictly: a router is called accepted on its checksum only when it is known (see learn_payload_checksum).
    server_payload, payload_how = learn_payload_checksum(fleet.get("routers", []), hosts, ms_version, min_template)
    server = {"min_template": min_template, "router_version_check": version_check, "payload_checksum": server_payload, "payload_how": payload_how}

    def options_for(key: str, zoneid: str | None) -> DecideOptions:
        return DecideOptions(
            done.get(key),
            require_new_template,
            legacy_names,
            minreq=min_template.get(zoneid or ""),
            zone=names.zone(zoneid),
            hosts=hosts,
            min_template=min_template,
            version_check=version_check,
            server_payload=server_payload,
        )

    items: dict[str, dict[str, t.Any]] = {}
    for vm in fleet.get("systemvms", []) if include_systemvms else []:
        key = "systemvm:%s" % vm["id"]
        path, reason, warnings = decide("systemvm", vm, ms_version, options_for(key, vm.get("zoneid")))[:3]
        items[key] = {
            "key": key,
            "kind": "systemvm",
            "id": vm["id"],
            "name": vm["name"],
            "systemvmtype": vm.get("systemvmtype"),
            "zoneid": vm.get("zoneid"),
            "zonename": names.zone(vm.get("zoneid")),
            "state": vm.get("state"),
            "version": vm.get("version"),
            "template_version": systemvm_facts(vm, ms_version, min_template.get(vm.get("zoneid") or "")).template_version,
            "min_template": min_template.get(vm.get("zoneid") or ""),
            "path": Path(path).value,
            "reason": reason,
            "warnings": warnings,
            "group": names.zone(vm.get("zoneid")),
        }

    groups: dict[str, dict[str, t.Any]] = {}
    members: dict[str, list[str]] = {}
    for unit in fleet.get("units", []) if include_routers else []:
        routers = [routers_by_id[rid] for rid in unit.get("routers", []) if rid in routers_by_id]
        key = "%s:%s" % (unit["kind"], unit["id"])
        tier_states = [networks.get(tier, {}).get("state") for tier in unit.get("tiers") or []]
        path, reason, warnings = decide(unit["kind"], unit, ms_version, options_for(key, unit.get("zoneid")), routers, tier_states, payload)[:3]
        group, placement = unit_group(unit, routers, group_by, names)
        groups.setdefault(group["id"], group)
        members.setdefault(group["id"], [])
        if path != Path.SKIP:
            members[group["id"]].append(key)
        items[key] = {
            "key": key,
            "kind": unit["kind"],
            "id": unit["id"],
            "name": unit["name"],
            "zoneid": unit.get("zoneid"),
            "zonename": names.zone(unit.get("zoneid")),
            "account": unit.get("account"),
            "domainid": unit.get("domainid"),
            "tiers": len(unit.get("tiers") or []),
            "min_template": min_template.get(unit.get("zoneid") or ""),
            "routers": [
                {
                    field: router.get(field)
                    for field in ("id", "name", "state", "redundantstate", "version", "scriptsversion", "softwareversion", "clusterid", "podid", "hostid")
                }
                for router in routers
            ],
            "path": Path(path).value,
            "reason": reason,
            "warnings": placement + warnings,
            "group": group["name"],
        }
        if legacy_method and path == Path.LEGACY:
            items[key]["method"] = legacy_method
            items[key]["reason"] += "; %s" % action_for(path, unit["kind"], legacy_method).label

    order_ids = order_groups(groups, [str(name) for name in order or []])
    batches: list[dict[str, t.Any]] = []
    zones_done: set[str] = set()

    def add_batch(group_name: str, group_id: str, stage: str, keys: list[str], canary: bool, window_names: tuple[str, ...]) -> None:
        batches.append(
            {
                "index": len(batches) + 1,
                "group": group_name,
                "group_id": group_id,
                "stage": stage,
                "canary": canary,
                "group_start": not batches or batches[-1]["group"] != group_name,
                "windows": _windows_for(windows, *window_names),
                "items": keys,
            }
        )

    def add_systemvms(zoneid: str) -> None:
        if zoneid in zones_done:
            return
        zones_done.add(zoneid)
        keys = [key for key, item in items.items() if item["kind"] == "systemvm" and item["zoneid"] == zoneid and item["path"] != Path.SKIP]
        zone = names.zone(zoneid)
        for chunk in _batches(keys, batch_size):
            add_batch(zone, zoneid, "systemvms", chunk, False, (zone, zoneid))

    pending = [key for gid in order_ids for key in members[gid]]
    canary = pending[:canary_size]
    if canary:
        first = items[canary[0]]
        for key in canary:
            add_systemvms(items[key]["zoneid"] or "")
        gid = next(gid for gid in order_ids if canary[0] in members[gid])
        add_batch(first["group"], gid, "canary", canary, True, (groups[gid]["name"], gid))
    for gid in order_ids:
        keys = [key for key in members[gid] if key not in canary]
        for key in keys:
            add_systemvms(items[key]["zoneid"] or "")
        for chunk in _batches(keys, batch_size):
            add_batch(groups[gid]["name"], gid, "routers", chunk, False, (groups[gid]["name"], gid))
    for zoneid in sorted({item["zoneid"] or "" for item in items.values() if item["kind"] == "systemvm"}, key=names.zone):
        add_systemvms(zoneid)

    for batch in batches:
        for key in batch["items"]:
            items[key]["batch"] = batch["index"]
    return {
        "ms_version": ms_version,
        "min_template": min_template,
        "settings": {
            "group_by": group_by,
            "order": [groups[gid]["name"] for gid in order_ids],
            "batch_size": batch_size,
            "canary_size": canary_size,
            "outside_window": outside_window,
            "require_new_template": require_new_template,
            "force_legacy": sorted(legacy_names),
        },
        "items": list(items.values()),
        "batches": batches,
        "summary": summarize(items.values()),
        "server": server,
    }


def summarize(items: t.Iterable[dict[str, t.Any]]) -> dict[str, t.Any]:
    counts = dict.fromkeys(PATHS, 0)
    for item in items:
        counts[item["path"]] += 1
    counts["total"] = sum(counts.values())
    return counts


# ---------------------------------------------------------------------------------------------- runs


def _one_of(choices: t.Sequence[str]) -> tuple[t.Callable[[t.Any], bool], str]:
    return (lambda value: value in choices, "one of %s" % "/".join(choices))


_OBJECT = (lambda value: isinstance(value, dict), "an object")
_LIST = (lambda value: isinstance(value, list), "a list")
_JSON_TYPES = ((bool, "true or false"), (dict, "an object"), (list, "a list"), (str, "a text"), (int, "a number"), (float, "a number"))
# The fields of a plan that the stage engine, the plan module and the report read, and what each must be.
_PLAN_FIELDS = (("ms_version", _NAME), ("settings", _OBJECT), ("items", _LIST), ("batches", _LIST), ("summary", _OBJECT))
_SETTINGS_FIELDS = (("group_by", _one_of(GROUP_BY)),)
_SUMMARY_FIELDS = tuple((path, _WHOLE) for path in PATHS)
_ITEM_FIELDS = (("key", _NAME), ("kind", _NAME), ("id", _NAME), ("name", _TEXT), ("path", _one_of(PATHS)), ("group", _TEXT), ("reason", _TEXT))
_BATCH_FIELDS = (("index", _WHOLE), ("group", _TEXT), ("stage", _one_of(STAGES)), ("items", (_are_texts, "a list of item keys")))
# A plan's run (start_run); a plan returned without output_dir and handed to the report has one too, older ones may not.
_RUN_FIELDS = (("id", _NAME), ("attempt", _WHOLE))
_RUN_TIMES = (("started", _INSTANT), ("deadline", _INSTANT), ("ended", _INSTANT))


def _fields_problem(where: str, part: t.Any, fields: t.Iterable[tuple[str, tuple[t.Callable[[t.Any], bool], str]]], optional: bool = False) -> str | None:
    """The first field of ``part`` (``where`` in the plan, "" for the plan itself) that is missing or not what it must be."""
    if not isinstance(part, dict):
        if where:
            return "%s is %s, not an object" % (where, _shown(part))
        return "it is %s, not an object" % next((name for kind, name in _JSON_TYPES if isinstance(part, kind)), "null")
    for field, (valid, wanted) in fields:
        value = part.get(field)
        if value is None and optional:
            continue
        if field not in part:
            return "%s has no %s" % (where or "it", field)
        if not valid(value):
            return "%s is %s, not %s" % ("%s.%s" % (where, field) if where else field, _shown(value), wanted)
    return None


def _plan_problem(plan: t.Any) -> str | None:
    """What makes ``plan`` something other than a plan of :func:`build_plan`, or None."""
    problem = (
        _fields_problem("", plan, _PLAN_FIELDS)
        or _fields_problem("settings", plan["settings"], _SETTINGS_FIELDS)
        or _fields_problem("summary", plan["summary"], _SUMMARY_FIELDS)
    )
    if problem:
        return problem
    keys: set[str] = set()
    for index, item in enumerate(plan["items"]):
        problem = _fields_problem("items[%d]" % index, item, _ITEM_FIELDS)
        if problem:
            return problem
        if item["key"] in keys:
            return "items[%d].key %s is there twice" % (index, item["key"])
        keys.add(item["key"])
    for index, batch in enumerate(plan["batches"]):
        problem = _fields_problem("batches[%d]" % index, batch, _BATCH_FIELDS)
        if problem:
            return problem
        unknown = [key for key in batch["items"] if key not in keys]
        if unknown:
            return "batches[%d].items names %s, which is not among the items" % (index, unknown[0])
    if plan.get("run") is None:
        return None
    return _fields_problem("run", plan["run"], _RUN_FIELDS) or _fields_problem("run", plan["run"], _RUN_TIMES, optional=True)


def check_plan(plan: t.Any, source: str) -> dict[str, t.Any]:
    """``plan`` when it has the shape its readers use (the stage engine, the plan module, the report); else a PlanError
    that names ``source`` (its file), the field and what to do."""
    problem = _plan_problem(plan)
    if problem:
        raise _not_a_plan(source, problem)
    return plan


def parse_plan(text: str, source: str) -> dict[str, t.Any]:
    """The plan in ``text`` (the content of the file ``source``), checked by :func:`check_plan`."""
    try:
        plan = json.loads(text)
    except ValueError as exc:
        raise _not_a_plan(source, "it is not JSON (%s)" % exc) from None
    return check_plan(plan, source)


def _not_a_plan(source: str, problem: str) -> PlanError:
    return PlanError(
        "%s is not a plan of acs.upgrade.cs_upgrade_plan: %s; move it aside, then make the plan again with the acs.upgrade.plan role" % (source, problem)
    )


def unfinished(plan: dict[str, t.Any], journal: list[dict[str, t.Any]]) -> int:
    """How many planned items of ``plan`` the journal does not record as done."""
    state = journal_state(journal, plan["ms_version"])
    return sum(1 for item in plan["items"] if item["path"] != Path.SKIP and not is_done(state.get(item["key"])))


def resumable(previous: dict[str, t.Any] | None, plan: dict[str, t.Any], journal: list[dict[str, t.Any]]) -> tuple[bool, str]:
    """Whether a new run continues ``previous`` (the plan of an interrupted run) instead of the fresh ``plan``.

    It does when the earlier plan is for the same management server version, was made with the same settings, has
    journal entries of its run and still has unfinished items: its groups, batches and numbering stay, and what it
    finished counts as done.
    """
    if not previous or not isinstance(previous.get("run"), dict):
        return False, "no earlier run"
    if previous.get("ms_version") != plan["ms_version"]:
        return False, "the earlier plan was for management server %s" % previous.get("ms_version")
    if previous.get("settings") != plan["settings"]:
        return False, "the earlier plan was made with other settings: a new plan is made (finished items stay finished)"
    run_id = previous["run"].get("id")
    if not any(entry.get("run") == run_id for entry in journal):
        return False, "the earlier run did nothing"
    left = unfinished(previous, journal)
    if not left:
        return False, "the earlier run finished"
    return True, "continues run %s (attempt %d): %d item(s) left" % (run_id, int(previous["run"].get("attempt") or 1) + 1, left)


def start_run(plan: dict[str, t.Any], previous: dict[str, t.Any] | None, now: datetime.datetime, max_run_time: int | None, run_id: str) -> dict[str, t.Any]:
    """Stamp the run on ``plan``: its id (kept when it continues ``previous``), attempt, start and deadline."""
    attempt = int(previous["run"].get("attempt") or 1) + 1 if previous else 1
    deadline = now + datetime.timedelta(seconds=max_run_time) if max_run_time else None
    plan["run"] = {
        "id": previous["run"]["id"] if previous else run_id,
        "attempt": attempt,
        "started": now.isoformat(timespec="seconds"),
        # The first attempt's start: a job created since may be this run's, journalled or not.
        "first_started": (previous["run"].get("first_started") or previous["run"].get("started")) if previous else now.isoformat(timespec="seconds"),
        "deadline": deadline.isoformat(timespec="seconds") if deadline else None,
    }
    return plan


# ---------------------------------------------------------------------------------------------- running


# ---------------------------------------------------------------------------------------------- module results


def vms_after(target: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """What a ``cs_livepatch`` or ``cs_recreate`` target says of its VMs after the job: name, the name it replaced, versions."""
    if target.get("routers_after"):
        # A restart with cleanup replaces the routers: the new one of a redundant pair takes the old one's role.
        old = list(target.get("routers") or [])
        paired = []
        for router in target["routers_after"]:
            match = next((item for item in old if item.get("redundantstate") == router.get("redundantstate")), old[0] if old else None)
            if match in old:
                old.remove(match)
            paired.append(
                {
                    "name": router.get("name"),
                    "replaced": (match or {}).get("name") if (match or {}).get("name") != router.get("name") else None,
                    "redundantstate": router.get("redundantstate"),
                    "version": router.get("version"),
                    "scriptsversion": router.get("scriptsversion"),
                }
            )
        return paired
    if isinstance(target.get("after"), dict) and target["after"]:
        return [
            {"name": name, "version": (state or {}).get("version"), "scriptsversion": (state or {}).get("scriptsversion")}
            for name, state in sorted(target["after"].items())
        ]
    if target.get("kind") in ("router", "systemvm") and target.get("version_after"):
        return [{"name": target.get("name"), "redundantstate": target.get("redundantstate"), "version": target.get("version_after")}]
    return []


# router_version_check.py compares the router's release file and scripts signature with the router's own recorded
# versions (systemvm/debian/root/health_checks, getRouterVersionHealthChecksData; 4.18.0.0): an outdated router passes
# it, so it proves nothing about an upgrade either way and never makes a router unhealthy.
VERSION_CHECK_PREFIX = "router_version"


# ---------------------------------------------------------------------------------------------- display


def plan_table(plan: dict[str, t.Any]) -> list[str]:
    """The plan as aligned text lines: batches in order, then the skipped items with their reasons."""
    items = {item["key"]: item for item in plan["items"]}
    rows = [("batch", "group", "stage", "kind", "name", "path", "reason")]
    for batch in plan["batches"]:
        for key in batch["items"]:
            item = items[key]
            kind = item.get("systemvmtype") or item["kind"]
            rows.append((str(batch["index"]), batch["group"], batch["stage"], kind, item["name"], item["path"], item["reason"]))
    for item in plan["items"]:
        if item["path"] == Path.SKIP:
            rows.append(("-", item["group"], "-", item.get("systemvmtype") or item["kind"], item["name"], Path.SKIP.value, item["reason"]))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:6])) + "  " + row[6] for row in rows]
    zones = {item.get("zoneid"): item.get("zonename") or item.get("zoneid") for item in plan["items"] if item.get("zoneid")}
    minimums = plan.get("min_template") or {}
    if any(zoneid in zones for zoneid in minimums):
        lines.append(
            "current template (%s, per zone): %s"
            % (
                MIN_TEMPLATE_SETTING,
                ", ".join(
                    "%s %s" % (zones.get(zoneid, zoneid), value or "(empty or unreadable)")
                    for zoneid, value in sorted(minimums.items(), key=lambda pair: str(zones.get(pair[0], pair[0])))
                    if zoneid in zones
                ),
            )
        )
    summary = plan["summary"]
    lines.append(
        "management server %s: %d live patch, %d legacy recreate, %d skipped, in %d batches"
        % (plan["ms_version"], summary[Path.LIVEPATCH], summary[Path.LEGACY], summary[Path.SKIP], len(plan["batches"]))
    )
    return lines
