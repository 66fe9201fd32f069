# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Fault injection, in process and through the side endpoint."""
from __future__ import annotations

import datetime
import threading
import time

import pytest
import requests
from sim_helpers import network_id, router_by_network

from acs_sim.faults import FaultError


def test_job_failure_once(sim, admin):
    router = router_by_network(admin, "acme-web")[0]
    sim.inject(kind="job_failure", api="rebootRouter", object=router["name"], errortext="host kvm1 is unreachable", count=1)
    failed = admin.run("rebootRouter", id=router["id"])
    assert (failed["jobstatus"], failed["jobresultcode"]) == (2, 530)
    assert failed["jobresult"] == {"errorcode": 530, "errortext": "host kvm1 is unreachable"}
    assert admin.run("rebootRouter", id=router["id"])["jobstatus"] == 1
    assert sim.cloud.faults.list() == []


def test_job_cancel(sim, admin):
    router = router_by_network(admin, "acme-web")[0]
    sim.inject(kind="job_cancel", api="rebootRouter", object=router["id"], count=1)
    job = admin.run("rebootRouter", id=router["id"])
    assert (job["jobstatus"], job["jobresultcode"]) == (3, 530) and "cancelled" in job["jobresult"]["errortext"]
    assert admin.call("listRouters", id=router["id"])["router"][0]["version"] == "4.15.1"


def test_fault_on_another_object_does_not_fire(sim, admin):
    sim.inject(kind="job_failure", api="rebootRouter", object="r-999-VM")
    router = router_by_network(admin, "acme-web")[0]
    assert admin.run("rebootRouter", id=router["id"])["jobstatus"] == 1


def test_probability_zero_never_fires(sim, admin):
    sim.inject(kind="job_failure", api="rebootRouter", probability=0.0)
    router = router_by_network(admin, "acme-web")[0]
    assert admin.run("rebootRouter", id=router["id"])["jobstatus"] == 1


def test_job_that_never_finishes(sim, admin):
    sim.inject(kind="job_hang", api="restartNetwork")
    jobid = admin.call("restartNetwork", id=network_id(admin, "acme-web"))["jobid"]
    time.sleep(0.2)
    assert admin.call("queryAsyncJobResult", jobid=jobid)["jobstatus"] == 0
    assert [j["end"] for j in sim.jobs() if j["jobid"] == jobid] == [None]


@pytest.mark.parametrize("status", [500, 503])
def test_proxy_errors_are_not_json(sim, admin, status):
    sim.inject(kind="http_error", api="listRouters", status=status, count=1)
    response = admin.raw("listRouters", listall=True)
    assert response.status_code == status and "text/html" in response.headers["Content-Type"]
    assert admin.raw("listRouters", listall=True).status_code == 200


def test_rate_limit_uses_the_cloudstack_envelope(sim, admin):
    sim.inject(kind="http_error", api="listRouters", status=429, count=2)
    for _attempt in range(2):
        response = admin.raw("listRouters", listall=True)
        assert response.status_code == 429
        assert response.json()["listroutersresponse"]["errorcode"] == 429
    assert admin.raw("listRouters", listall=True).status_code == 200
    assert [c["status"] for c in sim.calls("listRouters")] == [429, 429, 200]


def test_connection_reset(sim, admin):
    sim.inject(kind="connection_reset", api="listZones", count=1)
    with pytest.raises(requests.ConnectionError):
        admin.raw("listZones")
    assert admin.raw("listZones").status_code == 200


def test_slow_answer(sim, admin):
    sim.inject(kind="slow", api="listZones", delay=0.3, count=1)
    started = time.monotonic()
    assert admin.raw("listZones").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_request_a_slow_fault_holds_is_in_progress_until_it_is_answered(sim, admin):
    sim.inject(kind="slow", api="listZones", delay=3.0, count=1)
    sender = threading.Thread(target=lambda: admin.raw("listZones"))
    sender.start()
    deadline = time.monotonic() + 10
    while sim.cloud.faults.list() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.requests_in_progress("listZones") == 1 and sim.requests_in_progress() == 1 and sim.requests_in_progress("listHosts") == 0
    sender.join(timeout=10)
    # The server counts the request as answered once its handler returns, a moment after the client has the answer.
    deadline = time.monotonic() + 5
    while sim.requests_in_progress() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.requests_in_progress() == 0 and [call["command"] for call in sim.calls()] == ["listZones"]


