# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The version rules of system VM and router upgrades, in one place.

Which source template can be live-patched by which management server (the support matrix of the upgrade
notes), and the two facts every decision starts from (:func:`upgrade_facts`): whether a system VM or router
is already live-patched (it runs this server's software and payload) and whether it runs the current template, which
is its zone's ``minreq.sysvmtemplate.version`` (never derived from the server version).
They are different facts: a live patch changes the first, never the second. ``requiresupgrade`` of listRouters
is proof of neither (it turns false after a live patch on an old template) and is never used here.
Pure functions: no API call, no Ansible import.
"""

from __future__ import annotations

import collections
import re
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._api import FEATURES_SINCE, compare_versions, parse_version

# patchSystemVm and restartNetwork/restartVPC(livepatch) appeared together; the client's feature table says when.
LIVEPATCH_MIN_MS_VERSION = FEATURES_SINCE["patchSystemVm"]
# Templates up to this version carry an older JDK than the patch payload needs.
LAST_NOT_PATCHABLE_TEMPLATE = "4.13"
# The 4.14 template ships an old strongSwan that the patched scripts do not fully support.
STRONGSWAN_CAVEAT_TEMPLATE = "4.14"
# From this release restartVPC live-patches a VPC's routers whatever the state of its tiers (apache/cloudstack#7958);
# before it only Implemented tiers count.
VPC_IDLE_TIERS_PATCHED_SINCE = "4.18.2.0"
# A system VM template's name carries its version: systemvm-kvm-4.15.1, systemvm-vmware-4.18.0.0.
_TEMPLATE_NAME_VERSION = re.compile(r"(?<![\d.])(\d+\.\d+(?:\.\d+){0,2})(?![\d.])")

STRONGSWAN_WARNING = (
    "template %s ships an older strongSwan: remote-access VPN may misbehave after a live patch; "
    "recreate the router from the current template where remote-access VPN is used"
)


class Support(t.NamedTuple):
    supported: bool
    reason: str
    warnings: list[str]


def _padded(version: str, width: int) -> tuple[int, ...]:
    parts = parse_version(version)
    return (parts + (0,) * width)[:width] if len(parts) < width else parts


def _release(version: str) -> tuple[int, int]:
    """The feature release (major, minor) of a version: 4.14.1.0 -> (4, 14)."""
    return _padded(version, 2)[:2]


def is_valid_version(version: t.Any) -> bool:
    if not version:
        return False
    try:
        parse_version(str(version))
    except ValueError:
        return False
    return True


def ms_supports_livepatch(ms_version: str) -> bool:
    return compare_versions(ms_version, LIVEPATCH_MIN_MS_VERSION) >= 0


def has_strongswan_caveat(template_version: str | None) -> bool:
    """Whether a live patch of a router built from ``template_version`` carries the remote-access VPN caveat."""
    return is_valid_version(template_version) and _release(str(template_version)) == _release(STRONGSWAN_CAVEAT_TEMPLATE)


def livepatch_support(template_version: str | None, ms_version: str) -> Support:
    """Whether a system VM or router built from ``template_version`` can be live-patched by ``ms_version``.

    The reason is written for the operator: it says why, and what to do instead when the answer is no.
    """
    if not ms_supports_livepatch(ms_version):
        return Support(
            False,
            "management server %s cannot live-patch (needs %s or later); use the legacy recreate path" % (ms_version, LIVEPATCH_MIN_MS_VERSION),
            [],
        )
    if not is_valid_version(template_version):
        return Support(False, "template version %r is unknown, so live-patch support cannot be decided; use the legacy recreate path" % (template_version,), [])
    release = _release(str(template_version))
    if release <= _release(LAST_NOT_PATCHABLE_TEMPLATE):
        return Support(
            False,
            "template %s (%s or older) has an older JDK than the %s payload needs; recreate it from the current template (legacy path)"
            % (template_version, LAST_NOT_PATCHABLE_TEMPLATE, ms_version),
            [],
        )
    if has_strongswan_caveat(template_version):
        return Support(True, "template %s can be live-patched by %s" % (template_version, ms_version), [STRONGSWAN_WARNING % template_version])
    return Support(True, "template %s can be live-patched by %s" % (template_version, ms_version), [])


def version_key(version: t.Any) -> tuple[int, ...]:
    """A sort key for template versions; an unreadable one sorts first, as the oldest."""
    return parse_version(str(version)) if is_valid_version(version) else ()


def unit_livepatch_support(kind: str, name: str, tier_states: t.Sequence[str | None], routers: t.Iterable[tuple[str, str | None]], ms_version: str) -> Support:
    """Whether one restartNetwork/restartVPC with livepatch can patch a network or VPC.

    ``routers`` are the (name, template version) of its Running routers: one restart patches them all, so a single
    router that cannot take the payload rules the whole unit out. ``tier_states`` are the states of a VPC's tiers:
    see :func:`vpc_tiers_livepatchable`.
    """
    if not ms_supports_livepatch(ms_version):
        return livepatch_support(None, ms_version)
    if kind == "vpc" and not vpc_tiers_livepatchable(tier_states, ms_version):
        return Support(
            False,
            "VPC %s has no tiers%s: restartVPC with livepatch patches its routers once per tier%s, so nothing would be patched while the job "
            "reports success"
            % (
                name,
                " in the Implemented state" if tier_states else "",
                " (only Implemented ones before %s)" % VPC_IDLE_TIERS_PATCHED_SINCE if tier_states else "",
            ),
            [],
        )
    reasons, unsupported, warnings = [], [], []
    for router_name, version in sorted(routers, key=lambda router: version_key(router[1])):
        support = livepatch_support(version, ms_version)
        if support.supported:
            reasons.append(support.reason)
        else:
            unsupported.append("%s: %s" % (router_name, support.reason))
        warnings.extend(warning for warning in support.warnings if warning not in warnings)
    if unsupported:
        return Support(False, "; ".join(unsupported), warnings)
    return Support(True, reasons[0] if reasons else "no Running router to decide on", warnings)


def is_current(softwareversion: str | None, ms_version: str) -> bool:
    """Whether a VM reporting ``softwareversion`` already runs the software of management server ``ms_version``.

    An empty or unparsable softwareversion (never patched, or a router that has not reported yet) is not current.
    """
    if not is_valid_version(softwareversion):
        return False
    return compare_versions(str(softwareversion), ms_version) == 0


# The zone-scoped setting that names the current system VM template version (NetworkOrchestrationService.MinVRVersion).
# The upgrade sets it from the release's system VM template (SystemVmTemplateRegistration.getSystemVmTemplateVersion,
# from pom.xml project.systemvm.template.version), which is not the server version: 4.18.2.0 ships 4.18.1, 4.19.2.0 and
# 4.19.3.0 ship 4.19.1. CloudStack compares router templates with it (NetworkHelperImpl.checkRouterVersion,
# requiresupgrade, upgradeRouterTemplate), so this collection judges "current template" by it and by nothing else.
MIN_TEMPLATE_SETTING = "minreq.sysvmtemplate.version"


def template_is_current(template_version: str | None, minreq: str | None) -> bool:
    """Whether a VM's template is at or above its zone's ``minreq.sysvmtemplate.version`` (``minreq``).

    An unknown template or an unknown (empty, unreadable) minimum is not current: callers that must tell the operator
    why check :func:`is_valid_version` of the minimum first (see :func:`unknown_minimum_reason`).
    """
    if not is_valid_version(template_version) or not is_valid_version(minreq):
        return False
    return compare_versions(str(template_version), str(minreq)) >= 0


def unknown_minimum_reason(zone: str | None, minreq: t.Any = None) -> str:
    """Why templates in ``zone`` cannot be judged: its minreq.sysvmtemplate.version was not read (None), is empty or is
    not a version."""
    if minreq is None:
        state = "was not read (listConfigurations failed for the zone: see min_template_errors of acs.upgrade.cs_fleet_info)"
    elif minreq == "":
        state = "is empty"
    else:
        state = "is %r, not a version" % (minreq,)
    return (
        "zone %s's %s %s, so whether a template is current cannot be judged (CloudStack compares router templates with it); "
        "set it for the zone (updateConfiguration name=%s zoneid=...) to the system VM template of this release, then plan again"
        % (zone or "(unknown)", MIN_TEMPLATE_SETTING, state, MIN_TEMPLATE_SETTING)
    )


def older_than_minimum(template_version: str | None, zone: str | None, minreq: str) -> str:
    """The reason a template is not current, naming the zone's minimum: "template 4.18.0 is older than zone1's minimum ..."."""
    return "template %s is older than %s's minimum %s (%s)" % (template_version or "(unknown)", zone or "the zone", minreq, MIN_TEMPLATE_SETTING)


def vpc_tiers_livepatchable(tier_states: t.Sequence[str | None], ms_version: str) -> bool:
    """Whether restartVPC with livepatch reaches a VPC's routers: it patches them once per tier, so a VPC without tiers is
    never patched; before 4.18.2.0 only Implemented tiers count (Allocated/Shutdown ones are skipped), from it on every tier.
    """
    if not tier_states:
        return False
    if compare_versions(ms_version, VPC_IDLE_TIERS_PATCHED_SINCE) >= 0:
        return True
    return any((state or "Implemented") == "Implemented" for state in tier_states)


def template_version_from_name(name: t.Any) -> str | None:
    """The version in a system VM template's name (``systemvm-kvm-4.15.1`` -> ``4.15.1``), or None when it names none."""
    found = _TEMPLATE_NAME_VERSION.findall(str(name or ""))
    return found[-1] if len(found) >= 1 else None


class UpgradeFacts(t.NamedTuple):
    """What a system VM or router runs, as the two facts the paths are decided from."""

    live_patched: bool  # runs this server's software with its scripts payload
    template_current: bool  # its template is at least its zone's minreq.sysvmtemplate.version
    template_version: str | None

    def describe(self, ms_version: str, minreq: str | None, zone: str | None = None) -> str:
        software = "live-patched to %s" % ms_version if self.live_patched else "not on the software of %s" % ms_version
        if self.template_current:
            template = "template %s is current (%s's minimum %s)" % (self.template_version, zone or "the zone", minreq)
        elif not is_valid_version(minreq):
            template = "template %s; %s" % (self.template_version or "(unknown)", unknown_minimum_reason(zone, minreq))
        else:
            template = older_than_minimum(self.template_version, zone, str(minreq))
        return "%s; %s" % (software, template)


def _field(obj: t.Any, name: str) -> t.Any:
    return obj.get(name) if isinstance(obj, t.Mapping) else getattr(obj, name, None)


def upgrade_facts(
    ms_version: str,
    minreq: str | None,
    template_version: str | None,
    softwareversion: str | None,
    scriptsversion: str | None = None,
    payload_scriptsversion: str | None = None,
) -> UpgradeFacts:
    """The two facts, decided here for the plan, cs_livepatch and cs_recreate alike.

    Live-patched: ``softwareversion`` equals the server's and ``scriptsversion`` is the payload's (when both are known:
    system VMs report no scripts checksum, and the payload's is learnt from the routers, see :func:`payload_scriptsversion`).
    Current template: the template version is at or above ``minreq``, the zone's minreq.sysvmtemplate.version.
    """
    live = is_current(softwareversion, ms_version) and (not scriptsversion or not payload_scriptsversion or scriptsversion == payload_scriptsversion)
    return UpgradeFacts(live, template_is_current(template_version, minreq), template_version)


def router_facts(router: t.Any, ms_version: str, minreq: str | None, payload: str | None = None) -> UpgradeFacts:
    """The facts of a router (a ``_fleet.Router`` or its dict): its template is listRouters ``version``; ``minreq`` is its zone's."""
    return upgrade_facts(ms_version, minreq, _field(router, "version"), _field(router, "softwareversion"), _field(router, "scriptsversion"), payload)


SYSTEMVM_DISK_UNKNOWN = (
    "its disk template is not known: listVolumes returns no system VM volume before 4.18 (QueryManagerImpl.searchForVolumesInternal), "
    "and at upgrade CloudStack repoints every system VM to the new template (listSystemVms templatename names it before the VM is "
    "recreated), so it is recreated once"
)


def systemvm_template_version(vm: t.Any) -> str | None:
    """The template version a system VM's disk was made from.

    Read from its ROOT volume (``disk_template_version``, listVolumes ``templateid``) where the server lists it (4.18 on,
    ``listsystemvms=true``). Otherwise a bound: the listed template is not the disk's (the upgrade repoints every system VM,
    SystemVmTemplateRegistration.updateSystemVMEntries), and until the VM is patched or booted under the new server its
    agent (listSystemVms ``version``) still reports the software of its old disk, so an agent older than the listed
    template is the better bound (a 4.13 SSVM must not be live-patched).
    """
    disk = _field(vm, "disk_template_version")
    if is_valid_version(disk):
        return str(disk)
    listed = _field(vm, "template_version") or template_version_from_name(_field(vm, "templatename"))
    agent = _field(vm, "version")
    try:
        agent_older = bool(listed and agent) and compare_versions(str(agent), str(listed)) < 0
    except ValueError:
        agent_older = False
    return str(agent) if agent_older else listed


def systemvm_facts(vm: t.Any, ms_version: str, minreq: str | None) -> UpgradeFacts:
    """The facts of an SSVM/CPVM: listSystemVms ``version`` is its agent's, the server's once patched or booted under it.

    It runs the current template when its ROOT volume's template (``disk_template_version``) is at or above ``minreq``; when
    the disk is not known (4.17, see :data:`SYSTEMVM_DISK_UNKNOWN`) never current. The template version is the disk's, or
    the bound of :func:`systemvm_template_version`, used to decide live-patch support.
    """
    live = upgrade_facts(ms_version, minreq, None, _field(vm, "version")).live_patched
    disk = _field(vm, "disk_template_version")
    return UpgradeFacts(live, is_valid_version(disk) and template_is_current(disk, minreq), systemvm_template_version(vm))


def payload_scriptsversion(routers: t.Iterable[t.Any], ms_version: str) -> str | None:
    """The scripts checksum of this server's payload, as the routers that run its software report it (the most common one)."""
    seen = collections.Counter(
        _field(router, "scriptsversion")
        for router in routers
        if _field(router, "scriptsversion") and is_current(_field(router, "softwareversion"), ms_version)
    )
    return seen.most_common(1)[0][0] if seen else None


# ---------------------------------------------------------------------------------------------- what the server accepts
# NetworkHelperImpl.sendCommandsToRouter -> checkRouterVersion (apache/cloudstack, read at 4.17.0.0 and 4.19.3.0, unchanged to
# 4.20.2.0): with router.version.check true, a router whose template version is below its zone's minreq.sysvmtemplate.version
# AND whose recorded scriptsversion is not the checksum of the server's own cloud-scripts.tgz gets no command ("Unable to
# send command. Router requires upgrade"): its rules, a VM start in its network and a restart without cleanup fail.
# requiresupgrade (DomainRouterJoinDaoImpl) compares the software version instead, so it proves nothing here.
REFUSED_BY_SERVER = "refused by the server"
REFUSED_ACTION = (
    "the management server sends it no command (apache/cloudstack#12211): recreate it (run the upgrade again, the plan recreates it, "
    "or playbooks/legacy_recreate.yml) or reboot it (rebootRouter), which boots it with the current scripts"
)


def server_accepts(
    router: t.Any,
    minreq: str | None,
    payload_checksum: str | None,
    version_check: bool | None = True,
    not_payload: t.Iterable[str] = (),
) -> bool | None:
    """Whether the management server accepts commands to ``router``, as checkRouterVersion decides; None when not known.

    ``minreq``: the zone's ``minreq.sysvmtemplate.version``; ``payload_checksum``: the checksum of the server's payload
    (:func:`learn_payload_checksum`, None when not known); ``version_check``: ``router.version.check`` (False: every router
    is accepted); ``not_payload``: checksums known not to be the server's (what routers reported before this server
    patched them). A router is never called accepted on a guess: without the minimum or the checksum, the answer is None.
    """
    if version_check is False:
        return True
    template = _field(router, "version")
    if not template:
        return False  # checkRouterVersion: a router without a recorded template version is refused
    if is_valid_version(minreq) and is_valid_version(template) and compare_versions(str(template), str(minreq)) >= 0:
        return True
    scripts = _field(router, "scriptsversion") or ""
    if payload_checksum:
        if scripts == payload_checksum:
            return True
        if is_valid_version(minreq):
            return False
    if scripts and scripts in set(not_payload) and is_valid_version(minreq):
        return False
    return None


def learn_payload_checksum(
    routers: t.Iterable[t.Any],
    hosts: t.Mapping[str, t.Any] | t.Iterable[t.Any],
    ms_version: str,
    minreq_by_zone: t.Mapping[str, str | None],
    booted: t.Iterable[str] = (),
) -> tuple[str | None, str]:
    """The checksum of the server's ``cloud-scripts.tgz`` (the API does not show it) and how it was learnt; (None, why) when not known.

    A router started under this server reports the checksum of what its host's agent pushed at start
    (LibvirtStartCommandWrapper copies the agent's systemVmPatchFiles; finalizeStart records the router's GetDomRVersionAnswer).
    So the witnesses are Running routers that run this server's software, on a template at or above their zone's minimum,
    on a host that is Up with the server's agent version. A live patch on a release with apache/cloudstack#9900 records the
    old checksum with the new software version, so when ``booted`` (ids of routers this run recreated) has witnesses,
    only they count; witnesses that disagree give no answer rather than a guess.
    """
    host_list = hosts.values() if isinstance(hosts, t.Mapping) else hosts
    agents = {_field(host, "id"): host for host in host_list}
    witnesses: dict[str, str] = {}
    for router in routers:
        host = agents.get(_field(router, "hostid"))
        minreq = minreq_by_zone.get(_field(router, "zoneid") or "")
        scripts = _field(router, "scriptsversion")
        if (
            scripts
            and _field(router, "state") == "Running"
            and is_current(_field(router, "softwareversion"), ms_version)
            and is_valid_version(minreq)
            and is_valid_version(_field(router, "version"))
            and compare_versions(str(_field(router, "version")), str(minreq)) >= 0
            and host is not None
            and _field(host, "state") == "Up"
            and is_current(_field(host, "version"), ms_version)
        ):
            witnesses[_field(router, "id")] = scripts
    chosen = {rid: scripts for rid, scripts in witnesses.items() if rid in set(booted)} or witnesses
    seen = sorted(set(chosen.values()))
    if len(seen) == 1:
        return seen[0], "reported by %d router(s) on a current template, started under %s on an upgraded host" % (len(chosen), ms_version)
    if not seen:
        return None, (
            "no router runs a current template under %s on a host whose agent is %s, so the checksum of the server's payload is "
            "not known (the API does not show it)" % (ms_version, ms_version)
        )
    return None, "routers on a current template report different scripts checksums (%s): the server's payload is not known" % ", ".join(seen)


def host_blocks_livepatch(host: t.Any, ms_version: str) -> str | None:
    """Why a live patch of a VM on ``host`` would not give it this server's payload, or None.

    The payload comes from the host's agent (LibvirtPatchSystemVmCommandWrapper copies the agent's own systemVmPatchFiles and
    answers their checksum), and a host whose agent is not connected takes no command (AgentManagerImpl.send:
    "agent not logged into this management server").
    """
    if host is None:
        return None
    name = _field(host, "name") or _field(host, "id")
    state = _field(host, "state")
    if state and state != "Up":
        return "host %s is %s: a live patch or start of its VMs cannot reach its agent; bring the host Up (or move the VMs), then run again" % (
            name,
            state,
        )
    version = _field(host, "version")
    if is_valid_version(version) and compare_versions(str(version), ms_version) < 0:
        known = agent_regression(str(version))
        return (
            "host %s runs cloudstack-agent %s, older than the management server %s: a live patch there pushes that agent's old scripts "
            "(the server would refuse a router on an old template)%s; upgrade the agent on the host first, then run again"
            % (name, version, ms_version, "; %s" % known if known else "")
        )
    return None


def agent_regression(agent_version: str) -> str | None:
    """The known regression of a host agent's patch script, or None: patch-sysvms.sh and LibvirtPatchSystemVmCommandWrapper
    are the agent's (ServerResource.systemVmPatchFiles), so an agent of a #9900 release records the old scripts checksum
    whatever the server's release (apache/cloudstack#12211: a 4.20.2.0 server over 4.20.1.0 agents)."""
    if not is_valid_version(agent_version):
        return None
    release = _release_of(agent_version)
    for regression in KNOWN_REGRESSIONS:
        if release in regression.releases:
            return (
                "its agent has %s (in %s; fixed by %s): a router live-patched there keeps its old scripts checksum and is refused until "
                "rebooted or recreated (apache/cloudstack#12211)" % (regression.issue, release, regression.fixed_by)
            )
    return None


class Regression(t.NamedTuple):
    issue: str
    releases: frozenset[str]
    fixed_by: str
    what: str


# Known regressions that leave a live-patched router refused, by release (read in the sources, see the simulator's
# acs_sim/regressions.py): #9900's keytool line in patch-sysvms.sh (4.19.2.0, 4.19.3.0, 4.20.1.0) makes the agent answer the
# pre-patch checksum, which the server records; #10962 (4.20.2.0) fixed it.
KNOWN_REGRESSIONS = (
    Regression(
        "apache/cloudstack#9900",
        frozenset({"4.19.2.0", "4.19.3.0", "4.20.1.0"}),
        "apache/cloudstack#10962 in 4.20.2.0",
        "a live patch records the router's old scripts checksum, so the server refuses a router on a template below the zone's minimum "
        "until it is rebooted or recreated (apache/cloudstack#12211)",
    ),
)
# apache/cloudstack#8497 (4.20.0.0): the router scripts moved to Python 3 and the agent to JRE 17; the 4.14 and 4.15 templates
# (Debian 9/10) run Python 2.7 as /usr/bin/python with openjdk 11, so the patched services fail and patch-sysvms.sh restores its
# backup (exit 1).
PYTHON3_PAYLOAD_SINCE = "4.20.0.0"
PYTHON2_TEMPLATES = ("4.14", "4.15")


def _release_of(ms_version: str) -> str:
    return ".".join(str(part) for part in _padded(ms_version, 4)[:4])


def livepatch_regression(ms_version: str, template_version: str | None, minreq: str | None) -> str | None:
    """Why a live patch by ``ms_version`` would leave a router on ``template_version`` refused or unpatched, or None."""
    if not is_valid_version(ms_version):
        return None
    release = _release_of(ms_version)
    # Below the zone's minimum. Where it was not read, the server's own release bounds it from above (no release ships a
    # template newer than itself): a template at or above that release is never below the minimum, any other may be.
    bound = str(minreq) if is_valid_version(minreq) else ".".join(str(part) for part in _padded(ms_version, 3)[:3])
    below = not is_valid_version(template_version) or compare_versions(str(template_version), bound) < 0
    for regression in KNOWN_REGRESSIONS:
        if release in regression.releases and below:
            return "%s (in %s; fixed by %s): %s" % (regression.issue, release, regression.fixed_by, regression.what)
    if (
        compare_versions(ms_version, PYTHON3_PAYLOAD_SINCE) >= 0
        and is_valid_version(template_version)
        and "%d.%d" % _release(str(template_version)) in PYTHON2_TEMPLATES
    ):
        return (
            "apache/cloudstack#8497 (%s moved the router scripts to Python 3 and the agent to JRE 17): template %s (Debian 9/10, Python 2.7, "
            "openjdk 11) cannot run them, so its live patch fails and the old scripts stay" % (PYTHON3_PAYLOAD_SINCE, template_version)
        )
    return None
