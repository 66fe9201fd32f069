# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A live patch whose haproxy config is broken leaves the router on its old scripts, every service running."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "default", "tests"))

import acs_verify  # noqa: E402

testinfra_hosts = ["ansible://all"]
OLD_SCRIPTS = "4.16.1.0"


def test_router_kept_its_old_scripts_and_signature(host):
    assert host.file("/var/cache/cloud/cloud-scripts-signature").content_string.strip() == acs_verify.payload_md5(OLD_SCRIPTS)
    assert host.file("/opt/cloud/VERSION").content_string.strip() == OLD_SCRIPTS
    assert "this-is-not-a-haproxy-keyword" not in host.file("/etc/haproxy/haproxy.cfg").content_string


def test_every_enabled_service_runs(host):
    for service in acs_verify.enabled_services(host):
        assert host.run(f"acs-svc status {service}").rc == 0, service


def test_patch_log_shows_the_restore(host):
    log = host.file("/var/log/livepatchsystemvm.log").content_string
    assert "failed to restart haproxy" in log
    assert "restoring the previous scripts" in log


def test_backup_and_payload_removed(host):
    assert acs_verify.leftover_payload(host) == []


def test_health_checks_pass(host):
    assert acs_verify.failed_checks(host) == {}


def test_probe_gaps_under_one_second(host):
    report = acs_verify.probe_report(acs_verify.container_name(host))
    print(f"{report['container']}: dns {report['dns']['longest_gap']} s, http {report['http']['longest_gap']} s over {report['window']} s")
    for service in ("dns", "http"):
        assert report[service]["longest_gap"] < 1.0, report
