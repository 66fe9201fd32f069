# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The acs.upgrade.cloudstack inventory plugin through ansible-inventory, as a user or an AWX inventory source runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def unsafe(value):
    """ansible-inventory --list marks the strings the plugin got from the API as unsafe: {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: unsafe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unsafe(item) for item in value]
    return value


def inventory(source: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CLOUDSTACK_")}
    environment.update(env or {})
    done = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), *args], capture_output=True, text=True, env=environment, check=False)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


_CORE = tuple(int(part) for part in __import__("ansible.release", fromlist=["x"]).__version__.split(".")[:2])


def _flush_with_playbook(source: Path, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    playbook = tmp_path / "noop.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks: []\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CLOUDSTACK_")}
    environment.update(env)
    command = [str(BIN / "ansible-playbook"), "-i", str(source), "--flush-cache", str(playbook)]
    return subprocess.run(command, capture_output=True, text=True, env=environment, check=False)


def flat(text: str) -> str:
    """The text without whitespace: older ansible-core cores wrap warnings (and the words in them) at 80 columns."""
    return "".join(text.split())


def credentials(sim) -> dict[str, str]:
    return {"CLOUDSTACK_ENDPOINT": sim.url, "CLOUDSTACK_KEY": sim.admin_key, "CLOUDSTACK_SECRET": sim.admin_secret}


def listed(source: Path, env: dict[str, str]) -> tuple[dict, dict[str, list[str]]]:
    data = unsafe(json.loads(inventory(source, "--list", env=env).stdout))
    hostvars = data.pop("_meta")["hostvars"]
    groups = {name: sorted(group.get("hosts", [])) for name, group in data.items()}
    return hostvars, groups


def test_routers_and_system_vms_are_hosts_grouped_by_placement_owner_role_version_and_network(acs_sim, tmp_path):
    sim = acs_sim(topology="small")
    state = sim.state()
    source = tmp_path / "cloud.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\n")
    hostvars, groups = listed(source, credentials(sim))

    routers = {router["name"]: router for router in state["routers"]}
    systemvms = {vm["name"]: vm for vm in state["systemvms"]}
    assert set(hostvars) == set(routers) | set(systemvms)
    assert groups["cloudstack_routers"] == sorted(routers)
    assert groups["cloudstack_ssvm"] == sorted(name for name, vm in systemvms.items() if vm["systemvmtype"] == "secondarystoragevm")
    assert groups["cloudstack_cpvm"] == sorted(name for name, vm in systemvms.items() if vm["systemvmtype"] == "consoleproxy")
    for zone in state["zones"]:
        expected = sorted(name for name, vm in {**routers, **systemvms}.items() if vm["zoneid"] == zone["id"])
        assert groups["cloudstack_zone_%s" % zone["name"]] == expected
    assert groups["cloudstack_requiresupgrade"] == sorted(name for name, router in routers.items() if router["requiresupgrade"])
    assert groups["cloudstack_role_backup"] == sorted(name for name, r in routers.items() if r["isredundantrouter"] and r["redundantstate"] == "BACKUP")
    assert groups["cloudstack_role_primary"] == sorted(name for name, r in routers.items() if r["isredundantrouter"] and r["redundantstate"] == "PRIMARY")
    assert groups["cloudstack_network_acme_web"] == sorted(name for name, router in routers.items() if router.get("guestnetworkname") == "acme-web")
    assert groups["cloudstack_vpc_acme_vpc"]
    assert groups["cloudstack_account_ROOT_customers_acme"]
    for version in {router["version"] for router in routers.values()}:
        assert groups["cloudstack_template_%s" % version.replace(".", "_")] == sorted(n for n, r in routers.items() if r["version"] == version)

    name, router = next((name, router) for name, router in routers.items() if router["isredundantrouter"])
    variables = hostvars[name]
    assert variables["acs"]["kind"] == "router"
    assert variables["acs"]["id"] == router["id"]
    assert variables["acs"]["state"] == router["state"]
    assert variables["acs"]["version"] == router["version"]
    assert variables["acs"]["software_version"] == router["softwareversion"]
    assert variables["acs"]["role"] == router["redundantstate"]
    assert variables["acs"]["requiresupgrade"] is router["requiresupgrade"]
    assert variables["acs"]["health"] == ("failing" if router["healthchecksfailed"] else "passing")
    assert variables["acs"]["unit"] in ("network:%s" % router["guestnetworkid"], "vpc:%s" % router.get("vpcid"))
    # The link-local address: reachable from the router's hypervisor host, the jump of source=local health checks.
    assert variables["ansible_host"] == router["linklocalip"]
    hosts = {host["id"]: host for host in sim.client().call("listHosts", type="Routing")["host"]}
    assert variables["acs"]["host_ip"] == hosts[router["hostid"]]["ipaddress"]
    assert hostvars[next(iter(systemvms))]["acs"]["kind"] in ("ssvm", "cpvm")


def test_constructed_groups_and_variables_then_the_cache_answers_without_the_api(acs_sim, tmp_path):
    sim = acs_sim(topology="small")
    source = tmp_path / "zone1.cloudstack.yml"
    source.write_text(
        "plugin: acs.upgrade.cloudstack\n"
        "zone: zone1\n"
        "include_systemvms: false\n"
        "cache: true\n"
        "cache_plugin: ansible.builtin.jsonfile\n"
        "cache_connection: %s\n"
        "keyed_groups:\n"
        "  - key: acs.account\n"
        "    prefix: owner\n"
        "groups:\n"
        "  before_4_15: acs.version is version('4.15', '<')\n"
        "compose:\n"
        "  ansible_port: \"3922\"\n"
        "  ansible_ssh_common_args: \"'-J root@' ~ acs.host_ip\"\n" % (tmp_path / "cache")
    )
    hostvars, groups = listed(source, credentials(sim))
    routers = {router["name"]: router for router in sim.state()["routers"] if router["zonename"] == "zone1"}
    assert set(hostvars) == set(routers)
    assert groups["before_4_15"] == sorted(name for name, router in routers.items() if tuple(map(int, router["version"].split(".")[:2])) < (4, 15))
    assert groups["owner_acme"] == sorted(name for name, router in routers.items() if router["account"] == "acme")
    # An integer from ansible-core 2.19 on (native types), a string before.
    assert {int(variables["ansible_port"]) for variables in hostvars.values()} == {3922}
    running = [variables for variables in hostvars.values() if variables["acs"]["state"] == "Running"]
    assert running and all(variables["ansible_ssh_common_args"] == "-J root@%s" % variables["acs"]["host_ip"] for variables in running)
    cached = list((tmp_path / "cache").iterdir())
    assert cached and sim.admin_secret not in cached[0].read_text()

    calls = len(sim.calls())
    again = listed(source, credentials(sim))[0]
    assert again == hostvars and len(sim.calls()) == calls
    # ansible-inventory has --flush-cache from ansible-core 2.17; before, ansible-playbook's --flush-cache refreshes it.
    flush = ("--list", "--flush-cache") if _CORE >= (2, 17) else ()
    refreshed = inventory(source, *flush, env=credentials(sim)) if flush else _flush_with_playbook(source, tmp_path, credentials(sim))
    assert refreshed.returncode == 0 and len(sim.calls()) > calls

    # The same file pointed at another cloud (another region's endpoint) reads that cloud: never the first one's cache.
    other = acs_sim(topology="small", generate="zones=1,routers=3")
    source.write_text(source.read_text().replace("zone: zone1\n", ""))
    first = listed(source, credentials(sim))[0]
    elsewhere = listed(source, credentials(other))[0]
    assert other.calls("listRouters") and set(elsewhere) == {router["name"] for router in other.state()["routers"]} != set(first)


def test_connection_from_cloudstack_ini_and_a_clear_error_without_the_secret(acs_sim, tmp_path):
    sim = acs_sim(topology="small")
    ini = tmp_path / "cloudstack.ini"
    ini.write_text("[lab]\nendpoint = %s\nkey = %s\nsecret = %s\n" % (sim.url, sim.admin_key, sim.admin_secret))
    source = tmp_path / "lab.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\napi_region: lab\ninclude_routers: false\n")
    hostvars, groups = listed(source, {"CLOUDSTACK_CONFIG": str(ini)})
    assert set(hostvars) == {vm["name"] for vm in sim.state()["systemvms"]}
    assert "cloudstack_routers" not in groups

    wrong = "not-the-secret-0123"
    ini.write_text("[lab]\nendpoint = %s\nkey = %s\nsecret = %s\n" % (sim.url, sim.admin_key, wrong))
    failed = inventory(source, "--list", env={"CLOUDSTACK_CONFIG": str(ini), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}, check=False)
    assert failed.returncode != 0
    assert flat("acs.upgrade.cloudstack inventory cannot read the fleet") in flat(failed.stderr)
    assert wrong not in flat(failed.stdout + failed.stderr)

    missing = inventory(source, "--list", env={"CLOUDSTACK_CONFIG": str(tmp_path / "none.ini"), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}, check=False)
    assert missing.returncode != 0 and flat("missing CloudStack connection settings: api_url, api_key, api_secret") in flat(missing.stderr)


@pytest.mark.parametrize("routers", [10000])
def test_ten_thousand_routers_are_read_with_paging(acs_sim, tmp_path, routers):
    """The figure (wall time) is printed, not asserted; see tests/benchmarks/bench_inventory.py."""
    sim = acs_sim(topology="small", generate="zones=4,routers=%d,redundant=0.2" % routers)
    source = tmp_path / "big.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\ninclude_systemvms: false\n")
    started = time.perf_counter()
    graph = inventory(source, "--graph", "cloudstack_routers", env=credentials(sim)).stdout
    print("ansible-inventory --graph of %d routers: %.1f s" % (routers, time.perf_counter() - started))
    assert sum(1 for line in graph.splitlines() if line.strip(" |-").startswith("r-")) == routers
    pages = sim.calls("listRouters")
    assert len(pages) == -(-routers // 500)


def test_an_unreachable_endpoint_is_named_without_the_secret_or_the_signed_url(tmp_path):
    """The error of a management server that does not answer (connection refused) names it, not the signed request."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = "http://127.0.0.1:%d/client/api" % port
    key, secret = "the-api-key-4711", "the-secret-key-0815"
    source = tmp_path / "down.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\napi_timeout: 2\n")
    env = {"CLOUDSTACK_ENDPOINT": endpoint, "CLOUDSTACK_KEY": key, "CLOUDSTACK_SECRET": secret, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    failed = inventory(source, "--list", "-vvv", env=env, check=False)
    output = flat(failed.stdout + failed.stderr)
    assert failed.returncode != 0
    assert flat("acs.upgrade.cloudstack inventory cannot read the fleet") in output and flat("no answer from the management server at %s" % endpoint) in output
    for leak in (secret, key, "signature", "apikey", "command=listCapabilities"):
        assert leak not in output, leak


def test_filters_take_lists_and_include_and_exclude_entries_as_an_awx_source_would_set_them(acs_sim, tmp_path):
    sim = acs_sim(topology="small")
    state = sim.state()
    routers = {router["name"]: router for router in state["routers"]}
    systemvms = {vm["name"]: vm for vm in state["systemvms"]}
    zones = sorted({vm["zonename"] for vm in [*routers.values(), *systemvms.values()]})
    assert len(zones) >= 2
    source = tmp_path / "filtered.cloudstack.yml"
    # The routers of every zone but Stopped ones, and the SSVM of the first zone; one value or a list per key.
    source.write_text(
        "plugin: acs.upgrade.cloudstack\n"
        "filters:\n  zones: [%s]\n  kinds: router\n"
        "include_filters:\n  - {zones: %s, kinds: [ssvm]}\n"
        "exclude_filters:\n  - {states: [stopped]}\n" % (", ".join(zones), zones[0])
    )
    hostvars, groups = listed(source, credentials(sim))
    expected = {name for name, router in routers.items() if router["state"] != "Stopped"}
    expected |= {name for name, vm in systemvms.items() if vm["zonename"] == zones[0] and vm["systemvmtype"] == "secondarystoragevm"}
    assert set(hostvars) == expected
    assert any(router["state"] == "Stopped" for router in routers.values())

    # Names and ids alike; hypervisors in any case.
    first = next(iter(sorted(routers)))
    source.write_text("plugin: acs.upgrade.cloudstack\nfilters:\n  names: [%s, %s]\n  hypervisors: kvm\n" % (first, systemvms[next(iter(systemvms))]["id"]))
    assert set(listed(source, credentials(sim))[0]) == {first, next(iter(systemvms))}

    source.write_text("plugin: acs.upgrade.cloudstack\nfilters:\n  zone_names: [zone1]\n")
    wrong = inventory(source, "--list", env=dict(credentials(sim), ANSIBLE_INVENTORY_UNPARSED_FAILED="true"), check=False)
    assert wrong.returncode != 0 and flat("filters has the unknown key(s) zone_names; the keys are zones, pods") in flat(wrong.stderr)


def test_hosts_carry_their_hypervisor_and_a_stopped_router_has_no_address_to_connect_to(acs_sim, tmp_path):
    sim = acs_sim(topology="small")
    state = sim.state()
    source = tmp_path / "cloud.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\n")
    hostvars, groups = listed(source, credentials(sim))
    every = {vm["name"]: vm for vm in [*state["routers"], *state["systemvms"]]}
    for name, vm in every.items():
        assert hostvars[name]["acs"]["hypervisor"] == vm["hypervisor"]
    for hypervisor in {vm["hypervisor"] for vm in every.values()}:
        assert groups["cloudstack_hypervisor_%s" % hypervisor.lower()] == sorted(name for name, vm in every.items() if vm["hypervisor"] == hypervisor)
    stopped = [name for name, vm in every.items() if vm["state"] == "Stopped"]
    # CloudStack (and the simulator) may still list the last link-local address of a Stopped router.
    assert stopped and all(every[name].get("linklocalip") for name in stopped)
    for name, vm in every.items():
        if vm["state"] == "Running":
            assert hostvars[name]["ansible_host"] == vm["linklocalip"]
        else:
            assert "ansible_host" not in hostvars[name], name


def test_missing_settings_name_the_inventory_file_and_the_environment_not_module_defaults(tmp_path):
    source = tmp_path / "region.cloudstack.yml"
    source.write_text("plugin: acs.upgrade.cloudstack\n")
    env = {"CLOUDSTACK_CONFIG": str(tmp_path / "none.ini"), "HOME": str(tmp_path), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    missing = inventory(source, "--list", env=env, check=False)
    message = flat(missing.stderr)
    assert missing.returncode != 0
    assert flat("acs.upgrade.cloudstack inventory %s: missing CloudStack connection settings: api_url, api_key, api_secret" % source) in message
    assert flat("in the inventory file (api_url, api_key, api_secret)") in message
    assert flat("CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY and CLOUDSTACK_SECRET") in message
    assert "module_defaults" not in message