def test_a_slow_request_still_waiting_when_the_cloud_is_reset_acts_on_nothing(sim, admin):
    """A reset puts the cloud back as loaded, as a restarted management server with a fresh database would be: a
    request it was still holding ends without an answer and starts no job in the cloud after the reset (it did: the
    slowed restart of one fault-matrix cell started its job in the next cell's cloud)."""
    network = network_id(admin, "acme-web")
    sim.inject(kind="slow", api="restartNetwork", delay=1.0, count=1)
    answered: list = []
    sender = threading.Thread(target=lambda: answered.append(_answer(admin, "restartNetwork", id=network, livepatch=True)))
    sender.start()
    deadline = time.monotonic() + 10
    while sim.cloud.faults.list() and time.monotonic() < deadline:
        time.sleep(0.01)  # the request came and waits out its delay
    sim.reset()
    sender.join(timeout=10)
    assert answered == ["no answer"]
    assert sim.jobs() == [] and sim.calls() == []


def _answer(client, command: str, **params) -> object:
    try:
        return client.raw(command, **params).status_code
    except requests.ConnectionError:
        return "no answer"


def test_failing_health_checks(sim, admin):
    router = router_by_network(admin, "acme-web")[0]
    admin.run("rebootRouter", id=router["id"])
    sim.inject(kind="health_check_failure", object=router["id"], checks=["dns", "haproxy"], count=1)
    failing = admin.call("listRouters", listall=True, healthchecksfailed=True, fetchhealthcheckresults=True)["router"]
    target = next(r for r in failing if r["id"] == router["id"])
    assert {c["checkname"] for c in target["healthcheckresults"] if not c["success"]} == {"dns_check.py", "haproxy_check.py"}
    fresh = admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]
    assert {c["checkname"] for c in fresh["healthchecks"] if not c["success"]} == {"dns_check.py", "haproxy_check.py"}
    healed = admin.call("getRouterHealthCheckResults", routerid=router["id"], performfreshchecks=True)["routerhealthchecks"]
    assert all(c["success"] for c in healed["healthchecks"])


def test_live_patch_that_changes_nothing(sim, admin):
    before = router_by_network(admin, "acme-db")
    sim.inject(kind="livepatch_noop", object="acme-db")
    # Its 4.14 routers keep their old scripts, so the rules sent after the patch loop are refused (checkRouterVersion): 530.
    job = admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)
    assert (job["jobstatus"], job["jobresult"]["errortext"]) == (2, "Failed to restart network")
    after = router_by_network(admin, "acme-db")
    assert [r["scriptsversion"] for r in after] == [r["scriptsversion"] for r in before]


def test_live_patch_failure_is_skipped_then_the_rules_are_refused(sim, admin):
    """NetworkOrchestrator.restartNetwork (4.18.0.0, 4.19.3.0): a router whose patch returns false is logged and skipped; the
    rules sent next are refused by NetworkHelperImpl.checkRouterVersion (template 4.14 below the minimum, old scripts), so
    restartNetwork returns false and RestartNetworkCmd fails the job: 530 "Failed to restart network"."""
    before = router_by_network(admin, "acme-db")
    sim.inject(kind="livepatch_failure", object="acme-db", errortext="haproxy failed to restart")
    job = admin.run("restartNetwork", id=network_id(admin, "acme-db"), livepatch=True)
    assert (job["jobstatus"], job["jobresultcode"], job["jobresult"]["errortext"]) == (2, 530, "Failed to restart network")
    assert all(r["refused"] for r in sim.state()["routers"] if r.get("guestnetworkname") == "acme-db")
    after = router_by_network(admin, "acme-db")
    assert [(r["scriptsversion"], r["softwareversion"]) for r in after] == [(r["scriptsversion"], r["softwareversion"]) for r in before]
    assert admin.run("restartNetwork", id=network_id(admin, "acme-db"), cleanup=True)["jobstatus"] == 1


