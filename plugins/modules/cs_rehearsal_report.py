#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_rehearsal_report
short_description: Write what a rehearsal on the simulator predicts for the real upgrade
version_added: 0.2.0
description:
  - Reads the report of an upgrade rehearsed on a simulated copy of the cloud (C(acs-sim --from-snapshot)) and the snapshot,
    and writes C(rehearsal.json), C(rehearsal.md) and C(rehearsal.html) beside the rehearsed plan.
  - Gives the predicted duration of each group and in total at real scale (the rehearsed durations divided by the time
    factor), with a range from the spread of the cloud's own job durations, the paths, what would need a hand, and whether
    each group fits its window. Every output says REHEARSAL.
  - Used by the C(acs.upgrade.rehearse) playbook. Talks to no cloud.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.attributes
attributes:
  check_mode:
    support: full
    details: The files are written in check mode too; they only describe the rehearsal.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  upgrade_dir:
    description: The state directory of the rehearsed run (its C(report.json) and C(plan.json)); the files are written there.
    type: path
    required: true
  snapshot_file:
    description: The snapshot the simulator served (M(acs.upgrade.cs_fleet_snapshot)).
    type: path
    required: true
  time_factor:
    description: The simulator's time factor in the rehearsal.
    type: float
    required: true
  windows:
    description: The real run's C(plan_windows) (group name or id, or C(*), to a window or a list of windows).
    type: dict
    default: {}
  run_rc:
    description: The exit code of the rehearsed run.
    type: int
    default: 0
  run_log:
    description:
      - The rehearsed run's output. When that run failed before any job (O(run_rc) is not 0 and its report says nothing
        ran, or it wrote none), the module fails with the last lines of this file and its path, and writes no rehearsal.
    type: path
    version_added: 0.3.0
  jobs_file:
    description:
      - The rehearsal simulator's job log (what its C(/_sim/jobs) answers), saved before it stopped.
      - With it, the job time of each span (while at least one job ran) is divided by O(time_factor) and the controller's
        own time is kept as measured; without it, every second is divided by O(time_factor) and the prediction leans long.
    type: path
    version_added: 0.3.0
  parallel:
    description:
      - The window of the rehearsed run (its C(livepatch_parallel)), in which each stage's jobs are replayed at real scale.
      - With O(jobs_file) and the run's C(journal.jsonl), the job time of a stage is that replay. At a small time factor a
        large stage is paced by the controller, whose time a division of the stage's wall time by O(time_factor) would
        multiply too.
    type: int
    default: 20
    version_added: 0.3.0
"""

EXAMPLES = r"""
- name: Write the rehearsal
  acs.upgrade.cs_rehearsal_report:
    upgrade_dir: ~/.acs-upgrade/rehearsal/upgrade
    snapshot_file: ~/.acs-upgrade/rehearsal/snapshot.json
    time_factor: 0.01
    windows: {"*": {start: "22:00", end: "04:00"}}
"""

RETURN = r"""
rehearsal_files:
  description: The files written.
  returned: success
  type: list
  elements: str
summary:
  description: One line per group and the total, each beginning with REHEARSAL.
  returned: success
  type: list
  elements: str
