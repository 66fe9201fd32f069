# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""upgrade.yml tells a webhook of its start, of each finished group and of its stop; a webhook that fails never fails it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from playbook_runner import read_plan, run_playbook
from test_upgrade_playbooks import extravars

TOKEN = "hook-token-7f3a9c"


class Receiver:
    """A webhook on 127.0.0.1 that records every POST and answers ``status``."""

    def __init__(self, status: int = 204):
        self.status = status
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hooks/SECRET-PATH-42" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        if self.server.fileno() < 0:
            return
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(status: int = 204) -> Receiver:
        made.append(Receiver(status))
        return made[-1]

    yield make
    for item in made:
        item.close()


def test_the_webhook_gets_start_each_group_and_stop_with_the_report_summary(acs_sim, tmp_path, receiver):
    sim = acs_sim(topology="small", time_factor=0.002)
    hook = receiver()
    output = tmp_path / "out"
    run = run_playbook(
        sim,
        tmp_path,
        "upgrade.yml",
        extravars(output, acs_upgrade_notify_url=hook.url, acs_upgrade_notify_token=TOKEN, acs_upgrade_notify_headers={"X-Region": "eu-west"}),
    )
    assert run.rc == 0, run.stdout[-3000:]
    events = [(message["body"]["event"], message["body"]["group"]) for message in hook.received]
    plan = read_plan(output)
    assert events == [("start", None)] + [("group", name) for name in dict.fromkeys(batch["group"] for batch in plan["batches"])] + [("stop", None)]
    assert all(message["headers"]["Authorization"] == "Bearer " + TOKEN and message["headers"]["X-Region"] == "eu-west" for message in hook.received)
    assert all(message["path"] == "/hooks/SECRET-PATH-42" for message in hook.received)
    start, stop = hook.received[0]["body"], hook.received[-1]["body"]
    # Each line names the state directory (in AWX, the region) first; after a group and at the stop, the counts so far.
    assert start["text"].startswith("[out] the upgrade of ") and start["summary"]["not_run"] > 0
    first_group = hook.received[1]["body"]
    # A finished group gives its own counts (never the run's "incomplete"), then the run's so far.
    group_done = first_group["group_summary"]["done"]
    assert group_done > 0 and first_group["text"].startswith("[out] %s is finished (%d done" % (first_group["group"], group_done)), first_group["text"]
    assert "; the run so far: " in first_group["text"] and "incomplete" not in first_group["text"]
    stats = run.stats["acs_upgrade"]
    assert hook.received[-1]["body"]["text"].startswith("[out] the upgrade ended — %s: %d done" % (stats["outcome"], stats["done"]))
    assert start["plan_digest"] == stop["plan_digest"] and stop["run"]["id"] == plan["run"]["id"]
    # The stop carries the summary the report's job stats show.
    report = run.stats["acs_upgrade"]
    assert {key: stop["summary"][key] for key in ("done", "failed", "not_run", "skipped", "outcome")} == {
        key: report[key] for key in ("done", "failed", "not_run", "skipped", "outcome")
    }
    assert stop["stop_reason"] is None and stop["summary"]["not_run"] == 0
    # Neither the token nor the URL (a webhook's path may be its secret) is in the job's output.
    events_text = json.dumps(run.events)
    assert TOKEN not in run.stdout and TOKEN not in events_text
    assert "SECRET-PATH-42" not in run.stdout and "SECRET-PATH-42" not in events_text


