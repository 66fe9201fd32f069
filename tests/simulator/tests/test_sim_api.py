# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Envelopes, errors, paging and who sees what."""
from __future__ import annotations


import time

import pytest

NOT_AVAILABLE = "The given command does not exist or it is not available for user"


def test_list_envelope_has_count_and_objects(admin):
    body = admin.raw("listRouters", listall=True).json()
    inner = body["listroutersresponse"]
    assert inner["count"] == 8 == len(inner["router"])


def test_empty_list_is_an_empty_object(admin):
    assert admin.raw("listRouters", listall=True, state="Migrating").json() == {"listroutersresponse": {}}


def test_unknown_command_is_432(admin):
    response = admin.raw("deployVirtualMachine")
    assert response.status_code == 432
    assert response.json() == {"deployvirtualmachineresponse": {"uuidList": [], "errorcode": 432, "cserrorcode": 9999, "errortext": NOT_AVAILABLE}}


@pytest.mark.parametrize("api", ["listRouters", "listSystemVms", "patchSystemVm", "upgradeRouterTemplate", "rebootRouter", "stopSystemVm",
                                 "getRouterHealthCheckResults", "listHosts", "listConfigurations"])
def test_admin_only_apis_refuse_a_user_key(user, api):
    response = user.raw(api)
    assert response.status_code == 432
    assert response.json()[f"{api.lower()}response"]["errortext"] == NOT_AVAILABLE


def test_user_sees_only_his_account(user, admin):
    nets = user.call("listNetworks", listall=True)["network"]
    assert {n["account"] for n in nets} == {"acme"}
    assert len(admin.call("listNetworks", listall=True)["network"]) > len(nets)


def test_admin_without_listall_sees_only_his_own_account(admin):
    routers = admin.call("listRouters")["router"]
    assert {r["account"] for r in routers} == {"admin"}
    assert admin.call("listRouters", listall=True)["count"] == 8


def test_domain_and_account_filters(admin):
    customers = next(d for d in admin.call("listDomains", listall=True)["domain"] if d["name"] == "customers")
    routers = admin.call("listRouters", domainid=customers["id"], account="globex")["router"]
    assert {r["account"] for r in routers} == {"globex"} and len(routers) == 3
    bad = admin.raw("listRouters", domainid=customers["id"], account="nobody")
    assert bad.status_code == 431


def test_missing_required_parameter_is_431(admin):
    response = admin.raw("restartNetwork")
    assert response.status_code == 431
    inner = response.json()["restartnetworkresponse"]
    assert inner["errorcode"] == 431 and inner["cserrorcode"] == 4350
    assert inner["errortext"] == "Unable to execute API command restartnetwork due to missing parameter id"


@pytest.mark.parametrize("value", ["not-a-uuid", "5b0c3b8e-0000-4000-8000-000000000000"])
def test_bad_uuid_is_431(admin, value):
    response = admin.raw("rebootRouter", id=value)
    assert response.status_code == 431
    assert f"Invalid parameter id value={value}" in response.json()["rebootrouterresponse"]["errortext"]


def test_uuid_of_the_wrong_kind_is_431(sim, admin):
    vpc = sim.state()["vpcs"][0]["id"]
    assert admin.raw("restartNetwork", id=vpc).status_code == 431


def test_bad_integer_is_431(admin):
    assert admin.raw("listRouters", listall=True, page="one").status_code == 431


def test_json_only(sim):
    from acs_sim.signing import sign
    import requests

    signed = sign({"command": "listZones"}, sim.admin_key, sim.admin_secret)
    response = requests.get(sim.url, params=signed, timeout=5)
    assert response.status_code == 431


def test_paging(admin):
    first = admin.call("listRouters", listall=True, page=1, pagesize=3)
    second = admin.call("listRouters", listall=True, page=2, pagesize=3)
    third = admin.call("listRouters", listall=True, page=3, pagesize=3)
    assert first["count"] == second["count"] == third["count"] == 8
    ids = [r["id"] for page in (first, second, third) for r in page["router"]]
    assert len(ids) == len(set(ids)) == 8
    assert admin.call("listRouters", listall=True, page=4, pagesize=3) == {"count": 8}
    assert len(admin.call("listRouters", listall=True, pagesize=-1)["router"]) == 8


def test_page_size_limits(admin):
    assert admin.raw("listRouters", listall=True, pagesize=501).status_code == 431
    assert admin.raw("listRouters", listall=True, pagesize=0).status_code == 431
    assert admin.raw("listRouters", listall=True, page=0, pagesize=10).status_code == 431


def test_default_page_size_is_500(acs_sim):
    sim = acs_sim(topology={"zones": [{"name": "z"}], "networks": [{"name": f"n{i}", "zone": "z"} for i in range(520)]})
    client = sim.client()
    inner = client.call("listRouters", listall=True)
    assert inner["count"] == 520 and len(inner["router"]) == 500
    assert len(client.call("listRouters", listall=True, page=2)["router"]) == 20


