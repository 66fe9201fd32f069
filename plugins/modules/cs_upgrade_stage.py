#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_upgrade_stage
short_description: Run one stage of one group of an upgrade plan as a rolling window of jobs
version_added: 0.2.0
description:
  - Reads the plan written by M(acs.upgrade.cs_upgrade_plan) (O(plan), a path; the plan never travels as a module
    argument or result) and runs the items of one O(stage) of one O(group) on the path the plan decided for each,
    V(livepatch) or V(legacy).
  - A rolling window, not batches. Up to O(parallel) jobs are in flight and the next target is submitted as soon as
    one ends. For each target the engine acts, verifies the versions, judges its routers' health against their own
    state read before the stage (O(health_gate)), then on failure takes the fallback O(on_failure) asks for - only
    once the first job has ended, never two mutations of one target at once - and records the end in the journal.
  - Every submit and every end is written to the O(journal) at once (fsync) with its job id. A rerun follows the
    jobs an earlier run left in flight instead of submitting them again, and never repeats a finished target.
  - Stop rules, evaluated after every target, stop submitting at once and fail the task - a canary that fails,
    a health regression, O(on_failure=stop) with a failure, or failed items above O(max_fail_percentage) of the plan.
    So do a closed maintenance window of the group and the run's deadline (C(run.deadline) of the plan); the jobs
    already in flight are then followed to their end.
  - When the C(ansible-playbook) process that runs it ends (a cancelled or timed-out AWX job, a killed playbook),
    the module notices within a second, stops following its jobs and exits; its jobs in flight stay V(submitted) in
    the journal with their job id, and the next run follows them. The same happens, without writing anything more,
    when another run has taken the state lock over.
  - A lock next to the journal (C(<journal>.lock), with owner, host, pid, start and heartbeat) refuses a second run on
    the same state. On its own host, the lock of a process that no longer runs is taken over with a warning. From
    another host sharing the state directory (the next AWX job in another pod or on another execution node), the
    lock is a lease. The run renews its heartbeat when each of its modules starts and every 15 seconds while a
    stage runs, and a lock whose heartbeat is older than O(lock_lease) is taken over with a warning naming the old
    holder; a fresher one is refused. O(stage=acquire) takes it
    and the lock per cloud below (the playbooks do so before they write anything in the state directory),
    O(stage=release) gives them back at the end of the run.
  - Two runs never act on one cloud at once, whatever their state directories. From one host, a lock per cloud
    (C(acs-upgrade-cloud-<digest of the server>.lock) in C(/run/lock) or the temporary directory, with the run's pid
    and state directory; C(localhost) and C(127.0.0.1) are one server)
    refuses the second run and names the first. From other hosts, the jobs themselves are the mark CloudStack keeps;
    before acting on a target, the jobs on it that this journal does not know are read (C(listAsyncJobs)); a new run
    refuses to start while such a job is in flight, a resumed run follows it, and a job that ended is verified and
    journalled, never sent again. A target found upgraded since the plan is journalled done without a job.
  - A progress line per group and every O(progress_every) targets is appended to O(progress_file).
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.cloudstack
  - acs.upgrade.attributes
  - acs.upgrade.attributes.actiongroup_cloudstack
attributes:
  check_mode:
    support: full
    details:
      - Reads the routers and reports how many targets would be acted on; submits nothing and writes no journal.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A target the journal records as done is never acted on again.
