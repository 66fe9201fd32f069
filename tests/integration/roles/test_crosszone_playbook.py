# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""playbooks/crosszone.yml through ansible-runner against a real MariaDB holding a per-zone system VM template."""

from __future__ import annotations

import re

from playbook_runner import run_playbook


def db_vars(db, **more):
    params = db.params
    base = {
        "crosszone_db_host": params["login_host"],
        "crosszone_db_port": str(params["login_port"]),
        "crosszone_db_user": params["login_user"],
        "crosszone_db_password": params["login_password"],
        "crosszone_db_name": params["login_db"],
    }
    base.update(more)
    return base


def test_detects_and_shows_the_next_step_without_changing_anything(acs_sim, cloud_db, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    db = cloud_db("seed")
    before = db.snapshot()

    detected = run_playbook(sim, tmp_path, "crosszone.yml", db_vars(db))
    assert detected.rc == 0, detected.stdout[-3000:]
    assert "systemvm-xenserver-4.5" in detected.stdout

    checked = run_playbook(sim, tmp_path, "crosszone.yml", db_vars(db, crosszone_remediate="true", crosszone_backup_file=str(tmp_path / "b.json")), check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert "activate_zone_2" in checked.stdout
    assert db.snapshot() == before
    assert not (tmp_path / "b.json").exists()
    assert db.params["login_password"] not in detected.stdout + checked.stdout


def test_the_read_only_run_prints_the_plan(acs_sim, cloud_db, tmp_path):
    # What an operator reads before saying yes, without -v: the groups, which hypervisor each zone's system VMs run on,
    # the zones that cannot recreate them, each step with its SQL and what it waits for.
    sim = acs_sim(topology="small", time_factor=0.002)
    db = cloud_db("mixed_hypervisors")
    before = db.snapshot()
    run = run_playbook(sim, tmp_path, "crosszone.yml", db_vars(db))
    assert run.rc == 0, run.stdout[-3000:]
    assert db.snapshot() == before
    shown = run.stdout.split("TASK [Show the remediation plan]")[1]
    expected = [
        "KVM 'systemvm-kvm-4.5': step_pending; rows 801 Active cross_zones=0 in zone(s) 1, 802 Active cross_zones=0 in zone(s) 2",
        "  CloudStack takes template 802 today; canonical template 802 (lowest id downloaded in a zone whose system VMs run on its hypervisor",
        "  zone 1 (zone-1), image store(s) 1: system VMs on XenServer (SSVM none, CPVM none), they do not use these templates",
        "  zone 2 (zone-2), image store(s) 2, 5: system VMs on KVM (SSVM Running, CPVM Running)",
        "  step 1 activate_canonical: make template 802 the only Active KVM system VM template, cross-zone",
        "    UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=801 AND state<=>'Active' AND cross_zones=0;",
        "    UPDATE `cloud`.`vm_template` SET cross_zones=1 WHERE id=802 AND state<=>'Active' AND cross_zones=0;",
        "    then wait for: template 802 DOWNLOADED (template_store_ref) in image store(s) 2 of zone 2 (zone-2); restart (do not destroy)",
        (
            "XenServer 'systemvm-xenserver-4.5': step_pending; rows 634 Active cross_zones=0 in zone(s) 1, 635 Active cross_zones=0 in zone(s) 2, "
            "636 Active cross_zones=0 in zone(s) 3"
        ),
        "  CloudStack takes template 636 today; canonical template 634 (",
        (
            "  zone 1 (zone-1), image store(s) 1: system VMs on XenServer (SSVM none, CPVM none), CANNOT recreate them (template 636 is in none of its "
            "image stores)"
        ),
        "  zone 2 (zone-2), image store(s) 2, 5: system VMs on KVM (SSVM Running, CPVM Running), they do not use these templates",
        "  zones that cannot recreate their SSVM/CPVM: 1",
        "    UPDATE `cloud`.`vm_template` SET cross_zones=1 WHERE id=634 AND state<=>'Active' AND cross_zones=0;",
        "    UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=635 AND state<=>'Active' AND cross_zones=0;",
        "    UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=636 AND state<=>'Active' AND cross_zones=0;",
        "    then wait for: the SSVM and the CPVM of zone 1 (zone-1) Running",
        "    then wait for: template 634 DOWNLOADED (template_store_ref) in image store(s) 2, 5 of zone 2 (zone-2)",
    ]
    # the default callback prints the list one quoted line per item
    printed = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip().rstrip(",").strip('"').strip() for line in shown.splitlines()]
    for line in expected:
        assert any(p.startswith(line.strip()) for p in printed), line
    # in the order the steps run: XenServer, whose zone 1 cannot recreate its system VMs, before KVM
    headers = [p.split(":")[0] for p in printed if p.startswith(("KVM '", "XenServer '"))]
    assert headers == ["XenServer 'systemvm-xenserver-4.5'", "KVM 'systemvm-kvm-4.5'"]
    assert any(p.startswith("groups in the order their steps run (groups with zones that cannot recreate") for p in printed)
    # what saying yes runs, and that nothing was changed
    said = " ".join(run.stdout.split("TASK [Say what a yes runs]")[1].split("PLAY RECAP")[0].split())
    assert "Nothing was changed. To run the steps above one at a time" in said
    assert "run this playbook again with -e crosszone_remediate=true" in said
    assert db.params["login_password"] not in run.stdout
