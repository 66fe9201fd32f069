# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""playbooks/crosszone.yml end to end: the cloud of the cross-zone template article (seed 003) repaired through
ansible-runner, with the simulator as the management server's API and a real MariaDB as its `cloud` database.

The simulator serves the API but does not write the `cloud` database. What the management server writes there
while the playbook runs is played by ``CloudStackCompanion``, a thread of the test that watches the database and
the simulator's job log and does what CloudStack does:

- per zone, once the Active SYSTEM template CloudStack takes for the hypervisor of the zone's system VMs (the
  highest Active id of that hypervisor; the hypervisor of the zone's last SSVM/CPVM rows) is downloaded in the zone
  and its SSVM and CPVM do not run, it creates them: new ``vm_instance`` rows, Running, from that template, on that
  hypervisor, and it starts the zone's system VMs in the simulator (``startSystemVm``, with its own API key), so that
  the API shows them Running too (the simulator cannot hold a zone without system VMs; Stopped ones stand for the
  destroyed ones);
- once a zone's SSVM starts, or the simulator has run a ``rebootSystemVm`` job for it (its cloud service restarted
  and rescanned the templates table), it adds the ``template_store_ref`` rows (``DOWNLOADED``, ``destroyed`` 0) of the
  Active cross-zone templates missing from that zone's image stores, for every hypervisor the zone holds templates
  of, as the SSVM does when its downloads end.
