# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""After the live patch every router and system VM runs the new scripts, restarted, healthy, without downtime."""
from __future__ import annotations

import acs_verify

testinfra_hosts = ["ansible://all"]


def test_signature_is_the_new_payload(host):
    expected = acs_verify.payload_md5(acs_verify.ms_version())
    assert host.file("/var/cache/cloud/cloud-scripts-signature").content_string.strip() == expected
    assert host.file("/opt/cloud/VERSION").content_string.strip() == acs_verify.ms_version()


def test_every_enabled_service_runs_with_a_new_pid(host):
    before = acs_verify.pids_before(acs_verify.container_name(host))
    services = acs_verify.enabled_services(host)
    assert services and set(services) == set(before)
    for service in services:
        now = acs_verify.service_pid(host, service)
        assert now != before[service], f"{service} was not restarted (pid {now})"


def test_backup_and_payload_removed(host):
    assert acs_verify.leftover_payload(host) == []


def test_health_checks_pass(host):
    assert acs_verify.failed_checks(host) == {}


def test_probe_gaps_under_one_second(host):
    if "routers" not in host.ansible.get_variables()["group_names"]:
        return
    report = acs_verify.probe_report(acs_verify.container_name(host))
    print(f"{report['container']}: dns {report['dns']['longest_gap']} s, http {report['http']['longest_gap']} s over {report['window']} s")
    assert report["execs"] == 1, "the probe lost its container"
    for service in ("dns", "http"):
        assert report[service]["longest_gap"] < 1.0, report