def test_sample_cloud_has_a_network_whose_live_patch_fails(acs_sim):
    sim = acs_sim(topology="sample-cloud")
    admin = sim.client()
    assert 40 <= admin.call("listRouters", listall=True)["count"] <= 60
    versions = {r["version"] for r in admin.call("listRouters", listall=True)["router"]}
    assert {"4.13.1", "4.14.1", "4.15.1"} <= versions
    failing = router_by_network(admin, "initech-net14")
    assert admin.run("restartNetwork", id=network_id(admin, "initech-net14"), livepatch=True)["jobstatus"] == 2  # the old routers refuse the rules
    assert [r["softwareversion"] for r in router_by_network(admin, "initech-net14")] == [r["softwareversion"] for r in failing] != ["4.18.0.0"] * 2
    assert admin.run("restartNetwork", id=network_id(admin, "acme-net12"), livepatch=True)["jobstatus"] == 1
    assert router_by_network(admin, "acme-net12")[0]["softwareversion"] == "4.18.0.0"


def test_live_patch_of_a_413_template_is_skipped(acs_sim):
    """NetworkOrchestrator.restartNetwork, 4.18.0.0: the 4.13 router's patch fails and it is skipped; the rules sent next are
    refused (NetworkHelperImpl.checkRouterVersion), so the job fails with "Failed to restart network"."""
    sim = acs_sim(topology="sample-cloud")
    admin = sim.client()
    old = next(r for r in admin.call("listRouters", listall=True, version="4.13")["router"] if r["state"] == "Running" and not r.get("vpcid"))
    job = admin.run("restartNetwork", id=old["guestnetworkid"], livepatch=True)
    assert job["jobstatus"] == 2 and job["jobresult"]["errortext"] == "Failed to restart network"
    again = admin.call("listRouters", id=old["id"])["router"][0]
    assert (again["scriptsversion"], again["softwareversion"]) == (old["scriptsversion"], old["softwareversion"])
    ssvm = next(v for v in admin.call("listSystemVms")["systemvm"] if v["version"] == "4.13.1.0")
    patched = admin.run("patchSystemVm", id=ssvm["id"])
    assert patched["jobstatus"] == 2 and patched["jobresult"]["errortext"].startswith(f"Failed to patch systemVM {ssvm['name']} due to")


def test_bad_fault_specs_are_refused(sim):
    with pytest.raises(FaultError, match="kind"):
        sim.inject(kind="explode")
    with pytest.raises(FaultError, match="unknown fault field"):
        sim.inject(kind="slow", dely=3)
    with pytest.raises(FaultError, match="probability"):
        sim.inject(kind="slow", probability=2)


def test_side_endpoint(sim, admin):
    side = sim.side_url
    assert requests.post(f"{side}/inject", json={"kind": "job_failure", "api": "restartNetwork", "count": 1}, timeout=5).status_code == 200
    assert requests.post(f"{side}/inject", json={"kind": "nonsense"}, timeout=5).status_code == 400
    assert len(requests.get(f"{side}/faults", timeout=5).json()) == 1
    assert admin.run("restartNetwork", id=network_id(admin, "acme-web"))["jobstatus"] == 2
    admin.call("listRouters", listall=True, page=1, pagesize=2)
    admin.call("listRouters", listall=True, page=2, pagesize=2)
    calls = requests.get(f"{side}/calls", params={"command": "listRouters"}, timeout=5).json()
    assert [c["params"]["page"] for c in calls] == ["1", "2"]
    counters = requests.get(f"{side}/counters", timeout=5).json()
    assert counters["per_api"]["listRouters"] == 2 and counters["per_params"]["listRouters"] == {"listall=true": 2}
    jobs = requests.get(f"{side}/jobs", timeout=5).json()
    assert jobs["jobs"][0]["command"] == "restartNetwork" and jobs["jobs"][0]["errortext"]
    assert jobs["stats"]["max_in_flight"]["restartNetwork"] == 1
    state = requests.get(f"{side}/state", timeout=5).json()
    assert len(state["routers"]) == 8 and state["managementserver"]["version"] == "4.18.0.0"
    assert requests.get(f"{side}/info", timeout=5).json()["url"] == sim.url
    router = state["routers"][0]["id"]
    admin.run("destroyRouter", id=router)
    assert requests.post(f"{side}/reset", timeout=5).json() == {"reset": True}
    assert router in {r["id"] for r in requests.get(f"{side}/state", timeout=5).json()["routers"]}
    assert requests.get(f"{side}/calls", timeout=5).json() == []
    assert requests.delete(f"{side}/faults", timeout=5).status_code == 200
    assert requests.get(f"{side}/nothing", timeout=5).status_code == 404