def test_page_size_follows_default_page_size(acs_sim):
    """BaseListCmd.getPageSize (4.18.0.0): default.page.size bounds every page, and -1 lifts the bound."""
    networks = [{"name": f"n{i}", "zone": "z"} for i in range(30)]
    small = acs_sim(topology={"zones": [{"name": "z"}], "networks": networks, "configurations": {"default.page.size": 20}}).client()
    refused = small.raw("listRouters", listall=True, pagesize=500)
    assert refused.status_code == 431
    assert "Page size can't exceed max allowed page size value: 20" in refused.json()["listroutersresponse"]["errortext"]
    assert len(small.call("listRouters", listall=True)["router"]) == 20
    unlimited = acs_sim(topology={"zones": [{"name": "z"}], "networks": networks, "configurations": {"default.page.size": -1}}).client()
    assert len(unlimited.call("listRouters", listall=True, page=1, pagesize=500)["router"]) == 30
    assert unlimited.raw("listRouters", listall=True, page=1, pagesize=-1).status_code == 431


def test_router_filters(sim, admin):
    state = sim.state()
    zone1 = next(z["id"] for z in state["zones"] if z["name"] == "zone1")
    assert all(r["zonename"] == "zone1" for r in admin.call("listRouters", listall=True, zoneid=zone1)["router"])
    assert {r["state"] for r in admin.call("listRouters", listall=True, state="stopped")["router"]} == {"Stopped"}
    assert {r["version"] for r in admin.call("listRouters", listall=True, version="4.14")["router"]} == {"4.14.1"}
    assert all(r.get("vpcid") for r in admin.call("listRouters", listall=True, forvpc=True)["router"])
    cluster = admin.call("listClusters", name="zone1-cluster1")["cluster"][0]["id"]
    in_cluster = admin.call("listRouters", listall=True, clusterid=cluster)["router"]
    assert in_cluster and all(r["state"] == "Running" and r["zonename"] == "zone1" for r in in_cluster)
    tier = next(n for n in state["networks"] if n["name"] == "acme-vpc-web")
    vpc_routers = admin.call("listRouters", listall=True, networkid=tier["id"])["router"]
    assert [r["vpcname"] for r in vpc_routers] == ["acme-vpc"]
    # router_version_check.py passes on outdated routers (it compares the router with its own record), so the routers
    # of the topology without injected failing checks are the ones healthchecksfailed=false lists.
    healthy = admin.call("listRouters", listall=True, healthchecksfailed=False)["router"]
    failing = admin.call("listRouters", listall=True, healthchecksfailed=True).get("router", [])
    assert healthy and all(not r["healthchecksfailed"] for r in healthy)
    assert len(healthy) + len(failing) == len(admin.call("listRouters", listall=True)["router"])


def test_infrastructure_lists(admin):
    zones = admin.call("listZones")["zone"]
    zone1 = next(z for z in zones if z["name"] == "zone1")
    assert [p["name"] for p in admin.call("listPods", zoneid=zone1["id"])["pod"]] == ["zone1-pod1"]
    assert [c["name"] for c in admin.call("listClusters", zoneid=zone1["id"])["cluster"]] == ["zone1-cluster1"]
    assert sorted(h["name"] for h in admin.call("listHosts", zoneid=zone1["id"])["host"]) == ["kvm1", "kvm2"]
    assert admin.call("listHosts", type="SecondaryStorage") == {}
    assert {a["name"] for a in admin.call("listAccounts", listall=True)["account"]} == {"admin", "acme", "globex"}
    assert [d["name"] for d in admin.call("listDomains")["domain"]] == ["ROOT"]
    assert admin.call("listManagementServers")["managementserver"][0]["version"] == "4.18.0.0"
    assert admin.call("listCapabilities")["capability"]["cloudstackversion"] == "4.18.0.0"
    assert admin.call("listProjects") == {}


def test_vpcs_and_networks(user, admin):
    vpcs = {v["name"]: v for v in admin.call("listVPCs", listall=True)["vpc"]}
    assert [n["name"] for n in vpcs["acme-vpc"]["network"]] == ["acme-vpc-web", "acme-vpc-app"]
    assert vpcs["globex-vpc-empty"]["network"] == []
    assert [v["name"] for v in user.call("listVPCs")["vpc"]] == ["acme-vpc"]
    shared = admin.call("listNetworks", listall=True, type="Shared")["network"]
    assert [n["name"] for n in shared] == ["shared-guest"]


def test_configurations(admin):
    found = admin.call("listConfigurations", name="router.health.checks.enabled")["configuration"]
    assert [(c["name"], c["value"]) for c in found] == [("router.health.checks.enabled", "true")]
    updated = admin.call("updateConfiguration", name="router.health.checks.enabled", value="false")["configuration"]
    assert updated["value"] == "false"
    assert admin.raw("updateConfiguration", name="no.such.setting", value="1").status_code == 431


def test_query_job_of_another_account_is_refused(sim, admin, user):
    router = sim.state()["routers"][0]["id"]
    jobid = admin.call("rebootRouter", id=router)["jobid"]
    response = user.raw("queryAsyncJobResult", jobid=jobid)
    assert response.status_code == 531
    assert user.call("listAsyncJobs") == {}
    sim.wait_jobs()


