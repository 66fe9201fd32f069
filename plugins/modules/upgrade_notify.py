#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: upgrade_notify
short_description: Tell a webhook how an upgrade run goes, never failing the run
version_added: 0.2.0
description:
  - POSTs a JSON message to O(url) - the O(event) (V(start), V(group) finished, V(stop)), the O(group), the state
    directory, the plan's digest and run, and the summary the report's job stats show (outcome, totals per outcome,
    per path, the first names of failed, unknown and recreated targets), read from O(plan_file) and O(journal).
  - Retries a failed delivery (connection error, timeout, HTTP 408, 429 or 5xx) at most O(retries) times, O(retry_delay)
    seconds apart, each attempt at most O(timeout) seconds, and the whole message - attempts and waits - within
    O(deadline) seconds, so that a webhook that does not answer slows the upgrade by at most that much per message.
  - A message that cannot be delivered is a warning, never a failure - the upgrade goes on - and the warning names
    only the webhook's host, as the URL itself may carry a secret (a Slack or Teams webhook does).
  - In check mode nothing is sent.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Every call sends a message.
options:
  url:
    description:
      - The webhook's URL (http or https); never printed.
      - Without it, the environment variable E(ACS_UPGRADE_NOTIFY_URL), which the AWX credential type
        C(Upgrade webhook (acs.upgrade)) (C(awx/webhook_credential_type.yml)) sets.
    type: str
    required: true
  event:
    description: What happened.
    type: str
    choices: [start, group, stop]
    required: true
  group:
    description: The group that finished (with O(event=group)).
    type: str
  text:
    description:
      - A line for people. The message's C(text) is this line after the name of the state directory in brackets (in AWX,
        the region, as in C([eu-west] zone2 is finished)); for O(event=group), the group's own counts follow it in
        parentheses, then the run's counts so far; for O(event=stop), the run's outcome and its counts.
    type: str
  stop_reason:
    description: Why the run stopped, with O(event=stop); empty when it finished.
    type: str
  plan_file:
    description: The plan of the run (C(plan.json)); without it (the run stopped before it planned) the message has no summary.
    type: path
  journal:
    description: The journal of the run, for the summary.
    type: path
  token:
    description:
      - Sent as C(Authorization Bearer) header; never printed.
      - Without it, the environment variable E(ACS_UPGRADE_NOTIFY_TOKEN) (set by the same AWX credential type).
    type: str
  headers:
    description: More HTTP headers (for example a signature or an API key); never printed.
    type: dict
    default: {}
  timeout:
    description:
      - Seconds one attempt may take (to connect, and then to each answer of the webhook); never more than what is left
        of O(deadline).
      - The default was 10 before 0.3.0.
    type: int
    default: 5
  retries:
    description: Attempts after the first one when it fails, as long as O(deadline) leaves time for them.
    type: int
    default: 2
  retry_delay:
    description:
      - Seconds between attempts.
      - The default was 2 before 0.3.0.
    type: float
    default: 1
  deadline:
    description:
      - Seconds the message may take in all, its attempts and the waits between them included; when they are over,
        no more attempt is made and the message is a warning.
    type: float
    default: 10
    version_added: 0.3.0
  validate_certs:
    description: Check the webhook's TLS certificate.
    type: bool
    default: true
seealso:
  - module: acs.upgrade.cs_upgrade_report
"""

EXAMPLES = r"""
- name: Tell the operations channel that zone-a is finished
  acs.upgrade.upgrade_notify:
    url: "{{ acs_upgrade_notify_url }}"
    token: "{{ acs_upgrade_notify_token }}"
    event: group
    group: zone-a
    plan_file: /var/lib/acs-upgrade/eu-west/plan.json
    journal: /var/lib/acs-upgrade/eu-west/journal.jsonl

