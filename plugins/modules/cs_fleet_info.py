#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_fleet_info
short_description: Read the system VMs, virtual routers, networks and VPCs of a CloudStack cloud
version_added: 0.1.0
description:
  - Reads the management server version and the fleet an upgrade acts on, page by page, in a few API calls
    even for tens of thousands of routers.
  - Each router gets the cluster of its host (the API gives routers no cluster), and routers are grouped into
    units, the guest network or VPC that one C(restartNetwork) or C(restartVPC) acts on.
  - Can be narrowed to a zone, pod, cluster, domain or account.
  - Reads each zone's C(minreq.sysvmtemplate.version) (one C(listConfigurations) per zone), the current template of that
    zone as CloudStack judges it, and from CloudStack 4.18 the ROOT volume of each system VM (one C(listVolumes) with
    C(virtualmachineid) and C(listsystemvms) per SSVM/CPVM, two per zone, since a paged read of every ROOT volume would
    grow with every router and user VM of the cloud), whose template is the one its disk was made from.
  - Routers, networks and VPCs of projects are read too (C(projectid=-1); not with O(account), which CloudStack
    refuses together with a project).
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.cloudstack
  - acs.upgrade.attributes
  - acs.upgrade.attributes.actiongroup_cloudstack
  - acs.upgrade.selectors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  include_accounts:
    description: Also read the accounts (one more paged call).
    type: bool
    default: true
  dest:
    description:
      - Write the fleet to this file (JSON, mode 0600) and return only its counts, not the fleet itself. Use it for
        large clouds - an AWX job drops event data over about 700 KB - and hand the file to
        M(acs.upgrade.cs_upgrade_plan) (O(acs.upgrade.cs_upgrade_plan#module:fleet_file)).
      - The file is written in check mode too (it only records what was read).
    type: path
    version_added: 0.2.0
"""

EXAMPLES = r"""
- name: Read the whole cloud
  acs.upgrade.cs_fleet_info:
    api_url: https://cloud.example.com/client/api
    api_key: "{{ cs_api_key }}"
    api_secret: "{{ cs_api_secret }}"
  register: fleet

- name: Read one zone with the connection set once for the group
  module_defaults:
    group/acs.upgrade.cloudstack:
      api_url: https://cloud.example.com/client/api
      api_key: "{{ cs_api_key }}"
      api_secret: "{{ cs_api_secret }}"
  block:
    - name: Read zone ch-gva-2
      acs.upgrade.cs_fleet_info:
        zone: ch-gva-2
      register: zone_fleet

    - name: Show the routers that still run a template older than 4.18.0 (requiresupgrade is false after a live patch)
      ansible.builtin.debug:
        msg: "{{ zone_fleet.fleet.routers | rejectattr('version', 'version', '4.18.0', '>=') | map(attribute='name') | list }}"
"""

RETURN = r"""
fleet_file:
  description: The file the fleet was written to.
  returned: when O(dest) is set
  type: str
version:
  description: Management server version.
  returned: when O(dest) is set
  type: str
counts:
  description: How many zones, pods, clusters, system VMs, routers and units (networks/VPCs with routers) were read.
  returned: when O(dest) is set
  type: dict
  sample: {zones: 3, pods: 6, clusters: 12, systemvms: 6, routers: 2000, units: 1655}
fleet:
  description: What was read.
  returned: success, when O(dest) is not set
  type: dict
  contains:
    version:
      description: Management server version (C(cloudstackversion) of C(listCapabilities)).
      type: str
      sample: 4.18.0.0
    filters:
      description: Ids of the zone, pod, cluster and domain the read was narrowed to, and the account.
      type: dict
    zones:
      description: Zones as C(listZones) gives them.
      type: list
      elements: dict
    pods:
      description: Pods as C(listPods) gives them.
      type: list
      elements: dict
    clusters:
      description: Clusters as C(listClusters) gives them.
      type: list
      elements: dict
    hosts:
      description:
        - Routing hosts as C(listHosts type=Routing) gives them, with their agent C(version) and C(state); a live patch
          pushes the payload of the host's agent, so VMs on a host whose agent is older than the server, or that is not
          Up, are not live-patched.
      type: list
      elements: dict
    router_version_check:
      description:
        - The C(router.version.check) setting; true, the server refuses routers on a template below their zone's minimum whose
          scripts checksum is not its own payload's; null when it could not be read.
      type: bool
    domains:
      description: Domains as C(listDomains) gives them.
      type: list
      elements: dict
    accounts:
      description: Accounts as C(listAccounts) gives them (empty unless O(include_accounts)).
      type: list
      elements: dict
    systemvms:
      description:
        - SSVMs and CPVMs with C(id), C(name), C(systemvmtype), C(state), C(agentstate), C(version) (the version its
          agent reports, the management server's once patched or booted under it), C(templateid), C(templatename),
          C(template_version) (of the listed template, from its name or C(listTemplates); after an upgrade always the
          new one, not the one its disk was made from), C(disk_templateid) and C(disk_template_version) (the template
          of its ROOT volume, the one its disk was made from; null before CloudStack 4.18, which lists no system VM
          volume), C(zoneid), C(zonename), C(podid), C(hostid) and the derived C(clusterid).
      type: list
      elements: dict
    routers:
      description:
        - Virtual routers with C(id), C(name), C(state), C(role), C(redundantstate), C(isredundantrouter),
          C(version) (template), C(scriptsversion), C(softwareversion), C(requiresupgrade) (as CloudStack reports it, false
          after a live patch although the template is old, so no proof of the template), C(zoneid), C(zonename),
          C(podid), C(hostid), the derived C(clusterid), C(account), C(domainid), C(domain), C(guestnetworkid), C(vpcid).
      type: list
      elements: dict
    min_template:
      description:
        - Each zone's C(minreq.sysvmtemplate.version), zone id to value (an empty text when the setting is empty). It is
          the current template of the zone; the upgrade sets it from the release's system VM template, which is not the
          server version (4.18.2.0 ships 4.18.1, 4.19.2.0 and 4.19.3.0 ship 4.19.1).
      type: dict
    min_template_errors:
      description: The zones whose C(minreq.sysvmtemplate.version) could not be read, zone id to the error.
      type: dict
    disk_templates_read:
      description: Whether the system VMs' disk templates were read (CloudStack 4.18 and later).
      type: bool
    networks:
      description: Guest networks as C(listNetworks) gives them (VPC tiers carry C(vpcid)).
      type: list
      elements: dict
    vpcs:
      description: VPCs as C(listVPCs) gives them.
      type: list
      elements: dict
    units:
      description:
        - One entry per network or VPC that has routers; C(kind) is C(network) or C(vpc); C(routers) lists router
          ids; C(tiers) lists the tier network ids of a VPC (empty for a VPC without tiers); C(podids) and
          C(clusterids) where its routers run.
      type: list
      elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import (
    CloudStackModule,
    SELECTOR_REQUIRED_BY,
    cloudstack_argument_spec,
    selected,
    selector_argument_spec,
    write_private_json,
)
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, FleetError


class FleetInfo(CloudStackModule):
    def run(self) -> dict:
        try:
            fleet = Fleet.read(
                self.client,
                **selected(self.params),
                include_accounts=self.params["include_accounts"],
            )
        except FleetError as exc:
            self.fail("cannot read the fleet: %s" % exc)
        data = fleet.as_dict()
        dest = self.params["dest"]
        if not dest:
            return {"changed": False, "fleet": data}
        try:
            write_private_json(dest, data)
        except OSError as exc:
            self.fail("cannot write the fleet to %s: %s" % (dest, exc))
        counts = {name: len(data.get(name) or []) for name in ("zones", "pods", "clusters", "systemvms", "routers", "units")}
        return {"changed": False, "fleet_file": dest, "version": data.get("version"), "counts": counts}


def main() -> None:
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            **selector_argument_spec(),
            include_accounts={"type": "bool", "default": True},
            dest={"type": "path"},
        ),
        required_by=SELECTOR_REQUIRED_BY,
        supports_check_mode=True,
    )
    FleetInfo(module).execute()


if __name__ == "__main__":
    main()
