# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The HTTP side: /client/api like a management server, /_sim/ for tests, and the in-process Simulator handle."""
from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from acs_sim import topology as topology_mod
from acs_sim.api import Api, error_body
from acs_sim.backends import load_backend
from acs_sim.cloud import Cloud
from acs_sim.faults import FaultError

HIDDEN_PARAMS = frozenset({"signature", "apikey", "signatureversion", "expires", "response", "command"})
PROXY_PAGES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Simulator:
    """One simulated management server. Use start()/stop(), or the acs_sim pytest fixture."""

    def __init__(self, topology: str | Path | dict[str, Any] = "small", *, generate: str | None = None, time_factor: float = 1.0,
                 backend: str = "memory", version: str | None = None, port: int = 0, state_dir: str | Path | None = None,
                 workers: int | None = None) -> None:
        topo = topology_mod.generate(generate) if generate else topology_mod.load(topology)
        if version:
            # The template follows the overridden version unless the topology pins it.
            ms = {k: v for k, v in (topo.get("managementserver") or {}).items() if k != "systemvm_template"}
            topo = {**topo, "managementserver": {**ms, "version": version}}
        self._topology = topo
        self.time_factor = time_factor
        self.state_dir = Path(state_dir) if state_dir else None
        self.backend = load_backend(backend)
        self._log_lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        # API requests received and not yet answered, per command (a slow fault holds them here).
        self._active: Counter[str] = Counter()
        saved = None
        if self.state_dir and (self.state_dir / "cloud.json").exists():
            saved = json.loads((self.state_dir / "cloud.json").read_text())
        self.workers = workers
        self.cloud = Cloud(topo, self.backend, time_factor, saved=saved, workers=workers)
        self.api = Api(self.cloud)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.simulator = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/client/api"

    @property
    def side_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/_sim"

    @property
    def admin_key(self) -> str:
        return self.cloud.keys["admin"]["apikey"]

    @property
    def admin_secret(self) -> str:
        return self.cloud.keys["admin"]["secretkey"]

    @property
    def user_key(self) -> str:
        return self.cloud.keys["user"]["apikey"]

    @property
    def user_secret(self) -> str:
        return self.cloud.keys["user"]["secretkey"]

    def start(self) -> Simulator:
        self._deploy_backend(self.cloud)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="acs-sim-http", daemon=True)
        self._thread.start()
        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            info = self.state_dir / "sim.json"
            info.write_text(json.dumps({"url": self.url, "pid": os.getpid(), "version": self.cloud.ms_version, "keys": self.cloud.keys}, indent=2))
            info.chmod(0o600)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self.cloud.close()
        if self.state_dir:
            (self.state_dir / "state.json").write_text(json.dumps(self.state(), indent=2))
            (self.state_dir / "cloud.json").write_text(json.dumps(self.cloud.dump()))
        self.backend.close()

    def _deploy_backend(self, cloud: Cloud) -> None:
        # A restored cloud's VMs may still exist in the backend: creating them again is the backend's to make idempotent.
        with cloud.lock:
            snaps = [cloud.snapshot(vm) for vm in cloud.vms.values()]
        for snap in snaps:
            self.backend.create_vm(snap)

    def reset(self) -> None:
        """Back to the topology as loaded: objects, jobs, faults and the call log."""
        old = self.cloud
        old.close()
        with old.lock:
            snaps = [old.snapshot(vm) for vm in old.vms.values()]
        for snap in snaps:
            self.backend.destroy_vm(snap)
        cloud = Cloud(self._topology, self.backend, self.time_factor, workers=self.workers)
        self._deploy_backend(cloud)
        self.cloud, self.api = cloud, Api(cloud)
        with self._log_lock:
            self._calls.clear()

    # ------------------------------------------------------------------ observation
    def record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._calls.append(entry)

    def requests_in_progress(self, command: str | None = None) -> int:
        """API requests received and not yet answered (all commands, or one): a request a slow fault holds counts."""
        with self._log_lock:
            return sum(self._active.values()) if command is None else self._active[command]

    def begin_request(self, command: str | None) -> None:
        with self._log_lock:
            self._active[command or ""] += 1

    def end_request(self, command: str | None) -> None:
        with self._log_lock:
            self._active[command or ""] -= 1

    def calls(self, command: str | None = None) -> list[dict[str, Any]]:
        with self._log_lock:
            return [dict(c) for c in self._calls if command is None or c["command"] == command]

    def counters(self) -> dict[str, Any]:
        """Calls per API, per API and parameter set (values included, paging left out), and the parameters no API knows."""
        per_api: Counter[str] = Counter()
        per_params: dict[str, Counter[str]] = {}
        for call in self.calls():
            per_api[call["command"]] += 1
            key = "&".join(f"{k}={v}" for k, v in sorted(call["params"].items()) if k not in ("page", "pagesize"))
            per_params.setdefault(call["command"], Counter())[key] += 1
        return {"per_api": dict(per_api), "per_params": {k: dict(v) for k, v in per_params.items()}, "unknown_params": self.api.unknown_params()}

    def jobs(self) -> list[dict[str, Any]]:
        with self.cloud.lock:
            return [job.log_entry() for job in self.cloud.jobs.all()]

    def state(self) -> dict[str, Any]:
        return self.cloud.state()

    def inject(self, **fault: Any) -> dict[str, Any]:
        return self.cloud.inject(fault)

    def clear_faults(self) -> None:
        self.cloud.faults.clear()

    def max_jobs_in_flight(self, command: str | None = None) -> int:
        return self.cloud.jobs.max_in_flight(command)

    def job_stats(self) -> dict[str, Any]:
        return self.cloud.jobs.stats()

    def client(self, role: str = "admin", signature_version: int = 3) -> Any:
        from acs_sim.client import SimClient

        key = self.cloud.keys[role]
        return SimClient(self.url, key["apikey"], key["secretkey"], signature_version=signature_version)

    def wait_jobs(self, timeout: float = 30.0) -> None:
        """Block until every submitted job has finished (tests use it to let the cloud settle)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(job.status != 0 for job in self.cloud.jobs.all()):
                return
            time.sleep(0.005)
        raise TimeoutError("jobs still pending after %.1fs" % timeout)

    # ------------------------------------------------------------------ request handling
    def http_fault(self, command: str | None, params: dict[str, str]) -> dict[str, Any] | None:
        cloud = self.cloud
        objects = set(params.values())
        with cloud.lock:
            for value in list(objects):
                for table in (cloud.vms, cloud.networks, cloud.vpcs):
                    if value in table:
                        objects.add(table[value]["name"])
        return cloud.faults.take(["http_error", "connection_reset", "slow"], command, objects)

    def side(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        route = path[len("/_sim"):].strip("/")
        if method == "GET" and route == "calls":
            return 200, self.calls(query.get("command"))
        if method == "GET" and route == "counters":
            return 200, self.counters()
        if method == "GET" and route == "jobs":
            return 200, {"jobs": self.jobs(), "stats": self.job_stats()}
        if method == "GET" and route == "state":
            return 200, self.state()
        if method == "GET" and route == "faults":
            return 200, self.cloud.faults.list()
        if method == "DELETE" and route == "faults":
            self.clear_faults()
            return 200, {"cleared": True}
        if method == "POST" and route == "inject":
            try:
                spec = json.loads(body or b"{}")
                return 200, self.inject(**spec)
            except (ValueError, TypeError, FaultError) as exc:
                return 400, {"error": str(exc)}
        if method == "POST" and route == "reset":
            self.reset()
            return 200, {"reset": True}
        if method == "GET" and route == "info":
            return 200, {"url": self.url, "version": self.cloud.ms_version, "keys": self.cloud.keys}
        return 404, {"error": f"unknown side endpoint {method} /_sim/{route}: use calls, counters, jobs, state, faults, inject, reset, info"}


class _Handler(BaseHTTPRequestHandler):
    server_version = "acs-sim"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle plus delayed ACKs add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        # Request lines carry signed URLs: never log them.
        return

    @property
    def sim(self) -> Simulator:
        return self.server.simulator  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.rstrip("/") == "/client/api":
            params = dict(query)
            if method == "POST" and body and "json" not in (self.headers.get("Content-Type") or ""):
                for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                    params.setdefault(key, value)
            self._api(params)
        elif parts.path.startswith("/_sim"):
            status, payload = self.sim.side(method, parts.path, query, body)
            self._send(status, json.dumps(payload).encode(), "application/json")
        else:
            self._send(404, b"Not Found", "text/plain")

    def _api(self, params: dict[str, str]) -> None:
        command = next((v for k, v in params.items() if k.lower() == "command"), None)
        self.sim.begin_request(command)
        try:
            self._answer(command, params)
        finally:
            self.sim.end_request(command)

    def _answer(self, command: str | None, params: dict[str, str]) -> None:
        sim = self.sim
        # The cloud this request came to: a reset while the request waits is a restart of the server, which drops it.
        api = sim.api
        started = time.time()
        fault = sim.http_fault(command, params)
        status: int
        if fault and fault["kind"] == "slow":
            time.sleep(fault["delay"])
            fault = None
            if sim.api is not api:
                self._reset_connection()
                return
        if fault and fault["when"] == "after":
            # The server acts on the request (a job starts); only its answer is lost on the way back.
            sim.api.handle(params)
        if fault and fault["kind"] == "connection_reset":
            self._record(command, params, 0, started)
            self._reset_connection()
            return
        if fault:
            status = fault["status"]
            if status in PROXY_PAGES:
                text = PROXY_PAGES[status]
                page = f"<html><head><title>{status} {text}</title></head><body><h1>{status} {text}</h1></body></html>"
                self._record(command, params, status, started)
                self._send(status, page.encode(), "text/html", {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {})
                return
            default = "There are too many API calls in progress, please retry later" if status == 429 else "Injected error"
            payload = error_body(command, status, fault.get("errortext") or default, 9999 if status != 401 else None)
        else:
            status, payload = sim.api.handle(params)
        self._record(command, params, status, started)
        extra = {"Retry-After": str(fault["retry_after"])} if fault and fault.get("retry_after") is not None else {}
        self._send(status, json.dumps(payload).encode(), "application/json;charset=UTF-8", extra)

    def _record(self, command: str | None, params: dict[str, str], status: int, started: float) -> None:
        lowered = {k.lower(): v for k, v in params.items()}
        self.sim.record({"command": command, "params": {k: v for k, v in lowered.items() if k not in HIDDEN_PARAMS},
                         "signatureversion": lowered.get("signatureversion", "2") if "signature" in lowered else None,
                         "key": next((label for label, k in self.sim.cloud.keys.items() if k["apikey"] == lowered.get("apikey")), None),
                         "status": status, "time": started, "duration": time.time() - started})

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header follows the server's clock, which a clock_skew fault puts off.
        return super().date_time_string((time.time() if timestamp is None else timestamp) + self.sim.cloud.faults.clock_offset())

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset_connection(self) -> None:
        # SO_LINGER 0 makes close() send a RST, which is what a client sees when a proxy or the server dies mid-request.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass
