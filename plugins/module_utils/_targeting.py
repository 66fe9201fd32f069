# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Targeting: which system VMs and networks/VPCs of a fleet an upgrade may touch, from include and exclude lists.

An entry is a name or id of a router, network, VPC, system VM, zone, pod, cluster, domain (name or path; with its
sub-domains) or account (``domain path/account`` or its bare name), optionally with its kind first (``zone:zone-a``,
``router:r-12-VM``).
A router stands for its network or VPC: a restart acts on all its routers at once. Pure functions over the fleet
that ``cs_fleet_info`` returns; an entry that matches nothing is an error, so that a typo never widens a run, and
an include entry without its kind that names more than one object (a zone and an account of the same name, two
networks of two accounts, an account name in two domains) is an error too, so that a name never widens a run either.
"""

from __future__ import annotations

import typing as t

KINDS = ("router", "network", "vpc", "systemvm", "zone", "pod", "cluster", "domain", "account")


class TargetingError(ValueError):
    """An include or exclude entry that matches nothing; the message names it and what to do."""


def clean_entries(entries: t.Iterable[t.Any] | str | None) -> list[str]:
    """Entries without blanks; a comma-separated string (an AWX survey answer) is split."""
    if isinstance(entries, str):
        entries = entries.split(",")
    return [str(entry).strip() for entry in entries or [] if str(entry).strip()]


def _split(entry: str) -> tuple[str | None, str]:
    kind, sep, value = entry.partition(":")
    if sep and kind in KINDS:
        return kind, value
    return None, entry


def _names(fleet: dict[str, t.Any], table: str, *fields: str) -> dict[str, list[str]]:
    return {item["id"]: [str(item[field]) for field in fields if item.get(field)] for item in fleet.get(table, [])}


Name = t.Tuple[str, str, str, str]


def _identities(fleet: dict[str, t.Any]) -> dict[str, tuple[str, str, str, list[Name]]]:
    """key -> (label, name, zone id, [(kind, value, what, object)]): everything an entry may name for each system VM and
    network/VPC; ``object`` tells the objects apart (``kind:id``), whatever value names them."""
    zones = _names(fleet, "zones", "name")
    pods = _names(fleet, "pods", "name")
    clusters = _names(fleet, "clusters", "name")
    domains = _names(fleet, "domains", "name", "path")
    paths = {item["id"]: item.get("path") or item.get("name") or item["id"] for item in fleet.get("domains", [])}
    networks = {item["id"]: item.get("name") for item in fleet.get("networks", [])}
    routers = {router["id"]: router for router in fleet.get("routers", [])}

    def place(kind: str, ident: str | None, table: dict[str, list[str]]) -> list[Name]:
        if not ident:
            return []
        label = "%s %s" % (kind, (table.get(ident) or [ident])[0])
        return [(kind, value, label, "%s:%s" % (kind, ident)) for value in [ident] + table.get(ident, [])]

    found: dict[str, tuple[str, str, str, list[Name]]] = {}
    for vm in fleet.get("systemvms", []):
        label = "%s %s" % (vm.get("systemvmtype") or "system VM", vm["name"])
        this = "systemvm:%s" % vm["id"]
        names = [("systemvm", vm["id"], label, this), ("systemvm", vm["name"], label, this)]
        names += place("zone", vm.get("zoneid"), zones) + place("pod", vm.get("podid"), pods) + place("cluster", vm.get("clusterid"), clusters)
        found["systemvm:%s" % vm["id"]] = (label, vm["name"], vm.get("zoneid") or "", names)
    for unit in fleet.get("units", []):
        label = "%s %s" % (unit["kind"], unit["name"])
        this = "%s:%s" % (unit["kind"], unit["id"])
        names = [(unit["kind"], unit["id"], label, this), (unit["kind"], unit["name"], label, this)]
        for tier in unit.get("tiers") or []:
            what = "%s (its tier %s)" % (label, networks.get(tier) or tier)
            names += [("network", tier, what, "network:%s" % tier), ("network", networks.get(tier) or tier, what, "network:%s" % tier)]
        for rid in unit.get("routers", []):
            router = routers.get(rid, {})
            what = "router %s of %s" % (router.get("name", rid), label)
            names += [("router", rid, what, "router:%s" % rid), ("router", router.get("name") or rid, what, "router:%s" % rid)]
        names += place("zone", unit.get("zoneid"), zones)
        members = [routers.get(rid, {}) for rid in unit.get("routers", [])]
        for podid in sorted(set(unit.get("podids") or []) | {router["podid"] for router in members if router.get("podid")}):
            names += place("pod", podid, pods)
        for clusterid in sorted(set(unit.get("clusterids") or []) | {router["clusterid"] for router in members if router.get("clusterid")}):
            names += place("cluster", clusterid, clusters)
        # A domain takes its sub-domains too, as CloudStack's listings with isrecursive=true do.
        domain_path = paths.get(unit.get("domainid") or "", "")
        for domainid, above in paths.items():
            if unit.get("domainid") == domainid or domain_path.startswith(above + "/"):
                names += place("domain", domainid, domains)
        if unit.get("account"):
            path = "%s/%s" % (paths.get(unit.get("domainid") or "", ""), unit["account"])
            this = "account:%s/%s" % (unit.get("domainid") or "", unit["account"])
            names += [("account", unit["account"], "account %s" % path, this), ("account", path, "account %s" % path, this)]
        found["%s:%s" % (unit["kind"], unit["id"])] = (label, unit["name"], unit.get("zoneid") or "", names)
    return found


def _matching(entry: str, names: list[Name]) -> str | None:
    kind, value = _split(entry)
    for name_kind, name, what, _object in names:
        if name == value and (kind is None or kind == name_kind):
            return what
    return None


def _objects(entry: str, identities: dict[str, tuple[str, str, str, list[Name]]]) -> dict[str, tuple[str, frozenset[str]]]:
    """object -> (what, the keys of the system VMs and networks/VPCs it takes), for every object an entry names."""
    kind, value = _split(entry)
    found: dict[str, tuple[str, set[str]]] = {}
    for key, (_label, _name, _zone, names) in identities.items():
        for name_kind, name, what, obj in names:
            if name == value and (kind is None or kind == name_kind):
                found.setdefault(obj, (what, set()))[1].add(key)
    return {obj: (what, frozenset(keys)) for obj, (what, keys) in found.items()}


def _described(objects: dict[str, tuple[str, frozenset[str]]]) -> str:
    """The objects an entry names, by what they are; their ids too where that reads the same for two of them."""
    labels = [what for what, _keys in objects.values()]
    return ", ".join(sorted(what if labels.count(what) == 1 else "%s (id %s)" % (what, obj.split(":", 1)[1]) for obj, (what, _keys) in objects.items()))


def select_targets(fleet: dict[str, t.Any], include: t.Iterable[str] | str | None = None, exclude: t.Iterable[str] | str | None = None) -> dict[str, t.Any]:
    """``{"fleet": the fleet with only the targeted system VMs and units, "excluded": [{key, name, zoneid, reason}]}``."""
    include, exclude = clean_entries(include), clean_entries(exclude)
    identities = _identities(fleet)
    for option, entries in (("include", include), ("exclude", exclude)):
        for entry in entries:
            objects = _objects(entry, identities)
            if not objects:
                raise TargetingError(
                    "%s entry %r matches no router, network, VPC, system VM, zone, pod, cluster, domain or account of the fleet read; "
                    "check the spelling (or give the kind first, e.g. zone:NAME)" % (option, entry)
                )
            # Names of one thing (a VPC and its tier of the same name) are not ambiguous: they take the same items.
            if option == "include" and _split(entry)[0] is None and len({keys for _what, keys in objects.values()}) > 1:
                raise TargetingError(
                    "include entry %r is ambiguous: it names %d objects (%s); name one by its id, or give the kind first "
                    "(e.g. zone:NAME, account:DOMAIN/ACCOUNT) to take every object of that kind with that name"
                    % (entry, len(objects), _described(objects))
                )
    excluded = []
    for key, (label, name, zoneid, names) in identities.items():
        reason = None
        if include:
            hits = [(entry, _matching(entry, names)) for entry in include]
            if not any(what for _entry, what in hits):
                reason = "%s is not targeted: it matches no include entry (%s)" % (label, ", ".join(include))
        if reason is None:
            for entry in exclude:
                what = _matching(entry, names)
                if what:
                    reason = "%s is excluded by the operator: exclude entry %r names %s" % (label, entry, what)
                    break
        if reason:
            kind, ident = key.split(":", 1)
            excluded.append({"key": key, "kind": kind, "id": ident, "name": name, "zoneid": zoneid, "reason": reason})
    dropped = {item["key"] for item in excluded}
    targeted = dict(fleet)
    targeted["systemvms"] = [vm for vm in fleet.get("systemvms", []) if "systemvm:%s" % vm["id"] not in dropped]
    targeted["units"] = [unit for unit in fleet.get("units", []) if "%s:%s" % (unit["kind"], unit["id"]) not in dropped]
    return {"fleet": targeted, "excluded": excluded, "include": include, "exclude": exclude}
