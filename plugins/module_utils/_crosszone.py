# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""System VM templates registered once per zone instead of cross-zone: detection, remediation plan, steps, backup.

CloudStack takes the SYSTEM template with the highest id that is ``Active`` as the template of a hypervisor
for the whole region. When the same system VM template was registered once per zone (several rows,
``cross_zones=0``), that row exists in one zone only, and the other zones cannot recreate their SSVM/CPVM.
The remediation drives the procedure operators follow by hand (make one row cross-zone, switch which row is
``Active`` zone by zone while each zone recreates its system VMs, end with the canonical row Active) one step
per call. Everything that decides is pure and works on a ``Cloud`` snapshot; the database is read and written
by the functions at the end of this file.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Iterator

ACTIVE = "Active"
INACTIVE = "Inactive"
DOWNLOADED = "DOWNLOADED"
SSVM = "SecondaryStorageVm"
CPVM = "ConsoleProxy"
RUNNING = "Running"
LOCK_NAME = "acs_upgrade_crosszone"
BACKUP_FORMAT = "acs.upgrade.cs_template_crosszone/1"
CANONICAL_RULE = "lowest id downloaded in a zone whose system VMs run on its hypervisor, else lowest id downloaded in some zone"

# Columns read or written; a database without one of them is not a CloudStack schema this module knows.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "vm_template": ("id", "name", "type", "cross_zones", "state", "hypervisor_type", "removed"),
    "template_store_ref": ("id", "store_id", "template_id", "download_state", "destroyed"),
    "template_zone_ref": ("zone_id", "template_id", "removed"),
    "image_store": ("id", "name", "data_center_id", "role", "removed"),
    "data_center": ("id", "name", "removed"),
    "vm_instance": ("id", "name", "type", "state", "data_center_id", "vm_template_id", "hypervisor_type", "removed"),
}


class CrossZoneError(Exception):
    """A precondition does not hold; the message names the rows and what to do."""


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    hypervisor: str
    state: str
    cross_zones: int


@dataclass(frozen=True)
class Store:
    id: int
    name: str
    zone_id: int


@dataclass(frozen=True)
class StoreRef:
    template_id: int
    store_id: int
    download_state: str


@dataclass(frozen=True)
class SystemVm:
    id: int
    name: str
    type: str
    state: str
    zone_id: int
    template_id: int | None
    hypervisor: str = ""


@dataclass(frozen=True)
class Cloud:
    """What the decisions need from the database: SYSTEM templates not removed, zones, image stores, system VMs.

    ``system_vm_hypervisors`` maps a zone to the hypervisor its SSVM and CPVM run on, read from the zone's newest
    SecondaryStorageVm/ConsoleProxy rows of ``vm_instance`` (removed ones too: the rows the upgrade destroyed).
    """

    templates: tuple[Template, ...]
    zones: dict[int, str]
    stores: tuple[Store, ...]
    store_refs: tuple[StoreRef, ...] = ()
    zone_refs: tuple[tuple[int, int], ...] = ()
    system_vms: tuple[SystemVm, ...] = ()
    system_vm_hypervisors: dict[int, str] = field(default_factory=dict)

    def template(self, template_id: int) -> Template:
        return next(t for t in self.templates if t.id == template_id)

    def zone_stores(self, zone_id: int) -> list[int]:
        return sorted(s.id for s in self.stores if s.zone_id == zone_id)

    def downloaded_stores(self, template_id: int) -> set[int]:
        known = {s.id for s in self.stores}
        return {r.store_id for r in self.store_refs if r.template_id == template_id and r.download_state == DOWNLOADED and r.store_id in known}

    def downloaded_zones(self, template_id: int) -> set[int]:
        stores = self.downloaded_stores(template_id)
        return {s.zone_id for s in self.stores if s.id in stores}

    def template_zones(self, template_id: int) -> set[int]:
        """Zones that hold a row for the template: an image store reference (any download state) or a zone reference."""
        stores = {r.store_id for r in self.store_refs if r.template_id == template_id}
        zones = {s.zone_id for s in self.stores if s.id in stores}
        zones |= {zone for tid, zone in self.zone_refs if tid == template_id}
        return {z for z in zones if z in self.zones}

    def system_vm_states(self, zone_id: int) -> dict[str, str | None]:
        """State of the zone's SSVM and CPVM (Running wins when there are several rows); None when there is none."""
        states: dict[str, str | None] = {SSVM: None, CPVM: None}
        for vm in self.system_vms:
            if vm.zone_id == zone_id and vm.type in states and states[vm.type] != RUNNING:
                states[vm.type] = vm.state
        return states

    def system_vms_running(self, zone_id: int) -> bool:
        return all(state == RUNNING for state in self.system_vm_states(zone_id).values())

    def zone_hypervisor(self, zone_id: int) -> str | None:
        """The hypervisor of the zone's SSVM and CPVM: CloudStack runs one of each per zone, on one hypervisor it chose for
        the zone (getAvailableHypervisor), whatever templates the zone holds. Without any system VM row, the only hypervisor
        the zone holds SYSTEM templates of; None when that is not one."""
        known = self.system_vm_hypervisors.get(zone_id)
        if known:
            return known
        for vm in sorted(self.system_vms, key=lambda v: v.id, reverse=True):
            if vm.zone_id == zone_id:
                hypervisor = vm.hypervisor or next((t.hypervisor for t in self.templates if t.id == vm.template_id), "")
                if hypervisor:
                    return hypervisor
        held = {t.hypervisor for t in self.templates if zone_id in self.template_zones(t.id)}
        return held.pop() if len(held) == 1 else None

    def can_recreate(self, zone_id: int) -> bool:
        """Whether CloudStack finds the template of the zone's hypervisor (its taken row) in an image store of the zone."""
        hypervisor = self.zone_hypervisor(zone_id)
        taken = self.taken_template_id(hypervisor) if hypervisor else None
        return taken is not None and zone_id in self.downloaded_zones(taken)

    def taken_template_id(self, hypervisor: str) -> int | None:
        """The row CloudStack uses for the hypervisor today: the highest id among its Active SYSTEM templates."""
        active = [t.id for t in self.templates if t.hypervisor == hypervisor and t.state == ACTIVE]
        return max(active) if active else None