"""

from __future__ import annotations

import json
import stat
import threading
from typing import Any

from playbook_runner import run_playbook
from test_crosszone_playbook import db_vars

from ansible_collections.acs.upgrade.plugins.modules import cs_template_crosszone as module

# The zones of the seed data (data_center.name); the SSVM and CPVM of zones 1 and 2 were destroyed by the upgrade.
TOPOLOGY: dict[str, Any] = {
    "managementserver": {"version": "4.18.0.0"},
    "seed": 3,
    "keys": {"cloudstack": {"apikey": "companion-apikey", "secretkey": "companion-secretkey", "account": "admin"}},
    "zones": [
        {"name": "zone-1", "systemvms": {"state": "Stopped"}},
        {"name": "zone-2", "systemvms": {"state": "Stopped"}},
        {"name": "zone-3"},
    ],
}
SEED_FINAL = {634: ("Active", 1), 635: ("Inactive", 0), 636: ("Inactive", 0)}


class CloudStackCompanion(threading.Thread):
    """The management server's writes to the `cloud` database (see the module docstring); errors end the thread and are kept."""

    def __init__(self, sim: Any, db: Any, interval: float = 0.05) -> None:
        super().__init__(name="cloudstack-companion", daemon=True)
        self.sim = sim
        self.db = db
        self.client = sim.client("cloudstack")
        self.interval = interval
        self.stopped = threading.Event()
        self.handled_jobs: set[str] = set()
        self.recreated_zones: list[str] = []
        self.downloads: list[tuple[int, int]] = []
        self.errors: list[BaseException] = []

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.recreate_system_vms()
                self.download_after_reboots()
            except BaseException as exc:  # kept for the test to report; the playbook then waits in vain and fails
                self.errors.append(exc)
                return

    def __enter__(self) -> CloudStackCompanion:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.join(timeout=30)

    def zone_hypervisor(self, zone_id: int) -> str | None:
        """Where CloudStack recreates the zone's SSVM and CPVM: the hypervisor of the zone's last ones (getAvailableHypervisor
        keeps choosing the same one while the zone's hosts do not change)."""
        rows = self.db.query(
            "SELECT hypervisor_type FROM vm_instance WHERE data_center_id = %s AND type IN ('SecondaryStorageVm', 'ConsoleProxy') "
            "ORDER BY removed IS NULL DESC, id DESC LIMIT 1",
            (zone_id,),
        )
        return rows[0][0] if rows else None

    def recreate_system_vms(self) -> None:
        """Per zone: its hypervisor's Active SYSTEM template with the highest id, when it is in an image store of the zone."""
        for zone_id, zone_name in self.db.query("SELECT id, name FROM data_center WHERE removed IS NULL ORDER BY id"):
            (running,) = self.db.query(
                "SELECT COUNT(DISTINCT type) FROM vm_instance WHERE data_center_id = %s AND removed IS NULL AND state = 'Running' "
                "AND type IN ('SecondaryStorageVm', 'ConsoleProxy')",
                (zone_id,),
            )[0]
            hypervisor = self.zone_hypervisor(zone_id)
            if running == 2 or hypervisor is None:
                continue
            (taken,) = self.db.query(
                "SELECT MAX(id) FROM vm_template WHERE type = 'SYSTEM' AND removed IS NULL AND state = 'Active' AND hypervisor_type = %s", (hypervisor,)
            )[0]
            if taken is None or not self.db.query(
                "SELECT 1 FROM template_store_ref r JOIN image_store s ON s.id = r.store_id WHERE r.template_id = %s AND s.data_center_id = %s "
                "AND r.destroyed = 0 AND r.download_state = 'DOWNLOADED' AND s.removed IS NULL",
                (taken, zone_id),
            ):
                continue
            self.db.system_vms_started(zone_id=zone_id, template_id=taken, hypervisor=hypervisor)
            for vm in self.sim.state()["systemvms"]:
                if vm["zonename"] == zone_name and vm["state"] != "Running":
                    job = self.client.run("startSystemVm", id=vm["id"])
                    assert job["jobstatus"] == 1, job
            self.recreated_zones.append(zone_name)
            # a new SSVM scans the templates table as a restarted cloud service does
            self.ssvm_downloads(zone_name)

    def download_after_reboots(self) -> None:
        reboots = [j for j in self.sim.jobs() if j["command"] == "rebootSystemVm" and j["jobstatus"] == 1 and j["jobid"] not in self.handled_jobs]
        if not reboots:
            return
        zone_of_vm = {vm["id"]: vm["zonename"] for vm in self.sim.state()["systemvms"] if vm["systemvmtype"] == "secondarystoragevm"}
        for job in reboots:
            self.handled_jobs.add(job["jobid"])
            if job["instanceid"] in zone_of_vm:
                self.ssvm_downloads(zone_of_vm[job["instanceid"]])

    def ssvm_downloads(self, zone_name: str) -> None:
        """The zone's SSVM downloads the Active cross-zone SYSTEM templates missing from the zone's image stores, for every
        hypervisor the zone has (the hypervisors it holds SYSTEM templates of), whichever hypervisor it runs on itself."""
        stores = self.db.query(
            "SELECT s.id FROM image_store s JOIN data_center d ON d.id = s.data_center_id WHERE d.name = %s AND s.removed IS NULL AND s.role = 'Image'",
            (zone_name,),
        )
        wanted = self.db.query(
            "SELECT t.id FROM vm_template t WHERE t.type = 'SYSTEM' AND t.removed IS NULL AND t.state = 'Active' AND t.cross_zones = 1 "
            "AND t.hypervisor_type IN (SELECT h.hypervisor_type FROM vm_template h JOIN template_store_ref r ON r.template_id = h.id "
            "JOIN image_store s ON s.id = r.store_id JOIN data_center d ON d.id = s.data_center_id WHERE h.type = 'SYSTEM' AND d.name = %s)",
            (zone_name,),
        )
        for (store_id,) in stores:
            for (tid,) in wanted:
                if not self.db.query("SELECT 1 FROM template_store_ref WHERE template_id = %s AND store_id = %s AND destroyed = 0", (tid, store_id)):
                    self.db.template_downloaded(tid, store_id=store_id)
                    self.downloads.append((tid, store_id))


def store_refs(db: Any, template_id: int) -> list[tuple]:
    return db.query(
        "SELECT r.store_id, r.template_id, s.data_center_id FROM template_store_ref r JOIN image_store s ON s.id = r.store_id "
        "WHERE r.destroyed = 0 AND r.download_state = 'DOWNLOADED' AND r.template_id = %s ORDER BY r.store_id",
        (template_id,),
    )


