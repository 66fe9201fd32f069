# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API client and the job waiter against the management-server simulator on 127.0.0.1."""

from __future__ import annotations

import datetime
import socket
import threading

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackClient, CloudStackError, UnknownOutcomeError
from ansible_collections.acs.upgrade.plugins.module_utils._jobs import JobRunner, JobTask, failure_exceeded
from ansible_collections.acs.upgrade.plugins.modules import cs_fleet_info
from acs_sim.topology import generate as generate_topology
from acs_sim.topology import load as topology_load

MUTATING = ("patchSystemVm", "restartNetwork", "restartVPC", "rebootRouter", "destroySystemVm")


def make_client(sim, role="admin", **options):
    key, secret = (sim.admin_key, sim.admin_secret) if role == "admin" else (sim.user_key, sim.user_secret)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_cap", 0.05)
    options.setdefault("settle_window", 0.5)
    return CloudStackClient(sim.url, key, secret, **options)


def first(sim, kind):
    return sim.state()[kind][0]


@pytest.fixture
def sim(acs_sim):
    return acs_sim(topology="small", time_factor=0.001)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("signature_version", [2, 3])
def test_signed_requests_are_accepted(sim, method, signature_version):
    client = make_client(sim, method=method, signature_version=signature_version)
    zones = client.list("listZones", "zone")
    assert zones and all(zone["id"] for zone in zones)


def test_version_and_feature_detection(sim):
    client = make_client(sim)
    assert client.version().startswith("4.18")
    assert client.has_feature("patchSystemVm") and client.has_feature("restartNetwork.livepatch")


def test_feature_detection_on_a_416_management_server(acs_sim):
    client = make_client(acs_sim(topology="ms416", time_factor=0.001))
    assert client.version().startswith("4.16")
    assert not client.has_feature("patchSystemVm")
    assert not client.has_feature("restartVPC.livepatch")
    assert client.has_feature("getRouterHealthCheckResults")


def test_paging_reads_every_router_page_by_page(acs_sim):
    sim = acs_sim(generate="zones=2,routers=1203,redundant=0.2", time_factor=0.001)
    client = make_client(sim, page_size=500)
    routers = client.list("listRouters", "router", listall=True)
    assert len(routers) == 1203
    assert len({router["id"] for router in routers}) == 1203
    pages = [call["params"].get("page") for call in sim.calls("listRouters")]
    assert pages == ["1", "2", "3"]


def test_empty_list_is_an_empty_list(sim):
    client = make_client(sim)
    assert client.list("listRouters", "router", name="no-such-router", listall=True) == []
    assert client.call("listRouters", name="no-such-router", listall=True) == {}


def test_bad_parameter_is_a_431_error_with_cloudstack_codes_and_no_retry(sim):
    client = make_client(sim)
    with pytest.raises(CloudStackError) as caught:
        client.call("listRouters", id="not-a-uuid")
    error = caught.value
    assert (error.command, error.status, error.errorcode) == ("listRouters", 431, 431)
    assert error.cserrorcode and error.errortext
    assert len(sim.calls("listRouters")) == 1


def test_wrong_secret_is_a_401_and_the_secret_never_appears(sim):
    client = CloudStackClient(sim.url, sim.admin_key, "wrong-secret-value")
    with pytest.raises(CloudStackError) as caught:
        client.call("listZones")
    assert caught.value.status == 401
    assert "wrong-secret-value" not in str(caught.value)
    assert "signature=" not in str(caught.value)


def test_expired_v3_signature_is_refused(sim):
    client = make_client(sim, expires_seconds=-60)
    with pytest.raises(CloudStackError) as caught:
        client.call("listZones")
    assert caught.value.status == 401


