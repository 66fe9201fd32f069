# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Health checks inside the router follow CloudStack's contract and report real failures."""
from __future__ import annotations

import json

from integration.router.helpers import sh, vm

# Named as a real server stores them (VirtualNetworkApplianceManagerImpl, 4.18.0.0): script file names, the monitored
# services as "<service>.service", and the server's own connectivity.test and filesystem.writable.test.
BASIC = {"cpu_usage_check.py", "memory_usage_check.py", "disk_space_check.py", "router_version_check.py", "gateways_check.py",
         "dnsmasq.service", "apache2.service", "haproxy.service", "connectivity.test", "filesystem.writable.test"}
ADVANCED = {"dns_check.py", "dhcp_check.py", "haproxy_check.py", "iptables_check.py"}


def by_name(results: list[dict]) -> dict[str, dict]:
    return {result["checkname"]: result for result in results}


def test_all_checks_pass_on_a_healthy_router(backend):
    router = vm("r-20-VM")
    backend.create_vm(router)
    results = by_name(backend.health_checks(router, fresh=True))
    assert {name for name, r in results.items() if r["checktype"] == "basic"} == BASIC
    assert {name for name, r in results.items() if r["checktype"] == "advanced"} == ADVANCED
    failed = {name: r["details"] for name, r in results.items() if not r["success"]}
    assert failed == {}


def test_results_files_follow_the_monitor_format(backend):
    router = vm("r-21-VM")
    backend.create_vm(router)
    name = backend.container(router)
    basic = json.loads(sh(name, "cat /root/basic_monitor_results.json").stdout)
    assert set(basic["lastRun"]) == {"start", "end", "duration"}
    check = basic["router_version_check.py"]
    assert check["success"] == "true"
    assert isinstance(check["lastUpdate"], int) and isinstance(check["lastRunDuration"], int)
    assert "scripts signature" in check["message"]
    # a check prints nothing for the other type and is then not listed there
    assert "dns_check.py" not in basic
    assert sh(name, "/root/health_checks/dns_check.py basic").stdout == ""


def test_stopped_dnsmasq_fails_dns_and_services(backend):
    router = vm("r-22-VM")
    backend.create_vm(router)
    sh(backend.container(router), "acs-svc stop dnsmasq")
    stale = by_name(backend.health_checks(router, fresh=False))
    assert stale["dns_check.py"]["success"] is True, "without a fresh run the last scheduled results are returned"
    results = by_name(backend.health_checks(router, fresh=True))
    assert results["dnsmasq.service"]["success"] is False
    assert "not running" in results["dnsmasq.service"]["details"]
    assert results["dns_check.py"]["success"] is False
    assert results["haproxy_check.py"]["success"] is True and results["haproxy.service"]["success"] is True


def test_thresholds_come_from_the_management_server_data(backend):
    router = vm("r-23-VM")
    backend.create_vm(router)
    name = backend.container(router)
    sh(name, """echo '{"minDiskNeeded": 1e12, "expectedSignature": "0123"}' > /root/health_checks_data.json""")
    results = by_name(backend.health_checks(router, fresh=True))
    assert results["disk_space_check.py"]["success"] is False
    assert results["router_version_check.py"]["success"] is False
    assert "differs from the expected 0123" in results["router_version_check.py"]["details"]


def test_systemvms_have_no_router_health_checks(backend):
    ssvm = vm("s-24-VM", kind="secondarystoragevm")
    backend.create_vm(ssvm)
    assert backend.health_checks(ssvm, fresh=True) is None