@pytest.mark.parametrize("kind", ["http_error", "connection_reset"])
def test_a_fault_after_the_request_loses_the_answer_but_the_job_runs(sim, admin, kind):
    router = router_by_network(admin, "acme-web")[0]
    sim.inject(kind=kind, api="rebootRouter", object=router["id"], status=502, count=1, when="after")
    if kind == "connection_reset":
        with pytest.raises(requests.RequestException):
            admin.raw("rebootRouter", id=router["id"])
    else:
        assert admin.raw("rebootRouter", id=router["id"]).status_code == 502
    sim.wait_jobs()
    assert [job["instanceid"] for job in sim.jobs() if job["command"] == "rebootRouter"] == [router["id"]]


def test_a_fault_before_the_request_leaves_no_job(sim, admin):
    router = router_by_network(admin, "acme-web")[0]
    sim.inject(kind="connection_reset", api="rebootRouter", object=router["id"], count=1)
    with pytest.raises(requests.RequestException):
        admin.raw("rebootRouter", id=router["id"])
    assert sim.jobs() == []


def test_http_error_carries_retry_after(sim, admin):
    sim.inject(kind="http_error", api="listZones", status=429, retry_after=7, count=1)
    response = admin.raw("listZones")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


def test_clock_skew_moves_the_date_header_the_expiry_check_and_job_times(sim, admin):
    from email.utils import parsedate_to_datetime

    sim.inject(kind="clock_skew", offset=-7200)
    response = admin.raw("listZones")
    assert response.status_code == 200
    assert abs(parsedate_to_datetime(response.headers["Date"]).timestamp() - (time.time() - 7200)) < 5
    jobid = admin.call("rebootRouter", id=router_by_network(admin, "acme-web")[0]["id"])["jobid"]
    created = admin.call("queryAsyncJobResult", jobid=jobid)["created"]
    # Two hours behind, to the second the format has (a comparison of the hour alone fails across a full hour).
    assert abs(datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").timestamp() - (time.time() - 7200)) < 5, created
    sim.clear_faults()
    sim.inject(kind="clock_skew", offset=3600)
    assert admin.raw("listZones").status_code == 401, "a signature that expires in 10 minutes has expired an hour ahead"


def test_startdate_of_listasyncjobs_reads_the_servers_clock_across_midnight(sim, admin):
    # The server's clock already in tomorrow while ours is not: a job created now is created tomorrow as the server
    # sees it, and a listAsyncJobs from tomorrow lists it (server/src/main/java/com/cloud/api/query/QueryManagerImpl.java,
    # searchForAsyncJobsInternal, 4.18.0.0: "created" GTEQ startDate, both in the server's clock).
    now = datetime.datetime.now(datetime.timezone.utc)
    tomorrow = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    sim.inject(kind="clock_skew", offset=(tomorrow - now).total_seconds() + 60)
    # Signatures without an expiry: those of version 3 would have expired on arrival this far ahead.
    admin.signature_version = 1
    jobid = admin.call("rebootRouter", id=router_by_network(admin, "acme-web")[0]["id"])["jobid"]
    listed = admin.call("listAsyncJobs", listall="true", startdate=tomorrow.strftime("%Y-%m-%d"))
    assert jobid in [job["jobid"] for job in listed.get("asyncjobs", [])]
    listed = admin.call("listAsyncJobs", listall="true", startdate=(tomorrow + datetime.timedelta(days=1)).strftime("%Y-%m-%d"))
    assert jobid not in [job["jobid"] for job in listed.get("asyncjobs", [])]


def test_when_is_refused_on_faults_it_does_not_apply_to(sim):
    with pytest.raises(FaultError, match="when applies to"):
        sim.inject(kind="job_failure", when="after")
    with pytest.raises(FaultError, match="before"):
        sim.inject(kind="http_error", when="during")


def test_the_job_log_gives_the_modelled_length_of_a_job_without_the_simulators_own_time(sim, admin):
    # The simulator's own log (/_sim/jobs), not an API answer: CloudStack has no such field.
    # DEFAULT_DURATIONS: a reboot stops (15-30 s) and starts (40-70 s) the router, at the fixture's time factor.
    jobid = admin.call("rebootRouter", id=router_by_network(admin, "acme-web")[0]["id"])["jobid"]
    sim.wait_jobs()
    job = next(job for job in sim.jobs() if job["jobid"] == jobid)
    factor = sim.cloud.time_factor
    assert 55 * factor <= job["modelled"] <= 100 * factor, job
    assert job["modelled"] <= job["end"] - job["start"] + 1e-6