options:
  plan:
    description: Path of C(plan.json) written by M(acs.upgrade.cs_upgrade_plan).
    type: path
    required: true
  journal:
    description: Path of the journal (JSON lines) shared by every stage of the run and the report.
    type: path
    required: true
  group:
    description: The group to run, by the name the plan gives it (C(groups) of M(acs.upgrade.cs_upgrade_plan)).
    type: str
  stage:
    description:
      - V(systemvms), V(canary) or V(routers) of O(group); V(acquire) takes the state lock (in check mode, only
        checks that no other run holds it) and V(release) gives it back.
    type: str
    required: true
    choices: [systemvms, canary, routers, acquire, release]
  paths:
    description: The paths this call acts on; the others are left for another call (the V(livepatch) and V(legacy) roles).
    type: list
    elements: str
    choices: [livepatch, legacy]
    default: [livepatch, legacy]
  parallel:
    description: Most jobs in flight at once (1 to 1000).
    type: int
    default: 50
  timeout:
    description: Seconds one job may run; a job that runs longer is recorded as V(unknown) and followed by the next run.
    type: int
    default: 900
  poll_interval:
    description: Longest pause in seconds between two reads of the jobs in flight.
    type: float
    default: 5
  on_failure:
    description:
      - What a failed live patch leads to. V(recreate) recreates the target on the legacy path once its live patch
        job has ended; V(continue) records the failure and goes on; V(stop) stops the run.
    type: str
    choices: [stop, continue, recreate]
    default: recreate
  max_fail_percentage:
    description: The run stops when items that failed (after their fallback) are more than this percentage of the planned items.
    type: float
    default: 0
  health_gate:
    description:
      - Judge each network's or VPC's routers after its upgrade against their own health checks before it; a check that
        newly fails is a regression, which stops the run.
      - Only results taken after the upgrade's job started count, since CloudStack stores results every
        C(router.health.checks.results.fetch.interval) minutes (10), so older ones are replaced by fresh checks
        (C(getRouterHealthCheckResults) with C(performfreshchecks)). When those are refused, or
        C(router.health.checks.enabled) is false, the health after is recorded as C(not yet known), with a warning.
      - C(router_version_check.py) is never judged, since it compares a router with its own recorded versions.
    type: bool
    default: true
  unhealthy:
    description:
      - What happens to a network or VPC whose routers already fail health checks before the upgrade. V(skip) leaves it
        alone (recorded as skipped), V(stop) stops the run, V(ignore) upgrades it and judges only new failures.
    type: str
    choices: [skip, stop, ignore]
    default: skip
  max_wait:
    description: Longest wait in seconds for the group's maintenance window to open; a later opening leaves the stage for another run.
    type: int
    default: 3600
  progress_file:
    description: File the progress lines are appended to (for example C(progress.log) next to the journal); created with mode 0600.
    type: path
  progress_every:
    description: A progress line every this many finished targets.
    type: int
    default: 100
  progress_interval:
    description:
      - While the stage runs, its action plugin prints a line in the task output every this many seconds - targets done
        of the stage's total, failed, in flight and an ETA, read from O(plan) and O(journal) - so that an AWX job shows
        progress during a long stage; V(0) for none. The module itself runs as without it.
    type: float
    default: 60
    version_added: 0.2.0
  lock_lease:
    description:
      - Seconds without a heartbeat after which the state lock (and the lock per cloud) of a run on another host is
        taken over, with a warning naming that run; a fresher lock is refused with its holder, the age of its heartbeat
        and when it may be taken over. On the lock's own host the holder's pid decides instead.
      - At least 60; it must outlast the longest stretch of a run in which no module renews the lock (the fleet read and
        the preflight before the plan, a report between two groups); a stage renews it every 15 seconds.
    type: int
    default: 600
    version_added: 0.2.0
  record_end:
    description:
      - With O(stage=release), whether the run went through every group of the plan; its end is then stamped on the plan's
        C(run) (C(ended)), so that the report tells a run that had nothing to do (no journal entry) from a plan that
        was never run (a dry run). Only a run that held the state lock stamps it; never in check mode.
    type: bool
    default: false
    version_added: 0.3.0
notes:
  - The stage follows the plan; options that change the plan (grouping, canary, windows, forced legacy) belong to
    M(acs.upgrade.cs_upgrade_plan).
"""

EXAMPLES = r"""
- name: Take the state lock before anything is written in the state directory
  acs.upgrade.cs_upgrade_stage:
    plan: ~/.acs-upgrade/plan.json
    journal: ~/.acs-upgrade/journal.jsonl
    stage: acquire

