# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations


class ModuleDocFragment:
    # The attributes every module of this collection declares; modules set the support level.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return what would change without changing anything.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when in diff mode.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
"""

    ACTIONGROUP_CLOUDSTACK = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/acs.upgrade.cloudstack) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - acs.upgrade.cloudstack
"""
