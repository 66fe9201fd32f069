# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The CloudStack API client used by every module and plugin of acs.upgrade.

Signing (v2, and v3 with ``expires``), response envelopes, paging, errors, retries and
feature detection live here once. Async job waiting lives in ``_jobs``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import random
import re
import time
import typing as t
from urllib.parse import quote

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by ansible-test sanity
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

DEFAULT_PAGE_SIZE = 500
DEFAULT_TIMEOUT = 10
DEFAULT_EXPIRES_SECONDS = 600

# HTTP statuses after which the server did not act on the request: safe to send again.
_REJECTED_STATUSES = frozenset((429, 503))
# HTTP statuses where the server may or may not have acted: a read is retried, a mutation is checked first.
_UNKNOWN_OUTCOME_STATUSES = frozenset((500, 502, 504))

# Commands that change nothing: they are always safe to retry.
_READ_ONLY_PREFIXES = ("list", "query", "get")

# Features that appeared in a given management server version (names from listApis of 4.16.1, 4.17, 4.18).
# The APIs this project uses carry no listApis call of their own, so the version decides.
FEATURES_SINCE: dict[str, str] = {
    "patchSystemVm": "4.17.0",
    "restartNetwork.livepatch": "4.17.0",
    "restartVPC.livepatch": "4.17.0",
    "getRouterHealthCheckResults": "4.14.0",
    "listRouters.fetchhealthcheckresults": "4.14.0",
    "listRouters.healthchecksfailed": "4.16.0",
    "rebootSystemVm.forced": "4.16.0",
}

_SENSITIVE_QUERY = re.compile(r"(\?|&)[^\s'\"<>]*")


def parse_version(version: str) -> tuple[int, ...]:
    """'4.18.0.0-SNAPSHOT' -> (4, 18, 0, 0); the parts that are not numbers are dropped."""
    parts = []
    for piece in re.split(r"[.\-]", str(version)):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    if not parts:
        raise ValueError("not a CloudStack version: %r" % (version,))
    return tuple(parts)


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1; missing trailing parts count as 0, so 4.18.0.0 equals 4.18.0 and 4.18."""
    a, b = parse_version(left), parse_version(right)
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return (a > b) - (a < b)


def version_at_least(version: str, minimum: str) -> bool:
    return compare_versions(version, minimum) >= 0


def cs_timestamp(moment: datetime.datetime) -> str:
    """A time as CloudStack's API reads it (``expires``, ``startdate``): ISO-8601 with the zone offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _encode(value: str) -> str:
    # What CloudStack's verifier does: java.net.URLEncoder with '+' turned into '%20'.
    return quote(value, safe="*").replace("~", "%7E")


