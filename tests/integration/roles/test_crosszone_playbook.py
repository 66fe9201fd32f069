# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""playbooks/crosszone.yml through ansible-runner against a real MariaDB holding a per-zone system VM template."""

from __future__ import annotations

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
