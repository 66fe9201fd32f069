# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The rehearsal's arithmetic: windows, the spread of the cloud's durations, real scale; and the snapshot's job history."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._rehearsal import DEFAULT_SPREAD, build, markdown, spread, window_seconds
from ansible_collections.acs.upgrade.plugins.module_utils._snapshot import job_history


@pytest.mark.parametrize(
    ("window", "seconds"),
    [
        ({"start": "22:00", "end": "04:00"}, 6 * 3600),
        ({"start": "01:30", "end": "02:00"}, 1800),
        ({"start": "2026-12-12T22:00:00+00:00", "end": "2026-12-13T02:00:00+00:00"}, 4 * 3600),
        ([{"start": "22:00", "end": "23:00"}, {"start": "00:00", "end": "03:00"}], 3 * 3600),
        ({"start": "22:00"}, None),
    ],
)
def test_window_lengths(window, seconds):
    assert window_seconds(window) == seconds


def test_the_spread_is_that_of_the_clouds_own_durations_else_the_default_model():
    history = {"restartNetwork": {"samples": [{"seconds": s, "routers": 1} for s in (50, 100, 100, 100, 100, 100, 100, 100, 100, 200)]}}
    assert spread(history) == (1.0, 2.0)
    assert spread({}) == DEFAULT_SPREAD


def test_real_scale_and_window_fit_per_group():
    report = {"ms_version": "4.18.0.0", "duration": 30.0, "outcome": "finished", "paths": {"livepatch": 2}, "attention": [],
              "groups": [{"name": "zone1", "duration": 10.0, "units": [{"name": "net1", "path": "livepatch"}]},
                         {"name": "zone2", "duration": 20.0, "units": [{"name": "net2", "path": "livepatch"}]}]}
    rehearsal = build(report, {"jobs": {}}, 0.01, {"zone1": {"start": "22:00", "end": "22:30"}, "*": {"start": "22:00", "end": "22:25"}})
    assert rehearsal["total"]["seconds"] == pytest.approx(3000)
    zone1, zone2 = rehearsal["groups"]
    # zone1: 1000 s (667-1333) in a 1800 s window; zone2: 2000 s in the 1500 s one of "*".
    assert (zone1["fits"], zone2["fits"]) == ("yes", "no") and zone2["window_seconds"] == 1500
    assert rehearsal["paths"] == {"net1": "livepatch", "net2": "livepatch"}
    assert markdown(rehearsal).count("REHEARSAL") >= 3


def test_job_history_by_command_with_the_routers_each_acted_on():
    jobs = [
        {"cmd": "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd", "jobstatus": 1, "created": "2026-12-01T10:00:00+0000",
         "completed": "2026-12-01T10:01:30+0000", "jobinstancetype": "Network", "jobinstanceid": "n1"},
        {"cmd": "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd", "jobstatus": 2, "created": "2026-12-01T10:00:00+0000",
         "completed": "2026-12-01T10:00:10+0000", "jobinstancetype": "Network", "jobinstanceid": "n2"},
        {"cmd": "org.apache.cloudstack.api.command.admin.systemvm.PatchSystemVMCmd", "jobstatus": 1, "created": "2026-12-01T10:00:00+0000",
         "completed": "2026-12-01T10:00:40+0000"},
        {"cmd": "org.apache.cloudstack.api.command.admin.router.RebootRouterCmd", "jobstatus": 0, "created": "2026-12-01T10:00:00+0000"},
        {"cmd": "org.apache.cloudstack.api.command.user.vm.DeployVMCmd", "jobstatus": 1, "created": "2026-12-01T10:00:00+0000",
         "completed": "2026-12-01T10:00:40+0000"},
    ]
    history = job_history(jobs, lambda kind, instance: 2 if instance == "n1" else 1)
    assert set(history) == {"restartNetwork", "patchSystemVm"}
    assert history["restartNetwork"]["samples"] == [{"seconds": 90.0, "routers": 2}] and history["restartNetwork"]["failed"] == 1
    assert history["patchSystemVm"]["seconds"] == {"min": 40.0, "median": 40.0, "p90": 40.0, "max": 40.0}


