# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The module as users run it: the ``ansible`` command, credentials from a MySQL option file, the seed cloud
remediated step by step to the final state of the article, then put back from the backup file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = "acs.upgrade.cs_template_crosszone"


@pytest.fixture
def ansible(tmp_path):
    """Run the module through ``ansible localhost -m``; return the module's result dict."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_STDOUT_CALLBACK": "json",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    ansible_bin = str(Path(sys.executable).with_name("ansible"))

    def run(args: dict, *options: str) -> dict:
        command = [ansible_bin, "localhost", "-i", "localhost,", "-c", "local", "-m", MODULE, "-a", json.dumps(args)]
        command += ["-e", f"ansible_python_interpreter={sys.executable}", *options]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        try:
            output = json.loads(proc.stdout)
        except ValueError:
            pytest.fail(f"ansible printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return output["plays"][0]["tasks"][0]["hosts"]["localhost"]

    return run


@pytest.fixture
def my_cnf(tmp_path):
    def write(db) -> str:
        path = tmp_path / "my.cnf"
        server = db.server
        path.write_text(f"[client]\nhost=127.0.0.1\nport={server.port}\nuser={server.user}\npassword={server.password}\n")
        path.chmod(0o600)
        return str(path)

    return write


def test_seed_remediated_and_restored_with_the_ansible_command(cloud_db, ansible, my_cnf, tmp_path):
    db = cloud_db("seed")
    untouched = db.snapshot()
    config_file = my_cnf(db)
    backup = str(tmp_path / "crosszone.json")
    connection = {"config_file": config_file}

    detected = ansible(connection)
    assert detected.get("failed") is not True, detected.get("msg")
    assert detected["groups"][0]["taken_template_id"] == 636
    assert detected["next_step"]["name"] == "activate_zone_2"

    step = {**connection, "state": "remediated", "backup_file": backup}
    checked = ansible(step, "--check", "--diff")
    assert checked["changed"] is True
    assert checked["diff"]["after"]["vm_template"]["634"] == {"state": "Inactive", "cross_zones": 1}
    assert db.snapshot() == untouched
    assert not os.path.exists(backup)

    first = ansible(step)
    assert first["changed"] and first["step"]["name"] == "activate_zone_2"
    assert ansible(step)["changed"] is False  # waits for zone 2
    db.system_vms_started(zone_id=2, template_id=635)

    second = ansible(step)
    assert second["changed"] and second["step"]["name"] == "activate_canonical"
    db.system_vms_started(zone_id=1, template_id=634)
    db.template_downloaded(634, store_id=2)
    db.template_downloaded(634, store_id=3)

    final = ansible(step)
    assert final["changed"] is False and final["done"] is True
    assert db.templates() == {634: ("Active", 1), 635: ("Inactive", 0), 636: ("Inactive", 0)}
    assert db.query("SELECT store_id FROM template_store_ref WHERE template_id = 634 AND destroyed = 0 AND download_state = 'DOWNLOADED' ORDER BY 1") == [
        (1,),
        (2,),
        (3,),
    ]

    restored = ansible({**connection, "state": "restored", "backup_file": backup})
    assert restored["changed"] is True and restored["restored_template_ids"] == [634, 635, 636]
    assert db.query("SELECT * FROM vm_template ORDER BY 1") == untouched["vm_template"]
    assert db.server.password not in json.dumps([detected, first, second, final, restored])