def test_seed_cloud_repaired_by_the_playbook(acs_sim, cloud_db, tmp_path):
    sim = acs_sim(topology=TOPOLOGY, time_factor=0.001)
    db = cloud_db("seed")
    assert sorted(z["name"] for z in sim.state()["zones"]) == sorted(name for (name,) in db.query("SELECT name FROM data_center WHERE removed IS NULL"))
    ssvm = {vm["zonename"]: vm["id"] for vm in sim.state()["systemvms"] if vm["systemvmtype"] == "secondarystoragevm"}
    # the backup file's directory does not exist yet, as ~/.acs-upgrade (the default) on a new controller
    backup = tmp_path / "new-controller" / "crosszone-backup.json"
    extravars = db_vars(
        db,
        crosszone_remediate=True,
        crosszone_backup_file=str(backup),
        crosszone_wait_delay=1,
        crosszone_wait_retries=20,
        crosszone_poll_interval=0.1,
        crosszone_reboot_timeout=30,
    )

    with CloudStackCompanion(sim, db) as companion:
        first = run_playbook(sim, tmp_path, "crosszone.yml", extravars)
    assert not companion.errors, companion.errors
    assert first.rc == 0, first.stdout[-4000:]

    # the final tables of the article: 634 Active and cross-zone, downloaded in the store of every zone
    assert db.templates() == SEED_FINAL
    assert store_refs(db, 634) == [(1, 634, 1), (2, 634, 2), (3, 634, 3)]
    # zone 2 came up from its own copy first, zone 1 from 634; zones 2 and 3 downloaded 634 after their SSVM rebooted
    assert companion.recreated_zones == ["zone-2", "zone-1"]
    assert sorted(companion.downloads) == [(634, 2), (634, 3)]

    # the SSVMs of zones 2 and 3 were rebooted once each by the playbook, never destroyed
    assert sim.calls("destroySystemVm") == []
    reboots = sim.calls("rebootSystemVm")
    assert sorted(c["params"]["id"] for c in reboots) == sorted([ssvm["zone-2"], ssvm["zone-3"]])
    assert {c["key"] for c in reboots} == {"admin"}
    assert all(j["jobstatus"] == 1 for j in sim.jobs() if j["command"] == "rebootSystemVm")
    assert all(vm["state"] == "Running" for vm in sim.state()["systemvms"])
    assert db.params["login_password"] not in first.stdout
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
    assert [(e["action"], e["status"]) for e in json.loads(backup.read_text())["entries"]] == [
        ("activate_zone_2", "applied"),
        ("activate_canonical", "applied"),
    ]

    # a second run finds the cloud repaired and changes nothing, in the database or in the cloud
    snapshot, jobs = db.snapshot(), len(sim.jobs())
    second = run_playbook(sim, tmp_path, "crosszone.yml", extravars)
    assert second.rc == 0, second.stdout[-4000:]
    assert second.changed == 0
    assert db.snapshot() == snapshot
    assert len(sim.jobs()) == jobs


def test_check_mode_names_the_reboots_and_changes_nothing(acs_sim, cloud_db, tmp_path):
    # Half-way through: zone 2 recreated its system VMs from 635; the next step makes 634 Active and asks for downloads.
    sim = acs_sim(topology={**TOPOLOGY, "zones": [{"name": "zone-1", "systemvms": {"state": "Stopped"}}, {"name": "zone-2"}, {"name": "zone-3"}]})
    db = cloud_db("half_finished")
    before = db.snapshot()
    backup = tmp_path / "new-controller" / "crosszone-backup.json"

    checked = run_playbook(sim, tmp_path, "crosszone.yml", db_vars(db, crosszone_remediate=True, crosszone_backup_file=str(backup)), check=True)
    assert checked.rc == 0, checked.stdout[-4000:]
    assert "activate_canonical" in checked.stdout
    restarts = checked.stdout.split("Restart the SSVM of each zone that lacks the template")[1].split("TASK [")[0]
    assert "item=zone-2" in restarts and "item=zone-3" in restarts and "item=zone-1" not in restarts
    assert db.snapshot() == before
    assert not backup.parent.exists()
    assert sim.jobs() == []
    assert sim.calls("rebootSystemVm") == []


# zones 1 and 2 hold XenServer and KVM templates; zone 1 runs its system VMs on XenServer (lost), zone 2 on KVM, zone 3 on XenServer
MIXED_TOPOLOGY: dict[str, Any] = {**TOPOLOGY, "zones": [{"name": "zone-1", "systemvms": {"state": "Stopped"}}, {"name": "zone-2"}, {"name": "zone-3"}]}
MIXED_FINAL = {634: ("Active", 1), 635: ("Inactive", 0), 636: ("Inactive", 0), 801: ("Inactive", 0), 802: ("Active", 1)}


def remediation_vars(db, tmp_path, **more):
    """The variables of a remediation run with short waits; ``more`` adds or overrides any of them."""
    short = {
        "crosszone_remediate": True,
        "crosszone_backup_file": str(tmp_path / "crosszone-backup.json"),
        "crosszone_wait_delay": 1,
        "crosszone_wait_retries": 20,
        "crosszone_poll_interval": 0.1,
        "crosszone_reboot_timeout": 30,
    }
    return db_vars(db, **{**short, **more})


