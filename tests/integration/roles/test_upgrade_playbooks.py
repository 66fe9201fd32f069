# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The upgrade playbooks as an AWX job runs them (ansible-runner, extra vars as strings), checked on what the simulator saw."""

from __future__ import annotations

import datetime
import json

from playbook_runner import ROUTER_COMMANDS, SYSTEMVM_COMMANDS, read_journal, read_plan, run_playbook, wait_until_lock_owner_ended, zone_of

FAILING_NETWORK = "acme-web"


def extravars(output, **more):
    # AWX hands survey answers and extra vars over as strings: the roles must cast them.
    base = {
        "acs_upgrade_dir": str(output),
        "plan_batch_size": "3",
        "plan_canary_size": "1",
        "livepatch_parallel": "2",
        "legacy_recreate_parallel": "2",
        "livepatch_poll_interval": "1",
        "legacy_recreate_poll_interval": "1",
        "livepatch_health_gate": "false",
        "legacy_recreate_health_gate": "false",
    }
    base.update(more)
    return base


def test_full_upgrade_in_order_with_canary_limits_fallback_then_nothing_to_do(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    sim.inject(kind="livepatch_failure", object=FAILING_NETWORK, errortext="patch script exited 1: haproxy failed to restart")
    zones = zone_of(sim)
    names = {item["name"]: item["id"] for kind in ("networks", "vpcs") for item in sim.state()[kind]}
    output = tmp_path / "out"

    run = run_playbook(
        sim, tmp_path, "upgrade.yml", extravars(output, plan_order="zone2,zone1", livepatch_health_gate="true", legacy_recreate_health_gate="true")
    )
    assert run.rc == 0, run.stdout[-3000:]
    jobs = sorted(sim.jobs(), key=lambda job: job["start"])
    router_jobs = [job for job in jobs if job["command"] in ROUTER_COMMANDS]
    assert router_jobs and all(job["instanceid"] in zones for job in router_jobs)

    # Groups in the asked order: every router job of zone2 starts before the first of zone1.
    router_zones = [zones[job["instanceid"]] for job in router_jobs]
    assert router_zones == sorted(router_zones, key=["zone2", "zone1"].index), router_zones

    # The canary batch runs first and alone.
    plan = read_plan(output)
    canary = [batch for batch in plan["batches"] if batch["canary"]]
    assert len(canary) == 1
    canary_ids = {key.split(":", 1)[1] for key in canary[0]["items"]}
    assert router_jobs[0]["instanceid"] in canary_ids
    canary_end = max(job["end"] for job in router_jobs if job["instanceid"] in canary_ids)
    assert all(job["start"] >= canary_end for job in router_jobs if job["instanceid"] not in canary_ids)

    # Never more jobs in flight than asked for.
    assert sim.max_jobs_in_flight() <= 2

    # A zone's SSVM and CPVM are done before its routers are touched.
    for zone in ("zone1", "zone2"):
        systemvm_end = max(job["end"] for job in jobs if job["command"] in SYSTEMVM_COMMANDS and zones.get(job["instanceid"]) == zone)
        first_router = min(job["start"] for job in router_jobs if zones[job["instanceid"]] == zone)
        assert systemvm_end <= first_router, zone

    # The failed live patch (NetworkOrchestrator.restartNetwork skips the router, which keeps its old scripts on a 4.14
    # template; the rules sent next are refused by NetworkHelperImpl.checkRouterVersion, so the job fails with 530) ends
    # "refused" (by the server) and was recreated with a cleanup restart in the same run.
    failing = [job for job in jobs if job["instanceid"] == names[FAILING_NETWORK]]
    assert [(job["params"].get("livepatch"), job["params"].get("cleanup"), job["jobstatus"]) for job in failing] == [("true", "false", 2), (None, "true", 1)]
    assert failing[1]["queued"] >= failing[0]["end"], "the recreate waited for the live patch job to end"
    journal = read_journal(output)
    assert [(entry["path"], entry["status"]) for entry in journal if entry["name"] == FAILING_NETWORK] == [("livepatch", "refused"), ("legacy", "done")]
    assert not [router for router in sim.state()["routers"] if router["refused"]]
    # Health was judged before and after every network and VPC, and journalled.
    judged = [entry for entry in journal if entry["key"].startswith(("network:", "vpc:")) and entry["status"] == "done"]
    assert judged and all(entry["health_before"] == entry["health_after"] == "passed" for entry in judged)
    # The VPC without tiers went the legacy way, as the plan said.
    vpc_jobs = [job for job in jobs if job["instanceid"] == names["globex-vpc-empty"]]
    assert [job["params"].get("cleanup") for job in vpc_jobs] == ["true"]

    # The report and the job stats.
    html = (output / "report.html").read_text()
    assert "<html" in html and FAILING_NETWORK in html and sim.admin_secret not in html
    assert sim.admin_secret not in run.stdout
    assert run.stats["acs_upgrade"]["failed"] == 0 and run.stats["acs_upgrade"]["not_run"] == 0

    # A second full run finds nothing left to do.
    before = len(sim.jobs())
    again = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert again.rc == 0, again.stdout[-3000:]
    assert len(sim.jobs()) == before
    assert again.changed == 0


def test_a_region_with_nothing_to_upgrade_finishes_and_its_plan_alone_has_not_started(acs_sim, tmp_path):
    """An upgrade run on a cloud already current (a fresh state directory: no journal) is finished, nothing to upgrade,
    and passes the AWX workflow's report node; the plan job alone (a dry run) still says that nothing ran yet."""
    sim = acs_sim(topology="small", time_factor=0.002)
    assert run_playbook(sim, tmp_path, "upgrade.yml", extravars(tmp_path / "first")).rc == 0
    output = tmp_path / "current"
    planned = run_playbook(sim, tmp_path, "plan.yml", extravars(output))
    assert planned.rc == 0, planned.stdout[-3000:]
    assert {item["path"] for item in read_plan(output)["items"]} == {"skip"}
    dry = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output)})
    assert dry.rc == 0 and dry.stats["acs_upgrade"]["outcome"] == "not_started", dry.stdout[-3000:]
    assert "Nothing ran yet" in (output / "report.md").read_text()

    before = len(sim.jobs())
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output))
    assert run.rc == 0, run.stdout[-3000:]
    assert len(sim.jobs()) == before and not read_journal(output)
    assert run.stats["acs_upgrade"]["outcome"] == "finished", run.stats
    report = run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output), "report_fail_unless_finished": True})
    assert report.rc == 0, report.stdout[-3000:]
    assert report.stats["acs_upgrade"]["outcome"] == "finished"
    markdown = (output / "report.md").read_text()
    assert "Finished: nothing to upgrade" in markdown and "Nothing ran yet" not in markdown


