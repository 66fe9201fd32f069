# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""upgrade_notify's line for people: a finished group gives its own counts, then the run's so far."""

from __future__ import annotations

import datetime
import json

from ansible_collections.acs.upgrade.plugins.module_utils._plan import build_plan, start_run
from ansible_collections.acs.upgrade.plugins.modules.upgrade_notify import headline, run_summary

MS = "4.18.0.0"
ROUTER = {"state": "Running", "requiresupgrade": True, "softwareversion": "4.14.1.0", "version": "4.14.1", "scriptsversion": "old0000000000"}
FLEET = {
    "version": MS,
    "zones": [{"id": "z1", "name": "zone-a"}, {"id": "z2", "name": "zone-b"}],
    "min_template": {"z1": "4.18.0", "z2": "4.18.0"},
    "systemvms": [],
    "routers": [dict(ROUTER, id="r1", name="r-1-VM", zoneid="z1"), dict(ROUTER, id="r2", name="r-2-VM", zoneid="z1"),
                dict(ROUTER, id="r3", name="r-3-VM", zoneid="z2")],
    "units": [
        {"kind": "network", "id": "n1", "name": "net-1", "zoneid": "z1", "routers": ["r1"], "tiers": []},
        {"kind": "network", "id": "n2", "name": "net-2", "zoneid": "z1", "routers": ["r2"], "tiers": []},
        {"kind": "network", "id": "n3", "name": "net-3", "zoneid": "z2", "routers": ["r3"], "tiers": []},
    ],
}  # fmt: skip
T0 = datetime.datetime(2026, 11, 22, 1, 0, tzinfo=datetime.timezone.utc)


def test_a_finished_group_gives_its_own_counts_then_the_runs_so_far(tmp_path):
    plan = start_run(build_plan(FLEET, canary_size=0, batch_size=10), None, T0, None, "run-1")
    state = tmp_path / "eu-west"
    state.mkdir()
    (state / "plan.json").write_text(json.dumps(plan))
    batch = next(batch["index"] for batch in plan["batches"] if batch["group"] == "zone-a")
    # zone-a's two networks live-patched, as the stage journals them; zone-b not reached yet.
    entries = [
        {"key": "network:%s" % unit, "name": name, "ms_version": MS, "batch": batch, "path": "livepatch", "status": "done", "time": T0.isoformat()}
        for unit, name in (("n1", "net-1"), ("n2", "net-2"))
    ]
    (state / "journal.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    found, why = run_summary(str(state / "plan.json"), str(state / "journal.jsonl"), None, "zone-a")
    assert why is None and found["group_summary"]["done"] == 2 and found["group_summary"]["not_run"] == 0
    payload = dict(found, event="group", group="zone-a", text="zone-a is finished", state_dir=str(state))
    assert headline(payload) == "[eu-west] zone-a is finished (2 done); the run so far: 2 done, 1 not run"
    # The stop still gives the run's outcome and counts.
    stop = run_summary(str(state / "plan.json"), str(state / "journal.jsonl"), None)[0]
    assert "group_summary" not in stop
    assert headline(dict(stop, event="stop", group=None, text="the upgrade ended", state_dir=str(state))) == (
        "[eu-west] the upgrade ended — incomplete: 2 done, 1 not run"
    )
