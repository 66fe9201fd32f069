# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Read a cloud's system VMs and routers once, into plain objects the planning code can reason about.

Everything is read page by page. A router carries no cluster in the API: it is derived from its host.
Routers are grouped into the units a restart acts on: a guest network, or a VPC with all its tiers.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackError
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import MIN_TEMPLATE_SETTING, is_valid_version, template_version_from_name

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# kind -> (list command, item key, extra filters that make an admin see every account's objects)
_LOOKUPS: dict[str, tuple[str, str, dict[str, t.Any]]] = {
    "zone": ("listZones", "zone", {}),
    "pod": ("listPods", "pod", {}),
    "cluster": ("listClusters", "cluster", {}),
    "domain": ("listDomains", "domain", {"listall": True}),
    "network": ("listNetworks", "network", {"listall": True}),
    "vpc": ("listVPCs", "vpc", {"listall": True}),
}


def with_projects(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """List parameters that make an admin's listRouters/listVPCs hold the projects' objects too.

    Without projectid CloudStack skips project-owned routers and VPCs; listall=true with projectid=-1 lists everything
    (AccountManagerImpl.buildACLSearchParameters, 4.18.0.0: ListAllIncludingProjectResources). CloudStack refuses
    projectid together with account (431), and an account filter excludes projects anyway: then it is left out.
    """
    if params.get("listall") and not params.get("account"):
        return dict(params, projectid=-1)
    return dict(params)


def list_networks(client: t.Any, **params: t.Any) -> list[dict[str, t.Any]]:
    """Every guest network ``params`` select, the projects' included.

    listNetworks differs from the other lists (NetworkServiceImpl.searchForNetworks, 4.18.0.0): without projectid it
    skips project networks even with listall=true, and projectid=-1 lists only project networks; so a second read.
    """
    found = client.list("listNetworks", "network", **params)
    if params.get("listall") and not params.get("account") and not params.get("projectid"):
        found += client.list("listNetworks", "network", projectid=-1, **params)
    return found


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


class FleetError(Exception):
    """A name or id that does not match anything, or matches several objects."""


@dataclass
class Router:
    id: str
    name: str
    state: str
    role: str | None
    redundantstate: str | None
    isredundantrouter: bool
    version: str | None
    scriptsversion: str | None
    softwareversion: str | None
    requiresupgrade: bool
    zoneid: str | None
    zonename: str | None
    podid: str | None
    hostid: str | None
    clusterid: str | None
    account: str | None
    domainid: str | None
    domain: str | None
    guestnetworkid: str | None
    vpcid: str | None
    raw: dict[str, t.Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, item: dict[str, t.Any], cluster_of_host: t.Mapping[str, str]) -> Router:
        return cls(
            id=item["id"],
            name=item.get("name", item["id"]),
            state=item.get("state", "Unknown"),
            role=item.get("role"),
            redundantstate=item.get("redundantstate"),
            isredundantrouter=bool(item.get("isredundantrouter", False)),
            version=item.get("version"),
            scriptsversion=item.get("scriptsversion"),
            softwareversion=item.get("softwareversion"),
            requiresupgrade=bool(item.get("requiresupgrade", False)),
            zoneid=item.get("zoneid"),
            zonename=item.get("zonename"),
            podid=item.get("podid"),
            hostid=item.get("hostid"),
            clusterid=cluster_of_host.get(item.get("hostid") or ""),
            account=item.get("account"),
            domainid=item.get("domainid"),
            domain=item.get("domain"),
            guestnetworkid=item.get("guestnetworkid"),
            vpcid=item.get("vpcid"),
            raw=item,
        )

    def as_dict(self) -> dict[str, t.Any]:
        return {name: value for name, value in self.__dict__.items() if name != "raw"}


@dataclass
class SystemVm:
    """An SSVM or CPVM. ``version`` is its agent's version (the server's once patched or booted under it), not its
    template's: that is ``template_version``, read from ``templatename`` or from the template itself. The upgrade
    repoints that listed template to the new one; the template its disk was made from is its ROOT volume's
    (``disk_templateid``/``disk_template_version``, read with listVolumes where the server lists system VM volumes)."""

    id: str
    name: str
    systemvmtype: str
    state: str
    agentstate: str | None
    version: str | None
    templateid: str | None
    templatename: str | None
    template_version: str | None
    zoneid: str | None
    zonename: str | None
    podid: str | None
    hostid: str | None
    clusterid: str | None
    raw: dict[str, t.Any] = field(default_factory=dict, repr=False)
    disk_templateid: str | None = None
    disk_template_version: str | None = None

    @classmethod
    def from_api(cls, item: dict[str, t.Any], cluster_of_host: t.Mapping[str, str]) -> SystemVm:
        return cls(
            id=item["id"],
            name=item.get("name", item["id"]),
            systemvmtype=item.get("systemvmtype", ""),
            state=item.get("state", "Unknown"),
            agentstate=item.get("agentstate"),
            version=item.get("version"),
            templateid=item.get("templateid"),
            templatename=item.get("templatename"),
            template_version=template_version_from_name(item.get("templatename")),
            zoneid=item.get("zoneid"),
            zonename=item.get("zonename"),
            podid=item.get("podid"),
            hostid=item.get("hostid"),
            clusterid=cluster_of_host.get(item.get("hostid") or ""),
            raw=item,
        )

    def as_dict(self) -> dict[str, t.Any]:
        return {name: value for name, value in self.__dict__.items() if name != "raw"}


@dataclass
class Unit:
    """What one restartNetwork or restartVPC acts on."""

    kind: str  # "network" or "vpc"
    id: str
    name: str
    zoneid: str | None
    account: str | None
    domainid: str | None
    routers: list[Router] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)

    @property
    def podids(self) -> list[str]:
        return sorted({router.podid for router in self.routers if router.podid})

    @property
    def clusterids(self) -> list[str]:
        return sorted({router.clusterid for router in self.routers if router.clusterid})

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "zoneid": self.zoneid,
            "account": self.account,
            "domainid": self.domainid,
            "podids": self.podids,
            "clusterids": self.clusterids,
            "tiers": list(self.tiers),
            "routers": [router.id for router in self.routers],
        }


