# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every CloudStack API call written in the collection uses a command and parameter names that CloudStack has.

The reference is the listApis extract of CloudStack 4.16.1, 4.17 and 4.18 kept beside the simulator. Calls are found
in the source: ``<x>.call("cmd", name=...)``, ``<x>.list("cmd", "key", name=...)``, ``<x>.submit("cmd", name=...)``,
and in the action table (``_actions.ACTIONS``), whose calls the executors make.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._actions import ACTIONS

REPO = Path(__file__).resolve().parents[2]
SUBSET = json.loads((REPO / "tests" / "simulator" / "acs_sim" / "api_subset.json").read_text())
CLIENT_METHODS = {"call": 1, "list": 2, "submit": 1}
SOURCES = sorted((REPO / "plugins").rglob("*.py"))


def api_calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLIENT_METHODS):
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
            continue
        command = node.args[0].value
        names = [keyword.arg for keyword in node.keywords if keyword.arg and not keyword.arg.startswith("_")]
        yield node.lineno, node.func.attr, command, names


CALLS = [(path.relative_to(REPO).as_posix(), *call) for path in SOURCES for call in api_calls(path)]


def test_the_collection_calls_the_api():
    commands = {call[3] for call in CALLS} | {action.command for action in ACTIONS.values()}
    assert {"listRouters", "patchSystemVm", "restartNetwork", "restartVPC", "getRouterHealthCheckResults"} <= commands


@pytest.mark.parametrize("path, line, method, command, names", CALLS, ids=["%s:%d" % (call[0], call[1]) for call in CALLS])
def test_command_and_parameters_exist_in_cloudstack(path, line, method, command, names):
    assert command in SUBSET, "%s:%d calls %s, which CloudStack does not have" % (path, line, command)
    unknown = sorted(set(names) - set(SUBSET[command]["params"]) - {"page", "pagesize"})
    assert not unknown, "%s:%d passes %s to %s, which CloudStack does not accept" % (path, line, unknown, command)
    if method == "submit":
        assert SUBSET[command]["isasync"], "%s:%d submits %s as a job, but it is synchronous" % (path, line, command)


@pytest.mark.parametrize("action", list(ACTIONS.values()), ids=["%s-%s-%s" % key for key in ACTIONS])
def test_the_action_table_calls_exist_in_cloudstack(action):
    assert action.command in SUBSET, "%s calls %s, which CloudStack does not have" % (action.label, action.command)
    names = set(action.request("x", lambda feature: True))
    unknown = sorted(names - set(SUBSET[action.command]["params"]))
    assert not unknown, "%s passes %s to %s, which CloudStack does not accept" % (action.label, unknown, action.command)
    # A per-router action is a synchronous call that queues jobs; every other one is submitted as a job.
    assert SUBSET[action.command]["isasync"] is not action.per_router, action.label
