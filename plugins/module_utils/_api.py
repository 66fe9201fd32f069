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
import email.utils
import hashlib
import hmac
import math
import random
import re
import time
import typing as t
from dataclasses import dataclass
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
MAX_TIMEOUT = 86400
DEFAULT_EXPIRES_SECONDS = 600
# How long a mutation the server refused (429, 503, connection refused) is offered again before it is "not submitted".
DEFAULT_SUBMIT_BUDGET = 60.0
# A lost answer is settled by looking for its job for this many api_timeouts after the request was sent: a server
# slow to take a request registers the job late, and the job must be found before anything is sent again.
SETTLE_TIMEOUTS = 3

# HTTP statuses after which the server did not act on the request: safe to send again.
_REJECTED_STATUSES = frozenset((429, 503))
# HTTP statuses where the server may or may not have acted: a read is retried, a mutation is checked first.
_UNKNOWN_OUTCOME_STATUSES = frozenset((500, 502, 504))

# Commands that change nothing: they are always safe to retry.
_READ_ONLY_PREFIXES = ("list", "query", "get")

# The async command whose job a command queues, when it is another one: upgradeRouterTemplate queues RebootRouterCmd
# jobs on each router (VirtualNetworkApplianceManagerImpl.upgradeRouterTemplate, 4.18.0.0).
JOB_COMMANDS = {"upgradeRouterTemplate": "rebootRouter"}
# Commands whose job records no instance (PatchSystemVMCmd, checked at 4.18.0.0): a lost answer cannot be matched
# to its job by the object's id, only by command and start time.
NO_JOB_INSTANCE = frozenset(("patchSystemVm",))
# What patchSystemVm answers when the VM already has the payload (forced=false): safe to send again.
UNCHANGED_MARKER = "No change in the scripts checksum"
# BaseListCmd.getPageSize: a page larger than the server's default.page.size is refused with this text (errorcode 431).
_PAGE_SIZE_REFUSED = re.compile(r"Page size can't exceed max allowed page size value: (\d+)")

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
    # ListVolumesCmd listsystemvms (4.18.0.0): before it QueryManagerImpl.searchForVolumesInternal never returns the
    # volumes of routers, SSVMs and CPVMs ("Don't return DomR and ConsoleProxy volumes", 4.17.0.0).
    "listVolumes.listsystemvms": "4.18.0",
}

# A query string (a signed URL: apiKey, signature): from '?' or '&' followed by a parameter name and '=' to the next
# blank or quote. A '?' or '&' in prose ("is the clock right? check", "R&D") is left alone.
_SENSITIVE_QUERY = re.compile(r"(\?|&)[A-Za-z0-9_.\-]+=[^\s'\"<>]*")
# user:password@ in a URL (an api_url with credentials in it).
_URL_CREDENTIALS = re.compile(r"(//)[^/@\s'\"<>]+@")
# A credential named outside a query string: "apikey=...", "api_key: ...", "signature=..." in an error text or a
# message that quotes parameters (a proxy's, a load balancer's, a log line's).
_NAMED_SECRET = re.compile(
    r"(\b(?:api[_-]?key|api[_-]?secret|secret[_-]?key|secret|signature|session[_-]?key|password|passwd|token)\b[\"']?\s*[=:]\s*)"
    r"(?!<redacted>)[\"']?[^\s'\"<>,;&]+",
    re.IGNORECASE,
)


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
    """A time as CloudStack's API reads it (``expires``): ISO-8601 with the zone offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def list_startdate(since: datetime.datetime) -> str:
    """The ``startdate`` of a listAsyncJobs that holds every job created at or after ``since``, wherever the server is.

    The server reads the parameter as "yyyy-MM-dd", midnight in its own zone (ParamProcessWorker parses it with the
    JVM's default zone and ignores what follows), and the zone is not in any answer before a job's ``created``. The day
    of ``since`` in the westernmost zone (UTC-12) starts no later than ``since`` in every zone; the date of ``since``
    in UTC would start after it for a server west of UTC in its evening, and the job of a lost answer would not be
    found, so it would be sent again.
    """
    return (since.astimezone(datetime.timezone.utc) - datetime.timedelta(hours=12)).strftime("%Y-%m-%d")


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


def parse_cs_time(value: t.Any) -> datetime.datetime | None:
    """A CloudStack date (``created`` of a job: ``2026-11-27T15:43:19+0000``) as an aware datetime, or None."""
    try:
        return datetime.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def check_timeout(value: t.Any) -> float:
    """api_timeout as a positive number of seconds; anything else is refused with what to set."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError("api_timeout must be a number of seconds, not %r" % (value,)) from None
    if seconds <= 0 or math.isnan(seconds):
        raise ValueError("api_timeout must be more than 0 seconds, not %s: set it to how long one API request may take (default %s)" % (value, DEFAULT_TIMEOUT))
    if seconds > MAX_TIMEOUT:
        # A socket cannot wait much longer (OverflowError from urllib3), and a lost answer is settled over 3 x this.
        raise ValueError(
            "api_timeout must be at most %d seconds (one day), not %s: set it to how long one API request may take (default %s)"
            % (MAX_TIMEOUT, value, DEFAULT_TIMEOUT)
        )
    return seconds


def redact(text: str, *secrets: str | None) -> str:
    """Remove secrets, credentials in URLs and query strings (signed URLs) from a message."""
    text = _SENSITIVE_QUERY.sub(lambda m: m.group(1) + "<redacted>", str(text))
    text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + "<redacted>@", text)
    text = _NAMED_SECRET.sub(lambda m: m.group(1) + "<redacted>", text)
    for secret in secrets:
        if secret:
            # Only where it stands as a whole token: a short secret ("y") must not cut words ("Caused b<redacted>").
            text = re.sub(r"(?<!\w)%s(?!\w)" % re.escape(secret), "<redacted>", text)
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


