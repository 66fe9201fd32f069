# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Router health checks as an upgrade gate: parsing and judging, without any I/O.

Results come from three places that all end up as :class:`Check` objects:
the API (``listRouters`` with ``fetchhealthcheckresults`` or ``getRouterHealthCheckResults``),
the results files a router keeps (``/root/basic_monitor_results.json``, ``/root/advanced_monitor_results.json``),
or the scripts in ``/root/health_checks/`` run on the router. :func:`judge` turns them into the gate verdict.
"""

from __future__ import annotations

import datetime
import functools
import re
import typing as t
from dataclasses import dataclass, field

CHECK_TYPES = ("basic", "advanced")

# Keys of a results file that describe the run itself, not a check.
_RUN_KEYS = frozenset({"lastRun"})

_UTC = datetime.timezone.utc


class HealthError(ValueError):
    """Input that cannot be judged: the message names the object and what to do."""


@dataclass
class Check:
    name: str
    type: str
    success: bool
    last_updated: datetime.datetime | None
    details: str
    stale: bool = False

    @property
    def failing(self) -> bool:
        return not self.success or self.stale

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "name": self.name,
            "type": self.type,
            "success": self.success,
            "last_updated": format_timestamp(self.last_updated),
            "details": self.details,
            "stale": self.stale,
        }


@dataclass
class RouterHealth:
    """The health of one router; ``error`` says why it could not be judged by its checks."""

    name: str
    id: str | None = None
    state: str = "Running"
    zone: str | None = None
    network_id: str | None = None
    vpc_id: str | None = None
    redundant_state: str | None = None
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    fresh: bool = False
    waited: float = 0.0  # seconds waited for the first results of a new router


@dataclass
class GateOptions:
    fail_on: list[str] | None = None  # None: any check
    ignore: list[str] = field(default_factory=list)
    types: tuple[str, ...] = CHECK_TYPES
    max_age: int | None = None  # seconds
    baseline: t.Any = None
    # Results taken before this moment (an upgrade's start) say nothing about the routers after it: not yet known.
    since: datetime.datetime | None = None


# -- parsing -------------------------------------------------------------------------------------------------


def parse_bool(value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise HealthError("not a health check outcome: %r (expected true or false)" % (value,))


@functools.lru_cache(maxsize=4096)
def parse_timestamp(value: t.Any) -> datetime.datetime | None:
    """Epoch milliseconds (results files) or an ISO-8601 date as CloudStack writes it (``2026-11-22T01:02:03+0000``)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value / 1000.0, tz=_UTC)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return datetime.datetime.fromtimestamp(float(text) / 1000.0, tz=_UTC)
    # Python 3.8 fromisoformat knows neither "Z" nor "+0000".
    text = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", lambda m: "+00:00" if m.group(1) == "Z" else m.group(1)[:3] + ":" + m.group(1)[-2:], text)
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise HealthError("not a health check time: %r (expected ISO-8601 or epoch milliseconds)" % (value,)) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_UTC)
    return stamp.astimezone(_UTC)


def format_timestamp(stamp: datetime.datetime | None) -> str | None:
    return None if stamp is None else stamp.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checks_from_api(items: t.Iterable[t.Mapping[str, t.Any]] | None) -> list[Check]:
    """``healthcheckresults`` of listRouters or ``healthchecks`` of getRouterHealthCheckResults."""
    checks = []
    for item in items or []:
        checks.append(
            Check(
                name=str(item.get("checkname")),
                type=str(item.get("checktype") or "basic"),
                success=parse_bool(item.get("success")),
                last_updated=parse_timestamp(item.get("lastupdated")),
                details=str(item.get("details") or ""),
            )
        )
    return checks


def checks_from_results_file(data: t.Any, check_type: str, path: str) -> list[Check]:
    """One results file of a router: ``{"<check>": {"success": "true", "lastUpdate": ms, "message": ...}, "lastRun": {...}}``."""
    if not isinstance(data, dict):
        raise HealthError("%s is not a health check results file (expected a JSON object of checks)" % path)
    checks = []
    for name, entry in sorted(data.items()):
        if name in _RUN_KEYS:
            continue
        if not isinstance(entry, dict) or "success" not in entry:
            raise HealthError("%s: the entry %r is not a health check result (expected success, lastUpdate, message)" % (path, name))
        try:
            checks.append(
                Check(
                    name=name,
                    type=check_type,
                    success=parse_bool(entry["success"]),
                    last_updated=parse_timestamp(entry.get("lastUpdate")),
                    details=str(entry.get("message") or ""),
                )
            )
        except HealthError as exc:
            raise HealthError("%s, check %s: %s" % (path, name, exc)) from None
    return checks


