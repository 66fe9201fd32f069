# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One task, one action: the client and the waiter on a slow and lossy management server (the simulator's faults).

Each test reproduces one defect found on the sample cloud, scaled down in time (api_timeout 1 s instead of 10 s).
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient, CloudStackError, NotSubmittedError, UnknownOutcomeError
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobRunner, JobTask
from ansible_collections.acs.upgrade.plugins.modules import cs_fleet_info, cs_livepatch

UNCHANGED = "No change in the scripts checksum"


def client_for(sim, **options):
    options.setdefault("timeout", 1)
    options.setdefault("backoff_base", 0.05)
    options.setdefault("backoff_cap", 0.2)
    return CloudStackClient(sim.url, sim.admin_key, sim.admin_secret, **options)


@pytest.fixture
def sim(acs_sim):
    return acs_sim(topology="small", time_factor=0.001)


def by_name(sim, kind, name):
    return next(item for item in sim.state()[kind] if item["name"] == name)


def ssvm(sim, zone="zone1"):
    return next(vm for vm in sim.state()["systemvms"] if vm["systemvmtype"] == "secondarystoragevm" and vm["zonename"] == zone)


def jobs_of(sim, command, instance_id):
    return [job for job in sim.jobs() if job["command"] == command and job["instanceid"] == instance_id]


# -- 1. a mutation slower than api_timeout is sent once -----------------------------------------------------------


@pytest.mark.parametrize(
    "command, kind, name, params",
    [
        ("restartNetwork", "networks", "acme-web", {"livepatch": True, "cleanup": False}),
        ("restartNetwork", "networks", "globex-zone2", {"cleanup": True}),
        ("restartVPC", "vpcs", "acme-vpc", {"livepatch": True, "cleanup": False}),
    ],
)
def test_a_mutation_slower_than_api_timeout_gets_one_job(sim, command, kind, name, params):
    """The server takes the request after 1.5 s (its job is registered that late); the client gives up waiting after 1 s
    and finds the job within its settle window of 3 s."""
    target = by_name(sim, kind, name)
    sim.inject(kind="slow", api=command, object=target["id"], delay=1.5, count=1)
    client = client_for(sim)
    jobid = client.submit(command, id=target["id"], **params)
    sim.wait_jobs()
    assert [job["jobid"] for job in jobs_of(sim, command, target["id"])] == [jobid]
    assert len(sim.calls(command)) == 1
    assert "was found in listAsyncJobs" in client.settled[jobid]


def test_a_slow_patch_system_vm_is_settled_with_forced_false_never_a_second_forced_patch(sim):
    """patchSystemVm jobs name no VM (PatchSystemVMCmd, 4.18.0.0): the check is a patchSystemVm forced=false."""
    vm = ssvm(sim)
    sim.inject(kind="slow", api="patchSystemVm", object=vm["id"], delay=1.5, count=1)
    client = client_for(sim)
    jobid = client.submit("patchSystemVm", id=vm["id"], forced=True)
    sim.wait_jobs()
    jobs = jobs_of(sim, "patchSystemVm", vm["id"])
    assert [job["params"].get("forced") for job in jobs] == ["true", "false"]
    assert jobs[1]["jobid"] == jobid
    assert client.query_job(jobid)["jobresult"]["displaytext"].startswith(UNCHANGED)
    assert "forced=false" in client.settled[jobid]


def test_lost_patch_answers_among_parallel_patches_never_patch_a_vm_twice(acs_sim, run_module):
    """Other VMs' patchSystemVm jobs run meanwhile: a job found early may not be this VM's, so the whole window is waited."""
    sim = acs_sim(generate="zones=4,routers=4", time_factor=0.01)
    vms = sim.state()["systemvms"]
    sim.inject(kind="connection_reset", api="patchSystemVm", object=vms[2]["id"], when="after", count=1)
    sim.inject(kind="slow", api="patchSystemVm", object=vms[5]["id"], delay=1.5, count=1)
    args = {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "api_timeout": 1, "poll_interval": 0.1}
    result = run_module(cs_livepatch, dict(args, system_vms=["all"], parallel=4, forced=True))
    sim.wait_jobs()
    assert not result.get("failed"), result.get("msg")
    for vm in vms:
        jobs = jobs_of(sim, "patchSystemVm", vm["id"])
        forced = [job for job in jobs if job["params"].get("forced") == "true"]
        checks = [job for job in jobs if job["params"].get("forced") == "false"]
        assert len(forced) == 1, (vm["name"], jobs)
        assert all(job["result"]["displaytext"].startswith(UNCHANGED) for job in checks), (vm["name"], checks)
    settled = [target for target in result["targets"] if "was lost" in target["reason"]]
    assert sorted(target["name"] for target in settled) == sorted([vms[2]["name"], vms[5]["name"]])