rehearsal:
  description: What C(rehearsal.json) holds (predicted seconds per group and in total, range, window fit, paths, what needs a hand).
  returned: success
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import write_private_json, write_private_text
from ansible_collections.acs.upgrade.plugins.module_utils._rehearsal import LABEL, build, html_page, markdown


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "upgrade_dir": {"type": "path", "required": True},
            "snapshot_file": {"type": "path", "required": True},
            "time_factor": {"type": "float", "required": True},
            "windows": {"type": "dict", "default": {}},
            "run_rc": {"type": "int", "default": 0},
            "run_log": {"type": "path"},
            "jobs_file": {"type": "path"},
            "parallel": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["time_factor"] <= 0:
        module.fail_json(msg="time_factor must be more than 0, not %s" % params["time_factor"])
    report_file = os.path.join(params["upgrade_dir"], "report.json")
    if params["run_rc"] != 0:
        # Nothing ran when the rehearsed run journalled nothing: no job to replay, so no prediction.
        journal_file = os.path.join(params["upgrade_dir"], "journal.jsonl")
        nothing_ran = not os.path.exists(journal_file) or os.path.getsize(journal_file) == 0
        why = ""
        try:
            with open(report_file, encoding="utf-8") as handle:
                why = (json.load(handle).get("outcome") or {}).get("summary") or ""
        except (OSError, ValueError):
            pass
        if nothing_ran:
            tail = []
            if params["run_log"]:
                try:
                    with open(params["run_log"], encoding="utf-8", errors="replace") as handle:
                        tail = [line.rstrip() for line in handle if line.strip()][-15:]
                except OSError:
                    pass
            module.fail_json(
                msg="the rehearsed run failed (rc %d) before any job, so there is nothing to predict%s: its output is in %s; its last lines: %s"
                % (params["run_rc"], " (%s)" % why if why else "", params["run_log"] or "the task above", " | ".join(tail) or "-")
            )
    try:
        with open(report_file, encoding="utf-8") as handle:
            report = json.load(handle)
        with open(params["snapshot_file"], encoding="utf-8") as handle:
            snapshot = json.load(handle)
    except (OSError, ValueError) as exc:
        where = params["run_log"] or "the task above"
        module.fail_json(msg="cannot read the rehearsed run's report or the snapshot (%s): see the rehearsed run's output in %s" % (exc, where))
    if params["parallel"] < 1:
        module.fail_json(msg="parallel must be 1 or more (the rehearsed run's livepatch_parallel), not %s" % params["parallel"])
    jobs = None
    if params["jobs_file"]:
        try:
            with open(params["jobs_file"], encoding="utf-8") as handle:
                jobs = json.load(handle)["jobs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            module.fail_json(msg="cannot read the rehearsal simulator's job log %s (%s): run the rehearsal again" % (params["jobs_file"], exc))
    journal = None
    journal_file = os.path.join(params["upgrade_dir"], "journal.jsonl")
    if jobs is not None and os.path.exists(journal_file):
        try:
            with open(journal_file, encoding="utf-8") as handle:
                journal = [json.loads(line) for line in handle if line.strip()]
        except (OSError, ValueError) as exc:
            module.fail_json(msg="cannot read the rehearsed run's journal %s (%s): run the rehearsal again" % (journal_file, exc))
    rehearsal = build(report, snapshot, params["time_factor"], params["windows"], params["run_rc"], jobs, journal, params["parallel"])
    files = [os.path.join(params["upgrade_dir"], "rehearsal.%s" % ext) for ext in ("json", "md", "html")]
    try:
        write_private_json(files[0], rehearsal)
        write_private_text(files[1], markdown(rehearsal))
        write_private_text(files[2], html_page(rehearsal))
    except OSError as exc:
        module.fail_json(msg="cannot write the rehearsal in %s: %s" % (params["upgrade_dir"], exc))
    summary = ["%s total: %.0f s (%.0f-%.0f s) at real scale; outcome: %s" % (
        LABEL, rehearsal["total"]["seconds"] or 0, rehearsal["total"]["low_seconds"] or 0, rehearsal["total"]["high_seconds"] or 0,
        (rehearsal["outcome"] or {}).get("summary") if isinstance(rehearsal["outcome"], dict) else rehearsal["outcome"])]
    summary += ["%s group %s: %.0f s, fits its window: %s" % (LABEL, group["name"], group["seconds"] or 0, group["fits"] or "no window")
                for group in rehearsal["groups"]]
    module.exit_json(changed=False, rehearsal_files=files, summary=summary, rehearsal=rehearsal)


if __name__ == "__main__":
    main()