@dataclass(frozen=True)
class Group:
    """SYSTEM templates of one hypervisor with the same name (the name carries the system VM template version)."""

    hypervisor: str
    name: str
    template_ids: tuple[int, ...]


@dataclass(frozen=True)
class Change:
    template_id: int
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class Wait:
    """What the caller waits for before the next call; read from vm_instance or template_store_ref."""

    kind: str  # system_vms_running | template_download
    zone_id: int
    zone_name: str
    template_id: int
    message: str
    store_ids: tuple[int, ...] = ()
    # template_download only: the zone's SSVM runs, so restarting its cloud service makes it download the template now.
    restart_ssvm: bool = False
    # template_download only: why waiting cannot end it (the zone's SSVM cannot start), and what to do; None when it can.
    blocked_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": f"{self.kind}:{self.zone_id}:{self.template_id}",
            "kind": self.kind,
            "restart_ssvm": self.restart_ssvm,
            "zone_id": self.zone_id,
            "zone_name": self.zone_name,
            "template_id": self.template_id,
            "store_ids": list(self.store_ids),
            "blocked_by": self.blocked_by,
            "message": self.message,
        }


@dataclass(frozen=True)
class Step:
    name: str
    hypervisor: str
    template_name: str
    description: str
    changes: tuple[Change, ...]
    wait_after: tuple[Wait, ...] = ()

    def as_dict(self, database: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "hypervisor": self.hypervisor,
            "template_name": self.template_name,
            "description": self.description,
            "sql": [render_sql(*update_statement(change, database)) for change in self.changes],
            "changes": [{"template_id": c.template_id, "before": c.before, "after": c.after} for c in self.changes],
            "wait_after": [w.as_dict() for w in self.wait_after],
        }


@dataclass
class Action:
    """The outcome of planning one group now: a step to run, or waits, or done, or blocked."""

    step: Step | None = None
    waits: list[Wait] = field(default_factory=list)
    done: bool = False
    blocked: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# pure decisions


def group_templates(cloud: Cloud) -> list[Group]:
    groups: dict[tuple[str, str], list[int]] = {}
    for t in cloud.templates:
        groups.setdefault((t.hypervisor, t.name), []).append(t.id)
    return [Group(hv, name, tuple(sorted(ids))) for (hv, name), ids in sorted(groups.items())]


def is_duplicated(group: Group) -> bool:
    return len(group.template_ids) > 1


def group_zones(cloud: Cloud, group: Group) -> list[int]:
    zones: set[int] = set()
    for tid in group.template_ids:
        zones |= cloud.template_zones(tid)
    return sorted(zones)


def choose_canonical(cloud: Cloud, group: Group, requested: int | None = None) -> int:
    """The canonical row: ``requested`` when given, else by CANONICAL_RULE."""
    if requested is not None:
        if requested not in group.template_ids:
            raise CrossZoneError(
                f"canonical_template_id {requested} is not one of the {group.hypervisor} templates {group.name!r} (ids {_ids(group.template_ids)})"
            )
        if not cloud.downloaded_stores(requested):
            raise CrossZoneError(
                f"template {requested} ({group.name!r}) is downloaded in no image store (template_store_ref download_state {DOWNLOADED}, "
                "destroyed=0); choose a template that is downloaded somewhere"
            )
        return requested
    downloaded = [tid for tid in group.template_ids if cloud.downloaded_stores(tid)]
    # A row already in a zone whose system VMs use it keeps that zone able to recreate them throughout.
    serving = [tid for tid in downloaded if any(cloud.zone_hypervisor(z) == group.hypervisor for z in cloud.downloaded_zones(tid))]
    if serving or downloaded:
        return (serving or downloaded)[0]
    raise CrossZoneError(
        f"none of the {group.hypervisor} templates {group.name!r} (ids {_ids(group.template_ids)}) is downloaded in any image store; "
        "nothing can serve as the cross-zone template"
    )


def _ids(ids: Any) -> str:
    return ", ".join(str(i) for i in sorted(ids))


def _zone_label(cloud: Cloud, zone_id: int) -> str:
    return f"zone {zone_id} ({cloud.zones.get(zone_id, '?')})"


def home_template(cloud: Cloud, group: Group, zone_id: int, canonical: int) -> int | None:
    """The row other than the canonical one that is downloaded in the zone: the one its system VMs can start from
    (the row CloudStack takes today when the zone holds it, so that activating it strands no zone that holds it)."""
    rows = [tid for tid in group.template_ids if tid != canonical and zone_id in cloud.downloaded_zones(tid)]
    taken = cloud.taken_template_id(group.hypervisor)
    return taken if taken in rows else (rows[0] if rows else None)


