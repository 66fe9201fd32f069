# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The credential type's CA bundle: AWX writes it into a file of the job, CLOUDSTACK_VERIFY names the file, and the
inventory plugin (as an AWX inventory source runs it) verifies a management server signed by a private CA with it."""

from __future__ import annotations

import http.server
import os
import ssl
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from test_awx_definitions import credential_env

BIN = Path(sys.executable).parent


def inventory(source: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """ansible-inventory --list with only these CLOUDSTACK_* variables, failing on a source it cannot parse (as AWX does)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CLOUDSTACK_")}
    environment.update(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    done = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], capture_output=True, text=True, env=environment, check=False)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


class _TlsFront(http.server.BaseHTTPRequestHandler):
    """HTTPS in front of the simulator (plain HTTP), as a proxy in front of a management server."""

    backend = ""

    def _forward(self, body: bytes | None) -> None:
        request = urllib.request.Request(
            self.backend.rsplit("/client/api", 1)[0] + self.path, data=body, headers={"Content-Type": self.headers.get("Content-Type", "")} if body else {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                status, payload, kind = reply.status, reply.read(), reply.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as error:
            status, payload, kind = error.code, error.read(), error.headers.get("Content-Type", "application/json")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._forward(None)

    def do_POST(self) -> None:  # noqa: N802
        self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def private_ca_endpoint(acs_sim, tmp_path):
    """The simulator behind HTTPS with a certificate for 127.0.0.1 that no public CA signed; yields (sim, url, PEM)."""
    sim = acs_sim(topology="small")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    handler = type("Front", (_TlsFront,), {"backend": sim.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sim, "https://127.0.0.1:%d/client/api" % server.server_address[1], cert.read_text()
    finally:
        server.shutdown()
        server.server_close()


def test_the_ca_bundle_of_the_credential_verifies_a_privately_signed_management_server(private_ca_endpoint, tmp_path):
    sim, url, pem = private_ca_endpoint
    source = tmp_path / "cloud.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\ninclude_systemvms: false\n")
    job = tmp_path / "job"
    job.mkdir()
    inputs = {"endpoint": url, "key": sim.admin_key, "secret": sim.admin_secret}

    env = credential_env(dict(inputs, ca_bundle=pem), directory=job)[0]
    assert Path(env["CLOUDSTACK_VERIFY"]).read_text() == pem
    listed = inventory(source, env)
    assert all(router["name"] in listed.stdout for router in sim.state()["routers"])

    # Without the bundle the certificate is refused; "Verify" false (no bundle) lets it through.
    env = credential_env(inputs, directory=job)[0]
    assert env["CLOUDSTACK_VERIFY"] == "true"
    refused = inventory(source, env, check=False)
    assert refused.returncode != 0 and "certificate" in refused.stderr.lower(), refused.stderr[-2000:]
    assert sim.admin_secret not in refused.stdout + refused.stderr
    env = credential_env(dict(inputs, verify="false"), directory=job)[0]
    inventory(source, env)