def test_two_hypervisors_in_the_same_zones_repaired_one_hypervisor_after_the_other_then_restored(acs_sim, cloud_db, run_module, tmp_path):
    sim = acs_sim(topology=MIXED_TOPOLOGY, time_factor=0.001)
    db = cloud_db("mixed_hypervisors")
    untouched = db.snapshot()
    ssvm = {vm["zonename"]: vm["id"] for vm in sim.state()["systemvms"] if vm["systemvmtype"] == "secondarystoragevm"}

    # XenServer: zone 2's system VMs run on KVM, so 635 (zone 2's copy) is never made Active for it; zone 1 recreates
    # its system VMs from 634, zones 2 (both stores) and 3 download 634 after their SSVM restarts
    with CloudStackCompanion(sim, db) as companion:
        xen = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path, crosszone_hypervisor="XenServer"))
    assert not companion.errors, companion.errors
    assert xen.rc == 0, xen.stdout[-4000:]
    assert {tid: db.templates()[tid] for tid in (634, 635, 636)} == {634: ("Active", 1), 635: ("Inactive", 0), 636: ("Inactive", 0)}
    assert {tid: db.templates()[tid] for tid in (801, 802)} == {801: ("Active", 0), 802: ("Active", 0)}
    assert companion.recreated_zones == ["zone-1"]
    assert sorted(companion.downloads) == [(634, 2), (634, 3), (634, 5)]
    assert sorted(c["params"]["id"] for c in sim.calls("rebootSystemVm")) == sorted([ssvm["zone-2"], ssvm["zone-3"]])
    # zone 2 kept its KVM system VMs from 802
    assert db.query("SELECT id, state, vm_template_id, hypervisor_type FROM vm_instance WHERE id IN (60, 61) ORDER BY id") == [
        (60, "Running", 802, "KVM"),
        (61, "Running", 802, "KVM"),
    ]

    # KVM: 802 (already in zone 2, the zone whose system VMs run on KVM) becomes the cross-zone row; zone 1 (store 1) and
    # zone 2's other store (2) download it after their SSVM restarts; no zone recreates anything
    with CloudStackCompanion(sim, db) as companion:
        kvm = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path, crosszone_hypervisor="KVM"))
    assert not companion.errors, companion.errors
    assert kvm.rc == 0, kvm.stdout[-4000:]
    assert db.templates() == MIXED_FINAL
    assert companion.recreated_zones == []
    assert sorted(companion.downloads) == [(802, 1), (802, 2)]
    assert [c["params"]["id"] for c in sim.calls("rebootSystemVm")][-2:] == [ssvm["zone-1"], ssvm["zone-2"]]
    assert sim.calls("destroySystemVm") == []
    assert db.params["login_password"] not in xen.stdout + kvm.stdout

    # both groups done: a run over every hypervisor changes nothing
    snapshot, jobs = db.snapshot(), len(sim.jobs())
    again = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path))
    assert again.rc == 0, again.stdout[-4000:]
    assert again.changed == 0
    assert db.snapshot() == snapshot and len(sim.jobs()) == jobs

    # the backup file says what happened, and puts every vm_template row back byte for byte
    backup = tmp_path / "crosszone-backup.json"
    entries = json.loads(backup.read_text())["entries"]
    assert [(e["action"], e["status"]) for e in entries] == [("activate_canonical", "applied"), ("activate_canonical", "applied")]
    restored = run_module(module, dict(db.params, state="restored", backup_file=str(backup)))
    assert restored["restored_template_ids"] == [634, 635, 636, 801, 802]
    assert db.snapshot()["vm_template"] == untouched["vm_template"]


