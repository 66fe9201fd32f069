# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Backend whose system VMs and routers are real Debian containers (image built by tests/router/build-image.sh).

VM <-> container named `<prefix><vm name>` on one docker network. A live patch copies the payload of the
management server version (cloud-scripts.tgz, agent.zip) and the patch script into the container and runs it;
the new scriptsversion is the script's `version:` line, a failed script is a failed patch. A destroy removes the
container, a create (cleanup restart, system VM recreation) starts a fresh one from the image: the legacy
recreate with its real downtime. Health checks run the check scripts inside the container.

Options (keyword arguments, or environment variables for `acs-sim --backend docker`):
  image       ACS_SIM_DOCKER_IMAGE     image to run (default: build/refresh it with tests/router/build-image.sh)
  network     ACS_SIM_DOCKER_NETWORK   docker network of the containers, created when missing (default acs-upgrade-sim)
  prefix      ACS_SIM_DOCKER_PREFIX    container name prefix (default "")
  keep        ACS_SIM_DOCKER_KEEP      "1": leave the containers this backend started when the simulator stops
  break_payload ACS_SIM_DOCKER_BREAK_PAYLOAD  comma-separated VM names (or "*") that receive a payload with an invalid
                                       haproxy.cfg, to exercise the patch script's restore
A container that already exists under the expected name (e.g. created by molecule) is adopted, never replaced.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from acs_sim.backends.base import Backend, PatchResult

ROUTER_DIR = Path(__file__).resolve().parents[3] / "router"
SYSTEMVM_TYPES = {"router": "router", "secondarystoragevm": "secstorage", "consoleproxy": "consoleproxy"}
PAYLOAD_DIR = "/var/cache/cloud"
READY_FLAG = "/run/acs-ready"
LABEL = "org.acs-upgrade.sim"


class DockerError(RuntimeError):
    pass


