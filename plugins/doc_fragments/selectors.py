# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations


class ModuleDocFragment:
    # The selectors that narrow which routers, networks/VPCs and system VMs a plugin reads or acts on
    # (argument spec: _common.SELECTOR_SPEC; account needs domain).
    DOCUMENTATION = r"""
options:
  zone:
    description: Name or id of the zone that narrows the selection; all zones when not set.
    type: str
  pod:
    description: Name or id of the pod that narrows the selection (the routers and system VMs running in it).
    type: str
  cluster:
    description: Name or id of the cluster that narrows the selection (the routers and system VMs whose host is in it).
    type: str
  domain:
    description:
      - Name or id of the domain (with its subdomains) whose routers (and their networks and VPCs) are selected.
      - System VMs belong to no domain or account, so none is selected with O(domain) or O(account).
    type: str
  account:
    description: Account whose routers (and their networks and VPCs) are selected; needs O(domain).
    type: str
"""