def test_user_key_cannot_call_admin_apis(sim):
    client = make_client(sim, role="user")
    with pytest.raises(CloudStackError) as caught:
        client.call("listSystemVms")
    assert caught.value.status in (401, 432)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_read_is_retried_after_transient_http_errors(sim, status):
    sim.inject(kind="http_error", api="listZones", status=status, count=2)
    client = make_client(sim)
    assert client.list("listZones", "zone")
    assert len(sim.calls("listZones")) == 3


def test_read_gives_up_after_max_retries(sim):
    sim.inject(kind="http_error", api="listZones", status=503)
    client = make_client(sim, max_retries=2)
    with pytest.raises(CloudStackError) as caught:
        client.list("listZones", "zone")
    assert caught.value.status == 503
    assert len(sim.calls("listZones")) == 3


def test_read_is_retried_after_a_connection_reset(sim):
    sim.inject(kind="connection_reset", api="listZones", count=1)
    client = make_client(sim)
    assert client.list("listZones", "zone")


def test_mutation_after_503_is_resent_because_the_server_did_not_act(sim):
    vm = first(sim, "systemvms")
    sim.inject(kind="http_error", api="patchSystemVm", status=503, count=1)
    client = make_client(sim)
    jobid = client.submit("patchSystemVm", id=vm["id"], forced=True)
    sim.wait_jobs()
    assert [job["jobid"] for job in sim.jobs() if job["command"] == "patchSystemVm"] == [jobid]


def test_mutation_with_unknown_outcome_is_checked_before_it_is_resent(sim):
    vm = first(sim, "systemvms")
    sim.inject(kind="http_error", api="patchSystemVm", status=500, count=1)
    client = make_client(sim)
    jobid = client.submit("patchSystemVm", id=vm["id"], forced=True)
    sim.wait_jobs()
    patch_jobs = [job for job in sim.jobs() if job["command"] == "patchSystemVm"]
    assert [job["jobid"] for job in patch_jobs] == [jobid]
    assert sim.calls("listAsyncJobs"), "the client must look for a job of the first attempt before sending again"


def test_mutation_with_unknown_outcome_and_no_object_to_check_is_not_resent(sim):
    sim.inject(kind="http_error", api="upgradeRouterTemplate", status=502, count=1)
    client = make_client(sim)
    zone = first(sim, "zones")
    with pytest.raises(UnknownOutcomeError, match="outcome is unknown"):
        client.call("upgradeRouterTemplate", zoneid=zone["id"])
    assert len(sim.calls("upgradeRouterTemplate")) == 1


def test_4xx_other_than_429_is_never_retried(sim):
    client = make_client(sim)
    with pytest.raises(CloudStackError):
        client.submit("patchSystemVm", id="not-a-uuid")
    assert len(sim.calls("patchSystemVm")) == 1


def test_connection_refused_names_the_endpoint_but_not_the_secret():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = CloudStackClient("http://127.0.0.1:%d/client/api" % port, "key", "top-secret-value", max_retries=1, backoff_base=0.01)
    with pytest.raises(CloudStackError) as caught:
        client.call("listZones")
    message = str(caught.value)
    assert "127.0.0.1:%d" % port in message
    assert "top-secret-value" not in message and "signature" not in message and "apiKey" not in message


# -- the job waiter ---------------------------------------------------------------------------------------------


def patch_tasks(client, vms):
    return [JobTask(key=vm["name"], submit=lambda vm=vm: client.submit("patchSystemVm", id=vm["id"], forced=True)) for vm in vms]


def test_waiter_follows_many_jobs_with_a_bound_on_jobs_in_flight(acs_sim):
    sim = acs_sim(generate="zones=6,routers=10", time_factor=0.01)
    client = make_client(sim)
    vms = sim.state()["systemvms"]
    runner = JobRunner(client, parallel=3, poll_interval=0.2, job_timeout=30, deadline=60)
    outcomes = runner.run(patch_tasks(client, vms))
    assert len(outcomes) == len(vms) >= 12
    assert {outcome.status for outcome in outcomes} == {"succeeded"}
    assert sim.max_jobs_in_flight("patchSystemVm") <= 3
    assert runner.max_in_flight_seen == 3
    # One listAsyncJobs or a few queryAsyncJobResult per round, not one call per job per poll.
    polls = len(sim.calls("listAsyncJobs")) + len(sim.calls("queryAsyncJobResult"))
    assert polls < 6 * len(vms)


