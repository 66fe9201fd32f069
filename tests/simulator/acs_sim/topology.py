# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Topology files (YAML) and generated fleets."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

# The bundled topologies: package data (acs_sim/topologies) in an installed acs-sim, beside the package in this repository.
_PACKAGED_TOPOLOGIES = Path(__file__).resolve().parent / "topologies"
TOPOLOGY_DIR = _PACKAGED_TOPOLOGIES if _PACKAGED_TOPOLOGIES.is_dir() else Path(__file__).resolve().parent.parent / "topologies"

GENERATE_DEFAULTS: dict[str, Any] = {
    "zones": 2, "routers": 100, "redundant": 0.2, "vpc": 0.1, "pods": 2, "clusters": 2, "hosts": 4, "accounts": 20,
    "version": "4.18.0.0", "seed": 1, "stopped": 0.02, "projects": 0.0,
}
# How many projects a generated fleet with projects>0 has (its networks and VPCs in projects are spread over them).
GENERATED_PROJECTS = 5
# Template versions of a fleet that went through several upgrades: (version, share).
GENERATED_VERSIONS = (("4.13.1", 0.1), ("4.14.1", 0.2), ("4.15.2", 0.4), ("4.16.1", 0.3))


def load(ref: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A topology from a dict, a file path, or the name of a file under topologies/ ("small" -> topologies/small.yml)."""
    if isinstance(ref, dict):
        return ref
    path = Path(ref)
    if not path.exists():
        path = TOPOLOGY_DIR / f"{ref}.yml"
    if not path.exists():
        raise FileNotFoundError(f"topology {ref!r} not found: give a YAML file or one of {sorted(p.stem for p in TOPOLOGY_DIR.glob('*.yml'))}")
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"topology {path} must be a YAML mapping")
    return data


def parse_spec(spec: str) -> dict[str, Any]:
    options = dict(GENERATE_DEFAULTS)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in GENERATE_DEFAULTS:
            raise ValueError(f"bad --generate item {item!r}: use key=value with keys {sorted(GENERATE_DEFAULTS)}")
        default = GENERATE_DEFAULTS[key]
        options[key] = type(default)(value) if not isinstance(default, str) else value
    return options


def generate(spec: str) -> dict[str, Any]:
    """A large fleet: e.g. "zones=4,routers=10000,redundant=0.2"."""
    opt = parse_spec(spec)
    rnd = random.Random(opt["seed"])
    zones = []
    for z in range(1, opt["zones"] + 1):
        pods = []
        for p in range(1, opt["pods"] + 1):
            clusters = [{"name": f"z{z}-p{p}-c{c}", "hosts": [f"z{z}-p{p}-c{c}-h{h}" for h in range(1, opt["hosts"] + 1)]}
                        for c in range(1, opt["clusters"] + 1)]
            pods.append({"name": f"z{z}-pod{p}", "clusters": clusters})
        zones.append({"name": f"zone{z}", "pods": pods, "systemvms": {"version": "4.16.1"}})
    accounts = [{"name": f"tenant{a}", "domain": "ROOT/customers"} for a in range(1, opt["accounts"] + 1)]
    versions, weights = zip(*GENERATED_VERSIONS)
    networks, vpcs = [], []
    made = 0
    while made < opt["routers"]:
        zone = zones[rnd.randrange(len(zones))]["name"]
        account = accounts[rnd.randrange(len(accounts))]["name"]
        count = 2 if rnd.random() < opt["redundant"] and opt["routers"] - made >= 2 else 1
        version = rnd.choices(versions, weights)[0]
        # Drawn only when asked for, so that a fleet without projects stays the same for a seed.
        project = f"project{rnd.randrange(GENERATED_PROJECTS) + 1}" if opt["projects"] > 0 and rnd.random() < opt["projects"] else None
        owner = {"project": project} if project else {"account": account}
        routers = [{"version": version, "state": "Stopped" if rnd.random() < opt["stopped"] else "Running"} for _index in range(count)]
        if rnd.random() < opt["vpc"]:
            vpcs.append({"name": f"vpc{len(vpcs) + 1}", "zone": zone, **owner, "redundant": count == 2,
                         "tiers": [f"vpc{len(vpcs) + 1}-tier{t}" for t in range(1, rnd.randint(0, 3) + 1)], "routers": routers})
        else:
            networks.append({"name": f"net{len(networks) + 1}", "zone": zone, **owner, "redundant": count == 2, "routers": routers})
        made += count
    projects = [{"name": f"project{p}", "domain": "ROOT/customers"} for p in range(1, GENERATED_PROJECTS + 1)] if opt["projects"] > 0 else []
    return {"managementserver": {"version": opt["version"]}, "seed": opt["seed"], "domains": [{"name": "customers"}],
            "accounts": accounts, "projects": projects, "zones": zones, "networks": networks, "vpcs": vpcs}
