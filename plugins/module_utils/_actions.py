# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The action table: per path, kind of target and method, which API call acts, what job(s) it makes, how the target is
read back and the one rule that says it is upgraded, and where a failure goes next.

Every executor takes its acts from here (the stages of ``cs_upgrade_stage``, ``cs_livepatch`` and ``cs_recreate``), so
that a target is judged by the same rule whichever module acted on it. A new way to upgrade a kind of target is one
entry of :data:`ACTIONS` (and the option that selects it).

The success rules follow CloudStack (see DOMAIN.md):

- a live patch is proven by the versions read back (``scriptsversion``/``softwareversion`` of the routers, the agent's
  ``version`` of a system VM), never by the job alone (``_livepatch.judge_unit``/``judge_systemvm``);
- a recreate is proven by the template: every router of the network or VPC Running on a template at or above its zone's
  ``minreq.sysvmtemplate.version`` (listRouters ``version``), a system VM Running on such a template read from its ROOT
  volume (``listVolumes``; the listed template where the server lists no system VM volume, 4.17). The agent's version
  of a recreated system VM proves nothing: any boot under the new server reports the server's version.
"""

from __future__ import annotations

import enum
import typing as t
from dataclasses import dataclass

from ansible_collections.acs.upgrade.plugins.module_utils._fleet import SystemVm, read_disk_templates, read_template_versions
from ansible_collections.acs.upgrade.plugins.module_utils._matrix import (
    MIN_TEMPLATE_SETTING,
    is_valid_version,
    older_than_minimum,
    template_is_current,
    unknown_minimum_reason,
)


class Path(str, enum.Enum):
    """The path of a planned item, as written in plan.json and the journal (the plain strings)."""

    LIVEPATCH = "livepatch"
    LEGACY = "legacy"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


# The legacy methods of a plan item (``method`` in plan.json; absent: the kind's default).
RESTART_CLEANUP = "restart_cleanup"
REBOOT = "reboot"
UPGRADE_ROUTER_TEMPLATE = "upgrade_router_template"
LIVE = "live"
LEGACY_METHODS = (RESTART_CLEANUP, UPGRADE_ROUTER_TEMPLATE)

# The success rules.
VERIFY_PATCHED = "patched"
VERIFY_TEMPLATE = "template"

PRIMARY = "PRIMARY"
# A network or VPC restart that live-patches: livepatch only works without cleanup (NetworkOrchestrator.restartNetwork).
LIVE_RESTART = {"livepatch": True, "cleanup": False}


@dataclass(frozen=True)
class Action:
    """How one kind of target is acted on along one path.

    ``command`` is submitted with ``params``; ``per_router`` actions make one call per router of the network or VPC (each
    queues one reboot job; BACKUP and single routers first, the PRIMARY of a redundant pair last, see
    :func:`router_order`), so a target of theirs has several jobs in turn. ``verify`` names the success rule; a live
    patch that fails falls back to ``fallback``.
    """

    path: Path
    kind: str
    method: str
    command: str
    label: str
    params: t.Mapping[str, t.Any]
    verify: str
    fallback: Path | None = None
    per_router: bool = False
    forced_reboot: bool = False

    def request(self, target_id: str, has_feature: t.Callable[[str], bool]) -> dict[str, t.Any]:
        """The parameters of one call on ``target_id`` (a router for a ``per_router`` action)."""
        params = dict(self.params, id=target_id)
        if self.forced_reboot and has_feature("rebootSystemVm.forced"):
            params["forced"] = True
        return params


ACTIONS: dict[tuple[Path, str, str], Action] = {
    action_key: action
    for action in (
        Action(Path.LIVEPATCH, "network", LIVE, "restartNetwork", "restartNetwork(livepatch)", LIVE_RESTART, VERIFY_PATCHED, Path.LEGACY),
        Action(Path.LIVEPATCH, "vpc", LIVE, "restartVPC", "restartVPC(livepatch)", LIVE_RESTART, VERIFY_PATCHED, Path.LEGACY),
        Action(Path.LIVEPATCH, "systemvm", LIVE, "patchSystemVm", "patchSystemVm", {"forced": False}, VERIFY_PATCHED, Path.LEGACY),
        Action(Path.LEGACY, "network", RESTART_CLEANUP, "restartNetwork", "restartNetwork(cleanup)", {"cleanup": True}, VERIFY_TEMPLATE),
        Action(Path.LEGACY, "vpc", RESTART_CLEANUP, "restartVPC", "restartVPC(cleanup)", {"cleanup": True}, VERIFY_TEMPLATE),
        Action(Path.LEGACY, "systemvm", REBOOT, "rebootSystemVm", "rebootSystemVm", {}, VERIFY_TEMPLATE, forced_reboot=True),
        # upgradeRouterTemplate only: one call per router (id=), each queues a reboot of that router onto the current
        # template; the network or VPC keeps serving through the other router of a redundant pair.
        Action(Path.LEGACY, "network", UPGRADE_ROUTER_TEMPLATE, "upgradeRouterTemplate", "upgradeRouterTemplate", {}, VERIFY_TEMPLATE, per_router=True),
        Action(Path.LEGACY, "vpc", UPGRADE_ROUTER_TEMPLATE, "upgradeRouterTemplate", "upgradeRouterTemplate", {}, VERIFY_TEMPLATE, per_router=True),
    )
    for action_key in [(action.path, action.kind, action.method)]
}


def target_kind(kind: str) -> str:
    """The kind an action is looked up by: network, vpc, or systemvm (an SSVM or CPVM)."""
    return kind if kind in ("network", "vpc") else "systemvm"


def default_method(path: str, kind: str) -> str:
    if Path(path) == Path.LIVEPATCH:
        return LIVE
    return RESTART_CLEANUP if target_kind(kind) in ("network", "vpc") else REBOOT


def action_for(path: str, kind: str, method: str | None = None) -> Action:
    """The action of a target on ``path`` (``method``: the plan item's legacy method, None for the default)."""
    key = (Path(path), target_kind(kind), method or default_method(path, kind))
    if Path(path) == Path.LIVEPATCH:
        key = (Path.LIVEPATCH, target_kind(kind), LIVE)
    try:
        return ACTIONS[key]
    except KeyError:
        raise ValueError("no action for path %s, kind %s, method %s" % key) from None


def acting_commands(kind: str) -> tuple[str, ...]:
    """The commands (lower case, as listAsyncJobs names them) of every action on a target of ``kind`` itself."""
    return tuple(sorted({action.command.lower() for action in ACTIONS.values() if action.kind == target_kind(kind) and not action.per_router}))


def router_order(routers: t.Sequence[t.Mapping[str, t.Any]]) -> list[t.Mapping[str, t.Any]]:
    """The order a per-router action takes the routers of a network or VPC: single routers and BACKUPs first, the
    PRIMARY of a redundant pair last, so that the pair hands over once, to a router already upgraded."""
    return [router for router in routers if router.get("redundantstate") != PRIMARY] + [router for router in routers if router.get("redundantstate") == PRIMARY]


def upgraded_job_ids(answer: t.Mapping[str, t.Any]) -> list[str]:
    """The reboot jobs ``upgradeRouterTemplate`` queued (``asyncjobs``); an empty answer means nothing needed it."""
    return [job["jobid"] for job in answer.get("asyncjobs") or [] if job.get("jobid")]


def settle_queued_job(client: t.Any, command: str, routerid: str, attempt: t.Any) -> dict[str, t.Any] | None:
    """A lost answer of a per-router call: the answer it would have given, from the reboot job it queued on the router
    (None when it queued none)."""
    job = client.await_job(command, routerid, attempt)
    return {"asyncjobs": [{"jobid": job["jobid"]}]} if job else None


# ---------------------------------------------------------------------------------------------- the template rule


def routers_recreated_problems(routers: t.Sequence[t.Mapping[str, t.Any]], minreq: str | None, zone: str | None = None) -> str | None:
    """What is wrong with the routers of a network/VPC after a recreate, or None: each must be Running on a template at or
    above its zone's minreq.sysvmtemplate.version (``minreq``)."""
    if not routers:
        return "no router afterwards; restart it again or check the management server log"
    if not is_valid_version(minreq):
        return "routers %s cannot be judged: %s" % (", ".join(router.get("name", router["id"]) for router in routers), unknown_minimum_reason(zone, minreq))
    stale = [
        "%s (%s, template %s)" % (router.get("name", router["id"]), router.get("state"), router.get("version"))
        for router in routers
        if router.get("state") != "Running" or not template_is_current(router.get("version"), minreq)
    ]
    if stale:
        return "routers %s are not Running on a template at or above %s's minimum %s (%s)" % (
            ", ".join(stale),
            zone or "the zone",
            minreq,
            MIN_TEMPLATE_SETTING,
        )
    return None


def systemvm_disk_version(client: t.Any, vm: SystemVm) -> str | None:
    """The template a system VM runs: its ROOT volume's where the server lists it (4.18 on), else the listed template,
    which is the one a VM recreated since the upgrade was made from (CloudStack repoints every system VM to the new
    template at upgrade and rebuilds the root disk from it when the VM starts)."""
    read_template_versions(client, [vm])
    disk_read = read_disk_templates(client, [vm])
    return vm.disk_template_version if disk_read and vm.disk_template_version else vm.template_version


def systemvm_recreated_problem(client: t.Any, item: t.Mapping[str, t.Any], minreq: str | None, zone: str | None) -> tuple[str | None, str | None]:
    """(what is wrong with a system VM after a recreate or None, the template version it runs): it must be Running on a
    template at or above its zone's minreq.sysvmtemplate.version, read from its disk."""
    vm = SystemVm.from_api(dict(item), {})
    version = systemvm_disk_version(client, vm)
    if vm.state != "Running":
        return "%s is %s" % (vm.name, vm.state), version
    if not template_is_current(version, minreq):
        if not is_valid_version(minreq):
            return "%s is on template %s, but %s" % (vm.name, version, unknown_minimum_reason(zone, minreq)), version
        return "%s came back with %s" % (vm.name, older_than_minimum(version, zone, str(minreq))), version
    return None, version
