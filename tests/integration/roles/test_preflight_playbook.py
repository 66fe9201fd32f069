# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The preflight in the playbooks: a blocker stops upgrade.yml before anything changes, an ignored one is recorded."""

from __future__ import annotations

import copy
import json

from acs_sim.topology import load
from playbook_runner import run_playbook
from test_upgrade_playbooks import extravars

# Commands that change the cloud: a blocked run sends none of them.
MUTATIONS = ("patchSystemVm", "restartNetwork", "restartVPC", "rebootRouter", "rebootSystemVm", "stopRouter", "startRouter", "destroyRouter",
             "destroySystemVm", "stopSystemVm", "startSystemVm", "upgradeRouterTemplate", "migrateSystemVm", "updateConfiguration")


def small_with_a_lagging_server() -> dict:
    topology = copy.deepcopy(load("small"))
    topology.setdefault("managementserver", {})["peers"] = [{"name": "ms-eu-2", "version": "4.17.2.0"}]
    return topology


def mutations(sim) -> list[str]:
    return [call["command"] for call in sim.calls() if call["command"] in MUTATIONS]


def test_a_blocker_stops_the_upgrade_before_anything_changes_and_an_ignored_one_is_recorded(acs_sim, tmp_path):
    sim = acs_sim(topology=small_with_a_lagging_server(), time_factor=0.002)
    output = tmp_path / "out"
    blocked = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert blocked.rc != 0
    assert "the preflight found 1 blocker(s); nothing was changed" in blocked.stdout and "4.17.2.0 on ms-eu-2" in blocked.stdout, blocked.stdout[-3000:]
    assert mutations(sim) == [] and sim.jobs() == []
    preflight = json.loads((output / "preflight.json").read_text())
    assert not preflight["passed"] and [item["check"] for item in preflight["blockers"]] == ["management_server_versions"]
    assert not (output / "plan.json").exists()
    assert blocked.stats["acs_upgrade_preflight"]["blocker"] == 1

    accepted = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, preflight_ignore="management_server_versions"))
    assert accepted.rc == 0, accepted.stdout[-3000:]
    assert sim.jobs(), "the accepted run upgraded nothing"
    report = json.loads((output / "report.json").read_text())
    assert report["preflight"]["passed"] and report["preflight"]["ignored_checks"] == ["management_server_versions"]
    assert "accepted by the operator (management_server_versions)" in (output / "report.html").read_text()
    assert "[blocker, ignored] management_server_versions" in (output / "plan.txt").read_text()


def test_an_unknown_check_id_to_ignore_is_an_error_and_changes_nothing(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, preflight_ignore="health_check"))
    assert run.rc != 0 and "unknown preflight check id(s) to ignore: health_check" in run.stdout
    assert mutations(sim) == []


def test_a_job_in_flight_on_a_router_blocks_and_plan_yml_shows_it_without_failing(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    router = sim.state()["routers"][0]
    sim.inject(kind="job_hang", api="rebootRouter", object=router["id"])
    sim.client("admin").call("rebootRouter", id=router["id"])
    output = tmp_path / "out"
    shown = run_playbook(sim, tmp_path, "plan.yml", extravars(output))
    assert shown.rc == 0, shown.stdout[-3000:]
    head = (output / "plan.txt").read_text().splitlines()[:3]
    assert head[0].startswith("Preflight: BLOCKED - 1 blocker(s)") and "jobs_in_flight" in head[1] and router["name"] in head[1]
    # The summary an approver reads carries the blocker, by its id with its finding.
    status = shown.stats["acs_upgrade_plan"]["preflight"]
    assert status["passed"] is False and [item["check"] for item in status["blockers"]] == ["jobs_in_flight"], status
    assert router["name"] in status["blockers"][0]["found"] and status["ignored"] == []
    # As the AWX plan job runs it: the plan is written, then the job fails naming the blocker and publishes no digest,
    # so the workflow stops before its approval.
    (output / "plan.txt").unlink()
    refused = run_playbook(sim, tmp_path, "plan.yml", extravars(output, plan_fail_on_blockers="true"))
    assert refused.rc != 0 and "the preflight found 1 blocker(s), so this plan is not offered for approval" in refused.stdout, refused.stdout[-3000:]
    assert "jobs_in_flight: " in refused.stdout and (output / "plan.txt").exists()
    assert "plan_approved_digest" not in refused.stats
    blocked = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output), check=True)
    assert blocked.rc != 0 and "jobs_in_flight" in blocked.stdout
    assert mutations(sim) == ["rebootRouter"]


def test_preflight_only_checks_and_stops(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    sim.client("admin").call("updateConfiguration", name="router.health.checks.enabled", value="false")
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, preflight_only="true"))
    assert run.rc == 0, run.stdout[-3000:]
    assert "[warning] health_checks: router.health.checks.enabled is false" in run.stdout
    assert "stopped after the preflight as preflight_only asked: 0 blocker(s), 1 warning(s); nothing was changed; results in %s" % (
        output / "preflight.json") in run.stdout, run.stdout[-3000:]
    assert mutations(sim) == ["updateConfiguration"] and not (output / "plan.json").exists()


def test_the_job_an_interrupted_attempt_left_in_flight_does_not_block_its_resumption(acs_sim, tmp_path):
    """The playbooks give the preflight their journal: a job it records as submitted is the run's own, which the resumed
    run follows; the same job unknown to the journal blocks."""
    sim = acs_sim(topology="small", time_factor=0.002)
    network = next(item for item in sim.state()["networks"] if item["name"] == "acme-web")
    sim.inject(kind="job_hang", api="restartNetwork", object=network["id"])
    jobid = sim.client("admin").call("restartNetwork", id=network["id"], livepatch=True)["jobid"]
    output = tmp_path / "out"
    blocked = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, preflight_only="true"))
    assert blocked.rc != 0 and "jobs_in_flight" in blocked.stdout
    (output / "journal.jsonl").write_text(json.dumps({"key": "network:%s" % network["id"], "status": "submitted", "jobid": jobid}) + "\n")
    resumed = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, preflight_only="true"))
    assert resumed.rc == 0, resumed.stdout[-3000:]
    preflight = json.loads((output / "preflight.json").read_text())
    assert preflight["passed"] and [item["severity"] for item in preflight["findings"] if item["check"] == "jobs_in_flight"] == ["info"]
    assert mutations(sim) == ["restartNetwork"]


def test_preflight_yml_checks_the_cloud_alone_and_fails_on_a_blocker_without_changing_anything(acs_sim, tmp_path):
    sim = acs_sim(topology=small_with_a_lagging_server(), time_factor=0.002)
    output = tmp_path / "out"
    blocked = run_playbook(sim, tmp_path, "preflight.yml", extravars(output))
    assert blocked.rc != 0 and "the preflight found 1 blocker(s); nothing was changed" in blocked.stdout, blocked.stdout[-3000:]
    assert "4.17.2.0 on ms-eu-2" in blocked.stdout and blocked.stats["acs_upgrade_preflight"]["blocker"] == 1
    assert not json.loads((output / "preflight.json").read_text())["passed"] and not (output / "plan.json").exists()
    accepted = run_playbook(sim, tmp_path, "preflight.yml", extravars(output, preflight_ignore="management_server_versions"))
    assert accepted.rc == 0, accepted.stdout[-3000:]
    assert "[blocker, ignored] management_server_versions" in accepted.stdout
    assert mutations(sim) == [] and sim.jobs() == []
