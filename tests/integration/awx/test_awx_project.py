# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A fresh AWX project from a checkout: its sync installs the collection from collections/requirements.yml, as AWX's
project update does (ansible-galaxy in the project directory, into the project's collection cache), and a job of
the project runs with that cache as its only source of acs.upgrade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def test_a_project_from_a_checkout_resolves_the_collection_and_runs_the_plan(acs_sim, tmp_path):
    sim = acs_sim(topology="small")
    project = tmp_path / "project"
    project.mkdir()
    # What a git clone of the repository holds: the tracked files and those not yet committed, nothing ignored.
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "--null", "-T", "-", "-cf", str(tmp_path / "checkout.tar")], input=files, cwd=REPO, check=True)
    subprocess.run(["tar", "-xf", str(tmp_path / "checkout.tar"), "-C", str(project)], check=True)
    cache = tmp_path / "requirements_collections"
    # No other acs.upgrade anywhere: a clean HOME, the cache as the only collection path (the ansible package's own
    # collections in site-packages stay, as they are in an execution environment).
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CLOUDSTACK_", "ANSIBLE_"))}
    env.update(HOME=str(tmp_path / "home"), ANSIBLE_COLLECTIONS_PATH=str(cache), PATH="%s%s%s" % (BIN, os.pathsep, env.get("PATH", "")))
    (tmp_path / "home").mkdir()

    sync = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "-r", "collections/requirements.yml", "--collections-path", str(cache), "--offline"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr
    installed = yaml.safe_load((cache / "ansible_collections" / "acs" / "upgrade" / "MANIFEST.json").read_text())["collection_info"]
    assert installed["version"] == yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]

    job = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "playbooks/plan.yml",
            "-i",
            "localhost,",
            "-e",
            "ansible_connection=local ansible_python_interpreter=%s acs_upgrade_dir=%s" % (sys.executable, tmp_path / "state"),
        ],
        cwd=project,
        env=dict(env, CLOUDSTACK_ENDPOINT=sim.url, CLOUDSTACK_KEY=sim.admin_key, CLOUDSTACK_SECRET=sim.admin_secret),
        capture_output=True,
        text=True,
        check=False,
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    assert (tmp_path / "state" / "plan.json").is_file()
    # The job could only have found it in the project's cache.
    listed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "acs.upgrade", "--format", "yaml"], env=env, capture_output=True, text=True, check=False
    )
    assert list(yaml.safe_load(listed.stdout)) == [str(cache / "ansible_collections")], listed.stdout
