# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The approved plan is the plan that runs: plan.yml publishes its digest, upgrade.yml with it runs exactly that plan, or
refuses before any change when the fleet or the settings changed during the approval (an AWX workflow's approval node)."""

from __future__ import annotations

from playbook_runner import ROUTER_COMMANDS, SYSTEMVM_COMMANDS, read_journal, read_plan, run_playbook

from ansible_collections.acs.upgrade.plugins.module_utils._approval import plan_digest
from test_upgrade_playbooks import extravars

MUTATING = ROUTER_COMMANDS | SYSTEMVM_COMMANDS | {"stopRouter", "startRouter"}


def approve(sim, tmp_path, output, **more) -> str:
    """The plan job of the workflow; returns the digest it published (AWX passes it on as an extra var)."""
    planned = run_playbook(sim, tmp_path, "plan.yml", extravars(output, **more))
    assert planned.rc == 0, planned.stdout[-3000:]
    digest = planned.stats["plan_approved_digest"]
    assert digest == plan_digest(read_plan(output)) and len(digest) == 64
    summary = planned.stats["acs_upgrade_plan"]
    assert summary["digest"] == digest and summary["state_dir"] == str(output)
    assert summary["counts"] == read_plan(output)["summary"] and any(line.startswith("batch") for line in summary["table_head"])
    assert "plan digest: %s" % digest in planned.stdout
    return digest


def mutations(sim) -> list[dict]:
    return [job for job in sim.jobs() if job["command"] in MUTATING]


def test_the_approved_plan_runs_exactly_its_batches(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    digest = approve(sim, tmp_path, output)
    approved = read_plan(output)
    assert not mutations(sim)

    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_approved_digest=digest))
    assert run.rc == 0, run.stdout[-3000:]
    # The plan it ran is the approved one (a new run stamp, the same content).
    assert plan_digest(read_plan(output)) == digest
    batch_of = {item["key"]: item.get("batch") for item in approved["items"] if item["path"] != "skip"}
    ends = read_journal(output)
    assert {entry["key"] for entry in ends} == set(batch_of)
    assert all(entry["batch"] == batch_of[entry["key"]] for entry in ends), ends
    ids = {key.split(":", 1)[1] for key in batch_of}
    acted = {job["instanceid"] for job in mutations(sim)}
    assert acted and acted <= ids | {router["id"] for router in sim.state()["routers"]}
    # The workflow's report job after a clean run succeeds.
    report = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output), "report_fail_unless_finished": True})
    assert report.rc == 0, report.stdout[-3000:]


def test_a_fleet_changed_during_the_approval_is_refused_before_any_change(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    digest = approve(sim, tmp_path, output)
    approved = (output / "plan.json").read_bytes()
    # What the plan job left in the state directory: a refused run leaves it byte for byte.
    kept = {name: (output / name).read_bytes() for name in ("plan.json", "plan.txt", "fleet.json", "preflight.json")}
    # While the approver reads the plan, someone stops the router of globex-zone2.
    network = next(item for item in sim.state()["networks"] if item["name"] == "globex-zone2")
    router = next(item for item in sim.state()["routers"] if item.get("guestnetworkid") == network["id"])
    sim.client("admin").run("stopRouter", id=router["id"])
    before = len(sim.jobs())

    refused = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_approved_digest=digest))
    assert refused.rc != 0
    assert "differs from the approved plan (digest %s)" % digest in refused.stdout, refused.stdout[-3000:]
    assert "target removed: network globex-zone2 (%s), was " % network["id"] in refused.stdout
    assert "nothing was changed" in refused.stdout
    assert sim.jobs()[before:] == []
    assert (output / "plan.json").read_bytes() == approved
    assert {name: (output / name).read_bytes() for name in kept} == kept
    assert not (output / "journal.jsonl").exists() or not read_journal(output)
    # The workflow's report job then fails, and so the workflow: AWX counts the upgrade's failure as handled by the
    # report that follows it whatever its end. It says why: the plan changed since its approval, plan and approve again.
    report = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output), "report_fail_unless_finished": True})
    assert report.rc != 0, report.stdout[-3000:]
    assert "the run's outcome is approval_refused: Refused at " in report.stdout, report.stdout[-3000:]
    assert "before any change: the plan changed since it was approved (approved digest %s)" % digest in report.stdout
    assert "target removed: network globex-zone2" in report.stdout
    assert "Make the plan again (the plan job) and have the new plan approved" in report.stdout
    assert "Nothing ran yet" not in report.stdout and "run the upgrade" not in report.stdout
    assert report.stats["acs_upgrade"]["outcome"] == "approval_refused"
    assert "the plan changed since it was approved" in (output / "report.html").read_text()
    assert {name: (output / name).read_bytes() for name in kept} == kept

    # Planned again (and approved), the refusal is history: the report of the new plan says nothing ran yet.
    approve(sim, tmp_path, output)
    assert not (output / "refused.json").exists()
    report = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output)})
    assert report.rc == 0 and report.stats["acs_upgrade"]["outcome"] == "not_started", report.stdout[-3000:]


def test_settings_changed_since_the_approval_are_refused_and_no_digest_plans_anew(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    digest = approve(sim, tmp_path, output)

    refused = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_batch_size="2", plan_approved_digest=digest))
    assert refused.rc != 0
    assert "setting batch_size: 3 -> 2" in refused.stdout, refused.stdout[-3000:]
    assert not mutations(sim)

    # A digest of another plan (one made since, or a typo) is refused too.
    other = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_approved_digest="0" * 64))
    assert other.rc != 0 and "is not the plan in %s/plan.json (digest %s)" % (output, digest) in other.stdout
    assert not mutations(sim)

    # Without a digest the run plans anew, as it always did.
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_batch_size="2"))
    assert run.rc == 0, run.stdout[-3000:]
    assert plan_digest(read_plan(output)) != digest and mutations(sim)