def read_template_versions(client: t.Any, systemvms: t.Sequence[SystemVm]) -> None:
    """Fill in the template version of the system VMs whose template name says none, from the template (one read per template)."""
    found: dict[str, str | None] = {}
    for vm in systemvms:
        if vm.template_version or not vm.templateid:
            continue
        if vm.templateid not in found:
            templates = client.list("listTemplates", "template", templatefilter="all", id=vm.templateid)
            names = [text for template in templates for text in (template.get("name"), template.get("displaytext"))]
            found[vm.templateid] = next((version for version in map(template_version_from_name, names) if version), None)
        vm.template_version = found[vm.templateid]


def read_min_templates(client: t.Any, zoneids: t.Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each zone's minreq.sysvmtemplate.version: one listConfigurations per zone (the setting is zone-scoped,
    NetworkOrchestrationService.MinVRVersion; ListCfgsByCmd with zoneid answers the zone's value, else the global one).

    Returns (zone id -> value, "" when empty; zone id -> error text, for a zone whose read failed).
    """
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for zoneid in zoneids:
        try:
            found = client.list("listConfigurations", "configuration", name=MIN_TEMPLATE_SETTING, zoneid=zoneid)
        except CloudStackError as exc:
            errors[zoneid] = exc.message
            continue
        # name is matched with LIKE by the server: keep the exact setting.
        values[zoneid] = next((str(item.get("value") or "") for item in found if item.get("name") == MIN_TEMPLATE_SETTING), "")
    return values, errors


def read_disk_templates(client: t.Any, systemvms: t.Sequence[SystemVm]) -> bool:
    """Fill in each system VM's disk template from its ROOT volume: one ``listVolumes type=ROOT virtualmachineid=<vm>
    listsystemvms=true listall=true`` per SSVM/CPVM (two per zone), whatever the number of routers and user VMs.

    Not one paged read of every ROOT volume: ListVolumesCmd has no VM-type filter and ``listsystemvms`` only adds the
    system VMs' volumes to every user VM's (QueryManagerImpl.searchForVolumesInternal, 4.18.0.0-4.20.2.0), so that read
    grows with the whole cloud. Returns False (nothing read) where the server lists no system VM volume: before 4.18 it
    leaves out routers', SSVMs' and CPVMs' volumes for every caller; from 4.18.0.0 it lists them with listsystemvms=true
    for a ROOT admin (and listall=true: they belong to the SYSTEM account).
    """
    if not systemvms or not client.has_feature("listVolumes.listsystemvms"):
        return False
    for vm in systemvms:
        for volume in client.list("listVolumes", "volume", type="ROOT", virtualmachineid=vm.id, listsystemvms=True, listall=True):
            if volume.get("virtualmachineid") == vm.id and volume.get("type") == "ROOT":
                vm.disk_templateid = volume.get("templateid")
                vm.disk_template_version = template_version_from_name(volume.get("templatename"))
    # A disk template whose name carries no version: read the template itself (one read per template).
    unnamed = [vm for vm in systemvms if vm.disk_templateid and not vm.disk_template_version]
    found: dict[str, str | None] = {}
    for vm in unnamed:
        if vm.disk_templateid not in found:
            templates = client.list("listTemplates", "template", templatefilter="all", id=vm.disk_templateid)
            names = [text for template in templates for text in (template.get("name"), template.get("displaytext"))]
            found[vm.disk_templateid] = next((version for version in map(template_version_from_name, names) if version), None)
        vm.disk_template_version = found[vm.disk_templateid]
    return True


def zone_min_template(fleet: t.Any, zoneid: str | None) -> str | None:
    """The zone's minreq.sysvmtemplate.version as read into ``fleet`` (a :class:`Fleet` or its dict), or None when it is
    empty, unreadable or was not read (then nothing can be judged current: see ``_matrix.unknown_minimum_reason``)."""
    table = fleet.get("min_template") if isinstance(fleet, t.Mapping) else getattr(fleet, "min_template", None)
    value = (table or {}).get(zoneid or "")
    return str(value) if is_valid_version(value) else None


def resolve(client: t.Any, kind: str, name_or_id: str, **filters: t.Any) -> str:
    """The id of the ``kind`` object called ``name_or_id`` (an id is checked to exist too)."""
    command, key, extra = _LOOKUPS[kind]
    params = dict(extra, **{name: value for name, value in filters.items() if value is not None})
    if kind == "vpc":
        params = with_projects(params)

    def read(**selector: t.Any) -> list[dict[str, t.Any]]:
        return list_networks(client, **selector, **params) if kind == "network" else client.list(command, key, **selector, **params)

    if is_uuid(name_or_id):
        found = read(id=name_or_id)
    else:
        # listNetworks has no name filter: its keyword matches more, the exact name is kept below.
        by_name = {"keyword": name_or_id} if kind == "network" else {"name": name_or_id}
        found = [item for item in read(**by_name) if item.get("name") == name_or_id]
    if not found:
        raise FleetError("no %s with the name or id %r; check the spelling, or list them with acs.upgrade.cs_fleet_info" % (kind, name_or_id))
    if len(found) > 1:
        raise FleetError(
            "the %s name %r is ambiguous (%s); give its id instead"
            % (kind, name_or_id, ", ".join("%s in zone %s" % (i["id"], i.get("zonename", "?")) for i in found))
        )
    return found[0]["id"]


class Fleet:
    """A read of the cloud, optionally narrowed by zone, pod, cluster, domain and account."""

    def __init__(self) -> None:
        self.version = ""
        self.filters: dict[str, str | None] = {}
        self.zones: dict[str, dict[str, t.Any]] = {}
        self.pods: dict[str, dict[str, t.Any]] = {}
        self.clusters: dict[str, dict[str, t.Any]] = {}
        self.hosts: dict[str, dict[str, t.Any]] = {}
        # zone id -> minreq.sysvmtemplate.version, and router.version.check (None: not read): see read_server_rules.
        self.min_template: dict[str, str | None] = {}
        self.router_version_check: bool | None = None
        self.domains: dict[str, dict[str, t.Any]] = {}
        self.accounts: list[dict[str, t.Any]] = []
        self.routers: list[Router] = []
        self.systemvms: list[SystemVm] = []
        self.networks: dict[str, dict[str, t.Any]] = {}
        self.vpcs: dict[str, dict[str, t.Any]] = {}
        # zone id -> its minreq.sysvmtemplate.version ("" when empty), and the zones whose read failed (-> error text)
        self.min_template: dict[str, str] = {}
        self.min_template_errors: dict[str, str] = {}
        # whether system VMs' disk templates were read (listVolumes lists system VM volumes from 4.18 on)
        self.disk_templates_read = False
        self._tiers_index: tuple[dict[str, dict[str, t.Any]] | None, dict[str, set[str]]] = (None, {})

    @classmethod
    def read(
        cls,
        client: t.Any,
        zone: str | None = None,
        pod: str | None = None,
        cluster: str | None = None,
        domain: str | None = None,
        account: str | None = None,
        include_systemvms: bool = True,
        include_accounts: bool = False,
    ) -> Fleet:
        if account and not domain:
            raise FleetError("account %r needs its domain: CloudStack names accounts within a domain; set domain too" % account)
        fleet = cls()
        fleet.version = client.version()
        zoneid = resolve(client, "zone", zone) if zone else None
        podid = resolve(client, "pod", pod, zoneid=zoneid) if pod else None
        clusterid = resolve(client, "cluster", cluster, zoneid=zoneid, podid=podid) if cluster else None
        domainid = resolve(client, "domain", domain) if domain else None
        fleet.filters = {"zoneid": zoneid, "podid": podid, "clusterid": clusterid, "domainid": domainid, "account": account}

        in_zone = {"zoneid": zoneid} if zoneid else {}
        fleet.zones = _by_id(client.list("listZones", "zone", **({"id": zoneid} if zoneid else {})))
        fleet.pods = _by_id(client.list("listPods", "pod", **in_zone))
        fleet.clusters = _by_id(client.list("listClusters", "cluster", **in_zone))
        fleet.hosts = _by_id(client.list("listHosts", "host", type="Routing", **in_zone))
        fleet.domains = _by_id(client.list("listDomains", "domain", listall=True))
        if include_accounts:
            fleet.accounts = client.list("listAccounts", "account", listall=True, **({"domainid": domainid, "isrecursive": True} if domainid else {}))
        cluster_of_host = {host_id: host.get("clusterid") for host_id, host in fleet.hosts.items() if host.get("clusterid")}

        owner = _without_none(domainid=domainid, account=account, isrecursive=True if domainid and not account else None)
        router_filters = _without_none(zoneid=zoneid, podid=podid, clusterid=clusterid, listall=True, **owner)
        fleet.routers = [Router.from_api(item, cluster_of_host) for item in client.list("listRouters", "router", **with_projects(router_filters))]
        if include_systemvms and not (domainid or account):
            vm_filters = _without_none(zoneid=zoneid, podid=podid)
            systemvms = [SystemVm.from_api(item, cluster_of_host) for item in client.list("listSystemVms", "systemvm", **vm_filters)]
            fleet.systemvms = [vm for vm in systemvms if not clusterid or vm.clusterid == clusterid]
            read_template_versions(client, fleet.systemvms)
            fleet.disk_templates_read = read_disk_templates(client, fleet.systemvms)
        fleet.min_template, fleet.min_template_errors = read_min_templates(client, fleet.zones)
        network_filters = _without_none(zoneid=zoneid, listall=True, **owner)
        fleet.networks = _by_id(list_networks(client, **network_filters))
        fleet.vpcs = _by_id(client.list("listVPCs", "vpc", **with_projects(network_filters)))
        read_server_rules(client, fleet)
        return fleet

    def units(self) -> list[Unit]:
        """Routers grouped by the network or VPC a restart acts on, in a stable order (zone, name)."""
        units: dict[tuple[str, str], Unit] = {}
        # A VPC with no router in the read is left out: nothing to patch there.
        for router in self.routers:
            unit = self.unit_of(router, units)
            unit.routers.append(router)
        return sorted(units.values(), key=lambda unit: (self.zone_name(unit.zoneid), unit.kind, unit.name, unit.id))

    def unit_of(self, router: Router, known: dict[tuple[str, str], Unit] | None = None) -> Unit:
        known = {} if known is None else known
        if router.vpcid:
            key = ("vpc", router.vpcid)
            if key not in known:
                vpc = self.vpcs.get(router.vpcid, {})
                known[key] = Unit("vpc", router.vpcid, vpc.get("name", router.raw.get("vpcname", router.vpcid)), router.zoneid, router.account, router.domainid)
                known[key].tiers = self.tiers_of(router.vpcid, vpc)
            return known[key]
        networkid = router.guestnetworkid or ""
        key = ("network", networkid)
        if key not in known:
            network = self.networks.get(networkid, {})
            known[key] = Unit(
                "network", networkid, network.get("name", router.raw.get("guestnetworkname", networkid)), router.zoneid, router.account, router.domainid
            )
        return known[key]

    def tiers_of(self, vpcid: str, vpc: dict[str, t.Any] | None = None) -> list[str]:
        # Indexed once per networks table: a cloud has thousands of VPCs and tens of thousands of networks.
        if self._tiers_index[0] is not self.networks:
            index: dict[str, set[str]] = {}
            for network_id, network in self.networks.items():
                if network.get("vpcid"):
                    index.setdefault(network["vpcid"], set()).add(network_id)
            self._tiers_index = (self.networks, index)
        tiers = set(self._tiers_index[1].get(vpcid, ()))
        tiers.update(network["id"] for network in (vpc or {}).get("network", []) if network.get("id"))
        return sorted(tiers)

    def zone_name(self, zoneid: str | None) -> str:
        return self.zones.get(zoneid or "", {}).get("name", zoneid or "")

    def find_router(self, name_or_id: str) -> Router:
        return _find(((router.id, router.name, router) for router in self.routers), "router", name_or_id)

    def find_systemvm(self, name_or_id: str) -> SystemVm:
        return _find(((vm.id, vm.name, vm) for vm in self.systemvms), "system VM", name_or_id)

    def find_network(self, name_or_id: str) -> str:
        """The id of the network read (listNetworks has no name filter, so names are matched here)."""
        return _find(((i, network.get("name"), i) for i, network in self.networks.items()), "network", name_or_id)

    def find_vpc(self, name_or_id: str) -> str:
        return _find(((i, vpc.get("name"), i) for i, vpc in self.vpcs.items()), "VPC", name_or_id)

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "version": self.version,
            "filters": self.filters,
            "zones": list(self.zones.values()),
            "pods": list(self.pods.values()),
            "clusters": list(self.clusters.values()),
            "min_template": dict(self.min_template),
            "min_template_errors": dict(self.min_template_errors),
            "disk_templates_read": self.disk_templates_read,
            "hosts": list(self.hosts.values()),
            "router_version_check": self.router_version_check,
            "domains": list(self.domains.values()),
            "accounts": self.accounts,
            "systemvms": [vm.as_dict() for vm in self.systemvms],
            "routers": [router.as_dict() for router in self.routers],
            "networks": list(self.networks.values()),
            "vpcs": list(self.vpcs.values()),
            "units": [unit.as_dict() for unit in self.units()],
        }


def _by_id(items: t.Iterable[dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    return {item["id"]: item for item in items}


def _without_none(**params: t.Any) -> dict[str, t.Any]:
    return {name: value for name, value in params.items() if value is not None}


_Found = t.TypeVar("_Found")


def _find(candidates: t.Iterable[tuple[str, str | None, _Found]], kind: str, name_or_id: str) -> _Found:
    """The one candidate (id, name, value) whose id or name is ``name_or_id``."""
    matches = [(object_id, value) for object_id, name, value in candidates if name_or_id in (object_id, name)]
    if not matches:
        raise FleetError(
            "no %s with the name or id %r in the cloud (or in the zone/pod/cluster/domain/account asked for); check the spelling" % (kind, name_or_id)
        )
    if len(matches) > 1:
        raise FleetError(
            "the %s name %r is ambiguous (ids %s); give its id, or narrow with zone/domain/account"
            % (kind, name_or_id, ", ".join(match[0] for match in matches))
        )
    return matches[0][1]


def read_setting(client: t.Any, name: str, **scope: t.Any) -> str | None:
    """One setting's value (``listConfigurations``, whose name filter is a LIKE: the exact name is kept), or None."""
    for item in client.list("listConfigurations", "configuration", name=name, **scope):
        if item.get("name") == name:
            return item.get("value")
    return None


def read_server_rules(client: t.Any, fleet: Fleet) -> None:
    """The two settings NetworkHelperImpl.checkRouterVersion reads: each zone's minreq.sysvmtemplate.version (zone-scoped,
    NetworkOrchestrationService.MinVRVersion) and router.version.check (global). A setting that cannot be read stays None
    (not known), never a guess."""
    # Each zone's minimum is read by read_min_templates (Fleet.read); this adds the global switch.
    value = read_setting(client, "router.version.check")
    fleet.router_version_check = None if value is None else str(value).strip().lower() == "true"
