# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The workflow's notifications as AWX renders them: the approval request carries the plan job's summary and digest."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from jinja2 import ChainableUndefined, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from playbook_runner import run_playbook
from test_upgrade_playbooks import extravars

AWX = Path(__file__).resolve().parents[3] / "awx"


def messages() -> dict:
    """The messages as configure.yml hands them to awx.awx.notification_template: Ansible leaves them untemplated."""
    return DataLoader().load_from_file(str(AWX / "workflow.yml"))["acs_awx_notification_messages"]


def render(template: str, undefined=ChainableUndefined, **context) -> str:
    # AWX renders notification messages in a Jinja sandbox with the job's fields and ChainableUndefined
    # (awx/main/models/notifications.py build_notification_message); it checks them on save with StrictUndefined.
    return ImmutableSandboxedEnvironment(undefined=undefined).from_string(str(template)).render(**context)


def test_the_plan_jobs_success_asks_for_the_approval_and_the_workflows_success_says_the_upgrade_finished(acs_sim, tmp_path):
    """One notification template hears both successes: the plan job's (a plan waits for approval: its summary and
    digest) and the workflow's (the upgrade is finished). Each has its own message."""
    sim = acs_sim(topology="small", time_factor=0.002)
    planned = run_playbook(sim, tmp_path, "plan.yml", extravars(tmp_path / "out"))
    assert planned.rc == 0, planned.stdout[-3000:]
    # AWX keeps a job's set_stats data as its artifacts.
    job = {"name": "acs.upgrade - plan (dry run)", "artifacts": planned.stats, "status": "successful"}
    digest = planned.stats["plan_approved_digest"]
    counts = planned.stats["acs_upgrade_plan"]["counts"]
    success = messages()["success"]
    plan_text = render(success["message"], job=job, job_friendly_name="Job", url="https://awx.example.com/#/jobs/playbook/7")
    assert "a plan is ready for approval, digest %s: %d target(s), %d live patch" % (digest, counts["total"], counts["livepatch"]) in plan_text
    assert "batch(es)" in plan_text and str(tmp_path / "out") in plan_text and plan_text.endswith("https://awx.example.com/#/jobs/playbook/7")
    preflight = planned.stats["acs_upgrade_plan"]["preflight"]
    assert preflight["passed"] is True and "preflight passed, %d warning(s), accepted: none;" % preflight["warnings"] in plan_text, plan_text
    # A plan job run without plan_fail_on_blockers publishes a blocked preflight: the approver reads it in the request.
    blocked = copy.deepcopy(job)
    blocked["artifacts"]["acs_upgrade_plan"]["preflight"] = {
        "passed": False,
        "blockers": [{"check": "jobs_in_flight", "found": "1 job(s) in flight on r-7-VM"}],
        "warnings": 2,
        "ignored": ["health_checks"],
    }
    blocked_text = render(success["message"], job=blocked, job_friendly_name="Job", url="u")
    assert "preflight BLOCKED by jobs_in_flight (1 job(s) in flight on r-7-VM), 2 warning(s), accepted: health_checks;" in blocked_text, blocked_text
    body = json.loads(render(success["body"], job=job, job_friendly_name="Job", url="u"))
    assert body["event"] == "plan_ready_for_approval" and body["plan"]["digest"] == digest
    assert body["plan"]["counts"]["total"] > 0 and body["plan"]["table_head"]

    # The workflow job: AWX gives it no artifacts; its success means every region's upgrade ran and was reported finished.
    workflow = {"name": "acs.upgrade - regions", "status": "successful"}
    url = "https://awx.example.com/#/jobs/workflow/3"
    workflow_text = render(success["message"], job=workflow, job_friendly_name="Workflow Job", url=url, undefined=StrictUndefined)
    assert workflow_text.startswith("acs.upgrade - regions: the upgrade is finished") and workflow_text.endswith(url)
    assert "approv" not in workflow_text.replace("the approved plan ran", "") and digest not in workflow_text
    assert json.loads(render(success["body"], job=workflow, job_friendly_name="Workflow Job", url=url, undefined=StrictUndefined)) == {
        "event": "upgrade_finished",
        "workflow": "acs.upgrade - regions",
        "url": url,
    }


def test_every_message_passes_the_check_awx_makes_when_a_notification_template_is_saved():
    """awx/api/serializers.py NotificationTemplateSerializer.validate_messages: a message has no newline and renders
    with JobNotificationMixin.context_stub() (a job with empty artifacts) where an undefined name is an error; a
    webhook body renders too (here: to a JSON object)."""
    stub = {
        "job": {"id": 42, "name": "Stub JobTemplate", "status": "running", "artifacts": {}, "failed": False, "type": "job", "url": "/api/v2/jobs/13/"},
        "job_friendly_name": "Job",
        "url": "https://platformhost/#/jobs/playbook/1010",
        "approval_status": "approved",
        "approval_node_name": "Approve Me",
        "workflow_url": "https://platformhost/#/jobs/workflow/1010",
        "job_metadata": "{}",
    }

    def checked(event: str, texts: dict) -> None:
        for kind, text in texts.items():
            assert kind in ("message", "body"), (event, kind)
            if kind == "message":
                assert "\n" not in str(text), event
            rendered = render(text, undefined=StrictUndefined, **stub)
            if kind == "body":
                assert isinstance(json.loads(rendered), dict), (event, rendered)

    for event, texts in messages().items():
        assert event in ("started", "success", "error", "workflow_approval")
        if event == "workflow_approval":
            for status, subtexts in texts.items():
                assert status in ("running", "approved", "timed_out", "denied")
                checked("%s.%s" % (event, status), subtexts)
        else:
            checked(event, texts)


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
