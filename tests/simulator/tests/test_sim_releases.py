# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Each release plays its own system VM template, and system VMs' ROOT volumes show their disk template.

Expected values are written here from the sources, independently of acs_sim/releases.py: root ``pom.xml``
``project.systemvm.template.version`` at each release commit (e.g. ``git show 154566f914:pom.xml`` has 4.18.1.0 for
4.18.2.0), ``SystemVmTemplateRegistration.getSystemVmTemplateVersion`` (``CS_MAJOR_VERSION.CS_TINY_VERSION``, three
parts, set by ``DatabaseUpgradeChecker.upgrade``) for ``minreq.sysvmtemplate.version``, and ``engine/schema/templateConfig.sh``
for the names (``systemvm-kvm-X.Y.Z``; 4.20.x ``systemvm-kvm-X.Y.Z-x86_64``).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sim_helpers import network_id

from acs_sim.client import SimClient
from acs_sim.releases import UnknownRelease
from acs_sim.server import Simulator

# release: (minreq.sysvmtemplate.version, KVM template name) -- pom.xml project.systemvm.template.version and templateConfig.sh
EXPECTED = {
    "4.17.0.0": ("4.17.0", "systemvm-kvm-4.17.0"),  # c56220fcf2: pom 4.17.0.0
    "4.17.1.0": ("4.17.0", "systemvm-kvm-4.17.0"),  # 974369e3d4: pom 4.17.0.0 (no new template)
    "4.17.2.0": ("4.17.2", "systemvm-kvm-4.17.2"),  # 5b9a989ab0: pom 4.17.2.0
    "4.18.0.0": ("4.18.0", "systemvm-kvm-4.18.0"),  # 0574087284: pom 4.18.0.0
    "4.18.1.0": ("4.18.1", "systemvm-kvm-4.18.1"),  # 4bdff06acd: pom 4.18.1.0
    "4.18.2.0": ("4.18.1", "systemvm-kvm-4.18.1"),  # 154566f914: pom 4.18.1.0
    "4.19.0.0": ("4.19.0", "systemvm-kvm-4.19.0"),  # 2746225b99: pom 4.19.0.0
    "4.19.1.0": ("4.19.1", "systemvm-kvm-4.19.1"),  # 9f4c895974: pom 4.19.1.0
    "4.19.2.0": ("4.19.1", "systemvm-kvm-4.19.1"),  # 4e321d4356: pom 4.19.1.0
    "4.19.3.0": ("4.19.1", "systemvm-kvm-4.19.1"),  # 0c7d47138d: pom 4.19.1.0
    "4.20.0.0": ("4.20.0", "systemvm-kvm-4.20.0-x86_64"),  # 2fe3fcef7c: pom 4.20.0.0, templateConfig.sh adds -${arch}
    "4.20.1.0": ("4.20.1", "systemvm-kvm-4.20.1-x86_64"),  # c61a5eb430: pom 4.20.1.0
    "4.20.2.0": ("4.20.2", "systemvm-kvm-4.20.2-x86_64"),  # 4dc3931233: pom 4.20.2.0
}
ACS_SIM = Path(__file__).resolve().parent.parent / "acs-sim"


def _setting(admin: SimClient, name: str, zoneid: str) -> str:
    found = admin.call("listConfigurations", name=name, zoneid=zoneid)["configuration"]
    return next(c["value"] for c in found if c["name"] == name)


def _minreq(admin: SimClient, zoneid: str) -> str:
    return _setting(admin, "minreq.sysvmtemplate.version", zoneid)


