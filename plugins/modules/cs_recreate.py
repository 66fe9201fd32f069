#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_recreate
short_description: Recreate CloudStack system VMs and virtual routers from the current template (legacy upgrade path)
version_added: 0.1.0
description:
  - The legacy upgrade path, for template changes, kernel or JRE fixes and templates that cannot be live-patched
    (see M(acs.upgrade.cs_livepatch)). Works with every management server version; never needs the unauthenticated port 8096.
  - "System VMs (SSVM, CPVM): O(method=reboot) (C(rebootSystemVm) with C(forced), a stop and start), O(method=stop_start)
    (C(stopSystemVm) then C(startSystemVm)), or O(method=destroy) (C(destroySystemVm); the module then waits until
    CloudStack runs a new system VM of the same type in that zone and reports its id)."
  - "Routers: O(method=restart_cleanup) (C(restartNetwork) or C(restartVPC) with C(cleanup): a rolling restart that deploys a
    new router before it removes the old one), O(method=reboot) (C(rebootRouter)), or O(method=upgrade_template)
    (C(upgradeRouterTemplate), which reboots the routers whose template is older than their zone's
    C(minreq.sysvmtemplate.version))."
  - "Redundant router pairs are rebooted BACKUP first; the PRIMARY is rebooted only once the pair has settled again with
    exactly one PRIMARY, so the network always keeps a working router. CloudStack writes C(redundantstate) only every
    C(router.check.interval) seconds (30, CheckRouterTask): a Running pair with an UNKNOWN router is read again for up to
    60 seconds (at most O(timeout)) before it counts as unsettled."
  - "A destroyed SSVM or CPVM's replacement counts once it is Running and its agent is Up: its C(agentstate) (its host's
    status) is Connecting first."
  - "Routers are never destroyed: C(destroyRouter) on the only router of a network cannot be undone by a restart without
    cleanup, and on one router of a redundant pair it leaves the network without redundancy. O(method=destroy) with
    O(target=router) is refused with the reason; O(method=restart_cleanup) recreates routers safely."
  - At most O(parallel) jobs run at once. Each target is verified by reading it again after its job.
  - The current template is each zone's C(minreq.sysvmtemplate.version) (read once per zone with C(listConfigurations)),
    which the upgrade sets from the release's system VM template; it is not derived from the server version (4.18.2.0
    ships template 4.18.1, 4.19.2.0 and 4.19.3.0 ship 4.19.1). A zone whose setting is empty or unreadable has no target
    judged current; its targets are skipped with the reason unless O(force=true).
  - Routers already on the current template (their C(version) at or above their zone's minimum) are left alone unless
    O(force=true). C(requiresupgrade) is not used, since CloudStack reports it false after a live patch although the
    template did not change. What is left alone, skipped or recreated, and why, comes from the same decision as the plan
    of M(acs.upgrade.cs_upgrade_plan).
  - "System VMs: from CloudStack 4.18 the template a system VM's disk was made from is read from its ROOT volume
    (C(listVolumes) with C(virtualmachineid) and C(listsystemvms)); one already at or above its zone's minimum is left alone unless
    O(force=true). On 4.17 the API lists no system VM volume and C(templatename) names the new template before the VM is
    recreated (the upgrade repoints every system VM), so a selected system VM is always recreated there; the playbooks
    journal each one recreated, so a rerun does not recreate it again."
  - A recreated system VM is verified Running with a disk template (its ROOT volume's, on 4.17 the listed one) at or above
    its zone's minimum; a recreated router with a C(version) at or above it.
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
    details: Reads only; every target says what would happen (C(would_recreate), C(unchanged) or C(skipped)) and why.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run finds every target on its zone's minimum template and makes no change (on 4.17, system VMs are
      recreated whenever selected; the playbooks' journal keeps them from being recreated twice).
options:
  target:
    description: What to recreate.
    type: str
    required: true
    choices: [systemvm, router]
  method:
    description:
      - How to recreate. For O(target=systemvm) one of V(reboot) (default), V(stop_start), V(destroy).
      - For O(target=router) one of V(restart_cleanup) (default), V(reboot), V(upgrade_template).
        V(destroy) is refused for routers (see the description).
    type: str
    choices: [reboot, stop_start, destroy, restart_cleanup, upgrade_template]
  names:
    description:
      - Names or ids of the system VMs or routers to act on; all of them in the zone, pod, cluster, domain or account
        if not set.
      - For routers, an entry may also be the name or id of a network or VPC, meaning all of its routers.
      - An empty list is refused, so that a selection that came out empty never recreates the whole zone; leave
        O(names) out to act on all of them.
    type: list
    elements: str
  systemvm_type:
    description: Only system VMs of this type.
    type: str
    choices: [consoleproxy, secondarystoragevm]
  force:
    description:
      - Recreate routers and system VMs that are already on their zone's C(minreq.sysvmtemplate.version) too (on 4.17
        system VMs are recreated whether or not, their disk template being unknown there).
      - Not with O(method=upgrade_template), because CloudStack only ever upgrades routers below their zone's
        C(minreq.sysvmtemplate.version).
    type: bool
    default: false
  server_side:
    description:
      - With O(method=upgrade_template), send one C(upgradeRouterTemplate) for the whole O(zone), O(pod), O(cluster) or
        O(domain) (with O(account)) - exactly one of them - and follow the reboot jobs CloudStack queues.
      - CloudStack then reboots every such router at once, so O(parallel) does not apply and redundant pairs are not
        ordered. With the default V(false) the module sends one call per router (selector C(id)), at most O(parallel)
        at a time, BACKUP before PRIMARY.
    type: bool
    default: false
  parallel:
    description: Most jobs in flight at once. System VMs with O(method=stop_start) are handled in groups of this size.
    type: int
    default: 2
  timeout:
    description:
      - Seconds one job may run, and the longest wait for a redundant pair to settle or for a destroyed system VM's
        replacement to run with its agent Up. A job still running then is reported as C(timed_out) (it may still finish
        in CloudStack).
    type: int
    default: 600
notes:
  - O(domain) and O(account) select routers only (O(target=router)).
  - A system VM stopped by O(method=stop_start) is always started again, even after O(max_fail_percentage) stopped
    new jobs; the module fails whenever a target failed, whatever O(max_fail_percentage).
  - Needs a root admin API key.
  - A router that is not Running cannot be rebooted; it is skipped with a warning (O(method=restart_cleanup) recreates it).
seealso:
  - module: acs.upgrade.cs_livepatch
  - module: acs.upgrade.cs_fleet_info
"""

EXAMPLES = r"""
- name: Recreate the console proxies of zone ch-gva-2 from the new template
  acs.upgrade.cs_recreate:
    target: systemvm
    systemvm_type: consoleproxy
    zone: ch-gva-2
    method: destroy

- name: Restart every network and VPC of zone ch-gva-2 whose routers need the new template, two at a time
  acs.upgrade.cs_recreate:
    target: router
    method: restart_cleanup
    zone: ch-gva-2
    parallel: 2
    max_fail_percentage: 10
  register: restarted

- name: Upgrade the routers of one cluster, BACKUP before PRIMARY
  acs.upgrade.cs_recreate:
    target: router
    method: upgrade_template
    cluster: cluster-01

- name: Show what a reboot of two routers would do
  acs.upgrade.cs_recreate:
    target: router
    method: reboot
    names: [r-101-VM, r-102-VM]
  check_mode: true
"""

RETURN = r"""
targets:
  description: One entry per system VM, router, network or VPC considered.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(systemvm), V(router), V(network) or V(vpc) (O(method=restart_cleanup) acts on networks and VPCs).
      type: str
    id:
      description: Id of the object.
      type: str
    name:
      description: Name of the object.
      type: str
    zoneid:
      description: Zone id.
      type: str
    zonename:
      description: Zone name.
      type: str
    podid:
      description: Pod id.
      type: str
    clusterid:
      description: Cluster id (of the host the VM ran on).
      type: str
    account:
      description: Owner account (routers, networks, VPCs).
      type: str
    domain:
      description: Owner domain (routers, networks, VPCs).
      type: str
    systemvmtype:
      description: V(consoleproxy) or V(secondarystoragevm) (system VMs).
      type: str
    redundantstate:
      description: Redundant state of a router (after the run when it was rebooted).
      type: str
    routers:
      description: The routers of a network or VPC before the restart (id, name, redundantstate).
      type: list
      elements: dict
    method:
      description: The method used.
      type: str
    status:
      description:
        - V(unchanged) (already current), V(skipped) (cannot be acted on now, see C(reason)), V(would_recreate)
          (check mode), V(succeeded) (job done and verified), V(failed), V(timed_out), V(not_submitted) (stopped by
          O(max_fail_percentage), held back to protect a redundant pair, or refused by the management server until the
          submit budget ran out; nothing was started), or V(outcome_unknown) (the answer was lost and the job could be
          neither found nor ruled out; nothing was sent again, check the object before running again).
      type: str
    outcome:
      description:
        - What became of the target in the words of the journal and the report of the roles (one vocabulary for the
          modules, the journal and the report), from C(status).
        - V(done) (V(succeeded), V(unchanged)), V(failed), V(unknown) (V(timed_out), V(outcome_unknown); the job may
          still run), V(skipped), V(not_run) (V(would_recreate), V(not_submitted)).
      type: str
      version_added: 0.2.0
    reason:
      description: Why, in words, with what to do next when it did not succeed.
      type: str
    jobid:
      description: The last job id of this target.
      type: str
    jobids:
      description: Every job id of this target (two with O(method=stop_start)).
      type: list
      elements: str
    duration:
      description: Seconds its jobs ran.
      type: float
    started:
      description: When its first job was started, ISO-8601 UTC (for a report's timeline).
      type: str
    finished:
      description: When its last job was seen to end, ISO-8601 UTC.
      type: str
    version_before:
      description: Template version before.
      type: str
    version_after:
      description: Template version after.
      type: str
    new_ids:
      description: Ids of the replacements (the new system VM after V(destroy), the new routers after V(restart_cleanup)).
      type: list
      elements: str
    routers_after:
      description: The routers of a network or VPC after a restart with cleanup (id, name, redundantstate, version, scriptsversion).
      type: list
      elements: dict
summary:
  description: How many targets ended in each status, and C(total).
  returned: always
  type: dict
  sample: {total: 4, succeeded: 3, unchanged: 1, skipped: 0, would_recreate: 0, failed: 0, timed_out: 0, not_submitted: 0, outcome_unknown: 0}
management_server_version:
  description: Version of the management server.
  returned: always
  type: str
  sample: 4.18.0.0
min_template:
  description:
    - Each zone's C(minreq.sysvmtemplate.version) (zone id to version), read with one C(listConfigurations) per zone. It is the
      current template that targets are judged by; the upgrade sets it from the release's system VM template, which is not
      the server version (4.18.2.0 ships 4.18.1). An empty value means the zone's setting is empty or unreadable, and then
      no target in that zone is judged current.
  returned: always
  type: dict
  sample: {"1d2a3b4c-0000-4000-8000-000000000001": "4.18.1"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import (
    CloudStackModule,
    SELECTOR_REQUIRED_BY,
    cloudstack_argument_spec,
    job_argument_spec,
    job_option_problems,
    selected,
    selector_argument_spec,
)
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Fleet, FleetError, Router, Unit, zone_min_template
from ansible_collections.acs.upgrade.plugins.module_utils._recreate import (
    FAILED_STATUSES,
    ROUTER_METHODS,
    SYSTEMVM_METHODS,
    Recreator,
    Target,
    router_target,
    summarize,
    systemvm_target,
    unit_target,
)

DEFAULT_METHOD = {"systemvm": "reboot", "router": "restart_cleanup"}
WOULD = {
    "reboot": "reboot",
    "stop_start": "stop and start",
    "destroy": "destroy and wait for the replacement",
    "restart_cleanup": "restart with cleanup",
    "upgrade_template": "upgrade the template (upgradeRouterTemplate)",
}
SELECTORS = ("zone", "pod", "cluster", "domain")


class Recreate(CloudStackModule):
    def run(self) -> dict:
        target_kind = self.params["target"]
        method = self.params["method"] or DEFAULT_METHOD[target_kind]
        self._check_options(target_kind, method)
        try:
            fleet = Fleet.read(
                self.client,
                **selected(self.params),
                include_systemvms=target_kind == "systemvm",
            )
            targets = self._systemvm_targets(fleet, method) if target_kind == "systemvm" else self._router_targets(fleet, method)
        except FleetError as exc:
            self.fail("cannot choose the %ss to recreate: %s" % (target_kind, exc))

        recreator = Recreator(
            self.client,
            fleet,
            parallel=self.params["parallel"],
            timeout=self.params["timeout"],
            poll_interval=self.params["poll_interval"],
            max_fail_percentage=self.params["max_fail_percentage"],
        )
        if target_kind == "router" and method != "restart_cleanup" and not self.params["server_side"]:
            recreator.hold_unsettled_pairs([target for target in targets if target.status == "pending"])
        todo = [target for target in targets if target.status == "pending"]
        recreator.total = len(todo)
        if self.module.check_mode:
            for target in todo:
                target.finish("would_recreate", "would %s: %s" % (WOULD[method], target.reason))
        elif todo and target_kind == "systemvm":
            recreator.systemvms(todo, method)
        elif todo and method == "restart_cleanup":
            recreator.restart_cleanup(todo)
        elif todo and self.params["server_side"]:
            recreator.upgrade_by_selector(todo, self._selector(fleet))
        elif todo:
            recreator.routers(todo, method)
        return self._result(fleet, targets, recreator.warnings)

    def _check_options(self, target_kind: str, method: str) -> None:
        if self.params["names"] is not None and not [name for name in self.params["names"] if name]:
            self.fail(
                "names is an empty list: nothing would be chosen, and it never means all; leave names out to act on every %s "
                "of the zone/pod/cluster/domain/account asked for, or name them" % ("system VM" if target_kind == "systemvm" else "router")
            )
        allowed = SYSTEMVM_METHODS if target_kind == "systemvm" else ROUTER_METHODS
        if method == "destroy" and target_kind == "router":
            return  # refused after the read, naming the routers and their networks
        if method not in allowed:
            self.fail("method %s does not apply to %ss; use one of %s" % (method, target_kind, ", ".join(allowed)))
        if target_kind == "systemvm" and (self.params["domain"] or self.params["account"]):
            self.fail("system VMs belong to no domain or account; narrow them with zone, pod, cluster, names or systemvm_type")
        if target_kind == "router" and self.params["systemvm_type"]:
            self.fail("systemvm_type narrows system VMs, not routers; remove it or set target to systemvm")
        if method == "upgrade_template" and self.params["force"]:
            self.fail(
                "force does not apply to upgrade_template: CloudStack only upgrades routers below their zone's minreq.sysvmtemplate.version; "
                "use method reboot or restart_cleanup"
            )
        if self.params["server_side"]:
            if method != "upgrade_template":
                self.fail("server_side applies to method upgrade_template only")
            given = [name for name in SELECTORS if self.params[name]]
            if len(given) != 1 or self.params["names"]:
                self.fail(
                    "server_side sends one upgradeRouterTemplate for exactly one of zone, pod, cluster or domain (with account); "
                    "got %s%s. Set exactly one, or leave server_side false to upgrade routers one by one"
                    % (", ".join(given) or "none", " and names" if self.params["names"] else "")
                )

    def _systemvm_targets(self, fleet: Fleet, method: str) -> list[Target]:
        vms = [vm for vm in fleet.systemvms if not self.params["systemvm_type"] or vm.systemvmtype == self.params["systemvm_type"]]
        if self.params["names"]:
            vms = [fleet.find_systemvm(name) for name in _unique(self.params["names"])]
        return [systemvm_target(vm, method, fleet.version, self.params["force"], minreq=fleet.min_template.get(vm.zoneid or "")) for vm in vms]

    def _router_targets(self, fleet: Fleet, method: str) -> list[Target]:
        units = fleet.units()
        unit_of = {router.id: unit for unit in units for router in unit.routers}
        names = _unique(self.params["names"] or [])
        if names:
            chosen_units = [unit for unit in units if any(_names_unit(unit, name) for name in names)]
            unknown = [name for name in names if not any(_names_unit(unit, name) for unit in units)]
            if unknown:
                wanted = ", ".join(map(repr, unknown))
                raise FleetError("no router, network or VPC with the name or id %s in the routers read; check the spelling, zone and account" % wanted)
        else:
            chosen_units = units
        if method == "destroy":
            self._refuse_destroy(chosen_units, names)
        if method == "restart_cleanup":
            return [unit_target(unit, fleet.version, self.params["force"], minreq=fleet.min_template.get(unit.zoneid or "")) for unit in chosen_units]
        routers = [router for unit in chosen_units for router in unit.routers if not names or _wanted_router(router, unit, names)]
        return [
            router_target(router, method, fleet.version, self.params["force"], unit_of[router.id], minreq=fleet.min_template.get(router.zoneid or ""))
            for router in routers
        ]

    def _refuse_destroy(self, units: list[Unit], names: list[str]) -> None:
        why = []
        for unit in units:
            for router in unit.routers:
                if names and not _wanted_router(router, unit, names):
                    continue
                where = "%s %s" % (unit.kind, unit.name)
                if len(unit.routers) == 1:
                    why.append("%s is the only router of %s: destroyRouter cannot be undone by a restart without cleanup" % (router.name, where))
                else:
                    why.append("%s is one of the %d routers of %s: destroying it leaves it without redundancy" % (router.name, len(unit.routers), where))
        self.fail(
            "refusing to destroy routers (%s). Use method restart_cleanup, which deploys each new router before it removes the old one, "
            "or method reboot" % ("; ".join(why) or "none matched")
        )

    def _selector(self, fleet: Fleet) -> dict[str, str]:
        selector = {name + "id": fleet.filters[name + "id"] for name in SELECTORS if self.params[name]}
        if self.params["account"]:
            selector["account"] = self.params["account"]
        return selector

    def _result(self, fleet: Fleet, targets: list[Target], warnings: list[str]) -> dict:
        for target in targets:
            if target.status == "skipped":
                self.module.warn(target.reason)
        for warning in warnings:
            self.module.warn(warning)
        result = {
            "changed": any(target.jobids or target.status == "would_recreate" for target in targets),
            "targets": [target.as_result() for target in targets],
            "summary": summarize(targets),
            "management_server_version": fleet.version,
            "min_template": {zoneid: zone_min_template(fleet, zoneid) or "" for zoneid in fleet.zones},
        }
        failed = [target for target in targets if target.status in FAILED_STATUSES]
        if failed:
            shown = "; ".join("%s: %s" % (target.label, target.reason) for target in failed[:10])
            more = " (and %d more, see targets)" % (len(failed) - 10) if len(failed) > 10 else ""
            self.fail("%d of %d targets were not recreated: %s%s" % (len(failed), len(targets), shown, more), **result)
        return result


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _names_unit(unit: Unit, name: str) -> bool:
    return name in (unit.id, unit.name) or any(name in (router.id, router.name) for router in unit.routers)


def _wanted_router(router: Router, unit: Unit, names: list[str]) -> bool:
    return any(name in (router.id, router.name, unit.id, unit.name) for name in names)


def main() -> None:
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            target={"type": "str", "required": True, "choices": ["systemvm", "router"]},
            method={"type": "str", "choices": ["reboot", "stop_start", "destroy", "restart_cleanup", "upgrade_template"]},
            names={"type": "list", "elements": "str"},
            systemvm_type={"type": "str", "choices": ["consoleproxy", "secondarystoragevm"]},
            **selector_argument_spec(),
            **job_argument_spec(),
            force={"type": "bool", "default": False},
            server_side={"type": "bool", "default": False},
            parallel={"type": "int", "default": 2},
            timeout={"type": "int", "default": 600},
        ),
        required_by=SELECTOR_REQUIRED_BY,
        supports_check_mode=True,
    )
    for name in ("parallel", "timeout"):
        if module.params[name] < 1:
            module.fail_json(msg="%s must be at least 1, not %s" % (name, module.params[name]))
    problems = job_option_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    Recreate(module).execute()


if __name__ == "__main__":
    main()
