# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_vr_health with source local, run by ansible-playbook inside a real router container (docker connection)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from integration.router import conftest as router_fixtures
from integration.router.helpers import sh, vm

# The router container fixtures: the image (built once, cached), one network, containers removed afterwards.
router_image = router_fixtures.router_image
router_network = router_fixtures.router_network
backend = router_fixtures.backend

BIN = Path(sys.executable).parent

PLAYBOOK = textwrap.dedent(
    """\
    - name: Health gate on the router itself
      hosts: router
      gather_facts: false
      tasks:
        - name: Baseline from the last scheduled results
          acs.upgrade.cs_vr_health:
            source: local
          register: before

        - name: Fresh checks in check mode
          acs.upgrade.cs_vr_health:
            source: local
            fresh: true
          check_mode: true

        - name: Break DNS and DHCP service
          ansible.builtin.command: acs-svc stop dnsmasq
          changed_when: true

        - name: The last results still say healthy until the next run
          acs.upgrade.cs_vr_health:
            source: local
            baseline: "{{ before }}"

        - name: Fresh checks see the stopped dnsmasq
          acs.upgrade.cs_vr_health:
            source: local
            fresh: true
            baseline: "{{ before }}"
          ignore_errors: true

        - name: The service monitor records the stopped dnsmasq
          ansible.builtin.command: /opt/cloud/bin/monitor_health.py basic
          changed_when: false

        - name: Only basic checks, dnsmasq ignored by its service check name
          acs.upgrade.cs_vr_health:
            source: local
            types: [basic]
            ignore: [dnsmasq.service]
    """
)


def run_playbook(tmp_path: Path, container: str) -> list[dict]:
    """Run the playbook against the container; return each task's result on the router."""
    (tmp_path / "inventory.ini").write_text(
        "router ansible_connection=community.docker.docker ansible_host=%s ansible_python_interpreter=/usr/bin/python3\n" % container
    )
    (tmp_path / "playbook.yml").write_text(PLAYBOOK)
    env = dict(
        os.environ,
        PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
    )
    # No connection settings reach the router: source local must not need any.
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET"):
        env.pop(name, None)
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.ini", "playbook.yml"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        pytest.fail("ansible-playbook gave no JSON report (rc %s): %s %s" % (done.returncode, done.stdout[-2000:], done.stderr[-2000:]))
    return [task["hosts"]["router"] for task in report["plays"][0]["tasks"]]


def by_name(result: dict) -> dict[str, dict]:
    return {check["name"]: check for check in result["routers"][0]["checks"]}


def test_gate_runs_on_a_real_router_container(backend, tmp_path):  # noqa: F811 - the fixture taken over above
    router = vm("r-40-VM")
    backend.create_vm(router)
    container = backend.container(router)
    assert sh(container, "python3 -c 'import requests'", check=False).returncode != 0, "the router has no requests library: the module must not need it"

    cached, checked, _stop_dnsmasq, still_cached, fresh, _monitor, basic_only = run_playbook(tmp_path, container)

    assert cached["gate_passed"] is True, cached.get("msg")
    assert cached["changed"] is False
    assert cached["routers"][0]["name"] == "r-40-VM"
    assert cached["routers"][0]["fresh"] is False
    assert {"dns_check.py", "dhcp_check.py", "haproxy_check.py", "dnsmasq.service", "disk_space_check.py"} <= set(by_name(cached))
    assert {check["type"] for check in cached["routers"][0]["checks"]} == {"basic", "advanced"}

    assert checked["gate_passed"] is True and checked["routers"][0]["fresh"] is True
    # A fresh local run runs the scripts; the services are recorded by the router's own monitor.
    assert set(by_name(checked)) == {name for name in by_name(cached) if name.endswith(".py")}

    assert still_cached["gate_passed"] is True

    assert fresh["failed"] is True
    assert fresh["failing"] == {"r-40-VM": ["dns_check.py"]}
    assert fresh["msg"] == "router health gate failed for 1 of 1 routers: r-40-VM (dns_check.py)"
    assert by_name(fresh)["haproxy_check.py"]["success"] is True

    assert basic_only["gate_passed"] is True
    assert basic_only["routers"][0]["failed_checks"] == ["dnsmasq.service"]
    assert {check["type"] for check in basic_only["routers"][0]["checks"]} == {"basic"}
