# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Run-time fault injection: what can go wrong on a management server, on demand.

A fault is a dict:
  kind         job_failure | job_cancel | job_hang | http_error | connection_reset | slow | health_check_failure |
               livepatch_noop | livepatch_failure | clock_skew | livepatch_breaks_health
  api          API name it applies to (optional: any API)
  object       id or name of the object it applies to (router, system VM, network, VPC; optional: any)
  probability  0..1 (default 1)
  count        how many times it fires before it is spent (default: unlimited)
  status       http_error: HTTP status (500, 503, 429, 530 ...; default 500)
  errorcode    job_failure: jobresult errorcode (default 530)
  errortext    job_failure / job_cancel / http_error / livepatch_failure: the text to report
  delay        slow: seconds (wall clock, not scaled) before the request is handled, so a job it starts is
               registered that late (a management server slow to take requests)
  checks       health_check_failure, livepatch_breaks_health: check names to fail (default ["dns"])
  when         http_error / connection_reset: "before" (default) the server handles the request, so it never acts;
               "after" it handled it, so the action happened (a job started) and only the answer is lost
  retry_after  http_error: the Retry-After header (seconds) sent with the error
  offset       clock_skew: seconds the server's clock is ahead (negative: behind) of the real time, in its Date
               header, in the expiry check of signed requests and in the created time of jobs; it stays until cleared
"""
from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable
from typing import Any

KINDS = frozenset({"job_failure", "job_cancel", "job_hang", "http_error", "connection_reset", "slow", "health_check_failure",
                   "livepatch_noop", "livepatch_failure", "clock_skew", "livepatch_breaks_health"})
_FIELDS = frozenset({"kind", "api", "object", "probability", "count", "status", "errorcode", "errortext", "delay", "checks", "id", "when",
                     "retry_after", "offset"})


class FaultError(ValueError):
    pass


def validate(spec: dict[str, Any]) -> dict[str, Any]:
    unknown = set(spec) - _FIELDS
    if unknown:
        raise FaultError(f"unknown fault field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultError(f"fault kind {kind!r} is not one of {sorted(KINDS)}")
    fault = dict(spec)
    fault["probability"] = float(fault.get("probability", 1.0))
    if not 0.0 <= fault["probability"] <= 1.0:
        raise FaultError("fault probability must be between 0 and 1")
    if fault.get("count") is not None:
        fault["count"] = int(fault["count"])
        if fault["count"] < 1:
            raise FaultError("fault count must be at least 1 (omit it for a fault that never runs out)")
    if kind == "http_error":
        fault["status"] = int(fault.get("status", 500))
    if kind == "slow":
        fault["delay"] = float(fault.get("delay", 5.0))
    if kind in ("http_error", "connection_reset"):
        fault["when"] = fault.get("when", "before")
        if fault["when"] not in ("before", "after"):
            raise FaultError("fault when must be 'before' (the server never acts) or 'after' (it acts, the answer is lost)")
    elif "when" in fault:
        raise FaultError("fault when applies to http_error and connection_reset only")
    if fault.get("retry_after") is not None:
        fault["retry_after"] = int(fault["retry_after"])
    if kind == "clock_skew":
        fault["offset"] = float(fault.get("offset", 0.0))
    if kind in ("health_check_failure", "livepatch_breaks_health"):
        checks = fault.get("checks", ["dns"])
        fault["checks"] = [checks] if isinstance(checks, str) else list(checks)
    fault.setdefault("id", str(uuid.uuid4()))
    fault["fired"] = 0
    return fault


class FaultBook:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[dict[str, Any]] = []
        self._random = random.Random(seed)

    def add(self, fault: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._faults.append(fault)
        return dict(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def take(self, kinds: Iterable[str], api: str | None, objects: set[str]) -> dict[str, Any] | None:
        """The first fault of `kinds` that matches and fires (probability, count), consuming one count."""
        kinds = set(kinds)
        with self._lock:
            for fault in self._faults:
                if fault["kind"] not in kinds or not self._matches(fault, api, objects):
                    continue
                if self._random.random() >= fault["probability"]:
                    continue
                fault["fired"] += 1
                if fault.get("count") is not None:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self._faults.remove(fault)
                return dict(fault)
        return None

    def clock_offset(self) -> float:
        """Seconds the server's clock is off (the clock_skew faults in force)."""
        with self._lock:
            return sum(f["offset"] for f in self._faults if f["kind"] == "clock_skew")

    def peek(self, kind: str, objects: set[str]) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults if f["kind"] == kind and self._matches(f, None, objects)]

    @staticmethod
    def _matches(fault: dict[str, Any], api: str | None, objects: set[str]) -> bool:
        if fault.get("api") and api is not None and fault["api"].lower() != api.lower():
            return False
        target = fault.get("object")
        return not target or target in objects
