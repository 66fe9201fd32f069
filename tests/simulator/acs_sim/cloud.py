# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The simulated cloud: its objects, how they look through the API, and what the async operations do to them.

One re-entrant lock guards every object. Operations take it to read or change state and release it around
backend calls and waits, so a slow backend never stalls the API.
"""
from __future__ import annotations

import copy
import itertools
import random
import threading
import time
import uuid
from typing import Any

from acs_sim.backends.base import Backend, PatchResult
from acs_sim.faults import FaultBook, validate
from acs_sim.jobs import COMMAND_CLASSES, JOBS_WITHOUT_INSTANCE, Job, JobCancelled, JobFailure, JobManager
from acs_sim.regressions import PYTHON3_FAILURE, livepatch_keeps_old_checksum, python3_payload_breaks
from acs_sim.releases import release, template_name
from acs_sim.render import cs_date, drop_none, utc_offset
from acs_sim.spec import version_tuple

NAMESPACE = uuid.UUID("0b5e0d7e-3f7a-4f2b-9a55-5a1d2f0c4e11")

# Health check names as a real server reports them (VirtualNetworkApplianceManagerImpl, 4.18.0.0): the router's scripts
# by file name, its monitored services as "<service>.service", and the server's own two checks.
BASIC_CHECKS = ("cpu_usage_check.py", "memory_usage_check.py", "disk_space_check.py", "gateways_check.py", "router_version_check.py")
ADVANCED_CHECKS = ("dhcp_check.py", "dns_check.py", "haproxy_check.py", "iptables_check.py")
# The services monitorServices.py watches, reported as "<service>.service" (monitorServices.py monitProcess, 4.18.0.0): ssh
# (isDefault) and apache2 on every router, dnsmasq and haproxy where the network has DHCP/DNS and LB
# (monitoring_services rows of schema-421to430.sql; VirtualNetworkApplianceManagerImpl.finalizeMonitorService, 4.18.0.0).
SERVICE_CHECKS = ("ssh.service", "dnsmasq.service", "haproxy.service", "apache2.service")
SERVER_CHECKS = ("connectivity.test", "filesystem.writable.test")
ROUTER_VERSION_CHECK = "router_version_check.py"
# QueryManagerImpl.listRouterHealthChecks (4.18.0.0), when the database holds no result for the router.
NO_RESULTS = ("No health check results found for the router. This could happen for a newly created router. Please wait for periodic results "
              "to populate or manually call for checks to execute.")

# Wall-clock seconds of each step on a real cloud, before --time-factor: [min, max] (uniform) or a fixed number.
# A management server runs API jobs on db.cloud.maxActive / 2 threads (AsyncJobManagerImpl.configure, 4.18.0.0), and
# db.cloud.maxActive is 250 in the db.properties it ships: 125 jobs run at once, the others queue.
DEFAULT_JOB_WORKERS = 125

DEFAULT_DURATIONS: dict[str, Any] = {
    "patch_systemvm": [20, 40],
    "livepatch_router": [10, 20],
    "restart_rules": [5, 10],
    "router_deploy": [60, 90],
    "router_destroy": [10, 20],
    "vm_stop": [15, 30],
    "vm_start": [40, 70],
    "systemvm_destroy": [10, 20],
    "systemvm_respawn": [20, 40],
    "systemvm_boot": [60, 90],
    "migrate": [20, 40],
    # getRouterHealthCheckResults with performfreshchecks runs every check on the router inside the request.
    "fresh_health_checks": [5, 15],
    # A booted or patched SSVM/CPVM: from Running until its agent's host record is Up (it is Connecting meanwhile).
    "agent_connect": [5, 15],
}

# The steps one job of a command waits on its usual path (a restart: the live patch), for the durations of a topology's
# jobs.history (a snapshot's listAsyncJobs history: {command: {samples: [{seconds, routers}]}}). A job of a command with
# samples draws one, and every step it waits is scaled so that these steps' expected sum is that duration; a job that takes
# another path (a restart with cleanup) is scaled the same. A command without samples keeps DEFAULT_DURATIONS.
HISTORY_STEPS: dict[str, tuple[str, ...]] = {
    "patchSystemVm": ("patch_systemvm",),
    "restartNetwork": ("livepatch_router", "restart_rules"),
    "restartVPC": ("livepatch_router", "restart_rules"),
    "rebootRouter": ("vm_stop", "vm_start"),
    "rebootSystemVm": ("vm_stop", "vm_start"),
    "stopRouter": ("vm_stop",),
    "startRouter": ("vm_start",),
    "stopSystemVm": ("vm_stop",),
    "startSystemVm": ("vm_start",),
    "destroySystemVm": ("systemvm_destroy", "systemvm_respawn", "systemvm_boot"),
    "destroyRouter": ("router_destroy",),
    "migrateSystemVm": ("migrate",),
}

DEFAULT_CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "router.health.checks.enabled": {"value": "true", "category": "Advanced", "type": "Boolean", "isdynamic": True,
                                     "description": "If true, router health checks are allowed to be executed and read. "
                                                    "If false, all scheduled checks and API calls for on demand checks are disabled."},
    "router.health.checks.basic.interval": {"value": "3", "category": "Advanced", "type": "Integer", "isdynamic": True,
                                            "description": "Interval in minutes at which basic router health checks are performed. "
                                                           "If set to 0, no tests are scheduled."},
    "router.health.checks.advanced.interval": {"value": "10", "category": "Advanced", "type": "Integer", "isdynamic": True,
                                               "description": "Interval in minutes at which advanced router health checks are performed. "
                                                              "If set to 0, no tests are scheduled."},
    "router.health.checks.to.exclude": {"value": "", "category": "Advanced", "type": "String", "isdynamic": True,
                                        "description": "Health checks that should be excluded when executing scheduled checks on the router."},
    "router.version.check": {"value": "true", "category": "Advanced", "type": "Boolean", "isdynamic": False,
                             "description": "If true, router minimum required version is checked before sending command"},
    "default.page.size": {"value": "500", "category": "Advanced", "type": "Long", "isdynamic": False,
                          "description": "Default page size for API list* commands"},
    # VirtualNetworkApplianceManagerImpl.configure/start (4.18.0.0): CheckRouterTask runs every router.check.interval
    # seconds (default 30, read once at start) and is the only writer of a redundant router's redundantstate.
    "router.check.interval": {"value": "30", "category": "Advanced", "type": "Integer", "isdynamic": False,
                              "description": "Interval (in seconds) to report redundant router status."},
    # VirtualNetworkApplianceManager.RouterHealthChecksResultFetchInterval (4.18.0.0): minutes, default 10; the
    # FetchRouterHealthChecksResultTask copies every Running router's results into the database at that rate.
    "router.health.checks.results.fetch.interval": {"value": "10", "category": "Advanced", "type": "Integer", "isdynamic": False,
                                                    "description": "Interval in minutes at which router health checks results are fetched by "
                                                                   "management server. On each result fetch, management server evaluates need to "
                                                                   "recreate VR as per configuration of 'router.health.checks.failures.to.recreate.vr'"},
    "system.vm.patch.enabled": {"value": "true", "category": "Advanced", "type": "Boolean", "isdynamic": True,
                                "description": "Whether system VMs and virtual routers may be live patched"},
    # Zone-scoped (NetworkOrchestrationService.MinVRVersion); the upgrade sets it to the new template's version
    # (SystemVmTemplateRegistration), so the default is the server's template version (set in Cloud.__init__).
    "minreq.sysvmtemplate.version": {"value": "", "category": "Advanced", "type": "String", "isdynamic": True, "scope": "zone",
                                     "description": "What version should the Virtual Routers report"},
    # VirtualNetworkApplianceManager.RouterTemplateKvm (zone-scoped, read at 4.18.2.0 154566f914 and 4.20.2.0 4dc3931233): the
    # upgrade writes the name of the template it registers beside minreq.sysvmtemplate.version
    # (SystemVmTemplateRegistration.registerTemplate: RouterTemplateConfigurationNames, NewTemplateNameList from metadata.ini), for
    # each hypervisor in use; the simulated clusters are KVM only. Set in Cloud.__init__.
    "router.template.kvm": {"value": "", "category": "Advanced", "type": "String", "isdynamic": True, "scope": "zone",
                            "description": "Name of the default router template on KVM."},
}

NETWORK_STATES = ("Allocated", "Setup", "Implemented", "Shutdown")
# Host (agent) states a topology may give (com.cloud.host.Status); only Up hosts take commands or new VMs.
HOST_STATES = ("Up", "Connecting", "Disconnected", "Down", "Alert")
# Host resource states a topology may give (com.cloud.resource.ResourceState); the planner places VMs on Enabled hosts only.
HOST_RESOURCE_STATES = ("Enabled", "Disabled", "PrepareForMaintenance", "ErrorInPrepareForMaintenance", "Maintenance", "ErrorInMaintenance", "Error")
# NetworkHelperImpl.sendCommandsToRouter (4.17.0.0-4.20.2.0) throws this when checkRouterVersion is false.
ROUTER_REQUIRES_UPGRADE = "Unable to send command. Router requires upgrade"

ROLE_NAMES = {1: ("Admin", "Root Admin"), 2: ("DomainAdmin", "Domain Admin"), 0: ("User", "User")}
ACCOUNT_TYPES = {"admin": 1, "domainadmin": 2, "user": 0}
# Account.Type.PROJECT (4.18.0.0): a project owns its resources through an account of this type.
PROJECT_ACCOUNT = 5


def oid(kind: str, key: object) -> str:
    """Stable ids for topology objects, so a topology file always yields the same uuids."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


class TopologyError(ValueError):
    pass


