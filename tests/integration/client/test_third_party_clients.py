# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The clients operators already use, against the simulator with the sample cloud: the `cs` library (pip `cs`, the CLI and
library most CloudStack operators script with) and the ngine_io.cloudstack collection (from the `ansible` package).

If the simulator answers them as a real 4.18 management server would, it is not shaped after this collection alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cs import CloudStack, CloudStackApiException, CloudStackException

MS = "4.18.0.0"
BIN = Path(sys.executable).parent


@pytest.fixture
def sim(acs_sim):
    return acs_sim(topology="sample-cloud", time_factor=0.001)


def cs_client(sim, secret: str | None = None) -> CloudStack:
    return CloudStack(endpoint=sim.url, key=sim.admin_key, secret=secret or sim.admin_secret, fetch_result=True, poll_interval=0.01, job_timeout=120)


def test_cs_pages_through_the_fleet(sim):
    client = cs_client(sim)
    routers = client.listRouters(listall=True, fetch_list=True, pagesize=10)
    assert len(routers) == len(sim.state()["routers"]) == 41
    assert len({router["id"] for router in routers}) == 41
    pages = [call["params"]["page"] for call in sim.calls("listRouters")]
    assert pages == ["1", "2", "3", "4", "5"]
    # An empty list is {} with no count, which the library takes as the end.
    assert client.listRouters(listall=True, fetch_list=True, zoneid=routers[0]["zoneid"], state="Destroyed") == []


def test_cs_patches_every_system_vm(sim):
    """patchSystemVm jobs: a 4.13 template fails (job failure, errorcode 530), the others are patched; listSystemVms then shows
    the server's version as the agent's while the template stays (ApiResponseHelper, 4.18.0.0). The template listed is the
    new one for all (the upgrade repointed them, VMInstanceDaoImpl.updateSystemVmTemplateId): the agent's version before
    the patch tells the 4.13 ones."""
    client = cs_client(sim)
    outcomes = {}
    for vm in client.listSystemVms(fetch_list=True):
        try:
            outcomes[vm["name"]] = (vm["templatename"], vm["version"], client.patchSystemVm(id=vm["id"])["displaytext"])
        except CloudStackApiException as exc:
            outcomes[vm["name"]] = (vm["templatename"], vm["version"], exc.error["errorcode"])
    assert len(outcomes) == 6
    assert sorted(outcome for *listed, outcome in outcomes.values() if outcome == 530) == [530, 530]
    for template, agent, outcome in outcomes.values():
        assert template == "systemvm-kvm-4.18.0", "the upgrade repointed every system VM"
        if agent == "4.13.1.0":
            assert outcome == 530
        else:
            assert outcome.startswith("Successfully patched systemVM")
    after = {vm["name"]: vm for vm in client.listSystemVms(fetch_list=True)}
    for name, (template, agent, outcome) in outcomes.items():
        assert after[name]["templatename"] == template
        assert after[name]["version"] == (MS if outcome != 530 else agent)


def test_cs_live_patches_every_network_and_vpc(sim):
    """NetworkOrchestrator.restartNetwork / VpcManagerImpl.restartVpc, 4.18.0.0 and 4.19.3.0: a router whose patch fails (4.13
    template, the sample cloud's failing initech-net14) is skipped; the rules sent next are refused by the server
    (NetworkHelperImpl.checkRouterVersion), so restartNetwork fails ("Failed to restart network") while restartVPC, which
    ignores its tiers' results, succeeds; a Stopped router is started by the restart; what was patched shows in listRouters."""
    client = cs_client(sim)
    before = {router["id"]: router for router in client.listRouters(listall=True, fetch_list=True)}
    networks = [n for n in client.listNetworks(listall=True, fetch_list=True) if not n.get("vpcid")]
    vpcs = client.listVPCs(listall=True, fetch_list=True)
    unpatchable = {router.get("guestnetworkid") for router in before.values() if router["state"] == "Running" and router["version"] == "4.13.1"}
    unpatchable |= {n["id"] for n in networks if n["name"] == "initech-net14"}
    for network in networks:
        if network["id"] in unpatchable:
            with pytest.raises(CloudStackException, match="Failed to restart network"):
                client.restartNetwork(id=network["id"], livepatch=True)
        else:
            assert client.restartNetwork(id=network["id"], livepatch=True) == {"success": True}, network["name"]
    for vpc in vpcs:
        assert client.restartVPC(id=vpc["id"], livepatch=True) == {"success": True}, vpc["name"]
    assert len(networks) == 28 and len(vpcs) == 3 and 2 <= len(unpatchable) < len(networks)

    after = {router["id"]: router for router in client.listRouters(listall=True, fetch_list=True)}
    assert after.keys() == before.keys()
    patched = {rid for rid, router in after.items() if router["softwareversion"] == MS}
    patched_live = {
        rid
        for rid, router in before.items()
        if router["state"] == "Running"
        and router["version"] != "4.13.1"
        and router.get("guestnetworkname") != "initech-net14"
        and router.get("vpcname") != "hooli-vpc-empty"
    }
    started = {rid for rid, router in before.items() if router["state"] == "Stopped"}
    assert started and patched == patched_live | started
    assert all(after[rid]["state"] == "Running" and after[rid]["version"] == "4.18.0" for rid in started)
    patched -= started
    for rid in patched:
        assert after[rid]["requiresupgrade"] is False and after[rid]["version"] == before[rid]["version"], "a live patch keeps the template"
    for rid in set(after) - patched - started:
        assert after[rid]["scriptsversion"] == before[rid]["scriptsversion"]


