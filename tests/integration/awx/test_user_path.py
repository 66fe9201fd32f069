# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The README's first path: the keys in ~/.cloudstack.ini only, the plan playbook with an exclude list."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import ansible_runner

REPO = Path(__file__).resolve().parents[3]


def test_plan_playbook_reads_the_keys_from_the_ini_file_and_lists_what_was_excluded(acs_sim, tmp_path, monkeypatch):
    sim = acs_sim(topology="small")
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_CONFIG", "CLOUDSTACK_REGION"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".cloudstack.ini").write_text("[cloudstack]\nendpoint = %s\nkey = %s\nsecret = %s\n" % (sim.url, sim.admin_key, sim.admin_secret))
    state = tmp_path / "state"
    (tmp_path / "job").mkdir()
    result = ansible_runner.run(
        private_data_dir=str(tmp_path / "job"),
        project_dir=str(REPO / "playbooks"),
        playbook="plan.yml",
        inventory="localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
        # plan_order and plan_include as an AWX survey hands over optional questions left blank.
        extravars={"acs_upgrade_dir": str(state), "plan_exclude": "zone2, r-5-VM", "plan_order": "", "plan_include": ""},
        envvars={
            "HOME": str(home),
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(tmp_path / "rtmp"),
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        },
        quiet=True,
    )
    output = result.stdout.read()
    assert result.status == "successful", output[-3000:]
    plan = json.loads((state / "plan.json").read_text())
    excluded = {item["name"]: item["reason"] for item in plan["excluded"]}
    assert excluded["acme-web"] == "network acme-web is excluded by the operator: exclude entry 'r-5-VM' names router r-5-VM of network acme-web"
    zone2 = {vm["name"] for vm in sim.state()["systemvms"] if vm["zonename"] == "zone2"} | {"globex-zone2", "globex-vpc-empty"}
    assert zone2 <= set(excluded)
    assert all(item["zonename"] == "zone1" for item in plan["items"] if item["path"] != "skip")
    assert "excluded by the operator" in (state / "plan.txt").read_text()
    assert sim.admin_secret not in output