def _as_text(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sign(params: t.Mapping[str, t.Any], secret: str) -> str:
    """The signature of ``params`` (every parameter but ``signature``) with ``secret``."""
    pairs = sorted("%s=%s" % (name, _encode(_as_text(value))) for name, value in params.items() if name != "signature")
    digest = hmac.new(secret.encode("utf-8"), "&".join(pairs).lower().encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def redact(text: str, *secrets: str | None) -> str:
    """Remove secrets and query strings (signed URLs) from a message."""
    text = _SENSITIVE_QUERY.sub(lambda m: m.group(1) + "<redacted>", str(text))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


class CloudStackError(Exception):
    """An API call that failed: the command, the HTTP status and CloudStack's error fields."""

    def __init__(self, command: str, status: int | None, errortext: str, errorcode: int | None = None, cserrorcode: int | None = None):
        self.command = command
        self.status = status
        self.errorcode = errorcode if errorcode is not None else status
        self.cserrorcode = cserrorcode
        self.errortext = errortext
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = "HTTP %s" % self.status if self.status is not None else "no answer"
        codes = "" if self.errorcode is None else ", errorcode %s" % self.errorcode
        if self.cserrorcode is not None:
            codes += ", cserrorcode %s" % self.cserrorcode
        return "CloudStack API %s failed (%s%s): %s" % (self.command, where, codes, self.errortext)

    def as_dict(self) -> dict[str, t.Any]:
        return {"command": self.command, "status": self.status, "errorcode": self.errorcode, "cserrorcode": self.cserrorcode, "errortext": self.errortext}


class UnknownOutcomeError(CloudStackError):
    """A mutating call whose outcome is unknown (no answer or an ambiguous 5xx) and could not be settled."""


class CloudStackClient:
    """One management server endpoint with one key pair."""

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        api_secret: str,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        method: str = "get",
        signature_version: int = 3,
        expires_seconds: int = DEFAULT_EXPIRES_SECONDS,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 10.0,
        page_size: int = DEFAULT_PAGE_SIZE,
        sleep: t.Callable[[float], None] = time.sleep,
        session: t.Any = None,
    ):
        if not HAS_REQUESTS:
            raise RuntimeError("the Python library requests is required")
        if not endpoint or not api_key or not api_secret:
            raise ValueError("api_url, api_key and api_secret are all required to reach CloudStack")
        if method not in ("get", "post"):
            raise ValueError("api_http_method must be get or post, not %r" % (method,))
        if signature_version not in (2, 3):
            raise ValueError("signature version must be 2 or 3")
        self.endpoint = endpoint
        self.api_key = api_key
        self._secret = api_secret
        self.timeout = timeout
        self.verify = verify
        self.method = method
        self.signature_version = signature_version
        self.expires_seconds = expires_seconds
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.page_size = page_size
        self._sleep = sleep
        self._session = session or requests.Session()
        self._version: str | None = None
        self.calls = 0

    # -- wire ------------------------------------------------------------------------------------------------

    def _signed(self, command: str, params: t.Mapping[str, t.Any]) -> dict[str, str]:
        query = {name: _as_text(value) for name, value in params.items() if value is not None}
        query.update(command=command, response="json", apiKey=self.api_key)
        if self.signature_version == 3:
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.expires_seconds)
            query["signatureversion"] = "3"
            query["expires"] = cs_timestamp(expires)
        query["signature"] = sign(query, self._secret)
        return query

    def _send_once(self, command: str, params: t.Mapping[str, t.Any]) -> tuple[int, t.Any, t.Mapping[str, str]]:
        """One HTTP exchange. Returns (status, decoded body or None, headers); transport errors raise."""
        query = self._signed(command, params)
        body = "&".join("%s=%s" % (name, _encode(value)) for name, value in query.items())
        self.calls += 1
        if self.method == "post":
            reply = self._session.post(
                self.endpoint, data=body, timeout=self.timeout, verify=self.verify, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        else:
            reply = self._session.get(self.endpoint + "?" + body, timeout=self.timeout, verify=self.verify)
        try:
            decoded = reply.json()
        except ValueError:
            decoded = None
        return reply.status_code, decoded, reply.headers

    def _error(self, command: str, status: int | None, body: t.Any, fallback: str) -> CloudStackError:
        inner = _inner(body)
        if isinstance(inner, dict) and ("errortext" in inner or "errorcode" in inner):
            return CloudStackError(
                command, status, redact(inner.get("errortext", fallback), self._secret), inner.get("errorcode", status), inner.get("cserrorcode")
            )
        return CloudStackError(command, status, redact(fallback, self._secret))

    def call(self, command: str, _settle: t.Callable[[], dict[str, t.Any] | None] | None = None, **params: t.Any) -> dict[str, t.Any]:
        """Run one command and return the inner object of its ``<command>response`` envelope.

        Read-only commands are retried on connection errors, timeouts, 429 and 5xx with capped backoff.
        A mutating command is sent again only when the server surely did not act on it (connection refused,
        429, 503); when the outcome is unknown (timeout, reset, 500/502/504), ``_settle`` is asked first: it
        returns what the first attempt produced (so nothing is sent twice) or None when it left no trace.
        Without ``_settle`` an unknown outcome raises :class:`UnknownOutcomeError`.
        """
        # Fresh health checks run on the router inside the request: a lost answer is not a read to send again.
        read_only = command.startswith(_READ_ONLY_PREFIXES) and not params.get("performfreshchecks")
        attempt = 0
        while True:
            retry_after = None
            try:
                status, body, headers = self._send_once(command, params)
            except requests.exceptions.RequestException as exc:
                never_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or (isinstance(exc, requests.exceptions.ConnectionError) and _refused(exc))
                failure = CloudStackError(command, None, "no answer from the management server at %s: %s" % (self._safe_endpoint(), redact(exc, self._secret)))
                safe_to_resend = read_only or never_sent
            else:
                if status == 200 and isinstance(body, dict):
                    inner = _inner(body)
                    return inner if isinstance(inner, dict) else {}
                failure = self._error(command, status, body, "HTTP %s without a CloudStack error body" % status)
                if status in _REJECTED_STATUSES:
                    safe_to_resend, retry_after = True, headers.get("Retry-After")
                elif status in _UNKNOWN_OUTCOME_STATUSES:
                    safe_to_resend = read_only
                else:
                    raise failure
            if attempt >= self.max_retries:
                raise failure
            self._sleep(self._backoff(attempt, retry_after))
            attempt += 1
            if safe_to_resend:
                continue
            if _settle is None:
                raise UnknownOutcomeError(
                    command,
                    failure.status,
                    "%s; the outcome is unknown: check the object before running again" % failure.errortext,
                    failure.errorcode,
                    failure.cserrorcode,
                )
            earlier = _settle()
            if earlier is not None:
                return earlier

    def _backoff(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.backoff_cap)
        return min(self.backoff_cap, self.backoff_base * (2**attempt)) * random.uniform(0.5, 1.0)

    def _safe_endpoint(self) -> str:
        return redact(self.endpoint.split("?", 1)[0], self._secret)

    # -- higher level ----------------------------------------------------------------------------------------

    def list(self, command: str, key: str, **params: t.Any) -> list[dict[str, t.Any]]:
        """All items of a list command, read page by page; ``key`` is the item name (``router`` for listRouters)."""
        page_size = int(params.pop("pagesize", None) or self.page_size)
        items: list[dict[str, t.Any]] = []
        page = 1
        while True:
            inner = self.call(command, page=page, pagesize=page_size, **params)
            chunk = inner.get(key) or []
            items.extend(chunk)
            total = inner.get("count")
            if not chunk or len(chunk) < page_size or (total is not None and len(items) >= int(total)):
                return items
            page += 1

    def submit(self, command: str, **params: t.Any) -> str:
        """Start an async command and return its job id.

        When the answer is lost, the jobs started since this call are searched for one on the same object
        before anything is sent again, so a mutation is never submitted twice.
        """
        started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
        instance = params.get("id") or params.get("routerid")

        def settle() -> dict[str, str] | None:
            found = self.find_job(instance, started)
            return {"jobid": found} if found else None

        inner = self.call(command, _settle=settle if instance else None, **params)
        jobid = inner.get("jobid")
        if not jobid:
            raise CloudStackError(command, 200, "the answer carries no jobid; is %s an async command on this server?" % command)
        return jobid

    def jobs_since(self, since: datetime.datetime) -> list[dict[str, t.Any]]:
        """Every async job visible to this key created at or after ``since`` (one paged listAsyncJobs)."""
        return self.list("listAsyncJobs", "asyncjobs", startdate=cs_timestamp(since), listall=True)

    def find_job(self, instance_id: str, since: datetime.datetime) -> str | None:
        """The id of a job on ``instance_id`` created at or after ``since``, if there is one."""
        for job in self.jobs_since(since):
            if job.get("jobinstanceid") == instance_id:
                return job["jobid"]
        return None

    def query_job(self, jobid: str) -> dict[str, t.Any]:
        return self.call("queryAsyncJobResult", jobid=jobid)

    def version(self) -> str:
        """The management server version (listCapabilities ``cloudstackversion``), read once."""
        if self._version is None:
            capability = self.call("listCapabilities").get("capability", {})
            if not capability.get("cloudstackversion"):
                raise CloudStackError("listCapabilities", 200, "the answer carries no cloudstackversion")
            self._version = capability["cloudstackversion"]
        return self._version

    def has_feature(self, feature: str) -> bool:
        """Whether the management server has an API (``patchSystemVm``) or a parameter (``restartNetwork.livepatch``)."""
        since = FEATURES_SINCE.get(feature)
        if since is None:
            raise KeyError("unknown feature %r; known: %s" % (feature, ", ".join(sorted(FEATURES_SINCE))))
        return version_at_least(self.version(), since)


def _inner(body: t.Any) -> t.Any:
    """The object inside ``{"<command>response": {...}}`` (CloudStack's envelope has exactly one key)."""
    if isinstance(body, dict) and len(body) == 1:
        return next(iter(body.values()))
    return body


def _refused(exc: Exception) -> bool:
    text = str(exc)
    return "Connection refused" in text or "Errno 111" in text or "NewConnectionError" in text
