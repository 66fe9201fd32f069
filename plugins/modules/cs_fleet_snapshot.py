#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_fleet_snapshot
short_description: Write a snapshot of a CloudStack cloud that the simulator can replay
version_added: 0.2.0
description:
  - Reads the cloud with read-only calls only (the same read as M(acs.upgrade.cs_fleet_info), plus C(listProjects), the
    C(router.health.checks.enabled) setting and C(listAsyncJobs)) and writes it to a JSON file (mode 0600).
  - The snapshot holds zones, pods, clusters, hosts (hypervisor, agent version, state), domains, accounts, projects, system
    VMs, routers (template version, scripts checksum, software version, redundant state, whether health checks failed),
    networks, VPCs with their tiers, the settings the plan reads, and the durations of the cloud's recent async jobs by
    command (C(restartNetwork), C(restartVPC), C(patchSystemVm), C(rebootRouter) ...) with the number of routers each
    acted on.
  - Only the fields listed above are kept from each object, so no key, secret or password is ever written.
  - C(acs-sim --from-snapshot FILE) serves a cloud of the same shape, and C(acs.upgrade.rehearse) replays the upgrade on it.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.cloudstack
  - acs.upgrade.attributes
  - acs.upgrade.attributes.actiongroup_cloudstack
attributes:
  check_mode:
    support: full
    details: The file is written in check mode too; the module only reads the cloud.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: The file changes when the cloud does (states, job history, the time it was taken).
options:
  dest:
    description: The file to write the snapshot to (JSON, mode 0600).
    type: path
    required: true
  anonymize:
    description:
      - Replace every name and id by a made-up one, consistently (an object keeps its new id and name everywhere), so the
        snapshot can be shared. Counts, versions, states, redundancy, tiers, settings and job durations stay.
    type: bool
    default: false
  job_history_days:
    description: How many days of async jobs to read (C(listAsyncJobs startdate)).
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Write a snapshot of the cloud
  acs.upgrade.cs_fleet_snapshot:
    api_url: https://cloud.example.com/client/api
    api_key: "{{ cs_api_key }}"
    api_secret: "{{ cs_api_secret }}"
    dest: /var/tmp/upgrade/snapshot.json

- name: Write one that can be shared
  acs.upgrade.cs_fleet_snapshot:
    dest: /var/tmp/upgrade/snapshot-anonymized.json
    anonymize: true
"""

RETURN = r"""
snapshot_file:
  description: The file the snapshot was written to.
  returned: success
  type: str
version:
  description: Management server version.
  returned: success
  type: str
counts:
  description: How many objects of each kind the snapshot holds.
  returned: success
  type: dict
  sample: {zones: 3, pods: 6, clusters: 12, hosts: 24, systemvms: 6, routers: 2000, networks: 1800, vpcs: 150}
jobs:
  description: Per command, how many finished jobs were read and their durations in seconds (min, median, p90, max).
  returned: success
  type: dict
  sample: {restartNetwork: {count: 42, failed: 1, seconds: {min: 31.0, median: 48.0, p90: 75.0, max: 96.0}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import CloudStackModule, cloudstack_argument_spec, write_private_json
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import FleetError
from ansible_collections.acs.upgrade.plugins.module_utils._snapshot import anonymize, read_snapshot


class FleetSnapshot(CloudStackModule):
    def run(self) -> dict:
        if self.params["job_history_days"] < 0:
            self.fail("job_history_days must be 0 or more")
        try:
            snapshot = read_snapshot(self.client, job_history_days=self.params["job_history_days"])
        except FleetError as exc:
            self.fail("cannot read the cloud for a snapshot: %s" % exc)
        if self.params["anonymize"]:
            snapshot = anonymize(snapshot)
        dest = self.params["dest"]
        try:
            write_private_json(dest, snapshot)
        except OSError as exc:
            self.fail("cannot write the snapshot to %s: %s" % (dest, exc))
        jobs = {command: {name: value for name, value in entry.items() if name != "samples"} for command, entry in snapshot["jobs"].items()}
        return {"changed": False, "snapshot_file": dest, "version": snapshot["managementserver"]["version"], "counts": snapshot["counts"], "jobs": jobs}


def main() -> None:
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            dest={"type": "path", "required": True},
            anonymize={"type": "bool", "default": False},
            job_history_days={"type": "int", "default": 30},
        ),
        supports_check_mode=True,
    )
    FleetSnapshot(module).execute()


if __name__ == "__main__":
    main()
