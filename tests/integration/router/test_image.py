# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The router image: built from the recipe, cached, and looking like a CloudStack system VM from inside."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from acs_sim.backends.docker import docker

from integration.router.helpers import BASE_VERSION, ROUTER_DIR, payload_md5, sh, vm


def test_build_is_cached_until_the_recipe_changes(router_image, tmp_path):
    created = docker("image", "inspect", "--format", "{{.Id}} {{.Created}}", router_image).stdout
    again = subprocess.run([str(ROUTER_DIR / "build-image.sh")], capture_output=True, text=True, check=True)
    assert again.stdout.strip().splitlines()[-1] == router_image
    assert f"up to date: {router_image}" in again.stderr and "built " not in again.stderr, "an unchanged recipe must not rebuild the image"
    assert docker("image", "inspect", "--format", "{{.Id}} {{.Created}}", router_image).stdout == created

    recipe = tmp_path / "router"
    shutil.copytree(ROUTER_DIR, recipe, ignore=shutil.ignore_patterns("__pycache__"))
    (recipe / "rootfs" / "etc" / "acs-recipe-test").write_text("changed recipe\n")
    # acs-upgrade/router:latest is what the molecule scenarios and other test runs start their routers from: the
    # test image must never be tagged so, not even for a moment.
    script = recipe / "build-image.sh"
    tag_latest = 'docker tag "$image" "$IMAGE_REPO:latest"'
    assert script.read_text().count(tag_latest) == 2
    script.write_text(script.read_text().replace(tag_latest, "true"))
    changed = subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    try:
        assert changed != router_image
        out = docker("run", "--rm", changed, "cat", "/etc/acs-recipe-test").stdout.decode()
        assert out == "changed recipe\n"
    finally:
        docker("rmi", changed, check=False)


def test_router_looks_like_a_system_vm(backend):
    router = vm("r-10-VM")
    backend.create_vm(router)
    name = backend.container(router)
    assert sh(name, "cat /etc/cloudstack-release").stdout.strip() == "Cloudstack Release 4.16.1"
    assert "type=router" in sh(name, "cat /var/cache/cloud/cmdline").stdout.split()
    assert sh(name, "cat /var/cache/cloud/enabled_svcs").stdout.split() == ["dnsmasq", "apache2", "haproxy"]
    signature = sh(name, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip()
    assert signature == payload_md5(BASE_VERSION)
    assert sh(name, "md5sum < /usr/share/cloud/cloud-scripts.tgz").stdout.split()[0] == signature


def test_router_services_answer(backend):
    router = vm("r-11-VM")
    backend.create_vm(router)
    name = backend.container(router)
    probe = (
        "import sys, json; sys.path.insert(0, '/opt/cloud/bin'); from cs_netcheck import dns_query, http_get; "
        "print(json.dumps({'dns': dns_query('vm-db-1'), 'nx': dns_query('no-such-vm'), "
        "'meta': http_get('/latest/meta-data/instance-id')[0], 'lb': http_get('/latest/meta-data/instance-id', port=8081)[0]}))"
    )
    answers = json.loads(sh(name, f'python3 -c "{probe}"').stdout)
    assert answers == {"dns": ["10.1.1.13"], "nx": [], "meta": 200, "lb": 200}
    assert "02:00:0a:01:01:0d,10.1.1.13,vm-db-1" in sh(name, "cat /etc/dhcphosts.txt").stdout


@pytest.mark.parametrize(
    ("kind", "cmdline_type", "services"),
    [("secondarystoragevm", "secstorage", ["cloud", "apache2"]), ("consoleproxy", "consoleproxy", ["cloud"])],
)
def test_systemvm_variants_run_the_cloud_service(backend, kind, cmdline_type, services):
    systemvm = vm(f"{cmdline_type[0]}-12-VM", kind=kind)
    backend.create_vm(systemvm)
    name = backend.container(systemvm)
    assert f"type={cmdline_type}" in sh(name, "cat /var/cache/cloud/cmdline").stdout.split()
    assert sh(name, "cat /var/cache/cloud/enabled_svcs").stdout.split() == services
    for service in services:
        assert sh(name, f"acs-svc status {service}", check=False).returncode == 0, service
    assert sh(name, "cat /var/run/cloud-agent.version").stdout.strip() == BASE_VERSION
    assert sh(name, "acs-svc status dnsmasq", check=False).returncode == 3


def test_new_vm_boots_with_the_management_server_scripts(backend):
    router = vm("r-13-VM", version="4.18.0", software="4.18.0.0")
    backend.create_vm(router)
    name = backend.container(router)
    assert sh(name, "cat /var/cache/cloud/cloud-scripts-signature").stdout.strip() == payload_md5("4.18.0.0")
    assert sh(name, "cat /opt/cloud/VERSION").stdout.strip() == "4.18.0.0"
    assert sh(name, "ls /var/cache/cloud").stdout.split() == ["cloud-scripts-signature", "cmdline", "enabled_svcs", "guest_vms"]
