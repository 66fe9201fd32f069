# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_fleet_snapshot: the sample cloud into a file, with read-only calls only, no secret, and an anonymized copy that keeps the shape."""

from __future__ import annotations

import collections
import json
import re

from ansible_collections.acs.upgrade.plugins.modules import cs_fleet_snapshot

READ_ONLY = re.compile(r"^(list|get|query)")


def connection(sim, **args) -> dict:
    return {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, **args}


def shape(snapshot: dict) -> dict:
    """What a rehearsal depends on, without names and ids."""
    zone_of = {zone["id"]: index for index, zone in enumerate(snapshot["zones"])}
    return {
        "counts": snapshot["counts"],
        "router_versions": collections.Counter((zone_of[r["zoneid"]], r["version"], r["state"], r.get("redundantstate")) for r in snapshot["routers"]),
        "redundant": sum(1 for r in snapshot["routers"] if r["isredundantrouter"]),
        "tiers": sorted(len(vpc["tiers"]) for vpc in snapshot["vpcs"]),
        "systemvms": collections.Counter((zone_of[vm["zoneid"]], vm["systemvmtype"], vm["version"]) for vm in snapshot["systemvms"]),
        "hosts": collections.Counter((h["hypervisor"], h["version"], h["state"]) for h in snapshot["hosts"]),
        "jobs": {command: entry["seconds"] for command, entry in snapshot["jobs"].items()},
    }


def test_the_sample_cloud_snapshot_holds_its_shape_and_job_durations_and_no_secret(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology="sample-cloud", time_factor=0.001)
    admin = sim.client("admin")
    network = next(n for n in admin.call("listNetworks", listall=True)["network"] if not n.get("vpcid"))
    assert admin.run("restartNetwork", id=network["id"], livepatch=True)["jobstatus"] == 1
    before = len(sim.calls())
    dest = tmp_path / "snapshot.json"
    result = run_module(cs_fleet_snapshot, connection(sim, dest=str(dest)))
    assert result.get("failed") is not True, result.get("msg")
    made = sim.calls()[before:]
    assert made and all(READ_ONLY.match(call["command"]) for call in made), sorted({call["command"] for call in made})
    assert len(made) <= 60

    text = dest.read_text()
    snapshot = json.loads(text)
    state = sim.state()
    assert snapshot["counts"]["routers"] == len(state["routers"]) == 41
    assert snapshot["counts"]["systemvms"] == len(state["systemvms"]) and snapshot["counts"]["hosts"] == len(state["hosts"])
    assert {r["id"]: r["version"] for r in snapshot["routers"]} == {r["id"]: r["version"] for r in state["routers"]}
    assert snapshot["managementserver"]["version"] == "4.18.0.0"
    assert snapshot["settings"]["router.version.check"] is True and set(snapshot["settings"]["minreq.sysvmtemplate.version"].values()) == {"4.18.0"}
    assert all(vpc["tiers"] is not None for vpc in snapshot["vpcs"]) and any(vpc["tiers"] for vpc in snapshot["vpcs"])
    # The job run above is in the history, with the routers of its network.
    restart = snapshot["jobs"]["restartNetwork"]
    assert restart["count"] == 1 and restart["samples"][0]["routers"] == len([r for r in state["routers"] if r.get("guestnetworkid") == network["id"]])
    assert result["jobs"]["restartNetwork"]["count"] == 1 and "samples" not in result["jobs"]["restartNetwork"]
    # No key, secret or password, whatever the API returned (listAccounts gives each account's users).
    for key in sim.cloud.keys.values():
        assert key["apikey"] not in text and key["secretkey"] not in text
    assert not re.search(r"secret|password|apikey", text, re.IGNORECASE)
    assert oct(dest.stat().st_mode & 0o777) == "0o600"


def test_an_anonymized_snapshot_keeps_the_shape_and_no_original_name_or_id(acs_sim, run_module, tmp_path):
    sim = acs_sim(topology="sample-cloud", time_factor=0.001)
    plain = json.loads(_snapshot(run_module, sim, tmp_path / "plain.json").read_text())
    anonymized_text = _snapshot(run_module, sim, tmp_path / "anonymized.json", anonymize=True).read_text()
    anonymized = json.loads(anonymized_text)
    assert anonymized["anonymized"] is True and shape(anonymized) == shape(plain)
    originals = {item[field] for kind in ("zones", "pods", "clusters", "hosts", "domains", "accounts", "projects", "systemvms", "routers", "networks", "vpcs")
                 for item in plain[kind] for field in ("id", "name") if item.get(field) and item.get(field) != "ROOT"}
    assert len(originals) > 100
    found = sorted(name for name in originals if re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(name), anonymized_text))
    assert not found
    # Consistent: a router's network, VPC and account are the anonymized ones of the same objects.
    networks = {n["id"]: n for n in anonymized["networks"]}
    vpcs = {v["id"]: v for v in anonymized["vpcs"]}
    for router in anonymized["routers"]:
        owner = vpcs[router["vpcid"]] if router.get("vpcid") else networks[router["guestnetworkid"]]
        assert owner["zoneid"] == router["zoneid"] and owner.get("account") == router.get("account")
    tiers = {tier for vpc in anonymized["vpcs"] for tier in vpc["tiers"]}
    assert tiers <= set(networks)


def _snapshot(run_module, sim, dest, **args):
    result = run_module(cs_fleet_snapshot, connection(sim, dest=str(dest), **args))
    assert result.get("failed") is not True, result.get("msg")
    return dest
