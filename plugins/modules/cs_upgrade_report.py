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
  - Reads a plan made by M(acs.upgrade.cs_upgrade_plan) and the journal that M(acs.upgrade.cs_upgrade_batch)
    keeps, and writes C(report.json), C(report.md) and C(report.html) into O(output_dir).
  - At the top, whether the run finished or where and why it stopped (O(stop_reason)), the totals per path and
    outcome, how long it took, and what needs attention - failed targets with the error and what to do, targets
    recreated after a failed live patch, outcomes unknown (a job still running when the run gave up on it),
    targets not run, and skipped targets that are not Running - each with what to do.
  - Per group, every network and VPC with a row per router (names before and after a recreate, redundant state,
    template, scripts version and health before and after, job duration, longest service gap where measured), a
    row per system VM, and a timeline of the jobs as an inline SVG (canary batch and health gates marked).
    The remote-access VPN caveat of 4.14 templates is shown once per group with the routers it concerns.
  - Outcomes are V(done), V(recreated), V(failed), V(unknown), V(not_run) and V(skipped).
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
      - Writes nothing in check mode and returns the report.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  plan:
    description: The RV(acs.upgrade.cs_upgrade_plan#module:plan) value; or use O(plan_file).
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
    description: Directory to write the three files into (created if needed).
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
  downtime_dir:
    description:
      - A directory of downtime probe reports (JSON files with the C(container) name and, per service, its
        C(longest_gap) in seconds, as C(tests/router/probe.py) writes them). The longest gap is shown on the row of the
        router of that name. Files that are not such reports are ignored.
    type: path
seealso:
  - module: acs.upgrade.cs_upgrade_plan
  - module: acs.upgrade.cs_upgrade_batch
"""

EXAMPLES = r"""
- name: Write the report
  acs.upgrade.cs_upgrade_report:
    plan: "{{ upgrade_plan.plan }}"
    journal: /var/lib/acs-upgrade/journal.jsonl
    output_dir: /var/lib/acs-upgrade/report
  register: upgrade_report

- name: Show the job summary in AWX
  ansible.builtin.set_stats:
    data:
      acs_upgrade: "{{ upgrade_report.stats }}"
"""

RETURN = r"""
files:
  description: Paths of the files written, by format (C(json), C(markdown), C(html)).
  returned: success
  type: dict
report:
  description: The report (what C(report.json) holds).
  returned: success
  type: dict
stats:
  description:
    - For a job summary (AWX C(set_stats)) - C(outcome) (V(finished), V(finished_with_failures), V(stopped),
      V(incomplete), V(not_started)), the totals C(done), C(recreated), C(failed), C(unknown), C(not_run), C(skipped),
      C(groups), C(paths), C(duration) in seconds, C(ms_version), and the names of the targets in C(failed_names),
      C(unknown_names) and C(recreated_names).
  returned: success
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._plan import PlanError, parse_journal
from ansible_collections.acs.upgrade.plugins.module_utils._report import build_report, parse_downtime, render_html, render_markdown, stats


def write(module: AnsibleModule, path: str, content: str) -> bool:
    """Write ``content`` unless the file already holds it; whether it was written."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content:
                return False
    if not module.check_mode:
        module.atomic_move(_temporary(path, content), path)
    return True


def _temporary(path: str, content: str) -> str:
    temporary = "%s.tmp%d" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(content)
    return temporary


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
        },
        required_one_of=[("plan", "plan_file")],
        mutually_exclusive=[("plan", "plan_file")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["plan"] is None:
            with open(params["plan_file"], encoding="utf-8") as handle:
                params["plan"] = json.load(handle)
        journal = []
        if os.path.exists(params["journal"]):
            with open(params["journal"], encoding="utf-8") as handle:
                journal = parse_journal(handle.read())
        report = build_report(params["plan"], journal, params["title"], params["stop_reason"], read_downtime(params["downtime_dir"]))
    except (OSError, PlanError, KeyError, TypeError, ValueError) as exc:
        module.fail_json(
            msg="cannot build the upgrade report from the plan and the journal %s: %s; fix that entry of the journal, then write the report again"
            % (params["journal"], exc)
        )
    output_dir = params["output_dir"]
    files = {fmt: os.path.join(output_dir, name) for fmt, name in (("json", "report.json"), ("markdown", "report.md"), ("html", "report.html"))}
    contents = {"json": json.dumps(report, indent=2, sort_keys=True) + "\n", "markdown": render_markdown(report), "html": render_html(report)}
    try:
        if not module.check_mode:
            os.makedirs(output_dir, exist_ok=True)
        # Every file is written: a generator inside any() would stop at the first change.
        written = [write(module, files[fmt], contents[fmt]) for fmt in files]
        changed = any(written)
    except OSError as exc:
        module.fail_json(msg="cannot write the upgrade report into %s: %s; choose another output_dir" % (output_dir, exc))
    module.exit_json(changed=changed, files=files, report=report, stats=stats(report))


if __name__ == "__main__":
    main()
