# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The /client/api endpoint: authentication, parameter checking, the commands, and CloudStack's envelopes."""
from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from acs_sim.cloud import NO_RESULTS, PROJECT_ACCOUNT, Cloud, oid
from acs_sim.jobs import Job, JobFailure
from acs_sim.releases import template_name
from acs_sim.signing import parse_expires, signature_matches
from acs_sim.spec import GLOBAL_PARAMS, api_available, params_for, subset, version_tuple

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NOT_AVAILABLE = "The given command does not exist or it is not available for user"
BAD_CREDENTIALS = "unable to verify user credentials and/or request signature"

# APIs a domain user's role does not include (CloudStack's default role permissions).
ADMIN_ONLY = frozenset({
    "destroyRouter", "destroySystemVm", "getRouterHealthCheckResults", "listClusters", "listConfigurations", "listHosts", "listImageStores",
    "listInternalLoadBalancerVMs", "listManagementServers", "listPods", "listRouters", "listSystemVms", "migrateSystemVm", "patchSystemVm",
    "rebootRouter", "rebootSystemVm", "startRouter", "startSystemVm", "stopRouter", "stopSystemVm", "updateConfiguration", "upgradeRouterTemplate",
})

LIST_KEYS = {
    "listZones": "zone", "listPods": "pod", "listClusters": "cluster", "listHosts": "host", "listDomains": "domain", "listAccounts": "account",
    "listNetworks": "network", "listVPCs": "vpc", "listRouters": "router", "listSystemVms": "systemvm", "listConfigurations": "configuration",
    "listAsyncJobs": "asyncjobs", "listManagementServers": "managementserver", "listImageStores": "imagestore", "listTemplates": "template",
    "listProjects": "project", "listInternalLoadBalancerVMs": "internalloadbalancervm", "listVolumes": "volume",
}

# The uuid the simulator gives User.UID_SYSTEM (the "system" user of the schema), shown as a job's userid.
SYSTEM_USER_ID = oid("user", "system")

# The image format of each hypervisor's system VM template (SystemVmTemplateRegistration's file per hypervisor).
TEMPLATE_FORMATS = {"kvm": "QCOW2", "lxc": "QCOW2", "xenserver": "VHD", "hyperv": "VHD", "vmware": "OVA", "ovm3": "RAW"}
JOB_INSTANCE_TYPES = {"Router": "DomainRouter", "SystemVm": "SystemVm"}


class ApiError(Exception):
    def __init__(self, status: int, errortext: str, cserrorcode: int | None = None) -> None:
        super().__init__(errortext)
        self.status = status
        self.errortext = errortext
        self.cserrorcode = cserrorcode


def invalid(text: str) -> ApiError:
    return ApiError(431, text, 4350)


def error_body(command: str | None, status: int, errortext: str, cserrorcode: int | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"uuidList": [], "errorcode": status}
    if cserrorcode is not None:
        inner["cserrorcode"] = cserrorcode
    inner["errortext"] = errortext
    return {f"{(command or 'error').lower()}response": inner}


def _day(value: str, utc_offset: int = 0) -> float | None:
    """Start of the day a DATE parameter names, in the server's zone: the server parses "yyyy-MM-dd" in its default zone
    and ignores what follows (so "2026-11-22T10:00:00+0000" is midnight of the 22nd where the server is)."""
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() - utc_offset
    except ValueError:
        return None