def uses_group(cloud: Cloud, group: Group, zone_id: int) -> bool:
    """Whether the zone's system VMs run on the group's hypervisor (a zone whose hypervisor is unknown counts)."""
    return cloud.zone_hypervisor(zone_id) in (group.hypervisor, None)


def target_rows(cloud: Cloud, group: Group, active_id: int, canonical: int) -> dict[int, dict[str, Any]]:
    rows = {}
    for tid in group.template_ids:
        t = cloud.template(tid)
        rows[tid] = {"state": ACTIVE if tid == active_id else INACTIVE, "cross_zones": 1 if tid == canonical else t.cross_zones}
    return rows


def _changes_to(cloud: Cloud, group: Group, active_id: int, canonical: int) -> tuple[Change, ...]:
    changes = []
    for tid, after in target_rows(cloud, group, active_id, canonical).items():
        t = cloud.template(tid)
        before = {"state": t.state, "cross_zones": t.cross_zones}
        if before != after:
            changes.append(Change(tid, before, after))
    return tuple(changes)


def _pending_zones(cloud: Cloud, group: Group, canonical: int) -> list[tuple[int, int]]:
    """(zone, its own row) for zones that need that row Active to recreate SSVM/CPVM: their system VMs run on the group's
    hypervisor and are not Running, and the canonical row is not in the zone. Zones that can recreate now come first."""
    canonical_zones = cloud.downloaded_zones(canonical)
    pending = []
    for z in group_zones(cloud, group):
        home = home_template(cloud, group, z, canonical)
        if cloud.zone_hypervisor(z) == group.hypervisor and z not in canonical_zones and home is not None and not cloud.system_vms_running(z):
            pending.append((z, home))
    return sorted(pending, key=lambda zone_home: not cloud.can_recreate(zone_home[0]))


def _running_wait(cloud: Cloud, zone_id: int, template_id: int) -> Wait:
    return Wait(
        "system_vms_running",
        zone_id,
        cloud.zones.get(zone_id, ""),
        template_id,
        f"the SSVM and the CPVM of {_zone_label(cloud, zone_id)} Running (vm_instance type {SSVM}/{CPVM}, state {RUNNING}, removed IS NULL); "
        f"CloudStack can now create them from template {template_id}",
    )


def _final_waits(cloud: Cloud, group: Group, canonical: int) -> list[Wait]:
    """A zone is recovered for the group once the canonical row is in every image store of the zone and, when the zone's
    system VMs run on the group's hypervisor, they are Running; the zone's SSVM downloads the templates of every
    hypervisor of the zone, whichever hypervisor it runs on itself."""
    downloaded = cloud.downloaded_stores(canonical)
    waits = []
    for z in group_zones(cloud, group):
        missing = tuple(s for s in cloud.zone_stores(z) if s not in downloaded)
        running = cloud.system_vms_running(z)
        if not running and cloud.zone_hypervisor(z) == group.hypervisor and z in cloud.downloaded_zones(canonical):
            waits.append(_running_wait(cloud, z, canonical))
        if missing:
            # The SSVM downloads, whatever state the CPVM is in: a running SSVM is restarted, a stopped one downloads when it starts.
            ssvm_running = cloud.system_vm_states(z)[SSVM] == RUNNING
            how = (
                "restart (do not destroy) the cloud service on the SSVM of that zone so that it downloads the template"
                if ssvm_running
                else "the SSVM of that zone downloads it once it runs"
            )
            if cloud.zone_hypervisor(z) not in (group.hypervisor, None):
                how += f" (it runs on {cloud.zone_hypervisor(z)} and downloads the {group.hypervisor} template too)"
            blocker = None if ssvm_running else _ssvm_start_blocker(cloud, group, z)
            if blocker:
                how += f"; it cannot start yet: {blocker}"
            waits.append(
                Wait(
                    "template_download",
                    z,
                    cloud.zones.get(z, ""),
                    canonical,
                    f"template {canonical} {DOWNLOADED} (template_store_ref) in image store(s) {_ids(missing)} of {_zone_label(cloud, z)}; {how}",
                    missing,
                    ssvm_running,
                    blocker,
                )
            )
    return waits


def _ssvm_start_blocker(cloud: Cloud, group: Group, zone_id: int) -> str | None:
    """Why the SSVM of a zone whose system VMs are not Running cannot start (so it never downloads a template while only
    this group changes), with what to do; None when CloudStack can recreate it."""
    if cloud.can_recreate(zone_id):
        return None
    hypervisor = cloud.zone_hypervisor(zone_id)
    if hypervisor is None:
        return "the hypervisor of its system VMs is unknown; check the zone by hand"
    taken = cloud.taken_template_id(hypervisor)
    missing = f"{hypervisor}'s Active template {taken} is in none of its image stores" if taken is not None else f"{hypervisor} has no Active template"
    if hypervisor != group.hypervisor:
        return f"its system VMs run on {hypervisor} and {missing}; repair the {hypervisor} templates first (hypervisor {hypervisor}, or no hypervisor option)"
    return f"{missing}; check the zone by hand"


def blocked_reason(cloud: Cloud, group: Group) -> str | None:
    """Why the group must not be remediated automatically, or None."""
    active_elsewhere = [t.id for t in cloud.templates if t.hypervisor == group.hypervisor and t.state == ACTIVE and t.id not in group.template_ids]
    if active_elsewhere and any(cloud.template(tid).state == ACTIVE for tid in group.template_ids):
        return (
            f"{group.hypervisor} has Active SYSTEM templates under several names: {group.name!r} (ids {_ids(group.template_ids)}) and "
            f"template(s) {_ids(active_elsewhere)}; decide which version is in use and set the other rows Inactive first"
        )
    return None