- name: Upgrade the routers of zone1 from the plan
  acs.upgrade.cs_upgrade_stage:
    plan: ~/.acs-upgrade/plan.json
    journal: ~/.acs-upgrade/journal.jsonl
    group: zone1
    stage: routers
    parallel: 50

- name: Give the state lock back
  acs.upgrade.cs_upgrade_stage:
    plan: ~/.acs-upgrade/plan.json
    journal: ~/.acs-upgrade/journal.jsonl
    stage: release
"""

RETURN = r"""
msg:
  description: What the stage did, or why it stopped.
  returned: always
  type: str
stop:
  description: Whether a stop rule ended the stage (the task then fails).
  returned: always
  type: bool
counts:
  description:
    - Targets of the stage and what became of them; V(earlier_run) were finished by an earlier run.
    - V(refused) were live-patched but the management server refuses their routers (template below the zone's
      minreq.sysvmtemplate.version, scripts checksum not the server's), a failure of its own, never done.
  returned: always
  type: dict
  sample: {targets: 120, done: 116, failed: 1, refused: 1, skipped: 2, unknown: 0, not_run: 0, earlier_run: 20, adopted: 3, fallbacks: 4}
failures:
  description: The first 20 failed targets with their reasons; every detail is in the journal.
  returned: always
  type: list
  elements: str
progress:
  description: The last progress lines.
  returned: always
  type: list
  elements: str
max_in_flight:
  description: Most jobs that were in flight at once.
  returned: always
  type: int
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._common import (
    CloudStackModule,
    append_private_text,
    cloudstack_argument_spec,
    connection_settings,
    write_private_json,
)
from ansible_collections.acs.upgrade.plugins.module_utils._engine import ON_FAILURE, STAGES, UNHEALTHY, StageRunner
from ansible_collections.acs.upgrade.plugins.module_utils._plan import JOURNAL_PATHS
from ansible_collections.acs.upgrade.plugins.module_utils._state import (
    DEFAULT_LOCK_LEASE,
    MIN_LOCK_LEASE,
    CloudLock,
    EngineError,
    Heartbeat,
    Journal,
    RunLock,
    load_plan,
    pid_alive,
)


class Stage(CloudStackModule):
    def run(self) -> dict:
        params = self.params
        lock = RunLock(params["journal"], lease=params["lock_lease"])
        try:
            # The cloud's lock is named after its endpoint, wherever that is set (an option, the environment, cloudstack.ini).
            endpoint = connection_settings(params)["api_url"]
        except ValueError as exc:
            self.fail(str(exc))
        cloud = CloudLock(endpoint, os.path.dirname(os.path.abspath(params["journal"])), pid=lock.pid, lease=params["lock_lease"])
        if params["stage"] == "acquire":
            try:
                if self.module.check_mode:
                    lock.check()
                    cloud.check()
                    msg = "no other run holds the state lock %s" % lock.path
                else:
                    for warning in lock.acquire() + cloud.acquire():
                        self.module.warn(warning)
                    msg = "state lock %s taken for pid %s" % (lock.path, lock.pid)
            except (EngineError, OSError) as exc:
                self.fail("cannot start the run: %s" % exc)
            # Taking the lock changes nothing in the cloud: not reported as a change.
            return {"changed": False, "stop": False, "msg": msg, "counts": {}}
        if params["stage"] == "release":
            released = False if self.module.check_mode else lock.release()
            if not self.module.check_mode:
                cloud.release()
            if released and params["record_end"]:
                self._record_end(params["plan"])
            # Giving the lock back changes nothing in the cloud: not reported as a change.
            return {"changed": False, "stop": False, "msg": "state lock released" if released else "this run held no state lock", "counts": {}}
        if not params["group"]:
            self.fail("group is required for stage %s: name a group of the plan" % params["stage"])
        try:
            plan = load_plan(params["plan"])
            journal = Journal(params["journal"])
            warnings = []
            if not self.module.check_mode:
                warnings = lock.acquire() + cloud.acquire()
                journal.repair()
            parent = os.getppid()
            runner = StageRunner(
                self.client,
                plan,
                journal,
                params["group"],
                params["stage"],
                parallel=params["parallel"],
                timeout=params["timeout"],
                poll_interval=params["poll_interval"],
                on_failure=params["on_failure"],
                max_fail_percentage=params["max_fail_percentage"],
                health_gate=params["health_gate"],
                unhealthy=params["unhealthy"],
                max_wait=params["max_wait"],
                paths=params["paths"],
                check_mode=self.module.check_mode,
                progress=self._progress,
                progress_every=params["progress_every"],
                alive=lambda: os.getppid() == parent and pid_alive(lock.pid),
                state_lock=None if self.module.check_mode else lock,
            )
            if self.module.check_mode:
                result = runner.execute()
            else:
                # The lease stays fresh however long the stage runs, for a run of another host that would take it over.
                with Heartbeat([lock, cloud]):
                    result = runner.execute()
        except (EngineError, OSError) as exc:
            self.fail("cannot run %s %s: %s" % (params["group"], params["stage"], exc))
        for warning in warnings + journal.warnings + result.pop("warnings"):
            self.module.warn(warning)
        if result.pop("failed"):
            details = {key: value for key, value in result.items() if key != "msg"}
            self.fail(result["msg"], **details)
        return result

    def _record_end(self, plan_file: str) -> None:
        """Stamp the end of the run on the plan's ``run``: the report then tells a run with nothing to do from a dry run."""
        try:
            plan = load_plan(plan_file)
            if isinstance(plan.get("run"), dict):
                plan["run"]["ended"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
                write_private_json(plan_file, plan)
        except (EngineError, OSError) as exc:
            self.module.warn("the end of the run could not be recorded in %s (the report may show it as not started): %s" % (plan_file, exc))

    def _progress(self, line: str) -> None:
        path = self.params["progress_file"]
        if path:
            append_private_text(path, line + "\n")


def main() -> None:
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            plan={"type": "path", "required": True},
            journal={"type": "path", "required": True},
            group={"type": "str"},
            stage={"type": "str", "required": True, "choices": list(STAGES) + ["acquire", "release"]},
            paths={"type": "list", "elements": "str", "choices": list(JOURNAL_PATHS), "default": list(JOURNAL_PATHS)},
            parallel={"type": "int", "default": 50},
            timeout={"type": "int", "default": 900},
            poll_interval={"type": "float", "default": 5},
            on_failure={"type": "str", "choices": list(ON_FAILURE), "default": "recreate"},
            max_fail_percentage={"type": "float", "default": 0},
            health_gate={"type": "bool", "default": True},
            unhealthy={"type": "str", "choices": list(UNHEALTHY), "default": "skip"},
            max_wait={"type": "int", "default": 3600},
            progress_file={"type": "path"},
            progress_every={"type": "int", "default": 100},
            progress_interval={"type": "float", "default": 60},
            lock_lease={"type": "int", "default": DEFAULT_LOCK_LEASE},
            record_end={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = [
        message
        for message, bad in (
            ("parallel must be between 1 and 1000, got %s" % params["parallel"], not 1 <= params["parallel"] <= 1000),
            ("timeout must be 1 second or more, got %s" % params["timeout"], params["timeout"] < 1),
            ("poll_interval must be more than 0, got %s" % params["poll_interval"], params["poll_interval"] <= 0),
            ("max_fail_percentage must be between 0 and 100, got %s" % params["max_fail_percentage"], not 0 <= params["max_fail_percentage"] <= 100),
            ("max_wait must be 0 or more, got %s" % params["max_wait"], params["max_wait"] < 0),
            ("progress_every must be 1 or more, got %s" % params["progress_every"], params["progress_every"] < 1),
            ("lock_lease must be %d seconds or more, got %s" % (MIN_LOCK_LEASE, params["lock_lease"]), params["lock_lease"] < MIN_LOCK_LEASE),
        )
        if bad
    ]
    if problems:
        module.fail_json(msg="invalid options for cs_upgrade_stage: %s" % "; ".join(problems))
    Stage(module).execute()


if __name__ == "__main__":
    main()
