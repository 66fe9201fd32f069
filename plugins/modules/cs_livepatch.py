#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_livepatch
short_description: Live-patch CloudStack system VMs and virtual routers without recreating them
version_added: 0.1.0
description:
  - Pushes the management server's scripts and agent to Running SSVMs, CPVMs and virtual routers and restarts
    only their user-space services, so guest networking keeps running (CloudStack 4.17 or later).
  - System VMs are patched with C(patchSystemVm), one job per VM. Routers can only be patched through their
    network or VPC (C(restartNetwork)/C(restartVPC) with C(livepatch=true) and C(cleanup=false)), one job per
    network or VPC, which patches all its Running routers at once.
  - Every target is checked first and gets a path with a reason, V(livepatch), V(skipped) (nothing to do) or
    V(legacy_required) (management server older than 4.17, template 4.13 or older, VPC without tiers, no Running
    router or system VM not Running, a known regression of the release, a VM on a host whose agent is older than the
    server or not Up, whose reason says to upgrade the agent first); the legacy path is M(acs.upgrade.cs_recreate). The
    path and its reason come from the same decision as the plan of M(acs.upgrade.cs_upgrade_plan), which gives the same
    target the same reason.
  - CloudStack reports success even when a live patch reached nothing, so every router job is verified by
    reading the routers again; a job that succeeded without patching is a failed target, and so is one that left a
    router the management server refuses (template below the zone's C(minreq.sysvmtemplate.version) and a scripts
    checksum that is not the server's payload, when that is known), with the reason "refused by the server".
  - At most O(parallel) jobs run at once; O(max_fail_percentage) stops starting new ones after failures.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.cloudstack
  - acs.upgrade.attributes
  - acs.upgrade.attributes.actiongroup_cloudstack
  - acs.upgrade.selectors
  - acs.upgrade.jobs
attributes:
  check_mode:
    support: full
    details:
      - Makes no call that changes anything and returns the path and reason of every target.
      - A Running system VM whose agent already reports the management server's version is reported V(unchanged);
        any other is reported V(would_patch).
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Networks and VPCs whose Running routers are all live-patched already (C(softwareversion) the management
        server's and C(scriptsversion) its payload's) are skipped without any call that changes anything.
      - System VMs whose agent reports the management server's version (after C(patchSystemVm) or a boot under it)
        are skipped the same way; the others are asked with C(patchSystemVm forced=false), and CloudStack's "No change
        in the scripts checksum" answer is reported as V(unchanged) and leaves C(changed) false.
      - Live-patched is not the same as on the current template, which a live patch never changes. Use
        M(acs.upgrade.cs_recreate), or the plan's O(acs.upgrade.cs_upgrade_plan#module:require_new_template), where the
        template matters.
options:
  system_vms:
    description:
      - System VMs to patch, each a name or id, or V(all), V(ssvm) or V(cpvm) for every (or every such) system VM
        in O(zone), O(pod) and O(cluster) (all zones when not set).
    type: list
    elements: str
  routers:
    description:
      - Routers, by name or id; each stands for its network or VPC, whose routers are all patched by one restart.
      - V(all) selects every network and VPC with routers in O(zone), O(pod), O(cluster), O(domain) and O(account).
    type: list
    elements: str
  networks:
    description:
      - Guest networks, by name or id. A VPC tier stands for its VPC.
    type: list
    elements: str
  vpcs:
    description: VPCs, by name or id.
    type: list
    elements: str
  forced:
    description:
      - Patch even what is already current (routers whose C(softwareversion) equals the management server version,
        system VMs whose scripts checksum matches). The services of those VMs are restarted.
    type: bool
    default: false
  parallel:
    description: Highest number of live patch jobs running at once.
    type: int
    default: 5
  timeout:
    description:
      - Seconds one job may run before its target is reported V(timed_out). The job may still finish on the
        management server; the run ends after at most this many seconds per batch of O(parallel) jobs.
    type: int
    default: 900
  wait:
    description:
      - Wait for the jobs and verify the targets. With V(false) the jobs are only started and their ids returned
        (RV(jobs)); then at most O(parallel) targets may be selected, because nothing would bound them otherwise.
    type: bool
    default: true
notes:
  - O(system_vms) cannot be combined with O(domain) or O(account); the module fails before any call that changes anything.
  - O(max_fail_percentage) defaults to stopping after the first failure because a failed live patch leaves the services of a VM in an unknown state.
  - The order of the routers of a redundant pair cannot be chosen on this path (one restart patches both); such
    targets carry a warning. Use M(acs.upgrade.cs_recreate) where the BACKUP must go first.
  - Routers that are not Running are skipped by CloudStack; they are listed in RV(targets[].routers_not_running).
  - A template 4.14 router or system VM is patched with a warning about remote-access VPN (older strongSwan).
seealso:
  - module: acs.upgrade.cs_recreate
  - module: acs.upgrade.cs_fleet_info
"""

EXAMPLES = r"""
- name: Live-patch the SSVM and CPVM of zone ch-gva-2 and every network and VPC there
  acs.upgrade.cs_livepatch:
    api_url: https://cloud.example.com/client/api
    api_key: "{{ cs_api_key }}"
    api_secret: "{{ cs_api_secret }}"
    zone: ch-gva-2
    system_vms: [all]
    routers: [all]
    parallel: 5
  register: patched

- name: See what would be patched, skipped or sent to the legacy path, changing nothing
  acs.upgrade.cs_livepatch:
    zone: ch-gva-2
    routers: [all]
  check_mode: true
  register: plan

- name: Live-patch two networks and the VPC of router r-42-VM, stopping after any failure
  acs.upgrade.cs_livepatch:
    networks: [web-tier, backoffice]
    routers: [r-42-VM]
    max_fail_percentage: 0

- name: Restart with cleanup the networks and VPCs that cannot be live-patched
  acs.upgrade.cs_recreate:
    target: router
    method: restart_cleanup
    names: "{{ plan.targets | selectattr('kind', 'in', ['network', 'vpc']) | selectattr('recreate_required') | map(attribute='id') | list }}"
  when: plan.summary.legacy_required > 0
"""

RETURN = r"""
ms_version:
  description: Version of the management server (C(cloudstackversion)).
  returned: success
  type: str
  sample: 4.18.0.0
targets:
  description: One entry per system VM, network or VPC selected.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(secondarystoragevm), V(consoleproxy), V(network) or V(vpc).
      type: str
    id:
      description: Id of the system VM, network or VPC.
      type: str
    name:
      description: Its name.
      type: str
    zone:
      description: Zone name.
      type: str
    zoneid:
      description: Zone id.
      type: str
    pods:
      description: Names of the pods its VMs run in.
      type: list
      elements: str
    clusters:
      description: Names of the clusters its VMs run in.
      type: list
      elements: str
    account:
      description: Owner account of a network or VPC.
      type: str
    domain:
      description: Owner domain of a network or VPC.
      type: str
    path:
      description: V(livepatch), V(skipped) (nothing to do) or V(legacy_required) (needs M(acs.upgrade.cs_recreate)).
      type: str
    reason:
      description: Why this path, and the outcome; for a failure what went wrong and what to do.
      type: str
    warnings:
      description: Caveats (template 4.14 and remote-access VPN, redundant pair order, routers not Running).
      type: list
      elements: str
    status:
      description:
        - V(would_patch) (check mode), V(submitted) (O(wait=false)), V(patched), V(unchanged), V(failed),
          V(timed_out), V(not_submitted) (stopped by O(max_fail_percentage), or refused by the management server until
          the submit budget ran out; nothing was started and it is never handed to the legacy path),
          V(outcome_unknown) (the answer was lost and the job could be neither found nor ruled out; nothing was sent
          again, check the target before running again) or V(not_patched) (path not V(livepatch)).
      type: str
    outcome:
      description:
        - What became of the target in the words of the journal and the report of the roles (one vocabulary for the
          modules, the journal and the report), from C(status).
        - V(done) (V(patched), V(unchanged)), V(failed), V(unknown) (V(timed_out), V(outcome_unknown); the job may
          still run), V(submitted) (O(wait=false)), V(not_run) (V(would_patch), V(not_submitted), V(not_patched)).
      type: str
      version_added: 0.2.0
    jobid:
      description: Id of the job, when one was started.
      type: str
    duration:
      description: Seconds from the start of the job to its end.
      type: float
    started:
      description: When the job was started, ISO-8601 UTC (for a report's timeline).
      type: str
    finished:
      description: When the job was seen to end, ISO-8601 UTC.
      type: str
    before:
      description:
        - Per VM name, its C(state), C(version) and, for routers, C(scriptsversion) and C(softwareversion) before the job.
          System VMs carry no C(scriptsversion) or C(softwareversion) in the API; their C(version) is their agent's, and
          C(template_version) their template's.
      type: dict
    after:
      description: The same, read again after the job.
      type: dict
    routers:
      description: Names of the routers of a network or VPC.
      type: list
      elements: str
    routers_touched:
      description: Routers verified to run the management server's software after the job.
      type: list
      elements: str
    routers_not_running:
      description:
        - Routers that were not Running, which the live patch does not reach.
        - The same restart (without cleanup) starts the Stopped ones afterwards, from the current template with their host agent's scripts.
      type: list
      elements: str
    recreate_required:
      description: Whether the target needs the legacy path (V(legacy_required), or a failed live patch).
      type: bool
summary:
  description: Counts of targets per path and per status.
  returned: always
  type: dict
  sample: {targets: 4, livepatch: 3, skipped: 0, legacy_required: 1, patched: 2, unchanged: 1, failed: 0, timed_out: 0,
           not_submitted: 0, outcome_unknown: 0, not_patched: 1, would_patch: 0, submitted: 0}
jobs:
  description: Kind, id, name and job id of every target a job was started for.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import (
    CloudStackModule,
    SELECTOR_REQUIRED_BY,
    cloudstack_argument_spec,
    job_argument_spec,
    job_option_problems,
    selector_argument_spec,
)
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import FleetError
from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import LivePatcher


class LivePatch(CloudStackModule):
    def run(self) -> dict:
        try:
            result = LivePatcher(self.client, self.params, self.module.check_mode).execute()
        except (FleetError, ValueError) as exc:
            self.fail("cannot live-patch: %s" % exc)
        if result.get("failed"):
            self.fail(result.pop("msg"), **result)
        return result


def main() -> None:
    names = {"type": "list", "elements": "str"}
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            system_vms=dict(names),
            routers=dict(names),
            networks=dict(names),
            vpcs=dict(names),
            **selector_argument_spec(),
            **job_argument_spec(),
            forced={"type": "bool", "default": False},
            parallel={"type": "int", "default": 5},
            timeout={"type": "int", "default": 900},
            wait={"type": "bool", "default": True},
        ),
        required_one_of=[("system_vms", "routers", "networks", "vpcs")],
        required_by=SELECTOR_REQUIRED_BY,
        supports_check_mode=True,
    )
    problems = [
        message
        for message, bad in (
            ("parallel must be 1 or more", module.params["parallel"] < 1),
            ("timeout must be 1 second or more", module.params["timeout"] < 1),
        )
        if bad
    ] + job_option_problems(module.params)
    if problems:
        module.fail_json(msg="invalid options for cs_livepatch: %s" % "; ".join(problems))
    LivePatch(module).execute()


if __name__ == "__main__":
    main()