def next_action(cloud: Cloud, group: Group, canonical: int) -> Action:
    """What to do now for a group with several rows (the seed procedure, generalised to any number of zones)."""
    reason = blocked_reason(cloud, group)
    if reason:
        return Action(blocked=reason)
    active = [tid for tid in group.template_ids if cloud.template(tid).state == ACTIVE]
    pending = _pending_zones(cloud, group, canonical)
    if len(active) == 1 and active[0] != canonical:
        # A zone's own row is Active: that zone is recreating its system VMs; nothing else may change until they run.
        waiting = [z for z, home in pending if home == active[0]]
        if waiting:
            return Action(waits=[_running_wait(cloud, z, active[0]) for z in waiting])
    if pending:
        zone, home = pending[0]
        return _checked(
            cloud,
            Step(
                f"activate_zone_{zone}",
                group.hypervisor,
                group.name,
                f"make template {canonical} cross-zone and Inactive, template {home} (the copy in {_zone_label(cloud, zone)}) the only Active one, "
                f"so that {_zone_label(cloud, zone)} can recreate its SSVM and CPVM",
                _changes_to(cloud, group, home, canonical),
                (_running_wait(cloud, zone, home),),
            ),
        )
    changes = _changes_to(cloud, group, canonical, canonical)
    if changes:
        after = cloud_with_changes(cloud, changes)
        return _checked(
            cloud,
            Step(
                "activate_canonical",
                group.hypervisor,
                group.name,
                f"make template {canonical} the only Active {group.hypervisor} system VM template, cross-zone; the SSVMs of the other zones then "
                "download it once their cloud service restarts",
                changes,
                tuple(_final_waits(after, group, canonical)),
            ),
        )
    # The rows are final; done once every store holds the canonical template (system VMs still starting are reported meanwhile).
    waits = _final_waits(cloud, group, canonical)
    if any(w.kind == "template_download" for w in waits):
        return Action(waits=waits)
    return Action(done=True)


def stranded_zones(cloud: Cloud, changes: tuple[Change, ...]) -> list[str]:
    """Zones the changes would leave unable to recreate their SSVM/CPVM while these are not Running, though they can now.

    Zones whose system VMs run are "unaffected" for a while (the seed procedure relies on it: they download the
    canonical template at the end); a zone that could not recreate before is not made worse.
    """
    after = cloud_with_changes(cloud, changes)
    hypervisors = {cloud.template(c.template_id).hypervisor for c in changes}
    reasons = []
    for z in sorted(cloud.zones):
        hypervisor = cloud.zone_hypervisor(z)
        if hypervisor not in hypervisors or cloud.system_vms_running(z) or not cloud.can_recreate(z) or after.can_recreate(z):
            continue
        vm_states = cloud.system_vm_states(z)
        taken_now, taken_after = cloud.taken_template_id(hypervisor), after.taken_template_id(hypervisor)
        reasons.append(
            f"{_zone_label(cloud, z)} runs its SSVM and CPVM on {hypervisor} and they are not Running (SSVM {vm_states[SSVM] or 'none'}, "
            f"CPVM {vm_states[CPVM] or 'none'}); it can recreate them now from template {taken_now}, but afterwards {hypervisor}'s Active "
            f"template would be {taken_after if taken_after is not None else 'none'}, which is in none of its image stores ({_ids(cloud.zone_stores(z))})"
        )
    return reasons


def _checked(cloud: Cloud, step: Step) -> Action:
    """The step, or blocked with the reason when it would strand a zone."""
    stranded = stranded_zones(cloud, step.changes)
    if stranded:
        return Action(
            blocked=f"refusing step {step.name} of the {step.hypervisor} templates {step.template_name!r}: "
            + "; ".join(stranded)
            + "; wait until those system VMs run (or choose another canonical_template_id), then run again"
        )
    return Action(step=step)


def cloud_with_changes(cloud: Cloud, changes: tuple[Change, ...]) -> Cloud:
    by_id = {c.template_id: c.after for c in changes}
    templates = tuple(replace(t, **by_id[t.id]) if t.id in by_id else t for t in cloud.templates)
    return replace(cloud, templates=templates)


def cloud_after_waits(cloud: Cloud, waits: list[Wait] | tuple[Wait, ...]) -> Cloud:
    """The cloud as it is once the waits are over: system VMs Running, downloads done (used to lay out the whole plan)."""
    vms = list(cloud.system_vms)
    refs = list(cloud.store_refs)
    for w in waits:
        if w.kind == "system_vms_running":
            vms = [vm for vm in vms if not (vm.zone_id == w.zone_id and vm.type in (SSVM, CPVM))]
            vms += [SystemVm(-1, f"planned-{kind}-{w.zone_id}", kind, RUNNING, w.zone_id, w.template_id) for kind in (SSVM, CPVM)]
        else:
            refs += [StoreRef(w.template_id, s, DOWNLOADED) for s in w.store_ids]
    return replace(cloud, system_vms=tuple(vms), store_refs=tuple(refs))


