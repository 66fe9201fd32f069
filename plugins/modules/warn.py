#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: warn
short_description: Show a warning in the job output and go on
version_added: 0.2.0
description:
  - Shows O(msg) as an Ansible warning (C([WARNING]) in the output, a warning of the AWX job) and returns ok.
  - For a failure that must not stop the run, for example a report that could not be written during an upgrade;
    the message says what failed and what to do.
  - Runs on the controller only (an action plugin); it changes nothing.
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
  msg:
    description: The warning.
    type: str
    required: true
seealso:
  - module: ansible.builtin.debug
"""

EXAMPLES = r"""
- name: Write the report; a report that cannot be written never stops the upgrade
  block:
    - name: Write the report
      acs.upgrade.cs_upgrade_report:
        plan_file: /var/lib/acs-upgrade/plan.json
        journal: /var/lib/acs-upgrade/journal.jsonl
        output_dir: /var/lib/acs-upgrade
  rescue:
    - name: Warn that the report was not written
      acs.upgrade.warn:
        msg: "the report was not written: {{ ansible_failed_result.msg }}; write it again with ansible-playbook acs.upgrade.report"
"""

RETURN = r"""
msg:
  description: The warning.
  returned: always
  type: str
"""
