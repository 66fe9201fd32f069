# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The live-patch script: upstream's steps, and a restore that leaves a working router when a service fails."""
from __future__ import annotations

from integration.router.helpers import BASE_VERSION, NEW_VERSION, payload_md5, service_pids, sh, vm

ROUTER_SERVICES = ["dnsmasq", "apache2", "haproxy"]


def test_live_patch_router(backend):
    router = vm("r-30-VM")
    backend.create_vm(router)
    name = backend.container(router)
    before = service_pids(name, ROUTER_SERVICES)

    result = backend.patch_vm(router, NEW_VERSION)

    assert result.ok, result.message
    assert result.scriptsversion == payload_md5(NEW_VERSION) != payload_md5(BASE_VERSION)
    assert result.message == f"version:{result.scriptsversion}"
    assert sh(name, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip() == result.scriptsversion
    assert sh(name, "cat /opt/cloud/VERSION").stdout.strip() == NEW_VERSION
    after = service_pids(name, ROUTER_SERVICES)
    assert all(after[svc] and after[svc] != before[svc] for svc in ROUTER_SERVICES), (before, after)
    # backup and the copied payload are gone; the payload is kept as the installed one
    assert sh(name, "ls /var/cache/cloud").stdout.split() == ["cloud-scripts-signature", "cmdline", "enabled_svcs", "guest_vms"]
    assert sh(name, "md5sum < /usr/share/cloud/cloud-scripts.tgz").stdout.split()[0] == result.scriptsversion
    log = sh(name, "cat /var/log/livepatchsystemvm.log").stdout
    assert log.index("restarting dnsmasq") < log.index("restarting apache2") < log.index("restarting haproxy")
    assert all(r["success"] for r in backend.health_checks(router, fresh=True))


def test_live_patch_only_restarts_running_services(backend):
    router = vm("r-31-VM")
    backend.create_vm(router)
    name = backend.container(router)
    sh(name, "acs-svc stop apache2")
    assert backend.patch_vm(router, NEW_VERSION).ok
    assert sh(name, "acs-svc status apache2", check=False).returncode == 3
    assert sh(name, "acs-svc status haproxy", check=False).returncode == 0


def test_live_patch_systemvm_keeps_the_keystore(backend):
    ssvm = vm("s-32-VM", kind="secondarystoragevm")
    backend.create_vm(ssvm)
    name = backend.container(ssvm)
    before = service_pids(name, ["cloud", "apache2"])
    result = backend.patch_vm(ssvm, NEW_VERSION)
    assert result.ok, result.message
    assert sh(name, "cat /var/run/cloud-agent.version").stdout.strip() == NEW_VERSION
    assert sh(name, "cat /usr/local/cloud/systemvm/conf/cloud.jks").stdout.startswith("placeholder keystore")
    after = service_pids(name, ["cloud", "apache2"])
    assert all(after[svc] != before[svc] for svc in before)


def test_broken_haproxy_payload_restores_the_router(backend):
    router = vm("r-33-VM")
    backend.create_vm(router)
    name = backend.container(router)
    old_signature = sh(name, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip()
    old_config = sh(name, "cat /etc/haproxy/haproxy.cfg").stdout
    backend.break_payload = {router["name"]}

    result = backend.patch_vm(router, NEW_VERSION)

    assert not result.ok
    assert "haproxy failed to restart" in result.message and "restored" in result.message
    assert result.scriptsversion == old_signature == payload_md5(BASE_VERSION)
    assert sh(name, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip() == old_signature
    assert sh(name, "cat /opt/cloud/VERSION").stdout.strip() == BASE_VERSION
    assert sh(name, "cat /etc/haproxy/haproxy.cfg").stdout == old_config
    for service in ROUTER_SERVICES:
        assert sh(name, f"acs-svc status {service}", check=False).returncode == 0, service
    assert sh(name, "ls /var/cache/cloud").stdout.split() == ["cloud-scripts-signature", "cmdline", "enabled_svcs", "guest_vms"]
    assert all(r["success"] for r in backend.health_checks(router, fresh=True))


def test_patch_script_output_and_exit_codes(backend):
    router = vm("r-34-VM")
    backend.create_vm(router)
    name = backend.container(router)
    script = "/var/cache/cloud/patch-sysvms.sh"

    backend.copy_payload(name, NEW_VERSION)
    done = sh(name, script, check=False)
    assert (done.returncode, done.stdout) == (0, f"version:{payload_md5(NEW_VERSION)}\n")

    backend.copy_payload(name, "4.19.0.0", broken=True)
    failed = sh(name, script, check=False)
    assert failed.returncode == 1
    assert "version:" not in failed.stdout

    backend.copy_payload(name, NEW_VERSION)
    sh(name, "rm /var/cache/cloud/cloud-scripts.tgz")
    missing = sh(name, script, check=False)
    assert missing.returncode == 1
    assert "cloud-scripts.tgz missing" in missing.stderr


def test_reboot_and_stop_start_keep_the_patched_scripts(backend):
    router = vm("r-35-VM")
    backend.create_vm(router)
    name = backend.container(router)
    signature = backend.patch_vm(router, NEW_VERSION).scriptsversion
    before = service_pids(name, ROUTER_SERVICES)

    backend.reboot_vm(router)
    rebooted = service_pids(name, ROUTER_SERVICES)
    assert all(rebooted[svc] and rebooted[svc] != before[svc] for svc in ROUTER_SERVICES), (before, rebooted)

    backend.stop_vm(router)
    assert sh(name, "true", check=False).returncode != 0, "a stopped router runs nothing"
    backend.start_vm(router)
    for service in ROUTER_SERVICES:
        assert sh(name, f"acs-svc status {service}", check=False).returncode == 0, service
    assert sh(name, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip() == signature
    assert all(r["success"] for r in backend.health_checks(router, fresh=True))
