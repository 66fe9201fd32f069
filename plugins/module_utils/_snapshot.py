# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A snapshot of a cloud: its shape, versions and states, and how long its own recent jobs took.

Built on the fleet read (:class:`_fleet.Fleet`) plus three reads (projects, one setting, the async jobs). Every object
keeps only the fields listed here, so nothing the API adds (an account's users with their keys, for one) ever reaches
the file. ``anonymize`` replaces names and ids consistently and keeps everything else.
"""

from __future__ import annotations

import datetime
import statistics
import typing as t
import uuid

from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, read_setting

SNAPSHOT_FORMAT = 1
# The setting read beside the ones the fleet read holds (minreq.sysvmtemplate.version per zone, router.version.check): the
# health gate's (cs_vr_health).
HEALTH_SETTING = "router.health.checks.enabled"

# listAsyncJobs gives the command's class (``cmd``); the API name is what an operator knows.
JOB_COMMANDS = {
    "PatchSystemVMCmd": "patchSystemVm",
    "RebootSystemVmCmd": "rebootSystemVm",
    "StopSystemVmCmd": "stopSystemVm",
    "StartSystemVMCmd": "startSystemVm",
    "DestroySystemVmCmd": "destroySystemVm",
    "MigrateSystemVMCmd": "migrateSystemVm",
    "RebootRouterCmd": "rebootRouter",
    "StopRouterCmd": "stopRouter",
    "StartRouterCmd": "startRouter",
    "DestroyRouterCmd": "destroyRouter",
    "RestartNetworkCmd": "restartNetwork",
    "RestartVPCCmd": "restartVPC",
}
# The samples kept per command (the most recent): enough for a spread, small enough for a file an operator mails.
MAX_SAMPLES = 500

_FIELDS: dict[str, tuple[str, ...]] = {
    "zones": ("id", "name", "networktype", "allocationstate"),
    "pods": ("id", "name", "zoneid", "allocationstate"),
    "clusters": ("id", "name", "podid", "zoneid", "hypervisortype", "allocationstate"),
    "hosts": ("id", "name", "zoneid", "podid", "clusterid", "hypervisor", "version", "state", "resourcestate"),
    "domains": ("id", "name", "path", "parentdomainid", "level"),
    "accounts": ("id", "name", "domainid", "accounttype", "state"),
    "projects": ("id", "name", "domainid", "state"),
    "systemvms": ("id", "name", "systemvmtype", "state", "agentstate", "version", "templateid", "templatename", "template_version",
                  "disk_templateid", "disk_template_version", "zoneid", "podid", "hostid", "clusterid"),
    "routers": ("id", "name", "state", "role", "redundantstate", "isredundantrouter", "version", "scriptsversion", "softwareversion",
                "requiresupgrade", "zoneid", "podid", "hostid", "clusterid", "account", "domainid", "guestnetworkid", "vpcid", "projectid",
                "healthchecksfailed"),
    "networks": ("id", "name", "zoneid", "vpcid", "type", "state", "account", "domainid", "projectid", "redundantrouter", "restartrequired"),
    "vpcs": ("id", "name", "zoneid", "account", "domainid", "projectid", "state", "redundantvpcrouter"),
}
# Fields that hold an id of another object (anonymized with the same map as the ids).
_REFERENCES = ("id", "zoneid", "podid", "clusterid", "hostid", "domainid", "parentdomainid", "guestnetworkid", "vpcid", "projectid", "templateid",
               "disk_templateid")
# Fields that hold a name, and the kind of object the name is of (one kind: the same name gets the same replacement).
_NAMES = {"name": None, "account": "accounts", "domain": "domains"}


def _keep(item: t.Mapping[str, t.Any], fields: t.Iterable[str]) -> dict[str, t.Any]:
    return {name: item[name] for name in fields if item.get(name) is not None}


def _date(text: str | None) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def job_history(jobs: t.Iterable[t.Mapping[str, t.Any]], routers_of: t.Callable[[str | None, str | None], int]) -> dict[str, t.Any]:
    """Durations of finished jobs by command: ``{command: {count, failed, seconds: {min, median, p90, max}, samples: [{seconds, routers}]}}``.

    ``routers_of(instancetype, instanceid)`` says how many routers a job acted on (those of its network or VPC as they are now;
    1 for a router or system VM job, and for patchSystemVm, whose job records no instance)."""
    found: dict[str, list[tuple[datetime.datetime, dict[str, t.Any]]]] = {}
    failed: dict[str, int] = {}
    for job in jobs:
        command = JOB_COMMANDS.get(str(job.get("cmd") or "").rsplit(".", 1)[-1])
        created, completed = _date(job.get("created")), _date(job.get("completed"))
        if not command or created is None or completed is None or int(job.get("jobstatus") or 0) == 0:
            continue
        if int(job["jobstatus"]) != 1:
            failed[command] = failed.get(command, 0) + 1
            continue
        sample = {"seconds": max(0.0, (completed - created).total_seconds()), "routers": routers_of(job.get("jobinstancetype"), job.get("jobinstanceid"))}
        found.setdefault(command, []).append((completed, sample))
    history: dict[str, t.Any] = {}
    for command in sorted(set(found) | set(failed)):
        samples = [sample for _done, sample in sorted(found.get(command, []), key=lambda item: item[0])][-MAX_SAMPLES:]
        seconds = sorted(sample["seconds"] for sample in samples)
        summary = {}
        if seconds:
            summary = {"min": seconds[0], "median": statistics.median(seconds), "p90": seconds[min(len(seconds) - 1, int(len(seconds) * 0.9))],
                       "max": seconds[-1]}
        history[command] = {"count": len(seconds), "failed": failed.get(command, 0), "seconds": summary, "samples": samples}
    return history


def read_snapshot(client: t.Any, job_history_days: int = 30, now: datetime.datetime | None = None) -> dict[str, t.Any]:
    """Read the whole cloud (read-only calls only) into a snapshot."""
    fleet = Fleet.read(client, include_accounts=True)
    data = fleet.as_dict()
    projects = client.list("listProjects", "project", listall=True)
    settings: dict[str, t.Any] = {"router.version.check": fleet.router_version_check, "minreq.sysvmtemplate.version": dict(fleet.min_template)}
    settings[HEALTH_SETTING] = read_setting(client, HEALTH_SETTING)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    since = (now - datetime.timedelta(days=job_history_days)).strftime("%Y-%m-%d")
    jobs = client.list("listAsyncJobs", "asyncjobs", listall=True, startdate=since)

    units = {unit.id: len(unit.routers) for unit in fleet.units()}
    vpc_of_tier = {network["id"]: network["vpcid"] for network in fleet.networks.values() if network.get("vpcid")}

    def routers_of(instancetype: str | None, instanceid: str | None) -> int:
        if (instancetype or "").lower() in ("network", "vpc"):
            return units.get(vpc_of_tier.get(instanceid or "", instanceid or ""), 0)
        return 1

    snapshot: dict[str, t.Any] = {
        "snapshot_format": SNAPSHOT_FORMAT,
        "taken": now.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "anonymized": False,
        "managementserver": {"version": fleet.version},
        "settings": settings,
        "jobs_since": since,
        "jobs": job_history(jobs, routers_of),
    }
    for kind in ("zones", "pods", "clusters", "hosts", "domains", "accounts", "systemvms", "networks"):
        snapshot[kind] = [_keep(item, _FIELDS[kind]) for item in data[kind]]
    snapshot["projects"] = [_keep(item, _FIELDS["projects"]) for item in projects]
    snapshot["routers"] = [_keep({**router.raw, **router.as_dict()}, _FIELDS["routers"]) for router in fleet.routers]
    snapshot["vpcs"] = [dict(_keep(vpc, _FIELDS["vpcs"]), tiers=fleet.tiers_of(vpc["id"], vpc)) for vpc in fleet.vpcs.values()]
    snapshot["counts"] = counts(snapshot)
    return snapshot


def counts(snapshot: t.Mapping[str, t.Any]) -> dict[str, int]:
    return {kind: len(snapshot.get(kind) or []) for kind in _FIELDS}


def anonymize(snapshot: t.Mapping[str, t.Any], salt: str | None = None) -> dict[str, t.Any]:
    """The same snapshot with every id and name replaced, consistently (one object keeps one new id and name everywhere).

    Versions, states, checksums, settings and job durations stay. The ROOT domain keeps its name: every cloud has it.
    ``salt`` makes the new ids unguessable from the old ones (a random one by default)."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, salt or uuid.uuid4().hex)
    ids: dict[str, str] = {}
    names: dict[tuple[str, str], str] = {}
    made: dict[str, int] = {}

    def new_id(value: str) -> str:
        if value not in ids:
            ids[value] = str(uuid.uuid5(namespace, value))
        return ids[value]

    def new_name(kind: str, value: str) -> str:
        if kind == "domains" and value == "ROOT":
            return value
        key = (kind, value)
        if key not in names:
            made[kind] = made.get(kind, 0) + 1
            names[key] = "%s-%d" % (kind.rstrip("s"), made[kind])
        return names[key]

    def record(kind: str, item: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        out = dict(item)
        for field in _REFERENCES:
            if isinstance(out.get(field), str):
                out[field] = new_id(out[field])
        for field, of in _NAMES.items():
            if isinstance(out.get(field), str):
                out[field] = new_name(of or kind, out[field])
        if "path" in out:
            out["path"] = "/".join(new_name("domains", part) for part in str(out["path"]).split("/"))
        if out.get("templatename"):
            out["templatename"] = "systemvm-%s" % (out.get("template_version") or "template")
        if "tiers" in out:
            out["tiers"] = [new_id(tier) for tier in out["tiers"]]
        return out

    anonymized = dict(snapshot)
    for kind in _FIELDS:
        anonymized[kind] = [record(kind, item) for item in snapshot.get(kind) or []]
    settings = dict(snapshot.get("settings") or {})
    settings["minreq.sysvmtemplate.version"] = {new_id(zone): value for zone, value in (settings.get("minreq.sysvmtemplate.version") or {}).items()}
    anonymized["settings"] = settings
    anonymized["anonymized"] = True
    return anonymized