def patchable_networks(sim):
    """Networks whose live patch succeeds: without a 4.13 router, whose patch fails and whose rules the server then refuses
    (NetworkHelperImpl.checkRouterVersion), failing the restart job with 530."""
    state = sim.state()
    old = {router.get("guestnetworkid") for router in state["routers"] if router["version"].startswith("4.13")}
    return [net for net in state["networks"] if net.get("zoneid") and net["id"] not in old]


def restart_tasks(client, networks):
    return [JobTask(key=net["name"], submit=lambda net=net: client.submit("restartNetwork", id=net["id"], livepatch=True, cleanup=False)) for net in networks]


def test_waiter_reads_the_page_of_the_day_that_holds_its_jobs_not_the_whole_day(acs_sim):
    """listAsyncJobs reads startdate to the day and orders by the job's id (ParamProcessWorker DATE, and
    QueryManagerImpl.searchForAsyncJobsInternal ``new Filter(AsyncJobJoinVO.class, "id", true, ...)``, 4.18.0.0):
    after a day of jobs, a round must still read one short page, not every job of the day."""
    sim = acs_sim(generate="zones=1,routers=1400,redundant=0,seed=3", time_factor=0.002)
    client = make_client(sim)
    networks = patchable_networks(sim)
    earlier, later = networks[:700], networks[700:1100]
    assert len(later) == 400
    first = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600).run(restart_tasks(client, earlier))
    assert {outcome.status for outcome in first} == {"succeeded"}
    before = {command: len(sim.calls(command)) for command in ("listAsyncJobs", "queryAsyncJobResult")}
    runner = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600)
    outcomes = runner.run(restart_tasks(client, later))
    assert {outcome.status for outcome in outcomes} == {"succeeded"}
    lists = sim.calls("listAsyncJobs")[before["listAsyncJobs"] :]
    queries = sim.calls("queryAsyncJobResult")[before["queryAsyncJobResult"] :]
    # Not one page of 500 after another through the 700 earlier jobs: the pages read hold the window of 50 and little more.
    assert lists and max(int(call["params"].get("pagesize", 500)) for call in lists) <= 150
    assert all(int(call["params"]["page"]) > 1 for call in lists[1:]), "every round after the first must start past the earlier jobs"
    assert (len(lists) + len(queries)) / len(later) <= 0.6
    assert runner.poll_calls == len(lists) + len(queries)


def test_a_server_with_a_small_default_page_size_is_read_in_its_pages(acs_sim):
    """default.page.size bounds every page (BaseListCmd.getPageSize, 4.18.0.0): below the client's 500, the first list
    call is refused with the server's limit, and the client reads every list, the job list included, in pages of it."""
    topology = generate_topology("zones=1,routers=60,redundant=0,seed=5")
    topology["configurations"] = {"default.page.size": 25}
    sim = acs_sim(topology=topology, time_factor=0.002)
    client = make_client(sim)
    routers = client.list("listRouters", "router", listall=True)
    assert len({router["id"] for router in routers}) == len(sim.state()["routers"]) >= 60
    assert client.page_size == 25
    networks = patchable_networks(sim)[:40]
    runner = JobRunner(client, parallel=30, poll_interval=0.2, job_timeout=60, deadline=300)
    outcomes = runner.run(restart_tasks(client, networks))
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * len(networks)
    pages = [int(call["params"].get("pagesize", 25)) for call in sim.calls("listAsyncJobs")]
    assert pages and max(pages) <= 25
    # The job list was read in pages, not given up for one query per job.
    assert len(sim.calls("queryAsyncJobResult")) < len(networks)


