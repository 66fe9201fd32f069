# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The preflight: every reason an upgrade would fail that can be known before its first job.

:func:`read_cloud` makes the few API calls the checks need beyond the fleet (management servers, settings,
templates, async jobs); :func:`run_checks` is pure: it takes the fleet (``cs_fleet_info``'s dict) and that read and
returns one finding per problem, each with its check id, severity, what was found and what to do, naming the
objects. ``blocker`` findings stop a run before anything changes, ``warning`` ones are printed and recorded,
``info`` ones describe the cloud. An operator accepts a finding by its check id (``ignore``): it is then kept, marked
ignored, and no longer stops the run.
"""

from __future__ import annotations

import collections
import datetime
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackError, compare_versions
from ansible_collections.acs.upgrade.plugins.module_utils._engine import IN_FLIGHT
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import read_min_templates, read_setting
from ansible_collections.acs.upgrade.plugins.module_utils._plan import journal_state
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    KNOWN_REGRESSIONS,
    VPC_IDLE_TIERS_PATCHED_SINCE,
    _release_of,
    agent_regression,
    is_valid_version,
    livepatch_regression,
    template_version_from_name,
    vpc_tiers_livepatchable,
)

BLOCKER = "blocker"
WARNING = "warning"
INFO = "info"
SEVERITIES = (BLOCKER, WARNING, INFO)

# Check id -> what it looks at (the README's "Before you start" table says the same).
CHECKS: dict[str, str] = {
    "management_server_versions": "every management server runs the same version",
    "management_server_state": "every management server is Up",
    "host_agent_version": "the KVM/XenServer/VMware agents of the Routing hosts run the server's version",
    "host_state": "the Routing hosts that run system VMs and routers are Up and enabled",
    "minimum_template": "each zone has its minreq.sysvmtemplate.version",
    "systemvm_template": "the system VM template of each hypervisor in use is registered and Ready in each zone",
    "systemvm_template_per_zone": "no system VM template is registered once per zone instead of cross-zone",
    "router_version_check": "router.version.check, which makes the server refuse outdated routers",
    "health_checks": "router health checks are enabled, so that the health gates have results to read",
    "jobs_in_flight": "no async job is in flight on a system VM, router, network or VPC to upgrade",
    "job_backlog": "the management servers' job pools have room for the upgrade's jobs",
    "known_regression": "the release has no known live-patch regression that affects the fleet",
    "redundant_pair_state": "each redundant pair has one PRIMARY and its other routers BACKUP",
    "router_state": "routers are Running or Stopped, none in a transitional state",
    "network_state": "the networks with routers are Implemented or Setup, so that they can be restarted",
}

# How many object names a finding lists; the rest is counted.
NAMES_LIMIT = 10
# Async jobs run on db.cloud.maxActive / 2 threads per management server (AsyncJobManagerImpl; maxActive 250 by
# default, so 125): a backlog above this share of one pool delays every job of the upgrade.
JOB_POOL_PER_SERVER = 125
JOB_BACKLOG_SHARE = 0.5
SETTINGS = (
    "router.version.check",
    "router.health.checks.enabled",
    "router.health.checks.basic.interval",
    "router.health.checks.advanced.interval",
    "router.health.checks.results.fetch.interval",
)
HOST_UP = "Up"
HOST_ENABLED = "Enabled"
HOST_DISABLED = "Disabled"
ROUTER_STEADY = ("Running", "Stopped")
NETWORK_RESTARTABLE = ("Implemented", "Setup")


class Finding(t.NamedTuple):
    check: str
    severity: str
    found: str
    action: str
    objects: tuple[str, ...] = ()

    def as_dict(self, ignored: bool = False) -> dict[str, t.Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "found": self.found,
            "action": self.action,
            "objects": list(self.objects),
            "ignored": ignored,
        }


class PreflightError(Exception):
    """Bad input: an unknown check id to ignore."""


def check_ignore_list(ignore: t.Iterable[str]) -> list[str]:
    """The ids to ignore, each a known check: an unknown one is an error, never silently nothing."""
    ids = [str(item).strip() for item in ignore if str(item).strip()]
    unknown = [item for item in ids if item not in CHECKS]
    if unknown:
        raise PreflightError("unknown preflight check id(s) to ignore: %s; the checks are %s" % (", ".join(sorted(set(unknown))), ", ".join(sorted(CHECKS))))
    return ids


def _names(names: t.Iterable[str], limit: int = NAMES_LIMIT) -> str:
    names = sorted(set(names))
    shown = ", ".join(names[:limit])
    return shown + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


def _true(value: t.Any) -> bool:
    return str(value).strip().lower() == "true"


# ---------------------------------------------------------------------------------------------- reading


def journal_jobs(entries: t.Iterable[t.Mapping[str, t.Any]], ms_version: str) -> list[str]:
    """The job ids the journal of a run records as submitted without an end (an interrupted attempt's), for this version."""
    return sorted(
        str(entry["jobid"]) for entry in journal_state(entries, ms_version).values() if entry.get("status") in IN_FLIGHT and entry.get("jobid")
    )


def read_cloud(client: t.Any, fleet: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What the checks need beyond the fleet: a fixed number of paged calls, whatever the size of the cloud."""
    settings = {name: read_setting(client, name) for name in SETTINGS}
    min_template = dict(fleet.get("min_template") or {})
    missing = [zone["id"] for zone in fleet.get("zones") or [] if zone["id"] not in min_template]
    min_template.update(read_min_templates(client, missing)[0])
    # listManagementServers is what compares the servers of a cluster; where this key may not call it (432), only the server
    # that answered is known (listCapabilities, the fleet's version), and the check says so instead of failing the run.
    try:
        servers, servers_error = client.list("listManagementServers", "managementserver"), None
    except CloudStackError as exc:
        if exc.errorcode != 432:
            raise
        servers, servers_error = [], exc.message
    return {
        "managementservers": servers,
        "managementservers_error": servers_error,
        "settings": settings,
        "min_template": min_template,
        "templates": [item for item in client.list("listTemplates", "template", templatefilter="all") if item.get("templatetype") == "SYSTEM"],
        "jobs": [job for job in client.list("listAsyncJobs", "asyncjobs", listall=True) if job.get("jobstatus") == 0],
        "read_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------- checks


def _management_servers(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    servers = cloud.get("managementservers") or []
    found = []
    if cloud.get("managementservers_error"):
        found.append(
            Finding(
                "management_server_versions",
                WARNING,
                "the management servers cannot be listed (%s): only the one that answered is known, on %s (listCapabilities)"
                % (cloud["managementservers_error"], fleet.get("version")),
                "check by hand that every management server of the cluster runs %s (its cloudstack-management package), or use an "
                "API key allowed to call listManagementServers" % fleet.get("version"),
            )
        )
    versions = collections.defaultdict(list)
    silent = []
    for server in servers:
        name = str(server.get("name") or server.get("id"))
        if server.get("version"):
            versions[str(server["version"])].append(name)
        else:
            silent.append(name)
    if silent:
        found.append(
            Finding(
                "management_server_versions",
                WARNING,
                "management server(s) %s report no version in listManagementServers: the one that answered the API runs %s (listCapabilities)"
                % (_names(silent), fleet.get("version")),
                "check by hand that they run %s (their cloudstack-management package) before the upgrade: a job that lands on an older "
                "server patches or recreates from the old release" % fleet.get("version"),
                tuple(silent),
            )
        )
    if len(versions) > 1:
        found.append(
            Finding(
                "management_server_versions",
                BLOCKER,
                "the management servers run different versions: %s"
                % "; ".join("%s on %s" % (version, _names(names)) for version, names in sorted(versions.items())),
                "upgrade every management server to %s (the version the API answers with) before the system VMs and routers: a job "
                "that lands on an older server patches or recreates from the old release" % fleet.get("version"),
                tuple(name for names in versions.values() for name in names),
            )
        )
    down = [server for server in servers if str(server.get("state") or "") != "Up"]
    if down:
        found.append(
            Finding(
                "management_server_state",
                WARNING,
                "management server(s) not Up: %s" % _names("%s (%s)" % (server.get("name"), server.get("state")) for server in down),
                "start them, or remove them from the cluster, before the upgrade: the jobs of a server that is down stay pending",
                tuple(str(server.get("name")) for server in down),
            )
        )
    return found


def _vms_on_hosts(fleet: t.Mapping[str, t.Any]) -> dict[str, list[str]]:
    on_host: dict[str, list[str]] = collections.defaultdict(list)
    for vm in list(fleet.get("routers") or []) + list(fleet.get("systemvms") or []):
        if vm.get("hostid"):
            on_host[vm["hostid"]].append(vm.get("name") or vm["id"])
    return on_host


def _hosts(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    version = str(fleet.get("version") or "")
    on_host = _vms_on_hosts(fleet)
    found = []
    old: dict[str, list[dict[str, t.Any]]] = collections.defaultdict(list)
    for host in fleet.get("hosts") or []:
        agent = host.get("version")
        if is_valid_version(agent) and is_valid_version(version) and compare_versions(str(agent), version) < 0:
            old[str(host.get("clustername") or host.get("clusterid") or "?")].append(host)
    if old:
        vms = [vm for hosts in old.values() for host in hosts for vm in on_host.get(host["id"], [])]
        # An agent of a release with apache/cloudstack#9900 leaves live-patched routers refused (#12211): say so.
        regressed = sorted({str(host.get("version")) for hosts in old.values() for host in hosts if agent_regression(str(host.get("version")))})
        found.append(
            Finding(
                "host_agent_version",
                WARNING,
                "%d host(s) run an agent older than the management server %s: %s; %d system VM(s)/router(s) run on them%s%s"
                % (
                    sum(len(hosts) for hosts in old.values()),
                    version,
                    "; ".join(
                        "cluster %s: %s" % (cluster, _names("%s (%s)" % (host.get("name"), host.get("version")) for host in hosts))
                        for cluster, hosts in sorted(old.items())
                    ),
                    len(vms),
                    " (%s)" % _names(vms) if vms else "",
                    "".join("; agent %s: %s" % (agent, agent_regression(agent)) for agent in regressed),
                ),
                "upgrade the agents (cloudstack-agent) of these hosts first: a live patch takes its scripts from the host's agent, so the "
                "plan does not live-patch the VMs on them until their agent runs %s" % version,
                tuple(host.get("name") for hosts in old.values() for host in hosts),
            )
        )
    unwell = [host for host in fleet.get("hosts") or [] if host.get("state") not in (None, HOST_UP) or host.get("resourcestate") not in (None, HOST_ENABLED)]
    # A Disabled host that is Up still runs its VMs and takes their commands (it takes no new VM): its VMs can be upgraded.
    # One whose agent is not Up, or that is in or entering maintenance, cannot act on the VMs still there.
    stuck = [
        host
        for host in unwell
        if on_host.get(host["id"]) and (host.get("state") not in (None, HOST_UP) or host.get("resourcestate") not in (None, HOST_ENABLED, HOST_DISABLED))
    ]
    if stuck:
        vms = [vm for host in stuck for vm in on_host.get(host["id"], [])]
        found.append(
            Finding(
                "host_state",
                BLOCKER,
                "host(s) not Up and Enabled: %s; system VMs/routers on them: %s"
                % (_names("%s (%s, %s)" % (host.get("name"), host.get("state"), host.get("resourcestate")) for host in stuck), _names(vms)),
                "bring the hosts back (reconnect the agent, end the maintenance) or move the VMs off them before the upgrade: a job on a VM "
                "whose host is not Up or is in maintenance fails or waits for its timeout",
                tuple(host.get("name") for host in stuck),
            )
        )
    idle = [host for host in unwell if host not in stuck]
    if idle:
        vms = [vm for host in idle for vm in on_host.get(host["id"], [])]
        found.append(
            Finding(
                "host_state",
                WARNING,
                "host(s) not Up and Enabled: %s%s"
                % (
                    _names("%s (%s, %s)" % (host.get("name"), host.get("state"), host.get("resourcestate")) for host in idle),
                    "; system VMs/routers on the Disabled ones, which still run them: %s" % _names(vms) if vms else "",
                ),
                "no system VM or router runs there, or the host is only Disabled and still runs its VMs, so the upgrade can go on; "
                "recreated VMs go to hosts that are Up and Enabled only, so the cluster has less room for them until these hosts are back",
                tuple(host.get("name") for host in idle),
            )
        )
    return found


def _zone_names(fleet: t.Mapping[str, t.Any]) -> dict[str, str]:
    return {zone["id"]: zone.get("name") or zone["id"] for zone in fleet.get("zones") or []}


def _templates(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    zones = _zone_names(fleet)
    minimum = cloud.get("min_template") or {}
    found = []
    unset = [zones[zoneid] for zoneid in zones if not is_valid_version(minimum.get(zoneid))]
    if unset:
        found.append(
            Finding(
                "minimum_template",
                BLOCKER,
                "zone(s) %s have no valid minreq.sysvmtemplate.version: the current template cannot be known there" % _names(unset),
                "set it (updateConfiguration name=minreq.sysvmtemplate.version zoneid=... to the release's system VM template version), or "
                "find why the upgrade of the management server did not",
                tuple(unset),
            )
        )
    templates = list(cloud.get("templates") or [])
    # Per zone and hypervisor: the system VM templates that are Ready there (a cross-zone one is listed once per zone).
    ready: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for template in templates:
        if template.get("isready") and template.get("zoneid"):
            ready[(template["zoneid"], str(template.get("hypervisor") or "").lower())].append(str(template.get("name")))
    hypervisors: dict[str, set[str]] = collections.defaultdict(set)
    for host in fleet.get("hosts") or []:
        if host.get("zoneid") and host.get("hypervisor"):
            hypervisors[host["zoneid"]].add(str(host["hypervisor"]))
    missing = []
    for zoneid, zone_name in sorted(zones.items(), key=lambda item: item[1]):
        wanted = minimum.get(zoneid)
        if not is_valid_version(wanted):
            continue
        for hypervisor in sorted(hypervisors.get(zoneid, ())):
            names = ready.get((zoneid, hypervisor.lower()), [])
            current = [name for name in names if is_valid_version(template_version_from_name(name)) and _at_least(template_version_from_name(name), wanted)]
            if not current:
                missing.append("%s/%s (needs %s; Ready there: %s)" % (zone_name, hypervisor, wanted, _names(names) if names else "none"))
    if missing:
        found.append(
            Finding(
                "systemvm_template",
                BLOCKER,
                "no Ready system VM template at the zone's minimum version for: %s" % "; ".join(missing),
                "register the release's system VM template for these hypervisors (or wait for its download to end) in these zones: a "
                "router or system VM recreated there would fail, or come back on the old template",
                tuple(missing),
            )
        )
    # One template name and hypervisor with several ids is the per-zone registration (as acs.upgrade.cs_template_crosszone
    # groups them), whether or not one of the rows was made cross-zone since: CloudStack still takes one row for the region.
    by_name: dict[tuple[str, str], dict[str, set[str]]] = {}
    for template in templates:
        key = (str(template.get("name")), str(template.get("hypervisor") or ""))
        by_name.setdefault(key, {}).setdefault(str(template.get("id")), set()).add(str(template.get("zonename") or template.get("zoneid")))
    duplicated = {key: rows for key, rows in by_name.items() if len(rows) > 1}
    if duplicated:
        found.append(
            Finding(
                "systemvm_template_per_zone",
                BLOCKER,
                "system VM template(s) registered once per zone instead of cross-zone: %s"
                % "; ".join(
                    "%s (%s): %d rows in %s" % (name, hypervisor, len(rows), _names(zone for zones in rows.values() for zone in zones))
                    for (name, hypervisor), rows in sorted(duplicated.items())
                ),
                "repair them first with playbooks/crosszone.yml (detect, then crosszone_remediate=true): CloudStack takes one row for "
                "the whole region, and the other zones cannot recreate their system VMs",
                tuple(name for name, _hypervisor in duplicated),
            )
        )
    return found


def _at_least(version: t.Any, minimum: t.Any) -> bool:
    try:
        return compare_versions(str(version), str(minimum)) >= 0
    except ValueError:
        return False


def _settings(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    settings = cloud.get("settings") or {}
    found = []
    if _true(settings.get("router.version.check", "true")):
        found.append(
            Finding(
                "router_version_check",
                INFO,
                "router.version.check is true: the server sends no command to a router whose template is below the zone's minimum "
                "unless its scripts are the server's",
                "nothing to do: the upgrade checks each router the server would refuse after its live patch and reports it",
            )
        )
    else:
        found.append(
            Finding(
                "router_version_check",
                WARNING,
                "router.version.check is false: the server configures outdated routers as if current, and upgradeRouterTemplate queues nothing",
                "set it back to true after the upgrade; meanwhile a router live-patched to old scripts keeps working on them unnoticed",
            )
        )
    if not _true(settings.get("router.health.checks.enabled", "true")):
        found.append(
            Finding(
                "health_checks",
                WARNING,
                "router.health.checks.enabled is false: CloudStack runs no router health check, so the health gates have nothing to read",
                "enable it (updateConfiguration name=router.health.checks.enabled value=true) before the upgrade, or accept that the gates "
                "report 'not known' instead of healthy (ignore this check)",
            )
        )
    else:
        # "If set to 0, no tests are scheduled" (VirtualNetworkApplianceManager.RouterHealthChecksBasicInterval/AdvancedInterval).
        intervals = ("router.health.checks.basic.interval", "router.health.checks.advanced.interval")
        unscheduled = [name for name in intervals if str(settings.get(name)).strip() == "0"]
        if unscheduled:
            found.append(
                Finding(
                    "health_checks",
                    WARNING,
                    "%s is 0: CloudStack schedules no %s health check on the routers, so their stored results grow old"
                    % (" and ".join(unscheduled), " or ".join(name.split(".")[-2] for name in unscheduled)),
                    "set an interval in minutes (updateConfiguration name=%s value=...) to keep watching the routers after the upgrade; "
                    "the gates ask each router for fresh checks (performfreshchecks) and do not wait for the schedule" % unscheduled[0],
                    tuple(unscheduled),
                )
            )
        fetch = settings.get("router.health.checks.results.fetch.interval")
        found.append(
            Finding(
                "health_checks",
                INFO,
                "router health checks are enabled (basic every %s min, advanced every %s min, results fetched every %s min)"
                % (settings.get("router.health.checks.basic.interval"), settings.get("router.health.checks.advanced.interval"), fetch),
                "nothing to do: the gates ask for fresh checks (performfreshchecks) rather than wait for the next fetch",
            )
        )
    return found


def _targets(fleet: t.Mapping[str, t.Any]) -> dict[str, str]:
    """Every object id an upgrade acts on, with its name."""
    names = {}
    for vm in list(fleet.get("routers") or []) + list(fleet.get("systemvms") or []):
        names[vm["id"]] = vm.get("name") or vm["id"]
    networks = {network["id"]: network for network in fleet.get("networks") or []}
    for unit in fleet.get("units") or []:
        names[unit["id"]] = unit.get("name") or unit["id"]
        # A restartNetwork on a VPC tier acts on the VPC's routers: its job names the tier, not the VPC.
        for tier in unit.get("tiers") or []:
            names[tier] = "tier %s of VPC %s" % (networks.get(tier, {}).get("name") or tier, names[unit["id"]])
    return names


def _jobs(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    jobs = list(cloud.get("jobs") or [])
    targets = _targets(fleet)
    # The jobs the run's journal records as submitted and not ended: an interrupted attempt's, which the run adopts.
    own = set(cloud.get("journal_jobs") or ())
    adopted = [job for job in jobs if job.get("jobid") in own]
    found = []
    on_targets = [job for job in jobs if job.get("jobinstanceid") in targets and job.get("jobid") not in own]
    if on_targets:
        found.append(
            Finding(
                "jobs_in_flight",
                BLOCKER,
                "%d async job(s) in flight on objects to upgrade: %s"
                % (
                    len(on_targets),
                    _names(
                        "%s on %s (%s, since %s)" % (job.get("cmd", "").rsplit(".", 1)[-1], targets[job["jobinstanceid"]], job.get("jobid"), job.get("created"))
                        for job in on_targets
                    ),
                ),
                "wait for these jobs to end (listAsyncJobs) or find who runs them: a second action on the same object while one is in flight "
                "is what the upgrade must never do",
                tuple(targets[job["jobinstanceid"]] for job in on_targets),
            )
        )
    # PatchSystemVMCmd records no job instance: such a job may be on any system VM, one of those to upgrade among them. The
    # run waits for the jobs it cannot place before it acts (_engine's anonymous jobs), so they delay it, they do not stop it.
    patches = [
        job for job in jobs if not job.get("jobinstanceid") and str(job.get("cmd") or "").endswith(".PatchSystemVMCmd") and job.get("jobid") not in own
    ]
    if patches and fleet.get("systemvms"):
        found.append(
            Finding(
                "jobs_in_flight",
                WARNING,
                "%d patchSystemVm job(s) in flight (%s): CloudStack records no system VM for them, so they may be on a system VM to upgrade"
                % (len(patches), _names("%s, since %s" % (job.get("jobid"), job.get("created")) for job in patches)),
                "nothing to do, or find who runs them (their system VM is named only in the management server's log): the run waits for "
                "these jobs to end before it acts",
                tuple(str(job.get("jobid")) for job in patches),
            )
        )
    if adopted:
        found.append(
            Finding(
                "jobs_in_flight",
                INFO,
                "%d job(s) that an interrupted attempt of this run started are still in flight (its journal): %s"
                % (len(adopted), _names("%s on %s (%s)" % (job.get("cmd", "").rsplit(".", 1)[-1], targets.get(job.get("jobinstanceid"), "?"), job.get("jobid"))
                                        for job in adopted)),
                "nothing to do: the run follows these jobs to their end instead of acting on their objects again",
                tuple(str(job.get("jobid")) for job in adopted),
            )
        )
    # Only a server that is Up runs jobs (the one that answered is, when the servers could not be listed).
    servers = max(1, sum(1 for server in cloud.get("managementservers") or [] if server.get("state") == "Up"))
    pool = JOB_POOL_PER_SERVER * servers
    if len(jobs) > pool * JOB_BACKLOG_SHARE:
        found.append(
            Finding(
                "job_backlog",
                WARNING,
                "%d async jobs are pending on the management server(s), more than half of their job pools (%d threads: %d per server Up)"
                % (len(jobs), pool, JOB_POOL_PER_SERVER),
                "start when the backlog has gone down, or lower the upgrade's parallel: its jobs would queue behind these",
            )
        )
    return found


def _regressions(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    """The release's known live-patch regressions (_matrix.livepatch_regression, the table the plan decides by), with the
    routers each one affects."""
    version = str(fleet.get("version") or "")
    minimum = cloud.get("min_template") or {}
    affected: dict[str, list[str]] = collections.defaultdict(list)
    for router in fleet.get("routers") or []:
        why = livepatch_regression(version, router.get("version"), minimum.get(router.get("zoneid")))
        if why:
            affected[why].append(str(router.get("name")))
    found = [
        Finding(
            "known_regression",
            WARNING,
            "management server %s: %s; %d router(s) affected (%s)" % (version, why, len(names), _names(names)),
            "nothing to do before the run: the plan gives these routers the path that works on %s (a recreate from the current "
            "template) and names the issue in their reason" % version,
            tuple(names),
        )
        for why, names in sorted(affected.items())
    ]
    # Before 4.18.2.0 restartVPC live-patches a VPC's routers once per Implemented tier (apache/cloudstack#7958): a VPC
    # whose tiers are all Allocated/Shutdown is not patched although its job succeeds.
    networks = {network["id"]: network for network in fleet.get("networks") or []}
    idle_vpcs = [
        str(unit.get("name"))
        for unit in fleet.get("units") or []
        if unit.get("kind") == "vpc"
        and unit.get("tiers")
        and is_valid_version(version)
        and not vpc_tiers_livepatchable([networks.get(tier, {}).get("state") for tier in unit["tiers"]], version)
    ]
    if idle_vpcs:
        found.append(
            Finding(
                "known_regression",
                WARNING,
                "management server %s live-patches a VPC's routers once per Implemented tier (fixed by apache/cloudstack#7958 in %s): "
                "%d VPC(s) have no Implemented tier, so restartVPC would patch nothing (%s)"
                % (version, VPC_IDLE_TIERS_PATCHED_SINCE, len(idle_vpcs), _names(idle_vpcs)),
                "nothing to do before the run: the plan recreates their routers instead of live-patching them",
                tuple(idle_vpcs),
            )
        )
    listed = [regression for regression in KNOWN_REGRESSIONS if _release_of(version) in regression.releases] if is_valid_version(version) else []
    if listed and not found:
        found.append(
            Finding(
                "known_regression",
                INFO,
                "management server %s has %s, which affects routers on a template below their zone's minimum: none here"
                % (version, ", ".join(regression.issue for regression in listed)),
                "nothing to do",
            )
        )
    return found


def _routers(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any]) -> list[Finding]:
    found = []
    routers = list(fleet.get("routers") or [])
    by_unit: dict[str, list[dict[str, t.Any]]] = collections.defaultdict(list)
    for router in routers:
        if router.get("isredundantrouter") and router.get("state") == "Running":
            by_unit[router.get("vpcid") or router.get("guestnetworkid") or router["id"]].append(router)
    units = {unit["id"]: unit.get("name") for unit in fleet.get("units") or []}
    odd = []
    for unit, members in sorted(by_unit.items()):
        states = sorted(str(router.get("redundantstate")) for router in members)
        if len(members) > 1 and states != ["BACKUP"] * (len(members) - 1) + ["PRIMARY"]:
            odd.append("%s (%s)" % (units.get(unit, unit), ", ".join("%s %s" % (router.get("name"), router.get("redundantstate")) for router in members)))
    if odd:
        found.append(
            Finding(
                "redundant_pair_state",
                WARNING,
                "redundant router pair(s) not in one PRIMARY and BACKUP: %s" % _names(odd),
                "find why (keepalived, the link between the pair) before the upgrade: the upgrade patches the BACKUP first and the pair "
                "hands over once; with two PRIMARYs or none the network is already degraded",
                tuple(odd),
            )
        )
    moving = [router for router in routers if router.get("state") not in ROUTER_STEADY]
    if moving:
        found.append(
            Finding(
                "router_state",
                WARNING,
                "router(s) in a transitional state: %s" % _names("%s (%s)" % (router.get("name"), router.get("state")) for router in moving),
                "wait until they are Running or Stopped: an action on a router that is starting, stopping or migrating fails",
                tuple(router.get("name") for router in moving),
            )
        )
    stopped = [router for router in routers if router.get("state") == "Stopped"]
    if stopped:
        found.append(
            Finding(
                "router_state",
                INFO,
                "%d router(s) are Stopped: %s" % (len(stopped), _names(router.get("name") for router in stopped)),
                "nothing to do: a restart of their network would start them, so the plan leaves a network whose routers are all Stopped "
                "alone; they take the current scripts when they are next started",
                tuple(router.get("name") for router in stopped),
            )
        )
    networks = {network["id"]: network for network in fleet.get("networks") or []}
    idle = sorted(
        {
            "%s (%s)" % (networks[router["guestnetworkid"]].get("name"), networks[router["guestnetworkid"]].get("state"))
            for router in routers
            if not router.get("vpcid")
            and router.get("guestnetworkid") in networks
            and networks[router["guestnetworkid"]].get("state") not in (None,) + NETWORK_RESTARTABLE
        }
    )
    if idle:
        found.append(
            Finding(
                "network_state",
                WARNING,
                "network(s) with routers that are not Implemented or Setup: %s" % _names(idle),
                "restartNetwork refuses them (431): the plan skips them; implement them (start a VM in them) or leave them for later",
                tuple(idle),
            )
        )
    return found


_RULES: tuple[t.Callable[[t.Mapping[str, t.Any], t.Mapping[str, t.Any]], list[Finding]], ...] = (
    _management_servers,
    _hosts,
    _templates,
    _settings,
    _jobs,
    _regressions,
    _routers,
)


def run_checks(fleet: t.Mapping[str, t.Any], cloud: t.Mapping[str, t.Any], ignore: t.Iterable[str] = ()) -> dict[str, t.Any]:
    """Every finding of every check, the counts per severity and whether the run may start (no blocker left)."""
    ignored = set(check_ignore_list(ignore))
    findings = [finding for rule in _RULES for finding in rule(fleet, cloud)]
    rank = {severity: index for index, severity in enumerate(SEVERITIES)}
    findings.sort(key=lambda finding: (rank[finding.severity], finding.check))
    results = [finding.as_dict(ignored=finding.check in ignored and finding.severity != INFO) for finding in findings]
    counts = {severity: sum(1 for item in results if item["severity"] == severity and not item["ignored"]) for severity in SEVERITIES}
    counts["ignored"] = sum(1 for item in results if item["ignored"])
    blockers = [item for item in results if item["severity"] == BLOCKER and not item["ignored"]]
    return {
        "ms_version": fleet.get("version"),
        "checked_at": cloud.get("read_at"),
        "passed": not blockers,
        "counts": counts,
        "ignored_checks": sorted(ignored),
        "findings": results,
        "blockers": blockers,
    }


def summary_lines(result: t.Mapping[str, t.Any]) -> list[str]:
    """The preflight as lines for the top of plan.txt and the job output."""
    counts = result.get("counts") or {}
    lines = [
        "Preflight: %s - %d blocker(s), %d warning(s), %d ignored"
        % ("PASSED" if result.get("passed") else "BLOCKED", counts.get(BLOCKER, 0), counts.get(WARNING, 0), counts.get("ignored", 0))
    ]
    for item in result.get("findings") or []:
        if item["severity"] == INFO:
            continue
        lines.append("  [%s%s] %s: %s" % (item["severity"], ", ignored" if item["ignored"] else "", item["check"], item["found"]))
        lines.append("      what to do: %s" % item["action"])
    return lines
