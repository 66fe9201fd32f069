# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A topology from a snapshot of a real cloud (acs.upgrade.cs_fleet_snapshot): the same ids, names, versions and states.

What a snapshot does not say, the simulator's defaults fill in: a Stopped router is placed on a host of its zone; a zone
keeps one SSVM and one CPVM (further ones are left out); the jobs' durations come from the snapshot's history where it
has samples (Cloud.history_scale), else from DEFAULT_DURATIONS. The keys are made up at each start (sim.json has them).
"""
from __future__ import annotations

import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from acs_sim.cloud import HOST_RESOURCE_STATES
from acs_sim.releases import UnknownRelease, release

ACCOUNT_TYPES = {0: "user", 1: "admin", 2: "domainadmin"}


def load(path: str | Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "snapshot_format" not in data:
        raise ValueError(f"{path} is not a snapshot written by acs.upgrade.cs_fleet_snapshot")
    return data


def _router(item: dict[str, Any]) -> dict[str, Any]:
    spec = {"id": item["id"], "name": item["name"], "version": str(item.get("version") or ""), "state": item.get("state", "Running")}
    for field in ("scriptsversion", "softwareversion", "redundantstate"):
        if item.get(field):
            spec[field] = item[field]
    if item.get("hostid") and spec["state"] == "Running":
        spec["host"] = item["hostid"]
    return spec


def to_topology(snapshot: dict[str, Any], keys: dict[str, Any] | None = None) -> dict[str, Any]:
    """The topology of the cloud the snapshot was taken of (``keys``: the simulator's keys, made up when not given)."""
    version = str(snapshot["managementserver"]["version"])
    settings = snapshot.get("settings") or {}
    minimums = settings.get("minreq.sysvmtemplate.version") or {}
    managementserver: dict[str, Any] = {"version": version}
    try:
        release(version)
    except UnknownRelease:
        # A release the simulator does not know: its template is the minimum most zones have.
        common = Counter(value for value in minimums.values() if value).most_common(1)
        managementserver["systemvm_template"] = common[0][0] if common else version.rsplit(".", 1)[0]
    # Parents first; every reference to a domain is by id (the simulator takes ids as references).
    pending, domains, placed = list(snapshot.get("domains") or []), [], set()
    while pending:
        ready = [d for d in pending if not d.get("parentdomainid") or d["parentdomainid"] in placed]
        if not ready:
            raise ValueError("the snapshot's domains do not form a tree under ROOT")
        domains += ready
        placed.update(d["id"] for d in ready)
        pending = [d for d in pending if d["id"] not in placed]
    root = next((d for d in domains if not d.get("parentdomainid")), None)
    root_id = root["id"] if root else None
    accounts = snapshot.get("accounts") or []
    admin = next((a for a in accounts if a.get("name") == "admin" and a.get("domainid") == root_id), None)
    account_ids = {(a["name"], a.get("domainid")): a["id"] for a in accounts}
    projects = snapshot.get("projects") or []

    def owner(item: dict[str, Any]) -> dict[str, Any]:
        if item.get("projectid"):
            return {"project": item["projectid"]}
        return {"account": account_ids.get((item.get("account"), item.get("domainid")), item.get("account") or "admin")}

    routers_of: dict[str, list[dict[str, Any]]] = {}
    for router in snapshot.get("routers") or []:
        routers_of.setdefault(router.get("vpcid") or router.get("guestnetworkid") or "", []).append(router)

    def owned_routers(owner_id: str) -> list[dict[str, Any]]:
        # PRIMARY first: a redundant pair is rebuilt in the order the simulator gives roles in.
        found = routers_of.get(owner_id, [])
        return [_router(r) for r in sorted(found, key=lambda r: {"PRIMARY": 0, "BACKUP": 1}.get(r.get("redundantstate") or "", 2))]

    hosts_of: dict[str, list[dict[str, Any]]] = {}
    for host in snapshot.get("hosts") or []:
        hosts_of.setdefault(host.get("clusterid") or "", []).append(host)
    clusters_of: dict[str, list[dict[str, Any]]] = {}
    for cluster in snapshot.get("clusters") or []:
        clusters_of.setdefault(cluster.get("podid") or "", []).append(cluster)
    pods_of: dict[str, list[dict[str, Any]]] = {}
    for pod in snapshot.get("pods") or []:
        pods_of.setdefault(pod.get("zoneid") or "", []).append(pod)
    systemvms_of: dict[str, dict[str, Any]] = {}
    for vm in snapshot.get("systemvms") or []:
        kinds = systemvms_of.setdefault(vm.get("zoneid") or "", {})
        kinds.setdefault(
            vm["systemvmtype"],
            {
                "id": vm["id"],
                "name": vm["name"],
                "state": vm.get("state", "Running"),
                "version": str(vm.get("disk_template_version") or vm.get("template_version") or vm.get("version")),
                **({"softwareversion": vm["version"]} if vm.get("version") else {}),
                **({"host": vm["hostid"]} if vm.get("hostid") and vm.get("state") == "Running" else {}),
            },
        )

    def host_spec(host: dict[str, Any]) -> dict[str, Any]:
        spec = {"id": host["id"], "name": host["name"], "state": host.get("state", "Up"), "hypervisor": host.get("hypervisor", "KVM")}
        if host.get("version"):
            spec["version"] = host["version"]
        if host.get("resourcestate") in HOST_RESOURCE_STATES:
            spec["resourcestate"] = host["resourcestate"]
        return spec

    zones = []
    for zone in snapshot.get("zones") or []:
        spec: dict[str, Any] = {
            "id": zone["id"], "name": zone["name"],
            "pods": [{"id": pod["id"], "name": pod["name"],
                      "clusters": [{"id": cluster["id"], "name": cluster["name"], "hosts": [host_spec(h) for h in hosts_of.get(cluster["id"], [])]}
                                   for cluster in clusters_of.get(pod["id"], [])]}
                     for pod in pods_of.get(zone["id"], [])],
            "systemvms": systemvms_of.get(zone["id"], {}),
        }
        if zone["id"] in minimums:
            spec["configurations"] = {"minreq.sysvmtemplate.version": minimums[zone["id"]]}
        zones.append(spec)

    networks, tiers_of = [], {}
    for network in snapshot.get("networks") or []:
        if network.get("vpcid"):
            tiers_of[network["id"]] = network
            continue
        routers = owned_routers(network["id"])
        networks.append({"id": network["id"], "name": network["name"], "zone": network["zoneid"], **owner(network),
                         "type": network.get("type", "Isolated"), "state": network.get("state", "Implemented"),
                         "redundant": bool(network.get("redundantrouter")) or len(routers) > 1, "routers": routers,
                         "router": bool(routers) or network.get("type", "Isolated") == "Isolated"})
    vpcs = []
    for vpc in snapshot.get("vpcs") or []:
        routers = owned_routers(vpc["id"])
        tiers = [{"id": tier, "name": tiers_of[tier]["name"], "state": tiers_of[tier].get("state", "Implemented")}
                 for tier in vpc.get("tiers") or [] if tier in tiers_of]
        vpcs.append({"id": vpc["id"], "name": vpc["name"], "zone": vpc["zoneid"], **owner(vpc),
                     "redundant": bool(vpc.get("redundantvpcrouter")) or len(routers) > 1, "tiers": tiers, "routers": routers})

    configurations = {name: value for name, value in settings.items() if name != "minreq.sysvmtemplate.version" and value is not None}
    made_up = {"admin": {"apikey": secrets.token_urlsafe(24), "secretkey": secrets.token_urlsafe(32)}}
    return {
        "managementserver": managementserver,
        "seed": 1,
        "root_domain_id": root_id,
        "admin_account_id": admin["id"] if admin else None,
        "keys": keys or made_up,
        "domains": [{"id": d["id"], "name": d["name"], "parent": d["parentdomainid"]} for d in domains if d is not root],
        "accounts": [{"id": a["id"], "name": a["name"], "domain": a.get("domainid") or "ROOT", "type": ACCOUNT_TYPES[int(a.get("accounttype", 0))]}
                     for a in accounts if a is not admin and int(a.get("accounttype", 0)) in ACCOUNT_TYPES],
        "projects": [{"id": p["id"], "name": p["name"], "domain": p.get("domainid") or "ROOT"} for p in projects],
        "configurations": configurations,
        "jobs": {"history": snapshot.get("jobs") or {}},
        "zones": zones,
        "networks": networks,
        "vpcs": vpcs,
    }
