# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A minimal signed client for the simulator's own tests and benchmarks (the collection has its own client)."""
from __future__ import annotations

import time
from typing import Any

import requests

from acs_sim.signing import sign


class SimClient:
    def __init__(self, url: str, api_key: str, secret: str, signature_version: int = 3, timeout: float = 10.0) -> None:
        self.url = url
        self.api_key = api_key
        self.secret = secret
        self.signature_version = signature_version
        self.timeout = timeout
        self.session = requests.Session()

    def raw(self, command: str, method: str = "GET", **params: Any) -> requests.Response:
        """Send a signed request and return the HTTP response whatever its status."""
        values = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        signed = sign({"command": command, "response": "json", **values}, self.api_key, self.secret, version=self.signature_version)
        if method == "POST":
            return self.session.post(self.url, data=signed, timeout=self.timeout)
        return self.session.get(self.url, params=signed, timeout=self.timeout)

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        """The inner object of a successful answer; raises AssertionError with the envelope otherwise."""
        response = self.raw(command, **params)
        body = response.json()
        inner = body[f"{command.lower()}response"]
        if response.status_code != 200:
            raise AssertionError(f"{command} failed with HTTP {response.status_code}: {inner}")
        return inner

    def wait(self, jobid: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.time() + timeout
        while True:
            job = self.call("queryAsyncJobResult", jobid=jobid)
            if job["jobstatus"] != 0:
                return job
            if time.time() > deadline:
                raise TimeoutError(f"job {jobid} still pending after {timeout}s")
            time.sleep(0.005)

    def run(self, command: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Submit an async command and wait for its job."""
        return self.wait(self.call(command, **params)["jobid"], timeout)
