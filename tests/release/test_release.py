# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The collection as Galaxy and AWX take it: the tarball, galaxy-importer, the changelog, the execution environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")), **kwargs.pop("env", {}))
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, env=env, check=False, **kwargs)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = run(BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", out, REPO)
    assert built.returncode == 0, built.stdout + built.stderr
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    return out / ("acs-upgrade-%s.tar.gz" % version)


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("installed")
    done = run(BIN / "ansible-galaxy", "collection", "install", "--offline", "--force", "-p", root, tarball)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_tarball_holds_what_a_user_runs_and_no_development_tooling(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    tops = {name.split("/", 1)[0] for name in names}
    for wanted in ("plugins", "roles", "playbooks", "meta", "requirements.txt", "CHANGELOG.rst", "ee", "awx", "README.md", "COPYING"):
        assert wanted in tops, wanted
    for unwanted in ("tests", "molecule", "demo", "Makefile", "requirements-dev.txt", ".ansible-lint", ".yamllint", "ruff.toml", "pytest.ini", ".ci"):
        assert unwanted not in tops, unwanted
    assert not [name for name in names if "__pycache__" in name or name.endswith((".sql", ".pyc"))]


def test_galaxy_importer_accepts_the_tarball_offline(tarball, tmp_path):
    """galaxy-importer with ansible-doc and ansible-lint (offline), as Galaxy runs it on an upload: on a machine of its
    own, where no other copy of acs.upgrade (an older one in ~/.ansible/collections) resolves the tarball's modules."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"GALAXY_IMPORTER_CONFIG": str(HERE / "galaxy-importer.cfg"), "HOME": str(home), "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections")}
    result = run(sys.executable, "-m", "galaxy_importer.main", tarball, env=env, cwd=tarball.parent)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Importer processing completed successfully" in output, output
    assert "ERROR" not in output and "WARNING" not in output, output


def test_changelog_fragments_lint_and_changelog_is_generated_from_them(tmp_path):
    lint = run(BIN / "antsibull-changelog", "lint", cwd=REPO)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
    changes = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    release = changes["releases"][version]
    assert release["changes"].get("release_summary"), "the release has no summary"
    # CHANGELOG.rst is what antsibull-changelog makes of changelog.yaml, not hand-edited.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("galaxy.yml", "CHANGELOG.rst"):
        (copy / name).write_text((REPO / name).read_text())
    (copy / "changelogs").mkdir()
    for name in ("config.yaml", "changelog.yaml"):
        (copy / "changelogs" / name).write_text((REPO / "changelogs" / name).read_text())
    generated = run(BIN / "antsibull-changelog", "generate", cwd=copy)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert (copy / "CHANGELOG.rst").read_text() == (REPO / "CHANGELOG.rst").read_text(), "CHANGELOG.rst is out of date: run antsibull-changelog generate"


def test_introspection_of_the_installed_collection_lists_its_python_packages(installed):
    """What an execution environment build that includes the collection runs (ansible-builder's introspect)."""
    result = run(BIN / "ansible-builder", "introspect", "--sanitize", installed)
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(result.stdout.split("\n", 1)[1])
    packages = [line.split(">=")[0].split()[0] for line in data["python"]]
    assert packages == ["requests", "PyMySQL"], data
    assert all("from collection acs.upgrade" in line for line in data["python"])


def test_execution_environment_definition_creates_a_build_context(tmp_path):
    context = tmp_path / "context"
    result = run(BIN / "ansible-builder", "create", "-f", REPO / "ee" / "execution-environment.yml", "-c", context, "--output-filename", "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<2.5"' in containerfile
    assert "introspect.py introspect" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [item["name"] for item in requirements["collections"]] == ["acs.upgrade"]
    # Pinned to this release: an execution environment is rebuilt with the collection it was made for.
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    assert requirements["collections"][0]["version"] == "==%s" % version
    # The ssh client of cs_vr_health source=local's jump host, installed by bindep on the base image (dnf).
    bindep = (context / "_build" / "bindep.txt").read_text()
    assert "openssh-clients [platform:rpm]" in bindep.splitlines()
    assert "bindep.txt" in containerfile
