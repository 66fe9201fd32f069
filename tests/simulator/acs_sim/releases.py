# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What each CloudStack release ships as its system VM template, read at the release commits.

Sources (apache/cloudstack, full-history mirror; the release commit is the one whose root ``pom.xml`` carries the
release ``<version>``):

- ``pom.xml`` property ``project.systemvm.template.version``: the template the release ships. It is not always the
  release's own version: 4.17.1.0 ships 4.17.0.0, 4.18.2.0 ships 4.18.1.0, 4.19.2.0 and 4.19.3.0 ship 4.19.1.0.
  4.16.0.0 has no such property (``DatabaseUpgradeChecker.upgrade`` took ``CS_TINY_VERSION`` from the code version).
- ``engine/schema/templateConfig.sh`` writes ``metadata.ini``: ``[default] version = X.Y.Z.S`` and, per hypervisor
  section, ``templatename = systemvm-<section>-X.Y.Z`` (4.16.1.0-4.19.3.0) or ``systemvm-<hypervisor>-X.Y.Z-<arch>``
  (4.20.0.0-4.20.2.0: ``-x86_64``; 4.20.1.0 adds a ``kvm-aarch64`` section named ``systemvm-kvm-X.Y.Z-aarch64``).
- ``DatabaseUpgradeChecker.upgrade`` parses that version (``SystemVmTemplateRegistration.parseMetadataFile``) into
  ``CS_MAJOR_VERSION`` (``major.minor``) and ``CS_TINY_VERSION`` (patch); ``SystemVmTemplateRegistration
  .getSystemVmTemplateVersion`` is ``"%s.%s" % (CS_MAJOR_VERSION, CS_TINY_VERSION)``, three parts (4.18.1), and
  ``registerTemplate``/``updateTemplateUrlChecksumAndGuestOsId`` store it as ``minreq.sysvmtemplate.version`` with the
  template name in ``router.template.<hypervisor>`` (``NewTemplateNameList``, read from ``metadata.ini``).

A release outside this table is refused (:func:`release`): the simulator does not guess a template.
"""
from __future__ import annotations

from dataclasses import dataclass, field

HYPERVISORS = ("kvm", "vmware", "xenserver", "hyperv", "lxc", "ovm3")


@dataclass(frozen=True)
class Release:
    version: str  # the management server version (root pom.xml <version>)
    commit: str  # the release commit read
    pom_template: str  # pom.xml project.systemvm.template.version ("" where the pom has none: 4.16.0.0)
    minreq: str  # minreq.sysvmtemplate.version the upgrade sets: SystemVmTemplateRegistration.getSystemVmTemplateVersion
    arch_suffix: bool = False  # templateConfig.sh names templates systemvm-<hv>-X.Y.Z-<arch> (4.20)
    extra_templates: tuple[str, ...] = field(default=())  # sections beyond one per hypervisor (4.20.1: kvm-aarch64)

    def template_names(self) -> dict[str, str]:
        """``NewTemplateNameList``: the template name the upgrade registers, per metadata.ini section."""
        names = {hypervisor: template_name(self.minreq, hypervisor, arch_suffix=self.arch_suffix) for hypervisor in HYPERVISORS}
        for section in self.extra_templates:
            hypervisor, arch = section.split("-", 1)
            names[section] = template_name(self.minreq, hypervisor, arch=arch, arch_suffix=True)
        return names


def template_name(version: str, hypervisor: str = "kvm", arch: str = "x86_64", arch_suffix: bool | None = None) -> str:
    """The name templateConfig.sh gives a system VM template: ``systemvm-kvm-4.18.1``, from 4.20 ``systemvm-kvm-4.20.0-x86_64``.

    ``arch_suffix`` None decides by the template's version (templates of 4.20 and later carry the architecture).
    """
    if arch_suffix is None:
        arch_suffix = _tuple(version) >= (4, 20)
    return f"systemvm-{hypervisor}-{version}-{arch}" if arch_suffix else f"systemvm-{hypervisor}-{version}"


def _tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


_AARCH64 = ("kvm-aarch64",)

RELEASES: dict[str, Release] = {r.version: r for r in (
    # 4.16.0.0: root pom has no project.systemvm.template.version; DatabaseUpgradeChecker (44c08b5acc) sets
    # CS_TINY_VERSION from the code version, so 4.16.0; templateConfig.sh names systemvm-<hv>-4.16.0.
    Release("4.16.0.0", "44c08b5acc", "", "4.16.0"),
    Release("4.16.1.0", "cad9332082", "4.16.1.0", "4.16.1"),
    Release("4.17.0.0", "c56220fcf2", "4.17.0.0", "4.17.0"),
    Release("4.17.1.0", "974369e3d4", "4.17.0.0", "4.17.0"),
    Release("4.17.2.0", "5b9a989ab0", "4.17.2.0", "4.17.2"),
    Release("4.18.0.0", "0574087284", "4.18.0.0", "4.18.0"),
    Release("4.18.1.0", "4bdff06acd", "4.18.1.0", "4.18.1"),
    Release("4.18.2.0", "154566f914", "4.18.1.0", "4.18.1"),
    Release("4.19.0.0", "2746225b99", "4.19.0.0", "4.19.0"),
    Release("4.19.1.0", "9f4c895974", "4.19.1.0", "4.19.1"),
    Release("4.19.2.0", "4e321d4356", "4.19.1.0", "4.19.1"),
    Release("4.19.3.0", "0c7d47138d", "4.19.1.0", "4.19.1"),
    Release("4.20.0.0", "2fe3fcef7c", "4.20.0.0", "4.20.0", arch_suffix=True),
    Release("4.20.1.0", "c61a5eb430", "4.20.1.0", "4.20.1", arch_suffix=True, extra_templates=_AARCH64),
    Release("4.20.2.0", "4dc3931233", "4.20.2.0", "4.20.2", arch_suffix=True, extra_templates=_AARCH64),
)}


class UnknownRelease(ValueError):
    """A management server version this table has not read."""


def release(ms_version: str) -> Release:
    """The release of ``ms_version``: an exact version of the table (4.18.2.0), or its first three parts (4.18.2)."""
    parts = str(ms_version).split("-", 1)[0].split(".")
    key = ".".join((parts + ["0"] * 4)[:4])
    found = RELEASES.get(key)
    if found is None:
        raise UnknownRelease(
            f"management server version {ms_version!r} is not a release the simulator knows (acs_sim/releases.py read "
            f"{', '.join(RELEASES)}); pick one of them, or give the topology's managementserver a systemvm_template"
        )
    return found