def test_waiter_reports_a_failed_job_with_its_errortext(sim):
    client = make_client(sim)
    vm = first(sim, "systemvms")
    sim.inject(kind="job_failure", api="patchSystemVm", object=vm["id"], errortext="patch script exited 1")
    outcome = JobRunner(client, poll_interval=0.1).run(patch_tasks(client, [vm]))[0]
    assert outcome.status == "failed"
    assert "patch script exited 1" in outcome.errortext


def test_waiter_reports_a_cancelled_job(sim):
    client = make_client(sim)
    vm = first(sim, "systemvms")
    sim.inject(kind="job_cancel", api="patchSystemVm", object=vm["id"])
    outcome = JobRunner(client, poll_interval=0.1).run(patch_tasks(client, [vm]))[0]
    assert outcome.status == "cancelled"


def test_waiter_times_out_a_job_that_never_ends(sim):
    client = make_client(sim)
    vms = sim.state()["systemvms"][:2]
    sim.inject(kind="job_hang", api="patchSystemVm", object=vms[0]["id"])
    outcomes = {o.key: o for o in JobRunner(client, poll_interval=0.1, job_timeout=1.0, deadline=30).run(patch_tasks(client, vms))}
    assert outcomes[vms[0]["name"]].status == "timed_out"
    assert "job timeout" in outcomes[vms[0]["name"]].errortext
    assert outcomes[vms[1]["name"]].status == "succeeded"


def test_waiter_deadline_stops_submitting_and_times_out_what_runs(acs_sim):
    sim = acs_sim(generate="zones=3,routers=3", time_factor=0.001)
    client = make_client(sim)
    vms = sim.state()["systemvms"]
    sim.inject(kind="job_hang", api="patchSystemVm")
    outcomes = JobRunner(client, parallel=2, poll_interval=0.1, job_timeout=60, deadline=1.0).run(patch_tasks(client, vms))
    statuses = [outcome.status for outcome in outcomes]
    assert statuses.count("timed_out") == 2
    assert statuses.count("not_submitted") == len(vms) - 2
    assert len(sim.calls("patchSystemVm")) == 2


def test_waiter_stops_submitting_once_the_failure_limit_is_reached(acs_sim):
    sim = acs_sim(generate="zones=4,routers=4", time_factor=0.001)
    client = make_client(sim)
    vms = sim.state()["systemvms"]
    sim.inject(kind="job_failure", api="patchSystemVm")
    runner = JobRunner(client, parallel=1, poll_interval=0.05, should_stop=lambda outcomes: failure_exceeded(len(vms), outcomes, 10))
    outcomes = runner.run(patch_tasks(client, vms))
    assert [outcome.status for outcome in outcomes].count("failed") == 1
    assert len(sim.calls("patchSystemVm")) == 1


def test_waiter_follows_jobs_it_did_not_submit(sim):
    client = make_client(sim)
    vm = first(sim, "systemvms")
    jobid = client.submit("patchSystemVm", id=vm["id"], forced=True)
    outcome = JobRunner(client, poll_interval=0.1).run([JobTask(key="queued", jobid=jobid)])[0]
    assert (outcome.status, outcome.jobid) == ("succeeded", jobid)


# -- a module's output ------------------------------------------------------------------------------------------


def test_module_failure_output_never_contains_the_secret(sim, run_module):
    sim.inject(kind="http_error", api="listCapabilities", status=431, errortext="bad request for key %s" % sim.admin_secret)
    result = run_module(cs_fleet_info, {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret})
    assert result["failed"]
    assert sim.admin_secret not in str(result)
    assert "listCapabilities" in result["msg"]


