# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The run state in the state directory: the plan (plan.json), the journal of work (journal.jsonl) and the state lock
(journal.jsonl.lock, and the per-cloud lock beside it).

The modules that read or guard the state (``cs_upgrade_plan``, ``cs_upgrade_report``, ``cs_upgrade_stage``) take them from
here; none of them needs the executor (``_engine``) for it.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import pwd
import socket
import tempfile
import threading
import time
import urllib.parse
import typing as t

from ansible_collections.acs.upgrade.plugins.module_utils._common import pid_alive, run_owner
from ansible_collections.acs.upgrade.plugins.module_utils._plan import (
    PlanError,
    parse_journal,
    parse_plan,
)


class EngineError(Exception):
    """A stage that cannot run; the message names the object and what to do."""


# ---------------------------------------------------------------------------------------------- journal and lock


class Journal:
    """The JSON-lines journal: every line is written and fsynced before the call that wrote it returns.

    Writers (the threads of a stage, and the module of a killed attempt that still follows its jobs) hold an exclusive
    ``flock`` on the file for each append: a line torn by an interrupted write is set aside in ``<journal>.torn`` before
    the next line is written, never built upon.
    """

    def __init__(self, path: str):
        self.path = path
        self.torn_path = path + ".torn"
        # What this object set aside, for the module's result.
        self.warnings: list[str] = []

    def entries(self) -> list[dict[str, t.Any]]:
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise EngineError("cannot read the journal %s: %s" % (self.path, exc)) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise EngineError(
                "cannot read the journal %s: journal line %d is not UTF-8 text (byte %d of the file); fix or remove that line" % (self.path, line, exc.start)
            ) from None
        try:
            return parse_journal(text)
        except (OSError, PlanError) as exc:
            raise EngineError("cannot read the journal %s: %s" % (self.path, exc)) from None

    def repair(self) -> list[str]:
        """Set a torn last line aside now (a run calls this once it holds the state lock); the warnings of this call."""
        if not os.path.exists(self.path):
            return []
        before = len(self.warnings)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._end_with_a_whole_line(fd)
        finally:
            os.close(fd)
        return self.warnings[before:]

    def append(self, entry: dict[str, t.Any]) -> None:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._end_with_a_whole_line(fd)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _end_with_a_whole_line(self, fd: int) -> None:
        """Under the file's lock: make the journal end at a line end, so that the next line starts on its own."""
        size = os.fstat(fd).st_size
        if not size or os.pread(fd, 1, size - 1) == b"\n":
            return
        content = os.pread(fd, size, 0)
        start = content.rfind(b"\n") + 1
        tail = content[start:]
        try:
            json.loads(tail)
        except ValueError:
            pass
        else:
            # Cut between a whole entry and its line end: the readers take that entry, so it is ended, not set aside.
            os.write(fd, b"\n")
            os.fsync(fd)
            return
        torn = os.open(self.torn_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(torn, tail + b"\n")
            os.fsync(torn)
        finally:
            os.close(torn)
        os.ftruncate(fd, start)
        os.fsync(fd)
        self.warnings.append(
            "the journal %s ended in a line torn by an interrupted write: that line (%d bytes) was moved to %s; the %d complete line(s) before it are kept"
            % (self.path, len(tail), self.torn_path, content.count(b"\n"))
        )


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


# Seconds without a heartbeat after which the lock of a run on another host is taken over. It must outlast the
# longest stretch of a run in which no module touches the lock: the fleet read and the preflight before the plan, a
# report between two groups. Ten minutes covers those on a 2,000-router cloud with room to spare.
DEFAULT_LOCK_LEASE = 600
# The shortest lease allowed: several heartbeats of a stage within it.
MIN_LOCK_LEASE = 60
# Seconds between two heartbeats while a stage runs: many within one lease, and a small write each.
HEARTBEAT_INTERVAL = 15


def _iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(timespec="seconds")


def _epoch(value: t.Any) -> float | None:
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class RunLock:
    """``<journal>.lock``: who runs on this state (owner, host, pid, start, heartbeat).

    On the lock's own host, the lock of a process that no longer runs is taken over. Another host cannot see that
    process (an AWX job's next pod, another execution node): there the lock is a lease, which the run renews with a
    heartbeat while it runs (:meth:`heartbeat`), and which is taken over once its heartbeat is older than ``lease``
    seconds.
    """

    def __init__(
        self,
        journal_path: str,
        pid: int | None = None,
        host: str | None = None,
        lease: float = DEFAULT_LOCK_LEASE,
        clock: t.Callable[[], float] = time.time,
    ):
        self.path = journal_path + ".lock"
        self.pid = pid or run_owner()
        self.host = host or socket.gethostname()
        self.lease = lease
        self.clock = clock

    def read(self) -> dict[str, t.Any] | None:
        """The lock's content; None when there is none, {} when it cannot be read (after a few tries: on a shared volume
        another host's heartbeat replaces the file, and a read that meets the replacement may fail once)."""
        for attempt in range(3):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    return json.load(handle)
            except FileNotFoundError:
                return None
            except (OSError, ValueError):
                if attempt < 2:
                    time.sleep(0.05)
        return {}

    def _ours(self, held: dict[str, t.Any] | None) -> bool:
        return bool(held) and held.get("host") == self.host and held.get("pid") == self.pid

    def held(self) -> bool:
        """Whether the lock is still this run's (its host and pid in the file): one small read, asked before each journal line."""
        return self._ours(self.read())

    def holder(self) -> str:
        """Who holds the lock now, for a message."""
        held = self.read()
        if not held:
            return "nobody (%s is gone or unreadable)" % self.path
        return "pid %s of %s on %s, started %s" % (held.get("pid"), held.get("owner"), held.get("host"), held.get("start"))

    def heartbeat_age(self, held: dict[str, t.Any]) -> float | None:
        """Seconds since the holder's last heartbeat (its start for a lock written before heartbeats); None when unknown."""
        beat = _epoch(held.get("heartbeat") or held.get("start"))
        return None if beat is None else max(0.0, self.clock() - beat)

    def check(self) -> None:
        """Raise EngineError when another run holds the lock (what :meth:`acquire` would refuse), without taking it."""
        held = self.read()
        if held is not None and not self._ours(held):
            self._refuse(held)

    def alive(self, held: dict[str, t.Any]) -> bool | None:
        """Whether the run that wrote ``held`` may still run: on this host, whether its process runs (None: no pid to
        ask); from another host, False once its heartbeat is older than the lease, None (cannot tell) before."""
        if held.get("host") == self.host:
            return pid_alive(held["pid"]) if isinstance(held.get("pid"), int) else None
        age = self.heartbeat_age(held)
        return None if age is not None and age < self.lease else False

    def _refuse(self, held: dict[str, t.Any]) -> None:
        alive = self.alive(held)
        if held.get("host") == self.host:
            if alive:
                raise EngineError(self._refusal(held))
        elif alive is None:
            age = self.heartbeat_age(held) or 0.0
            raise EngineError(
                "the state lock %s belongs to pid %s of %s on host %s (started %s), whose last heartbeat is %d s old: that run may "
                "still be going on, from a host this one cannot check; wait for it to end; if it is gone (a killed job), the lock "
                "is taken over once its heartbeat is older than the lease of %d s, at %s"
                % (
                    self.path,
                    held.get("pid"),
                    held.get("owner"),
                    held.get("host"),
                    held.get("start"),
                    age,
                    self.lease,
                    _iso(self.clock() - age + self.lease),
                )
            )

    def _takeover(self, held: dict[str, t.Any]) -> str:
        if held and held.get("host") != self.host:
            age = self.heartbeat_age(held)
            return (
                "took over the state lock of pid %s of %s on host %s (started %s): its last heartbeat is %s old, more than the lease of "
                "%d s, so that run is taken to be gone"
                % (held.get("pid"), held.get("owner"), held.get("host"), held.get("start"), "an unknown time" if age is None else "%d s" % age, self.lease)
            )
        return "took over the state lock of pid %s (%s, started %s): that process is no longer running" % (
            held.get("pid"),
            held.get("owner"),
            held.get("start"),
        )

    def acquire(self) -> list[str]:
        """Take the lock for this run (or renew its heartbeat when it holds it already); returns warnings (a stale lock
        taken over); raises EngineError when another run holds it."""
        warnings = []
        held = self.read()
        if held is not None:
            if self._ours(held):
                self.heartbeat()
                return []
            self._refuse(held)
            warnings.append(self._takeover(held))
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        content = self._content()
        if held:
            # When this run took the lock of a run that died: requests that run sent may still become jobs for a while.
            content["took_over"] = {"pid": held.get("pid"), "host": held.get("host"), "at": content["start"]}
        if held is None:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return self.acquire()  # another run created it between our read and now: judge it again
            try:
                os.write(fd, json.dumps(content).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            self._replace(content)
        return warnings

    def heartbeat(self) -> bool:
        """Renew this run's lease (the lock's ``heartbeat``); False, writing nothing, when the lock is no longer this run's."""
        held = self.read()
        if not self._ours(held):
            return False
        self._replace(dict(held, heartbeat=_iso(self.clock())))
        return True

    def _replace(self, content: dict[str, t.Any]) -> None:
        """Write the lock whole under another name, then rename it over the lock: a reader on any host sees the old or the new one."""
        temporary = "%s.%s.%d" % (self.path, self.host, os.getpid())
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(content).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)

    def _content(self) -> dict[str, t.Any]:
        now = _iso(self.clock())
        return {"owner": _user(), "host": self.host, "pid": self.pid, "start": now, "heartbeat": now}

    def _refusal(self, held: dict[str, t.Any]) -> str:
        return (
            "another run holds the state lock %s: pid %s of %s on %s, started %s; wait for it to end (or stop it), then run again; "
            "two runs must never act on the same cloud state at once" % (self.path, held.get("pid"), held.get("owner"), held.get("host"), held.get("start"))
        )

    def release(self) -> bool:
        if self.held():
            os.unlink(self.path)
            return True
        return False


class Heartbeat:
    """Renews the leases of ``locks`` every ``interval`` seconds from a background thread while a long task runs
    (``with Heartbeat([lock]): ...``). A lock that is no longer this run's is left alone: the task's own ``held()``
    checks see that and stop it."""

    def __init__(self, locks: list[RunLock], interval: float | None = None):
        self.locks = locks
        self.interval = HEARTBEAT_INTERVAL if interval is None else interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="acs-upgrade-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            for lock in self.locks:
                try:
                    lock.heartbeat()
                except OSError:
                    pass  # a state volume that hiccups: the next beat tries again, well within the lease

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self._stop.set()
        self._thread.join()


def cloud_identity(endpoint: str) -> str:
    """One name per management server, whatever the spelling of its URL: the scheme, the addresses its host name
    resolves to (``localhost`` and ``127.0.0.1`` are one server), the port and the path."""
    parts = urllib.parse.urlsplit(endpoint.strip())
    scheme = (parts.scheme or "http").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
    except (OSError, UnicodeError):
        addresses = [host]
    # ::1 and 127.0.0.1 are the same loopback server.
    addresses = sorted({"loopback" if address in ("::1",) or address.startswith("127.") else address for address in addresses})
    return "%s://%s:%d%s" % (scheme, ",".join(addresses), port, (parts.path or "/").rstrip("/") or "/")


def lock_directory() -> str:
    """Where the locks per cloud live: /run/lock, shared by every user and service of the host (a service's private
    /tmp, sudo or a TMPDIR of its own would hide a lock in the temporary directory); the temporary directory else."""
    shared = "/run/lock"
    return shared if os.path.isdir(shared) and os.access(shared, os.W_OK | os.X_OK) else tempfile.gettempdir()


class CloudLock(RunLock):
    """A lock per cloud on this host (its API endpoint), whatever the state directory: two runs from one controller
    never act on one cloud at once. Runs from other controllers see each other by their jobs in flight (StageRunner)."""

    def __init__(
        self,
        endpoint: str,
        state: str,
        pid: int | None = None,
        directory: str | None = None,
        host: str | None = None,
        lease: float = DEFAULT_LOCK_LEASE,
        clock: t.Callable[[], float] = time.time,
    ):
        digest = hashlib.sha256(cloud_identity(endpoint).encode("utf-8")).hexdigest()[:16]
        super().__init__(os.path.join(directory or lock_directory(), "acs-upgrade-cloud-%s" % digest), pid, host, lease, clock)
        self.endpoint = endpoint
        self.state = state

    def _content(self) -> dict[str, t.Any]:
        return dict(super()._content(), endpoint=self.endpoint, state=self.state)

    def _refusal(self, held: dict[str, t.Any]) -> str:
        return (
            "another run acts on the cloud %s from this host: pid %s of %s, started %s, with the state %s; two runs must never act on "
            "one cloud at once: wait for it to end (or stop it), then run again"
            % (self.endpoint, held.get("pid"), held.get("owner"), held.get("start"), held.get("state"))
        )


# ---------------------------------------------------------------------------------------------- plan helpers


def load_plan(path: str) -> dict[str, t.Any]:
    """The plan in ``path``, checked for the shape its readers use."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_plan(handle.read(), path)
    except FileNotFoundError:
        raise EngineError("no plan at %s: run the acs.upgrade.plan role (or acs.upgrade.cs_upgrade_plan with output_dir) first" % path) from None
    except OSError as exc:
        raise EngineError("cannot read the plan %s: %s" % (path, exc)) from None
    except PlanError as exc:
        raise EngineError(str(exc)) from None


def plan_steps(plan: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The groups in running order, each with the stages it has: what the playbook loops over."""
    groups: list[dict[str, t.Any]] = []
    for batch in plan["batches"]:
        if not groups or groups[-1]["name"] != batch["group"]:
            groups.append({"name": batch["group"], "stages": [], "items": 0})
        if batch["stage"] not in groups[-1]["stages"]:
            groups[-1]["stages"].append(batch["stage"])
        groups[-1]["items"] += len(batch["items"])
    return groups