def test_cs_reads_health_results_by_their_real_names(sim):
    client = cs_client(sim)
    routers = client.listRouters(listall=True, fetch_list=True, fetchhealthcheckresults=True, state="Running")
    names = {check["checkname"] for router in routers for check in router["healthcheckresults"]}
    assert {"dns_check.py", "dhcp_check.py", "router_version_check.py", "haproxy.service", "connectivity.test", "filesystem.writable.test"} <= names
    cached = client.getRouterHealthCheckResults(routerid=routers[0]["id"])["routerhealthchecks"]
    fresh = client.getRouterHealthCheckResults(routerid=routers[0]["id"], performfreshchecks=True)["routerhealthchecks"]
    assert {c["checkname"] for c in cached["healthchecks"]} == {c["checkname"] for c in fresh["healthchecks"]}


def test_cs_with_a_wrong_secret_gets_401(sim):
    with pytest.raises(CloudStackException) as raised:
        cs_client(sim, secret="not-the-secret").listZones()
    assert raised.value.response.status_code == 401
    assert raised.value.error["errortext"] == "unable to verify user credentials and/or request signature"
    assert [call["status"] for call in sim.calls("listZones")] == [401]


PLAYBOOK = textwrap.dedent(
    """\
    - name: ngine_io.cloudstack against the simulated management server
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Zones
          ngine_io.cloudstack.cs_zone_info:
          register: zones

        - name: Reboot one router the way an operator would
          ngine_io.cloudstack.cs_router:
            name: "{{ router_name }}"
            state: restarted
          register: rebooted

        - name: A network restart with the collection operators know
          ngine_io.cloudstack.cs_network:
            name: acme-net6
            zone: zone1
            account: acme
            domain: ROOT/customers
            state: restarted
          register: restarted

        - name: Report
          ansible.builtin.copy:
            content: "{{ {'zones': zones.zones | map(attribute='name') | list, 'rebooted': rebooted, 'restarted': restarted} | to_json }}"
            dest: "{{ report }}"
            mode: "0600"
    """
)


def run_ngine_io(sim, tmp_path: Path, secret: str, router_name: str) -> subprocess.CompletedProcess:
    (tmp_path / "playbook.yml").write_text(PLAYBOOK)
    env = dict(
        os.environ,
        PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
        CLOUDSTACK_ENDPOINT=sim.url,
        CLOUDSTACK_KEY=sim.admin_key,
        CLOUDSTACK_SECRET=secret,
        CLOUDSTACK_TIMEOUT="30",
        ANSIBLE_RETRY_FILES_ENABLED="false",
    )
    command = [
        str(BIN / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable, "router_name": router_name, "report": str(tmp_path / "report.json")}),
        "playbook.yml",
    ]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_ngine_io_cloudstack_runs_against_the_simulator(sim, tmp_path):
    # The router of acme-net6: rebooted, it runs the current template, so the server accepts the rules of the restart that
    # follows (an old router would refuse them, NetworkHelperImpl.checkRouterVersion, and fail the restart with 530).
    router = next(r for r in sim.state()["routers"] if r["state"] == "Running" and r.get("guestnetworkname") == "acme-net6")
    done = run_ngine_io(sim, tmp_path, sim.admin_secret, router["name"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["zones"] == ["zone1", "zone2", "zone3"]
    assert report["rebooted"]["changed"] is True and report["rebooted"]["state"] == "Running"
    assert report["restarted"]["changed"] is True
    assert [job["command"] for job in sim.jobs()] == ["rebootRouter", "restartNetwork"]
    assert all(job["jobstatus"] == 1 for job in sim.jobs())


def test_ngine_io_cloudstack_with_a_wrong_secret_fails_on_401(sim, tmp_path):
    done = run_ngine_io(sim, tmp_path, "not-the-secret", "r-1-VM")
    assert done.returncode != 0
    assert "401" in done.stdout and "unable to verify user credentials and/or request signature" in done.stdout
    assert "not-the-secret" not in done.stdout + done.stderr
    assert {call["status"] for call in sim.calls()} == {401}
