# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The simulator speaks only CloudStack 4.18's names: response fields, parameters, async vs sync (cloudstack-api-subset.json)."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from acs_sim.spec import params_for

SUBSET = json.loads((Path(__file__).resolve().parent.parent / "acs_sim" / "api_subset.json").read_text())

# CloudStack's object names inside each list response.
LIST_OBJECTS = {
    "listAccounts": "account", "listAsyncJobs": "asyncjobs", "listClusters": "cluster", "listConfigurations": "configuration",
    "listDomains": "domain", "listHosts": "host", "listImageStores": "imagestore", "listInternalLoadBalancerVMs": "internalloadbalancervm",
    "listManagementServers": "managementserver", "listNetworks": "network", "listPods": "pod", "listProjects": "project",
    "listRouters": "router", "listSystemVms": "systemvm", "listTemplates": "template", "listVPCs": "vpc", "listVolumes": "volume", "listZones": "zone",
}
SINGLE_OBJECTS = {"listCapabilities": "capability", "getRouterHealthCheckResults": "routerhealthchecks", "updateConfiguration": "configuration"}
JOB_OBJECTS = {**dict.fromkeys(("rebootRouter", "stopRouter", "startRouter", "destroyRouter"), "router"),
               **dict.fromkeys(("rebootSystemVm", "stopSystemVm", "startSystemVm", "destroySystemVm", "migrateSystemVm"), "systemvm")}


def assert_fields(api: str, obj: dict, prefix: str = "") -> None:
    allowed = set(SUBSET[api]["response"])
    for key, value in obj.items():
        name = prefix + key
        assert name in allowed, f"{api} emits {name!r}, which CloudStack 4.18 does not have"
        nested = any(f.startswith(name + ".") for f in allowed)
        if nested and isinstance(value, dict):
            assert_fields(api, value, name + ".")
        if nested and isinstance(value, list):
            for item in value:
                assert_fields(api, item, name + ".")


def check_response(api: str, inner: dict) -> None:
    if SUBSET[api]["isasync"]:
        assert set(inner) == {"jobid"}, f"{api} is async: it answers a jobid only"
        return
    if api in LIST_OBJECTS:
        assert set(inner) <= {"count", LIST_OBJECTS[api]}
        for item in inner.get(LIST_OBJECTS[api], []):
            assert_fields(api, item)
    elif api in SINGLE_OBJECTS:
        assert set(inner) == {SINGLE_OBJECTS[api]}
        assert_fields(api, inner[SINGLE_OBJECTS[api]])
    elif api == "upgradeRouterTemplate":
        assert set(inner) <= {"count", "asyncjobs"}
        for item in inner.get("asyncjobs", []):
            assert_fields(api, item)
    else:
        assert_fields(api, inner)


def check_job(api: str, job: dict) -> None:
    assert_fields("queryAsyncJobResult", job)
    assert job["jobstatus"] == 1, f"{api} job failed: {job.get('jobresult')}"
    result = job["jobresult"]
    wrapper = JOB_OBJECTS.get(api)
    if wrapper:
        assert set(result) == {wrapper}
        result = result[wrapper]
    assert_fields(api, result)