def test_job_time_is_scaled_back_and_the_controllers_own_time_is_kept():
    from ansible_collections.acs.upgrade.plugins.module_utils._rehearsal import build, busy_seconds

    start = 1_000_000.0
    # Two overlapping jobs (1-4 and 3-6: 5 s of job time), one after a pause (8-9), one outside the span.
    jobs = [{"start": start + 1, "end": start + 4}, {"start": start + 3, "end": start + 6}, {"start": start + 8, "end": start + 9},
            {"start": start + 50, "end": start + 60}, {"start": None, "end": None}]
    assert busy_seconds(jobs, start, start + 10) == 6.0
    assert busy_seconds(jobs, start + 2, start + 5) == 3.0
    iso = "1970-01-12T13:46:40+00:00"  # the epoch second 1,000,000
    report = {"duration": 10.0, "started": iso, "groups": [{"name": "zone1", "duration": 10.0, "started": iso, "units": []}]}
    rehearsal = build(report, {}, 0.01, {"*": {"start": "22:00", "end": "23:00"}}, jobs=jobs)
    total = rehearsal["total"]
    # 6 s of jobs at 0.01 are 600 s; the 4 s between them are the controller's, kept as they are.
    assert (total["job_seconds"], total["controller_seconds"], total["seconds"]) == (6.0, 4.0, 604.0)
    assert total["low_seconds"] == 600 * 2 / 3 + 4 and total["high_seconds"] == 600 * 4 / 3 + 4
    assert rehearsal["groups"][0]["seconds"] == 604.0 and rehearsal["groups"][0]["fits"] == "yes"
    assert rehearsal["model"].startswith("job time")
    # Without the job log every second is divided, as before.
    assert build(report, {}, 0.01, {})["total"]["seconds"] == 1000.0


def test_a_stage_is_replayed_at_real_scale_in_its_window_and_a_targets_jobs_one_after_the_other():
    from ansible_collections.acs.upgrade.plugins.module_utils._rehearsal import build, replay

    start = 1_000_000.0
    # zone1 routers, window 2: a (0.30 s, then 0.10 s on the same object that the journal does not name), b 0.20 s, c 0.25 s; zone1
    # system VMs: one of 0.50 s. At 0.01: a = 30 + 10 s, b = 20 s, c = 25 s -> slots {40}, {20, 25}: 45 s.
    jobs = [
        {"jobid": "s", "queued": start, "start": start, "end": start + 0.5},
        {"jobid": "a1", "queued": start + 1, "start": start + 1, "end": start + 1.3, "instanceid": "vpc-a"},
        {"jobid": "b", "queued": start + 1.01, "start": start + 1.01, "end": start + 1.21},
        {"jobid": "a2", "queued": start + 1.31, "start": start + 1.31, "end": start + 1.41, "instanceid": "vpc-a"},
        {"jobid": "c", "queued": start + 1.22, "start": start + 1.22, "end": start + 1.47},
    ]
    journal = [
        {"jobid": "s", "group": "zone1", "stage": "systemvms", "key": "systemvm:s"},
        {"jobid": "a1", "group": "zone1", "stage": "routers", "key": "vpc:a"},
        {"jobid": "b", "group": "zone1", "stage": "routers", "key": "network:b"},
        {"jobid": "c", "group": "zone1", "stage": "routers", "key": "network:c"},
    ]
    stages = replay(jobs, journal, 2, 0.01)
    assert {stage: round(seconds, 6) for stage, seconds in stages.items()} == {("zone1", "systemvms"): 50.0, ("zone1", "routers"): 45.0}
    # The modelled length of a job (its waits by the duration model, without the simulator's own CPU) when the log has it.
    busy_simulator = [dict(job, modelled=0.4) if job["jobid"] == "s" else job for job in jobs]
    assert round(replay(busy_simulator, journal, 2, 0.01)[("zone1", "systemvms")], 6) == 40.0
    # One window: the three targets one after the other.
    assert round(replay(jobs, journal, 1, 0.01)[("zone1", "routers")], 6) == 85.0
    iso = "1970-01-12T13:46:40+00:00"
    report = {"duration": 2.0, "started": iso, "groups": [{"name": "zone1", "duration": 2.0, "started": iso, "units": []}]}
    rehearsal = build(report, {}, 0.01, {}, jobs=jobs, journal=journal, parallel=2)
    # 1.0 s of jobs ran (0-0.5 and 1-1.47 are 0.97 s: the rest of the 2 s is the controller's).
    assert round(rehearsal["total"]["controller_seconds"], 6) == 1.03
    assert round(rehearsal["total"]["seconds"], 6) == 95.0 + 1.03
    assert round(rehearsal["groups"][0]["seconds"], 6) == 96.03
    assert rehearsal["model"].startswith("each stage")
