# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudstack
short_description: CloudStack virtual routers and system VMs as an inventory, grouped the way an upgrade runs
version_added: 0.1.0
description:
  - Reads the virtual routers, SSVMs and CPVMs of a CloudStack cloud (page by page, in a few API calls even for tens
    of thousands of routers, as M(acs.upgrade.cs_fleet_info) does) and makes each one a host.
  - Hosts are grouped by zone, pod, cluster, account, domain, redundant role, template version, whether CloudStack
    says they require an upgrade, and network or VPC; see O(group_prefix) and the notes for the group names.
  - Uses the connection options, environment variables and C(cloudstack.ini) of the modules of this collection.
  - The inventory file name must end with C(cloudstack.yml) or C(cloudstack.yaml).
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - acs.upgrade.selectors
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory of this plugin.
    required: true
    type: str
    choices: [acs.upgrade.cloudstack]
  api_url:
    description:
      - URL of the CloudStack API, for example V(https://cloud.example.com/client/api).
      - If not set, the C(endpoint) of the O(api_region) section of the C(cloudstack.ini) file is used.
    type: str
    env:
      - name: CLOUDSTACK_ENDPOINT
  api_key:
    description:
      - API key of a CloudStack user that may list routers and system VMs (a root admin for the whole cloud).
      - If not set, C(key) of the C(cloudstack.ini) section is used.
    type: str
    env:
      - name: CLOUDSTACK_KEY
  api_secret:
    description:
      - Secret key that signs the requests. It is never sent, logged or stored in the inventory or its cache.
      - If not set, C(secret) of the C(cloudstack.ini) section is used.
    type: str
    env:
      - name: CLOUDSTACK_SECRET
  api_timeout:
    description: HTTP timeout of one API request, in seconds; then C(timeout) of the C(cloudstack.ini) section, then V(10).
    type: int
    env:
      - name: CLOUDSTACK_TIMEOUT
  api_verify_ssl_cert:
    description: Whether to verify the TLS certificate of the API endpoint; V(true), V(false), or the path of a CA bundle.
    type: str
    env:
      - name: CLOUDSTACK_VERIFY
  api_http_method:
    description: HTTP method of the requests.
    type: str
    choices: [get, post]
    env:
      - name: CLOUDSTACK_METHOD
  api_region:
    description:
      - Section of the C(cloudstack.ini) file to read the connection from (default V(cloudstack)).
      - The file is E(CLOUDSTACK_CONFIG), else C(./cloudstack.ini), else C(~/.cloudstack.ini).
    type: str
    env:
      - name: CLOUDSTACK_REGION
  api_signature_version:
    description: Request signature version; V(3) adds an expiry to every request, V(2) is for old management servers.
    type: int
    choices: [2, 3]
    default: 3
  include_routers:
    description: Make the virtual routers hosts.
    type: bool
    default: true
  include_systemvms:
    description: Make the SSVMs and CPVMs hosts.
    type: bool
    default: true
  hostnames:
    description: What names a host, V(name) (C(r-42-VM), C(s-1-VM)) or V(id) (the UUID).
    type: str
    choices: [name, id]
    default: name
  group_prefix:
    description: Prefix of the group names this plugin makes (not of O(groups) and O(keyed_groups)).
    type: str
    default: cloudstack_
  filters:
    description:
      - The hosts to keep out of those read (O(zone) and the other selectors narrow what is read in the first place).
        A host is kept when it matches every key given; a key takes one value or a list, of which the host matches one.
      - Keys C(zones), C(pods), C(clusters) (names or ids); C(domains) (paths such as C(ROOT/customers), names or
        ids); C(accounts) (names, or C(DOMAIN_PATH/ACCOUNT)); C(hypervisors) (for example V(KVM), V(VMware));
        C(kinds) (V(router), V(ssvm), V(cpvm)); C(states) (for example V(Running), V(Stopped)); C(names) (host
        names or ids). Hypervisors and states match in any case.
      - An empty O(filters) keeps every host read.
    version_added: 0.2.0
    type: dict
    default: {}
  include_filters:
    description:
      - More hosts (as in amazon.aws.aws_ec2), a list of dictionaries like O(filters); a host that matches one of
        them is kept too.
    version_added: 0.2.0
    type: list
    elements: dict
    default: []
  exclude_filters:
    description:
      - Hosts left out, a list of dictionaries like O(filters); a host that matches one of them is left out, whatever
        O(filters) and O(include_filters) say.
    version_added: 0.2.0
    type: list
    elements: dict
    default: []
notes:
  - "Groups (with the default O(group_prefix)): C(cloudstack_routers), C(cloudstack_systemvms),
    C(cloudstack_ssvm), C(cloudstack_cpvm); C(cloudstack_zone_NAME), C(cloudstack_pod_NAME),
    C(cloudstack_cluster_NAME), C(cloudstack_domain_PATH), C(cloudstack_account_DOMAIN_ACCOUNT);
    C(cloudstack_role_primary) and C(cloudstack_role_backup) (redundant routers); C(cloudstack_template_VERSION)
    (routers); C(cloudstack_requiresupgrade) (routers CloudStack reports C(requiresupgrade) for, which turns false after a
    live patch) and C(cloudstack_current_template) (routers whose template is at or above their zone's
    C(minreq.sysvmtemplate.version), and system VMs whose ROOT volume template is, read from CloudStack 4.18 on);
    C(cloudstack_network_NAME) and C(cloudstack_vpc_NAME) (routers); C(cloudstack_hypervisor_NAME) (lower case, for
    example C(cloudstack_hypervisor_kvm)). Names are made safe for Ansible (dots and dashes become underscores)."
  - "Host variables: C(acs), a dictionary with C(kind) (V(router), V(ssvm) or V(cpvm)), C(id), C(name), C(state),
    C(zone), C(zone_id), C(pod), C(pod_id), C(cluster), C(cluster_id), C(host_id), C(host_ip) (the
    hypervisor host's address), C(hypervisor) (for example V(KVM)), C(version) (the template
    version of a router; the agent version of a system VM), C(template), C(scripts_version), C(software_version),
    C(requiresupgrade), C(min_template) (the zone's C(minreq.sysvmtemplate.version)), C(current_template) (the
    template at or above it; for a system VM its ROOT volume's template, never current where that cannot be read),
    C(disk_template) (a system VM's ROOT volume template version, 4.18 and later), C(role), C(redundant), C(account),
    C(domain), C(domain_id), C(network), C(network_id),
    C(vpc), C(vpc_id), C(unit) (the C(network:ID) or C(vpc:ID) key of the plan), C(health) (V(passing),
    V(failing) or V(unknown), from C(healthchecksfailed) of C(listRouters), 4.16 and later), C(linklocal_ip)
    (and C(agent_state) for system VMs); a key without a value (a router outside a VPC has no C(vpc)) is left
    out. And C(ansible_host), the link-local address, for a VM that is Running (a Stopped one has none to reach).
    In O(compose), O(groups) and O(keyed_groups) write for example C(acs.account)."
  - C(ansible_host) is the link-local (control) address of the VM, reachable only from the hypervisor host it runs on.
    To run M(acs.upgrade.cs_vr_health) with C(source=local) on the routers, connect through that host as a jump,
    port 3922, user root, the system VM key of the management server (C(/var/lib/cloudstack/management/.ssh/id_rsa)),
    and C(ansible_ssh_common_args) with C(-J root@) and C(acs.host_ip), as in the examples.
  - "As an AWX inventory source: a source Sourced from a project with this file, and a credential of the type
    C(CloudStack API (acs.upgrade)) (awx/credential_type.yml), which sets E(CLOUDSTACK_ENDPOINT), E(CLOUDSTACK_KEY),
    E(CLOUDSTACK_SECRET) and E(CLOUDSTACK_VERIFY)."
  - The cache (O(cache)) holds the hosts and their variables, never the connection settings. Its entries belong to
    the endpoint and the API key they were read with, so the same file pointed at another cloud (E(CLOUDSTACK_REGION),
    E(CLOUDSTACK_ENDPOINT)) never answers with the first cloud's hosts.
"""

EXAMPLES = r"""
# upgrade.cloudstack.yml: every router and system VM, connection from CLOUDSTACK_ENDPOINT/KEY/SECRET or cloudstack.ini
plugin: acs.upgrade.cloudstack
---
# zone-a.cloudstack.yml: one zone, cached for an hour, with own groups and variables
plugin: acs.upgrade.cloudstack
zone: zone-a
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/acs-upgrade-inventory
cache_timeout: 3600
filters:
  hypervisors: [KVM]
exclude_filters:
  - states: [Stopped]
keyed_groups:
  - key: acs.account
    prefix: owner
groups:
  old_routers: acs.kind == 'router' and acs.version is version('4.15', '<')
---
# two-zones.cloudstack.yml: the routers of two zones, and the system VMs of one of them
plugin: acs.upgrade.cloudstack
filters:
  zones: [zone-a, zone-b]
  kinds: router
include_filters:
  - zones: zone-a
    kinds: [ssvm, cpvm]
compose:
  # source=local health checks over the hypervisor host as a jump
  ansible_user: "'root'"
  ansible_port: "3922"
  ansible_ssh_private_key_file: "'~/.ssh/id_rsa.cloud'"
  ansible_ssh_common_args: "'-J root@' ~ acs.host_ip"
"""

import hashlib
import typing as t

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.acs.upgrade.plugins.module_utils._api import HAS_REQUESTS, CloudStackError, redact
from ansible_collections.acs.upgrade.plugins.module_utils._common import MissingConnectionSettings, client_from_params
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, FleetError, zone_min_template
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import template_is_current

_CONNECTION_OPTIONS = ("api_url", "api_key", "api_secret", "api_timeout", "api_verify_ssl_cert", "api_http_method", "api_region", "api_signature_version")
_SYSTEMVM_KINDS = {"secondarystoragevm": "ssvm", "consoleproxy": "cpvm"}
# What a key of filters, include_filters and exclude_filters matches: the host's values it is compared with.
_FILTER_VALUES: dict[str, t.Callable[[dict[str, t.Any]], tuple[t.Any, ...]]] = {
    "zones": lambda acs: (acs.get("zone"), acs.get("zone_id")),
    "pods": lambda acs: (acs.get("pod"), acs.get("pod_id")),
    "clusters": lambda acs: (acs.get("cluster"), acs.get("cluster_id")),
    "domains": lambda acs: (acs.get("domain"), acs.get("domain_id"), (acs.get("domain") or "").rsplit("/", 1)[-1] or None),
    "accounts": lambda acs: (acs.get("account"), "%s/%s" % (acs.get("domain"), acs.get("account")) if acs.get("account") else None),
    "hypervisors": lambda acs: ((acs.get("hypervisor") or "").casefold() or None,),
    "kinds": lambda acs: (acs.get("kind"),),
    "states": lambda acs: ((acs.get("state") or "").casefold() or None,),
    "names": lambda acs: (acs.get("name"), acs.get("id")),
}
_CASE_INSENSITIVE = ("hypervisors", "states")


def _health(raw: dict[str, t.Any]) -> str:
    failed = raw.get("healthchecksfailed")
    if failed is None:
        return "unknown"
    return "failing" if str(failed).lower() == "true" else "passing"


def host_filter(spec: t.Any, where: str) -> dict[str, set[str]]:
    """A filter dictionary checked and made into key -> accepted values (one value or a list each)."""
    if not isinstance(spec, dict):
        raise AnsibleParserError("acs.upgrade.cloudstack inventory: %s must be a dictionary of %s, not %r" % (where, ", ".join(_FILTER_VALUES), spec))
    unknown = sorted(set(spec) - set(_FILTER_VALUES))
    if unknown:
        raise AnsibleParserError(
            "acs.upgrade.cloudstack inventory: %s has the unknown key(s) %s; the keys are %s" % (where, ", ".join(unknown), ", ".join(_FILTER_VALUES))
        )
    accepted = {}
    for key, values in spec.items():
        values = values if isinstance(values, list) else [values]
        accepted[key] = {str(value).casefold() if key in _CASE_INSENSITIVE else str(value) for value in values if value is not None}
    return accepted


def host_matches(variables: dict[str, t.Any], accepted: dict[str, set[str]]) -> bool:
    """Whether the host (its ``acs`` variables) matches every key of the filter."""
    return all(any(value is not None and str(value) in values for value in _FILTER_VALUES[key](variables)) for key, values in accepted.items())


def fleet_hosts(fleet: Fleet, include_routers: bool = True, include_systemvms: bool = True) -> list[dict[str, t.Any]]:
    """One entry per router and system VM: its variables and the (kind, value) pairs it is grouped by."""
    zones = {zid: zone.get("name", zid) for zid, zone in fleet.zones.items()}
    pods = {pid: pod.get("name", pid) for pid, pod in fleet.pods.items()}
    clusters = {cid: cluster.get("name", cid) for cid, cluster in fleet.clusters.items()}
    domains = {did: domain.get("path") or domain.get("name", did) for did, domain in fleet.domains.items()}
    hosts = []
    for vm in fleet.systemvms if include_systemvms else []:
        kind = _SYSTEMVM_KINDS.get(vm.systemvmtype, vm.systemvmtype)
        variables = {
            "kind": kind,
            "id": vm.id,
            "name": vm.name,
            "state": vm.state,
            "agent_state": vm.agentstate,
            "zone": zones.get(vm.zoneid or "", vm.zonename),
            "zone_id": vm.zoneid,
            "pod": pods.get(vm.podid or ""),
            "pod_id": vm.podid,
            "cluster": clusters.get(vm.clusterid or ""),
            "cluster_id": vm.clusterid,
            "host_id": vm.hostid,
            "host_ip": fleet.hosts.get(vm.hostid or "", {}).get("ipaddress"),
            "hypervisor": vm.raw.get("hypervisor") or fleet.hosts.get(vm.hostid or "", {}).get("hypervisor"),
            "version": vm.version,
            "template": vm.raw.get("templatename"),
            "disk_template": vm.disk_template_version,
            "min_template": zone_min_template(fleet, vm.zoneid),
            "current_template": bool(vm.disk_template_version) and template_is_current(vm.disk_template_version, zone_min_template(fleet, vm.zoneid)),
            "linklocal_ip": vm.raw.get("linklocalip"),
        }
        groups = [("systemvms", ""), (kind, ""), ("zone", variables["zone"]), ("pod", variables["pod"]), ("cluster", variables["cluster"])]
        groups.append(("hypervisor", variables["hypervisor"].lower() if variables["hypervisor"] else None))
        if variables["current_template"]:
            groups.append(("current_template", ""))
        hosts.append({"id": vm.id, "name": vm.name, "vars": variables, "groups": groups})
    for router in fleet.routers if include_routers else []:
        network = fleet.networks.get(router.guestnetworkid or "", {})
        vpc = fleet.vpcs.get(router.vpcid or "", {})
        unit = fleet.unit_of(router)
        role = router.redundantstate if router.isredundantrouter else None
        variables = {
            "kind": "router",
            "id": router.id,
            "name": router.name,
            "state": router.state,
            "zone": zones.get(router.zoneid or "", router.zonename),
            "zone_id": router.zoneid,
            "pod": pods.get(router.podid or ""),
            "pod_id": router.podid,
            "cluster": clusters.get(router.clusterid or ""),
            "cluster_id": router.clusterid,
            "host_id": router.hostid,
            "host_ip": fleet.hosts.get(router.hostid or "", {}).get("ipaddress"),
            "hypervisor": router.raw.get("hypervisor") or fleet.hosts.get(router.hostid or "", {}).get("hypervisor"),
            "version": router.version,
            "template": router.raw.get("templatename"),
            "scripts_version": router.scriptsversion,
            "software_version": router.softwareversion,
            "requiresupgrade": router.requiresupgrade,
            "min_template": zone_min_template(fleet, router.zoneid),
            "current_template": template_is_current(router.version, zone_min_template(fleet, router.zoneid)),
            "redundant": router.isredundantrouter,
            "role": role,
            "account": router.account,
            "domain": domains.get(router.domainid or "", router.domain),
            "domain_id": router.domainid,
            "network": network.get("name") or router.raw.get("guestnetworkname") if router.guestnetworkid else None,
            "network_id": router.guestnetworkid,
            "vpc": vpc.get("name") or router.raw.get("vpcname") if router.vpcid else None,
            "vpc_id": router.vpcid,
            "unit": "%s:%s" % (unit.kind, unit.id),
            "health": _health(router.raw),
            "linklocal_ip": router.raw.get("linklocalip"),
        }
        groups = [
            ("routers", ""),
            ("zone", variables["zone"]),
            ("pod", variables["pod"]),
            ("cluster", variables["cluster"]),
            ("hypervisor", variables["hypervisor"].lower() if variables["hypervisor"] else None),
            ("domain", variables["domain"]),
            ("account", "%s_%s" % (variables["domain"], router.account) if router.account else None),
            ("role", role.lower() if role in ("PRIMARY", "BACKUP") else None),
            ("template", router.version),
            ("requiresupgrade", "") if router.requiresupgrade else (None, None),
            ("current_template", "") if variables["current_template"] else (None, None),
            ("network", variables["network"]),
            ("vpc", variables["vpc"]),
        ]
        hosts.append({"id": router.id, "name": router.name, "vars": variables, "groups": groups})
    return hosts


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "acs.upgrade.cloudstack"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("cloudstack.yml", "cloudstack.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if not HAS_REQUESTS:
            raise AnsibleError("the acs.upgrade.cloudstack inventory needs the Python package requests: pip install -r requirements.txt of the collection")
        params = {name: self.get_option(name) for name in _CONNECTION_OPTIONS}
        kept = host_filter(self.get_option("filters"), "filters")
        included = [host_filter(spec, "include_filters entry %d" % number) for number, spec in enumerate(self.get_option("include_filters"), 1)]
        excluded = [host_filter(spec, "exclude_filters entry %d" % number) for number, spec in enumerate(self.get_option("exclude_filters"), 1)]
        try:
            client = client_from_params(params)
        except MissingConnectionSettings as exc:
            raise AnsibleParserError(
                "acs.upgrade.cloudstack inventory %s: missing CloudStack connection settings: %s. Set them in the inventory file (api_url, api_key, "
                "api_secret), with the environment variables CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY and CLOUDSTACK_SECRET (in AWX: a credential of the type "
                "CloudStack API (acs.upgrade) on the inventory source), or in the [%s] section of cloudstack.ini (CLOUDSTACK_CONFIG, ./cloudstack.ini "
                "or ~/.cloudstack.ini)" % (path, ", ".join(exc.missing), exc.region)
            ) from None
        except ValueError as exc:
            raise AnsibleParserError("acs.upgrade.cloudstack inventory: %s" % redact(str(exc), params["api_secret"])) from None
        # The same file may reach another cloud (CLOUDSTACK_ENDPOINT, CLOUDSTACK_REGION, cloudstack.ini): the cache
        # entry belongs to the cloud and the key it was read with (a digest of them; the secret plays no part).
        cloud = hashlib.sha256(("%s\n%s" % (client.endpoint, client.api_key)).encode("utf-8")).hexdigest()[:16]
        cache_key = "%s_%s" % (self.get_cache_key(path), cloud)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        hosts = None
        if use_cache:
            try:
                hosts = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if hosts is None:
            hosts = self._read_hosts(client, params["api_secret"])
        if update_cache:
            self._cache[cache_key] = hosts
        # Filtered after the cache: the cache holds what was read, so a changed filter needs no new read.
        hosts = [
            host
            for host in hosts
            if (host_matches(host["vars"], kept) or any(host_matches(host["vars"], spec) for spec in included))
            and not any(host_matches(host["vars"], spec) for spec in excluded)
        ]
        self._populate(hosts)

    def _read_hosts(self, client: t.Any, secret: str | None) -> list[dict[str, t.Any]]:
        params = {"api_secret": secret}
        try:
            fleet = Fleet.read(
                client,
                zone=self.get_option("zone"),
                pod=self.get_option("pod"),
                cluster=self.get_option("cluster"),
                domain=self.get_option("domain"),
                account=self.get_option("account"),
                include_systemvms=self.get_option("include_systemvms"),
            )
        except (ValueError, FleetError) as exc:
            raise AnsibleParserError("acs.upgrade.cloudstack inventory: %s" % redact(str(exc), params["api_secret"])) from None
        except CloudStackError as exc:
            raise AnsibleError("acs.upgrade.cloudstack inventory cannot read the fleet: %s" % redact(exc.message, params["api_secret"])) from None
        return fleet_hosts(fleet, self.get_option("include_routers"), self.get_option("include_systemvms"))

    def _populate(self, hosts: list[dict[str, t.Any]]) -> None:
        prefix = self.get_option("group_prefix")
        by_id = self.get_option("hostnames") == "id"
        strict = self.get_option("strict")
        for host in hosts:
            name = host["id"] if by_id else host["name"]
            self.inventory.add_host(name)
            for kind, value in host["groups"]:
                if value is None:
                    continue
                group = self.inventory.add_group(to_safe_group_name("%s%s%s" % (prefix, kind, "_%s" % value if value else ""), force=True, silent=True))
                self.inventory.add_child(group, name)
            # One variable per host (a dict), and unset values left out: with ten thousand hosts, every variable
            # set costs (a flat set of 25 variables took four times as long to load).
            details = {key: value for key, value in host["vars"].items() if value is not None}
            variables = {"acs": details}
            # A VM that is not Running has no address to reach (CloudStack may still list its last one).
            if details.get("linklocal_ip") and details.get("state") == "Running":
                variables["ansible_host"] = details["linklocal_ip"]
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
