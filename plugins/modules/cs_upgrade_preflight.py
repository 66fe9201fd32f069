#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_upgrade_preflight
short_description: Find every reason an upgrade of CloudStack system VMs and routers would fail, before the first job
version_added: 0.2.0
description:
  - Checks the cloud an upgrade is about to act on and returns one finding per problem, each with its check id, its
    severity, what was found and what to do, naming the objects.
  - Severities - V(blocker) stops the run before anything changes, V(warning) is printed and recorded, V(info)
    describes the cloud.
  - "The checks (ids) - C(management_server_versions) (blocker; warning when a server reports no version or the key may
    not call C(listManagementServers), naming the version C(listCapabilities) gave), C(management_server_state) (warning),
    C(host_agent_version) (warning), C(host_state) (blocker when system VMs or routers run on a host that is not Up or
    is in maintenance, warning else), C(minimum_template) (blocker), C(systemvm_template) (blocker),
    C(systemvm_template_per_zone) (blocker; repaired with playbooks/crosszone.yml), C(router_version_check) (info,
    warning when false), C(health_checks) (info, warning when disabled or when the basic or advanced interval is 0),
    C(jobs_in_flight) (blocker; warning for C(patchSystemVm) jobs, which name no system VM; info for the jobs of
    O(journal)), C(job_backlog) (warning), C(known_regression) (warning), C(redundant_pair_state) (warning),
    C(router_state) (warning for transitional states, info for Stopped routers), C(network_state) (warning)."
  - Reads the fleet from O(fleet_file) (or O(fleet)) and makes a fixed number of paged API calls beyond it - the
    management servers, five settings, each zone's C(minreq.sysvmtemplate.version) unless the fleet has it, the
    system templates and the async jobs - whatever the size of the cloud. Changes nothing.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.cloudstack
  - acs.upgrade.attributes
  - acs.upgrade.attributes.actiongroup_cloudstack
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
  ignore:
    description:
      - Check ids whose findings the operator has accepted. They are kept in the result, marked C(ignored), and a
        blocker among them no longer stops the run.
      - An id that is not a check is an error, never silently nothing.
    type: list
    elements: str
    default: []
  journal:
    description:
      - The journal of the run the preflight is for (the C(journal.jsonl) of the state directory). The jobs it records as
        submitted without an end are an interrupted attempt's, which the run follows instead of acting again - an
        V(info) finding, not a C(jobs_in_flight) blocker.
      - Unset, every job in flight on a target is a blocker.
    type: path
    version_added: 0.3.0
  dest:
    description:
      - Write the whole result there (JSON, mode 0600), every object of every finding included; the module's result
        lists at most 10 objects per finding.
    type: path
  fail_on_blockers:
    description: Fail the task, after writing O(dest), when a blocker is left that O(ignore) does not accept.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check the cloud before the upgrade, accepting that health checks are off
  acs.upgrade.cs_upgrade_preflight:
    fleet_file: ~/.acs-upgrade/fleet.json
    dest: ~/.acs-upgrade/preflight.json
    ignore: [health_checks]
  register: preflight

- name: Show the warnings
  ansible.builtin.debug:
    msg: "{{ preflight.lines }}"
"""

RETURN = r"""
passed:
  description: Whether no blocker is left (ignored ones aside).
  returned: always
  type: bool
counts:
  description: Findings per severity that are not ignored, and how many are ignored.
  returned: always
  type: dict
  sample: {blocker: 0, warning: 2, info: 3, ignored: 1}
blockers:
  description: The blockers that stop the run, as in RV(findings).
  returned: always
  type: list
  elements: dict
findings:
  description:
    - Every finding, blockers first - C(check) (its id), C(severity), C(found), C(action) (what to do), C(objects) (at most
      10; all of them in O(dest)) and C(ignored).
  returned: always
  type: list
  elements: dict
lines:
  description: The preflight as text lines (the section at the top of plan.txt).
  returned: always
  type: list
  elements: str
preflight_file:
  description: Where the result was written.
  returned: when O(dest) is set
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import CloudStackModule, cloudstack_argument_spec, write_private_json
from ansible_collections.acs.upgrade.plugins.module_utils._preflight import (
    NAMES_LIMIT,
    PreflightError,
    check_ignore_list,
    journal_jobs,
    read_cloud,
    run_checks,
    summary_lines,
)
from ansible_collections.acs.upgrade.plugins.module_utils._state import EngineError, Journal


class Preflight(CloudStackModule):
    def fleet(self) -> dict:
        if self.params["fleet"] is not None:
            return self.params["fleet"]
        path = self.params["fleet_file"]
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            self.fail("cannot read the fleet file: %s does not exist; run acs.upgrade.cs_fleet_info with dest first" % path)
        except (OSError, ValueError) as exc:
            self.fail("cannot read the fleet file %s: %s" % (path, exc))

    def run(self) -> dict:
        try:
            ignore = check_ignore_list(self.params["ignore"])
        except PreflightError as exc:
            self.fail(str(exc))
        fleet = self.fleet()
        own_jobs = []
        if self.params["journal"]:
            try:
                own_jobs = journal_jobs(Journal(self.params["journal"]).entries(), str(fleet.get("version") or ""))
            except EngineError as exc:
                self.fail(str(exc))
        cloud = read_cloud(self.client, fleet)
        cloud["journal_jobs"] = own_jobs
        result = run_checks(fleet, cloud, ignore)
        lines = summary_lines(result)
        dest = self.params["dest"]
        if dest:
            try:
                write_private_json(dest, result)
            except OSError as exc:
                self.fail("cannot write the preflight to %s: %s" % (dest, exc))

        def small(item: dict) -> dict:
            objects = item["objects"]
            return dict(item, objects=objects[:NAMES_LIMIT], objects_more=max(0, len(objects) - NAMES_LIMIT))

        returned = {
            "changed": False,
            "passed": result["passed"],
            "counts": result["counts"],
            "blockers": [small(item) for item in result["blockers"]],
            "findings": [small(item) for item in result["findings"]],
            "lines": lines,
        }
        if dest:
            returned["preflight_file"] = dest
        if self.params["fail_on_blockers"] and not result["passed"]:
            self.fail(
                "the preflight found %d blocker(s); nothing was changed. %s. Fix them, or accept one by its check id with ignore "
                "(preflight_ignore in the playbooks)"
                % (len(result["blockers"]), "; ".join("%s: %s" % (item["check"], item["found"]) for item in result["blockers"])),
                **returned,
            )
        return returned


def main() -> None:
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            fleet={"type": "dict"},
            fleet_file={"type": "path"},
            ignore={"type": "list", "elements": "str", "default": []},
            journal={"type": "path"},
            dest={"type": "path"},
            fail_on_blockers={"type": "bool", "default": True},
        ),
        required_one_of=[("fleet", "fleet_file")],
        mutually_exclusive=[("fleet", "fleet_file")],
        supports_check_mode=True,
    )
    Preflight(module).execute()


if __name__ == "__main__":
    main()