def test_a_lost_answer_whose_job_list_cannot_be_read_is_outcome_unknown_and_not_resent(sim):
    network = by_name(sim, "networks", "acme-web")
    sim.inject(kind="connection_reset", api="restartNetwork", count=1)
    sim.inject(kind="http_error", api="listAsyncJobs", status=503)
    client = client_for(sim, settle_window=0.5, max_retries=1)
    with pytest.raises(UnknownOutcomeError, match="outcome is unknown") as caught:
        client.submit("restartNetwork", id=network["id"], livepatch=True, cleanup=False)
    assert "check listAsyncJobs" in caught.value.errortext
    assert len(sim.calls("restartNetwork")) == 1


def test_a_lost_patch_answer_whose_vm_cannot_be_read_again_is_outcome_unknown_and_not_resent(sim):
    vm = ssvm(sim)
    sim.inject(kind="connection_reset", api="patchSystemVm", when="after", count=1)
    sim.inject(kind="http_error", api="listSystemVms", status=431, errortext="listSystemVms is refused")
    client = client_for(sim, settle_window=0.5)
    with pytest.raises(UnknownOutcomeError, match="outcome is unknown") as caught:
        client.submit("patchSystemVm", id=vm["id"], forced=True)
    assert "listSystemVms is refused" in caught.value.errortext
    sim.wait_jobs()
    assert len(jobs_of(sim, "patchSystemVm", vm["id"])) == len(sim.calls("patchSystemVm")) == 1


def test_a_request_that_left_no_trace_is_sent_again_after_the_settle_window(sim):
    network = by_name(sim, "networks", "acme-web")
    sim.inject(kind="connection_reset", api="restartNetwork", count=1)
    client = client_for(sim, settle_window=1.0)
    started = time.monotonic()
    jobid = client.submit("restartNetwork", id=network["id"], livepatch=True, cleanup=False)
    assert time.monotonic() - started >= 1.0, "absence is proven only by a read after the settle window"
    sim.wait_jobs()
    assert [job["jobid"] for job in jobs_of(sim, "restartNetwork", network["id"])] == [jobid]
    assert len(sim.calls("restartNetwork")) == 2


def test_a_request_still_being_handled_after_the_settle_window_is_outcome_unknown_not_resent(sim):
    """A read timeout means the server took the request and was still working on it: a job that is not there yet at
    the end of the settle window may still come, so nothing is resent (it was: two jobs on a server slower than 3 x
    api_timeout)."""
    network = by_name(sim, "networks", "acme-web")
    sim.inject(kind="slow", api="restartNetwork", object=network["id"], delay=2.5, count=1)
    client = client_for(sim, settle_window=1.0)
    with pytest.raises(UnknownOutcomeError, match="may still be working on it") as caught:
        client.submit("restartNetwork", id=network["id"], livepatch=True, cleanup=False)
    assert "check listAsyncJobs and %s" % network["id"] in str(caught.value)
    # The server answers the slow request (the simulator logs it then) 2.5 s after it came, however loaded the machine.
    deadline = time.monotonic() + 30
    while not sim.calls("restartNetwork") and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.wait_jobs()
    assert len(jobs_of(sim, "restartNetwork", network["id"])) == 1
    assert len(sim.calls("restartNetwork")) == 1