def test_fleet_info_reads_routers_with_their_cluster(sim, run_module):
    result = run_module(cs_fleet_info, {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret})
    fleet = result["fleet"]
    assert result["changed"] is False
    assert fleet["routers"] and all(router["clusterid"] for router in fleet["routers"] if router["hostid"])
    hosts = {host["id"]: host["clusterid"] for host in fleet["hosts"]}
    assert all(router["clusterid"] == hosts[router["hostid"]] for router in fleet["routers"] if router["hostid"])
    assert {unit["kind"] for unit in fleet["units"]} == {"network", "vpc"}


def _day_of_jobs(sim, client, count):
    """A day's job list that already holds ``count`` finished jobs before the run under test."""
    networks = patchable_networks(sim)
    earlier = networks[:count]
    runner = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600)
    assert {outcome.status for outcome in runner.run(restart_tasks(client, earlier))} == {"succeeded"}
    return networks[count:]


def _real_ends(sim):
    return {job["jobid"]: job for job in sim.jobs()}


def test_waiter_whose_first_read_of_the_job_list_fails_still_reads_only_the_page_of_its_jobs(acs_sim):
    """A 503 on the first listAsyncJobs (its retry too) must not make every later round read the whole day's list
    (listAsyncJobs reads startdate to the day, QueryManagerImpl.searchForAsyncJobsInternal, 4.18.0.0)."""
    sim = acs_sim(generate="zones=1,routers=1200,redundant=0,seed=3", time_factor=0.002)
    client = make_client(sim)
    later = _day_of_jobs(sim, client, 700)[:300]
    before = len(sim.calls("listAsyncJobs"))
    sim.inject(kind="http_error", api="listAsyncJobs", status=503, count=2)
    runner = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600)
    outcomes = runner.run(restart_tasks(client, later))
    assert {outcome.status for outcome in outcomes} == {"succeeded"}
    lists = sim.calls("listAsyncJobs")[before + 2 :]
    assert lists
    rows = sum(int(call["params"].get("pagesize", 500)) for call in lists)
    # The whole day is 700 + 300 jobs: reading it every round is a thousand rows a round, thirty a job here.
    assert rows / len(later) <= 10, "%d rows of the job list read for %d jobs" % (rows, len(later))


def test_waiter_follows_its_jobs_while_other_accounts_create_jobs_in_the_same_list(acs_sim):
    """The admin lists with listall=true, so the jobs of other accounts created during the run come between its own
    (ListAsyncJobsCmd, QueryManagerImpl.searchForAsyncJobsInternal, 4.18.0.0): every job is still followed to its
    real end, and no job is declared ended before the server ended it."""
    sim = acs_sim(generate="zones=1,routers=1200,redundant=0,seed=3", time_factor=0.002)
    client = make_client(sim)
    user = make_client(sim, role="user")
    theirs = user.list("listNetworks", "network", listall=True)
    assert len(theirs) >= 20
    mine = [net for net in _day_of_jobs(sim, client, 300) if net["id"] not in {n["id"] for n in theirs}][:300]
    stop = threading.Event()

    def others():
        while not stop.is_set():
            for net in theirs:
                if stop.is_set():
                    return
                try:
                    user.submit("restartNetwork", id=net["id"], livepatch=True, cleanup=False)
                except CloudStackError:
                    pass  # the network is busy with its previous restart

    thread = threading.Thread(target=others, daemon=True)
    thread.start()
    try:
        runner = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600)
        outcomes = runner.run(restart_tasks(client, mine))
    finally:
        stop.set()
        thread.join()
    ends = _real_ends(sim)
    assert {outcome.status for outcome in outcomes} == {"succeeded"}
    for outcome in outcomes:
        assert ends[outcome.jobid]["jobstatus"] == 1
    mine_jobs = {o.jobid for o in outcomes}
    assert len([jobid for jobid in ends if jobid not in mine_jobs]) > 300 + 100, "other accounts created jobs during the run"
    assert runner.poll_calls / len(mine) <= 1.0


