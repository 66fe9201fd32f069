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
  - Per group it lists every system VM, network and VPC with its planned and final path, its outcome
    (V(done), V(failed), V(not_run), V(skipped)) and why, and a timeline of what was done when and how long it took.
  - The HTML page is self-contained (inline style, no script, no external resource).
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
    description:
      - Path of C(plan.json) written by M(acs.upgrade.cs_upgrade_plan). With it the result carries the totals, not
        the whole report (it is in C(report.json)).
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
seealso:
  - module: acs.upgrade.cs_upgrade_plan
  - module: acs.upgrade.cs_upgrade_stage
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
  returned: success, when O(plan) is given
  type: dict
stats:
  description: Totals for a job summary, C(done), C(failed), C(not_run), C(skipped), C(groups), C(paths), C(ms_version).
  returned: success
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._plan import PlanError, parse_journal
from ansible_collections.acs.upgrade.plugins.module_utils._report import build_report, render_html, render_markdown, stats


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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "plan": {"type": "dict"},
            "plan_file": {"type": "path"},
            "journal": {"type": "path", "required": True},
            "output_dir": {"type": "path", "required": True},
            "title": {"type": "str", "default": "CloudStack system VM and router upgrade"},
        },
        required_one_of=[("plan", "plan_file")],
        mutually_exclusive=[("plan", "plan_file")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        plan = params["plan"]
        if plan is None:
            with open(params["plan_file"], encoding="utf-8") as handle:
                plan = json.load(handle)
        journal = []
        if os.path.exists(params["journal"]):
            with open(params["journal"], encoding="utf-8") as handle:
                journal = parse_journal(handle.read())
        report = build_report(plan, journal, params["title"])
    except (OSError, ValueError, PlanError, KeyError) as exc:
        module.fail_json(msg="cannot build the upgrade report from the plan and the journal %s: %s" % (params["journal"], exc))
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
    if params["plan"] is None:
        module.exit_json(changed=changed, files=files, stats=stats(report))
    module.exit_json(changed=changed, files=files, report=report, stats=stats(report))


if __name__ == "__main__":
    main()
