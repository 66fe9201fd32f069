# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Known regressions of CloudStack releases that change what a live patch leaves behind, by release.

Each entry was read in the sources at the release commits (alexandremattioli/cloudstack, a full-history fork of
apache/cloudstack) and cites what it read.
"""
from __future__ import annotations

from acs_sim.spec import version_tuple

# apache/cloudstack#9900 ("systemvm: fix keystore is reset when patch a systemvm", commit 35fe19f096) added to
# systemvm/patch-sysvms.sh.patch_systemvm an unguarded `keytool -importkeystore ...` whose output lands in the script's
# answer. LibvirtPatchSystemVmCommandWrapper.execute (read at 4.19.3.0 0c7d47138d) splits that answer on ":" and, when
# it does not get exactly two parts, logs "Failed to get the latest script version" and answers the checksum it read
# *before* patching (lines[1]); ManagementServerImpl.updateRouterDetails records it as the router's scriptsversion,
# with softwareversion = the server's. The line is in patch-sysvms.sh at 4.19.2.0 (4e321d4356), 4.19.3.0 (0c7d47138d)
# and 4.20.1.0 (c61a5eb430), not at 4.19.1.0 (9f4c895974) nor 4.20.0.0 (2fe3fcef7c); #10962 (5dfeb79c63, in 4.20.2.0
# 4dc3931233) limits it to SSVM/CPVM with its output discarded. A router so "patched" on a template below the zone's
# minimum is refused by NetworkHelperImpl.checkRouterVersion until it is rebooted or recreated (apache/cloudstack#12211).
LIVEPATCH_KEEPS_OLD_CHECKSUM = frozenset({"4.19.2.0", "4.19.3.0", "4.20.1.0"})

# apache/cloudstack#8497 (87284f03f0, first in 4.20.0.0 2fe3fcef7c) moved the router scripts to Python 3 (2to3) and the
# system VM agent to JRE 17: systemvm/debian/opt/cloud/bin/*.py keep `#!/usr/bin/python` and rely on the 4.20 template's
# python-is-python3 / python3-netaddr / openjdk-17-jre-headless (tools/appliance/systemvmtemplate/scripts/
# install_systemvm_packages.sh at 4.20.0.0), and passwd_server_ip.py imports http.server and socketserver (Python 3 only).
# The 4.14 template (Debian 9.12, 6f96b3b2b3) installs python (2.7) and python-netaddr, no python3; the 4.15 template
# (Debian 10.5, 280c13a4bb) python, python3 (3.7) and python-netaddr only (no python3-netaddr); both openjdk-11. On them
# /usr/bin/python is Python 2.7, so patch-sysvms.sh (4.20.0.0) restarts the router's services on scripts that cannot
# run, finds one not active, restores its backup and exits 1: the live patch fails and the router keeps its old scripts.
PYTHON3_SCRIPTS_SINCE = (4, 20)
PYTHON2_ONLY_TEMPLATES = frozenset({(4, 14), (4, 15)})


def livepatch_keeps_old_checksum(agent_version: str) -> bool:
    """#9900: a live patch through an agent of this release records the router's pre-patch scripts checksum. patch-sysvms.sh and
    LibvirtPatchSystemVmCommandWrapper are the host agent's (ServerResource.systemVmPatchFiles), so the agent's release counts:
    a 4.20.2.0 server over 4.20.1.0 agents still records the old checksum (what apache/cloudstack#12211 reports)."""
    return ".".join(str(part) for part in (version_tuple(agent_version) + (0, 0, 0, 0))[:4]) in LIVEPATCH_KEEPS_OLD_CHECKSUM


def python3_payload_breaks(ms_version: str, template_version: str) -> bool:
    """#8497: the Python 3 payload of a 4.20+ server cannot run on a 4.14/4.15 (Debian 9/10, Python 2.7) template."""
    return version_tuple(ms_version)[:2] >= PYTHON3_SCRIPTS_SINCE and version_tuple(template_version)[:2] in PYTHON2_ONLY_TEMPLATES


PYTHON3_FAILURE = ("patch-sysvms.sh exited 1 on {name}: the Python 3 scripts and JRE 17 agent of {ms} (apache/cloudstack#8497) cannot run on "
                   "template {template} (Python 2.7 as /usr/bin/python, openjdk 11): a service failed to restart and the backup was restored")