class Cloud:
    def __init__(self, topology: dict[str, Any], backend: Backend, time_factor: float = 1.0, saved: dict[str, Any] | None = None,
                 workers: int | None = None) -> None:
        self.lock = threading.RLock()
        self.backend = backend
        self.time_factor = float(time_factor)
        ms = topology.get("managementserver") or {}
        self.ms_version = str(ms.get("version", "4.18.0.0"))
        # The zone of the server's JVM: the dates it renders carry its offset, and it reads a DATE parameter such as
        # listAsyncJobs' startdate as midnight there (ParamProcessWorker parses "yyyy-MM-dd" in the default zone).
        self.utc_offset = utc_offset(ms.get("utc_offset", 0))
        # The release's system VM template (acs_sim/releases.py, read at the release commits): 4.18.2.0 ships 4.18.1, 4.19.2.0
        # and 4.19.3.0 ship 4.19.1. A topology may pin it (systemvm_template); a version outside the table must.
        self.release = None if "systemvm_template" in ms else release(self.ms_version)
        self.template_version = str(ms["systemvm_template"]) if self.release is None else self.release.minreq
        # Templates registered by hand may be named anything: "{version}" in the name is optional. The default is
        # templateConfig.sh's name for KVM (systemvm-kvm-4.18.1; from 4.20 systemvm-kvm-4.20.0-x86_64).
        self.template_name = str(ms["template_name"]) if "template_name" in ms else None
        self.random = random.Random(topology.get("seed", 0))
        jobs_cfg = topology.get("jobs") or {}
        self.durations = {**DEFAULT_DURATIONS, **(jobs_cfg.get("durations") or {})}
        self.jobs = JobManager(int(workers or jobs_cfg.get("workers") or DEFAULT_JOB_WORKERS))
        self.jobs.utc_offset = self.utc_offset
        self.history = {command: [float(sample["seconds"]) for sample in (entry.get("samples") or [])]
                        for command, entry in (jobs_cfg.get("history") or {}).items() if command in HISTORY_STEPS}
        self.jobs.scale_for = self.history_scale
        self.faults = FaultBook(topology.get("seed", 0))
        self._instance = itertools.count(1)
        self.domains: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, str]] = {}
        self.zones: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, dict[str, Any]] = {}
        self.clusters: dict[str, dict[str, Any]] = {}
        self.hosts: dict[str, dict[str, Any]] = {}
        self._zone_hosts: dict[str, list[dict[str, Any]]] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        self.vpcs: dict[str, dict[str, Any]] = {}
        self.vms: dict[str, dict[str, Any]] = {}
        self.configurations: dict[str, dict[str, Any]] = copy.deepcopy(DEFAULT_CONFIGURATIONS)
        self.configurations["minreq.sysvmtemplate.version"]["value"] = self.template_version
        self.configurations["router.template.kvm"]["value"] = self._template(self.template_version)[1]
        self.ms_id = oid("managementserver", "ms1")
        # The other management servers of the cluster (listManagementServers): name, version (default this one's), state.
        self.peer_servers = [
            {"id": oid("managementserver", peer.get("name", f"ms{index + 2}")), "name": str(peer.get("name", f"management-server-{index + 2}")),
             "version": str(peer.get("version", self.ms_version)), "state": str(peer.get("state", "Up"))}
            for index, peer in enumerate(ms.get("peers") or [])
        ]
        self.started = time.time()
        self._build(topology)
        if saved:
            self._restore(saved)

    # ------------------------------------------------------------------ persistence (--state-dir)
    _SAVED_TABLES = ("domains", "accounts", "projects", "zones", "pods", "clusters", "hosts", "networks", "vpcs", "vms", "configurations")

    def dump(self) -> dict[str, Any]:
        """The objects as they are now (jobs excluded: a restarted management server forgets running jobs)."""
        with self.lock:
            saved: dict[str, Any] = {name: copy.deepcopy(getattr(self, name)) for name in self._SAVED_TABLES}
            for vm in saved["vms"].values():
                if "failing" in vm:
                    vm["failing"] = sorted(vm["failing"])
            saved["ms_version"] = self.ms_version
            saved["next_instance"] = max((vm["instance"] for vm in self.vms.values()), default=0) + 1
            return saved

    def _restore(self, saved: dict[str, Any]) -> None:
        if saved.get("ms_version") != self.ms_version:
            raise TopologyError(f"the saved state is of a {saved.get('ms_version')} management server, the topology says {self.ms_version}: "
                                "remove the state directory's cloud.json to start from the topology")
        for name in self._SAVED_TABLES:
            setattr(self, name, saved.get(name, {}))
        for vm in self.vms.values():
            if "failing" in vm:
                vm["failing"] = set(vm["failing"])
            if vm["type"] == "router":
                vm.setdefault("health_api", copy.deepcopy(vm.get("health", {})))
                vm.setdefault("fetched_at", time.time())
                vm.setdefault("rs_api", vm["redundantstate"])
            else:
                vm.setdefault("agent_up_at", 0.0)
        self._zone_hosts = {}
        for host in self.hosts.values():
            self._zone_hosts.setdefault(host["zoneid"], []).append(host)
        self._instance = itertools.count(saved["next_instance"])

    # ------------------------------------------------------------------ topology
    def _build(self, topo: dict[str, Any]) -> None:
        self._add_domain("ROOT", None, topo.get("root_domain_id"))
        for dom in topo.get("domains") or []:
            parent = self._domain_by_ref(dom.get("parent", "ROOT"))
            self._add_domain(dom["name"], parent, dom.get("id"))
        self._add_account({"name": "admin", "domain": "ROOT", "type": "admin", "id": topo.get("admin_account_id")})
        for acc in topo.get("accounts") or []:
            self._add_account(acc)
        for project in topo.get("projects") or []:
            self._add_project(project)
        self._add_keys(topo.get("keys") or {})
        for name, value in (topo.get("configurations") or {}).items():
            self.configurations.setdefault(name, {"category": "Advanced", "type": "String", "isdynamic": True, "description": name})
            self.configurations[name]["value"] = str(value).lower() if isinstance(value, bool) else str(value)
        for zone in topo.get("zones") or []:
            self._add_zone(zone)
        for net in topo.get("networks") or []:
            self._add_network(net)
        for vpc in topo.get("vpcs") or []:
            self._add_vpc(vpc)
        for fault in topo.get("faults") or []:
            self.inject(fault)

    def _add_domain(self, name: str, parent: dict[str, Any] | None, domain_id: str | None = None) -> None:
        path = name if parent is None else f"{parent['path']}/{name}"
        dom = {"id": domain_id or oid("domain", path), "name": name, "path": path, "parentid": parent["id"] if parent else None,
               "level": 0 if parent is None else parent["level"] + 1}
        self.domains[dom["id"]] = dom

    def _domain_by_ref(self, ref: str) -> dict[str, Any]:
        for dom in self.domains.values():
            if ref in (dom["path"], dom["id"]):
                return dom
        matches = [d for d in self.domains.values() if d["name"] == ref]
        if len(matches) == 1:
            return matches[0]
        raise TopologyError(f"domain {ref!r} is not defined (or ambiguous): define it under domains: or use its full path like ROOT/customers")

    def _add_account(self, acc: dict[str, Any]) -> None:
        dom = self._domain_by_ref(acc.get("domain", "ROOT"))
        kind = acc.get("type", "user")
        if kind not in ACCOUNT_TYPES:
            raise TopologyError(f"account {acc['name']}: type must be one of {sorted(ACCOUNT_TYPES)}")
        account = {"id": acc.get("id") or oid("account", f"{dom['path']}/{acc['name']}"), "name": acc["name"], "domainid": dom["id"],
                   "type": ACCOUNT_TYPES[kind]}
        self.accounts[account["id"]] = account

    def _add_project(self, spec: dict[str, Any]) -> None:
        """A project and the account that owns its resources (ProjectManagerImpl.createProject, 4.18.0.0: an account of
        type PROJECT named "PrjAcct-<name>-<id>")."""
        dom = self._domain_by_ref(spec.get("domain", "ROOT"))
        pid = spec.get("id") or oid("project", f"{dom['path']}/{spec['name']}")
        account = {"id": oid("account", f"project:{dom['path']}/{spec['name']}"), "name": f"PrjAcct-{spec['name']}-{list(self.domains).index(dom['id']) + 1}",
                   "domainid": dom["id"], "type": PROJECT_ACCOUNT, "projectid": pid}
        self.accounts[account["id"]] = account
        self.projects[pid] = {"id": pid, "name": spec["name"], "domainid": dom["id"], "accountid": account["id"]}

    def project_by_ref(self, ref: str) -> dict[str, Any]:
        for project in self.projects.values():
            if ref in (project["id"], project["name"]):
                return project
        raise TopologyError(f"project {ref!r} is not defined under projects: in the topology")

    def account_by_ref(self, ref: str) -> dict[str, Any]:
        matches = [a for a in self.accounts.values() if ref in (a["id"], a["name"]) and a["type"] != PROJECT_ACCOUNT]
        if len(matches) != 1:
            raise TopologyError(f"account {ref!r} is not defined (or ambiguous) in the topology")
        return matches[0]

    def _add_keys(self, keys: dict[str, Any]) -> None:
        defaults = {"admin": {"apikey": "admin-apikey-acs-sim", "secretkey": "admin-secretkey-acs-sim", "account": "admin"},
                    "user": {"apikey": "user-apikey-acs-sim", "secretkey": "user-secretkey-acs-sim"}}
        merged = {**defaults, **keys}
        if "account" not in merged["user"]:
            users = [a for a in self.accounts.values() if a["type"] == 0]
            if not users:
                self._add_account({"name": "user", "domain": "ROOT"})
                users = [a for a in self.accounts.values() if a["type"] == 0]
            merged["user"] = {**merged["user"], "account": users[0]["name"]}
        for label, key in merged.items():
            account = self.account_by_ref(key.get("account", "admin"))
            user = {"id": oid("user", label), "label": label, "apikey": key["apikey"], "secretkey": key["secretkey"],
                    "accountid": account["id"], "admin": account["type"] == 1}
            self.users[user["apikey"]] = user
            self.keys[label] = {"apikey": key["apikey"], "secretkey": key["secretkey"]}

    def _add_zone(self, zone: dict[str, Any]) -> None:
        zid = zone.get("id") or oid("zone", zone["name"])
        settings = {}
        for name, value in (zone.get("configurations") or {}).items():
            if self.configurations.get(name, {}).get("scope") != "zone":
                raise TopologyError(f"zone {zone['name']}: {name} is not a zone-scoped setting (zone-scoped: {', '.join(self.zone_settings())})")
            settings[name] = str(value).lower() if isinstance(value, bool) else str(value)
        # The release's system VM template in this zone: "Ready" (default), or "Downloading" (isready false, listTemplates
        # status "35% Downloaded"); "hypervisors" gives the state of one hypervisor's template ({VMware: Downloading});
        # "per_zone" registers it in this zone as a template of its own (cross_zones=0), the shape the cross-zone seed describes.
        spec = zone.get("systemvm_template") or {}
        template_states = {"": str(spec.get("state", "Ready")), **{str(hv).lower(): str(state) for hv, state in (spec.get("hypervisors") or {}).items()}}
        for hypervisor, template_state in template_states.items():
            if template_state not in ("Ready", "Downloading"):
                raise TopologyError(f"zone {zone['name']}: systemvm_template state{' of ' + hypervisor if hypervisor else ''} must be Ready or "
                                    f"Downloading, got {template_state}")
        self.zones[zid] = {"id": zid, "name": zone["name"], "configurations": settings, "template_state": template_states[""],
                           "template_states": template_states, "template_per_zone": bool(spec.get("per_zone", False))}
        pods = zone.get("pods") or [{"name": f"{zone['name']}-pod1"}]
        for p_index, pod in enumerate(pods):
            pid = pod.get("id") or oid("pod", f"{zone['name']}/{pod['name']}")
            self.pods[pid] = {"id": pid, "name": pod["name"], "zoneid": zid, "index": p_index}
            for cluster in pod.get("clusters") or [{"name": f"{pod['name']}-cluster1"}]:
                cid = cluster.get("id") or oid("cluster", f"{zone['name']}/{cluster['name']}")
                self.clusters[cid] = {"id": cid, "name": cluster["name"], "podid": pid, "zoneid": zid}
                for host in cluster.get("hosts") or [f"{cluster['name']}-host1"]:
                    spec = {"name": host} if isinstance(host, str) else host
                    hname = spec["name"]
                    hid = spec.get("id") or oid("host", f"{zone['name']}/{hname}")
                    # The agent's version (cloudstack-agent package) per host, or per cluster (agent_version), else the
                    # server's: a host whose agent is not upgraded yet keeps the old one, and its payload with it.
                    version = str(spec.get("version") or cluster.get("agent_version") or self.ms_version)
                    status = str(spec.get("state", "Up"))
                    if status not in HOST_STATES:
                        raise TopologyError(f"host {hname}: state must be one of {', '.join(HOST_STATES)}")
                    resourcestate = str(spec.get("resourcestate", "Enabled"))
                    if resourcestate not in HOST_RESOURCE_STATES:
                        raise TopologyError(f"host {hname}: resourcestate must be one of {', '.join(HOST_RESOURCE_STATES)}")
                    self.hosts[hid] = {"id": hid, "name": hname, "clusterid": cid, "podid": pid, "zoneid": zid, "version": version, "status": status,
                                       "resourcestate": resourcestate,
                                       "hypervisor": str(spec.get("hypervisor", "KVM")),
                                       "ipaddress": f"10.{len(self.zones)}.{p_index}.{len(self.hosts) % 250 + 2}", "created": self.date(self.started)}
                    self._zone_hosts.setdefault(zid, []).append(self.hosts[hid])
        sysvm = zone.get("systemvms") or {}
        version = str(sysvm.get("version", self.template_version))
        for kind, prefix in (("secondarystoragevm", "s"), ("consoleproxy", "v")):
            spec = sysvm.get(kind) or {}
            self._new_vm(kind, zid, name_prefix=prefix, version=str(spec.get("version", version)), state=spec.get("state", sysvm.get("state", "Running")),
                         softwareversion=spec.get("softwareversion"), key=f"{zone['name']}/{kind}", vm_id=spec.get("id"), name=spec.get("name"),
                         host=spec.get("host"))

    def zone_by_ref(self, ref: str) -> dict[str, Any]:
        for zone in self.zones.values():
            if ref in (zone["id"], zone["name"]):
                return zone
        raise TopologyError(f"zone {ref!r} is not defined in the topology")

    def _add_network(self, net: dict[str, Any], vpc: dict[str, Any] | None = None) -> dict[str, Any]:
        zone = self.zone_by_ref(net.get("zone") or (vpc and self.zones[vpc["zoneid"]]["name"]))
        if vpc is not None:
            account = self.accounts[vpc["accountid"]]
        else:
            account = self._owner_account(net)
        ntype = net.get("type", "Isolated")
        if ntype not in ("Isolated", "Shared"):
            raise TopologyError(f"network {net['name']}: type must be Isolated or Shared")
        index = len(self.networks) + 1
        network = {"id": net.get("id") or oid("network", f"{zone['name']}/{net['name']}"), "name": net["name"], "zoneid": zone["id"],
                   "accountid": account["id"], "type": ntype, "vpcid": vpc["id"] if vpc else None, "redundant": bool(net.get("redundant", False)),
                   "cidr": net.get("cidr", f"10.{100 + index // 250}.{index % 250}.0/24"), "created": self.date(self.started),
                   "has_router": vpc is None and net.get("router", True), "state": net.get("state", "Implemented")}
        if network["state"] not in NETWORK_STATES:
            raise TopologyError(f"network {net['name']}: state must be one of {', '.join(NETWORK_STATES)}")
        self.networks[network["id"]] = network
        if vpc is None:
            self._add_routers(net.get("routers"), network, None)
        return network

    def _owner_account(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The account owning a network or VPC of the topology: its project's account (``project: NAME``) or ``account``."""
        if spec.get("project"):
            return self.accounts[self.project_by_ref(spec["project"])["accountid"]]
        return self.account_by_ref(spec.get("account", "admin"))

    def _add_vpc(self, spec: dict[str, Any]) -> None:
        zone = self.zone_by_ref(spec["zone"])
        account = self._owner_account(spec)
        vpc = {"id": spec.get("id") or oid("vpc", f"{zone['name']}/{spec['name']}"), "name": spec["name"], "zoneid": zone["id"], "accountid": account["id"],
               "redundant": bool(spec.get("redundant", False)), "cidr": spec.get("cidr", "10.200.0.0/16"), "created": self.date(self.started),
               "tiers": []}
        self.vpcs[vpc["id"]] = vpc
        for t_index, tier in enumerate(spec.get("tiers") or []):
            tier_spec = {"name": tier} if isinstance(tier, str) else dict(tier)
            tier_spec.setdefault("cidr", f"{vpc['cidr'].rsplit('.', 2)[0]}.{t_index + 1}.0/24")
            vpc["tiers"].append(self._add_network(tier_spec, vpc)["id"])
        self._add_routers(spec.get("routers"), None, vpc)

    def _add_routers(self, routers: list[dict[str, Any]] | None, network: dict[str, Any] | None, vpc: dict[str, Any] | None) -> None:
        owner = network or vpc
        if routers is None:
            routers = [{}] * (2 if owner["redundant"] else 1) if (vpc or network["has_router"]) else []
        if len(routers) > 1 and not owner["redundant"]:
            owner["redundant"] = True
        for index, spec in enumerate(routers):
            redundantstate = spec.get("redundantstate") or (("PRIMARY" if index == 0 else "BACKUP") if owner["redundant"] else "UNKNOWN")
            self._new_vm("router", owner["zoneid"], name_prefix="r", version=str(spec.get("version", self.template_version)),
                         state=spec.get("state", "Running"), softwareversion=spec.get("softwareversion"), scriptsversion=spec.get("scriptsversion"),
                         host=spec.get("host"), network=network, vpc=vpc, redundantstate=redundantstate, name=spec.get("name"),
                         failing=spec.get("failing_checks") or [], key=f"{owner['id']}/{index}", vm_id=spec.get("id"))

    # ------------------------------------------------------------------ VMs
    def _pick_host(self, zoneid: str, ref: str | None = None) -> dict[str, Any]:
        hosts = self._zone_hosts.get(zoneid, [])
        if not hosts:
            raise TopologyError(f"zone {self.zones[zoneid]['name']} has no hosts")
        if ref:
            for host in hosts:
                if ref in (host["id"], host["name"]):
                    return host
            raise TopologyError(f"host {ref!r} is not defined in zone {self.zones[zoneid]['name']}")
        # The deployment planner places a VM on a host that is Up and Enabled (a host in maintenance or disabled takes none); a
        # topology that has none still places it (its jobs fail).
        up = [host for host in hosts if self._takes_vms(host)] or hosts
        return up[self.random.randrange(len(up))]

    @staticmethod
    def _takes_vms(host: dict[str, Any]) -> bool:
        return host.get("status", "Up") == "Up" and host.get("resourcestate", "Enabled") == "Enabled"

    def _start_host(self, vm: dict[str, Any]) -> dict[str, Any]:
        """Where a (re)started VM runs: its last host while that host is Up and Enabled, else one the planner picks."""
        last = self.hosts.get(vm.get("lasthostid") or "")
        return last if last is not None and self._takes_vms(last) else self._pick_host(vm["zoneid"])

    def host_of(self, vm: dict[str, Any]) -> dict[str, Any] | None:
        return self.hosts.get(vm.get("hostid") or vm.get("lasthostid") or "")

    def agent_version(self, vm: dict[str, Any]) -> str:
        """The cloudstack-agent version of the host a VM runs on (the server's when the topology gives none)."""
        host = self.host_of(vm)
        return str(host.get("version") or self.ms_version) if host else self.ms_version

    def agent_unreachable(self, vm: dict[str, Any]) -> str | None:
        """Why a command for this VM cannot reach its host's agent, or None. AgentManagerImpl.send (4.19.3.0): a host whose agent
        is not connected has no attache, "agent not logged into this management server" (AgentUnavailableException, a
        ResourceUnavailableException on Host)."""
        host = self.host_of(vm)
        if host is None or host.get("status", "Up") == "Up":
            return None
        return f"Resource [Host:{host['id']}] is unreachable: Host {host['id']}: agent not logged into this management server"

    def server_scripts_checksum(self) -> str:
        """The checksum of the server's own vms/cloud-scripts.tgz (ChecksumUtil.calculateCurrentChecksum in NetworkHelperImpl)."""
        return self.backend.scripts_checksum(self.ms_version)

    def router_refused(self, vm: dict[str, Any]) -> bool:
        """NetworkHelperImpl.checkRouterVersion (read at 4.17.0.0 c56220fcf2 and 4.19.3.0 0c7d47138d, unchanged to 4.20.2.0): with
        router.version.check true, a router whose template version is below the zone's minreq.sysvmtemplate.version and whose
        recorded scriptsversion is not the checksum of the server's cloud-scripts.tgz gets no command."""
        if vm["type"] != "router" or self.setting("router.version.check").lower() != "true":
            return False
        if not self.template_below_minimum(vm):
            return False
        return vm["scriptsversion"] != self.server_scripts_checksum()

    def _new_vm(self, kind: str, zoneid: str, *, name_prefix: str, version: str, state: str = "Running", softwareversion: str | None = None,
                scriptsversion: str | None = None, host: str | None = None, network: dict[str, Any] | None = None, vpc: dict[str, Any] | None = None,
                redundantstate: str = "UNKNOWN", name: str | None = None, failing: list[str] | None = None, key: str | None = None,
                first_checks_pending: bool = False, vm_id: str | None = None) -> dict[str, Any]:
        instance = next(self._instance)
        placed = self._pick_host(zoneid, host)
        software = softwareversion or (version + ".0" if len(version_tuple(version)) == 3 else version)
        vm = {"id": vm_id or (oid("vm", key) if key else str(uuid.uuid4())), "instance": instance, "name": name or f"{name_prefix}-{instance}-VM", "type": kind,
              "state": state, "zoneid": zoneid, "podid": placed["podid"], "hostid": placed["id"] if state in ("Running", "Starting", "Stopping") else None,
              "lasthostid": placed["id"], "version": version, "softwareversion": software,
              "scriptsversion": scriptsversion or self.backend.scripts_checksum(software),
              "created": self.date(self.created_epoch(version)), "linklocalip": f"169.254.{(instance // 250) % 250}.{instance % 250 + 2}"}
        if kind == "router":
            owner = network or vpc
            vm.update({"role": "VIRTUAL_ROUTER", "redundant": bool(owner["redundant"]), "redundantstate": redundantstate if state == "Running" else "UNKNOWN",
                       "networkid": network["id"] if network else None, "vpcid": vpc["id"] if vpc else None, "accountid": owner["accountid"],
                       "health": {}, "failing": set(failing or [])})
            vm["rs_api"] = vm["redundantstate"]
            vm["health_api"], vm["fetched_at"] = {}, time.time()
            if first_checks_pending:
                # Scheduled from its first boot (_booted): until then it has no results at all.
                vm["health_due"] = {}
            else:
                self._run_health_checks(vm)
                # A router of the topology has been up for a while: the server fetched its results already.
                vm["health_api"] = copy.deepcopy(vm["health"])
        else:
            vm.update({"systemvmtype": kind, "role": None, "redundantstate": None, "networkid": None, "vpcid": None,
                       "accountid": self.account_by_ref("admin")["id"], "agent_up_at": 0.0})
        self.vms[vm["id"]] = vm
        return vm

    def snapshot(self, vm: dict[str, Any]) -> dict[str, Any]:
        """What a backend sees of a VM: a copy, safe to read without the lock."""
        snap = {k: v for k, v in vm.items() if k not in ("health", "failing", "health_due", "health_api", "fetched_at", "rs_api", "rs_changed")}
        snap["networkids"] = self.router_network_ids(vm) if vm["type"] == "router" else []
        return snap

    def router_network_ids(self, vm: dict[str, Any]) -> list[str]:
        if vm.get("vpcid"):
            return list(self.vpcs[vm["vpcid"]]["tiers"])
        return [vm["networkid"]] if vm.get("networkid") else []

    def routers_of(self, network: dict[str, Any] | None = None, vpc: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if vpc is not None:
            return [v for v in self.vms.values() if v["type"] == "router" and v["vpcid"] == vpc["id"]]
        if network is not None and network["vpcid"]:
            return [v for v in self.vms.values() if v["type"] == "router" and v["vpcid"] == network["vpcid"]]
        return [v for v in self.vms.values() if v["type"] == "router" and v["networkid"] == network["id"]]

    def zone_settings(self) -> list[str]:
        return sorted(name for name, cfg in self.configurations.items() if cfg.get("scope") == "zone")

    def setting(self, name: str, zoneid: str | None = None) -> str:
        """A setting's value, the zone's own value first for a zone-scoped one (ConfigKey.valueIn)."""
        zone = self.zones.get(zoneid or "")
        if zone is not None and name in zone.get("configurations", {}):
            return zone["configurations"][name]
        return self.configurations[name]["value"]

    def template_below_minimum(self, vm: dict[str, Any]) -> bool:
        """The template is older than the zone's minreq.sysvmtemplate.version (NetworkHelperImpl.checkRouterTemplateVersion)."""
        return version_tuple(vm["version"]) < version_tuple(self.setting("minreq.sysvmtemplate.version", vm["zoneid"]))

    def requires_upgrade(self, vm: dict[str, Any]) -> bool:
        """listRouters.requiresupgrade (DomainRouterJoinDaoImpl.newDomainRouterResponse, 4.18.0.0): false for a template at or
        above the zone's minimum, otherwise false exactly when the router runs this server's software (after a live patch too)."""
        if not self.template_below_minimum(vm):
            return False
        return vm["softwareversion"] != self.ms_version

    def duration(self, step: str) -> float:
        scale = getattr(self.jobs.local, "scale", None)
        if scale is not None:
            # A job whose duration was drawn from the history (history_scale): its spread is the history's, not the model's.
            return self.mean_duration(step) * scale * self.time_factor
        spec = self.durations.get(step, 1.0)
        seconds = self.random.uniform(float(spec[0]), float(spec[1])) if isinstance(spec, (list, tuple)) else float(spec)
        return seconds * self.time_factor

    def mean_duration(self, step: str) -> float:
        spec = self.durations.get(step, 1.0)
        return (float(spec[0]) + float(spec[1])) / 2 if isinstance(spec, (list, tuple)) else float(spec)

    def history_scale(self, job: Job) -> float | None:
        """How much longer than the default model this job's steps take: a duration drawn from its command's history over
        the expected sum of its steps (HISTORY_STEPS); None for a command without history (DEFAULT_DURATIONS apply)."""
        samples = self.history.get(job.command)
        if not samples:
            return None
        with self.lock:
            drawn = self.random.choice(samples)
        modelled = sum(self.mean_duration(step) for step in HISTORY_STEPS[job.command])
        return drawn / modelled if modelled > 0 else None

    def wait(self, step: str) -> None:
        self.jobs.sleep(self.duration(step))

    # ------------------------------------------------------------------ health checks
    def health_checks_enabled(self) -> bool:
        return self.configurations["router.health.checks.enabled"]["value"].lower() == "true"

    @staticmethod
    def check_name(name: str) -> str:
        """A check named as a real router reports it; the short form of a script (``dns``) means ``dns_check.py``."""
        name = name.strip()
        if name and name not in BASIC_CHECKS + ADVANCED_CHECKS + SERVICE_CHECKS + SERVER_CHECKS and f"{name}_check.py" in BASIC_CHECKS + ADVANCED_CHECKS:
            return f"{name}_check.py"
        return name

    def _run_health_checks(self, vm: dict[str, Any], results: list[dict[str, Any]] | None = None,
                           types: tuple[str, ...] = ("basic", "advanced"), settle: bool = True) -> None:
        """Record a run of the router's health checks of ``types`` on the router (``vm["health"]``), as its periodic monitor
        would; the API shows them only once the server fetched them (:meth:`_settle_fetch`)."""
        if settle:
            # Fetches due before this run copy what the router had then.
            self._settle_fetch(vm)
        now = self.date()
        if results is not None:
            vm["health"] = {r["checkname"]: dict(r) for r in results}
            vm.pop("health_due", None)
            return
        failing = {self.check_name(n) for n in vm["failing"]}
        for fault in self.faults.peek("health_check_failure", {vm["id"], vm["name"]}):
            failing.update(self.check_name(n) for n in fault["checks"])
        excluded = {self.check_name(n) for n in self.configurations["router.health.checks.to.exclude"]["value"].split(",")}
        health = {name: r for name, r in vm["health"].items() if r["checktype"] not in types}
        for checktype, names in (("basic", BASIC_CHECKS + SERVICE_CHECKS + SERVER_CHECKS), ("advanced", ADVANCED_CHECKS)):
            if checktype not in types:
                continue
            for name in names:
                if name in excluded:
                    continue
                if name == ROUTER_VERSION_CHECK:
                    ok, details = self._router_version_check(vm)
                elif name == "ssh.service":
                    ok, details = True, "service is running"
                else:
                    ok, details = True, f"{name} check passed"
                if name in failing:
                    ok, details = False, f"{name} check failed"
                health[name] = {"checkname": name, "checktype": checktype, "success": ok, "lastupdated": now, "details": details}
        vm["health"] = health

    def _interval(self, checktype: str) -> float:
        """Seconds (times --time-factor) between scheduled runs of ``checktype`` checks; 0 minutes schedules none."""
        minutes = float(self.configurations[f"router.health.checks.{checktype}.interval"]["value"] or 0)
        return minutes * 60 * self.time_factor if minutes > 0 else float("inf")

    def _schedule_first_checks(self, vm: dict[str, Any]) -> None:
        """A new router has no results until its first scheduled run of each type."""
        now = time.time()
        vm["health"] = {}
        vm["health_due"] = {checktype: now + self._interval(checktype) for checktype in ("basic", "advanced")}

    def settle_health(self, vm: dict[str, Any]) -> None:
        """Bring a router's results up to now: the fetches due, then its own first scheduled runs (call with the lock held,
        before reading its results)."""
        self._settle_fetch(vm)
        self._settle_router_runs(vm, time.time())

    def _settle_router_runs(self, vm: dict[str, Any], until: float) -> None:
        """Record the first scheduled runs a new router has reached by ``until`` (on the router, not yet in the API)."""
        due = vm.get("health_due")
        if not due:
            return
        ready = tuple(checktype for checktype, at in due.items() if at <= until)
        if ready:
            self._run_health_checks(vm, types=ready, settle=False)
            for checktype in ready:
                del due[checktype]
        if not due:
            vm.pop("health_due", None)

    def _last_tick(self, interval: float) -> float:
        """When the last run of a management-server task scheduled every ``interval`` real seconds (times --time-factor)
        started, counted from the server's start (scheduleAtFixedRate with the interval as first delay); -inf if none."""
        period = interval * self.time_factor
        if period <= 0:
            return float("-inf")
        runs = int((time.time() - self.started) // period)
        return self.started + runs * period if runs > 0 else float("-inf")

    def _settle_fetch(self, vm: dict[str, Any]) -> None:
        """FetchRouterHealthChecksResultTask (VirtualNetworkApplianceManagerImpl, 4.18.0.0): every
        router.health.checks.results.fetch.interval minutes (default 10; 0 schedules none) it takes the Running routers and,
        unless router.health.checks.enabled is false, stores what each router's monitor has; the API (listRouters
        healthcheckresults/healthchecksfailed, getRouterHealthCheckResults without performfreshchecks) reads only that."""
        minutes = float(self.configurations["router.health.checks.results.fetch.interval"]["value"] or 0)
        tick = self._last_tick(minutes * 60)
        if tick <= vm.get("fetched_at", 0.0):
            return
        if self.health_checks_enabled() and vm["state"] == "Running":
            self._settle_router_runs(vm, tick)
            vm["health_api"] = copy.deepcopy(vm["health"])
        vm["fetched_at"] = tick

    def api_health(self, vm: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The results the server has stored for the router (call with the lock held)."""
        self.settle_health(vm)
        return vm["health_api"]

    def _router_version_check(self, vm: dict[str, Any]) -> tuple[bool, str]:
        """router_version_check.py (systemvm/debian/root/health_checks, 4.18.0.0) compares /etc/cloudstack-release and
        /var/cache/cloud/cloud-scripts-signature with the templateVersion/scriptsVersion the server sends in the
        health_checks_data, which are the router's own recorded values (VirtualNetworkApplianceManagerImpl
        .getRouterVersionHealthChecksData: router.getTemplateVersion(), router.getScriptsVersion()). The router matches
        its own record, so an outdated router passes (the simulator keeps one value for both: it always matches)."""
        return True, "Template and scripts version match successful"

    def health_failed(self, vm: dict[str, Any]) -> bool:
        return any(not r["success"] for r in self.api_health(vm).values())

    def fresh_health_checks(self, vm: dict[str, Any]) -> None:
        """Run every check now, inside the request (it takes a while on a real router: fresh_health_checks duration)."""
        snap = self.snapshot(vm)
        self.jobs.sleep(self.duration("fresh_health_checks"))
        results = self.backend.health_checks(snap, fresh=True)
        with self.lock:
            self._run_health_checks(vm, results)
            vm.pop("health_due", None)
            # performRouterHealthChecks stores the fresh answer at once (updateDbHealthChecksFromRouterResponse).
            vm["health_api"] = copy.deepcopy(vm["health"])
            if results is None:
                # This run showed the injected failure: it counts against the fault's count.
                self.faults.take(["health_check_failure"], None, {vm["id"], vm["name"]})

    # ------------------------------------------------------------------ faults
    def inject(self, spec: dict[str, Any]) -> dict[str, Any]:
        fault = self.faults.add(validate(spec))
        if fault["kind"] == "health_check_failure":
            with self.lock:
                for vm in self.vms.values():
                    if vm["type"] == "router" and "health_due" not in vm and (not fault.get("object") or fault["object"] in (vm["id"], vm["name"])):
                        self._run_health_checks(vm)
                        vm["health_api"] = copy.deepcopy(vm["health"])
        return fault

    def job_fault(self, job: Job, objects: set[str]) -> None:
        """Apply an injected job fault; never call it with the lock held (a hanging job would stall the API)."""
        fault = self.faults.take(["job_failure", "job_cancel", "job_hang"], job.command, objects)
        if fault is None:
            return
        if fault["kind"] == "job_hang":
            self.jobs.hang()
        if fault["kind"] == "job_cancel":
            raise JobCancelled(fault.get("errortext") or f"Job {job.id} was cancelled", int(fault.get("errorcode", 530)))
        raise JobFailure(fault.get("errortext") or f"Injected failure of {job.command}", int(fault.get("errorcode", 530)))

    # ------------------------------------------------------------------ redundancy
    def _settle_redundant(self, vm: dict[str, Any]) -> None:
        """CheckRouterTask (VirtualNetworkApplianceManagerImpl.updateRoutersRedundantState, 4.18.0.0) writes a redundant
        router's redundantstate (UNKNOWN when not Running or its host is not Up, else what CheckRouterCommand answers) every
        router.check.interval seconds (30 by default): the API shows a change only after the next run."""
        changed = vm.get("rs_changed")
        if changed is not None and self._last_tick(float(self.configurations["router.check.interval"]["value"] or 0)) > changed:
            vm["rs_api"] = vm["redundantstate"]
            del vm["rs_changed"]

    def set_redundant(self, vm: dict[str, Any], state: str) -> None:
        """The router's keepalived state changes now; the API follows at the next CheckRouterTask run."""
        self._settle_redundant(vm)
        if vm["redundantstate"] != state:
            vm["redundantstate"] = state
            vm["rs_changed"] = time.time()

    def shown_redundantstate(self, vm: dict[str, Any]) -> str:
        self._settle_redundant(vm)
        return vm.get("rs_api", vm["redundantstate"])

    def _peers(self, vm: dict[str, Any]) -> list[dict[str, Any]]:
        if not vm.get("redundant"):
            return []
        owner_key = "vpcid" if vm["vpcid"] else "networkid"
        return [v for v in self.vms.values() if v["type"] == "router" and v["id"] != vm["id"] and v[owner_key] == vm[owner_key]]

    def _going_down(self, vm: dict[str, Any], state: str) -> None:
        """The router leaves service: a BACKUP peer takes over if it was PRIMARY."""
        was_primary = vm.get("redundantstate") == "PRIMARY"
        vm["state"] = state
        if vm["type"] != "router":
            return
        self.set_redundant(vm, "UNKNOWN")
        if was_primary:
            for peer in self._peers(vm):
                if peer["state"] == "Running":
                    self.set_redundant(peer, "PRIMARY")
                    break

    def _booted(self, vm: dict[str, Any]) -> None:
        """A (re)started VM boots the current system VM template and receives its host agent's scripts.

        LibvirtStartCommandWrapper.execute (4.19.3.0) copies the agent's own systemVmPatchFiles (cloud-scripts.tgz ...) into a
        starting system VM; VirtualNetworkApplianceManagerImpl.finalizeStart records the router's templateVersion and
        scriptsVersion from its GetDomRVersionAnswer (what it booted with) and softwareVersion = the server's version.
        """
        vm["state"] = "Running"
        vm["hostid"] = vm["lasthostid"] = self._start_host(vm)["id"]
        vm["version"] = self.template_version
        # A system VM's listed version is its own agent's (the host's agent.zip); a router's softwareversion the server's.
        vm["softwareversion"] = self.ms_version if vm["type"] == "router" else self.agent_version(vm)
        vm["scriptsversion"] = self.backend.scripts_checksum(self.agent_version(vm))
        if vm["type"] != "router":
            self._agent_reconnects(vm)
        if vm["type"] == "router":
            if vm["redundant"]:
                primary = any(p["redundantstate"] == "PRIMARY" and p["state"] == "Running" for p in self._peers(vm))
                self.set_redundant(vm, "BACKUP" if primary else "PRIMARY")
            if "health_due" in vm:
                self._schedule_first_checks(vm)
            else:
                self._run_health_checks(vm)

    def _stopped(self, vm: dict[str, Any]) -> None:
        vm["state"] = "Stopped"
        vm["lasthostid"] = vm["hostid"] or vm["lasthostid"]
        vm["hostid"] = None
        if vm["type"] == "router":
            self.set_redundant(vm, "UNKNOWN")

    # ------------------------------------------------------------------ operations run by jobs
    def _vm_for_job(self, vmid: str, kinds: tuple[str, ...]) -> dict[str, Any]:
        vm = self.vms.get(vmid)
        if vm is None or vm["type"] not in kinds:
            raise JobFailure(f"Unable to find {'router' if kinds == ('router',) else 'system vm'} with id {vmid}")
        return vm

    def op_patch_systemvm(self, job: Job, vmid: str, forced: bool) -> dict[str, Any]:
        with self.lock:
            vm = self.vms.get(vmid)
            if vm is None or vm["type"] == "router":
                raise JobFailure(f"Unable to find SystemVm with id {vmid}. patchSystemVm API can be used to patch CPVM / SSVM only.")
            if vm["state"] != "Running":
                raise JobFailure(f"Unable to patch SystemVM: {vm['name']} as it is not in Running state. Please destroy and recreate the SystemVM.")
        self.job_fault(job, {vm["id"], vm["name"]})
        with self.lock:
            unreachable = self.agent_unreachable(vm)
            if unreachable:
                # ManagementServerImpl.patchSystemVm (4.19.3.0): AgentUnavailableException -> "SystemVM live patch failed due to: ...".
                raise JobFailure(f"SystemVM live patch failed due to: {unreachable}")
            # LibvirtPatchSystemVmCommandWrapper (4.19.3.0) runs on the VM's host: the checksum it compares and the files it
            # copies are that agent's (systemVmPatchFiles), not the management server's.
            agent = self.agent_version(vm)
            if vm["scriptsversion"] == self.backend.scripts_checksum(agent) and not forced:
                return {"success": True, "displaytext": f"No change in the scripts checksum, not patching systemVM {vm['name']}"}
            snap = self.snapshot(vm)
        self.wait("patch_systemvm")
        result = self._patch(snap, agent)
        with self.lock:
            if not result.ok:
                raise JobFailure(f"Failed to patch systemVM {vm['name']} due to {result.message}")
            vm["scriptsversion"] = result.scriptsversion or self.backend.scripts_checksum(agent)
            # listSystemVms.version is the system VM's own agent's: the agent.zip its host pushed.
            vm["softwareversion"] = agent
            # The patch restarts the VM's agent (cloud service): its host reconnects.
            self._agent_reconnects(vm)
        # The trailing space is CloudStack's.
        return {"success": True, "displaytext": f"Successfully patched systemVM {vm['name']} "}

    def op_restart(self, job: Job, network: dict[str, Any] | None, vpc: dict[str, Any] | None, cleanup: bool, livepatch: bool,
                   makeredundant: bool) -> dict[str, Any]:
        owner = vpc or network
        with self.lock:
            routers = self.routers_of(network, vpc)
            objects = {owner["id"], owner["name"]} | {r["id"] for r in routers} | {r["name"] for r in routers}
        self.job_fault(job, objects)
        # NetworkOrchestrator.restartNetwork / VpcManagerImpl.restartVpc (4.18.0.0): with cleanup the livepatch flag is
        # ignored and the routers are replaced; livepatch only acts on a restart without cleanup.
        if cleanup or makeredundant:
            self._rolling_replace(network, vpc, makeredundant)
            self.wait("restart_rules")
            return {"success": True}
        if livepatch:
            self._live_patch(network, vpc)
        if not self._start_stopped_routers(network, vpc):
            # A router that cannot start fails the implement: NetworkOrchestrator.restartNetwork (4.19.3.0) catches the
            # exception of implementNetworkElementsAndResources and returns false (RestartNetworkCmd: "Failed to restart
            # network"); VpcManagerImpl.restartVpc's startVpc(vpcId, false) catches it and returns false (RestartVPCCmd:
            # "Failed to restart VPC"). Both are ServerApiException INTERNAL_ERROR (530).
            raise JobFailure("Failed to restart VPC" if vpc is not None else "Failed to restart network")
        self.wait("restart_rules")
        with self.lock:
            refused = [r["name"] for r in self.routers_of(network, vpc) if r["state"] == "Running" and (self.router_refused(r) or self.agent_unreachable(r))]
        if refused and vpc is None and network is not None and not network["vpcid"]:
            # NetworkOrchestrator.restartNetwork (4.19.3.0) sends the rules after the patch loop
            # (implementNetworkElementsAndResources); sendCommandsToRouter throws "Unable to send command. Router requires
            # upgrade" (or the agent is unreachable), restartNetwork returns false and RestartNetworkCmd.execute fails the
            # job: ServerApiException(INTERNAL_ERROR, "Failed to restart network"). restartVPC (VpcManagerImpl.restartVpc ->
            # restartVPCNetworks) ignores each tier's result, so a VPC job still succeeds.
            raise JobFailure("Failed to restart network")
        return {"success": True}

    def _start_stopped_routers(self, network: dict[str, Any] | None, vpc: dict[str, Any] | None) -> bool:
        """A restart without cleanup implements the network again: VirtualRouterElement.implement ->
        RouterDeploymentDefinition.deployVirtualRouter (4.19.3.0) deploys the routers that are missing
        (getNumberOfRoutersToDeploy: 2 for a redundant network, else 1, less those it has) and NetworkHelperImpl.startRouters
        starts the ones that are not Running, each on its host's payload (see _booted).

        False when a router cannot start: the deployment planner finds no Up host in its zone (InsufficientServerCapacityException
        out of VirtualMachineManagerImpl.orchestrateStart, which leaves the router Stopped; a missing router is not deployed)."""
        with self.lock:
            if network is not None and network["vpcid"]:
                vpc, network = self.vpcs[network["vpcid"]], None
            if network is not None and not network["has_router"]:
                return True
            owner = vpc or network
            present = self.routers_of(network, vpc)
            if not any(host.get("status", "Up") == "Up" for host in self._zone_hosts.get(owner["zoneid"], [])):
                missing = (2 if owner["redundant"] else 1) - len(present)
                return missing <= 0 and not any(r["state"] == "Stopped" for r in present)
            stopped = [r for r in present if r["state"] == "Stopped"]
            for router in stopped:
                router["state"] = "Starting"
            for _missing in range(max(0, (2 if owner["redundant"] else 1) - len(present))):
                stopped.append(self._new_vm("router", owner["zoneid"], name_prefix="r", version=self.template_version, state="Starting",
                                            softwareversion=self.ms_version, network=network, vpc=vpc, first_checks_pending=True))
            snaps = [self.snapshot(r) for r in stopped]
        for router, snap in zip(stopped, snaps):
            if router in present:
                self.backend.start_vm(snap)
                self.wait("vm_start")
            else:
                self.backend.create_vm(snap)
                self.wait("router_deploy")
            with self.lock:
                self._booted(router)
        return True

    def tier_state(self, network: dict[str, Any]) -> str:
        return network.get("state", "Implemented")

    def _livepatch_rounds(self, vpc: dict[str, Any]) -> int:
        """restartVPC patches the routers once per tier: before 4.18.2.0 only Implemented tiers count, from it on (#7958)
        every tier does, whatever its state."""
        if version_tuple(self.ms_version) >= (4, 18, 2):
            return len(vpc["tiers"])
        return sum(1 for tier in vpc["tiers"] if self.tier_state(self.networks[tier]) == "Implemented")

    def _live_patch(self, network: dict[str, Any] | None, vpc: dict[str, Any] | None) -> None:
        """Patch every Running router; a router whose patch fails is logged and skipped (the job still succeeds)."""
        with self.lock:
            owner = vpc or network
            rounds = self._livepatch_rounds(vpc) if vpc is not None else 1
            routers = [r for r in self.routers_of(network, vpc) if r["state"] == "Running"]
            targets = {owner["id"], owner["name"]} | {r["id"] for r in routers} | {r["name"] for r in routers}
            noop = self.faults.take(["livepatch_noop"], None, targets)
            failure = self.faults.take(["livepatch_failure"], None, targets) if routers and rounds else None
            breaks = self.faults.take(["livepatch_breaks_health"], None, targets) if routers and rounds else None
            snaps = [self.snapshot(r) for r in routers]
        for _round in range(rounds):
            if not snaps:
                break
            self.wait("livepatch_router")
            if noop or failure:
                # livepatch_noop: nothing changed. livepatch_failure: the patch script died (exit 1) and the server
                # got false for every router: skipped, the routers keep what they had, the job succeeds.
                continue
            for router, snap in zip(routers, snaps):
                with self.lock:
                    unreachable = self.agent_unreachable(router)
                    agent = self.agent_version(router)
                    before = router["scriptsversion"]
                if unreachable:
                    # ManagementServerImpl.patchSystemVm returns (false, "SystemVM live patch failed due to: ...") and
                    # NetworkOrchestrator.restartNetwork's patch loop only logs it.
                    with self.lock:
                        router.setdefault("patch_failures", []).append(f"SystemVM live patch failed due to: {unreachable}")
                    continue
                result = self._patch(snap, agent)
                with self.lock:
                    if not result.ok:
                        if result.scriptsversion:
                            router["scriptsversion"] = result.scriptsversion
                        router.setdefault("patch_failures", []).append(result.message)
                        continue
                    # The payload is the host agent's (LibvirtPatchSystemVmCommandWrapper, systemVmPatchFiles), and what
                    # ManagementServerImpl.updateRouterDetails records is the agent's answer, softwareversion the server's.
                    router["scriptsversion"] = result.scriptsversion or self.backend.scripts_checksum(agent)
                    if livepatch_keeps_old_checksum(agent):
                        # apache/cloudstack#9900 (4.19.2.0, 4.19.3.0, 4.20.1.0): the answer carries the pre-patch checksum. The
                        # patch script and its wrapper are the host agent's (systemVmPatchFiles, LibvirtPatchSystemVmCommandWrapper),
                        # so it is the agent's release that counts: a 4.20.2.0 server over 4.20.1.0 agents still records the old
                        # checksum (apache/cloudstack#12211).
                        router["scriptsversion"] = before
                    router["softwareversion"] = self.ms_version
                    if breaks:
                        # livepatch_breaks_health: the patch went through, but a service it restarted is broken since.
                        router["failing"] = set(router["failing"]) | set(breaks["checks"])
                    self._run_health_checks(router)

    def _patch(self, snap: dict[str, Any], agent_version: str) -> Any:
        """Run the patch of the host agent's payload on a VM (a backend PatchResult), failing where #8497 says it cannot work."""
        if python3_payload_breaks(agent_version, snap["version"]):
            return PatchResult(ok=False, scriptsversion=None, message=PYTHON3_FAILURE.format(name=snap["name"], ms=agent_version, template=snap["version"]))
        return self.backend.patch_vm(snap, agent_version)

    def _rolling_replace(self, network: dict[str, Any] | None, vpc: dict[str, Any] | None, makeredundant: bool) -> None:
        with self.lock:
            owner = vpc or network
            if makeredundant and not owner["redundant"]:
                owner["redundant"] = True
            if network is not None and network["vpcid"]:
                return
            if network is not None and not network["has_router"]:
                return
            old = self.routers_of(network, vpc)
            # BACKUPs are replaced first so the PRIMARY hands over only once, to a new router.
            old.sort(key=lambda r: {"BACKUP": 0, "UNKNOWN": 1, "FAULT": 1, "PRIMARY": 2}.get(r["redundantstate"], 1))
            wanted = max(len(old), 2 if owner["redundant"] else 1)
        for index in range(wanted):
            with self.lock:
                for peer in old:
                    peer["redundant"] = owner["redundant"]
                new = self._new_vm("router", owner["zoneid"], name_prefix="r", version=self.template_version, state="Starting",
                                   softwareversion=self.ms_version, scriptsversion=self.backend.scripts_checksum(self.ms_version), network=network, vpc=vpc,
                                   first_checks_pending=True)
                self.set_redundant(new, "UNKNOWN")
                snap = self.snapshot(new)
            self.backend.create_vm(snap)
            self.wait("router_deploy")
            with self.lock:
                self._booted(new)
                victim = old[index] if index < len(old) else None
                if victim is not None:
                    self._going_down(victim, "Expunging")
                    victim_snap = self.snapshot(victim)
            if victim is not None:
                self.backend.destroy_vm(victim_snap)
                self.wait("router_destroy")
                with self.lock:
                    self.vms.pop(victim["id"], None)
                    if new["redundant"] and not any(p["redundantstate"] == "PRIMARY" for p in self._peers(new)):
                        self.set_redundant(new, "PRIMARY")

    def op_router(self, job: Job, action: str, vmid: str, forced: bool = False) -> dict[str, Any]:
        with self.lock:
            vm = self._vm_for_job(vmid, ("router",))
        self.job_fault(job, {vm["id"], vm["name"]})
        with self.lock:
            state = vm["state"]
            if action == "reboot" and state != "Running":
                raise JobFailure(f"Unable to reboot domR, it is not in right state {state}")
            if action == "start" and state == "Running":
                return {"router": self.render_router(vm)}
            if action == "stop" and state == "Stopped":
                return {"router": self.render_router(vm)}
            if action in ("reboot", "stop"):
                self._going_down(vm, "Stopping")
            elif action == "start":
                vm["state"] = "Starting"
            else:
                self._going_down(vm, "Expunging")
            snap = self.snapshot(vm)
        if action == "reboot":
            self.backend.reboot_vm(snap)
            self.wait("vm_stop")
            self.wait("vm_start")
        elif action == "stop":
            self.backend.stop_vm(snap)
            self.wait("vm_stop")
        elif action == "start":
            self.backend.start_vm(snap)
            self.wait("vm_start")
        else:
            self.backend.destroy_vm(snap)
            self.wait("router_destroy")
        with self.lock:
            if action in ("reboot", "start"):
                self._booted(vm)
            elif action == "stop":
                self._stopped(vm)
            else:
                vm["state"] = "Destroyed"
                self.vms.pop(vm["id"], None)
            return {"router": self.render_router(vm)}

    def op_systemvm(self, job: Job, action: str, vmid: str, hostid: str | None = None, forced: bool = True) -> dict[str, Any]:
        with self.lock:
            vm = self._vm_for_job(vmid, ("secondarystoragevm", "consoleproxy"))
        self.job_fault(job, {vm["id"], vm["name"]})
        with self.lock:
            state = vm["state"]
            if action in ("reboot", "migrate") and state != "Running":
                raise JobFailure(f"Unable to {action} system vm {vm['name']}, it is not in right state {state}")
            if (action == "start" and state == "Running") or (action == "stop" and state == "Stopped"):
                return {"systemvm": self.render_systemvm(vm)}
            vm["state"] = {"reboot": "Stopping", "stop": "Stopping", "start": "Starting", "destroy": "Expunging", "migrate": "Migrating"}[action]
            snap = self.snapshot(vm)
        if action == "reboot":
            self.backend.reboot_vm(snap)
            self.wait("vm_stop")
            self.wait("vm_start")
        elif action == "stop":
            self.backend.stop_vm(snap)
            self.wait("vm_stop")
        elif action == "start":
            self.backend.start_vm(snap)
            self.wait("vm_start")
        elif action == "migrate":
            self.wait("migrate")
        else:
            self.backend.destroy_vm(snap)
            self.wait("systemvm_destroy")
        with self.lock:
            if action == "reboot" and not forced:
                # RebootSystemVmCmd without forced reboots the guest (VirtualMachineManager.reboot): same disk, same
                # template, same scripts; only a stop and start (forced) boots the current template. Its agent reconnects.
                vm["state"] = "Running"
                self._agent_reconnects(vm)
            elif action in ("reboot", "start"):
                self._booted(vm)
            elif action == "stop":
                self._stopped(vm)
            elif action == "migrate":
                vm["state"] = "Running"
                vm["hostid"] = vm["lasthostid"] = hostid or self._pick_host(vm["zoneid"])["id"]
            else:
                vm["state"] = "Destroyed"
                self.vms.pop(vm["id"], None)
                rendered = self.render_systemvm(vm)
                threading.Thread(target=self._respawn, args=(vm["type"], vm["zoneid"]), daemon=True, name="acs-sim-respawn").start()
                return {"systemvm": rendered}
            return {"systemvm": self.render_systemvm(vm)}

    def _respawn(self, kind: str, zoneid: str) -> None:
        """The SSVM/CPVM manager notices the missing system VM and deploys a new one from the current template."""
        try:
            self.wait("systemvm_respawn")
            with self.lock:
                vm = self._new_vm(kind, zoneid, name_prefix="s" if kind == "secondarystoragevm" else "v", version=self.template_version,
                                  state="Starting", softwareversion=self.ms_version)
                snap = self.snapshot(vm)
            self.backend.create_vm(snap)
            self.wait("systemvm_boot")
            with self.lock:
                self._booted(vm)
        except Exception:  # noqa: BLE001 - a stop/reset during the respawn abandons it
            return

    # ------------------------------------------------------------------ rendering
    def hypervisors_in_use(self) -> list[str]:
        """The hypervisors of the cloud's hosts, KVM first: the upgrade registers the release's template for each
        (SystemVmTemplateRegistration, the hypervisors of the clusters in use), cross-zone, downloaded in every zone."""
        return sorted({str(host.get("hypervisor", "KVM")) for host in self.hosts.values()} | {"KVM"}, key=lambda hv: (hv != "KVM", hv))

    def _template(self, version: str) -> tuple[str, str]:
        """(id, name) of a system VM template; the name follows the topology's template_name, by default templateConfig.sh's
        name for KVM (acs_sim/releases.py: systemvm-kvm-4.18.1, from 4.20 systemvm-kvm-4.20.0-x86_64)."""
        name = template_name(version, "kvm") if self.template_name is None else self.template_name.format(version=version)
        return oid("template", version), name

    def listed_template_version(self, vm: dict[str, Any]) -> str:
        """The template listRouters/listSystemVms name for a VM: the upgrade repointed every system VM and router to the new one.

        SystemVmTemplateRegistration.updateSystemVMEntries -> VMInstanceDaoImpl.updateSystemVmTemplateId
    (apache/cloudstack, read in the 4.20 sources and an earlier log4j-1 copy):
        ``UPDATE vm_instance SET vm_template_id = ? WHERE type <> 'User' AND hypervisor_type = ? AND removed is NULL``.
        The VM's root disk (``vm["version"]``) stays the old template's until the VM is recreated.
        """
        return max(vm["version"], self.template_version, key=version_tuple)

    def date(self, epoch: float | None = None) -> str:
        """A date as this server renders it: in its zone, with its offset."""
        return cs_date(epoch, self.utc_offset)

    def template_created_epoch(self, version: str) -> float:
        """When a system VM template was registered: this server's during its upgrade (an hour before the simulator started),
        older ones earlier the older they are (a day per step of major*10000 + minor*100 + patch)."""
        if version_tuple(version) >= version_tuple(self.template_version):
            return self.started - 3600
        parts = (list(version_tuple(version)) + [0, 0, 0])[:3]
        return self.started - 86400 * (31 + 50000 - (parts[0] * 10000 + parts[1] * 100 + parts[2]))

    def created_epoch(self, version: str) -> float | None:
        """A VM deployed from a template older than this server's was created an hour after that template was registered."""
        return self.template_created_epoch(version) + 3600 if version_tuple(version) < version_tuple(self.template_version) else None

    def _owner_fields(self, accountid: str) -> dict[str, Any]:
        account = self.accounts[accountid]
        domain = self.domains[account["domainid"]]
        if account["type"] == PROJECT_ACCOUNT:
            # ApiResponseHelper.populateOwner (4.18.0.0): a project's object names its project, not the project's account.
            project = self.projects[account["projectid"]]
            return {"projectid": project["id"], "project": project["name"], "domainid": domain["id"], "domain": domain["name"]}
        return {"account": account["name"], "domainid": domain["id"], "domain": domain["name"]}

    def render_router(self, vm: dict[str, Any], with_health: bool = False) -> dict[str, Any]:
        self.settle_health(vm)
        zone = self.zones[vm["zoneid"]]
        pod = self.pods[vm["podid"]]
        host = self.hosts.get(vm["hostid"]) if vm["hostid"] else None
        network = self.networks.get(vm["networkid"]) if vm["networkid"] else None
        vpc = self.vpcs.get(vm["vpcid"]) if vm["vpcid"] else None
        if network is None and vpc is not None and vpc["tiers"]:
            network = self.networks[vpc["tiers"][0]]
        templateid, templatename = self._template(self.listed_template_version(vm))
        enabled = self.health_checks_enabled()
        out = {
            "id": vm["id"], "name": vm["name"], "state": vm["state"], "role": vm["role"], "zoneid": zone["id"], "zonename": zone["name"],
            "podid": pod["id"], "podname": pod["name"], "hostid": host["id"] if host else None, "hostname": host["name"] if host else None,
            "hypervisor": "KVM", "linklocalip": vm["linklocalip"], "templateid": templateid, "templatename": templatename,
            "version": vm["version"], "requiresupgrade": self.requires_upgrade(vm), "scriptsversion": vm["scriptsversion"],
            "softwareversion": vm["softwareversion"], "isredundantrouter": vm["redundant"], "redundantstate": self.shown_redundantstate(vm),
            "guestnetworkid": network["id"] if network else None, "guestnetworkname": network["name"] if network else None,
            "vpcid": vpc["id"] if vpc else None, "vpcname": vpc["name"] if vpc else None, "created": vm["created"],
            # A primitive boolean in CloudStack's response: false (not absent) while health checks are disabled.
            "serviceofferingname": "System Offering For Software Router", "healthchecksfailed": enabled and self.health_failed(vm),
            **self._owner_fields(vm["accountid"]),
        }
        if with_health and enabled:
            out["healthcheckresults"] = [dict(r) for r in vm["health_api"].values()]
        return drop_none(out)

    def render_systemvm(self, vm: dict[str, Any]) -> dict[str, Any]:
        zone = self.zones[vm["zoneid"]]
        pod = self.pods[vm["podid"]]
        host = self.hosts.get(vm["hostid"]) if vm["hostid"] else None
        templateid, templatename = self._template(self.listed_template_version(vm))
        return drop_none({
            "id": vm["id"], "name": vm["name"], "systemvmtype": vm["systemvmtype"], "state": vm["state"],
            "agentstate": self.agent_state(vm), "zoneid": zone["id"], "zonename": zone["name"],
            "podid": pod["id"], "podname": pod["name"], "hostid": host["id"] if host else None, "hostname": host["name"] if host else None,
            "hypervisor": "KVM", "linklocalip": vm["linklocalip"], "templateid": templateid, "templatename": templatename,
            # ApiResponseHelper.createSystemVmResponse (4.18.0.0): the version its agent (host) reports, not the template's.
            "version": vm["softwareversion"], "created": vm["created"], "isdynamicallyscalable": False,
            "activeviewersessions": 0 if vm["systemvmtype"] == "consoleproxy" else None,
        })

    # VirtualMachine.Type names of the vm_instance rows, as VolumeResponse.vmtype shows them.
    VM_TYPES = {"router": "DomainRouter", "secondarystoragevm": "SecondaryStorageVm", "consoleproxy": "ConsoleProxy"}

    def render_volume(self, vm: dict[str, Any]) -> dict[str, Any]:
        """The ROOT volume of a router or system VM (VolumeResponse, 4.18.0.0). Its template is the one the disk was made from
        (``vm["version"]``): the upgrade repoints vm_instance.vm_template_id (listRouters/listSystemVms templatename) but not
        the volume's template_id, so an SSVM/CPVM keeps its old disk template here until it is recreated."""
        zone = self.zones[vm["zoneid"]]
        pod = self.pods[vm["podid"]]
        host = self.hosts.get(vm["hostid"] or vm["lasthostid"] or "")
        templateid, templatename = self._template(vm["version"])
        return drop_none({
            "id": oid("volume", vm["id"]), "name": f"ROOT-{vm['instance']}", "type": "ROOT", "deviceid": 0, "state": "Ready",
            "virtualmachineid": vm["id"], "vmname": vm["name"], "vmdisplayname": vm["name"], "vmstate": vm["state"], "vmtype": self.VM_TYPES[vm["type"]],
            "templateid": templateid, "templatename": templatename, "templatedisplaytext": f"SystemVM Template {vm['version']}",
            "zoneid": zone["id"], "zonename": zone["name"], "podid": pod["id"], "podname": pod["name"],
            "clusterid": host["clusterid"] if host else None, "clustername": self.clusters[host["clusterid"]]["name"] if host else None,
            "hypervisor": "KVM", "storagetype": "shared", "provisioningtype": "thin", "size": 5 * 1024 ** 3, "created": vm["created"],
            "destroyed": False, "isextractable": False, "displayvolume": True, "storage": f"{zone['name']}-primary",
            "storageid": oid("storagepool", zone["id"]), "serviceofferingname": "System Offering For Software Router" if vm["type"] == "router" else None,
            **self._owner_fields(vm["accountid"]),
        })

    def agent_state(self, vm: dict[str, Any]) -> str:
        """ApiResponseHelper.createSystemVmResponse (4.18.0.0): agentstate is the status of the system VM's own host record
        (its agent). A booted or patched SSVM/CPVM reconnects: Connecting until its agent is Up (agent_connect duration)."""
        if vm["state"] != "Running":
            return "Disconnected"
        return "Up" if time.time() >= vm.get("agent_up_at", 0.0) else "Connecting"

    def _agent_reconnects(self, vm: dict[str, Any]) -> None:
        vm["agent_up_at"] = time.time() + self.duration("agent_connect")

    def render_network(self, net: dict[str, Any]) -> dict[str, Any]:
        zone = self.zones[net["zoneid"]]
        vpc = self.vpcs.get(net["vpcid"]) if net["vpcid"] else None
        prefix = net["cidr"].rsplit(".", 1)[0]
        return drop_none({
            "id": net["id"], "name": net["name"], "displaytext": net["name"], "type": net["type"], "state": self.tier_state(net), "traffictype": "Guest",
            "zoneid": zone["id"], "zonename": zone["name"], "cidr": net["cidr"], "gateway": f"{prefix}.1", "netmask": "255.255.255.0",
            "vpcid": vpc["id"] if vpc else None, "redundantrouter": net["redundant"] if not vpc else vpc["redundant"], "restartrequired": False,
            "issystem": False, "acltype": "Account" if net["type"] == "Isolated" else "Domain", "broadcastdomaintype": "Vlan",
            "ispersistent": False, "canusefordeploy": True, "created": net["created"], **self._owner_fields(net["accountid"]),
        })

    def render_vpc(self, vpc: dict[str, Any]) -> dict[str, Any]:
        zone = self.zones[vpc["zoneid"]]
        return {
            "id": vpc["id"], "name": vpc["name"], "displaytext": vpc["name"], "state": "Enabled", "zoneid": zone["id"], "zonename": zone["name"],
            "cidr": vpc["cidr"], "redundantvpcrouter": vpc["redundant"], "restartrequired": False, "regionlevelvpc": False,
            "distributedvpcrouter": False, "created": vpc["created"],
            "network": [self.render_network(self.networks[n]) for n in vpc["tiers"]],
            **self._owner_fields(vpc["accountid"]),
        }

    def render_zone(self, zone: dict[str, Any]) -> dict[str, Any]:
        return {"id": zone["id"], "name": zone["name"], "allocationstate": "Enabled", "networktype": "Advanced", "securitygroupsenabled": False,
                "localstorageenabled": False, "dhcpprovider": "VirtualRouter"}

    def render_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        zone = self.zones[pod["zoneid"]]
        return {"id": pod["id"], "name": pod["name"], "zoneid": zone["id"], "zonename": zone["name"], "allocationstate": "Enabled",
                "gateway": f"10.{pod['index']}.0.1", "netmask": "255.255.255.0", "startip": f"10.{pod['index']}.0.10", "endip": f"10.{pod['index']}.0.250"}

    def render_cluster(self, cluster: dict[str, Any]) -> dict[str, Any]:
        zone, pod = self.zones[cluster["zoneid"]], self.pods[cluster["podid"]]
        return {"id": cluster["id"], "name": cluster["name"], "zoneid": zone["id"], "zonename": zone["name"], "podid": pod["id"], "podname": pod["name"],
                "allocationstate": "Enabled", "clustertype": "CloudManaged", "hypervisortype": "KVM", "managedstate": "Managed"}

    def render_host(self, host: dict[str, Any]) -> dict[str, Any]:
        zone, pod, cluster = self.zones[host["zoneid"]], self.pods[host["podid"]], self.clusters[host["clusterid"]]
        # HostResponse (ApiResponseHelper.createHostResponse): state is the agent's status, version its cloudstack-agent version.
        return {"id": host["id"], "name": host["name"], "type": "Routing", "state": host.get("status", "Up"),
                "resourcestate": host.get("resourcestate", "Enabled"), "hypervisor": host.get("hypervisor", "KVM"),
                "ipaddress": host["ipaddress"], "zoneid": zone["id"], "zonename": zone["name"], "podid": pod["id"], "podname": pod["name"],
                "clusterid": cluster["id"], "clustername": cluster["name"], "clustertype": "CloudManaged", "version": host.get("version") or self.ms_version,
                "created": host["created"]}

    def render_domain(self, dom: dict[str, Any]) -> dict[str, Any]:
        parent = self.domains.get(dom["parentid"]) if dom["parentid"] else None
        return drop_none({"id": dom["id"], "name": dom["name"], "path": dom["path"], "level": dom["level"], "state": "Active",
                          "haschild": any(d["parentid"] == dom["id"] for d in self.domains.values()),
                          "parentdomainid": parent["id"] if parent else None, "parentdomainname": parent["name"] if parent else None})

    def render_project(self, project: dict[str, Any]) -> dict[str, Any]:
        dom = self.domains[project["domainid"]]
        return {"id": project["id"], "name": project["name"], "displaytext": project["name"], "domainid": dom["id"], "domain": dom["name"],
                "state": "Active", "projectaccountname": self.accounts[project["accountid"]]["name"]}

    def render_account(self, account: dict[str, Any]) -> dict[str, Any]:
        dom = self.domains[account["domainid"]]
        roletype, rolename = ROLE_NAMES[account["type"]]
        return {"id": account["id"], "name": account["name"], "accounttype": account["type"], "roletype": roletype, "rolename": rolename,
                "domainid": dom["id"], "domain": dom["name"], "domainpath": dom["path"], "state": "enabled", "isdefault": account["name"] == "admin"}

    def render_configuration(self, name: str, zoneid: str | None = None) -> dict[str, Any]:
        cfg = self.configurations[name]
        return {"name": name, "value": self.setting(name, zoneid), "category": cfg["category"], "description": cfg["description"],
                "isdynamic": cfg["isdynamic"], "type": cfg["type"], "component": "management-server"}

    def render_job(self, job: Job) -> dict[str, Any]:
        shown = job.command not in JOBS_WITHOUT_INSTANCE
        out = {"jobid": job.id, "accountid": job.accountid, "userid": job.userid, "cmd": COMMAND_CLASSES.get(job.command, job.command), "created": job.created,
               "jobstatus": job.status, "jobprocstatus": 0, "jobresultcode": job.resultcode, "jobinstancetype": job.instancetype if shown else None,
               "jobinstanceid": job.instanceid if shown else None}
        if job.status != 0:
            out.update({"completed": job.completed, "jobresulttype": "object", "jobresult": job.result})
        return drop_none(out)

    def state(self) -> dict[str, Any]:
        """Everything, for the side endpoint and for tests: routers and system VMs as the API shows them."""
        with self.lock:
            return {
                "managementserver": {"version": self.ms_version, "systemvm_template": self.template_version,
                                     "scriptsversion": self.backend.scripts_checksum(self.ms_version)},
                "zones": [self.render_zone(z) for z in self.zones.values()],
                "networks": [self.render_network(n) for n in self.networks.values()],
                "vpcs": [self.render_vpc(v) for v in self.vpcs.values()],
                # "refused": a Running router NetworkHelperImpl.checkRouterVersion refuses (a fact for tests; listRouters never shows
                # it). A Stopped one gets no command, and boots the current template when started.
                "routers": [{**self.render_router(v, with_health=True), "refused": v["state"] == "Running" and self.router_refused(v)}
                            for v in self.vms.values() if v["type"] == "router"],
                "hosts": [self.render_host(h) for h in self.hosts.values()],
                "systemvms": [self.render_systemvm(v) for v in self.vms.values() if v["type"] != "router"],
                "configurations": {k: v["value"] for k, v in self.configurations.items()},
                "faults": self.faults.list(),
            }

    def close(self) -> None:
        self.jobs.shutdown()