def full_plan(cloud: Cloud, group: Group, canonical: int) -> list[Step]:
    """Every step still to run, in order, assuming each wait ends as expected."""
    steps: list[Step] = []
    # Each zone needs at most one step and one wait; the bound only guards against a loop.
    for _attempt in range(2 * len(group_zones(cloud, group)) + 4):
        action = next_action(cloud, group, canonical)
        if action.done or action.blocked:
            break
        if action.step:
            steps.append(action.step)
            cloud = cloud_after_waits(cloud_with_changes(cloud, action.step.changes), action.step.wait_after)
        else:
            cloud = cloud_after_waits(cloud, action.waits)
    return steps


def check_step_safe(cloud: Cloud, changes: tuple[Change, ...]) -> None:
    """Refuse, before anything is written, a change that leaves a hypervisor without an Active SYSTEM template or strands a zone."""
    after = cloud_with_changes(cloud, changes)
    for hv in sorted({cloud.template(c.template_id).hypervisor for c in changes}):
        if after.taken_template_id(hv) is None:
            raise CrossZoneError(f"refusing to change templates {_ids(c.template_id for c in changes)}: {hv} would have no Active SYSTEM template left")
    stranded = stranded_zones(cloud, changes)
    if stranded:
        raise CrossZoneError(f"refusing to change templates {_ids(c.template_id for c in changes)}: " + "; ".join(stranded))


@dataclass
class GroupReport:
    group: Group
    canonical: int | None
    action: Action
    plan: list[Step]
    problems: list[str]

    @property
    def status(self) -> str:
        if not is_duplicated(self.group):
            return "healthy"
        if self.action.blocked:
            return "blocked"
        if self.action.done:
            return "healthy"
        if self.action.step:
            return "step_pending"
        return "waiting"


def analyse(cloud: Cloud, group: Group, requested_canonical: int | None = None) -> GroupReport:
    if not is_duplicated(group):
        return GroupReport(group, group.template_ids[0], Action(done=True), [], [])
    if not any(cloud.template(tid).state == ACTIVE for tid in group.template_ids):
        # An older version left behind: CloudStack does not use it, and activating it would be a downgrade.
        return GroupReport(group, None, Action(done=True), [], [f"no row of {group.name!r} is Active: not in use, left alone"])
    try:
        canonical = choose_canonical(cloud, group, requested_canonical)
    except CrossZoneError as exc:
        return GroupReport(group, None, Action(blocked=str(exc)), [], [str(exc)])
    action = next_action(cloud, group, canonical)
    problems = [action.blocked] if action.blocked else []
    canonical_zones = cloud.downloaded_zones(canonical)
    for z in group_zones(cloud, group):
        if cloud.zone_hypervisor(z) is None:
            held = sorted({t.hypervisor for t in cloud.templates if z in cloud.template_zones(t.id)})
            problems.append(
                f"{_zone_label(cloud, z)} has no SSVM or CPVM row in vm_instance that tells which hypervisor its system VMs run on, and holds "
                f"SYSTEM templates of {', '.join(held)}: it is not waited for; check it by hand"
            )
        elif z not in canonical_zones and not cloud.system_vms_running(z) and home_template(cloud, group, z, canonical) is None:
            problems.append(
                f"{_zone_label(cloud, z)} has no copy of any {group.name!r} template downloaded and no running SSVM: "
                "it cannot download the cross-zone template until an SSVM runs there"
            )
    return GroupReport(group, canonical, action, full_plan(cloud, group, canonical) if not action.blocked else [], problems)


def zones_unable_to_recreate(cloud: Cloud, group: Group) -> list[int]:
    """Zones of a duplicated group whose system VMs use its hypervisor and that do not hold the row CloudStack takes."""
    if not is_duplicated(group):
        return []
    taken = cloud.taken_template_id(group.hypervisor)
    taken_zones = cloud.downloaded_zones(taken) if taken is not None else set()
    return [z for z in group_zones(cloud, group) if z not in taken_zones and uses_group(cloud, group, z)]


def report_as_dict(cloud: Cloud, report: GroupReport, database: str, requested_canonical: int | None) -> dict[str, Any]:
    group = report.group
    taken = cloud.taken_template_id(group.hypervisor)
    zones = group_zones(cloud, group)
    canonical_stores = cloud.downloaded_stores(report.canonical) if report.canonical is not None else set()
    return {
        "hypervisor": group.hypervisor,
        "template_name": group.name,
        "status": report.status,
        "duplicated": is_duplicated(group),
        "canonical_template_id": report.canonical,
        "canonical_rule": "parameter" if requested_canonical is not None else CANONICAL_RULE,
        "taken_template_id": taken,
        "zones_unable_to_recreate": zones_unable_to_recreate(cloud, group),
        "templates": [
            {
                "id": tid,
                "name": cloud.template(tid).name,
                "state": cloud.template(tid).state,
                "cross_zones": cloud.template(tid).cross_zones,
                "zones": sorted(cloud.template_zones(tid)),
                "downloaded_zones": sorted(cloud.downloaded_zones(tid)),
                "downloaded_store_ids": sorted(cloud.downloaded_stores(tid)),
            }
            for tid in group.template_ids
        ],
        "zones": [
            {
                "id": z,
                "name": cloud.zones.get(z, ""),
                "store_ids": cloud.zone_stores(z),
                "system_vm_hypervisor": cloud.zone_hypervisor(z),
                "uses_these_templates": uses_group(cloud, group, z),
                "secondary_storage_vm": cloud.system_vm_states(z)[SSVM],
                "console_proxy": cloud.system_vm_states(z)[CPVM],
                "system_vms_running": cloud.system_vms_running(z),
                "can_recreate": cloud.can_recreate(z),
                "recovered": all(s in canonical_stores for s in cloud.zone_stores(z)) and (cloud.system_vms_running(z) or not uses_group(cloud, group, z)),
            }
            for z in zones
        ],
        "plan": [s.as_dict(database) for s in report.plan],
        "waiting_for": [w.as_dict() for w in report.action.waits],
        "problems": report.problems,
    }