# -- 2. a lost answer never adopts another command's job ----------------------------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_lost_start_never_adopts_the_stop_job_of_the_same_vm(sim, when):
    vm = ssvm(sim)
    client = client_for(sim, settle_window=1.0)
    stopped = client.submit("stopSystemVm", id=vm["id"])
    sim.wait_jobs()
    sim.inject(kind="connection_reset", api="startSystemVm", object=vm["id"], count=1, when=when)
    started = client.submit("startSystemVm", id=vm["id"])
    sim.wait_jobs()
    assert started != stopped
    assert [job["jobid"] for job in jobs_of(sim, "startSystemVm", vm["id"])] == [started]
    assert len(sim.calls("startSystemVm")) == (2 if when == "before" else 1)
    assert by_name(sim, "systemvms", vm["name"])["state"] == "Running"


# -- 3. a burst of refusals is waited out; a submit that never started is "not submitted" ---------------------------


def test_a_burst_of_refusals_longer_than_the_retries_still_submits_once(sim):
    network = by_name(sim, "networks", "acme-web")
    sim.inject(kind="http_error", api="restartNetwork", status=503, count=8)
    client = client_for(sim, max_retries=4, backoff_cap=0.1)
    jobid = client.submit("restartNetwork", id=network["id"], livepatch=True, cleanup=False)
    sim.wait_jobs()
    assert [job["jobid"] for job in jobs_of(sim, "restartNetwork", network["id"])] == [jobid]
    assert len(sim.calls("restartNetwork")) == 9


def test_retry_after_is_honoured_and_a_refusal_past_the_budget_is_not_submitted(sim):
    network = by_name(sim, "networks", "acme-web")
    sim.inject(kind="http_error", api="restartNetwork", status=429, retry_after=1)
    # Offered at 0, 1 and 2 s: the budget leaves the requests 0.9 s of their own before the third, none for a fourth.
    client = client_for(sim, submit_budget=2.9)
    with pytest.raises(NotSubmittedError, match="not submitted") as caught:
        client.submit("restartNetwork", id=network["id"], livepatch=True, cleanup=False)
    assert caught.value.status == 429
    times = [call["time"] for call in sim.calls("restartNetwork")]
    assert len(times) == 3 and all(later - earlier >= 0.95 for earlier, later in zip(times, times[1:]))
    assert jobs_of(sim, "restartNetwork", network["id"]) == []


def test_a_live_patch_refused_until_the_budget_ends_is_not_submitted_and_needs_no_recreate(sim, run_module, monkeypatch):
    from ansible_collections.acs.upgrade.plugins.module_utils import _api

    monkeypatch.setattr(_api, "DEFAULT_SUBMIT_BUDGET", 1.0)
    network = by_name(sim, "networks", "acme-web")
    sim.inject(kind="http_error", api="restartNetwork", status=503)
    result = run_module(
        cs_livepatch, {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "networks": ["acme-web"], "poll_interval": 0.1}
    )
    target = result["targets"][0]
    assert result["failed"] and target["id"] == network["id"]
    assert target["status"] == "not_submitted" and target["recreate_required"] is False
    assert "nothing changed" in target["reason"] and "503" in target["reason"]
    assert jobs_of(sim, "restartNetwork", network["id"]) == []


# -- 4. deadlines hold on a slow API --------------------------------------------------------------------------------


def test_a_finished_job_is_read_once_more_before_it_is_declared_timed_out(acs_sim):
    """Job A ends before its timeout, but the round that read it pending went on to a slow read of job B, and ended past
    A's timeout and the two pauses after it in which a job without a read is still waited for (1.4 s)."""
    # The quick patch takes 0.32 s (20-40 s at 0.01): it ends well before its timeout of 1 s on a loaded machine too.
    sim = acs_sim(topology="small", time_factor=0.01)
    client = client_for(sim, timeout=5)
    quick, stuck = ssvm(sim, "zone1"), ssvm(sim, "zone2")
    sim.inject(kind="job_hang", api="patchSystemVm", object=stuck["id"])
    first = client.submit("patchSystemVm", id=quick["id"], forced=True)
    second = client.submit("patchSystemVm", id=stuck["id"], forced=True)
    sim.inject(kind="slow", api="queryAsyncJobResult", object=second, delay=1.5)
    runner = JobRunner(client, parallel=2, poll_interval=0.2, first_poll=0.05, job_timeout=1.0, deadline=10)
    outcomes = {outcome.key: outcome for outcome in runner.run([JobTask(key="quick", jobid=first), JobTask(key="stuck", jobid=second)])}
    assert outcomes["quick"].status == "succeeded"
    assert outcomes["stuck"].status == "timed_out" and "job timeout of 1.0s" in outcomes["stuck"].errortext