class PageSizeLowered(CloudStackError):
    """A list call refused for its page size: the client now uses the server's ``default.page.size``; read again."""


class UnknownOutcomeError(CloudStackError):
    """A mutating call whose outcome is unknown (no answer or an ambiguous 5xx) and could not be settled."""


class NotSubmittedError(CloudStackError):
    """A mutating call the server surely did not act on (refused until the submit budget ran out): nothing started."""


@dataclass
class Attempt:
    """One sending of a mutation: when it left (monotonic clock) and the earliest ``created`` its job can carry (server time)."""

    command: str
    params: t.Mapping[str, t.Any]
    sent: float
    since: datetime.datetime


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
        submit_budget: float | None = None,
        settle_window: float | None = None,
        sleep: t.Callable[[float], None] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
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
        self.timeout = check_timeout(timeout)
        self.verify = verify
        self.method = method
        self.signature_version = signature_version
        self.expires_seconds = expires_seconds
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.page_size = page_size
        self.submit_budget = float(DEFAULT_SUBMIT_BUDGET if submit_budget is None else submit_budget)
        self.settle_window = float(settle_window) if settle_window is not None else SETTLE_TIMEOUTS * self.timeout
        self._sleep = sleep
        self._clock = clock
        self._session = session or requests.Session()
        self._version: str | None = None
        # The server's clock minus ours, from the Date header of its last answer: jobs carry the server's time.
        self._skew = datetime.timedelta(0)
        self._skew_known = False
        # How the lost answer of a submit was settled, by the job id it ended with (for the report).
        self.settled: dict[str, str] = {}
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

    def _send_once(self, command: str, params: t.Mapping[str, t.Any], timeout: float | None = None) -> tuple[int, t.Any, t.Mapping[str, str]]:
        """One HTTP exchange. Returns (status, decoded body or None, headers); transport errors raise."""
        query = self._signed(command, params)
        body = "&".join("%s=%s" % (name, _encode(value)) for name, value in query.items())
        self.calls += 1
        timeout = timeout or self.timeout
        if self.method == "post":
            reply = self._session.post(
                self.endpoint, data=body, timeout=timeout, verify=self.verify, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        else:
            reply = self._session.get(self.endpoint + "?" + body, timeout=timeout, verify=self.verify)
        server_time = _header_date(reply.headers)
        if server_time is not None:
            self._skew = server_time - datetime.datetime.now(datetime.timezone.utc)
            self._skew_known = True
        try:
            decoded = reply.json()
        except ValueError:
            decoded = None
        return reply.status_code, decoded, reply.headers

    def _learn_server_time(self) -> None:
        """One harmless read for the server's Date header; a failure leaves the skew unknown (the settle reads again)."""
        try:
            self._send_once("listCapabilities", {})
        except requests.exceptions.RequestException:
            pass

    def server_now(self) -> datetime.datetime:
        """The management server's time now, as far as its Date headers tell."""
        return datetime.datetime.now(datetime.timezone.utc) + self._skew

    def _error(self, command: str, status: int | None, body: t.Any, fallback: str, headers: t.Mapping[str, str] | None = None) -> CloudStackError:
        inner = _inner(body)
        if isinstance(inner, dict) and ("errortext" in inner or "errorcode" in inner):
            text, errorcode, cserrorcode = inner.get("errortext", fallback), inner.get("errorcode", status), inner.get("cserrorcode")
        else:
            text, errorcode, cserrorcode = fallback, status, None
        if status == 401:
            text += self._clock_hint(headers or {})
        return CloudStackError(command, status, redact(text, self._secret), errorcode, cserrorcode)

    def _clock_hint(self, headers: t.Mapping[str, str]) -> str:
        """Why a 401 may not be the secret: a signature that expired on arrival because one of the clocks is wrong."""
        server_time = _header_date(headers)
        if server_time is None or self.signature_version != 3:
            return ""
        offset = (server_time - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        if abs(offset) <= self.expires_seconds:
            return ""
        return "; the management server's clock (Date: %s) is %d s %s this machine's, more than the signature expiry of %d s: check the clock (NTP) of both" % (
            headers.get("Date"),
            abs(offset),
            "ahead of" if offset > 0 else "behind",
            self.expires_seconds,
        )

    def call(
        self,
        command: str,
        _settle: t.Callable[[Attempt], dict[str, t.Any] | None] | None = None,
        _attempts: int | None = None,
        _timeout: float | None = None,
        **params: t.Any,
    ) -> dict[str, t.Any]:
        """Run one command and return the inner object of its ``<command>response`` envelope.

        Read-only commands are retried on connection errors, timeouts, 429 and 5xx with capped backoff (at most
        ``_attempts`` sends when given). A mutating command is sent again only when the server surely did not act
        on it: refused (connection refused, 429, 503) it is offered again with capped backoff, ``Retry-After``
        honoured, until ``submit_budget`` seconds have passed, then :class:`NotSubmittedError`. When the outcome is
        unknown (timeout, reset, 500/502/504), ``_settle(attempt)`` is asked first: it returns what that attempt
        produced (so nothing is sent twice), None when it proved that the attempt left no trace, or raises
        :class:`UnknownOutcomeError`. Without ``_settle`` an unknown outcome raises :class:`UnknownOutcomeError`, and
        so does a read timeout that left no trace: the server may still be working on that request.
        """
        # Fresh health checks run on the router inside the request: a lost answer is not a read to send again.
        read_only = command.startswith(_READ_ONLY_PREFIXES) and not params.get("performfreshchecks")
        first_sent = self._clock()
        attempt = 0
        while True:
            retry_after, still_working = None, False
            sent, sent_at = self._clock(), datetime.datetime.now(datetime.timezone.utc)
            try:
                status, body, headers = self._send_once(command, params, _timeout)
            except requests.exceptions.RequestException as exc:
                never_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or (isinstance(exc, requests.exceptions.ConnectionError) and _refused(exc))
                failure = CloudStackError(command, None, "no answer from the management server at %s: %s" % (self._safe_endpoint(), redact(exc, self._secret)))
                acted = "no" if never_sent else "unknown"
                # A read timeout: the server took the request and had not answered; it may still be working on it.
                still_working = isinstance(exc, requests.exceptions.ReadTimeout)
            else:
                if status == 200 and isinstance(body, dict):
                    inner = _inner(body)
                    return inner if isinstance(inner, dict) else {}
                failure = self._error(command, status, body, "HTTP %s without a CloudStack error body" % status, headers)
                if status in _REJECTED_STATUSES:
                    acted, retry_after = "no", headers.get("Retry-After")
                elif status in _UNKNOWN_OUTCOME_STATUSES:
                    acted = "unknown"
                else:
                    raise failure
            if read_only:
                if attempt >= (self.max_retries if _attempts is None else _attempts - 1):
                    raise failure
                self._sleep(min(self._backoff(attempt, retry_after), self.backoff_cap))
                attempt += 1
                continue
            if acted == "unknown":
                if _settle is None:
                    raise UnknownOutcomeError(
                        command,
                        failure.status,
                        "%s; the outcome is unknown: check the object before running again" % failure.errortext,
                        failure.errorcode,
                        failure.cserrorcode,
                    )
                if not self._skew_known:
                    # No answer of this server has told its time yet (a lost first request): ask it, so that the jobs
                    # of the attempt are looked for from the server's clock, not ours.
                    self._learn_server_time()
                since = sent_at + self._skew - _CREATED_MARGIN
                try:
                    earlier = _settle(Attempt(command, params, sent, since))
                except UnknownOutcomeError:
                    raise
                except CloudStackError as exc:
                    # The first attempt may have acted: whatever went wrong while looking, its outcome stays unknown.
                    raise UnknownOutcomeError(
                        command,
                        exc.status,
                        "%s; settling it failed: %s; the outcome is unknown: check the object before running again" % (failure.errortext, exc.errortext),
                        exc.errorcode,
                        exc.cserrorcode,
                    ) from None
                if earlier is not None:
                    return earlier
                if still_working:
                    # No job yet is no proof: a server slower than the settle window registers it later still.
                    raise UnknownOutcomeError(
                        command,
                        None,
                        "%s; no job of it appeared in listAsyncJobs within the settle window of %gs, but the server may still be working on it,"
                        " so it is not sent again; the outcome is unknown: check listAsyncJobs and %s before running again"
                        % (failure.errortext, self.settle_window, params.get("id") or params.get("routerid") or "the object"),
                    )
            delay = self._backoff(attempt, retry_after)
            if self._clock() + delay > first_sent + self.submit_budget:
                raise NotSubmittedError(
                    command,
                    failure.status,
                    "%s; not submitted: the management server did not take the request within the submit budget of %gs, so nothing was started"
                    % (failure.errortext, self.submit_budget),
                    failure.errorcode,
                    failure.cserrorcode,
                )
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int, retry_after: str | None = None) -> float:
        wait = min(self.backoff_cap, self.backoff_base * (2**attempt)) * random.uniform(0.5, 1.0)
        asked = _retry_after_seconds(retry_after)
        return max(wait, asked) if asked is not None else wait

    def _safe_endpoint(self) -> str:
        return redact(self.endpoint.split("?", 1)[0], self._secret)

    # -- higher level ----------------------------------------------------------------------------------------

    def page(self, command: str, page: int, page_size: int, **params: t.Any) -> dict[str, t.Any]:
        """One page of a list command.

        A server whose ``default.page.size`` is below the page asked for refuses it (431, ``BaseListCmd
        .getPageSize``) and says its limit: the client takes that limit for every later page and raises
        :class:`PageSizeLowered`, so that the caller reads again with pages the server accepts.
        """
        try:
            return self.call(command, page=page, pagesize=page_size, **params)
        except CloudStackError as exc:
            refused = _PAGE_SIZE_REFUSED.search(exc.errortext or "")
            allowed = int(refused.group(1)) if refused and exc.errorcode == 431 else 0
            if not 0 < allowed < page_size:
                raise
            self.page_size = min(self.page_size, allowed)
            raise PageSizeLowered(command, exc.status, exc.errortext, exc.errorcode, exc.cserrorcode) from None

    def list(self, command: str, key: str, **params: t.Any) -> list[dict[str, t.Any]]:
        """All items of a list command, read page by page; ``key`` is the item name (``router`` for listRouters)."""
        page_size = int(params.pop("pagesize", None) or self.page_size)
        items: list[dict[str, t.Any]] = []
        page = 1
        while True:
            try:
                inner = self.page(command, page, page_size, **params)
            except PageSizeLowered:
                items, page, page_size = [], 1, self.page_size
                continue
            chunk = inner.get(key) or []
            items.extend(chunk)
            total = inner.get("count")
            if not chunk or len(chunk) < page_size or (total is not None and len(items) >= int(total)):
                return items
            page += 1

    def submit(self, command: str, **params: t.Any) -> str:
        """Start an async command and return its job id; a mutation is never submitted twice.

        When the answer is lost, the job the attempt started is looked for (same command, same object, created
        after the attempt) over the settle window before anything is sent again; ``patchSystemVm``, whose job names
        no object, is settled by :meth:`settle_patch`.
        """
        instance = params.get("id") or params.get("routerid")
        settle: t.Callable[[Attempt], dict[str, t.Any] | None] | None = None
        if command in NO_JOB_INSTANCE:
            settle = self.settle_patch
        elif instance:

            def settle(attempt: Attempt) -> dict[str, t.Any] | None:
                job = self.await_job(command, instance, attempt)
                if job is None:
                    return None
                self.settled[job["jobid"]] = "the answer to %s was lost; its job %s was found in listAsyncJobs and followed" % (command, job["jobid"])
                return {"jobid": job["jobid"]}

        inner = self.call(command, _settle=settle, **params)
        jobid = inner.get("jobid")
        if not jobid:
            raise CloudStackError(command, 200, "the answer carries no jobid; is %s an async command on this server?" % command)
        return jobid

    def jobs_since(self, since: datetime.datetime, attempts: int | None = None) -> list[dict[str, t.Any]]:
        """Every async job visible to this key created on or after the day of ``since`` (one paged listAsyncJobs).

        The list may start earlier (see :func:`list_startdate`): callers keep the jobs created at or after ``since``.
        """
        return self.list("listAsyncJobs", "asyncjobs", _attempts=attempts, startdate=list_startdate(since), listall=True)

    def jobs_page(self, since: datetime.datetime, page: int, page_size: int, attempts: int | None = None) -> tuple[list[dict[str, t.Any]], int]:
        """One page of the jobs listed from the day of ``since``, and how many jobs that list holds.

        The server orders the list by the jobs' internal id, that is by creation (``QueryManagerImpl
        .searchForAsyncJobsInternal``: ``new Filter(AsyncJobJoinVO.class, "id", true, ...)``), and reads ``startdate``
        to the day only, so the newest jobs are on the last pages whatever the time of day.
        """
        inner = self.page("listAsyncJobs", page, page_size, _attempts=attempts, startdate=list_startdate(since), listall=True)
        return inner.get("asyncjobs") or [], int(inner.get("count") or 0)

    def find_jobs(self, command: str, instance_id: str | None, since: datetime.datetime) -> list[dict[str, t.Any]]:
        """Jobs of ``command`` (their ``cmd``) created at or after ``since`` (server time), on ``instance_id`` when given."""
        return [job for job in self.jobs_since(since) if job_matches(job, command, instance_id, since)]

    def await_job(self, command: str, instance_id: str | None, attempt: Attempt) -> dict[str, t.Any] | None:
        """The job a lost ``attempt`` started, looked for until the settle window after it was sent has passed.

        None only when a read of the job list made after the window found none (the attempt left no trace);
        :class:`UnknownOutcomeError` when the job list cannot be read.
        """
        found = self._jobs_in_window(command, instance_id, attempt, whole_window=False)
        return found[0] if found else None

    def _jobs_in_window(self, command: str, instance_id: str | None, attempt: Attempt, whole_window: bool) -> list[dict[str, t.Any]]:
        """Jobs matching a lost ``attempt``: the first found, or (``whole_window``) all those a read after the window sees."""
        job_command = JOB_COMMANDS.get(command, command)
        end = attempt.sent + self.settle_window
        pause = 0.25
        problem: CloudStackError | None = None
        while True:
            read_at = self._clock()
            try:
                found = self.find_jobs(job_command, instance_id, attempt.since)
            except CloudStackError as exc:
                problem = exc
            else:
                if (found and not whole_window) or read_at >= end:
                    return found
                problem = None
            now = self._clock()
            if problem is not None and now >= end + self.settle_window:
                raise UnknownOutcomeError(
                    command,
                    problem.status,
                    "the answer to %s was lost and the job list cannot be read (%s): the outcome is unknown; check listAsyncJobs and %s before running again"
                    % (command, problem.errortext, instance_id or "the object"),
                )
            self._sleep(pause if now >= end else min(pause, end - now))
            pause = min(pause * 2, 2.0)

    def settle_patch(self, attempt: Attempt, resent: bool = False) -> dict[str, t.Any] | None:
        """Settle a lost ``patchSystemVm`` answer without a job id (its job names no VM).

        No patchSystemVm job created after the attempt within the whole settle window: the attempt left no trace
        (None, the caller sends it again). Otherwise wait until those jobs end, read the VM again, and send
        ``patchSystemVm forced=false``, which answers "No change in the scripts checksum" when the first one
        worked: a forced patch is never sent twice.
        """
        vmid = attempt.params.get("id")
        # Other VMs' patches may run at the same time: only a read after the whole window tells that this attempt's
        # job, if any, is among the jobs found, so nothing is resent while it could still arrive.
        candidates = self._jobs_in_window("patchSystemVm", None, attempt, whole_window=True)
        if not candidates:
            return None
        first = candidates[0]
        what = "check listAsyncJobs (patchSystemVm) and the scripts of system VM %s before running again" % vmid
        end = self._clock() + self.submit_budget
        pause = 0.25
        while True:
            running = [job["jobid"] for job in self.find_jobs("patchSystemVm", None, attempt.since) if int(job.get("jobstatus", 0)) == 0]
            if not running:
                break
            if self._clock() >= end or resent:
                raise UnknownOutcomeError(
                    "patchSystemVm",
                    None,
                    "the answer to patchSystemVm was lost and job(s) %s started after it are still running: %s" % (", ".join(running), what),
                )
            self._sleep(pause)
            pause = min(pause * 2, 2.0)
        if resent:
            raise UnknownOutcomeError("patchSystemVm", None, "the answers to patchSystemVm and to its check with forced=false were both lost: %s" % what)
        vms = self.list("listSystemVms", "systemvm", id=vmid)
        if not vms or vms[0].get("state") != "Running":
            raise UnknownOutcomeError(
                "patchSystemVm",
                None,
                "the answer to patchSystemVm was lost and system VM %s is %s now: %s" % (vmid, vms[0].get("state") if vms else "gone", what),
            )
        check = dict(attempt.params, forced=False)
        inner = self.call("patchSystemVm", _settle=lambda again: self.settle_patch(again, resent=True), **check)
        if inner.get("jobid"):
            self.settled[inner["jobid"]] = (
                "the answer to patchSystemVm was lost (job %s started after it); system VM %s was read again (Running) and "
                "patchSystemVm was sent again with forced=false, which changes nothing when the first one worked" % (first["jobid"], vms[0].get("name", vmid))
            )
        return inner

    def query_job(self, jobid: str, attempts: int | None = None) -> dict[str, t.Any]:
        return self.call("queryAsyncJobResult", _attempts=attempts, jobid=jobid)

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


# A job's ``created`` has whole seconds and the server's Date header too: a job of the attempt is created at or after
# the attempt's server time minus this.
_CREATED_MARGIN = datetime.timedelta(seconds=2)


def job_command(job: t.Mapping[str, t.Any]) -> str:
    """The command of a listAsyncJobs entry: its ``cmd`` class name, lower case, without "cmd" (restartnetwork)."""
    name = str(job.get("cmd") or "").rsplit(".", 1)[-1].lower()
    return name[:-3] if name.endswith("cmd") else name


def job_matches(job: t.Mapping[str, t.Any], command: str, instance_id: str | None, since: datetime.datetime) -> bool:
    """Whether a listAsyncJobs entry is a job of ``command`` (by its ``cmd`` class) on ``instance_id``, created at or after ``since``."""
    if not str(job.get("cmd") or "").lower().endswith("cmd") or job_command(job) != command.lower():
        return False
    if instance_id is not None and job.get("jobinstanceid") != instance_id:
        return False
    created = parse_cs_time(job.get("created"))
    return created is not None and created >= since


def _header_date(headers: t.Mapping[str, str]) -> datetime.datetime | None:
    value = headers.get("Date") if headers else None
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    moment = _header_date({"Date": value})
    if moment is None:
        return None
    return max(0.0, (moment - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _inner(body: t.Any) -> t.Any:
    """The object inside ``{"<command>response": {...}}`` (CloudStack's envelope has exactly one key)."""
    if isinstance(body, dict) and len(body) == 1:
        return next(iter(body.values()))
    return body


def _refused(exc: Exception) -> bool:
    text = str(exc)
    return "Connection refused" in text or "Errno 111" in text or "NewConnectionError" in text
