# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The acs-sim executable."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acs_sim.backends import load_backend
from acs_sim.client import SimClient
from acs_sim.topology import generate, parse_spec

ACS_SIM = Path(__file__).resolve().parent.parent / "acs-sim"


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(ACS_SIM), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.split(" ", 2)[2]


def test_executable_serves_a_topology_and_writes_its_state(tmp_path):
    proc, url = _start("--topology", "small", "--port", "0", "--time-factor", "0.001", "--state-dir", str(tmp_path))
    try:
        info = json.loads((tmp_path / "sim.json").read_text())
        assert info["url"] == url and oct((tmp_path / "sim.json").stat().st_mode & 0o777) == "0o600"
        client = SimClient(url, info["keys"]["admin"]["apikey"], info["keys"]["admin"]["secretkey"])
        assert client.call("listRouters", listall=True)["count"] == 8
        assert client.run("restartNetwork", id=client.call("listNetworks", listall=True)["network"][0]["id"], livepatch=True)["jobstatus"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    assert len(json.loads((tmp_path / "state.json").read_text())["routers"]) == 8
    patched = {r["id"]: r["scriptsversion"] for r in json.loads((tmp_path / "state.json").read_text())["routers"]}
    proc, url = _start("--topology", "small", "--time-factor", "0.001", "--state-dir", str(tmp_path))
    try:
        info = json.loads((tmp_path / "sim.json").read_text())
        client = SimClient(url, info["keys"]["admin"]["apikey"], info["keys"]["admin"]["secretkey"])
        assert {r["id"]: r["scriptsversion"] for r in client.call("listRouters", listall=True)["router"]} == patched, "state survives a restart"
        job = client.run("restartNetwork", id=client.call("listNetworks", listall=True)["network"][1]["id"], cleanup=True)
        assert job["jobstatus"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_executable_generates_a_fleet():
    proc, url = _start("--generate", "zones=3,routers=300,redundant=0.5", "--port", "0")
    try:
        # A generated fleet carries the default keys.
        client = SimClient(url, "admin-apikey-acs-sim", "admin-secretkey-acs-sim")
        assert client.call("listRouters", listall=True)["count"] == 300
        assert len(client.call("listZones")["zone"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_executable_reports_a_missing_topology():
    result = subprocess.run([sys.executable, str(ACS_SIM), "--topology", "no-such-cloud"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "topology 'no-such-cloud' not found" in result.stderr


def test_executable_refuses_port_8096():
    result = subprocess.run([sys.executable, str(ACS_SIM), "--topology", "small", "--port", "8096"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "port 8096" in result.stderr


def test_generate_spec_errors():
    with pytest.raises(ValueError, match="bad --generate item"):
        parse_spec("routers=10,planets=3")
    fleet = generate("zones=2,routers=50,redundant=1.0")
    routers = sum(len(n["routers"]) for n in fleet["networks"]) + sum(len(v["routers"]) for v in fleet["vpcs"])
    assert routers == 50


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        load_backend("vmware")


def test_topology_errors_name_the_object(acs_sim):
    with pytest.raises(ValueError, match="zone 'nowhere' is not defined"):
        acs_sim(topology={"networks": [{"name": "n", "zone": "nowhere"}]})
    with pytest.raises(ValueError, match="account 'ghost'"):
        acs_sim(topology={"zones": [{"name": "z"}], "networks": [{"name": "n", "zone": "z", "account": "ghost"}]})


def test_workers_must_be_positive():
    done = subprocess.run([sys.executable, str(ACS_SIM), "--topology", "small", "--workers", "0"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--workers must be 1 or more" in done.stderr