def test_list_async_jobs_is_paged_and_per_caller(sim, admin, user):
    net = user.call("listNetworks")["network"][0]["id"]
    user_job = user.call("restartNetwork", id=net)["jobid"]
    for router in sim.state()["routers"][:3]:
        admin.call("rebootRouter", id=router["id"])
    sim.wait_jobs()
    assert [j["jobid"] for j in user.call("listAsyncJobs")["asyncjobs"]] == [user_job]
    assert admin.call("listAsyncJobs")["count"] == 3
    assert admin.call("listAsyncJobs", listall=True)["count"] == 4
    assert len(admin.call("listAsyncJobs", listall=True, page=2, pagesize=3)["asyncjobs"]) == 1


def test_list_async_jobs_startdate_is_a_day(sim, admin):
    admin.call("rebootRouter", id=sim.state()["routers"][0]["id"])
    sim.wait_jobs()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert admin.call("listAsyncJobs", listall=True, startdate=f"{today}T23:59:59+0000")["count"] == 1
    assert admin.call("listAsyncJobs", listall=True, startdate="2999-01-01") == {}
    assert admin.raw("listAsyncJobs", startdate="yesterday").status_code == 431


def test_list_async_jobs_is_in_creation_order_and_counts_past_its_last_page(sim, admin):
    """QueryManagerImpl.searchForAsyncJobsInternal (4.18.0.0) sorts by the job's id ascending (``new
    Filter(AsyncJobJoinVO.class, "id", true, startIndex, pageSize)``), that is by creation; searchAndCount gives the
    count of the whole list with any page, one past the end included (ApiResponseSerializer writes a non-zero count)."""
    created = [admin.call("rebootRouter", id=router["id"])["jobid"] for router in sim.state()["routers"][:5]]
    sim.wait_jobs()
    assert [job["jobid"] for job in admin.call("listAsyncJobs", listall=True)["asyncjobs"]] == created
    assert [job["jobid"] for job in admin.call("listAsyncJobs", listall=True, page=2, pagesize=2)["asyncjobs"]] == created[2:4]
    assert admin.call("listAsyncJobs", listall=True, page=4, pagesize=2) == {"count": 5}


def test_user_cannot_restart_a_network_of_another_account(sim, user):
    other = next(n["id"] for n in sim.state()["networks"] if n["account"] == "globex")
    response = user.raw("restartNetwork", id=other)
    assert response.status_code == 531


def test_list_templates_lists_each_template_per_zone_with_its_download_state(acs_sim):
    """TemplateJoinDaoImpl (4.18.0.0) joins template_zone_ref: listTemplates templatefilter=all lists a template once per zone
    (showunique=false), with that zone's isready; a template registered per zone has an id of its own in each."""
    topology = {"managementserver": {"version": "4.18.0.0"},
                "zones": [{"name": "z1"}, {"name": "z2", "systemvm_template": {"state": "Downloading"}},
                          {"name": "z3", "systemvm_template": {"per_zone": True}}]}
    sim = acs_sim(topology=topology, time_factor=0.001)
    listed = sim.client("admin").call("listTemplates", templatefilter="all")["template"]
    current = {item["zonename"]: item for item in listed if item["name"] == "systemvm-kvm-4.18.0"}
    assert sorted(current) == ["z1", "z2", "z3"]
    assert current["z1"]["isready"] and not current["z2"]["isready"] and current["z2"]["status"] == "35% Downloaded"
    assert current["z1"]["crossZones"] and not current["z3"]["crossZones"] and current["z3"]["id"] != current["z1"]["id"]


def test_list_templates_lists_the_release_template_of_every_hypervisor_in_use(acs_sim):
    """SystemVmTemplateRegistration registers the release's template for each hypervisor of the clusters in use (cross-zone,
    so listed in every zone); a zone may still be downloading one hypervisor's."""
    topology = {"managementserver": {"version": "4.18.0.0"},
                "zones": [{"name": "z1"},
                          {"name": "z2", "pods": [{"name": "p2", "clusters": [{"name": "c2", "hosts": ["kvm2", {"name": "esx1", "hypervisor": "VMware"}]}]}],
                           "systemvm_template": {"hypervisors": {"VMware": "Downloading"}}}]}
    sim = acs_sim(topology=topology, time_factor=0.001)
    listed = sim.client("admin").call("listTemplates", templatefilter="all")["template"]
    current = {(item["zonename"], item["hypervisor"]): item for item in listed if item["name"].endswith("-4.18.0")}
    assert sorted(current) == [("z1", "KVM"), ("z1", "VMware"), ("z2", "KVM"), ("z2", "VMware")]
    assert current[("z1", "VMware")]["name"] == "systemvm-vmware-4.18.0" and current[("z1", "VMware")]["format"] == "OVA"
    assert current[("z1", "VMware")]["id"] == current[("z2", "VMware")]["id"] != current[("z1", "KVM")]["id"]
    assert current[("z1", "VMware")]["isready"] and current[("z2", "KVM")]["isready"] and not current[("z2", "VMware")]["isready"]
