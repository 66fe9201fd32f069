# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""playbooks/upgrade.yml and its state directory: every file the run leaves is private to its user."""

from __future__ import annotations

import os
import stat

from playbook_runner import run_playbook
from test_upgrade_playbooks import extravars


def test_every_file_of_the_state_directory_is_private(acs_sim, tmp_path):
    sim = acs_sim(topology="small", time_factor=0.002)
    output = tmp_path / "out"
    umask = os.umask(0o022)
    try:
        run = run_playbook(sim, tmp_path, "upgrade.yml", extravars(output, plan_order="zone2,zone1"))
    finally:
        os.umask(umask)
    assert run.rc == 0, run.stdout[-3000:]
    modes = {}
    for directory, subdirectories, files in os.walk(output):
        for name in subdirectories:
            modes[os.path.join(directory, name) + "/"] = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
        for name in files:
            modes[os.path.join(directory, name)] = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
    names = {os.path.relpath(path, output) for path in modes}
    assert {"plan.json", "plan.txt", "journal.jsonl", "progress.log", "fleet.json", "report.json", "report.md", "report.html"} <= names
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o700
    assert {path: oct(mode) for path, mode in modes.items() if mode != (0o700 if path.endswith("/") else 0o600)} == {}