def docker(*args: str, input_bytes: bytes | None = None, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], input=input_bytes, capture_output=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise DockerError(f"docker {args[0]} {' '.join(a for a in args[1:3])} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc


def build_image() -> str:
    """Build (or find in the cache) the router image; return its reference."""
    proc = subprocess.run([str(ROUTER_DIR / "build-image.sh")], capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise DockerError(f"building the router image failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


def _load_payload_builder():
    if not (ROUTER_DIR / "payload" / "build_payload.py").is_file():
        # An installed acs-sim (pip install ./tests/simulator) has no router recipe: it sits in the repository's tests/router.
        raise RuntimeError(f"backend 'docker' needs the router image recipe of an acs.upgrade checkout ({ROUTER_DIR} is missing): "
                           "run the checkout's tests/simulator/acs-sim, or use --backend memory")
    spec = importlib.util.spec_from_file_location("acs_router_payload", ROUTER_DIR / "payload" / "build_payload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


payload_builder = _load_payload_builder()


def container_state(name: str) -> str | None:
    """'running', 'exited', 'created' ... or None when there is no such container."""
    proc = docker("inspect", "-f", "{{.State.Status}}", name, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def wait_ready(name: str, timeout: float = 60.0, since: float | None = None) -> None:
    """Wait until the container's init has started its services and run the first health checks.

    ``since``: the moment the container was (re)started. /run survives ``docker restart``, so until the new init removes
    it the flag of the previous boot is still there: only a flag written at or after ``since`` says this boot is ready.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        flag = docker("exec", name, "cat", READY_FLAG, check=False)
        if flag.returncode == 0:
            try:
                written = float(flag.stdout.decode(errors="replace").strip() or 0)
            except ValueError:
                written = 0.0
            if since is None or written >= since:
                return
        if container_state(name) not in ("running", "created", "restarting"):
            logs = docker("logs", "--tail", "20", name, check=False).stdout.decode(errors="replace")
            raise DockerError(f"container {name} stopped while booting: {logs.strip()}")
        time.sleep(0.1)
    raise DockerError(f"container {name} not ready after {timeout:.0f} s")


def run_health_checks(name: str, fresh: bool) -> list[dict[str, Any]]:
    """Health check results of a router container in the shape of getRouterHealthCheckResults.

    Named as a real server stores them (VirtualNetworkApplianceManagerImpl, 4.18.0.0): the router's entries by their
    own names (script file names, "<service>.service"), then the server's connectivity.test and filesystem.writable.test.
    """
    started = time.time()
    proc = docker("exec", name, "/opt/cloud/bin/getRouterMonitorResults.sh", "true" if fresh else "false", timeout=60)
    raw = json.loads(proc.stdout)
    results = []
    for checktype in ("basic", "advanced"):
        for checkname, result in sorted(raw.get(checktype, {}).items()):
            if checkname == "lastRun":
                continue
            results.append({
                "checkname": checkname,
                "checktype": checktype,
                "success": result["success"] == "true",
                "lastupdated": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(result["lastUpdate"] / 1000)),
                "details": result["message"],
            })
    writable = docker("exec", name, "sh", "-c", "touch /var/cache/cloud/.fs-test && rm /var/cache/cloud/.fs-test", check=False, timeout=30)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(started))
    results.append({"checkname": "connectivity.test", "checktype": "basic", "success": True, "lastupdated": stamp,
                    "details": "the management server reaches the router"})
    results.append({"checkname": "filesystem.writable.test", "checktype": "basic", "success": writable.returncode == 0, "lastupdated": stamp,
                    "details": "the router's filesystem is writable" if writable.returncode == 0 else "the router's filesystem is read-only"})
    return results


class DockerBackend(Backend):
    def __init__(self, image: str | None = None, network: str | None = None, prefix: str | None = None, keep: bool | None = None,
                 break_payload: set[str] | None = None, **_options: object) -> None:
        self.image = image or os.environ.get("ACS_SIM_DOCKER_IMAGE") or build_image()
        self.network = network or os.environ.get("ACS_SIM_DOCKER_NETWORK", "acs-upgrade-sim")
        self.prefix = prefix if prefix is not None else os.environ.get("ACS_SIM_DOCKER_PREFIX", "")
        self.keep = keep if keep is not None else os.environ.get("ACS_SIM_DOCKER_KEEP", "") == "1"
        if break_payload is None:
            break_payload = {name.strip() for name in os.environ.get("ACS_SIM_DOCKER_BREAK_PAYLOAD", "").split(",") if name.strip()}
        self.break_payload = break_payload
        self.token = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._payloads: dict[tuple[str, bool], Path] = {}
        self._workdir = tempfile.TemporaryDirectory(prefix="acs-sim-payload-")
        label = '{{index .Config.Labels "org.acs-upgrade.base-scripts-version"}}'
        self.base_scripts_version = docker("image", "inspect", "-f", label, self.image).stdout.decode().strip()
        if docker("network", "inspect", self.network, check=False).returncode != 0:
            docker("network", "create", "--label", f"{LABEL}=network", self.network, check=False)

    # ------------------------------------------------------------------ helpers
    def container(self, vm: dict[str, Any]) -> str:
        return f"{self.prefix}{vm['name']}"

    def payload(self, version: str, broken: bool = False) -> Path:
        """Directory holding cloud-scripts.tgz and agent.zip of `version` (built once per version)."""
        with self._lock:
            key = (version, broken)
            if key not in self._payloads:
                target = Path(self._workdir.name) / f"{version}{'-broken' if broken else ''}"
                payload_builder.build(version, target, broken_haproxy=broken)
                self._payloads[key] = target
            return self._payloads[key]

    def copy_payload(self, name: str, version: str, broken: bool = False, with_script: bool = True) -> None:
        source = self.payload(version, broken)
        for item in ("cloud-scripts.tgz", "agent.zip"):
            docker("cp", str(source / item), f"{name}:{PAYLOAD_DIR}/{item}")
        if with_script:
            docker("cp", str(ROUTER_DIR / "patch-sysvms.sh"), f"{name}:{PAYLOAD_DIR}/patch-sysvms.sh")

    def _breaks(self, vm: dict[str, Any]) -> bool:
        return "*" in self.break_payload or vm["name"] in self.break_payload or vm["id"] in self.break_payload

    # ------------------------------------------------------------------ Backend
    @functools.lru_cache(maxsize=8)  # noqa: B019 - one backend per simulator, a handful of versions
    def scripts_checksum(self, ms_version: str) -> str:
        # What the patch script prints as version:<md5> for this payload, so "No change in the scripts checksum" matches the containers.
        return hashlib.md5(payload_builder.cloud_scripts(ms_version)).hexdigest()

    def create_vm(self, vm: dict[str, Any]) -> None:
        name = self.container(vm)
        state = container_state(name)
        if state is not None:
            if vm.get("state") in ("Running", "Starting") and state != "running":
                started = time.time()
                docker("start", name)
                wait_ready(name, since=started)
            elif vm.get("state") in ("Running", "Starting"):
                wait_ready(name)
            return
        docker("create", "--name", name, "--hostname", vm["name"][:63], "--network", self.network,
               "--label", f"{LABEL}={self.token}", "--label", f"org.acs-upgrade.vmid={vm['id']}",
               "-e", f"ACS_TYPE={SYSTEMVM_TYPES[vm['type']]}", "-e", f"ACS_NAME={vm['name']}", "-e", f"ACS_RELEASE={vm.get('version') or ''}",
               self.image)
        software = vm.get("softwareversion")
        if software and software != self.base_scripts_version:
            # like a system VM booting: it receives the management server's scripts before its services start
            self.copy_payload(name, software, with_script=False)
        if vm.get("state", "Running") in ("Running", "Starting"):
            docker("start", name)
            wait_ready(name)

    def destroy_vm(self, vm: dict[str, Any]) -> None:
        docker("rm", "-f", self.container(vm), check=False)

    def stop_vm(self, vm: dict[str, Any]) -> None:
        docker("stop", "-t", "10", self.container(vm))

    def start_vm(self, vm: dict[str, Any]) -> None:
        name = self.container(vm)
        started = time.time()
        docker("start", name)
        wait_ready(name, since=started)

    def reboot_vm(self, vm: dict[str, Any]) -> None:
        name = self.container(vm)
        started = time.time()
        docker("restart", "-t", "10", name)
        wait_ready(name, since=started)

    def patch_vm(self, vm: dict[str, Any], ms_version: str) -> PatchResult:
        name = self.container(vm)
        try:
            self.copy_payload(name, ms_version, broken=self._breaks(vm))
            proc = docker("exec", name, f"{PAYLOAD_DIR}/patch-sysvms.sh", check=False, timeout=300)
        except (DockerError, subprocess.TimeoutExpired) as exc:
            return PatchResult(ok=False, scriptsversion=None, message=str(exc))
        stdout, stderr = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        version = next((line.split(":", 1)[1].strip() for line in stdout.splitlines() if line.startswith("version:")), None)
        if proc.returncode == 0 and version:
            return PatchResult(ok=True, scriptsversion=version, message=f"version:{version}")
        current = docker("exec", name, "cat", f"{PAYLOAD_DIR}/cloud-scripts-signature", check=False).stdout.decode().strip() or None
        reason = (stderr.strip() or stdout.strip() or f"exit code {proc.returncode}").splitlines()[-1]
        return PatchResult(ok=False, scriptsversion=current, message=reason)

    def health_checks(self, vm: dict[str, Any], fresh: bool) -> list[dict[str, Any]] | None:
        if vm["type"] != "router":
            return None
        return run_health_checks(self.container(vm), fresh)

    def close(self) -> None:
        if not self.keep:
            ids = docker("ps", "-aq", "--filter", f"label={LABEL}={self.token}", check=False).stdout.decode().split()
            if ids:
                docker("rm", "-f", *ids, check=False)
        self._workdir.cleanup()