def test_check_mode_changes_nothing(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output), check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert sim.jobs() == []
    assert not read_journal(output)
    # The dry run still shows and writes the plan, in dry-run/ of the state directory.
    assert "canary" in (output / "dry-run" / "plan.txt").read_text()
    assert "acme-vpc" in run.stdout
    assert not (output / "plan.json").exists() and not (output / "fleet.json").exists()


def test_a_dry_run_after_an_interrupted_run_leaves_its_state_as_it_was(acs_sim, tmp_path):
    """--check after a run that stopped half way shows what the resumed run would do and changes none of the files the
    resumed run reads (plan, fleet, journal, reports): the resumed run is the interrupted run's second attempt."""
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    first = run_playbook(
        sim,
        tmp_path,
        "upgrade.yml",
        extravars(output, plan_batch_size="1"),
        cancel=lambda: sum(entry["status"] == "done" for entry in read_journal(output)) >= 3,
    )
    assert first.status == "canceled"
    wait_until_lock_owner_ended(output)
    jobs = len(sim.jobs())
    before = {str(path.relative_to(output)): path.read_bytes() for path in output.rglob("*") if path.is_file() and "async" not in path.parts}
    checked = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_batch_size="1"), check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    after = {str(path.relative_to(output)): path.read_bytes() for path in output.rglob("*") if path.is_file() and "async" not in path.parts}
    assert {name: data for name, data in after.items() if not name.startswith("dry-run/")} == before
    assert len(sim.jobs()) == jobs
    dry = json.loads((output / "dry-run" / "plan.json").read_text())
    assert dry["run"]["id"] == read_plan(output)["run"]["id"] and dry["run"]["attempt"] == 2


def test_interrupted_run_resumes_without_repeating_finished_work(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"

    def three_done():
        return sum(entry["status"] == "done" for entry in read_journal(output)) >= 3

    first = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_batch_size="1"), cancel=three_done)
    assert first.status == "canceled"
    # The cancelled playbook's module ends a moment after ansible-runner returns; the next run starts after it, as
    # the next job of a workflow does.
    wait_until_lock_owner_ended(output)
    finished = {entry["key"].split(":", 1)[1] for entry in read_journal(output) if entry["status"] == "done"}
    assert finished
    interrupted_at = len(sim.jobs())

    resumed = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_batch_size="1"))
    assert resumed.rc == 0, resumed.stdout[-3000:]
    repeated = [job for job in sim.jobs()[interrupted_at:] if job["instanceid"] in finished]
    assert repeated == []
    plan = read_plan(output)
    assert {item["key"] for item in plan["items"] if item["path"] != "skip"} <= {entry["key"] for entry in read_journal(output) if entry["status"] == "done"}
    assert resumed.stats["acs_upgrade"]["not_run"] == 0