def test_a_step_that_would_strand_a_zone_is_refused_with_the_reason(acs_sim, cloud_db, tmp_path):
    # Zone 3's SSVM and CPVM are Stopped; CloudStack can recreate them from 636, the row it takes today. With 636 as the
    # canonical row, the first step (634 the only Active row, for zone 1) would leave zone 3 without a template.
    sim = acs_sim(topology={**TOPOLOGY, "zones": [{"name": z, "systemvms": {"state": "Stopped"}} for z in ("zone-1", "zone-2", "zone-3")]})
    db = cloud_db("seed")
    db.execute("UPDATE vm_instance SET state = 'Stopped' WHERE id IN (7, 8)")
    before = db.snapshot()

    # the read-only run says that no step can run, and why, rather than how to run steps there are none of
    shown = run_playbook(sim, tmp_path, "crosszone.yml", db_vars(db, crosszone_canonical_template_id=636))
    assert shown.rc == 0, shown.stdout[-4000:]
    said = shown.stdout.split("TASK [Say that no step can run]")[1].split("TASK [")[0]
    assert "Nothing was changed, and no step can run now: refusing step activate_zone_1 of the XenServer templates" in said
    assert "skipping" in shown.stdout.split("TASK [Say what a yes runs]")[1].split("TASK [")[0]

    refused = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path, crosszone_canonical_template_id=636))
    assert refused.rc != 0
    assert (
        "refusing step activate_zone_1 of the XenServer templates 'systemvm-xenserver-4.5': zone 3 (zone-3) runs its SSVM and CPVM on XenServer "
        "and they are not Running (SSVM Stopped, CPVM Stopped); it can recreate them now from template 636, but afterwards XenServer's Active "
        "template would be 634, which is in none of its image stores (3)"
    ) in refused.stdout
    assert db.snapshot() == before
    assert not (tmp_path / "crosszone-backup.json").exists()
    assert sim.jobs() == []

    # without the choice, the zone that can recreate now goes first: 636 stays the Active row, nothing is stranded
    with CloudStackCompanion(sim, db) as companion:
        done = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path))
    assert not companion.errors, companion.errors
    assert done.rc == 0, done.stdout[-4000:]
    assert companion.recreated_zones == ["zone-3", "zone-2", "zone-1"]
    assert db.templates() == SEED_FINAL


def test_two_hypervisors_repaired_kvm_first_stops_with_the_reason_then_xenserver_finishes_both(acs_sim, cloud_db, run_module, tmp_path):
    # The other order: KVM's rows become final at once, but zone 1 downloads 802 only once its SSVM runs, and it runs on
    # XenServer, whose Active row (636) is not in zone 1. Waiting cannot end that: the run stops with the reason instead
    # of spending crosszone_max_steps on it; the XenServer run then recreates zone 1, whose new SSVM downloads both.
    sim = acs_sim(topology=MIXED_TOPOLOGY, time_factor=0.001)
    db = cloud_db("mixed_hypervisors")
    untouched = db.snapshot()

    with CloudStackCompanion(sim, db) as companion:
        kvm = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path, crosszone_hypervisor="KVM"))
    assert not companion.errors, companion.errors
    assert kvm.rc != 0
    assert kvm.stdout.count("TASK [Run the next remediation step]") == 2
    assert "The remediation is not done after" not in kvm.stdout
    assert (
        "Stopped: what is left cannot happen by waiting: template 802 DOWNLOADED (template_store_ref) in image store(s) 1 of zone 1 (zone-1); "
        "the SSVM of that zone downloads it once it runs (it runs on XenServer and downloads the KVM template too); it cannot start yet: its "
        "system VMs run on XenServer and XenServer's Active template 636 is in none of its image stores; repair the XenServer templates first"
    ) in kvm.stdout
    assert {tid: db.templates()[tid] for tid in (801, 802)} == {801: ("Inactive", 0), 802: ("Active", 1)}
    assert {tid: db.templates()[tid] for tid in (634, 635, 636)} == dict.fromkeys((634, 635, 636), ("Active", 0))
    assert companion.recreated_zones == [] and companion.downloads == [(802, 2)]

    with CloudStackCompanion(sim, db) as companion:
        xen = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path, crosszone_hypervisor="XenServer"))
    assert not companion.errors, companion.errors
    assert xen.rc == 0, xen.stdout[-4000:]
    assert db.templates() == MIXED_FINAL
    assert companion.recreated_zones == ["zone-1"]
    assert sorted(companion.downloads) == [(634, 2), (634, 3), (634, 5), (802, 1)]
    assert sim.calls("destroySystemVm") == []

    # both groups done: a run over every hypervisor changes nothing; the backup puts the rows back byte for byte
    snapshot = db.snapshot()
    again = run_playbook(sim, tmp_path, "crosszone.yml", remediation_vars(db, tmp_path))
    assert again.rc == 0 and again.changed == 0, again.stdout[-4000:]
    assert db.snapshot() == snapshot
    backup = str(tmp_path / "crosszone-backup.json")
    restored = run_module(module, dict(db.params, state="restored", backup_file=backup))
    assert restored["restored_template_ids"] == [634, 635, 636, 801, 802]
    assert db.snapshot()["vm_template"] == untouched["vm_template"]
