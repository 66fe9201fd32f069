# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The workflow's notifications as AWX renders them: the approval request carries the plan job's summary and digest."""

from __future__ import annotations

import json
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from jinja2.sandbox import ImmutableSandboxedEnvironment

from playbook_runner import run_playbook
from test_upgrade_playbooks import extravars

AWX = Path(__file__).resolve().parents[3] / "awx"


def messages() -> dict:
    """The messages as configure.yml hands them to awx.awx.notification_template: Ansible leaves them untemplated."""
    return DataLoader().load_from_file(str(AWX / "workflow.yml"))["acs_awx_notification_messages"]


def render(template: str, **context) -> str:
    # AWX renders notification messages in a Jinja sandbox with the job's fields (awx/main/models/notifications.py).
    return ImmutableSandboxedEnvironment().from_string(str(template)).render(**context)


def test_the_plan_jobs_success_message_carries_the_summary_and_the_digest(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    planned = run_playbook(sim, tmp_path, "plan.yml", extravars(tmp_path / "out"))
    assert planned.rc == 0, planned.stdout[-3000:]
    # AWX keeps a job's set_stats data as its artifacts.
    job = {"name": "acs.upgrade - plan (dry run)", "artifacts": planned.stats}
    digest = planned.stats["plan_approved_digest"]
    success = messages()["success"]
    text = render(success["message"], job=job, url="https://awx.example.com/#/jobs/playbook/7")
    assert digest in text and "batches" in text and "https://awx.example.com/#/jobs/playbook/7" in text
    body = json.loads(render(success["body"], job=job, url="u"))
    assert body["plan"]["digest"] == digest and body["plan"]["counts"]["total"] > 0 and body["plan"]["table_head"]


def test_the_approval_messages_use_what_awx_gives_an_approval():
    context = {"approval_node_name": "Approve the upgrade of eu-west", "workflow_url": "https://awx.example.com/#/jobs/workflow/3", "approval_status": "x"}
    for status, message in messages()["workflow_approval"].items():
        text = render(message["message"], **context)
        assert "Approve the upgrade of eu-west" in text and context["workflow_url"] in text, status


def test_the_upgrade_job_takes_the_webhook_from_its_credential_and_never_shows_the_url_or_the_token(acs_sim, tmp_path):
    """The webhook's URL and token reach the job as AWX injects a credential of the type "Upgrade webhook
    (acs.upgrade)": environment variables, no extra var. The upgrade tells the webhook, and neither the token nor the
    URL is in the job's output or events."""
    from test_awx_definitions import credential_env
    from test_notify_webhook import Receiver

    sim = acs_sim(topology="small", time_factor=0.002)
    hook = Receiver()
    try:
        token = "cred-token-5e8d1b"
        env, extra = credential_env({"url": hook.url, "token": token}, type_file="webhook_credential_type.yml")
        assert extra == {}
        variables = extravars(tmp_path / "out")
        assert not any("notify" in name for name in variables)
        run = run_playbook(sim, tmp_path, "upgrade.yml", variables, env=env)
        assert run.rc == 0, run.stdout[-3000:]
        events = [message["body"]["event"] for message in hook.received]
        assert events[0] == "start" and events[-1] == "stop" and "group" in events, events
        assert all(message["headers"]["Authorization"] == "Bearer " + token for message in hook.received)
        shown = run.stdout + json.dumps(run.events)
        assert token not in shown and "SECRET-PATH-42" not in shown
    finally:
        hook.close()
