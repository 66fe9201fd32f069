# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Run the cs_upgrade_stage module as it is, and show in the task output where the stage stands while it runs.

An AWX job shows nothing of a task until it ends, and a stage may run for hours. While the module runs (in its own
process, exactly as without this plugin, so that it still ends within seconds of a killed playbook), a thread of the
task's worker reads the plan and the journal every ``progress_interval`` seconds and prints a line such as
"zone2 routers: 812/2,000 done, 3 failed, 40 in flight, ETA 6 min (running 12 min)".
"""

from __future__ import annotations

import os
import threading
import time
import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.acs.upgrade.plugins.module_utils._state import EngineError, Journal, load_plan
from ansible_collections.acs.upgrade.plugins.module_utils._progress import StageCount, progress_line, stage_count

display = Display()


class StageProgress:
    """Prints the stage's progress every ``interval`` seconds until stopped."""

    def __init__(self, args: dict[str, t.Any], interval: float):
        self.plan_file = os.path.expanduser(str(args["plan"]))
        self.journal = os.path.expanduser(str(args["journal"]))
        self.group = str(args["group"])
        self.stage = str(args["stage"])
        self.paths = list(args.get("paths") or ["livepatch", "legacy"])
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="acs-upgrade-progress", daemon=True)
        self._started = time.monotonic()
        self._at_start: StageCount | None = None

    def _count(self) -> StageCount | None:
        try:
            return stage_count(load_plan(self.plan_file), Journal(self.journal).entries(), self.group, self.stage, self.paths)
        except (EngineError, OSError, ValueError, KeyError, TypeError):
            # The plan or journal cannot be read now (a line being written): the next tick reads them again.
            return None

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        now = self._count()
        if now is None:
            return "%s %s: running %d s; the journal cannot be read at the moment" % (self.group, self.stage, elapsed)
        return progress_line(self.group, self.stage, now, self._at_start or now, elapsed)

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                display.display(self.line())
            except Exception:  # the playbook is gone (a killed job): the line has nowhere to go
                return

    def __enter__(self) -> StageProgress:
        self._at_start = self._count()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(5)


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        args = self._task.args
        interval = args.get("progress_interval", 60)
        try:
            interval = float(interval or 0)
        except (TypeError, ValueError):
            interval = 0.0  # the module's argument check names the bad value
        if interval <= 0 or not args.get("group") or args.get("stage") in ("acquire", "release"):
            result.update(self._execute_module(task_vars=task_vars))
            return result
        with StageProgress(args, interval):
            result.update(self._execute_module(task_vars=task_vars))
        return result
