#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_upgrade_plan
short_description: Plan the upgrade of CloudStack system VMs and routers in groups, batches and windows
version_added: 0.1.0
description:
  - Puts every system VM and every network or VPC of a fleet read by M(acs.upgrade.cs_fleet_info) on a path,
    V(livepatch), V(legacy) or V(skip), with the reason.
  - V(legacy) when the template is 4.13 or older, the management server is older than 4.17, a VPC has no tiers,
    the operator requires the current template (O(require_new_template)) or lists the object in
    O(force_legacy), or the journal records a failed live patch; O(force_legacy_method) says how its networks and
    VPCs are recreated. V(skip) when the object is already current,
    not Running (reported), or recorded as finished in the journal. Already current means live-patched
    (C(softwareversion) and payload the server's) and, with O(require_new_template), also on the current template.
  - The current template is the zone's C(minreq.sysvmtemplate.version) as M(acs.upgrade.cs_fleet_info) read it (the
    release's system VM template, not the server version); a system VM's template is its ROOT volume's (read from
    CloudStack 4.18; before, a system VM is never judged current). Networks and VPCs of a zone whose setting is empty
    or unreadable are skipped with the reason naming the zone and the setting.
  - Groups the networks and VPCs by O(group_by) and orders the groups as O(order) says, then the others by
    zone name and name. The first O(canary_size) networks/VPCs to change form a canary batch that runs before
    every other router batch. A zone's SSVM and CPVM come before the first router batch of that zone; the
    system VMs of zones without router work come last. Batches hold at most O(batch_size) items and never span
    two groups.
  - Changes nothing, reads no API, and runs on the controller; the plan is the dry run.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  fleet:
    description: The RV(acs.upgrade.cs_fleet_info#module:fleet) value; or use O(fleet_file).
    type: dict
  fleet_file:
    description: The file M(acs.upgrade.cs_fleet_info) wrote the fleet to (its O(acs.upgrade.cs_fleet_info#module:dest)).
    type: path
    version_added: 0.2.0
  output_dir:
    description:
      - Write C(plan.json) and C(plan.txt) there (mode 0600, the directory 0700 when created) and return only the
        summary and the groups, not the plan; M(acs.upgrade.cs_upgrade_stage) reads C(plan.json) by path.
      - In check mode the files of the run there stay as they are - the plan of an interrupted run is what its resumed
        run reads - and the dry run's plan goes to the C(dry-run) directory inside O(output_dir) instead
        (RV(plan_file) says where); it still continues the plan of an interrupted run, as the real run would.
      - With it, the run takes the state lock next to O(journal) (see M(acs.upgrade.cs_upgrade_stage)), so that a
        second run on the same state is refused before it plans anything.
    type: path
    version_added: 0.2.0
  lock_lease:
    description:
      - Seconds without a heartbeat after which the state lock of a run on another host (an AWX job's pod or execution
        node sharing the state directory) is taken over, with a warning naming that run; a fresher lock is refused with
        its holder, the age of its heartbeat and when it may be taken over. On the lock's own host the holder's pid
        decides instead. See M(acs.upgrade.cs_upgrade_stage).
      - At least 60; it must outlast the longest stretch of a run in which no module renews the lock (the fleet read and
        the preflight before the plan, a report between two groups).
    type: int
    default: 600
    version_added: 0.2.0
  resume:
    description:
      - When C(plan.json) in O(output_dir) is the plan of an interrupted run (same server version and settings, work
        journalled, items left), continue it - same groups, batches and numbering - instead of planning anew.
      - A C(plan.json) there that is not a plan (not JSON, or fields missing or of the wrong type) is never replaced,
        whatever this option says; the module fails and names the field. Move the file aside to plan anew.
    type: bool
    default: true
    version_added: 0.2.0
  preflight_file:
    description:
      - The result M(acs.upgrade.cs_upgrade_preflight) wrote (its O(acs.upgrade.cs_upgrade_preflight#module:dest)); its
        verdict, blockers and warnings head C(plan.txt) and RV(table). A file that is missing or unreadable is named in
        RV(table) instead.
    type: path
    version_added: 0.2.0
  max_run_time:
    description: Seconds after the start of the run when no new job is started any more (C(run.deadline) of the plan); V(0) for none.
    type: int
    default: 0
    version_added: 0.2.0
  group_by:
    description: What groups the networks and VPCs.
    type: str
    choices: [zone, pod, cluster, account, domain]
    default: zone
  order:
    description:
      - Groups to run first, in this order, by name or id (an account as C(domain path/account) or its bare name
        when that is unique). The groups not listed follow in the default order.
    type: list
    elements: str
    default: []
  batch_size:
    description:
      - Most system VMs or networks/VPCs in one batch. Batches number the work in the journal and the report;
        M(acs.upgrade.cs_upgrade_stage) runs a whole stage of a group as one rolling window, so the batch size does
        not limit how many jobs are in flight.
    type: int
    default: 50
  canary_size:
    description: Networks/VPCs in the canary batch; V(0) for no canary.
    type: int
    default: 1
  windows:
    description:
      - Maintenance windows per group name or id (C(*) for every group without its own), each a window or a list
        of windows. A daily window is C(start) and C(end) as C(HH:MM) UTC with optional C(days) (C(mon) ... C(sun));
        a one-off window is C(start) and C(end) as ISO-8601 dates and times.
      - System VM batches use the windows of their zone's name, else C(*).
    type: dict
    default: {}
  outside_window:
    description: What a batch does when its window is closed, V(wait) for it to open or V(skip) the batch.
    type: str
    choices: [wait, skip]
    default: wait
  require_new_template:
    description:
      - Recreate from the current template instead of live patching (kernel, JRE or security fixes that a live
        patch does not bring).
      - Every Running system VM and router whose template is older than its zone's C(minreq.sysvmtemplate.version) takes
        the legacy path, including those already live-patched (a live patch never changes the template, and CloudStack reports
        C(requiresupgrade) false for them). Without it, live-patched ones are skipped whatever their template.
    type: bool
    default: false
  force_legacy:
    description: Names or ids of system VMs, networks or VPCs that take the legacy path.
    type: list
    elements: str
    default: []
  force_legacy_method:
    description:
      - How the networks and VPCs on the legacy path are recreated. It is recorded as the item's C(method) in the plan and
        the journal.
      - V(restart_cleanup) restarts the network or VPC with cleanup (a rolling restart that deploys new routers).
      - V(upgrade_router_template) calls C(upgradeRouterTemplate) for each of its routers that is below the zone's
        C(minreq.sysvmtemplate.version), one after the other, the BACKUP of a redundant pair before its PRIMARY; each call
        queues a reboot of that router onto the current template. The routers keep their ids.
    type: str
    choices: [restart_cleanup, upgrade_router_template]
    default: restart_cleanup
    version_added: 0.2.0
  journal:
    description: Path of the journal of finished work (JSON lines); finished items are skipped, failed live patches go legacy.
    type: path
  include_systemvms:
    description: Plan the SSVMs and CPVMs.
    type: bool
    default: true
  include_routers:
    description: Plan the networks and VPCs.
    type: bool
    default: true
  include:
    description:
      - Only these are targeted; every other system VM and network/VPC is left out of the plan's work and listed
        as skipped with the reason. Empty targets everything.
      - An entry is the name or id of a router, network, VPC, system VM, zone, pod, cluster, domain (name or path; with
        its sub-domains) or account (C(domain path/account) or its bare name), optionally with its kind first (C(zone:zone-a),
        C(router:r-12-VM)). A router or a VPC tier stands for its network or VPC, which a restart acts on as a whole.
      - An entry that matches nothing in the fleet is an error, and so is an entry without its kind that names several things
        (a zone and an account of the same name, an account name in two domains); give the kind, the domain path or an id.
      - A comma-separated string (an AWX survey answer) is accepted.
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Never targeted, in the same form as O(include); listed in the plan as skipped with the entry that excluded them.
    type: list
    elements: str
    default: []
  approved_digest:
    description:
      - The RV(digest) of the plan an approver accepted (the plan job of an AWX workflow publishes it). The run then
        does exactly that plan, or nothing.
      - C(plan.json) in O(output_dir) must be that plan; the plan made now from the fleet, the settings and the
        journal must be the same, or the run continues that plan after an interruption. Otherwise the module fails
        before anything is written or changed and lists what differs (settings, targets added or removed, on another
        path or in another batch) in RV(differences) and its message.
      - Requires O(output_dir). Without it, the plan is made as without approval.
      - A refusal because the plan changed since its approval is recorded in C(refused.json) in O(output_dir) (the time,
        the approved digest, the digest of C(plan.json), what differs), which M(acs.upgrade.cs_upgrade_report) reports;
        the next plan written there removes it.
    type: str
    version_added: 0.2.0
seealso:
  - module: acs.upgrade.cs_fleet_info
  - module: acs.upgrade.cs_upgrade_stage
"""

EXAMPLES = r"""
- name: Read the cloud
  acs.upgrade.cs_fleet_info:
  register: fleet_read

- name: Plan by account, customers-a first, canary of two, at night in zone-b
  acs.upgrade.cs_upgrade_plan:
    fleet: "{{ fleet_read.fleet }}"
    group_by: account
    order: [ROOT/customers-a]
    canary_size: 2
    batch_size: 10
    windows:
      zone-b: {start: "22:00", end: "04:00", days: [sat, sun]}
    journal: /var/lib/acs-upgrade/journal.jsonl
  register: upgrade_plan

- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ upgrade_plan.table }}"
"""

RETURN = r"""
groups:
  description: The groups in running order, each with its C(name), its C(stages) and how many C(items) it has.
  returned: success
  type: list
  elements: dict
  sample: [{name: zone1, stages: [systemvms, canary, routers], items: 812}]
summary:
  description: Count of items per path and in total.
  returned: success
  type: dict
digest:
  description:
    - The plan's digest, the sha256 of its canonical JSON without its run stamp (C(run)); the same plan made again
      has the same digest. Pass it as O(approved_digest) to run exactly this plan.
  returned: success
  type: str
  version_added: 0.2.0
approval:
  description:
    - What an approver reads - C(digest), C(ms_version), C(counts) per path, C(batches), per group the C(groups)
      counts per path, and C(table_head), the first lines of the table.
    - C(preflight), the preflight read from O(preflight_file) - C(passed) (null when none was read; C(error) then says
      why, if a file was given), C(blockers) (each C(check) id with its one-line C(found)), C(warnings) (how many) and
      C(ignored) (the check ids accepted). Added in 0.3.0.
  returned: success
  type: dict
  version_added: 0.2.0
differences:
  description: When the module refuses the approved plan, what the plan it would make now does differently.
  returned: failure, with O(approved_digest)
  type: list
  elements: str
  version_added: 0.2.0
plan_file:
  description: Where the plan was written.
  returned: when O(output_dir) is set
  type: str
resumed:
  description: Whether the run continues the plan of an interrupted run, and why (not).
  returned: when O(output_dir) is set
  type: str
plan:
  description: The plan.
  returned: success, when O(output_dir) is not set
  type: dict
  contains:
    ms_version:
      description: Management server version the plan upgrades to.
      type: str
    min_template:
      description: Each zone's C(minreq.sysvmtemplate.version) as read (zone id to value), the current template judged by.
      type: dict
    settings:
      description: The options that made the plan, with the group order in full.
      type: dict
    items:
      description:
        - Every system VM and network/VPC with C(key) (C(systemvm:ID), C(network:ID), C(vpc:ID)), C(kind), C(id),
          C(name), C(zonename), C(min_template) (its zone's minimum), C(group), C(path), C(reason), C(warnings) and
          C(batch) (when it has work); C(method) on a network or VPC of the legacy path when O(force_legacy_method) is
          not V(restart_cleanup).
      type: list
      elements: dict
    batches:
      description:
        - In running order, each with C(index), C(group), C(group_id), C(stage) (V(systemvms), V(canary),
          V(routers)), C(canary), C(windows) and C(items) (keys).
      type: list
      elements: dict
    server:
      description:
        - What the server checks before it sends a router a command - C(min_template) (zone id to
          C(minreq.sysvmtemplate.version)), C(router_version_check), C(payload_checksum) (the checksum of the server's
          scripts payload, learnt from routers started under it on a current template on an upgraded host, or null when
          not known - a router is then never called accepted on its checksum) and C(payload_how).
        - A router the server would refuse is never planned as done; networks on a host whose agent is older than the
          server or not Up are not live-patched; on a release with a known live-patch regression
          (apache/cloudstack#9900 on 4.19.2.0, 4.19.3.0 and 4.20.1.0, apache/cloudstack#8497 for 4.14/4.15 templates on 4.20) the routers
          are recreated instead, the issue named in the reason.
      type: dict
    summary:
      description: Count of items per path and in total.
      type: dict
    excluded:
      description:
        - The system VMs and networks/VPCs left out by O(include) and O(exclude), each with C(key), C(kind), C(id),
          C(name), C(zoneid) and C(reason); they are also in C(items) with path V(skip) and C(excluded=true).
      type: list
      elements: dict
excluded:
  description:
    - Why each system VM or network/VPC left out by O(include) and O(exclude) was left out; with O(output_dir), at most
      60 lines, the last saying how many more C(plan.txt) lists.
  returned: success
  type: list
  elements: str
table:
  description:
    - The plan as aligned text lines, batches then skipped items, and a summary line; with O(output_dir), at most 60
      lines, one saying how many more C(plan.txt) holds.
  returned: success
  type: list
  elements: str
"""

import datetime
import json
import os
import re
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._actions import LEGACY_METHODS, RESTART_CLEANUP, Path
from ansible_collections.acs.upgrade.plugins.module_utils._approval import REFUSED_FILE, plan_differences, plan_digest, plan_summary, preflight_status
from ansible_collections.acs.upgrade.plugins.module_utils._common import refuse_if_run_ended, write_private_json, write_private_text
from ansible_collections.acs.upgrade.plugins.module_utils._state import DEFAULT_LOCK_LEASE, MIN_LOCK_LEASE, EngineError, Journal, RunLock, load_plan, plan_steps
from ansible_collections.acs.upgrade.plugins.module_utils._plan import (
    GROUP_BY,
    OUTSIDE_WINDOW,
    PlanError,
    build_plan,
    plan_table,
    resumable,
    start_run,
    summarize,
)
from ansible_collections.acs.upgrade.plugins.module_utils._targeting import TargetingError, clean_entries, select_targets
from ansible_collections.acs.upgrade.plugins.module_utils._preflight import summary_lines

# Lines of the plan table a result carries; the whole table is in plan.txt.
TABLE_LINES = 60
# Where a dry run (check mode) writes its plan, inside the state directory.
DRY_RUN_DIR = "dry-run"


def read_preflight(path: str | None) -> tuple[list[str], dict]:
    """The preflight's lines that head the plan (verdict, blockers, warnings), or a line that says why there are none,
    and its status for the approver (``preflight_status``)."""
    if not path:
        return [], preflight_status(None)
    try:
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        return summary_lines(result) + [""], preflight_status(result)
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as exc:
        why = "%s cannot be read (%s)" % (path, exc)
        return ["Preflight: not shown, %s" % why, ""], preflight_status(None, why)


def read_journal(module: AnsibleModule, path: str | None) -> list[dict]:
    try:
        return Journal(path).entries() if path else []
    except EngineError as exc:
        module.fail_json(msg=str(exc))


def read_earlier_plan(module: AnsibleModule, path: str) -> dict | None:
    """The plan of the earlier run, if any; a file there that is not a plan is never replaced, whether resumed or not."""
    if not os.path.exists(path):
        return None
    try:
        return load_plan(path)
    except EngineError as exc:
        module.fail_json(msg="the earlier plan was not replaced: %s" % exc)


def read_json(module: AnsibleModule, path: str, what: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        module.fail_json(msg="cannot read the %s: %s does not exist; run acs.upgrade.cs_fleet_info with dest first" % (what, path))
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot read the %s %s: %s" % (what, path, exc))


def add_excluded(plan: dict, targets: dict) -> None:
    """The plan lists what targeting left out, as skipped items with the reason, and says which lists did it."""
    zones = {item["zoneid"]: item["zonename"] for item in plan["items"] if item.get("zoneid")}
    zones.update({zone["id"]: zone.get("name", zone["id"]) for zone in targets["fleet"].get("zones", [])})
    for excluded in targets["excluded"]:
        zonename = zones.get(excluded["zoneid"], excluded["zoneid"])
        plan["items"].append(
            dict(excluded, zonename=zonename, group=zonename, path=Path.SKIP.value, warnings=[], excluded=True),
        )
    plan["excluded"] = targets["excluded"]
    plan["settings"]["include"] = targets["include"]
    plan["settings"]["exclude"] = targets["exclude"]
    plan["summary"] = summarize(plan["items"])


def refuse(module: AnsibleModule, plan_file: str, approved: str, found: str, msg: str, differences: list[str] | None = None) -> None:
    """Fail with ``msg``, the refusal kept in refused.json beside ``plan_file`` for the report (not in check mode):
    nothing else in the state directory is written."""
    if not module.check_mode:
        record = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "approved_digest": approved,
            "plan_digest": found,
            "differences": differences or [],
            "msg": msg,
        }
        try:
            write_private_json(os.path.join(os.path.dirname(plan_file), REFUSED_FILE), record)
        except OSError as exc:
            module.warn("the refusal could not be recorded in %s for the report: %s" % (os.path.dirname(plan_file), exc))
    if differences is None:
        module.fail_json(msg=msg)
    module.fail_json(msg=msg, differences=differences)


def check_approved(module: AnsibleModule, approved: str, previous: dict | None, plan: dict, resume: bool, plan_file: str) -> None:
    """Fail, before anything is written, unless the run does the approved plan: the one in ``plan_file``, made again
    the same now or continued after an interruption."""
    approved = approved.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", approved):
        module.fail_json(
            msg="approved_digest %r is not a plan digest (64 hexadecimal digits): nothing was changed; pass the digest plan.yml printed "
            "for the approved plan (plan_approved_digest)" % approved[:80]
        )
    what = "the approved plan (digest %s)" % approved
    if previous is None:
        module.fail_json(msg="%s is not in %s: nothing was changed; plan with this state directory and approve its digest" % (what, plan_file))
    found = plan_digest(previous)
    if found != approved:
        refuse(
            module,
            plan_file,
            approved,
            found,
            "%s is not the plan in %s (digest %s): another plan was made since, or the digest is another state directory's; nothing was changed"
            % (what, plan_file, found),
        )
    if resume or plan_digest(plan) == approved:
        return
    differences = plan_differences(previous, plan)
    refuse(
        module,
        plan_file,
        approved,
        found,
        "the plan this run would make now differs from %s, so nothing was changed; plan again and have the new plan approved. What differs: %s"
        % (what, "; ".join(differences)),
        differences,
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "fleet": {"type": "dict"},
            "fleet_file": {"type": "path"},
            "output_dir": {"type": "path"},
            "preflight_file": {"type": "path"},
            "resume": {"type": "bool", "default": True},
            "max_run_time": {"type": "int", "default": 0},
            "group_by": {"type": "str", "choices": list(GROUP_BY), "default": "zone"},
            "order": {"type": "list", "elements": "str", "default": []},
            "batch_size": {"type": "int", "default": 50},
            "canary_size": {"type": "int", "default": 1},
            "windows": {"type": "dict", "default": {}},
            "outside_window": {"type": "str", "choices": list(OUTSIDE_WINDOW), "default": "wait"},
            "require_new_template": {"type": "bool", "default": False},
            "force_legacy": {"type": "list", "elements": "str", "default": []},
            "force_legacy_method": {"type": "str", "choices": list(LEGACY_METHODS), "default": RESTART_CLEANUP},
            "journal": {"type": "path"},
            "include_systemvms": {"type": "bool", "default": True},
            "include_routers": {"type": "bool", "default": True},
            "include": {"type": "list", "elements": "str", "default": []},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "approved_digest": {"type": "str"},
            "lock_lease": {"type": "int", "default": DEFAULT_LOCK_LEASE},
        },
        required_one_of=[("fleet", "fleet_file")],
        mutually_exclusive=[("fleet", "fleet_file")],
        required_by={"output_dir": "journal", "approved_digest": "output_dir"},
        supports_check_mode=True,
    )
    refuse_if_run_ended(module)
    params = module.params
    if params["max_run_time"] < 0:
        module.fail_json(msg="max_run_time must be 0 (no deadline) or more seconds, got %s" % params["max_run_time"])
    if params["lock_lease"] < MIN_LOCK_LEASE:
        module.fail_json(msg="lock_lease must be %d seconds or more, got %s" % (MIN_LOCK_LEASE, params["lock_lease"]))
    output_dir = params["output_dir"]
    if output_dir and not module.check_mode:
        try:
            for warning in RunLock(params["journal"], lease=params["lock_lease"]).acquire() + Journal(params["journal"]).repair():
                module.warn(warning)
        except (EngineError, OSError) as exc:
            module.fail_json(msg="cannot start the run: %s" % exc)
    fleet = params["fleet"] if params["fleet"] is not None else read_json(module, params["fleet_file"], "fleet file")
    journal = read_journal(module, params["journal"])
    try:
        targets = select_targets(fleet, params["include"], params["exclude"])
        plan = build_plan(
            targets["fleet"],
            group_by=params["group_by"],
            order=clean_entries(params["order"]),
            batch_size=params["batch_size"],
            canary_size=params["canary_size"],
            windows=params["windows"],
            outside_window=params["outside_window"],
            require_new_template=params["require_new_template"],
            force_legacy=clean_entries(params["force_legacy"]),
            legacy_method=None if params["force_legacy_method"] == RESTART_CLEANUP else params["force_legacy_method"],
            journal=journal,
            include_systemvms=params["include_systemvms"],
            include_routers=params["include_routers"],
        )
    except (PlanError, TargetingError) as exc:
        module.fail_json(msg="cannot plan the upgrade: %s" % exc)
    add_excluded(plan, targets)
    excluded = [item["reason"] for item in plan["excluded"]]
    now = datetime.datetime.now(datetime.timezone.utc)
    if not output_dir:
        start_run(plan, None, now, params["max_run_time"], uuid.uuid4().hex)
        head, preflight = read_preflight(params["preflight_file"])
        table = head + plan_table(plan)
        digest = plan_digest(plan)
        module.exit_json(
            changed=False,
            plan=plan,
            table=table,
            groups=plan_steps(plan),
            summary=plan["summary"],
            excluded=excluded,
            digest=digest,
            approval=plan_summary(plan, table, digest, preflight),
        )
    plan_file = os.path.join(output_dir, "plan.json")
    previous = read_earlier_plan(module, plan_file)
    if module.check_mode:
        # The run's own plan is what a resumed run reads: a dry run shows what it would do and writes beside it.
        output_dir = os.path.join(output_dir, DRY_RUN_DIR)
        plan_file = os.path.join(output_dir, "plan.json")
    resume, why = resumable(previous if params["resume"] else None, plan, journal)
    if params["approved_digest"]:
        check_approved(module, params["approved_digest"], previous, plan, resume, os.path.join(params["output_dir"], "plan.json"))
    if resume:
        plan = previous
    start_run(plan, previous if resume else None, now, params["max_run_time"], uuid.uuid4().hex)
    head, preflight = read_preflight(params["preflight_file"])
    table = head + plan_table(plan)
    try:
        write_private_json(plan_file, plan)
        write_private_text(os.path.join(output_dir, "plan.txt"), "\n".join(table) + "\n")
        if not module.check_mode and os.path.exists(os.path.join(output_dir, REFUSED_FILE)):
            # A plan made or run since: an earlier refusal no longer describes the state directory.
            os.remove(os.path.join(output_dir, REFUSED_FILE))
    except OSError as exc:
        module.fail_json(msg="cannot write the plan to %s: %s" % (output_dir, exc))
    shown = table
    if len(table) > TABLE_LINES:
        shown = table[: TABLE_LINES - 2] + ["... %d more lines in %s/plan.txt" % (len(table) - TABLE_LINES + 1, output_dir), table[-1]]
    shown_excluded = excluded
    if len(excluded) > TABLE_LINES:
        shown_excluded = excluded[: TABLE_LINES - 1] + ["... %d more in %s/plan.txt" % (len(excluded) - TABLE_LINES + 1, output_dir)]
    digest = plan_digest(plan)
    module.exit_json(
        changed=False,
        digest=digest,
        approval=plan_summary(plan, table, digest, preflight),
        plan_file=plan_file,
        resumed=why,
        run=plan["run"],
        groups=plan_steps(plan),
        summary=plan["summary"],
        table=shown,
        excluded=shown_excluded,
    )


if __name__ == "__main__":
    main()