def _zone_line(zone: dict[str, Any], group: dict[str, Any]) -> str:
    line = f"zone {zone['id']} ({zone['name']}), image store(s) {_ids(zone['store_ids']) or 'none'}: "
    vms = f"SSVM {zone['secondary_storage_vm'] or 'none'}, CPVM {zone['console_proxy'] or 'none'}"
    if zone["system_vm_hypervisor"] is None:
        return line + f"hypervisor of its system VMs unknown ({vms})"
    if not zone["uses_these_templates"]:
        line += f"system VMs on {zone['system_vm_hypervisor']} ({vms}), they do not use these templates"
    else:
        line += f"system VMs on {zone['system_vm_hypervisor']} ({vms})"
        if zone["id"] in group["zones_unable_to_recreate"]:
            line += f", CANNOT recreate them (template {group['taken_template_id']} is in none of its image stores)"
    return line + (", recovered" if zone["recovered"] else "")


def plan_text(groups: list[dict[str, Any]]) -> list[str]:
    """The report of ``report_as_dict`` as lines an operator reads before saying yes: per group the rows, the zones
    (which hypervisor their system VMs run on, which cannot recreate them), each step with its SQL and its waits."""
    lines: list[str] = []
    if sum(1 for group in groups if group["plan"]) > 1:
        lines.append(
            "groups in the order their steps run (groups with zones that cannot recreate their SSVM/CPVM first); each call runs the first "
            "step any group can run now, so the steps of one group may run while another waits"
        )
    for group in groups:
        if not group["duplicated"]:
            continue
        rows = ", ".join(
            f"{t['id']} {t['state']} cross_zones={t['cross_zones']} in zone(s) {_ids(t['downloaded_zones']) or 'none'}" for t in group["templates"]
        )
        lines.append(f"{group['hypervisor']} {group['template_name']!r}: {group['status']}; rows {rows}")
        lines.append(
            f"  CloudStack takes template {group['taken_template_id']} today; canonical template "
            + (f"{group['canonical_template_id']} ({group['canonical_rule']})" if group["canonical_template_id"] is not None else "none")
        )
        lines += [f"  {_zone_line(zone, group)}" for zone in group["zones"]]
        lines.append(f"  zones that cannot recreate their SSVM/CPVM: {_ids(group['zones_unable_to_recreate']) or 'none'}")
        lines += [f"  problem: {problem}" for problem in group["problems"]]
        lines += [f"  waiting for: {wait['message']}" for wait in group["waiting_for"]]
        for number, step in enumerate(group["plan"], 1):
            lines.append(f"  step {number} {step['name']}: {step['description']}")
            lines += [f"    {sql}" for sql in step["sql"]]
            lines += [f"    then wait for: {wait['message']}" for wait in step["wait_after"]]
    return lines or ["no system VM template is registered per zone: nothing to repair"]


# ---------------------------------------------------------------------------------------------------------------
# SQL


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def update_statement(change: Change, database: str) -> tuple[str, list[Any]]:
    """One guarded UPDATE: it only matches while the row still holds the values it was planned from."""
    columns = [c for c in ("state", "cross_zones") if change.before.get(c) != change.after.get(c)]
    assignments = ", ".join(f"{c}=%s" for c in columns)
    sql = f"UPDATE {quote_identifier(database)}.`vm_template` SET {assignments} WHERE id=%s AND state<=>%s AND cross_zones=%s"
    return sql, [change.after[c] for c in columns] + [change.template_id, change.before["state"], change.before["cross_zones"]]


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def render_sql(sql: str, params: list[Any]) -> str:
    """The statement with its values inlined, for people to read (execution always binds parameters)."""
    parts = sql.split("%s")
    out = parts[0]
    for value, part in zip(params, parts[1:]):
        out += _literal(value) + part
    return out + ";"


