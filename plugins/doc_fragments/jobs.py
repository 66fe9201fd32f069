# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations


class ModuleDocFragment:
    # How the modules that run CloudStack jobs follow them and when they stop starting new ones
    # (argument spec: _common.JOB_SPEC). parallel and timeout stay in each module: their defaults differ.
    DOCUMENTATION = r"""
options:
  poll_interval:
    description: Longest pause, in seconds, between two reads of the jobs in flight; must be more than 0.
    type: float
    default: 5
  max_fail_percentage:
    description:
      - Once the failed targets are more than this percentage (0 to 100) of the targets of the run, no new job is
        started; the running ones are followed to their end, the others are reported as C(not_submitted), and the
        module fails with the summary.
      - The default V(0) stops starting new jobs after the first failure; V(100) attempts every target.
    type: float
    default: 0
"""
