# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A private MariaDB server for the tests, and the CloudStack tables loaded with the data of a named variant.

The server runs from a temporary data directory on a free loopback port and its own socket, as root
(``--user=root``), one per test session; it is never the system's server and never started through
service/systemd. Tests connect as a real user with a password that may only SELECT and UPDATE the
``cloud`` database, like the account an operator gives to the module.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pymysql
import pytest
from pymysql.constants import CLIENT

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
TABLES = ("data_center", "vm_template", "image_store", "template_store_ref", "template_zone_ref", "vm_instance")

# Each variant is schema.sql followed by these data files.
VARIANTS: dict[str, tuple[str, ...]] = {
    "seed": ("seed.sql",),
    "multi_store": ("seed.sql", "multi_store.sql"),
    "two_hypervisors": ("seed.sql", "two_hypervisors.sql"),
    "mixed_hypervisors": ("seed.sql", "mixed_hypervisors.sql"),
    "half_finished": ("seed.sql", "half_finished.sql"),
    "healthy": ("healthy.sql",),
    "legacy_schema": ("seed.sql", "legacy_schema.sql"),
}

INSTALL_HINT = "install it with: apt-get install -y mariadb-server (tests/host/prepare.sh does it on CI)"


def _binary(*names: str) -> str:
    for name in names:
        for directory in (None, "/usr/sbin", "/usr/bin"):
            found = shutil.which(name, path=directory) if directory else shutil.which(name)
            if found:
                return found
    pytest.fail(f"{names[0]} not found; {INSTALL_HINT}", pytrace=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _note_for_ci_cleanup(pid: int, workdir: Path) -> None:
    """Under .ci/run, note the server in the run's directory: a session killed before its teardown leaves it running,
    and the run ends exactly the servers its sessions started."""
    run_dir = os.environ.get("ACS_UPGRADE_CI_RUN_DIR")
    if run_dir:
        with open(os.path.join(run_dir, "mariadbd"), "a", encoding="utf-8") as handle:
            handle.write(f"{pid} {workdir}\n")


@dataclass
class MariaDBServer:
    workdir: Path
    port: int
    user: str = "acs_upgrade"
    tls_user: str = "acs_upgrade_tls"
    password: str = ""
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> str:
        return str(self.workdir / "mysqld.sock")

    @property
    def log(self) -> Path:
        return self.workdir / "error.log"

    @property
    def ca_cert(self) -> str:
        return str(self.workdir / "ca.pem")

    def _make_certificates(self) -> None:
        """A CA and a server certificate for 127.0.0.1, so that the TLS options are tested against a real handshake."""
        openssl = _binary("openssl")
        d = self.workdir

        def run(*args: str) -> None:
            subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

        run(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=acs-upgrade-test-ca",
            "-keyout",
            str(d / "ca-key.pem"),
            "-out",
            self.ca_cert,
        )
        run(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(d / "server-key.pem"),
            "-out",
            str(d / "server.csr"),
        )
        (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
        run(
            "x509",
            "-req",
            "-in",
            str(d / "server.csr"),
            "-CA",
            self.ca_cert,
            "-CAkey",
            str(d / "ca-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(d / "san.cnf"),
            "-out",
            str(d / "server-cert.pem"),
        )

    def start(self, timeout: float = 60.0) -> None:
        self._make_certificates()
        install_db = _binary("mariadb-install-db", "mysql_install_db")
        mariadbd = _binary("mariadbd", "mysqld")
        datadir = self.workdir / "data"
        subprocess.run(
            [install_db, "--no-defaults", f"--datadir={datadir}", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        # The free port was only free when it was picked: another process may take it first; then pick again.
        for _attempt in range(3):
            self._launch(mariadbd, datadir)
            if self._wait_ready(timeout):
                break
            if "Address already in use" not in self._log_tail():
                pytest.fail(f"mariadbd exited with {self.process.returncode}:\n{self._log_tail()}", pytrace=False)
            self.port = _free_port()
        else:
            pytest.fail(f"mariadbd found no free port:\n{self._log_tail()}", pytrace=False)
        self.password = secrets.token_urlsafe(18)
        with self.root() as conn, conn.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (self.user, host, self.password))
                cur.execute(f"GRANT SELECT, UPDATE ON `cloud`.* TO '{self.user}'@'{host}'")
            cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s REQUIRE SSL", (self.tls_user, self.password))
            cur.execute(f"GRANT SELECT, UPDATE ON `cloud`.* TO '{self.tls_user}'@'127.0.0.1'")

    def _launch(self, mariadbd: str, datadir: Path) -> None:
        self.process = subprocess.Popen(
            [
                mariadbd,
                "--no-defaults",
                f"--datadir={datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--user=root",
                f"--pid-file={self.workdir / 'mariadbd.pid'}",
                f"--log-error={self.log}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                # A test database: speed over durability.
                "--innodb-flush-log-at-trx-commit=0",
                "--character-set-server=utf8mb4",
                f"--ssl-ca={self.ca_cert}",
                f"--ssl-cert={self.workdir / 'server-cert.pem'}",
                f"--ssl-key={self.workdir / 'server-key.pem'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _note_for_ci_cleanup(self.process.pid, self.workdir)

    def _wait_ready(self, timeout: float) -> bool:
        """True once the server accepts connections, False if it exited (fails the session on a timeout)."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            try:
                self.root().close()
                return True
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"mariadbd did not accept connections within {timeout}s:\n{self._log_tail()}", pytrace=False)
                time.sleep(0.1)
        return False

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no error log)"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def root(self, database: str | None = None, multi: bool = False) -> Any:
        return pymysql.connect(
            unix_socket=self.socket,
            user="root",
            database=database,
            autocommit=True,
            client_flag=CLIENT.MULTI_STATEMENTS if multi else 0,
        )

    def module_params(self, database: str = "cloud") -> dict[str, Any]:
        """Connection options of the module for the test user over TCP (no config file of the host is read)."""
        return {
            "login_host": "127.0.0.1",
            "login_port": self.port,
            "login_user": self.user,
            "login_password": self.password,
            "login_db": database,
        }


class CloudDatabase:
    """The `cloud` database of one test: loaded from a variant, read back for comparisons."""

    def __init__(self, server: MariaDBServer, variant: str) -> None:
        self.server = server
        self.variant = variant
        files = [HERE / "schema.sql"] + [DATA / name for name in VARIANTS[variant]]
        with server.root(multi=True) as conn, conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `cloud`")
            cur.execute("CREATE DATABASE `cloud` CHARACTER SET utf8")
            cur.execute("USE `cloud`")
            for path in files:
                cur.execute(path.read_text())
                while cur.nextset():
                    pass

    @property
    def params(self) -> dict[str, Any]:
        return self.server.module_params()

    def query(self, sql: str, args: Any = None) -> list[tuple]:
        with self.server.root("cloud") as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def execute(self, sql: str, args: Any = None) -> int:
        with self.server.root("cloud") as conn, conn.cursor() as cur:
            return cur.execute(sql, args)

    def templates(self) -> dict[int, tuple[str, int]]:
        """id -> (state, cross_zones) of the SYSTEM templates not removed."""
        rows = self.query("SELECT id, state, cross_zones FROM vm_template WHERE type = 'SYSTEM' AND removed IS NULL")
        return {int(i): (s, int(c)) for i, s, c in rows}

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table, to prove that a run changed nothing."""
        return {table: self.query(f"SELECT * FROM `{table}` ORDER BY 1") for table in TABLES if self._exists(table)}

    def _exists(self, table: str) -> bool:
        return bool(self.query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'cloud' AND TABLE_NAME = %s", (table,)))

    # What CloudStack and the operator do between two steps, played on the real tables.

    def system_vms_started(self, zone_id: int, template_id: int, hypervisor: str = "XenServer") -> None:
        """CloudStack created a new SSVM and CPVM in the zone from the template, on the hypervisor, and they are Running."""
        (next_id,) = self.query("SELECT COALESCE(MAX(id), 0) + 1 FROM vm_instance")[0]
        for offset, kind, prefix in ((0, "SecondaryStorageVm", "s"), (1, "ConsoleProxy", "v")):
            vm_id = next_id + offset
            self.execute(
                "INSERT INTO vm_instance (id, name, instance_name, state, vm_template_id, guest_os_id, data_center_id, vnc_password, created, type, "
                "vm_type, account_id, domain_id, service_offering_id, hypervisor_type) "
                "VALUES (%s, %s, %s, 'Running', %s, 99, %s, 'not-a-secret', NOW(), %s, %s, 1, 1, 9, %s)",
                (vm_id, f"{prefix}-{vm_id}-VM", f"{prefix}-{vm_id}-VM", template_id, zone_id, kind, kind, hypervisor),
            )

    def template_downloaded(self, template_id: int, store_id: int) -> None:
        """The SSVM of the store's zone downloaded the template after its cloud service restarted."""
        self.execute(
            "INSERT INTO template_store_ref (store_id, template_id, created, last_updated, download_pct, store_role, download_state, install_path, "
            "state, destroyed, is_copy, update_count, ref_cnt) VALUES (%s, %s, NOW(), NOW(), 100, 'Image', 'DOWNLOADED', %s, 'Ready', 0, 0, 0, 0)",
            (store_id, template_id, f"template/tmpl/1/{template_id}/downloaded.vhd"),
        )


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    # Memory-backed when the machine has it: the tests recreate tables often and need no durability.
    in_memory = Path("/dev/shm")
    workdir = Path(tempfile.mkdtemp(prefix="acs-mariadb-", dir=in_memory)) if in_memory.is_dir() else tmp_path_factory.mktemp("mariadb")
    server = MariaDBServer(workdir, _free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if workdir.parent == in_memory:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def cloud_db(mariadb_server: MariaDBServer):
    """Factory: ``cloud_db("seed")`` (re)creates the `cloud` database with the tables and data of that variant."""

    def load(variant: str = "seed") -> CloudDatabase:
        return CloudDatabase(mariadb_server, variant)

    return load