# ---------------------------------------------------------------------------------------------------------------
# backup file


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def read_backup(path: str, database: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        raise CrossZoneError(f"backup_file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CrossZoneError(f"backup_file {path} cannot be read as JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != BACKUP_FORMAT or not isinstance(doc.get("entries"), list):
        raise CrossZoneError(f"backup_file {path} is not a backup written by acs.upgrade.cs_template_crosszone (format {BACKUP_FORMAT}); choose another path")
    if doc.get("database") != database:
        raise CrossZoneError(f"backup_file {path} holds rows of database {doc.get('database')!r}, not {database!r}; choose another path")
    return doc


def _write_backup(path: str, doc: dict[str, Any]) -> None:
    """Write the whole file atomically (a reader sees the old or the new file, never half), mode 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CrossZoneError(
            f"cannot write backup_file {path}: directory {directory} does not exist; create it (mode 0700) or choose another backup_file; nothing was changed"
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=".crosszone-backup-", dir=directory)
    except OSError as exc:
        raise CrossZoneError(f"cannot write backup_file {path}: {exc}; nothing was changed") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def append_backup(path: str, database: str, action: str, rows: list[dict[str, Any]], changes: tuple[Change, ...] = ()) -> int:
    """Add the rows as they are now to the backup file as an ``attempted`` entry, before they change; returns its index.

    ``mark_backup`` then records what happened: ``applied`` once the transaction committed, ``failed`` with the error
    when it did not. An entry left ``attempted`` means the run ended between the two (look at the rows). Restores use
    the rows of every entry: each holds values the rows really had before that attempt.
    """
    doc = read_backup(path, database) if os.path.exists(path) else {"format": BACKUP_FORMAT, "database": database, "entries": []}
    doc["entries"].append(
        {
            "time": _now(),
            "action": action,
            "status": "attempted",
            "table": "vm_template",
            "rows": [{k: _jsonable(v) for k, v in row.items()} for row in rows],
            "changes": [{"template_id": c.template_id, "after": c.after} for c in changes],
        }
    )
    _write_backup(path, doc)
    return len(doc["entries"]) - 1


def mark_backup(path: str, database: str, index: int, status: str, error: str | None = None) -> None:
    """Record the outcome of the entry ``append_backup`` wrote: ``applied`` (committed) or ``failed`` (rolled back)."""
    doc = read_backup(path, database)
    entry = doc["entries"][index]
    entry["status"] = status
    entry["status_time"] = _now()
    if error is not None:
        entry["error"] = error
    _write_backup(path, doc)


_STATE_RE = re.compile(r"^[A-Za-z]{1,32}$")


def restore_targets(doc: dict[str, Any], path: str) -> dict[int, dict[str, Any]]:
    """For each backed-up row, its values before the first change this module made (the oldest entry wins)."""
    targets: dict[int, dict[str, Any]] = {}
    for entry in doc["entries"]:
        for row in entry.get("rows", []):
            try:
                tid = int(row["id"])
                state = row["state"]
                cross_zones = int(row["cross_zones"])
            except (KeyError, TypeError, ValueError):
                raise CrossZoneError(f"backup_file {path}: a row of entry {entry.get('time')} lacks id, state or cross_zones") from None
            if state is not None and not _STATE_RE.match(str(state)):
                raise CrossZoneError(f"backup_file {path}: template {tid} has an unexpected state {state!r}")
            targets.setdefault(tid, {"state": state, "cross_zones": cross_zones})
    if not targets:
        raise CrossZoneError(f"backup_file {path} holds no rows")
    return targets


def restore_changes(current: dict[int, dict[str, Any]], targets: dict[int, dict[str, Any]]) -> tuple[Change, ...]:
    missing = sorted(set(targets) - set(current))
    if missing:
        raise CrossZoneError(f"cannot restore: vm_template row(s) {_ids(missing)} of the backup no longer exist")
    return tuple(Change(tid, current[tid], targets[tid]) for tid in sorted(targets) if current[tid] != targets[tid])


def diff_of(changes: tuple[Change, ...]) -> dict[str, Any]:
    return {
        "before": {"vm_template": {str(c.template_id): c.before for c in changes}},
        "after": {"vm_template": {str(c.template_id): c.after for c in changes}},
    }


# ---------------------------------------------------------------------------------------------------------------
# database access (a DB-API connection from _mysql.connect)


def missing_columns(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s)"
        % ", ".join(["%s"] * len(REQUIRED_COLUMNS)),
        list(REQUIRED_COLUMNS),
    )
    present = {(str(table).lower(), str(column).lower()) for table, column in cursor.fetchall()}
    return [f"{table}.{column}" for table, columns in REQUIRED_COLUMNS.items() for column in columns if (table, column) not in present]


def check_schema(cursor: Any) -> None:
    missing = missing_columns(cursor)
    if missing:
        raise CrossZoneError(f"unexpected schema: missing column(s) {', '.join(missing)}; is login_db the CloudStack 'cloud' database (4.2 or later)?")


def load_cloud(cursor: Any, lock_rows: bool = False) -> Cloud:
    """Read the snapshot; with ``lock_rows`` the SYSTEM template rows stay locked until the transaction ends."""
    cursor.execute(
        "SELECT id, name, hypervisor_type, state, cross_zones FROM vm_template WHERE type = 'SYSTEM' AND removed IS NULL ORDER BY id"
        + (" FOR UPDATE" if lock_rows else "")
    )
    templates = tuple(Template(int(i), str(n), str(h or ""), str(s or ""), int(c or 0)) for i, n, h, s, c in cursor.fetchall())
    cursor.execute("SELECT id, name FROM data_center WHERE removed IS NULL")
    zones = {int(i): str(n or "") for i, n in cursor.fetchall()}
    cursor.execute("SELECT id, name, data_center_id FROM image_store WHERE removed IS NULL AND data_center_id IS NOT NULL AND (role = 'Image' OR role IS NULL)")
    stores = tuple(Store(int(i), str(n or ""), int(z)) for i, n, z in cursor.fetchall())
    cursor.execute(
        "SELECT r.template_id, r.store_id, r.download_state FROM template_store_ref r JOIN vm_template t ON t.id = r.template_id "
        "WHERE t.type = 'SYSTEM' AND t.removed IS NULL AND COALESCE(r.destroyed, 0) = 0 AND r.store_id IS NOT NULL"
    )
    store_refs = tuple(StoreRef(int(t), int(s), str(d or "")) for t, s, d in cursor.fetchall())
    cursor.execute(
        "SELECT r.template_id, r.zone_id FROM template_zone_ref r JOIN vm_template t ON t.id = r.template_id "
        "WHERE t.type = 'SYSTEM' AND t.removed IS NULL AND r.removed IS NULL"
    )
    zone_refs = tuple((int(t), int(z)) for t, z in cursor.fetchall())
    cursor.execute(
        "SELECT id, name, type, state, data_center_id, vm_template_id, hypervisor_type FROM vm_instance WHERE type IN (%s, %s) AND removed IS NULL",
        (SSVM, CPVM),
    )
    vms = tuple(
        SystemVm(int(i), str(n), str(t), str(s), int(z), int(tp) if tp is not None else None, str(h or "")) for i, n, t, s, z, tp, h in cursor.fetchall()
    )
    # The hypervisor of each zone's system VMs: its newest SSVM/CPVM row, a live one before a removed one (the last rows a
    # zone had tell where CloudStack recreates them); the template's hypervisor when the row has none.
    cursor.execute(
        "SELECT v.data_center_id, COALESCE(NULLIF(v.hypervisor_type, ''), t.hypervisor_type) FROM vm_instance v "
        "LEFT JOIN vm_template t ON t.id = v.vm_template_id WHERE v.type IN (%s, %s) ORDER BY v.removed IS NULL, v.id",
        (SSVM, CPVM),
    )
    hypervisors = {int(z): str(h) for z, h in cursor.fetchall() if h}
    return Cloud(templates, zones, stores, store_refs, zone_refs, vms, hypervisors)


def canonical_choices(cloud: Cloud) -> str:
    """The rows a canonical_template_id may name, for error messages: those of the groups registered per zone."""
    groups = [g for g in group_templates(cloud) if is_duplicated(g)]
    if not groups:
        return "no system VM template is registered per zone here: nothing to repair"
    return "choose one of " + "; ".join(f"{_ids(g.template_ids)} ({g.hypervisor} {g.name!r})" for g in groups)


def validate_canonical(cursor: Any, template_id: int, cloud: Cloud | None = None) -> None:
    """Refuse a canonical_template_id that is missing, not SYSTEM or removed (downloads are checked on the snapshot);
    with ``cloud`` the message lists the rows that may be chosen."""
    choices = f"; {canonical_choices(cloud)}" if cloud is not None else ""
    cursor.execute("SELECT id, name, type, removed FROM vm_template WHERE id = %s", (template_id,))
    row = cursor.fetchone()
    if row is None:
        raise CrossZoneError(f"canonical_template_id {template_id}: no such row in vm_template{choices}")
    name, kind, removed = row[1:]
    if kind != "SYSTEM":
        raise CrossZoneError(f"canonical_template_id {template_id} ({name!r}) is of type {kind!r}, not SYSTEM{choices}")
    if removed is not None:
        raise CrossZoneError(f"canonical_template_id {template_id} ({name!r}) was removed on {removed}{choices or '; choose a template that is not removed'}")


def select_full_rows(cursor: Any, template_ids: list[int]) -> list[dict[str, Any]]:
    cursor.execute(f"SELECT * FROM vm_template WHERE id IN ({', '.join(['%s'] * len(template_ids))}) ORDER BY id", template_ids)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def select_state_rows(cursor: Any, template_ids: list[int], lock_rows: bool) -> dict[int, dict[str, Any]]:
    placeholders = ", ".join(["%s"] * len(template_ids))
    cursor.execute(f"SELECT id, state, cross_zones FROM vm_template WHERE id IN ({placeholders})" + (" FOR UPDATE" if lock_rows else ""), template_ids)
    return {int(i): {"state": s, "cross_zones": int(c)} for i, s, c in cursor.fetchall()}


# MariaDB/MySQL error numbers: a statement the account has no privilege for (ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR).
_PRIVILEGE_ERRORS = (1142, 1143)


def failed_change_message(action: str, exc: Exception, database: str, target: str) -> str:
    """What the operator reads when the UPDATEs of a step (or a restore) fail and are rolled back."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    hint = (
        f"; the account needs the SELECT and UPDATE privileges on {quote_identifier(database)}.`vm_template` (GRANT SELECT, UPDATE ON ...), then run again"
        if code in _PRIVILEGE_ERRORS
        else "; run again once the cause is fixed"
    )
    return f"{action} failed on {target} and was rolled back, nothing was changed (its backup_file entry is marked failed): {exc}{hint}"


def execute_changes(cursor: Any, changes: tuple[Change, ...], database: str) -> None:
    for change in changes:
        sql, params = update_statement(change, database)
        if cursor.execute(sql, params) != 1:
            raise CrossZoneError(
                f"vm_template row {change.template_id} no longer holds {change.before} (changed by someone else); nothing was changed, run again"
            )


@contextmanager
def advisory_lock(conn: Any, timeout: int) -> Iterator[Any]:
    """GET_LOCK so that two runs never interleave their steps; yields a cursor; on error rolls back before releasing."""
    cursor = conn.cursor()
    cursor.execute("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, timeout))
    (got,) = cursor.fetchone()
    if got != 1:
        cursor.execute("SELECT IS_USED_LOCK(%s)", (LOCK_NAME,))
        (holder,) = cursor.fetchone()
        raise CrossZoneError(
            f"database lock {LOCK_NAME!r} is held by another run (connection id {holder}); waited {timeout}s. Let that run finish, or raise lock_timeout"
        )
    try:
        yield cursor
    except BaseException:
        conn.rollback()
        raise
    finally:
        # When the connection itself failed this raises too; the server then drops the lock with the connection.
        try:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
            cursor.fetchone()
            cursor.close()
        except Exception:
            pass