- name: The same, the URL and token taken from ACS_UPGRADE_NOTIFY_URL and ACS_UPGRADE_NOTIFY_TOKEN (an AWX credential)
  acs.upgrade.upgrade_notify:
    event: group
    group: zone-a
    plan_file: /var/lib/acs-upgrade/eu-west/plan.json
    journal: /var/lib/acs-upgrade/eu-west/journal.jsonl
"""

RETURN = r"""
sent:
  description: Whether the webhook took the message (an HTTP 2xx answer).
  returned: always
  type: bool
attempts:
  description: How many times the message was sent.
  returned: always
  type: int
elapsed:
  description: Seconds the delivery took, its attempts and waits included (at most about O(deadline)).
  returned: always
  type: float
  version_added: 0.3.0
payload:
  description:
    - The message sent (or, in check mode, that would be sent). With O(event=group), C(group_summary) holds the
      group's own totals per outcome (added in 0.3.0).
  returned: always
  type: dict
"""

import json
import os
import time
import typing as t
import urllib.parse
from urllib.error import HTTPError

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.urls import open_url

from ansible_collections.acs.upgrade.plugins.module_utils._approval import plan_digest
from ansible_collections.acs.upgrade.plugins.module_utils._state import EngineError, Journal, load_plan
from ansible_collections.acs.upgrade.plugins.module_utils._report import build_report, stats

# Answers worth another attempt; any other 4xx will not change by resending.
RETRIED_STATUS = frozenset((408, 429))


# The counts a message shows, in this order, when not zero.
COUNTS = (
    ("done", "done"),
    ("recreated", "recreated"),
    ("failed", "failed"),
    ("refused", "refused by the server"),
    ("unknown", "unknown"),
    ("not_run", "not run"),
)


def run_summary(
    plan_file: str | None, journal: str | None, stop_reason: str | None, group: str | None = None
) -> tuple[dict[str, t.Any] | None, str | None]:
    """The plan's digest and run, and the report's stats of the run (with ``group``, its own counts too); (None, why)
    when they cannot be read."""
    if not plan_file or not os.path.isfile(plan_file):
        return None, "no plan yet"
    try:
        plan = load_plan(plan_file)
        entries = Journal(journal).entries() if journal else []
    except (EngineError, OSError) as exc:
        return None, "the summary cannot be read: %s" % exc
    report = build_report(plan, entries, stop_reason=stop_reason or None)
    found = {"plan_digest": plan_digest(plan), "run": plan.get("run"), "summary": stats(report)}
    if group is not None:
        found["group_summary"] = next((dict(each["totals"]) for each in report["groups"] if each["name"] == group), None)
    return found, None


def _counts(summary: dict[str, t.Any]) -> str:
    return ", ".join("%d %s" % (summary[name], label) for name, label in COUNTS if summary.get(name))


def headline(payload: dict[str, t.Any]) -> str:
    """The message's line for people on a shared channel: which state directory (in AWX, the region) it is about, what
    happened, and after a group or at the stop the run's outcome and counts so far."""
    where = os.path.basename(payload["state_dir"] or "") or "acs.upgrade"
    text = "[%s] %s" % (where, payload["text"] or payload["event"])
    summary = payload.get("summary")
    if summary and payload["event"] == "group":
        # The group's own counts first: the run's outcome (incomplete while groups are left) is not the group's.
        group = payload.get("group_summary")
        if group is not None:
            text += " (%s)" % (_counts(group) or "nothing to do")
        text += "; the run so far: %s" % (_counts(summary) or "nothing done")
    elif summary and payload["event"] == "stop":
        counts = _counts(summary)
        text += " — %s%s" % (summary["outcome"], ": " + counts if counts else "")
    return text


