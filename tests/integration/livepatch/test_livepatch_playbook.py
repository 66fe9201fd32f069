# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_livepatch run as operators run it: a playbook through ansible-runner (as AWX does), against the simulator."""

from __future__ import annotations

import json
import os
import sys

import ansible_runner

PLAYBOOK = """
- name: Live-patch zone1
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/acs.upgrade.cloudstack:
      api_url: "{{ sim_url }}"
      api_key: "{{ sim_key }}"
      api_secret: "{{ sim_secret }}"
  tasks:
    - name: Plan
      acs.upgrade.cs_livepatch:
        zone: zone1
        routers: [all]
        system_vms: [all]
        poll_interval: 0.05
      check_mode: true
      register: plan

    - name: Patch
      acs.upgrade.cs_livepatch:
        zone: zone1
        routers: [all]
        system_vms: [all]
        parallel: 3
        poll_interval: 0.05
      register: patched

    - name: Patch the routers again
      acs.upgrade.cs_livepatch:
        zone: zone1
        routers: [all]
        poll_interval: 0.05
      register: again

    - name: Routers that need the legacy path
      ansible.builtin.debug:
        msg: "{{ patched.targets | selectattr('recreate_required') | map(attribute='name') | list }}"
"""


def task_results(runner) -> dict[str, dict]:
    return {event["event_data"]["task"]: event["event_data"]["res"] for event in runner.events if event["event"] in ("runner_on_ok", "runner_on_failed")}


def test_playbook_plans_patches_and_is_idempotent(acs_sim, tmp_path):
    sim = acs_sim("small")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "livepatch.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    runner = ansible_runner.run(
        private_data_dir=str(tmp_path),
        playbook="livepatch.yml",
        extravars={"sim_url": sim.url, "sim_key": sim.admin_key, "sim_secret": sim.admin_secret},
        # ansible-playbook of the interpreter running the tests, as an execution environment would have it on PATH.
        envvars={
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
        },
        quiet=True,
    )
    stdout = runner.stdout.read()
    assert runner.rc == 0, stdout

    results = task_results(runner)
    plan, patched, again = results["Plan"], results["Patch"], results["Patch the routers again"]
    assert plan["changed"] and plan["summary"]["would_patch"] == 6
    assert patched["changed"] and patched["summary"]["patched"] == 6 and patched["summary"]["failed"] == 0
    assert not again["changed"] and again["summary"]["unchanged"] == 4 and again["summary"]["legacy_required"] == 1
    assert results["Routers that need the legacy path"]["msg"] == ["globex-app"]
    assert sim.max_jobs_in_flight() <= 3
    # Every change came from the "Patch" task: one job per network, VPC and system VM, none from the plan or the rerun.
    changes = sorted(call["command"] for call in sim.calls() if not call["command"].startswith(("list", "query", "get")))
    assert changes == ["patchSystemVm"] * 2 + ["restartNetwork"] * 3 + ["restartVPC"]

    artifacts = stdout + json.dumps(list(runner.events))
    assert sim.admin_secret not in artifacts