def test_maintenance_windows_wait_or_skip(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    zones = zone_of(sim)
    output = tmp_path / "out"
    now = datetime.datetime.now(datetime.timezone.utc)
    opens = now + datetime.timedelta(seconds=20)
    windows = {
        "zone1": {"start": opens.isoformat(), "end": (opens + datetime.timedelta(hours=1)).isoformat()},
        "zone2": {"start": (now - datetime.timedelta(days=2)).isoformat(), "end": (now - datetime.timedelta(days=1)).isoformat()},
    }
    run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_windows=json.dumps(windows), plan_outside_window="wait"))
    assert run.rc == 0, run.stdout[-3000:]
    jobs = sim.jobs()
    assert jobs, "zone1 was upgraded once its window opened"
    assert all(zones.get(job["instanceid"]) == "zone1" for job in jobs), "zone2's window is over: nothing of it may be touched"
    assert min(job["start"] for job in jobs) >= opens.timestamp()
    assert "outside its maintenance window" in run.stdout
    assert run.stats["acs_upgrade"]["not_run"] > 0


def test_plan_playbook_is_a_dry_run(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    run = run_playbook(sim, tmp_path, "plan.yml", {"acs_upgrade_dir": str(output), "plan_group_by": "account", "plan_order": "ROOT/customers/globex"})
    assert run.rc == 0, run.stdout[-3000:]
    assert sim.jobs() == []
    plan = read_plan(output)
    router_groups = [batch["group"] for batch in plan["batches"] if batch["stage"] != "systemvms"]
    assert router_groups[0] == "ROOT/customers/globex"
    assert "globex-vpc-empty" in run.stdout and "no tiers" in run.stdout


def test_health_playbook_fails_on_a_failing_router(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    # The version check fails on every router before the upgrade: that is what the upgrade is for.
    asked = {"acs_upgrade_dir": str(tmp_path / "out"), "health_zone": "zone1", "health_ignore": "router_version_check.py"}
    healthy = run_playbook(sim, tmp_path, "health.yml", asked)
    assert healthy.rc == 0, healthy.stdout[-3000:]
    # The task carries the counts; every router's checks are in the file.
    written = json.loads((tmp_path / "out" / "health.json").read_text())
    zone1 = sorted(router["name"] for router in sim.state()["routers"] if router["zonename"] == "zone1" and router["state"] == "Running")
    assert sorted(router["name"] for router in written["routers"]) == zone1 and written["summary"]["routers"] == len(zone1)
    network = next(network["id"] for network in sim.state()["networks"] if network["name"] == "acme-web")
    router = next(router["name"] for router in sim.state()["routers"] if router.get("guestnetworkid") == network)
    sim.inject(kind="health_check_failure", object=router, checks=["dns_check.py"])
    failing = run_playbook(sim, tmp_path, "health.yml", asked)
    assert failing.rc != 0
    assert "Routers failing their health checks" in failing.stdout and router in failing.stdout and "dns_check.py" in failing.stdout
    assert "all results in %s" % (tmp_path / "out" / "health.json") in failing.stdout
    assert sim.jobs() == []


def test_what_plan_exclude_leaves_out_never_needs_attention(acs_sim, tmp_path):
    """On the sample cloud, the networks of the zones left out are not targeted: the plan says why, and the report
    neither lists them as needing a hand nor advises restarting them."""
    sim = acs_sim(topology="sample-cloud", time_factor=0.001)
    output = tmp_path / "out"
    planned = run_playbook(sim, tmp_path, "plan.yml", extravars(output, plan_exclude="zone:zone2,zone:zone3"))
    assert planned.rc == 0, planned.stdout[-3000:]
    left_out = {item["name"] for item in read_plan(output)["items"] if item.get("excluded")}
    assert "acme-net12" in left_out
    assert run_playbook(sim, tmp_path, "report.yml", {"acs_upgrade_dir": str(output)}).rc == 0
    report = json.loads((output / "report.json").read_text())
    assert not left_out & {name for entry in report["attention"] for name in entry["names"]}
    assert all(entry["detail"] for entry in report["attention"])
    attention = (output / "report.md").read_text().split("## Needs attention")[1].split("\n## ")[0]
    assert "acme-net12" not in attention and "not Running:  " not in attention
    assert report["not_targeted"] == len(left_out)