def test_every_api_answers_with_subset_names_only(sim, admin):
    state = sim.state()
    routers = {r["name"]: r for r in state["routers"]}
    by_net = {r.get("guestnetworkname"): r for r in state["routers"]}
    sysvms = {(v["zonename"], v["systemvmtype"]): v for v in state["systemvms"]}
    stopped = next(r for r in routers.values() if r["state"] == "Stopped")
    nets = {n["name"]: n["id"] for n in state["networks"]}
    vpcs = {v["name"]: v["id"] for v in state["vpcs"]}
    calls = {
        "destroyRouter": {"id": by_net["globex-zone2"]["id"]},
        "destroySystemVm": {"id": sysvms[("zone2", "consoleproxy")]["id"]},
        "getRouterHealthCheckResults": {"routerid": by_net["acme-web"]["id"], "performfreshchecks": True},
        "listAccounts": {"listall": True}, "listAsyncJobs": {"listall": True}, "listCapabilities": {}, "listClusters": {},
        "listConfigurations": {}, "listDomains": {"listall": True}, "listHosts": {}, "listImageStores": {},
        "listInternalLoadBalancerVMs": {}, "listManagementServers": {}, "listNetworks": {"listall": True}, "listPods": {}, "listProjects": {},
        "listRouters": {"listall": True, "fetchhealthcheckresults": True}, "listSystemVms": {}, "listTemplates": {"templatefilter": "all"},
        "listVPCs": {"listall": True}, "listVolumes": {"listall": True, "listsystemvms": True, "type": "ROOT"}, "listZones": {},
        "migrateSystemVm": {"virtualmachineid": sysvms[("zone1", "consoleproxy")]["id"]},
        "patchSystemVm": {"id": sysvms[("zone1", "secondarystoragevm")]["id"]},
        "queryAsyncJobResult": None,
        "rebootRouter": {"id": by_net["shared-guest"]["id"]},
        "rebootSystemVm": {"id": sysvms[("zone2", "secondarystoragevm")]["id"], "forced": True},
        "restartNetwork": {"id": nets["acme-web"], "livepatch": True},
        "restartVPC": {"id": vpcs["acme-vpc"], "livepatch": True},
        "startRouter": {"id": stopped["id"]},
        "startSystemVm": None,
        "stopRouter": {"id": next(r["id"] for r in routers.values() if r.get("vpcname") == "acme-vpc")},
        "stopSystemVm": None,
        "updateConfiguration": {"name": "router.health.checks.basic.interval", "value": "3"},
        "upgradeRouterTemplate": {"zoneid": state["zones"][0]["id"]},
    }
    assert set(calls) == set(SUBSET), "every API of the subset is exercised"
    last_job = None
    for api, params in calls.items():
        if params is None:
            continue
        inner = admin.call(api, **params)
        check_response(api, inner)
        if SUBSET[api]["isasync"]:
            last_job = inner["jobid"]
            check_job(api, admin.wait(last_job))
    check_response("queryAsyncJobResult", admin.call("queryAsyncJobResult", jobid=last_job))
    ssvm = sysvms[("zone1", "secondarystoragevm")]["id"]
    check_job("stopSystemVm", admin.run("stopSystemVm", id=ssvm))
    check_job("startSystemVm", admin.run("startSystemVm", id=ssvm))
    pending = admin.call("restartNetwork", id=nets["acme-db"], cleanup=True)["jobid"]
    assert_fields("queryAsyncJobResult", admin.call("queryAsyncJobResult", jobid=pending))
    sim.wait_jobs()
    for job in admin.call("listAsyncJobs", listall=True)["asyncjobs"]:
        assert_fields("listAsyncJobs", job)


def _value(spec: dict) -> str:
    return {"uuid": str(uuid.uuid4()), "boolean": "false", "integer": "1", "long": "1", "short": "1", "date": "2026-01-01"}.get(spec["type"], "x")


@pytest.mark.parametrize("api", sorted(SUBSET))
def test_every_subset_parameter_is_known_and_others_are_counted(acs_sim, api):
    """ParamGenericValidationWorker, 4.18.0.0: a parameter the command does not declare is only logged, never refused;
    the simulator counts it in /_sim/counters so that tests can refuse it."""
    sim = acs_sim(topology="small", time_factor=0.0005, allow_unknown_params=True)
    admin = sim.client("admin")
    for name, spec in params_for(api, "4.18.0.0").items():
        admin.raw(api, **{name: _value(spec)})
    assert sim.counters()["unknown_params"] == {}, f"{api} does not know one of its own parameters"
    with_unknown = admin.raw(api, notaparameter="1")
    without = admin.raw(api)
    assert with_unknown.status_code == without.status_code, "an unknown parameter changed the answer"
    assert sim.counters()["unknown_params"] == {api: {"notaparameter": 1}}


def test_async_flag_matches_the_subset(sim, admin):
    """Async commands answer a job id; sync ones answer at once (checked on commands that succeed with only their id)."""
    state = sim.state()
    router = state["routers"][0]["id"]
    assert set(admin.call("rebootRouter", id=router)) == {"jobid"}
    assert "jobid" not in admin.call("getRouterHealthCheckResults", routerid=router)
    assert SUBSET["rebootRouter"]["isasync"] and not SUBSET["getRouterHealthCheckResults"]["isasync"]
    sim.wait_jobs()