def _wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize("release", sorted(EXPECTED))
def test_each_release_plays_its_own_template(acs_sim, release):
    """pom.xml project.systemvm.template.version and SystemVmTemplateRegistration.getSystemVmTemplateVersion at each release
    commit (4.17.0.0-4.20.2.0): the upgrade sets the zone-scoped minreq.sysvmtemplate.version (NetworkOrchestrationService
    .MinVRVersion, ConfigKey.Scope.Zone) to the template version and registers systemvm-kvm-<version> (templateConfig.sh);
    updateSystemVMEntries repoints every system VM and router to it; VMs deployed afterwards boot it."""
    minreq, name = EXPECTED[release]
    before_418 = release.startswith("4.17.")  # ListVolumesCmd has no listsystemvms before 4.18: an unknown parameter there
    sim = acs_sim(topology="small", version=release, allow_unknown_params=before_418)
    admin = sim.client("admin")
    zones = admin.call("listZones")["zone"]
    assert {zone["name"]: _minreq(admin, zone["id"]) for zone in zones} == {zone["name"]: minreq for zone in zones}
    assert admin.call("listConfigurations", name="minreq.sysvmtemplate.version")["configuration"][0]["value"] == minreq
    # SystemVmTemplateRegistration.registerTemplate writes router.template.kvm (VirtualNetworkApplianceManager.RouterTemplateKvm,
    # zone-scoped) with the name it registers, from metadata.ini's templatename.
    assert {zone["name"]: _setting(admin, "router.template.kvm", zone["id"]) for zone in zones} == {zone["name"]: name for zone in zones}
    system = [t for t in admin.call("listTemplates", templatefilter="all")["template"] if t["templatetype"] == "SYSTEM"]
    assert name in {t["name"] for t in system}
    assert {vm["templatename"] for vm in admin.call("listSystemVms")["systemvm"]} == {name}
    assert {r["templatename"] for r in admin.call("listRouters", listall=True)["router"]} == {name}
    # A router recreated by a cleanup restart, and an SSVM recreated by its manager, run the release's template.
    old = {r["id"] for r in admin.call("listRouters", listall=True, networkid=network_id(admin, "acme-web"))["router"]}
    admin.run("restartNetwork", id=network_id(admin, "acme-web"), cleanup=True)
    new = [r for r in admin.call("listRouters", listall=True, networkid=network_id(admin, "acme-web"))["router"] if r["id"] not in old]
    assert [(r["version"], r["templatename"], r["requiresupgrade"]) for r in new] == [(minreq, name, False)]
    ssvm = next(v for v in admin.call("listSystemVms", systemvmtype="secondarystoragevm")["systemvm"] if v["zonename"] == "zone1")
    admin.run("destroySystemVm", id=ssvm["id"])
    respawned = _wait_for(lambda: [v for v in admin.call("listSystemVms", systemvmtype="secondarystoragevm", zoneid=ssvm["zoneid"]).get("systemvm", [])
                                   if v["id"] != ssvm["id"]])
    volume = admin.call("listVolumes", type="ROOT", virtualmachineid=respawned[0]["id"], listsystemvms=True).get("volume", [])
    assert respawned[0]["templatename"] == name
    # QueryManagerImpl.searchForVolumesInternal: 4.17 never lists a system VM's volume, 4.18 on with listsystemvms=true.
    assert [v["templatename"] for v in volume] == ([] if before_418 else [name])


def test_zone_override_of_the_minimum_is_kept(acs_sim):
    """ConfigKey.valueIn (zone scope) via ListCfgsByCmd zoneid / UpdateCfgCmd zoneid, 4.18.2.0: a zone's own value wins over
    the global one the upgrade wrote; requiresupgrade (DomainRouterJoinDaoImpl) compares with the zone's value."""
    sim = acs_sim(topology="small", version="4.18.2.0")
    admin = sim.client("admin")
    zones = {zone["name"]: zone["id"] for zone in admin.call("listZones")["zone"]}
    admin.call("updateConfiguration", name="minreq.sysvmtemplate.version", value="4.14.0", zoneid=zones["zone2"])
    assert _minreq(admin, zones["zone2"]) == "4.14.0" and _minreq(admin, zones["zone1"]) == "4.18.1"
    zone2_routers = admin.call("listRouters", listall=True, zoneid=zones["zone2"])["router"]
    assert zone2_routers and not any(r["requiresupgrade"] for r in zone2_routers), "templates 4.14.1/4.15.1 are at or above zone2's 4.14.0"


def test_a_version_outside_the_table_is_refused_with_the_known_releases():
    """acs_sim/releases.py: the simulator plays only releases whose template it read; it names them instead of guessing."""
    with pytest.raises(UnknownRelease, match=r"4\.21\.0\.0.*4\.17\.0\.0.*4\.18\.2\.0.*4\.20\.2\.0"):
        Simulator("small", version="4.21.0.0")
    pinned = Simulator({"managementserver": {"version": "4.21.0.0", "systemvm_template": "4.21.0"}, "zones": [{"name": "z"}]})
    assert pinned.cloud.template_version == "4.21.0"


