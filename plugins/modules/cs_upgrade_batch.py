#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_upgrade_batch
short_description: Gate and journal one batch of a CloudStack upgrade plan
version_added: 0.1.0
description:
  - Works on a plan made by M(acs.upgrade.cs_upgrade_plan) and a journal of finished work (JSON lines on the
    controller), so that a run interrupted in the middle continues where it stopped and never repeats work.
  - With O(step=gate), says whether a batch runs its O(upgrade_path) items now, V(run); has nothing left,
    V(done); waits for its maintenance window, V(wait) with RV(wait_seconds); or is outside its window and
    skipped, V(skip). Returns the ids to hand to M(acs.upgrade.cs_livepatch) or M(acs.upgrade.cs_recreate).
  - With O(step=record), turns the result of M(acs.upgrade.cs_livepatch) or M(acs.upgrade.cs_recreate) into
    journal entries, appends them, and says whether the run must stop (O(on_failure), a failed canary batch,
    O(max_fail_percentage) over the whole run).
  - Reads no API.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.attributes
attributes:
  check_mode:
    support: full
    details:
      - O(step=record) writes nothing in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - O(step=record) appends to the journal each time it is called with outcomes; a gate then reports the batch V(done).
options:
  plan:
    description: The RV(acs.upgrade.cs_upgrade_plan#module:plan) value.
    type: dict
    required: true
  batch:
    description: Index of the batch in RV(acs.upgrade.cs_upgrade_plan#module:plan.batches).
    type: int
    required: true
  upgrade_path:
    description: Which items of the batch, those to live-patch or those to recreate.
    type: str
    choices: [livepatch, legacy]
    required: true
  journal:
    description: Path of the journal (created on the first record).
    type: path
    required: true
  step:
    description: V(gate) before the batch, V(record) after it.
    type: str
    choices: [gate, record]
    default: gate
  results:
    description:
      - With O(step=record), the registered results of the M(acs.upgrade.cs_livepatch) or M(acs.upgrade.cs_recreate)
        tasks of the batch (skipped tasks are ignored).
    type: list
    elements: dict
  on_failure:
    description:
      - With O(step=record), V(stop) the run at the first failed item; V(continue) with the next batches;
        V(recreate) (live patch only) leaves a failed live patch to the legacy path, which takes it in the same
        batch when its gate has O(fallback) (a failed live patch leaves the services in an unknown state). A live
        patch that was never started (C(not_submitted)) or whose outcome is unknown (C(outcome_unknown)) is never
        left to the legacy path; it stays on the live patch path for the next run and counts as a failure now.
    type: str
    choices: [stop, continue, recreate]
    default: recreate
  fallback:
    description: With O(step=gate) and O(upgrade_path=legacy), also take the items whose live patch failed in this run.
    type: bool
    default: true
  max_fail_percentage:
    description: The run stops once the items that are still failed are more than this percentage of the planned items.
    type: int
    default: 0
  health:
    description:
      - A registered result of M(acs.upgrade.cs_vr_health) for the routers of the batch.
      - With O(step=gate), taken before the batch; networks and VPCs with a failing router are handled as
        O(unhealthy) says. With O(step=record), taken after the batch with the first one as baseline; a network or
        VPC with a router that fails (a regression) is recorded as failed.
    type: dict
  health_before:
    description: With O(step=record), the M(acs.upgrade.cs_vr_health) result taken before the batch, journalled with each item.
    type: dict
  unhealthy:
    description:
      - With O(step=gate), what to do with networks and VPCs whose routers already fail the health gate before the
        batch, V(skip) them (reported, left for a later run), V(stop) the run, or V(ignore) the gate.
    type: str
    choices: [skip, stop, ignore]
    default: skip
  max_wait:
    description: Longest wait, in seconds, for a maintenance window to open; a later opening skips the batch.
    type: int
    default: 3600
seealso:
  - module: acs.upgrade.cs_upgrade_plan
"""

EXAMPLES = r"""
- name: Gate batch 3 for the live patch
  acs.upgrade.cs_upgrade_batch:
    plan: "{{ upgrade_plan.plan }}"
    batch: 3
    upgrade_path: livepatch
    journal: /var/lib/acs-upgrade/journal.jsonl
  register: gate

- name: Live-patch what the gate let through
  acs.upgrade.cs_livepatch:
    system_vms: "{{ gate.system_vms }}"
    networks: "{{ gate.networks }}"
    vpcs: "{{ gate.vpcs }}"
  when: gate.action == 'run'
  register: patched
  failed_when: false

- name: Record the outcome
  acs.upgrade.cs_upgrade_batch:
    plan: "{{ upgrade_plan.plan }}"
    batch: 3
    upgrade_path: livepatch
    journal: /var/lib/acs-upgrade/journal.jsonl
    step: record
    results: ["{{ patched }}"]
  when: gate.action == 'run'
"""

RETURN = r"""
action:
  description: With O(step=gate), V(run), V(done), V(wait), V(skip) or V(stop) (unhealthy routers with O(unhealthy=stop)).
  returned: step is gate
  type: str
reason:
  description: Why, in words.
  returned: always
  type: str
wait_seconds:
  description: Seconds until the batch's window opens (V(0) unless RV(action=wait)).
  returned: step is gate
  type: int
targets:
  description: The plan items of the batch still to do on O(upgrade_path).
  returned: step is gate
  type: list
  elements: dict
system_vms:
  description: Ids of the system VMs among RV(targets).
  returned: step is gate
  type: list
  elements: str
networks:
  description: Ids of the networks among RV(targets).
  returned: step is gate
  type: list
  elements: str
vpcs:
  description: Ids of the VPCs among RV(targets).
  returned: step is gate
  type: list
  elements: str
routers:
  description: Ids of the Running routers of the networks and VPCs among RV(targets).
  returned: step is gate
  type: list
  elements: str
unhealthy_items:
  description: Networks and VPCs (by key) left out of the batch because a router failed the health gate, with why.
  returned: step is gate
  type: dict
entries:
  description: The journal entries recorded (or that would be, in check mode).
  returned: step is record
  type: list
  elements: dict
failed_items:
  description: Keys of the items of this step that failed.
  returned: step is record
  type: list
  elements: str
stop:
  description: Whether the run must stop after this step.
  returned: step is record
  type: bool
"""

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._plan import (
    PlanError,
    batch_gate,
    fail_budget_exceeded,
    journal_entries,
    outcomes_from_targets,
    item_health,
    parse_journal,
    unhealthy_items,
)


def read_journal(module: AnsibleModule, path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_journal(handle.read())
    except (OSError, PlanError) as exc:
        module.fail_json(msg="cannot read the journal %s: %s" % (path, exc))


def append_journal(module: AnsibleModule, path: str, entries: list[dict]) -> None:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries))
            handle.flush()
            # A run killed right after this point must still find the entries on the next start.
            os.fsync(handle.fileno())
    except OSError as exc:
        module.fail_json(msg="cannot write the journal %s: %s; fix its directory or set another journal path" % (path, exc))


def gate(module: AnsibleModule, journal: list[dict], now: datetime.datetime) -> dict:
    params = module.params
    decision = batch_gate(params["plan"], params["batch"], params["upgrade_path"], journal, now, max_wait=params["max_wait"], fallback=params["fallback"])
    unhealthy = {} if params["unhealthy"] == "ignore" else unhealthy_items(params["plan"], [item["key"] for item in decision["targets"]], params["health"])
    if unhealthy and decision["action"] == "run":
        listed = "; ".join("%s: %s" % (key, why) for key, why in unhealthy.items())
        if params["unhealthy"] == "stop":
            decision.update(action="stop", reason="routers are unhealthy before batch %s (%s): the run stops (unhealthy=stop)" % (params["batch"], listed))
        else:
            decision["targets"] = [item for item in decision["targets"] if item["key"] not in unhealthy]
            decision["reason"] += "; left out, unhealthy before the upgrade: %s" % listed
            if not decision["targets"]:
                decision["action"] = "skip"
    targets = decision["targets"]
    decision.update(
        unhealthy_items=unhealthy,
        system_vms=[item["id"] for item in targets if item["kind"] == "systemvm"],
        networks=[item["id"] for item in targets if item["kind"] == "network"],
        vpcs=[item["id"] for item in targets if item["kind"] == "vpc"],
        routers=[router["id"] for item in targets for router in item.get("routers", []) if router.get("state") == "Running"],
    )
    return dict(decision, changed=False)


def record(module: AnsibleModule, journal: list[dict], now: datetime.datetime) -> dict:
    params = module.params
    plan, path = params["plan"], params["upgrade_path"]
    asked = batch_gate(plan, params["batch"], path, journal, now, fallback=params["fallback"])
    results = [result for result in params["results"] if not result.get("skipped")]
    if not results:
        return {"changed": False, "entries": [], "failed_items": [], "stop": False, "reason": "batch %s %s was not run" % (params["batch"], path)}
    messages = "; ".join(str(result["msg"]) for result in results if result.get("msg"))
    missing = "the module reported nothing for it%s" % (": %s" % messages if messages else "")
    targets = [target for result in results for target in result.get("targets") or []]
    outcomes = outcomes_from_targets(plan, [item["key"] for item in asked["targets"]], targets, missing)
    keys = [outcome["key"] for outcome in outcomes]
    before, after = item_health(plan, keys, params["health_before"]), item_health(plan, keys, params["health"])
    for outcome in outcomes:
        outcome.update(health_before=before.get(outcome["key"]), health_after=after.get(outcome["key"]))
        if outcome["ok"] and after.get(outcome["key"], "passed") != "passed":
            outcome.update(ok=False, error="health after the upgrade: %s" % after[outcome["key"]])
    entries = journal_entries(outcomes, plan, params["batch"], path, now)
    if entries and not module.check_mode:
        append_journal(module, params["journal"], entries)
    failed = [entry["key"] for entry in entries if entry["status"] == "failed"]
    # With on_failure=recreate the legacy path takes a failed live patch; one that never started (or whose outcome
    # is unknown) stays where it is and counts as a failure of this run.
    retried = path == "livepatch" and params["on_failure"] == "recreate"
    unretried = [entry["key"] for entry in entries if entry["status"] == "failed" and not (retried and entry["recreate"])]
    exceeded, budget = fail_budget_exceeded(plan, journal + entries, params["max_fail_percentage"])
    reasons = []
    if unretried:
        if params["on_failure"] == "stop":
            reasons.append("on_failure is stop")
        if asked["canary"]:
            reasons.append("the canary batch failed")
        if exceeded:
            reasons.append("max_fail_percentage exceeded: %s" % budget)
    names = ", ".join(entry["name"] for entry in entries if entry["status"] == "failed")
    reason = "batch %s %s: %d finished, %d failed%s" % (params["batch"], path, len(entries) - len(failed), len(failed), " (%s)" % names if names else "")
    if reasons:
        reason += "; the run stops: %s" % "; ".join(reasons)
    return {"changed": bool(entries), "entries": entries, "failed_items": failed, "stop": bool(reasons), "reason": reason, "budget": budget}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "plan": {"type": "dict", "required": True},
            "batch": {"type": "int", "required": True},
            "upgrade_path": {"type": "str", "choices": ["livepatch", "legacy"], "required": True},
            "journal": {"type": "path", "required": True},
            "step": {"type": "str", "choices": ["gate", "record"], "default": "gate"},
            "results": {"type": "list", "elements": "dict"},
            "on_failure": {"type": "str", "choices": ["stop", "continue", "recreate"], "default": "recreate"},
            "fallback": {"type": "bool", "default": True},
            "max_fail_percentage": {"type": "int", "default": 0},
            "max_wait": {"type": "int", "default": 3600},
            "health": {"type": "dict"},
            "health_before": {"type": "dict"},
            "unhealthy": {"type": "str", "choices": ["skip", "stop", "ignore"], "default": "skip"},
        },
        required_if=[("step", "record", ("results",))],
        supports_check_mode=True,
    )
    journal = read_journal(module, module.params["journal"])
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        result = gate(module, journal, now) if module.params["step"] == "gate" else record(module, journal, now)
    except PlanError as exc:
        module.fail_json(msg="cannot %s batch %s: %s" % (module.params["step"], module.params["batch"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