def _bool(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.strip().lower() == "true"


class Caller:
    def __init__(self, user: dict[str, Any]) -> None:
        self.user = user
        self.userid = user["id"]
        self.accountid = user["accountid"]
        self.admin = user["admin"]


class Api:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self._unknown_lock = threading.Lock()
        self._unknown: Counter[tuple[str, str]] = Counter()

    def unknown_params(self) -> dict[str, dict[str, int]]:
        """Parameters the API does not know, per command: accepted like a real server, counted so tests can refuse them."""
        with self._unknown_lock:
            out: dict[str, dict[str, int]] = {}
            for (command, name), count in sorted(self._unknown.items()):
                out.setdefault(command, {})[name] = count
            return out

    # ------------------------------------------------------------------ entry point
    def handle(self, raw: dict[str, str]) -> tuple[int, dict[str, Any]]:
        command = next((v for k, v in raw.items() if k.lower() == "command"), None)
        try:
            caller, params = self._authorise(command, raw)
            handler: Callable[[Caller, dict[str, str]], dict[str, Any]] = getattr(self, f"cmd_{command}")
            return 200, {f"{command.lower()}response": handler(caller, params)}
        except ApiError as exc:
            return exc.status, error_body(command, exc.status, exc.errortext, exc.cserrorcode)

    def _authorise(self, command: str | None, raw: dict[str, str]) -> tuple[Caller, dict[str, str]]:
        cloud = self.cloud
        if not command or command not in subset() or not api_available(command, cloud.ms_version) or not hasattr(self, f"cmd_{command}"):
            raise ApiError(432, NOT_AVAILABLE, 9999)
        params = {k.lower(): v for k, v in raw.items()}
        apikey, signature = params.get("apikey"), params.get("signature")
        user = cloud.users.get(apikey or "")
        if not apikey or not signature or user is None:
            raise ApiError(401, BAD_CREDENTIALS)
        if params.get("signatureversion") == "3":
            expires = parse_expires(params.get("expires", ""))
            if expires is None or expires < datetime.now(timezone.utc) + timedelta(seconds=cloud.faults.clock_offset()):
                raise ApiError(401, BAD_CREDENTIALS)
        if not signature_matches({k: v for k, v in raw.items() if k.lower() != "signature"}, user["secretkey"], signature):
            raise ApiError(401, BAD_CREDENTIALS)
        if command in ADMIN_ONLY and not user["admin"]:
            raise ApiError(432, NOT_AVAILABLE, 9999)
        if params.get("response", "").lower() != "json":
            raise invalid("This management server answers JSON only: add response=json to the request")
        known = self._check_params(command, params)
        return Caller(user), {k: v for k, v in params.items() if k in known}

    def _check_params(self, command: str, params: dict[str, str]) -> set[str]:
        """Check the declared parameters; returns their names (the others are ignored, as the server does)."""
        allowed = params_for(command, self.cloud.ms_version)
        unknown = sorted(set(params) - set(allowed) - GLOBAL_PARAMS)
        if unknown:
            # ParamGenericValidationWorker (4.18.0.0) only logs a warning for a parameter the command does not declare.
            with self._unknown_lock:
                self._unknown.update((command, name) for name in unknown)
        for name, spec in allowed.items():
            value = params.get(name)
            if value is None or value == "":
                if spec.get("required"):
                    raise invalid(f"Unable to execute API command {command.lower()} due to missing parameter {name}")
                continue
            kind = spec.get("type")
            if kind == "uuid" and not self._known_uuid(command, name, value):
                raise invalid(f"Unable to execute API command {command.lower()} due to invalid value. Invalid parameter {name} value={value} due to incorrect "
                              "long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.")
            if kind == "date" and _day(value) is None:
                raise invalid(f"Unable to parse date {value} for command {command.lower()}, please pass dates in the format mentioned in the api documentation")
            if kind in ("integer", "long", "short"):
                try:
                    int(value)
                except ValueError:
                    raise invalid(f"Unable to execute API command {command.lower()} due to invalid value {value} for parameter {name}") from None
        return set(allowed)

    def _known_uuid(self, command: str, name: str, value: str) -> bool:
        if name == "projectid" and value == "-1":
            # ParamProcessWorker.translateUuidToInternalId (4.18.0.0): "-1" is passed through as -1 (every project).
            return True
        if not UUID_RE.match(value):
            return False
        table = self._entity_table(command, name)
        return table is None or value in table

    def _entity_table(self, command: str, name: str) -> Iterable[str] | None:
        cloud = self.cloud
        if name == "id" and command == "listVolumes":
            with cloud.lock:
                return {oid("volume", vmid) for vmid in cloud.vms}
        if name == "id":
            by_command = {"listZones": cloud.zones, "listPods": cloud.pods, "listClusters": cloud.clusters, "listHosts": cloud.hosts,
                          "listDomains": cloud.domains, "listAccounts": cloud.accounts, "listNetworks": cloud.networks, "restartNetwork": cloud.networks,
                          "listVPCs": cloud.vpcs, "restartVPC": cloud.vpcs, "listManagementServers": {cloud.ms_id: None}}
            return by_command.get(command, cloud.vms if ("Router" in command or "SystemVm" in command or command == "patchSystemVm") else None)
        if name == "routerid":
            # Built only when asked for, and under the cloud's lock: jobs add and remove VMs while requests are checked.
            with cloud.lock:
                return {vmid for vmid, vm in cloud.vms.items() if vm["type"] == "router"}
        return {"zoneid": cloud.zones, "podid": cloud.pods, "clusterid": cloud.clusters, "hostid": cloud.hosts, "networkid": cloud.networks,
                "vpcid": cloud.vpcs, "domainid": cloud.domains, "accountid": cloud.accounts, "virtualmachineid": cloud.vms,
                "jobid": cloud.jobs.jobs, "projectid": cloud.projects}.get(name)

    # ------------------------------------------------------------------ helpers
    def _page(self, command: str, items: list[Any], params: dict[str, str], render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        # BaseListCmd.getPageSize / configure (4.18.0.0): default.page.size is both the default and the most a page may
        # hold, -1 lifts the limit; read once at start (not dynamic), as the server's static s_maxPageSize.
        max_size = int(self.cloud.configurations["default.page.size"]["value"])
        pagesize = int(params.get("pagesize") or max_size)
        page = int(params.get("page") or 1)
        if pagesize != -1 and pagesize <= 0:
            raise invalid("Page size must be greater than 0, or -1 for no limit")
        if max_size != -1 and pagesize > max_size:
            raise invalid(f"Page size can't exceed max allowed page size value: {max_size}")
        if params.get("pagesize") and pagesize == -1 and params.get("page"):
            raise invalid("Can't specify page parameter when pagesize is -1 (Unlimited)")
        if page < 1:
            raise invalid("Page number must be greater than 0")
        chosen = items if pagesize == -1 else items[(page - 1) * pagesize: page * pagesize]
        out: dict[str, Any] = {}
        if items:
            out["count"] = len(items)
        if chosen:
            out[LIST_KEYS[command]] = [render(i) for i in chosen]
        return out

    def _visible_accounts(self, caller: Caller, params: dict[str, str]) -> set[str] | None:
        """CloudStack's ACL for list calls: without listall (or domainid/account/id) even an admin sees only his own account's objects."""
        cloud = self.cloud
        if not caller.admin:
            return {caller.accountid}
        listall = _bool(params.get("listall"))
        domainid = params.get("domainid")
        if params.get("account"):
            dom = domainid or cloud.accounts[caller.accountid]["domainid"]
            found = {a["id"] for a in cloud.accounts.values() if a["name"] == params["account"] and a["domainid"] == dom}
            if not found:
                raise invalid(f"Unable to find account {params['account']} in domain {cloud.domains[dom]['path']}")
            return found
        if domainid:
            domains = self._subdomains(domainid) if (_bool(params.get("isrecursive")) or listall) else {domainid}
            return {a["id"] for a in cloud.accounts.values() if a["domainid"] in domains}
        if listall or params.get("id"):
            return None
        return {caller.accountid}

    def _visible(self, caller: Caller, params: dict[str, str], networks: bool = False) -> Callable[[str], bool]:
        """Which owning accounts a list call shows, projects included.

        AccountManagerImpl.buildACLSearchParameters and buildACLViewSearchBuilder (listRouters, listVPCs, listAsyncJobs;
        4.18.0.0): without projectid (and without id) project-owned objects are skipped; an admin's projectid=-1 lists only
        them, or everything with listall=true; a project's id lists that project's. NetworkServiceImpl.searchForNetworks
        (4.18.0.0) differs: without projectid project networks are skipped even with listall, projectid=-1 lists only
        project networks (an admin sees every project's), a project's id lists its networks and the admin's own.
        """
        cloud = self.cloud
        projectid = params.get("projectid")
        if projectid and projectid != "-1":
            accounts = {cloud.projects[projectid]["accountid"]} | ({caller.accountid} if networks and caller.admin else set())
            return accounts.__contains__
        if projectid == "-1" and caller.admin:
            # No restriction to the caller's own account then; a domainid still limits the owners.
            within = self._visible_accounts(caller, {k: v for k, v in params.items() if k != "account"} | {"listall": "true"})
            every = _bool(params.get("listall")) and not networks
            return lambda accountid: (within is None or accountid in within) and (every or cloud.accounts[accountid]["type"] == PROJECT_ACCOUNT)
        visible = self._visible_accounts(caller, params)
        skip_projects = networks or not params.get("id")

        def shown(accountid: str) -> bool:
            if skip_projects and cloud.accounts[accountid]["type"] == PROJECT_ACCOUNT:
                return False
            return visible is None or accountid in visible
        return shown

    def _subdomains(self, domainid: str) -> set[str]:
        root = self.cloud.domains[domainid]["path"]
        return {d["id"] for d in self.cloud.domains.values() if d["path"] == root or d["path"].startswith(root + "/")}

    @staticmethod
    def _match(obj: dict[str, Any], params: dict[str, str], fields: dict[str, str]) -> bool:
        for param, field in fields.items():
            want = params.get(param)
            if want is not None and want != "" and obj.get(field) != want:
                return False
        keyword = params.get("keyword")
        return not keyword or keyword.lower() in str(obj.get("name", "")).lower()

    def _submit(self, caller: Caller, command: str, instancetype: str | None, instanceid: str | None, params: dict[str, str],
                work: Callable[[Job], dict[str, Any]]) -> dict[str, Any]:
        job = Job(command, params, caller.userid, caller.accountid, instancetype, instanceid)
        job.created_at = job.queued + self.cloud.faults.clock_offset()
        job.created = self.cloud.date(job.created_at)
        self.cloud.jobs.submit(job, work)
        return {"jobid": job.id}

    # ------------------------------------------------------------------ infrastructure
    def cmd_listCapabilities(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return {"capability": {"cloudstackversion": self.cloud.ms_version, "apilimitinterval": 1, "apilimitmax": 0, "defaultuipagesize": 20,
                               "dynamicrolesenabled": True, "securitygroupsenabled": False, "userpublictemplateenabled": True, "allowusercreateprojects": True,
                               "supportELB": "false", "projectinviterequired": False, "kvmsnapshotenabled": False, "regionsecondaryenabled": False,
                               "customdiskofferingmaxsize": 1024, "customdiskofferingminsize": 1, "allowuserviewdestroyedvm": False,
                               "allowuserexpungerecovervm": False, "allowuserviewalldomainaccounts": False, "kubernetesserviceenabled": False}}

    def cmd_listZones(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        with self.cloud.lock:
            items = [z for z in self.cloud.zones.values() if self._match(z, params, {"id": "id", "name": "name"})]
            return self._page("listZones", items, params, self.cloud.render_zone)

    def cmd_listPods(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        with self.cloud.lock:
            items = [p for p in self.cloud.pods.values() if self._match(p, params, {"id": "id", "name": "name", "zoneid": "zoneid"})]
            return self._page("listPods", items, params, self.cloud.render_pod)

    def cmd_listClusters(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        with self.cloud.lock:
            items = [c for c in self.cloud.clusters.values() if self._match(c, params, {"id": "id", "name": "name", "zoneid": "zoneid", "podid": "podid"})]
            return self._page("listClusters", items, params, self.cloud.render_cluster)

    def cmd_listHosts(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            fields = {"id": "id", "name": "name", "zoneid": "zoneid", "podid": "podid", "clusterid": "clusterid"}
            items = [h for h in cloud.hosts.values() if self._match(h, params, fields)]
            if params.get("type") and params["type"].lower() != "routing":
                items = []
            if params.get("state"):
                items = [h for h in items if h.get("status", "Up").lower() == params["state"].lower()]
            if params.get("resourcestate"):
                items = [h for h in items if h.get("resourcestate", "Enabled").lower() == params["resourcestate"].lower()]
            if params.get("virtualmachineid"):
                vm = cloud.vms.get(params["virtualmachineid"])
                items = [h for h in items if vm and h["id"] == vm["hostid"]]
            return self._page("listHosts", items, params, cloud.render_host)

    def cmd_listDomains(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            own = cloud.accounts[caller.accountid]["domainid"]
            if params.get("id"):
                scope = {params["id"]} & (self._subdomains(own))
            elif _bool(params.get("listall")):
                scope = self._subdomains(own)
            else:
                scope = {own}
            items = [d for d in cloud.domains.values() if d["id"] in scope and self._match(d, params, {"name": "name"})]
            if params.get("level"):
                items = [d for d in items if str(d["level"]) == params["level"]]
            return self._page("listDomains", items, params, cloud.render_domain)

    def cmd_listAccounts(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            visible = self._visible_accounts(caller, {k: v for k, v in params.items() if k != "account"})
            # QueryManagerImpl.searchForAccountsInternal (4.18.0.0): never a project's account (typeNEQ PROJECT).
            items = [a for a in cloud.accounts.values() if (visible is None or a["id"] in visible) and a["type"] != PROJECT_ACCOUNT
                     and self._match(a, params, {"id": "id", "name": "name", "domainid": "domainid"})]
            if params.get("accounttype"):
                items = [a for a in items if str(a["type"]) == params["accounttype"]]
            return self._page("listAccounts", items, params, cloud.render_account)

    def cmd_listConfigurations(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        zoneid = params.get("zoneid")
        with cloud.lock:
            names = [n for n, c in cloud.configurations.items()
                     if (not params.get("name") or params["name"].lower() in n.lower())
                     and (not params.get("category") or params["category"].lower() == c["category"].lower())
                     and (not params.get("keyword") or params["keyword"].lower() in n.lower())
                     and (not zoneid or c.get("scope") == "zone")]
            return self._page("listConfigurations", names, params, lambda name: cloud.render_configuration(name, zoneid))

    def cmd_updateConfiguration(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        zoneid = params.get("zoneid")
        with cloud.lock:
            name = params["name"]
            if name not in cloud.configurations:
                raise invalid(f"Config parameter with name {name} doesn't exist")
            if zoneid:
                if cloud.configurations[name].get("scope") != "zone":
                    raise invalid(f"Invalid scope id provided for the parameter {name}")
                cloud.zones[zoneid]["configurations"][name] = params.get("value", "")
            else:
                cloud.configurations[name]["value"] = params.get("value", "")
            return {"configuration": cloud.render_configuration(name, zoneid)}

    def cmd_listManagementServers(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        server = {"id": cloud.ms_id, "name": "management-server-1", "state": "Up", "version": cloud.ms_version,
                  "osdistribution": "Debian GNU/Linux 12", "javaversion": "11.0.21", "lastserverstart": cloud.date(cloud.started)}
        # ManagementServerResponse (4.18.0.0): every server of the cluster, each with its own version and state.
        peers = [dict(server, **peer) for peer in cloud.peer_servers]
        items = [item for item in [server, *peers] if self._match(item, params, {"id": "id", "name": "name"})]
        return self._page("listManagementServers", items, params, dict)

    def cmd_listImageStores(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            stores = [{"id": oid("imagestore", z["id"]), "name": f"{z['name']}-secondary", "protocol": "nfs", "providername": "NFS", "scope": "ZONE",
                       "url": f"nfs://192.0.2.10/export/{z['name']}", "zoneid": z["id"], "zonename": z["name"], "readonly": False}
                      for z in cloud.zones.values()]
            items = [s for s in stores if self._match(s, params, {"id": "id", "name": "name", "zoneid": "zoneid"})]
            return self._page("listImageStores", items, params, dict)

    def cmd_listTemplates(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            if params["templatefilter"] not in ("all", "featured", "self", "selfexecutable", "sharedexecutable", "executable", "community"):
                raise invalid(f"Invalid templatefilter {params['templatefilter']}")
            versions = sorted({v["version"] for v in cloud.vms.values()} | {cloud.template_version}, key=version_tuple)
            items = []
            if caller.admin and params["templatefilter"] == "all":
                # One entry per template and zone, with that zone's download state (TemplateJoinDaoImpl, 4.18.0.0: the view
                # joins template_zone_ref; a cross-zone template is listed in every zone).
                # The release's template exists for every hypervisor in use; the older ones (the routers' disks) for KVM.
                for version in versions:
                    current = version == cloud.template_version
                    for hypervisor in cloud.hypervisors_in_use() if current else ["KVM"]:
                        tid, name = cloud._template(version)
                        if hypervisor != "KVM":
                            tid, name = oid("template", f"{version}/{hypervisor}"), template_name(version, hypervisor.lower())
                        for zone in cloud.zones.values():
                            states = zone.get("template_states") or {}
                            ready = not current or states.get(hypervisor.lower(), zone.get("template_state", "Ready")) == "Ready"
                            per_zone = current and zone.get("template_per_zone", False)
                            own = f"{version}/{hypervisor}/{zone['name']}" if hypervisor != "KVM" else f"{version}/{zone['name']}"
                            items.append({"id": oid("template", own) if per_zone else tid, "name": name,
                                          "displaytext": f"SystemVM Template {version}", "templatetype": "SYSTEM", "hypervisor": hypervisor,
                                          "format": TEMPLATE_FORMATS.get(hypervisor.lower(), "QCOW2"), "isready": ready, "crossZones": not per_zone,
                                          "ispublic": False, "isfeatured": False, "status": "Download Complete" if ready else "35% Downloaded",
                                          "account": "system", "domain": "ROOT", "zoneid": zone["id"], "zonename": zone["name"],
                                          "created": cloud.date(cloud.template_created_epoch(version))})
            items = [t for t in items if self._match(t, params, {"id": "id", "name": "name", "zoneid": "zoneid"})]
            return self._page("listTemplates", items, params, dict)

    def cmd_listProjects(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            items = [p for p in cloud.projects.values() if caller.admin and self._match(p, params, {"id": "id", "name": "name", "domainid": "domainid"})]
            return self._page("listProjects", items, params, cloud.render_project)

    def cmd_listInternalLoadBalancerVMs(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ guest networks
    def cmd_listNetworks(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            shown = self._visible(caller, params, networks=True)
            items = [n for n in cloud.networks.values() if shown(n["accountid"])
                     and self._match(n, params, {"id": "id", "zoneid": "zoneid", "vpcid": "vpcid"})]
            if params.get("type"):
                items = [n for n in items if n["type"].lower() == params["type"].lower()]
            if params.get("forvpc"):
                items = [n for n in items if bool(n["vpcid"]) == _bool(params["forvpc"])]
            if params.get("traffictype") and params["traffictype"].lower() != "guest":
                items = []
            if _bool(params.get("issystem")) or _bool(params.get("restartrequired")):
                items = []
            return self._page("listNetworks", items, params, cloud.render_network)

    def cmd_listVPCs(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            shown = self._visible(caller, params)
            items = [v for v in cloud.vpcs.values() if shown(v["accountid"])
                     and self._match(v, params, {"id": "id", "zoneid": "zoneid", "name": "name", "cidr": "cidr"})]
            if params.get("state") and params["state"].lower() != "enabled":
                items = []
            if _bool(params.get("restartrequired")):
                items = []
            return self._page("listVPCs", items, params, cloud.render_vpc)

    def _owned(self, caller: Caller, obj: dict[str, Any], kind: str) -> None:
        if not caller.admin and obj["accountid"] != caller.accountid:
            account = self.cloud.accounts[caller.accountid]["name"]
            raise ApiError(531, f"Account {account} does not have permission to operate with {kind} {obj['name']}", 4365)

    def cmd_restartNetwork(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            network = cloud.networks[params["id"]]
            self._owned(caller, network, "network")
        return self._submit(caller, "restartNetwork", "Network", network["id"], params, lambda job: self._restart(job, params, network, None))

    def cmd_restartVPC(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            vpc = cloud.vpcs[params["id"]]
            self._owned(caller, vpc, "vpc")
        return self._submit(caller, "restartVPC", "Vpc", vpc["id"], params, lambda job: self._restart(job, params, None, vpc))

    def _restart(self, job: Job, params: dict[str, str], network: dict[str, Any] | None, vpc: dict[str, Any] | None) -> dict[str, Any]:
        cleanup, livepatch, makeredundant = _bool(params.get("cleanup")), _bool(params.get("livepatch")), _bool(params.get("makeredundant"))
        if network is not None and network["type"] == "Shared" and makeredundant:
            raise JobFailure(f"Network {network['name']} is a shared network: it cannot be made redundant")
        if network is not None:
            # NetworkServiceImpl.restartNetwork(RestartNetworkCmd) and restartNetwork(NetworkVO, ...) (4.17.0.0, 4.19.3.0, 4.20.2.0):
            # InvalidParameterValueException inside the job, so the job fails with errorcode 431.
            if network["vpcid"] and cleanup:
                raise JobFailure("Cannot restart a VPC tier with cleanup, please restart the whole VPC.", 431)
            if self.cloud.tier_state(network) not in ("Implemented", "Setup"):
                raise JobFailure("Network is not in the right state to be restarted. Correct states are: Implemented, Setup", 431)
        return self.cloud.op_restart(job, network, vpc, cleanup, livepatch, makeredundant)

    # ------------------------------------------------------------------ routers
    def _router_filter(self, caller: Caller, params: dict[str, str]) -> list[dict[str, Any]]:
        cloud = self.cloud
        shown = self._visible(caller, params)
        routers = [v for v in cloud.vms.values() if v["type"] == "router" and shown(v["accountid"])]
        exact = {k: params[k] for k in ("id", "zoneid", "podid", "hostid", "vpcid") if params.get(k)}
        if exact:
            routers = [r for r in routers if all(r.get(k) == v for k, v in exact.items())]
        if params.get("name"):
            routers = [r for r in routers if r["name"] == params["name"]]
        if params.get("keyword"):
            routers = [r for r in routers if params["keyword"].lower() in r["name"].lower()]
        if params.get("clusterid"):
            routers = [r for r in routers if r["hostid"] and cloud.hosts[r["hostid"]]["clusterid"] == params["clusterid"]]
        if params.get("networkid"):
            network = cloud.networks[params["networkid"]]
            routers = [r for r in routers if (r["networkid"] == network["id"]) or (network["vpcid"] and r["vpcid"] == network["vpcid"])]
        if params.get("state"):
            routers = [r for r in routers if r["state"].lower() == params["state"].lower()]
        if params.get("version"):
            routers = [r for r in routers if r["version"].startswith(params["version"])]
        if params.get("forvpc"):
            routers = [r for r in routers if bool(r["vpcid"]) == _bool(params["forvpc"])]
        if params.get("healthchecksfailed"):
            routers = [r for r in routers if cloud.health_failed(r) == _bool(params["healthchecksfailed"])]
        return routers

    def cmd_listRouters(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            with_health = _bool(params.get("fetchhealthcheckresults"))
            return self._page("listRouters", self._router_filter(caller, params), params, lambda r: cloud.render_router(r, with_health))

    def _router_job(self, caller: Caller, command: str, action: str, params: dict[str, str]) -> dict[str, Any]:
        forced = _bool(params.get("forced"))
        return self._submit(caller, command, "DomainRouter", params["id"], params, lambda job: self.cloud.op_router(job, action, params["id"], forced))

    def cmd_rebootRouter(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._router_job(caller, "rebootRouter", "reboot", params)

    def cmd_stopRouter(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._router_job(caller, "stopRouter", "stop", params)

    def cmd_startRouter(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._router_job(caller, "startRouter", "start", params)

    def cmd_destroyRouter(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._router_job(caller, "destroyRouter", "destroy", params)

    def cmd_getRouterHealthCheckResults(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            router = cloud.vms[params["routerid"]]
            fresh = _bool(params.get("performfreshchecks"))
            # QueryManagerImpl.listRouterHealthChecks (4.18.0.0) throws; GetRouterHealthCheckResultsCmd.execute answers 530
            # "Failed to get health check results due to: " and the message (the router's internal id: the simulator's instance).
            failure = "Failed to get health check results due to: "
            if not cloud.health_checks_enabled():
                raise ApiError(530, f"{failure}Router health checks are not enabled for router {router['instance']}", 4250)
            if fresh and router["state"] != "Running":
                # performRouterHealthChecks: performBasicTestsOnRouter gets no answer from a router that does not run.
                raise ApiError(530, f"{failure}Unable to perform fresh checks on router - Basic tests results unavailable", 4250)
            stored = cloud.api_health(router)
            if not fresh and not stored:
                raise ApiError(530, failure + NO_RESULTS, 4250)
        if fresh:
            cloud.fresh_health_checks(router)
        with cloud.lock:
            return {"routerhealthchecks": {"routerid": router["id"], "healthchecks": [dict(r) for r in cloud.api_health(router).values()]}}

    def cmd_upgradeRouterTemplate(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        """VirtualNetworkApplianceManagerImpl.upgradeRouterTemplate (4.18.0.0): one selector; zone/pod/cluster/domain take the
        Running routers only (domainid not recursive, account ignored without domainid); id= takes the router in any state
        (a Stopped one gets a reboot job that fails); only routers below the zone's minreq.sysvmtemplate.version are
        rebooted, none when router.version.check is false; no selector queues nothing."""
        cloud = self.cloud
        selectors = [k for k in ("id", "zoneid", "podid", "clusterid", "domainid") if params.get(k)]
        if len(selectors) > 1:
            raise invalid("Only one of the parameters id, zoneid, podid, clusterid, domainid has to be specified")
        if not selectors:
            return {}
        with cloud.lock:
            if params.get("id"):
                routers = [r for r in cloud.vms.values() if r["id"] == params["id"] and r["type"] == "router"]
            else:
                routers = [r for r in cloud.vms.values() if r["type"] == "router" and r["state"] == "Running"]
                for name in ("zoneid", "podid"):
                    if params.get(name):
                        routers = [r for r in routers if r[name] == params[name]]
                if params.get("clusterid"):
                    routers = [r for r in routers if r["hostid"] and cloud.hosts[r["hostid"]]["clusterid"] == params["clusterid"]]
                if params.get("domainid"):
                    accounts = {a["id"] for a in cloud.accounts.values() if a["domainid"] == params["domainid"]
                                and (not params.get("account") or a["name"] == params["account"])}
                    if params.get("account") and not accounts:
                        # VirtualNetworkApplianceManagerImpl.upgradeRouterTemplate (4.18.0.0): InvalidParameterValueException
                        # (431) naming the account and the domain's (internal) id; the simulator names the domain by uuid.
                        raise invalid(f"Account :{params['account']} does not exist in domain: {params['domainid']}")
                    routers = [r for r in routers if r["accountid"] in accounts]
            if cloud.setting("router.version.check").lower() != "true":
                routers = []
            routers = [r for r in routers if cloud.template_below_minimum(r)]
        jobs = []
        for router in routers:
            # rebootRouters (VirtualNetworkApplianceManagerImpl, 4.18.0.0): new AsyncJobVO("", User.UID_SYSTEM,
            # router.getAccountId(), RebootRouterCmd...): the job is the router's account's, run as the SYSTEM user,
            # so the caller finds it in listAsyncJobs only with listall=true (and never for a project's router).
            system = Caller({"id": SYSTEM_USER_ID, "accountid": router["accountid"], "admin": True})
            submitted = self._submit(system, "rebootRouter", "DomainRouter", router["id"], {"id": router["id"]},
                                     lambda job, rid=router["id"]: cloud.op_router(job, "reboot", rid))
            jobs.append({"jobid": submitted["jobid"]})
        return {"count": len(jobs), "asyncjobs": jobs} if jobs else {}

    # ------------------------------------------------------------------ system VMs
    def cmd_listSystemVms(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        with cloud.lock:
            fields = {"id": "id", "zoneid": "zoneid", "podid": "podid", "hostid": "hostid", "name": "name"}
            items = [v for v in cloud.vms.values() if v["type"] != "router" and self._match(v, params, fields)]
            if params.get("systemvmtype"):
                items = [v for v in items if v["systemvmtype"] == params["systemvmtype"].lower()]
            if params.get("state"):
                items = [v for v in items if v["state"].lower() == params["state"].lower()]
            return self._page("listSystemVms", items, params, cloud.render_systemvm)

    def cmd_listVolumes(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        """QueryManagerImpl.searchForVolumesInternal: the volumes of routers, SSVMs and CPVMs are left out (4.17.0.0:
        always, "Don't return DomR and ConsoleProxy volumes"; 4.18.0.0 to 4.20.2.0: unless ``listsystemvms=true`` and the
        caller is a ROOT admin, shouldListSystemVms). The simulator's VMs are all system VMs, so that is every volume here.
        ``type`` matches ``volumeType LIKE %type%``; ACL as the other lists (listall, domainid, account)."""
        cloud = self.cloud
        with cloud.lock:
            if not (_bool(params.get("listsystemvms")) and caller.admin):
                return {}
            visible = self._visible_accounts(caller, params)
            fields = {"zoneid": "zoneid", "podid": "podid", "hostid": "hostid", "virtualmachineid": "id"}
            candidates = [cloud.vms[params["virtualmachineid"]]] if params.get("virtualmachineid") in cloud.vms else cloud.vms.values()
            vms = [v for v in candidates if (visible is None or v["accountid"] in visible) and self._match(v, {**params, "keyword": None}, fields)]
            # Every simulated VM has one volume, its ROOT disk, Ready: filter on the VM and render only the page asked for.
            if params.get("id"):
                vms = [v for v in vms if oid("volume", v["id"]) == params["id"]]
            if params.get("type") and params["type"].upper() not in "ROOT":
                vms = []
            if params.get("name"):
                vms = [v for v in vms if f"ROOT-{v['instance']}" == params["name"]]
            if params.get("keyword"):
                vms = [v for v in vms if any(params["keyword"].lower() in text.lower() for text in (f"ROOT-{v['instance']}", "ROOT", "Ready"))]
            if params.get("state") and params["state"].lower() != "ready":
                vms = []
            return self._page("listVolumes", vms, params, cloud.render_volume)

    def cmd_patchSystemVm(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        if not params.get("id"):
            raise invalid("Please provide a valid ID of a system VM to be patched")
        forced = _bool(params.get("forced"))
        return self._submit(caller, "patchSystemVm", "SystemVm", params["id"], params, lambda job: self.cloud.op_patch_systemvm(job, params["id"], forced))

    def _systemvm_job(self, caller: Caller, command: str, action: str, params: dict[str, str], vmid: str) -> dict[str, Any]:
        hostid = params.get("hostid")
        return self._submit(caller, command, "SystemVm", vmid, params, lambda job: self.cloud.op_systemvm(job, action, vmid, hostid))

    def cmd_rebootSystemVm(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        forced = _bool(params.get("forced"))
        return self._submit(caller, "rebootSystemVm", "SystemVm", params["id"], params,
                            lambda job: self.cloud.op_systemvm(job, "reboot", params["id"], forced=forced))

    def cmd_stopSystemVm(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._systemvm_job(caller, "stopSystemVm", "stop", params, params["id"])

    def cmd_startSystemVm(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._systemvm_job(caller, "startSystemVm", "start", params, params["id"])

    def cmd_destroySystemVm(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._systemvm_job(caller, "destroySystemVm", "destroy", params, params["id"])

    def cmd_migrateSystemVm(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        return self._systemvm_job(caller, "migrateSystemVm", "migrate", params, params["virtualmachineid"])

    # ------------------------------------------------------------------ jobs
    def cmd_queryAsyncJobResult(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        job = self.cloud.jobs.get(params["jobid"])
        if not caller.admin and job.accountid != caller.accountid:
            raise ApiError(531, f"Account {self.cloud.accounts[caller.accountid]['name']} does not have permission to access job {job.id}", 4365)
        with self.cloud.lock:
            return self.cloud.render_job(job)

    def cmd_listAsyncJobs(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        cloud = self.cloud
        # ListAsyncJobsCmd has no projectid: jobs of project accounts are never listed (QueryManagerImpl.searchForAsyncJobs,
        # 4.18.0.0: SkipProjectResources); an admin sees other accounts' jobs only with listall=true.
        with cloud.lock:
            shown = self._visible(caller, params)
            jobs = [j for j in cloud.jobs.all() if shown(j.accountid)]
        if params.get("keyword"):
            jobs = [j for j in jobs if params["keyword"].lower() in j.command.lower()]
        if params.get("startdate"):
            # QueryManagerImpl.searchForAsyncJobsInternal: created >= startDate, both in the server's clock.
            since = _day(params["startdate"], cloud.utc_offset)
            jobs = [j for j in jobs if since is None or j.created_at >= since]
        with cloud.lock:
            return self._page("listAsyncJobs", jobs, params, cloud.render_job)