def test_waiter_with_one_long_job_reads_it_by_itself_not_pages_of_the_jobs_between(acs_sim):
    """One job far longer than the rest (a cleanup restart among live patches) must not make every round read all the
    jobs created since it (listAsyncJobs lists in creation order, QueryManagerImpl.searchForAsyncJobsInternal, 4.18.0.0)."""
    topology = generate_topology("zones=1,routers=800,redundant=0,seed=3")
    topology["jobs"] = {"durations": {"livepatch_router": [100, 200], "router_deploy": [2000, 2000]}}
    sim = acs_sim(topology, time_factor=0.002)
    client = make_client(sim)
    networks = _day_of_jobs(sim, client, 100)[:500]
    before = len(sim.calls("listAsyncJobs"))
    slow = networks[0]
    tasks = [JobTask(key=slow["name"], submit=lambda: client.submit("restartNetwork", id=slow["id"], cleanup=True))] + restart_tasks(client, networks[1:])
    runner = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600)
    outcomes = runner.run(tasks)
    assert {outcome.status for outcome in outcomes} == {"succeeded"}
    lists = sim.calls("listAsyncJobs")[before:]
    rows = sum(int(call["params"].get("pagesize", 500)) for call in lists)
    # Reading from the long job on is some 400 rows a round: 77 a job here, against 10 to 20 when it is read by itself
    # (the rounds' pace follows the jobs' ends, so the count varies with the machine's load).
    assert rows / len(tasks) <= 30, "%d rows of the job list read for %d jobs" % (rows, len(tasks))


def test_waiter_follows_its_jobs_when_older_jobs_expire_from_the_list_during_the_run(acs_sim):
    """AsyncJobManagerImpl's garbage collector (4.18.0.0) expunges finished jobs older than job.expire.minutes, so the
    list's indexes shift down during a run: every job is still followed to its real end, at a low cost per job."""
    topology = generate_topology("zones=1,routers=1200,redundant=0,seed=3")
    topology["jobs"] = {"durations": {"livepatch_router": [100, 200]}}
    sim = acs_sim(topology, time_factor=0.002)
    client = make_client(sim)
    later = _day_of_jobs(sim, client, 600)[:400]
    expired = [job["jobid"] for job in sim.jobs()]
    manager = sim.cloud.jobs
    runner = JobRunner(client, parallel=50, poll_interval=0.2, job_timeout=60, deadline=600)
    done = threading.Event()

    def collector():
        # The collector's rounds expunge whatever expired since the last one: here half of the earlier jobs, twice.
        for start in range(0, len(expired), 300):
            if done.wait(0.5):
                return
            with manager._lock:
                for jobid in expired[start : start + 300]:
                    manager.jobs.pop(jobid, None)

    thread = threading.Thread(target=collector, daemon=True)
    before = {command: len(sim.calls(command)) for command in ("listAsyncJobs", "queryAsyncJobResult")}
    thread.start()
    try:
        outcomes = runner.run(restart_tasks(client, later))
    finally:
        done.set()
        thread.join()
    ends = _real_ends(sim)
    assert {outcome.status for outcome in outcomes} == {"succeeded"}
    assert all(ends[outcome.jobid]["jobstatus"] == 1 for outcome in outcomes)
    assert len(ends) < 600 + 400, "older jobs left the list during the run"
    calls = sum(len(sim.calls(command)) - count for command, count in before.items())
    # Each expunge costs one round of reads of the jobs in flight by themselves, not one per round to their end (0.9 a job).
    assert calls / len(later) <= 0.6


