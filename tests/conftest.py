# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Make this checkout importable as the collection ``acs.upgrade`` for the tests and their subprocesses."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _collections_root() -> Path:
    # Outside the checkout, so that linters walking the tree never meet a link back to it.
    digest = hashlib.sha1(str(REPO).encode()).hexdigest()[:10]
    root = Path(tempfile.gettempdir()) / ("acs-upgrade-collections-" + digest)
    link = root / "ansible_collections" / "acs" / "upgrade"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink() or link.resolve() != REPO:
        tmp = link.with_name("upgrade.tmp%d" % os.getpid())
        tmp.symlink_to(REPO, target_is_directory=True)
        tmp.replace(link)
    return root


COLLECTIONS_ROOT = _collections_root()
sys.path.insert(0, str(COLLECTIONS_ROOT))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
    [str(COLLECTIONS_ROOT)] + [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
)
os.environ.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)


@contextlib.contextmanager
def _module_args_before_2_19(args: dict):
    """ansible.module_utils.testing.patch_module_args of ansible-core 2.19, for the older cores of make core-matrix."""
    from ansible.module_utils import basic

    saved = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = saved


@pytest.fixture
def run_module(capsys):
    """Run a module's main() in-process as Ansible would, returning its result dict (``failed`` set on failure)."""
    from ansible.module_utils.common import warnings as module_warnings

    try:
        from ansible.module_utils import _internal as module_internal
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core before 2.19: no controller flag in module_utils
        module_internal = types.SimpleNamespace(is_controller=False)
        patch_module_args = _module_args_before_2_19

    def runner(module, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        # A module process starts without warnings or deprecations; in-process runs share these module globals, so
        # the warnings of an earlier test would otherwise show up in this result (and make it unusable as a parameter).
        module_warnings._global_warnings.clear()
        module_warnings._global_deprecations.clear()
        capsys.readouterr()
        # A module process is never the controller; a test that imported controller code (an action plugin) made this
        # process one, and module warnings would then go to the controller's display instead of the result.
        controller, module_internal.is_controller = module_internal.is_controller, False
        with patch_module_args(args):
            try:
                module.main()
            except SystemExit:
                pass
            finally:
                module_internal.is_controller = controller
        out = capsys.readouterr().out
        return json.loads(out)

    return runner