@pytest.mark.parametrize("release", sorted(EXPECTED))
def test_executable_plays_the_release_given_by_version(release):
    """acs-sim --version X, for every release: the zones' minreq.sysvmtemplate.version and router.template.kvm, the system
    VMs' and routers' template names are the release's (pom.xml project.systemvm.template.version, e.g. 4.19.3.0 at
    0c7d47138d ships 4.19.1.0; templateConfig.sh names it)."""
    minreq, name = EXPECTED[release]
    proc = subprocess.Popen([sys.executable, str(ACS_SIM), "--topology", "small", "--port", "0", "--version", release],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split("listening on ", 1)[1].strip()
        admin = SimClient(url, "admin-apikey-small", "admin-secretkey-small")
        zones = admin.call("listZones")["zone"]
        assert {_minreq(admin, zone["id"]) for zone in zones} == {minreq}
        assert {_setting(admin, "router.template.kvm", zone["id"]) for zone in zones} == {name}
        assert {vm["templatename"] for vm in admin.call("listSystemVms")["systemvm"]} == {name}
        assert {r["templatename"] for r in admin.call("listRouters", listall=True)["router"]} == {name}
        assert name in {t["name"] for t in admin.call("listTemplates", templatefilter="all")["template"] if t["templatetype"] == "SYSTEM"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_executable_refuses_a_release_it_has_not_read():
    refused = subprocess.run([sys.executable, str(ACS_SIM), "--topology", "small", "--version", "4.99.0.0"], capture_output=True, text=True, timeout=60,
                             check=False)
    assert refused.returncode == 2 and "4.18.2.0" in refused.stderr and "4.99.0.0" in refused.stderr


# ---------------------------------------------------------------- listVolumes
def test_system_vm_root_volume_keeps_its_disk_template_until_recreated(acs_sim):
    """QueryManagerImpl.searchForVolumesInternal / shouldListSystemVms (4.18.0.0-4.20.2.0): a ROOT admin sees system VM
    volumes with listsystemvms=true; VolumeResponse.templateid is the volume's template, which the upgrade
    (SystemVmTemplateRegistration.updateSystemVMEntries updates vm_instance only) leaves on the old one."""
    sim = acs_sim(topology="small", version="4.18.2.0")
    admin = sim.client("admin")
    ssvm = next(v for v in admin.call("listSystemVms", systemvmtype="secondarystoragevm")["systemvm"] if v["zonename"] == "zone1")
    assert ssvm["templatename"] == "systemvm-kvm-4.18.1"
    volumes = admin.call("listVolumes", type="ROOT", virtualmachineid=ssvm["id"], listsystemvms=True)
    assert volumes["count"] == 1
    root = volumes["volume"][0]
    assert (root["type"], root["vmtype"], root["virtualmachineid"], root["templatename"]) == ("ROOT", "SecondaryStorageVm", ssvm["id"], "systemvm-kvm-4.15.1")
    assert root["templateid"] != ssvm["templateid"]
    template = admin.call("listTemplates", templatefilter="all", id=root["templateid"])["template"][0]
    assert template["name"] == "systemvm-kvm-4.15.1"


def test_system_vm_volumes_need_listsystemvms_and_a_root_admin(acs_sim):
    """QueryManagerImpl.searchForVolumesInternal, 4.18.0.0: without listsystemvms=true, or for a caller who is not ROOT admin,
    the volumes of ConsoleProxy, SecondaryStorageVm and DomainRouter VMs are left out (sc type NIN)."""
    sim = acs_sim(topology="small", version="4.18.0.0")
    admin, user = sim.client("admin"), sim.client("user")
    assert admin.call("listVolumes", type="ROOT", listall=True) == {}
    assert user.call("listVolumes", type="ROOT", listsystemvms=True) == {}
    every = admin.call("listVolumes", type="ROOT", listall=True, listsystemvms=True)
    vms = len(sim.state()["routers"]) + len(sim.state()["systemvms"])
    assert every["count"] == vms == len(every["volume"])
    pages = [admin.call("listVolumes", type="ROOT", listall=True, listsystemvms=True, pagesize=5, page=page) for page in (1, 2, 3)]
    paged = [v["id"] for page in pages for v in page.get("volume", [])]
    assert sorted(paged) == sorted(v["id"] for v in every["volume"])
    assert admin.call("listVolumes", type="DATADISK", listall=True, listsystemvms=True) == {}


def test_system_vm_volumes_are_never_listed_on_417(acs_sim):
    """QueryManagerImpl.searchForVolumesInternal, 4.17.0.0 (c56220fcf2): "Don't return DomR and ConsoleProxy volumes" holds
    for every caller; ListVolumesCmd has no listsystemvms before 4.18 (the parameter is ignored, as unknown ones are)."""
    sim = acs_sim(topology="small", version="4.17.0.0", allow_unknown_params=True)
    admin = sim.client("admin")
    ssvm = admin.call("listSystemVms")["systemvm"][0]
    assert admin.call("listVolumes", type="ROOT", virtualmachineid=ssvm["id"], listall=True, listsystemvms=True) == {}
    assert sim.counters()["unknown_params"] == {"listVolumes": {"listsystemvms": 1}}
