# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""One vocabulary: every status cs_livepatch and cs_recreate document for a target has its outcome in the journal's
and the report's words, and their results carry it."""

from __future__ import annotations

import re

import pytest
import yaml

from ansible_collections.acs.upgrade.plugins.module_utils._livepatch import Target as PatchTarget
from ansible_collections.acs.upgrade.plugins.module_utils._plan import JOURNAL_STATUSES, TARGET_OUTCOMES, target_outcome
from ansible_collections.acs.upgrade.plugins.module_utils._recreate import Target as RecreateTarget
from ansible_collections.acs.upgrade.plugins.module_utils._report import OUTCOMES
from ansible_collections.acs.upgrade.plugins.modules import cs_livepatch, cs_recreate


def documented(module, field):
    """The values a module's RETURN lists for a field of its targets (the V(...) of its description)."""
    targets = yaml.safe_load(module.RETURN)["targets"]["contains"]
    return re.findall(r"V\((\w+)\)", " ".join(targets[field]["description"]))


@pytest.mark.parametrize("module", [cs_livepatch, cs_recreate], ids=["cs_livepatch", "cs_recreate"])
def test_every_documented_status_has_an_outcome_of_the_one_vocabulary(module):
    statuses = [status for status in documented(module, "status") if status not in ("livepatch",)]
    assert len(statuses) >= 7
    vocabulary = set(JOURNAL_STATUSES) | {"not_run"}
    assert vocabulary <= set(OUTCOMES) | {"submitted"}, "the report's outcomes name every journal status"
    for status in statuses:
        assert status in TARGET_OUTCOMES, "%s documents status %s, which has no outcome" % (module.__name__, status)
        assert target_outcome(status) in vocabulary
    # The documentation of outcome says the same as the mapping.
    described = documented(module, "outcome")
    assert set(described) & vocabulary == {target_outcome(status) for status in statuses}


def test_only_a_finished_job_or_a_current_target_is_done_and_a_status_nobody_knows_is_not():
    done = sorted(status for status, outcome in TARGET_OUTCOMES.items() if outcome == "done")
    assert done == ["patched", "succeeded", "unchanged"]
    assert target_outcome("timed_out") == target_outcome("outcome_unknown") == "unknown"
    assert target_outcome("something new") == "failed"


def test_the_targets_of_both_modules_carry_their_outcome():
    patched = PatchTarget(kind="network", id="n1", name="net-1", zoneid="z1", zone="zone-a")
    patched.status = "timed_out"
    assert patched.as_dict()["outcome"] == "unknown"
    recreated = RecreateTarget(kind="router", id="r1", name="r-1-VM", method="reboot")
    recreated.finish("would_recreate", "check mode")
    assert (recreated.as_result()["status"], recreated.as_result()["outcome"]) == ("would_recreate", "not_run")