def check_from_script(name: str, check_type: str, returncode: int, stdout: str, finished: datetime.datetime) -> Check | None:
    """A script run as ``<script> <type>``: no output means it is not a check of that type."""
    message = stdout.strip()
    if not message:
        return None
    return Check(name=name, type=check_type, success=returncode == 0, last_updated=finished, details=message)


# -- judging -------------------------------------------------------------------------------------------------


def mark_stale(checks: t.Iterable[Check], now: datetime.datetime, max_age: int | None) -> None:
    """Results older than ``max_age`` seconds (or without a time) cannot vouch for the router any more."""
    if max_age is None:
        return
    limit = now - datetime.timedelta(seconds=max_age)
    for check in checks:
        check.stale = check.last_updated is None or check.last_updated < limit


def taken_before(checks: t.Iterable[Check], since: datetime.datetime | None) -> list[str]:
    """Names of the checks whose result was taken before ``since`` (or has no time).

    CloudStack stores a router's results only every router.health.checks.results.fetch.interval minutes (10 by
    default; FetchRouterHealthChecksResultTask, VirtualNetworkApplianceManagerImpl 4.18.0.0): right after an act the
    API still shows those from before it.
    """
    if since is None:
        return []
    return sorted({check.name for check in checks if check.last_updated is None or check.last_updated < since})


def missing_types(router: RouterHealth, types: t.Sequence[str]) -> list[str]:
    """The check types of ``types`` a router has no result of (a new router has none until its first scheduled runs)."""
    return [check_type for check_type in types if not any(check.type == check_type for check in router.checks)]


def needs_refresh(router: RouterHealth, now: datetime.datetime, max_age: int | None, types: t.Sequence[str]) -> bool:
    """Whether a router's cached results of one of ``types`` are missing, or too old to judge it."""
    relevant = [check for check in router.checks if check.type in types]
    if missing_types(router, types):
        return True
    if max_age is None:
        return False
    limit = now - datetime.timedelta(seconds=max_age)
    return any(check.last_updated is None or check.last_updated < limit for check in relevant)


def unknown_check_names(options: GateOptions, routers: t.Iterable[RouterHealth]) -> dict[str, list[str]]:
    """Names in fail_on/ignore that none of the routers reports.

    Names differ between templates and versions (``dns_check.py``, ``dns``); a name that matches nothing would
    silently make the gate pass, so it is refused rather than guessed.
    """
    seen = {check.name for router in routers for check in router.checks}
    unknown = {}
    for option, names in (("fail_on", options.fail_on or []), ("ignore", options.ignore)):
        missing = sorted(set(names) - seen)
        if missing:
            unknown[option] = missing
    return unknown


def describe_unknown(unknown: dict[str, list[str]], routers: t.Iterable[RouterHealth]) -> str:
    seen = sorted({check.name for router in routers for check in router.checks})
    parts = ["%s names unknown health checks: %s" % (option, ", ".join(names)) for option, names in sorted(unknown.items())]
    return "%s. The selected routers report: %s" % ("; ".join(parts), ", ".join(seen) if seen else "no checks at all")


class Baseline:
    """Checks that already failed in a previous result of this module, found by router id, name, then network or VPC.

    A router recreated by an upgrade has a new id and name; it is compared with the routers its network or VPC had.
    """

    def __init__(self, previous: t.Any):
        routers = _baseline_routers(previous)
        self._by_key: dict[tuple[str, str], set[str]] = {}
        for router in routers:
            failing = {check.get("name") for check in router.get("checks") or [] if _baseline_check_failing(check)}
            for kind in ("id", "name", "network_id", "vpc_id"):
                if router.get(kind):
                    self._by_key.setdefault((kind, router[kind]), set()).update(failing)

    def known_failures(self, router: RouterHealth) -> tuple[set[str], str | None]:
        """(names of the checks that failed before, how the router was matched: id, name, vpc_id, network_id or None)."""
        # A VPC router also carries a network id in some answers; the VPC is the better unit.
        for kind, value in (("id", router.id), ("name", router.name), ("vpc_id", router.vpc_id), ("network_id", router.network_id)):
            if value and (kind, value) in self._by_key:
                return self._by_key[(kind, value)], kind
        return set(), None


