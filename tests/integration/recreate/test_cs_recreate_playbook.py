# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_recreate run as operators run it: ansible-playbook against the simulator, the connection set once for the group."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PLAYBOOK = """
- name: Recreate the system VMs and routers of zone2
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/acs.upgrade.cloudstack:
      api_url: "{{ sim_url }}"
      api_key: "{{ sim_key }}"
      api_secret: "{{ sim_secret }}"
      poll_interval: 0.05
      timeout: 30
  tasks:
    - name: Plan the console proxy
      acs.upgrade.cs_recreate:
        target: systemvm
        method: destroy
        zone: zone2
        systemvm_type: consoleproxy
      check_mode: true
      register: plan

    - name: Recreate the console proxy
      acs.upgrade.cs_recreate:
        target: systemvm
        method: destroy
        zone: zone2
        systemvm_type: consoleproxy
      register: recreated

    - name: Restart the networks and VPCs of zone2 with cleanup
      acs.upgrade.cs_recreate:
        target: router
        zone: zone2
        parallel: 1
      register: restarted

    - name: Recreate the console proxy again
      acs.upgrade.cs_recreate:
        target: systemvm
        method: destroy
        zone: zone2
        systemvm_type: consoleproxy
      register: again_systemvm

    - name: Restart the networks and VPCs of zone2 again
      acs.upgrade.cs_recreate:
        target: router
        zone: zone2
      register: again_router

    - name: Save what the tasks returned
      ansible.builtin.copy:
        content: "{{ {'plan': plan, 'recreated': recreated, 'restarted': restarted, 'again': [again_systemvm, again_router]} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
"""


def test_playbook_plans_recreates_and_is_idempotent(acs_sim, tmp_path):
    """Routers on the current template are left alone on a second run, and so is the recreated system VM: its ROOT volume's
    template (listVolumes listsystemvms, QueryManagerImpl.searchForVolumesInternal 4.18.0.0) is at the zone's
    minreq.sysvmtemplate.version, though the upgrade repointed its listed template (VMInstanceDaoImpl.updateSystemVmTemplateId)."""
    sim = acs_sim("small", time_factor=0.001)
    playbook = tmp_path / "recreate.yml"
    playbook.write_text(PLAYBOOK)
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    results_file = tmp_path / "results.json"
    extra = {"sim_url": sim.url, "sim_key": sim.admin_key, "sim_secret": sim.admin_secret, "results_file": str(results_file)}
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-v", "-i", str(inventory), str(playbook), "-e", json.dumps(extra)],
        capture_output=True,
        text=True,
        timeout=300,
        # ANSIBLE_COLLECTIONS_PATH comes from tests/conftest.py, as a user's ansible.cfg or execution environment would set it.
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert sim.admin_secret not in run.stdout + run.stderr

    results = json.loads(results_file.read_text())
    plan, recreated, restarted = results["plan"], results["recreated"], results["restarted"]
    assert plan["changed"] and plan["summary"]["would_recreate"] == 1
    (vm,) = recreated["targets"]
    assert recreated["changed"] and vm["status"] == "succeeded" and len(vm["new_ids"]) == 1
    assert {target["name"]: target["status"] for target in restarted["targets"]} == {"globex-zone2": "succeeded", "globex-vpc-empty": "succeeded"}
    assert [result["changed"] for result in results["again"]] == [False, False]
    (again,) = results["again"][0]["targets"]
    assert again["status"] == "unchanged" and again["id"] == vm["new_ids"][0]
    assert "already runs template 4.18.0 (its ROOT volume), at or above zone2's minimum 4.18.0" in again["reason"]
    assert [call["params"]["id"] for call in sim.calls("destroySystemVm")] == [vm["id"]]
    assert len(sim.calls("restartNetwork")) == 1 and len(sim.calls("restartVPC")) == 1
    assert sim.max_jobs_in_flight() <= 1
