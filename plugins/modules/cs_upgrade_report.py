#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_upgrade_report
short_description: Write the report of a CloudStack upgrade as JSON, Markdown and one HTML page
version_added: 0.1.0
description:
  - Reads a plan made by M(acs.upgrade.cs_upgrade_plan) and the journal that M(acs.upgrade.cs_upgrade_stage)
    keeps, and writes C(report.json), C(report.md) and C(report.html) into O(output_dir).
  - At the top, whether the run finished or where and why it stopped (O(stop_reason)), the totals per path and
    outcome, how long it took, and what needs attention - failed targets with the error and what to do, targets
    recreated after a failed live patch, routers refused by the server after their live patch (a template below the
    zone's minimum with a scripts checksum that is not the server's, so CloudStack sends them no command; recreate or
    reboot them), outcomes unknown (a job still running when the run gave up on it), targets not run, and skipped
    targets that are not Running - each with what to do.
  - Whether the run still goes on comes from the state lock next to O(journal) (C(journal.jsonl.lock)), which a run
    holds until it ends. A report written while the run goes on says it is in progress; a run killed or cancelled
    (its process gone, the lock left behind) stopped before reaching what it did not run; a run that holds the lock on
    another host is neither called finished nor killed.
  - A run refused because the plan changed since it was approved (an upgrade with
    O(acs.upgrade.cs_upgrade_plan#module:approved_digest)) leaves C(refused.json) beside the plan; while it is about
    the plan in O(plan_file), the report says so (V(approval_refused)) - nothing ran, make the plan again and have it approved.
  - Per group, every network and VPC with a row per router (names before and after a recreate, redundant state,
    template, scripts version and health before and after, job duration, longest service gap where measured), a
    row per system VM, and a timeline of the jobs as an inline SVG (canary batch and health gates marked).
    The remote-access VPN caveat of 4.14 templates is shown once per group with the routers it concerns.
  - Outcomes are V(done), V(recreated), V(failed), V(refused) (shown as "refused by the server"), V(unknown), V(not_run) and V(skipped).
  - The result is a summary whatever the size of the fleet - the verdict, the totals per path and outcome, the paths
    of the files, and the first O(names_limit) names of failed, unknown and recreated targets with how many more
    there are - an Ansible result is an event of the job, and AWX drops event data over about 700 KB. Every row is
    in the files.
  - The HTML page is self-contained - inline style, inline SVG and a few lines of inline script (filter box,
    sortable columns) allowed by hash in its Content-Security-Policy, nothing fetched - and prints well.
  - Texts that came from the API are redacted of query strings, so a report never carries a signed URL.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.attributes
attributes:
  check_mode:
    support: full
    details:
      - Writes nothing in check mode and returns the summary of the report it would write.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  plan:
    description:
      - The RV(acs.upgrade.cs_upgrade_plan#module:plan) value; or use O(plan_file), which keeps the plan out of the
        task's arguments (and out of the job's events) on a large fleet.
    type: dict
  plan_file:
    description: Path of C(plan.json) written by M(acs.upgrade.cs_upgrade_plan) with O(acs.upgrade.cs_upgrade_plan#module:output_dir).
    type: path
    version_added: 0.2.0
  journal:
    description: Path of the journal; a missing file means nothing ran yet.
    type: path
    required: true
  output_dir:
    description: Directory to write the three files into (created, mode 0700, if needed); the files are mode 0600.
    type: path
    required: true
  title:
    description: Title of the report.
    type: str
    default: CloudStack system VM and router upgrade
  stop_reason:
    description:
      - Why the run stopped (the message of the task that stopped it); the report then says the run stopped, in which
        group, and why. Empty when the run was not stopped.
    type: str
  names_limit:
    description:
      - How many names of failed, unknown and recreated targets, and how many entries of the needs-attention list, the
        result carries; the rest is counted (C(failed_more) in RV(stats), RV(attention_more)) and listed in the files.
    type: int
    default: 20
    version_added: 0.2.0
  downtime_dir:
    description:
      - A directory of downtime probe reports (JSON files with the C(container) name and, per service, its
        C(longest_gap) in seconds, as C(tests/router/probe.py) writes them). The longest gap is shown on the row of the
        router of that name. Files that are not such reports are ignored.
    type: path
  preflight_file:
    description:
      - The result M(acs.upgrade.cs_upgrade_preflight) wrote (its O(acs.upgrade.cs_upgrade_preflight#module:dest)). The
        report shows it at the top - the verdict, the blockers and warnings, and the checks the operator accepted.
    type: path
    version_added: 0.2.0
seealso:
  - module: acs.upgrade.cs_upgrade_preflight
  - module: acs.upgrade.cs_upgrade_plan
  - module: acs.upgrade.cs_upgrade_stage
"""

EXAMPLES = r"""
- name: Write the report
  acs.upgrade.cs_upgrade_report:
    plan_file: /var/lib/acs-upgrade/plan.json
    journal: /var/lib/acs-upgrade/journal.jsonl
    output_dir: /var/lib/acs-upgrade/report
  register: upgrade_report

- name: Show the job summary in AWX
  ansible.builtin.set_stats:
    data:
      acs_upgrade: "{{ upgrade_report.stats }}"

- name: Show the verdict and where the report is
  ansible.builtin.debug:
    msg: "{{ upgrade_report.outcome.summary }}; see {{ upgrade_report.files.html }}"
"""

RETURN = r"""
files:
  description: Paths of the files written (or, in check mode, that would be written), by format (C(json), C(markdown), C(html)).
  returned: success
  type: dict
  sample: {json: /var/lib/acs-upgrade/report.json, markdown: /var/lib/acs-upgrade/report.md, html: /var/lib/acs-upgrade/report.html}
outcome:
  description:
    - Whether the run finished or where and why it stopped - C(status) (as C(outcome) in RV(stats)), C(summary) (one
      sentence), C(group) and C(batch) of the last work, and C(reason) (the O(stop_reason), redacted).
  returned: success
  type: dict
  sample: {status: stopped, summary: "Stopped in group zone1 (batch 2) because ...", group: zone1, batch: 2, reason: "..."}
stats:
  description:
    - For a job summary (AWX C(set_stats)) - C(outcome) (V(finished), V(finished_with_failures), V(stopped),
      V(incomplete), V(in_progress), V(not_started), V(approval_refused)), the totals C(done), C(recreated), C(failed),
      C(refused), C(unknown), C(not_run), C(skipped),
      C(groups), C(paths) (items per final path), C(by_path) (per path, the totals per outcome), C(duration) in
      seconds, C(ms_version), the names of the first O(names_limit) targets in C(failed_names), C(refused_names),
      C(unknown_names) and C(recreated_names), and how many more there are in C(failed_more), C(refused_more), C(unknown_more) and
      C(recreated_more).
  returned: success
  type: dict
  sample:
    outcome: finished_with_failures
    done: 9812
    recreated: 41
    failed: 23
    unknown: 0
    not_run: 0
    skipped: 124
    groups: 4
    paths: {livepatch: 9700, legacy: 176, skip: 124}
    failed_names: [net-17, net-402]
    failed_more: 3
attention:
  description:
    - The first O(names_limit) entries of the needs-attention list, each with C(outcome), C(kind), C(name), C(group),
      C(detail) (shortened to 300 characters; whole in the files) and C(action) (what to do). What was not run is
      one entry per group.
  returned: success
  type: list
  elements: dict
attention_more:
  description: How many entries of the needs-attention list the result leaves out (they are in the files).
  returned: success
  type: int
"""

import json
import os
import stat
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._approval import REFUSED_FILE, plan_digest
from ansible_collections.acs.upgrade.plugins.module_utils._common import write_private_text
from ansible_collections.acs.upgrade.plugins.module_utils._state import EngineError, Journal, RunLock, load_plan
from ansible_collections.acs.upgrade.plugins.module_utils._plan import PlanError, check_plan
from ansible_collections.acs.upgrade.plugins.module_utils._report import (
    NAMES_LIMIT,
    build_report,
    parse_downtime,
    preflight_summary,
    render_html,
    render_markdown,
    summary,
)


def write(module: AnsibleModule, path: str, content: str) -> bool:
    """Write ``content`` (mode 0600) unless the file already holds it, private; whether it was written."""
    if os.path.exists(path) and stat.S_IMODE(os.stat(path).st_mode) == 0o600:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content:
                return False
    if not module.check_mode:
        write_private_text(path, content)
    return True


def read_run_lock(journal: str) -> dict[str, t.Any] | None:
    """The state lock of a run that has not ended, with ``alive``: whether its process runs, or from another host
    whether its lease has run out (None: a fresh lease of another host, which cannot be asked)."""
    lock = RunLock(journal)
    held = lock.read()
    if not held:
        return None
    return dict(held, alive=lock.alive(held))


def read_refusal(plan_file: str | None, plan: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The record of the last run on this state directory when it was refused because this plan changed since it was
    approved (cs_upgrade_plan's refused.json beside plan.json, about the same plan); None otherwise."""
    if not plan_file:
        return None
    try:
        with open(os.path.join(os.path.dirname(plan_file), REFUSED_FILE), encoding="utf-8") as handle:
            refusal = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(refusal, dict) or refusal.get("plan_digest") != plan_digest(plan):
        return None
    return refusal


def read_preflight(path: str | None) -> dict[str, t.Any] | None:
    """The preflight of the run (cs_upgrade_preflight's dest); none when the run had none, or it cannot be read."""
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_downtime(directory: str | None) -> dict[str, dict[str, float]]:
    if not directory or not os.path.isdir(directory):
        return {}
    reports = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                report = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(report, dict):
            reports.append(report)
    return parse_downtime(reports)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "plan": {"type": "dict"},
            "plan_file": {"type": "path"},
            "journal": {"type": "path", "required": True},
            "output_dir": {"type": "path", "required": True},
            "title": {"type": "str", "default": "CloudStack system VM and router upgrade"},
            "stop_reason": {"type": "str"},
            "downtime_dir": {"type": "path"},
            "preflight_file": {"type": "path"},
            "names_limit": {"type": "int", "default": NAMES_LIMIT},
        },
        required_one_of=[("plan", "plan_file")],
        mutually_exclusive=[("plan", "plan_file")],
        supports_check_mode=True,
    )
    params = module.params
    if params["names_limit"] < 0:
        module.fail_json(msg="names_limit must be 0 or more names, got %d" % params["names_limit"])
    try:
        # Read into a local: the module's parameters come back in the result (its invocation), the plan must not.
        plan = load_plan(params["plan_file"]) if params["plan"] is None else check_plan(params["plan"], "the plan option")
        journal = Journal(params["journal"]).entries()
    except (EngineError, PlanError) as exc:
        module.fail_json(msg="cannot write the upgrade report: %s" % exc)
    try:
        report = build_report(
            plan,
            journal,
            params["title"],
            params["stop_reason"],
            read_downtime(params["downtime_dir"]),
            read_run_lock(params["journal"]),
            read_refusal(params["plan_file"], plan),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        module.fail_json(
            msg="cannot build the upgrade report from the plan and the journal %s: %s; fix that entry of the journal, then write the report again"
            % (params["journal"], exc)
        )
    report["preflight"] = preflight_summary(read_preflight(params["preflight_file"]), params["names_limit"] or NAMES_LIMIT)
    output_dir = params["output_dir"]
    files = {fmt: os.path.join(output_dir, name) for fmt, name in (("json", "report.json"), ("markdown", "report.md"), ("html", "report.html"))}
    contents = {"json": json.dumps(report, indent=2, sort_keys=True) + "\n", "markdown": render_markdown(report), "html": render_html(report)}
    try:
        # Every file is written: a generator inside any() would stop at the first change.
        written = [write(module, files[fmt], contents[fmt]) for fmt in files]
        changed = any(written)
    except OSError as exc:
        module.fail_json(msg="cannot write the upgrade report into %s: %s; choose another output_dir" % (output_dir, exc))
    # A summary only: the report of 10,000 routers is megabytes, and a result is an event of the job.
    module.exit_json(changed=changed, files=files, **summary(report, params["names_limit"]))


if __name__ == "__main__":
    main()