def post(module: AnsibleModule, payload: dict[str, t.Any]) -> tuple[bool, int, str]:
    """Deliver ``payload`` within the deadline: whether it was taken, the attempts made, and the last error."""
    params = module.params
    headers = {"Content-Type": "application/json"}
    headers.update({str(name): str(value) for name, value in params["headers"].items()})
    if params["token"]:
        headers["Authorization"] = "Bearer %s" % params["token"]
    body = json.dumps(payload).encode("utf-8")
    ends = time.monotonic() + params["deadline"]
    error = ""
    attempts = 0
    for attempt in range(1, params["retries"] + 2):
        left = ends - time.monotonic()
        if left <= 0:
            break
        attempts = attempt
        try:
            # One timeout bounds the connection and each read of the answer: never past the deadline.
            answer = open_url(
                params["url"], data=body, headers=headers, method="POST", timeout=min(params["timeout"], left), validate_certs=params["validate_certs"]
            )
            answer.read()
            return True, attempt, ""
        except HTTPError as exc:
            error = "HTTP %s %s" % (exc.code, exc.reason)
            if exc.code < 500 and exc.code not in RETRIED_STATUS:
                return False, attempt, error
        except Exception as exc:  # any failure to deliver is a warning: the upgrade never fails on it
            error = "%s: %s" % (type(exc).__name__, exc)
        if attempt <= params["retries"]:
            wait = min(params["retry_delay"], ends - time.monotonic())
            if wait <= 0:
                break
            time.sleep(wait)
    if time.monotonic() >= ends and attempts < params["retries"] + 1:
        error += "; no more attempts: the message's deadline of %s s has passed" % params["deadline"]
    return False, attempts, error


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True, "no_log": True, "fallback": (env_fallback, ["ACS_UPGRADE_NOTIFY_URL"])},
            "event": {"type": "str", "required": True, "choices": ["start", "group", "stop"]},
            "group": {"type": "str"},
            "text": {"type": "str"},
            "stop_reason": {"type": "str"},
            "plan_file": {"type": "path"},
            "journal": {"type": "path"},
            "token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["ACS_UPGRADE_NOTIFY_TOKEN"])},
            "headers": {"type": "dict", "default": {}, "no_log": True},
            "timeout": {"type": "int", "default": 5},
            "retries": {"type": "int", "default": 2},
            "retry_delay": {"type": "float", "default": 1},
            "deadline": {"type": "float", "default": 10},
            "validate_certs": {"type": "bool", "default": True},
        },
        required_if=[("event", "group", ("group",))],
        supports_check_mode=True,
    )
    params = module.params
    scheme_host = urllib.parse.urlsplit(params["url"])
    if scheme_host.scheme not in ("http", "https") or not scheme_host.hostname:
        module.fail_json(msg="url must be an http or https URL of the webhook")
    for name, low in (("timeout", 1), ("retries", 0), ("retry_delay", 0), ("deadline", 1)):
        if params[name] < low:
            module.fail_json(msg="%s must be %d or more, got %s" % (name, low, params[name]))
    payload: dict[str, t.Any] = {
        "event": params["event"],
        "group": params["group"],
        "text": params["text"] or "",
        "stop_reason": params["stop_reason"] or None,
        "state_dir": os.path.dirname(params["plan_file"] or params["journal"] or "") or None,
    }
    found, why = run_summary(params["plan_file"], params["journal"], params["stop_reason"], params["group"] if params["event"] == "group" else None)
    payload.update(found or {"plan_digest": None, "run": None, "summary": None, "summary_missing": why})
    payload["text"] = headline(payload)
    if module.check_mode:
        module.exit_json(changed=False, sent=False, attempts=0, elapsed=0.0, payload=payload)
    started = time.monotonic()
    sent, attempts, error = post(module, payload)
    elapsed = round(time.monotonic() - started, 3)
    if not sent:
        module.warn(
            "the %s message to the webhook on %s was not delivered (%d attempt(s) in %.1f s, last: %s); the upgrade goes on"
            % (params["event"], scheme_host.hostname, attempts, elapsed, error)
        )
    module.exit_json(changed=False, sent=sent, attempts=attempts, elapsed=elapsed, payload=payload)


if __name__ == "__main__":
    main()