def test_a_failing_webhook_is_retried_a_bounded_number_of_times_and_never_fails_the_upgrade(acs_sim, tmp_path, receiver):
    sim = acs_sim(topology="small", time_factor=0.002)
    hook = receiver(status=503)
    output = tmp_path / "out"
    run = run_playbook(
        sim,
        tmp_path,
        "upgrade.yml",
        extravars(output, acs_upgrade_notify_url=hook.url, livepatch_notify_retries="1", acs_upgrade_notify_token=TOKEN),
    )
    assert run.rc == 0, run.stdout[-3000:]
    events = [message["body"]["event"] for message in hook.received]
    # Each message tried twice (one retry), none more.
    assert events[:2] == ["start", "start"] and events[-2:] == ["stop", "stop"] and len(events) % 2 == 0
    assert "the stop message to the webhook on 127.0.0.1 was not delivered (2 attempt(s) in " in run.stdout and ", last: HTTP 503" in run.stdout
    assert "the upgrade goes on" in run.stdout and TOKEN not in run.stdout
    assert run.stats["acs_upgrade"]["failed"] == 0 and run.stats["acs_upgrade"]["not_run"] == 0

    # A webhook that does not answer at all (nothing listens there): the upgrade still goes on.
    hook.close()
    again = run_playbook(sim, tmp_path, "upgrade.yml", extravars(tmp_path / "again", acs_upgrade_notify_url=hook.url, livepatch_notify_retries="0"))
    assert again.rc == 0, again.stdout[-3000:]
    assert "was not delivered (1 attempt(s)" in again.stdout


def test_the_module_takes_url_and_token_from_the_environment_an_awx_credential_sets(tmp_path, receiver):
    """Without url and token, upgrade_notify reads ACS_UPGRADE_NOTIFY_URL and ACS_UPGRADE_NOTIFY_TOKEN; neither is printed."""
    hook = receiver()
    env = dict(
        os.environ,
        ACS_UPGRADE_NOTIFY_URL=hook.url,
        ACS_UPGRADE_NOTIFY_TOKEN=TOKEN,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    )
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-m", "acs.upgrade.upgrade_notify", "-a", "event=start text=hello", "-vvv"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert [message["body"]["event"] for message in hook.received] == ["start"]
    assert hook.received[0]["headers"]["Authorization"] == "Bearer " + TOKEN
    assert TOKEN not in done.stdout + done.stderr and "SECRET-PATH-42" not in done.stdout + done.stderr


# The most a message may cost the upgrade with the default settings (livepatch_notify_deadline), and a generous margin
# for the task around it on a busy machine.
DEADLINE = 10
MARGIN = 4


def notify_tasks(run) -> list[dict]:
    """The upgrade_notify tasks of the job as AWX sees them: their event data, with the task's duration."""
    return [
        event["event_data"]
        for event in run.events
        if event.get("event") in ("runner_on_ok", "runner_on_failed") and event["event_data"].get("task_action") == "acs.upgrade.upgrade_notify"
    ]


def test_a_webhook_that_does_not_answer_costs_each_message_at_most_its_deadline(acs_sim, tmp_path):
    """A closed port (nothing listens: refused at once) and a port that takes the connection and never answers (a
    webhook behind a dead proxy, or a firewall that drops): each message costs the upgrade at most the deadline, where
    attempts of 10 s, three of them, and their waits cost 34 s."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes the connections; nothing ever reads or answers
    try:
        for name, port in (("closed", closed_port), ("silent", silent.getsockname()[1])):
            sim = acs_sim(topology="small", time_factor=0.002)  # a cloud to upgrade each time
            started = time.monotonic()
            run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(tmp_path / name, acs_upgrade_notify_url="http://127.0.0.1:%d/hook" % port))
            took = time.monotonic() - started
            assert run.rc == 0, run.stdout[-3000:]
            tasks = notify_tasks(run)
            events = [task["res"]["payload"]["event"] for task in tasks]
            assert events[0] == "start" and events[-1] == "stop" and "group" in events, (name, events, [task["duration"] for task in tasks])
            assert all(task["res"]["sent"] is False for task in tasks)
            durations = [task["duration"] for task in tasks]
            assert max(durations) <= DEADLINE + MARGIN, (name, durations)
            assert all(task["res"]["elapsed"] <= DEADLINE + 1 for task in tasks), (name, [task["res"]["elapsed"] for task in tasks])
            assert "was not delivered" in run.stdout and "the upgrade goes on" in run.stdout
            if name == "silent":
                # Each message used its deadline: the upgrade waited for it, no longer.
                assert min(durations) >= DEADLINE - 1, durations
                assert "deadline of 10.0 s has passed" in run.stdout or "timed out" in run.stdout
            assert took - sum(durations) >= 0
    finally:
        silent.close()
