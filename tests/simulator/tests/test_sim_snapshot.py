# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""acs-sim --from-snapshot: the cloud of a snapshot, with the same ids, names, versions and states, and its jobs' durations."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ACS_SIM = REPO / "tests" / "simulator" / "acs-sim"
sys.path.insert(0, str(REPO / "tests"))

# The checkout as the collection acs.upgrade.
import conftest  # noqa: E402,F401 # pylint: disable=unused-import

from acs_sim import snapshot as snapshot_mod  # noqa: E402
from acs_sim.client import SimClient  # noqa: E402
from acs_sim.server import Simulator  # noqa: E402

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient  # noqa: E402
from ansible_collections.acs.upgrade.plugins.module_utils._snapshot import read_snapshot  # noqa: E402

ROUTER_FIELDS = ("id", "name", "state", "version", "scriptsversion", "softwareversion", "isredundantrouter", "redundantstate", "zoneid", "podid",
                 "hostid", "guestnetworkid", "vpcid", "account", "domainid", "requiresupgrade")


def take(sim: Simulator) -> dict:
    return read_snapshot(CloudStackClient(endpoint=sim.url, api_key=sim.admin_key, api_secret=sim.admin_secret, timeout=30))


@pytest.fixture
def real(acs_sim):
    return acs_sim(topology="sample-cloud", time_factor=0.001)


def test_the_replayed_cloud_answers_as_the_one_the_snapshot_was_taken_of(real, acs_sim):
    taken = take(real)
    replay = acs_sim(topology=snapshot_mod.to_topology(taken), time_factor=0.001)
    assert replay.admin_key not in ("demo-admin-apikey", "admin-apikey-acs-sim")
    again = take(replay)
    for kind in ("zones", "pods", "clusters", "hosts", "domains", "projects", "systemvms", "networks", "vpcs"):
        assert sorted(json.dumps(i, sort_keys=True) for i in again[kind]) == sorted(json.dumps(i, sort_keys=True) for i in taken[kind]), kind
    assert {a["id"]: a["name"] for a in again["accounts"] if a["name"] != "user"} == {a["id"]: a["name"] for a in taken["accounts"]}
    # Routers: the same, field by field (a Stopped router has no host in either).
    expected = {r["id"]: {f: r.get(f) for f in ROUTER_FIELDS} for r in taken["routers"]}
    assert {r["id"]: {f: r.get(f) for f in ROUTER_FIELDS} for r in again["routers"]} == expected
    assert again["settings"] == taken["settings"] and again["managementserver"] == taken["managementserver"]


def test_jobs_take_the_durations_of_the_history_scaled_by_the_time_factor(real, acs_sim):
    taken = take(real)
    taken["jobs"] = {"patchSystemVm": {"count": 3, "failed": 0, "seconds": {}, "samples": [{"seconds": s, "routers": 1} for s in (200, 220, 240)]}}
    replay = acs_sim(topology=snapshot_mod.to_topology(taken), time_factor=0.002)
    admin = replay.client("admin")
    took = []
    for vm in admin.call("listSystemVms")["systemvm"][:4]:
        started = time.monotonic()
        assert admin.run("patchSystemVm", id=vm["id"], forced=True)["jobstatus"] == 1
        took.append(time.monotonic() - started)
    # 200-240 s at 0.002: 0.40-0.48 s each (the default model says 20-40 s: 0.04-0.08 s).
    assert min(took) >= 0.38 and statistics.median(took) <= 0.6, took


def test_acs_sim_serves_a_snapshot_file_with_keys_of_its_own(real, tmp_path):
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(take(real)))
    state = tmp_path / "sim"
    proc = subprocess.Popen([sys.executable, str(ACS_SIM), "--from-snapshot", str(path), "--time-factor", "0.001", "--state-dir", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().split(" ", 2)[2]  # type: ignore[union-attr]
        keys = json.loads((state / "sim.json").read_text())["keys"]["admin"]
        assert keys["apikey"] not in (real.admin_key, "admin-apikey-acs-sim")
        client = SimClient(url, keys["apikey"], keys["secretkey"])
        assert {r["id"] for r in client.call("listRouters", listall=True)["router"]} == {r["id"] for r in real.state()["routers"]}
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    topology = tmp_path / "not-a-snapshot.json"
    topology.write_text(json.dumps({"zones": []}))
    refused = subprocess.run([sys.executable, str(ACS_SIM), "--from-snapshot", str(topology)], capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 2 and "not a snapshot" in refused.stderr