def test_the_run_deadline_holds_when_every_poll_read_times_out(sim):
    client = client_for(sim, timeout=1, max_retries=4)
    vm = ssvm(sim)
    sim.inject(kind="job_hang", api="patchSystemVm")
    jobid = client.submit("patchSystemVm", id=vm["id"], forced=True)
    sim.inject(kind="slow", api="queryAsyncJobResult", delay=1.5)
    started = time.monotonic()
    outcome = JobRunner(client, poll_interval=0.5, job_timeout=2.0, deadline=3.0).run([JobTask(key="hung", jobid=jobid)])[0]
    elapsed = time.monotonic() - started
    assert outcome.status == "timed_out"
    # Before, each poll read was retried five times (about 6 s per read on this API): the run took three times its deadline.
    assert elapsed < 3.0 + 2 * (1.0 + 0.2) + 0.5, elapsed


# -- 5. bad input fails cleanly -------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [-1, 0])
def test_a_timeout_that_is_not_positive_is_refused_with_what_to_set(sim, run_module, timeout):
    result = run_module(cs_fleet_info, {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "api_timeout": timeout})
    assert result["failed"] and "api_timeout must be more than 0 seconds, not %s" % timeout in result["msg"]
    assert sim.calls() == []


@pytest.mark.parametrize("timeout", [10**12, 86401])
def test_a_huge_timeout_is_refused_with_what_to_set(sim, run_module, timeout):
    # 10**12 s used to end in a traceback: OverflowError from the socket, "timestamp out of range for platform time_t".
    result = run_module(cs_fleet_info, {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "api_timeout": timeout})
    assert result["failed"] and "api_timeout must be at most 86400 seconds (one day), not %s" % timeout in result["msg"]
    assert sim.calls() == []


def test_a_password_in_api_url_is_never_printed(run_module):
    url = "http://operator:pa55-in-the-url@127.0.0.1:9/client/api"
    result = run_module(cs_fleet_info, {"api_url": url, "api_key": "key", "api_secret": "secret-value", "api_timeout": 1})
    assert result["failed"] and "no answer from the management server" in result["msg"]
    assert "pa55-in-the-url" not in str(result)
    assert "secret-value" not in str(result)


def test_a_401_from_a_server_whose_clock_is_off_says_check_the_clock(sim):
    client = client_for(sim)
    sim.inject(kind="clock_skew", offset=3600)
    with pytest.raises(CloudStackError) as caught:
        client.call("listZones")
    assert caught.value.status == 401
    assert "check the clock" in caught.value.errortext and "ahead of" in caught.value.errortext
    sim.clear_faults()
    wrong = CloudStackClient(sim.url, sim.admin_key, "wrong-secret", timeout=1)
    with pytest.raises(CloudStackError) as caught:
        wrong.call("listZones")
    assert caught.value.status == 401 and "clock" not in caught.value.errortext


def test_a_lost_server_side_template_upgrade_gives_every_router_outcome_unknown(sim, run_module):
    from ansible_collections.acs.upgrade.plugins.modules import cs_recreate

    sim.inject(kind="connection_reset", api="upgradeRouterTemplate", count=1, when="after")
    args = {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "api_timeout": 1, "poll_interval": 0.1}
    result = run_module(cs_recreate, dict(args, target="router", method="upgrade_template", server_side=True, zone="zone2"))
    assert result["failed"] and result["targets"]
    assert {target["status"] for target in result["targets"]} == {"outcome_unknown"}
    assert all("outcome is unknown" in target["reason"] for target in result["targets"])
    assert len(sim.calls("upgradeRouterTemplate")) == 1
