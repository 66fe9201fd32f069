# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""acs.upgrade.warn: the message becomes a warning of the task, which succeeds and changes nothing."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.acs.upgrade.plugins.action.warn import ActionModule


def action(args):
    task = MagicMock(args=args, async_val=0, check_mode=False, diff=False)
    return ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)


def test_the_message_is_a_warning_and_the_task_succeeds():
    result = action({"msg": "the report after zone1 was not written: disk full"}).run(task_vars={})
    assert result["warnings"] == ["the report after zone1 was not written: disk full"]
    assert result["changed"] is False and not result.get("failed")


def test_a_warning_without_a_message_is_refused():
    with pytest.raises(AnsibleActionFail, match="msg"):
        action({}).run(task_vars={})