@pytest.mark.parametrize("jobs", [1, 6])
def test_waiter_does_not_time_out_a_job_whose_state_it_could_not_read(acs_sim, jobs):
    """A job is declared timed out only from a state read after its time was up: reads that failed (503 on
    queryAsyncJobResult and listAsyncJobs, as a proxy in front of the management server answers) are no such read,
    and the job that ended meanwhile is reported as it ended."""
    sim = acs_sim(generate="zones=1,routers=10,redundant=0,seed=3", time_factor=0.001)
    client = make_client(sim)
    networks = patchable_networks(sim)[:jobs]
    sim.inject(kind="http_error", api="queryAsyncJobResult", status=503, count=4 * jobs)
    sim.inject(kind="http_error", api="listAsyncJobs", status=503, count=4)
    outcomes = JobRunner(client, parallel=10, poll_interval=0.3, job_timeout=0.1, deadline=60).run(restart_tasks(client, networks))
    ends = _real_ends(sim)
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * jobs
    assert all(ends[outcome.jobid]["jobstatus"] == 1 for outcome in outcomes)


def test_waiter_gives_up_on_a_job_whose_state_stays_unreadable_past_its_time(sim):
    """Reads failing for good (503) cannot keep the run waiting: two rounds at the longest pause after its time was
    up, the job is reported timed out, saying its state could not be read."""
    client = make_client(sim)
    vm = first(sim, "systemvms")
    sim.inject(kind="http_error", api="queryAsyncJobResult", status=503)
    outcome = JobRunner(client, poll_interval=0.1, job_timeout=0.3, deadline=30).run(patch_tasks(client, [vm]))[0]
    assert outcome.status == "timed_out"
    assert "could not be read" in outcome.errortext
    assert len(sim.calls("queryAsyncJobResult")) < 40


def test_a_lost_answer_is_settled_on_a_server_west_of_utc_in_its_evening(acs_sim):
    """A server at UTC-5 at 20:00 there is already on the next day in UTC: its job list of "that" day starts at 05:00
    UTC, after the job (server/src/main/java/com/cloud/api/dispatch/ParamProcessWorker.java, 4.18.0.0: a DATE parameter
    is parsed as "yyyy-MM-dd" in the JVM's default zone). The client must still find the job of the lost answer and not send the reboot again."""
    topology = topology_load("small")
    topology["managementserver"] = dict(topology.get("managementserver") or {}, utc_offset="-05:00")
    sim = acs_sim(topology=topology, time_factor=0.001)
    now = datetime.datetime.now(datetime.timezone.utc)
    evening = (now - datetime.timedelta(hours=5)).replace(hour=20, minute=0, second=0, microsecond=0) + datetime.timedelta(hours=5)
    sim.inject(kind="clock_skew", offset=(evening - now).total_seconds())
    router = first(sim, "routers")
    sim.inject(kind="connection_reset", api="rebootRouter", when="after", count=1)
    # Signatures of version 2 carry no expiry, which this far off would have passed.
    client = make_client(sim, signature_version=2)
    jobid = client.submit("rebootRouter", id=router["id"])
    sim.wait_jobs()
    reboots = [job for job in sim.jobs() if job["command"] == "rebootRouter"]
    assert [job["jobid"] for job in reboots] == [jobid]
    assert client.settled.get(jobid), "the job must come from the settle of the lost answer"
    created = client.call("queryAsyncJobResult", jobid=jobid)["created"]
    assert created.endswith("-0500") and "T20:0" in created, created


@pytest.mark.parametrize("offset", [-1200, 1200])
def test_the_lost_answer_of_a_clients_first_request_is_settled_by_the_servers_clock(acs_sim, offset):
    """No answer has told the client the server's time yet (its first request is the one lost): the job of the attempt is
    looked for from the server's clock (behind or ahead of ours), not from ours, so the reboot is not sent twice."""
    sim = acs_sim(topology="small", time_factor=0.001)
    sim.inject(kind="clock_skew", offset=offset)
    router = first(sim, "routers")
    sim.inject(kind="connection_reset", api="rebootRouter", when="after", count=1)
    client = make_client(sim, signature_version=2)
    jobid = client.submit("rebootRouter", id=router["id"])
    sim.wait_jobs()
    assert [job["jobid"] for job in sim.jobs() if job["command"] == "rebootRouter"] == [jobid]