def _baseline_routers(previous: t.Any) -> list[dict[str, t.Any]]:
    """The routers of a registered result: one task, a looped task (``results``), or a skipped task (none)."""
    if isinstance(previous, dict) and previous.get("skipped") and "routers" not in previous:
        return []
    if isinstance(previous, dict) and isinstance(previous.get("results"), list) and "routers" not in previous:
        return [router for result in previous["results"] for router in _baseline_routers(result)]
    routers = previous.get("routers") if isinstance(previous, dict) else previous
    if not isinstance(routers, list) or not all(isinstance(router, dict) for router in routers):
        raise HealthError("baseline must be a registered result of acs.upgrade.cs_vr_health (a dict with a routers list)")
    return routers


def _baseline_check_failing(check: t.Any) -> bool:
    if not isinstance(check, dict) or "name" not in check:
        raise HealthError("baseline checks must be dicts with name and success, as acs.upgrade.cs_vr_health returns them")
    return not parse_bool(check.get("success", False)) or bool(check.get("stale"))


def judge(
    routers: list[RouterHealth], options: GateOptions, now: datetime.datetime, skipped: list[dict[str, t.Any]] | None = None, only_failed_checks: bool = False
) -> dict[str, t.Any]:
    """The gate: per router its checks (all, or only the failed ones) and what fails, a summary, and whether the gate passed."""
    baseline = Baseline(options.baseline) if options.baseline is not None else None
    fail_on = set(options.fail_on) if options.fail_on is not None else None
    ignore = set(options.ignore)
    reports = []
    checked = 0
    for router in routers:
        checks = [check for check in router.checks if check.type in options.types]
        checked += len(checks)
        mark_stale(checks, now, options.max_age)
        failed = sorted({check.name for check in checks if check.failing})
        counted = [name for name in failed if name not in ignore and (fail_on is None or name in fail_on)]
        known: set[str] = set()
        matched = None
        if baseline is not None:
            known, matched = baseline.known_failures(router)
            counted = [name for name in counted if name not in known]
        error = router.error
        missing = missing_types(router, options.types)
        if error is None and missing:
            # Without results of a type the router cannot be vouched for: a new router has no advanced results for
            # router.health.checks.advanced.interval minutes.
            error = "no %s health check results" % " or ".join(missing)
        before = taken_before(checks, options.since)
        if error is None and before:
            error = (
                "not yet known: %d result(s) from before %s (%s); CloudStack stores new ones every "
                "router.health.checks.results.fetch.interval minutes: check again later, or with fresh or refresh_stale"
                % (len(before), format_timestamp(options.since), ", ".join(before[:3]) + (" ..." if len(before) > 3 else ""))
            )
        reports.append(
            {
                "id": router.id,
                "name": router.name,
                "state": router.state,
                "zone": router.zone,
                "network_id": router.network_id,
                "vpc_id": router.vpc_id,
                "redundant_state": router.redundant_state,
                "fresh": router.fresh,
                "waited": round(router.waited, 1),
                "checks": [check.as_dict() for check in checks if check.failing or not only_failed_checks],
                "failed_checks": failed,
                "stale_checks": sorted({check.name for check in checks if check.stale}),
                "failing": counted,
                "known_failures": sorted(name for name in failed if name in known) if baseline is not None else [],
                "baseline_match": matched,
                "error": error,
                "not_yet_known": bool(before) and router.error is None and not missing,
                "passed": error is None and not counted,
            }
        )
    failing = {report["name"]: report["failing"] + ([report["error"]] if report["error"] else []) for report in reports if not report["passed"]}
    summary = {
        "routers": len(reports),
        "passed": sum(1 for report in reports if report["passed"]),
        "failed": len(failing),
        "skipped": len(skipped or []),
        "checks": checked,
        "failed_checks": sum(len(report["failed_checks"]) for report in reports),
        "stale_checks": sum(len(report["stale_checks"]) for report in reports),
        "not_yet_known": sum(1 for report in reports if report["not_yet_known"]),
        "checked_at": format_timestamp(now),
    }
    return {"routers": reports, "failing": failing, "skipped": skipped or [], "summary": summary, "gate_passed": not failing}


def gate_message(result: t.Mapping[str, t.Any], limit: int = 20) -> str:
    """Names the routers and checks that fail the gate (the first ``limit`` routers)."""
    failing = result["failing"]
    parts = []
    for name in sorted(failing)[:limit]:
        reasons = failing[name]
        parts.append("%s (%s)" % (name, ", ".join(reasons)))
    more = " and %d more" % (len(failing) - limit) if len(failing) > limit else ""
    return "router health gate failed for %d of %d routers: %s%s" % (len(failing), result["summary"]["routers"], "; ".join(parts), more)
