# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Smoke test of an installed acs-sim (make sim-package-check).

Run it with the Python of the virtual environment the wheel went into, in isolated mode and outside the checkout
(``cd /tmp && VENV/bin/python -I tests/simulator/smoke_installed.py WHEEL``), so that nothing comes from the checkout:
the wheel holds the package, its API subset and its topologies and nothing else; the installed ``acs-sim`` command
serves the bundled ``small`` topology on 127.0.0.1 on a free port, answers signed ``listZones`` and ``listRouters`` calls
(signature v3, signed with the package's own ``acs_sim.signing``; standard library only, so the base install without
the ``client`` extra is what is tested) and refuses a bad signature, then stops cleanly on SIGTERM.
"""
from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

START_TIMEOUT = 30
TOPOLOGIES = {"small", "ms416", "sample-cloud"}


def fail(message: str) -> None:
    print(f"sim-package-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check_wheel(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    outside = [name for name in names if not name.startswith(("acs_sim/", "acs_sim-"))]
    if outside:
        fail(f"{wheel.name} holds files outside the acs_sim package: {outside[:5]}")
    wanted = {"acs_sim/cli.py", "acs_sim/api_subset.json", "acs_sim/backends/memory.py",
              *(f"acs_sim/topologies/{name}.yml" for name in TOPOLOGIES)}
    missing = sorted(wanted - set(names))
    if missing:
        fail(f"{wheel.name} lacks {missing}")
    if any("/tests/" in name or name.endswith("pytest.ini") for name in names):
        fail(f"{wheel.name} holds the simulator's own tests")
    entry_points = next((name for name in names if name.endswith(".dist-info/entry_points.txt")), None)
    if entry_points is None or "acs-sim = acs_sim.cli:main" not in zipfile.ZipFile(wheel).read(entry_points).decode():
        fail(f"{wheel.name} declares no acs-sim console script (acs_sim.cli:main)")
    print(f"{wheel.name}: {len(names)} files, the acs_sim package with its API subset and topologies {sorted(TOPOLOGIES)}")


def check_installed() -> Path:
    import acs_sim
    from acs_sim.topology import TOPOLOGY_DIR

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    package = Path(acs_sim.__file__).resolve().parent
    if package.parent != site:
        fail(f"acs_sim is imported from {package}, not from this environment's {site}: run with python -I outside the checkout")
    if TOPOLOGY_DIR.resolve() != package / "topologies":
        fail(f"the topologies are read from {TOPOLOGY_DIR}, not from the installed package {package / 'topologies'}")
    command = Path(sysconfig.get_paths()["scripts"]) / "acs-sim"
    if not command.is_file():
        fail(f"the acs-sim command is not in {command.parent}")
    print(f"acs_sim {acs_sim.__version__} from {package}; command {command}")
    return command


def call(url: str, command: str, key: str, secret: str, **params: str) -> tuple[int, dict]:
    from acs_sim import signing

    signed = signing.sign({"command": command, "response": "json", **params}, key, secret, version=3)
    try:
        with urllib.request.urlopen(f"{url}?{urllib.parse.urlencode(signed)}", timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    readable = select.select([proc.stdout], [], [], timeout)[0]
    return proc.stdout.readline().strip() if readable else ""


def main() -> None:
    if len(sys.argv) != 2:
        fail("usage: smoke_installed.py WHEEL")
    check_wheel(Path(sys.argv[1]))
    command = check_installed()
    with tempfile.TemporaryDirectory(prefix="acs-sim-smoke-") as work:
        started = time.monotonic()
        proc = subprocess.Popen([str(command), "--topology", "small", "--port", "0", "--time-factor", "0.001", "--state-dir", work],
                                cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            line = read_line(proc, START_TIMEOUT)
            if not line.startswith("listening on http://127.0.0.1:"):
                fail(f"acs-sim did not start within {START_TIMEOUT} s: {line or (proc.stdout.read() if proc.poll() is not None else 'no output')}")
            url = line.split(" ", 2)[2]
            keys = json.loads((Path(work) / "sim.json").read_text())["keys"]["admin"]
            print(f"acs-sim listening on {url} after {time.monotonic() - started:.1f} s")
            status, zones = call(url, "listZones", keys["apikey"], keys["secretkey"])
            names = sorted(zone["name"] for zone in zones.get("listzonesresponse", {}).get("zone", []))
            if status != 200 or names != ["zone1", "zone2"]:
                fail(f"listZones answered {status} {zones}: expected the small topology's zone1 and zone2")
            status, routers = call(url, "listRouters", keys["apikey"], keys["secretkey"], listall="true")
            answer = routers.get("listroutersresponse", {})
            if status != 200 or not answer.get("count") or answer["count"] != len(answer.get("router", [])):
                fail(f"listRouters answered {status} {routers}")
            status, refused = call(url, "listZones", keys["apikey"], "not-the-secret")
            if status != 401:
                fail(f"a listZones signed with a wrong secret answered {status} {refused}, not 401")
            print(f"signed listZones: {names}; signed listRouters: {answer['count']} routers; a bad signature: 401")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                fail("acs-sim did not stop within 15 s of SIGTERM")
        if rc != 0:
            fail(f"acs-sim exited {rc} on SIGTERM: {proc.stdout.read()}")
        if not (Path(work) / "state.json").is_file():
            fail("acs-sim wrote no state.json at exit")
    print(f"sim-package-check: ok in {time.monotonic() - started:.1f} s (acs-sim stopped, exit 0)")


if __name__ == "__main__":
    main()
