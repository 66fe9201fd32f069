#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_vr_health
short_description: Judge virtual router health checks as a pass/fail gate before and after an upgrade batch
version_added: 0.1.0
description:
  - Reads the health checks of CloudStack virtual routers (CloudStack 4.14+) and turns them into a gate that fails
    the task, naming the routers and the checks, when a router is not healthy.
  - With O(source=api) (the default) the results come from the management server. The cached results of many
    routers are read with C(listRouters) and C(fetchhealthcheckresults), page by page (500 routers per call),
    so thousands of routers take a few calls. O(fresh=true) asks every router for fresh checks with
    C(getRouterHealthCheckResults) and C(performfreshchecks), O(parallel) routers at a time.
  - With O(source=local) the module runs on the router itself (an inventory host reached over SSH on port 3922,
    or a container). It reads the last results files C(/root/basic_monitor_results.json) and
    C(/root/advanced_monitor_results.json), or with O(fresh=true) runs the scripts of C(/root/health_checks/) as
    C(<script> basic) and C(<script> advanced). No API connection is needed then.
  - A check fails the gate when it failed, or when its result is older than O(max_age); O(fail_on) and O(ignore)
    choose the checks that count; with O(baseline) only checks that did not already fail in the baseline count.
  - Routers picked by filters that are not Running are listed in RV(skipped); a router named in O(routers) that
    is not Running fails the gate.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.cloudstack
  - acs.upgrade.attributes
  - acs.upgrade.attributes.actiongroup_cloudstack
  - acs.upgrade.selectors
attributes:
  check_mode:
    support: full
    details:
      - The module only reads. Fresh checks (O(fresh), O(refresh_stale)) run in check mode too, because they change
        no configuration and are what the management server runs on its own schedule anyway.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  source:
    description:
      - V(api) reads the results through the management server API.
      - V(local) reads or runs the checks on the router the task runs on; the connection options are not used.
    type: str
    choices: [api, local]
    default: api
  routers:
    description:
      - Names (C(r-12-VM)) or ids of the routers to judge. With filters as well, the routers must also match them.
      - If neither O(routers) nor a filter is set, every router of the cloud is judged.
      - Only with O(source=api).
    type: list
    elements: str
  network:
    description: Name or id of the guest network whose routers are judged. Only with O(source=api).
    type: str
  vpc:
    description: Name or id of the VPC whose routers are judged. Only with O(source=api).
    type: str
  types:
    description:
      - The check types to judge. A router without any result of one of these types (a new router has none until
        its first scheduled runs, see O(results_timeout)) is neither failed nor called healthy. It is waited for,
        then given fresh checks; only when those fail too does it fail the gate.
    type: list
    elements: str
    choices: [basic, advanced]
    default: [basic, advanced]
  fresh:
    description:
      - Run the checks now instead of reading the last results.
      - With O(source=api) this calls C(getRouterHealthCheckResults) with C(performfreshchecks) for each router,
        which makes the management server push its data to the router and run every check; it is expensive and
        fails when the global setting C(router.health.checks.enabled) is false.
      - With O(source=local) the scripts of O(local_checks_dir) are run.
    type: bool
    default: false
  refresh_stale:
    description:
      - Run fresh checks only on the routers that have no results of one of the O(types) or results older than
        O(max_age), and judge those by the fresh results. Without O(max_age) only missing results are refreshed.
    type: bool
    default: false
  parallel:
    description: How many routers are asked for fresh checks at the same time (O(source=api)).
    type: int
    default: 5
  results_timeout:
    description:
      - Seconds to wait for the first results of a router that has none yet (O(source=api), without O(fresh)).
        CloudStack stores a new router's first basic results after C(router.health.checks.basic.interval) minutes (3)
        and its advanced ones after C(router.health.checks.advanced.interval) minutes (10); the router is read again
        every second until its first results are there.
      - A router still without results when this time is up, or with results of only some of the O(types), gets
        fresh checks. V(0) runs them at once.
    type: int
    default: 120
  fresh_timeout:
    description:
      - Seconds one C(getRouterHealthCheckResults) with C(performfreshchecks) may take (O(source=api)). The checks run
        on the router inside that request, which can take much longer than an ordinary API call (O(api_timeout)).
      - A request that times out is not sent again (the checks may still be running on the router); the router is
        reported with an error and fails the gate.
    type: int
    default: 300
  fail_on:
    description:
      - V(any) lets every failing check fail the gate; a list of check names lets only those fail it.
      - Names must be reported by at least one of the judged routers (for example V(dns_check.py)).
    type: list
    elements: str
    default: [any]
  ignore:
    description:
      - Names of checks that never fail the gate. They are still reported in RV(routers[].failed_checks).
      - Names must be reported by at least one of the judged routers.
    type: list
    elements: str
    default: []
  max_age:
    description:
      - Results older than this many seconds count as failed (reported in RV(routers[].stale_checks)),
        unless O(refresh_stale) refreshes them first.
      - The management server runs basic checks every C(router.health.checks.basic.interval) minutes (3) and
        advanced checks every C(router.health.checks.advanced.interval) minutes (10), and stores the results only
        every C(router.health.checks.results.fetch.interval) minutes (10); choose a value above those.
    type: int
  since:
    description:
      - A time in ISO-8601 (for example when the upgrade of these routers began). Results taken before it say nothing
        about the routers after it, since CloudStack stores new results only every
        C(router.health.checks.results.fetch.interval) minutes (10 by default).
      - Routers with such results are read again until newer ones are stored, for at most O(results_timeout) seconds
        (or get fresh checks with O(refresh_stale)); a router still without newer results fails the gate as not yet
        known (counted in C(not_yet_known) of RV(summary)), never passes.
    type: str
  baseline:
    description:
      - A previous result of this module, registered before the upgrade; or use O(baseline_file). Only checks that
        did not fail in the baseline fail the gate. A check that already failed before is reported in RV(routers[].known_failures).
      - Routers are matched by id, then name, then VPC, then guest network, so a router recreated by an upgrade
        is compared with the routers its network or VPC had.
    type: raw
  enforce:
    description:
      - Whether a failing gate fails the task. V(false) only reports, for example to take a baseline.
    type: bool
    default: true
  report_checks:
    description:
      - V(all) lists every check of every router in RV(routers[].checks); V(failed) lists only the failed and stale
        ones, a much smaller result for thousands of routers (the verdict, RV(summary) and the use as O(baseline)
        stay the same).
    type: str
    choices: [all, failed]
    default: all
  local_checks_dir:
    description: Directory of the health check scripts on the router (O(source=local)).
    type: path
    default: /root/health_checks
  local_results_dir:
    description: Directory of C(basic_monitor_results.json) and C(advanced_monitor_results.json) on the router (O(source=local)).
    type: path
    default: /root
  script_timeout:
    description: Seconds one health check script may run (O(source=local)); a script that takes longer fails its check.
    type: int
    default: 60
  dest:
    description:
      - Write the whole result (every router with its checks, the skipped routers, every failing router) to this file
        (JSON, mode 0600) and return only RV(summary), RV(gate_passed), RV(result_file) and the first 20 routers of
        RV(failing) (RV(failing_more) counts the rest). For thousands of routers the whole result is megabytes, more
        than AWX keeps of a task's event (about 700 KB; it then shows nothing of the task).
      - The file can be the O(baseline_file) of a later run.
    type: path
    version_added: 0.2.0
  baseline_file:
    description:
      - The file an earlier run wrote with O(dest), as the baseline (see O(baseline)), so that the baseline of
        thousands of routers never passes through a task's arguments.
    type: path
    version_added: 0.2.0
notes:
  - O(zone), O(pod), O(cluster), O(domain) and O(account) select the routers to judge only with O(source=api).
  - The gate is read only; C(changed) is always false.
  - With O(source=api) the global setting C(router.health.checks.enabled) must be true. While it is false, CloudStack
    neither runs the checks nor returns any result, cached or fresh, and the module fails saying so.
"""

EXAMPLES = r"""
- name: Take a baseline of the routers of zone ch-gva-2 before the upgrade
  acs.upgrade.cs_vr_health:
    zone: ch-gva-2
    enforce: false
  register: vr_health_before

- name: After a batch, fail when a router of the batch has a check that passed before and fails now
  acs.upgrade.cs_vr_health:
    routers: "{{ batch_router_ids }}"
    fresh: true
    parallel: 10
    baseline: "{{ vr_health_before }}"
    ignore:
      - cpu_usage_check.py

- name: Gate on cached results that are at most 15 minutes old, refreshing older ones
  acs.upgrade.cs_vr_health:
    vpc: prod-vpc
    max_age: 900
    refresh_stale: true
    fail_on:
      - dns_check.py
      - dhcp_check.py
      - haproxy_check.py

- name: Run the checks on the router itself (inventory host reached on port 3922)
  acs.upgrade.cs_vr_health:
    source: local
    fresh: true
    types: [basic]
"""

RETURN = r"""
routers:
  description: One entry per judged router.
  returned: when O(dest) is not set
  type: list
  elements: dict
  contains:
    id:
      description: Router id (none with O(source=local)).
      type: str
    name:
      description: Router name (the host name with O(source=local)).
      type: str
      sample: r-12-VM
    state:
      description: Router state.
      type: str
    zone:
      description: Zone name.
      type: str
    network_id:
      description: Guest network id.
      type: str
    vpc_id:
      description: VPC id.
      type: str
    redundant_state:
      description: C(PRIMARY), C(BACKUP), C(FAULT) or C(UNKNOWN).
      type: str
    fresh:
      description: Whether the checks were run by this task.
      type: bool
    checks:
      description: The checks of the selected O(types) (only the failed and stale ones with O(report_checks=failed)).
      type: list
      elements: dict
      contains:
        name:
          description: Check name.
          type: str
          sample: dns_check.py
        type:
          description: C(basic) or C(advanced).
          type: str
        success:
          description: Whether the check passed when it ran.
          type: bool
        last_updated:
          description: When it ran, ISO-8601 UTC.
          type: str
          sample: "2026-11-22T01:02:03Z"
        details:
          description: The message of the check.
          type: str
        stale:
          description: Whether the result is older than O(max_age) (then it counts as failed).
          type: bool
    failed_checks:
      description: Names of the checks that failed or are stale, whether they count for the gate or not.
      type: list
      elements: str
    stale_checks:
      description: Names of the checks older than O(max_age).
      type: list
      elements: str
    failing:
      description: Names of the checks that fail the gate (after O(fail_on), O(ignore) and O(baseline)).
      type: list
      elements: str
    known_failures:
      description: Names of failing checks that already failed in the O(baseline).
      type: list
      elements: str
    baseline_match:
      description: How the router was found in the O(baseline) (C(id), C(name), C(vpc_id), C(network_id)), or null.
      type: str
    error:
      description:
        - Why the router could not be judged by its checks (no results, not Running, fresh checks failed, or results
          only from before O(since), which starts with C(not yet known)).
      type: str
    not_yet_known:
      description: Whether the router fails the gate only because its results are from before O(since).
      type: bool
    waited:
      description: Seconds waited for the first results of a router that had none (see O(results_timeout)); 0 when it had results.
      type: float
    passed:
      description: Whether the router passes the gate.
      type: bool
failing:
  description:
    - Routers that fail the gate, by name, with the checks (or the error) that fail it; with O(dest), the first 20 by
      name.
  returned: always
  type: dict
  sample: {"r-12-VM": ["dns_check.py"]}
failing_more:
  description: How many failing routers RV(failing) leaves out (they are in the file).
  returned: when O(dest) is set
  type: int
result_file:
  description: The file the whole result was written to.
  returned: when O(dest) is set
  type: str
skipped:
  description: Routers picked by filters that are not Running, with C(id), C(name), C(state) and C(reason).
  returned: when O(dest) is not set
  type: list
  elements: dict
summary:
  description:
    - Counts of C(routers), C(passed), C(failed), C(skipped), C(checks), C(failed_checks), C(stale_checks),
      C(not_yet_known) (routers with results only from before O(since)), and C(checked_at).
  returned: always
  type: dict
gate_passed:
  description: Whether every judged router passes the gate.
  returned: always
  type: bool
"""

import copy
import datetime
import json
import os
import socket
import subprocess
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acs.upgrade.plugins.module_utils._api import CloudStackError
from ansible_collections.acs.upgrade.plugins.module_utils._common import (
    CloudStackModule,
    SELECTOR_REQUIRED_BY,
    cloudstack_argument_spec,
    selector_argument_spec,
    write_private_json,
)
from ansible_collections.acs.upgrade.plugins.module_utils._fleet import FleetError, Router, is_uuid, resolve, with_projects
from ansible_collections.acs.upgrade.plugins.module_utils._health import (
    CHECK_TYPES,
    GateOptions,
    HealthError,
    RouterHealth,
    check_from_script,
    checks_from_api,
    checks_from_results_file,
    describe_unknown,
    gate_message,
    judge,
    missing_types,
    needs_refresh,
    parse_timestamp,
    taken_before,
    parse_bool,
    unknown_check_names,
)

API_ONLY_OPTIONS = ("routers", "zone", "pod", "cluster", "domain", "account", "network", "vpc")
ENABLED_SETTING = "router.health.checks.enabled"
# Up to this many named routers are looked up one by one; more are picked from one paged read.
NAMED_LOOKUP_LIMIT = 20
# Seconds between reads of routers that wait for their first health check results.
RESULTS_POLL_INTERVAL = 1.0
# Failing routers a result with dest names; the file names them all.
FAILING_SHOWN = 20


def disabled_message(evidence: str) -> str:
    return (
        "router health checks are disabled on the management server (%s): CloudStack then neither runs them nor returns any result, "
        "cached or fresh, so the routers' health is not known. Set the global setting %s to true (dynamic, no restart needed), then gate "
        "with fresh: true, or wait for the next stored results (FetchRouterHealthChecksResultTask, every "
        "router.health.checks.results.fetch.interval minutes)" % (evidence, ENABLED_SETTING)
    )


class VrHealth(CloudStackModule):
    """The gate over API results or over the router's own checks."""

    def run(self) -> dict[str, t.Any]:
        now = datetime.datetime.now(datetime.timezone.utc)
        options = GateOptions(
            fail_on=None if "any" in self.params["fail_on"] else self.params["fail_on"],
            ignore=self.params["ignore"],
            types=tuple(self.params["types"]),
            max_age=self.params["max_age"],
            baseline=self.baseline(),
            since=self.since(),
        )
        skipped: list[dict[str, t.Any]] = []
        try:
            if self.params["source"] == "local":
                routers = [self.local_router(now)]
            else:
                routers, skipped = self.api_routers(now)
            unknown = unknown_check_names(options, routers)
            if unknown and any(router.checks for router in routers):
                self.fail(describe_unknown(unknown, routers))
            result = judge(routers, options, now, skipped, only_failed_checks=self.params["report_checks"] == "failed")
        except HealthError as exc:
            self.fail(str(exc))
        result["changed"] = False
        message = gate_message(result, FAILING_SHOWN)
        if self.params["dest"]:
            result = self.written(result, self.params["dest"])
        if not result["gate_passed"] and self.params["enforce"]:
            self.fail(message, **result)
        return result

    def written(self, result: dict[str, t.Any], dest: str) -> dict[str, t.Any]:
        """Write the whole result to ``dest``; what the task returns instead: the verdict, the counts, the first failing."""
        try:
            write_private_json(dest, result)
        except OSError as exc:
            self.fail("cannot write the health results to %s: %s; choose another dest" % (dest, exc))
        failing = result["failing"]
        shown = sorted(failing)[:FAILING_SHOWN]
        return {
            "changed": False,
            "gate_passed": result["gate_passed"],
            "summary": result["summary"],
            "failing": {name: failing[name] for name in shown},
            "failing_more": len(failing) - len(shown),
            "result_file": dest,
        }

    def since(self) -> datetime.datetime | None:
        if not self.params["since"]:
            return None
        try:
            return parse_timestamp(self.params["since"])
        except HealthError:
            self.fail("since must be a time in ISO-8601 (2026-11-22T10:00:00Z, as date -u +%%FT%%TZ gives), not %r" % self.params["since"])
        return None

    def baseline(self) -> t.Any:
        baseline = self.params["baseline"]
        if self.params["baseline_file"]:
            # The file an earlier run wrote with dest.
            try:
                with open(self.params["baseline_file"], encoding="utf-8") as handle:
                    return json.load(handle)
            except (OSError, ValueError) as exc:
                self.fail("cannot read the baseline file %s: %s; write it with acs.upgrade.cs_vr_health dest" % (self.params["baseline_file"], exc))
        if isinstance(baseline, str):
            # A result passed through a string (an extra var, a file) arrives as JSON text.
            try:
                return json.loads(baseline)
            except ValueError:
                self.fail(
                    "baseline must be a registered result of acs.upgrade.cs_vr_health (a dict with a routers list), not a string that is no JSON; "
                    "pass the file written with dest as baseline_file"
                )
        return baseline

    # -- source: api -----------------------------------------------------------------------------------------

    def api_routers(self, now: datetime.datetime) -> tuple[list[RouterHealth], list[dict[str, t.Any]]]:
        client = self.client
        if not client.has_feature("listRouters.fetchhealthcheckresults"):
            self.fail("the management server %s has no router health checks; they came with CloudStack 4.14" % client.version())
        if self.health_checks_enabled() is False:
            self.fail(disabled_message("the management server has %s set to false" % ENABLED_SETTING))
        fresh = self.params["fresh"]
        try:
            items = self.list_routers(with_health=not fresh)
        except FleetError as exc:
            self.fail("cannot select the routers to check: %s" % exc)
        named = bool(self.params["routers"])
        routers, skipped = [], []
        for item in items:
            router = Router.from_api(item, {})
            health = RouterHealth(
                name=router.name,
                id=router.id,
                state=router.state,
                zone=router.zonename,
                network_id=router.guestnetworkid,
                vpc_id=router.vpcid,
                redundant_state=router.redundantstate,
                checks=checks_from_api(item.get("healthcheckresults")),
            )
            if router.state != "Running":
                reason = "the router is %s, not Running: its health checks cannot run" % router.state
                if not named:
                    skipped.append({"id": router.id, "name": router.name, "state": router.state, "reason": reason})
                    continue
                health.error = reason + "; start it (or recreate it with a network restart) and check again"
            routers.append(health)

        running = [router for router in routers if router.error is None]
        since = self.since()
        if fresh:
            self.refresh(running)
        else:
            if self.params["refresh_stale"]:
                stale = [router for router in running if needs_refresh(router, now, self.params["max_age"], self.params["types"])]
                self.refresh(stale + [router for router in running if router not in stale and taken_before(router.checks, since)])
            self.wait_for_results(
                [router for router in running if not router.fresh and (missing_types(router, self.params["types"]) or taken_before(router.checks, since))]
            )
        return routers, skipped

    def wait_for_results(self, routers: list[RouterHealth]) -> None:
        """Routers without results of a judged type (just created), or with results from before O(since): read them again
        until the server has stored new ones (FetchRouterHealthChecksResultTask), bounded by results_timeout; those still
        missing a type then get fresh checks (the advanced interval is longer than the basic one: once the router has
        answered its first run, asking is cheaper than waiting); those still older than since stay not yet known."""
        if not routers:
            return
        types = self.params["types"]
        since = self.since()
        started = time.monotonic()
        deadline = started + self.params["results_timeout"]
        waiting = [router for router in routers if not router.checks or taken_before(router.checks, since)]
        while waiting and time.monotonic() < deadline:
            time.sleep(min(RESULTS_POLL_INTERVAL, max(deadline - time.monotonic(), 0)))
            for router in waiting:
                found = self.client.list("listRouters", "router", **with_projects({"id": router.id, "listall": True, "fetchhealthcheckresults": True}))
                router.checks = checks_from_api(found[0].get("healthcheckresults")) if found else router.checks
                router.waited = time.monotonic() - started
            waiting = [router for router in waiting if not router.checks or taken_before(router.checks, since)]
        for router in waiting:
            router.waited = time.monotonic() - started
        self.refresh([router for router in routers if missing_types(router, types)])

    def health_checks_enabled(self) -> bool | None:
        """The value of router.health.checks.enabled, or None when this key may not read settings."""
        try:
            found = self.client.list("listConfigurations", "configuration", name=ENABLED_SETTING)
        except CloudStackError:
            return None
        for setting in found:
            if setting.get("name") == ENABLED_SETTING:
                return parse_bool(setting.get("value", "true"))
        return None

    def list_routers(self, with_health: bool) -> list[dict[str, t.Any]]:
        params = self.router_filters()
        if with_health:
            params["fetchhealthcheckresults"] = True
        wanted = self.params["routers"]
        if not wanted:
            return self.client.list("listRouters", "router", **params)
        if len(wanted) <= NAMED_LOOKUP_LIMIT:
            items = []
            for ref in wanted:
                key = "id" if is_uuid(ref) else "name"
                items.extend(self.client.list("listRouters", "router", **dict(params, **{key: ref})))
        else:
            items = self.client.list("listRouters", "router", **params)
        found = {ref: [item for item in items if ref in (item.get("id"), item.get("name"))] for ref in wanted}
        missing = sorted(ref for ref, matches in found.items() if not matches)
        if missing:
            where = " matching the zone/pod/cluster/domain/account/network/vpc filters" if any(self.params[name] for name in API_ONLY_OPTIONS[1:]) else ""
            raise FleetError("no router with the name or id %s%s; list them with acs.upgrade.cs_fleet_info" % (", ".join(missing), where))
        unique = {}
        for matches in found.values():
            for item in matches:
                unique[item["id"]] = item
        return list(unique.values())

    def router_filters(self) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"listall": True}
        zoneid = resolve(self.client, "zone", self.params["zone"]) if self.params["zone"] else None
        podid = resolve(self.client, "pod", self.params["pod"], zoneid=zoneid) if self.params["pod"] else None
        clusterid = resolve(self.client, "cluster", self.params["cluster"], zoneid=zoneid, podid=podid) if self.params["cluster"] else None
        domainid = resolve(self.client, "domain", self.params["domain"]) if self.params["domain"] else None
        account = self.params["account"]
        owner = {"domainid": domainid, "account": account}
        networkid = resolve(self.client, "network", self.params["network"], zoneid=zoneid, **owner) if self.params["network"] else None
        vpcid = resolve(self.client, "vpc", self.params["vpc"], zoneid=zoneid, **owner) if self.params["vpc"] else None
        for name, value in (
            ("zoneid", zoneid),
            ("podid", podid),
            ("clusterid", clusterid),
            ("domainid", domainid),
            ("account", account),
            ("networkid", networkid),
            ("vpcid", vpcid),
        ):
            if value is not None:
                params[name] = value
        if domainid and not account:
            params["isrecursive"] = True
        return with_projects(params)

    @property
    def fresh_client(self) -> t.Any:
        """The client with the longer O(fresh_timeout): fresh checks run on the router inside the request."""
        if getattr(self, "_fresh_client", None) is None:
            self._fresh_client = copy.copy(self.client)
            self._fresh_client.timeout = self.params["fresh_timeout"]
        return self._fresh_client

    def refresh(self, routers: list[RouterHealth]) -> None:
        """Fresh checks of ``routers``, ``parallel`` at a time; a router whose checks fail to run gets an error."""
        if not routers:
            return
        self.fresh_client  # noqa: B018 - made once here, not raced by the threads below
        with ThreadPoolExecutor(max_workers=self.params["parallel"]) as pool:
            outcomes = list(pool.map(self.fresh_checks, routers))
        disabled = [router.name for router, error in zip(routers, outcomes) if error and "not enabled" in error.errortext]
        if disabled:
            self.fail(disabled_message("fresh checks were refused on %s" % ", ".join(disabled[:10])))
        for router, error in zip(routers, outcomes):
            if error is not None and error.status is None:
                router.error = "fresh health checks gave no answer within fresh_timeout (%d s) and were not sent again: %s" % (
                    self.params["fresh_timeout"],
                    error.errortext,
                )
            elif error is not None:
                router.error = "fresh health checks failed: %s" % error.errortext

    def fresh_checks(self, router: RouterHealth) -> CloudStackError | None:
        try:
            answer = self.fresh_client.call("getRouterHealthCheckResults", routerid=router.id, performfreshchecks=True)
        except CloudStackError as exc:
            return exc
        router.checks = checks_from_api((answer.get("routerhealthchecks") or {}).get("healthchecks"))
        router.fresh = True
        return None

    # -- source: local ---------------------------------------------------------------------------------------

    def local_router(self, now: datetime.datetime) -> RouterHealth:
        given = [name for name in API_ONLY_OPTIONS if self.params[name]]
        if given:
            self.fail("%s only select routers for source: api; with source: local the module judges the router it runs on" % ", ".join(given))
        router = RouterHealth(name=socket.gethostname())
        types = self.params["types"]
        if not self.params["fresh"]:
            router.checks = [check for check_type in types for check in self.read_results(check_type)]
        if self.params["fresh"] or (self.params["refresh_stale"] and needs_refresh(router, now, self.params["max_age"], types)):
            router.checks = self.run_scripts(types)
            router.fresh = True
        return router

    def read_results(self, check_type: str) -> list:
        path = os.path.join(self.params["local_results_dir"], "%s_monitor_results.json" % check_type)
        if not os.path.exists(path):
            return []
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except ValueError as exc:
            raise HealthError("%s is not valid JSON (%s); run the checks again with fresh: true" % (path, exc)) from None
        return checks_from_results_file(data, check_type, path)

    def run_scripts(self, types: t.Sequence[str]) -> list:
        directory = self.params["local_checks_dir"]
        if not os.path.isdir(directory):
            raise HealthError(
                "%s does not exist on %s: source: local runs on a virtual router of a CloudStack 4.14+ system VM template" % (directory, socket.gethostname())
            )
        paths = (os.path.join(directory, name) for name in sorted(os.listdir(directory)))
        scripts = [path for path in paths if os.path.isfile(path) and os.access(path, os.X_OK)]
        checks = []
        for check_type in types:
            for path in scripts:
                returncode, stdout = self.run_script(path, check_type)
                check = check_from_script(os.path.basename(path), check_type, returncode, stdout, datetime.datetime.now(datetime.timezone.utc))
                if check is not None:
                    checks.append(check)
        return checks

    def run_script(self, path: str, check_type: str) -> tuple[int, str]:
        timeout = self.params["script_timeout"]
        try:
            done = subprocess.run([path, check_type], capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return 1, "the check did not finish within %d seconds (script_timeout)" % timeout
        except OSError as exc:
            return 1, "the check could not run: %s" % exc
        return done.returncode, done.stdout


def main() -> None:
    module = AnsibleModule(
        argument_spec=cloudstack_argument_spec(
            source={"type": "str", "choices": ["api", "local"], "default": "api"},
            routers={"type": "list", "elements": "str"},
            **selector_argument_spec(),
            network={"type": "str"},
            vpc={"type": "str"},
            types={"type": "list", "elements": "str", "choices": list(CHECK_TYPES), "default": list(CHECK_TYPES)},
            fresh={"type": "bool", "default": False},
            refresh_stale={"type": "bool", "default": False},
            parallel={"type": "int", "default": 5},
            results_timeout={"type": "int", "default": 120},
            fresh_timeout={"type": "int", "default": 300},
            fail_on={"type": "list", "elements": "str", "default": ["any"]},
            ignore={"type": "list", "elements": "str", "default": []},
            max_age={"type": "int"},
            since={"type": "str"},
            baseline={"type": "raw"},
            enforce={"type": "bool", "default": True},
            report_checks={"type": "str", "choices": ["all", "failed"], "default": "all"},
            dest={"type": "path"},
            baseline_file={"type": "path"},
            local_checks_dir={"type": "path", "default": "/root/health_checks"},
            local_results_dir={"type": "path", "default": "/root"},
            script_timeout={"type": "int", "default": 60},
        ),
        required_by=SELECTOR_REQUIRED_BY,
        mutually_exclusive=[("baseline", "baseline_file")],
        supports_check_mode=True,
    )
    for name in ("parallel", "script_timeout", "fresh_timeout"):
        if module.params[name] < 1:
            module.fail_json(msg="%s must be at least 1, not %d" % (name, module.params[name]))
    if module.params["results_timeout"] < 0:
        module.fail_json(msg="results_timeout must be a number of seconds of at least 0, not %d" % module.params["results_timeout"])
    if module.params["max_age"] is not None and module.params["max_age"] < 1:
        module.fail_json(msg="max_age must be a number of seconds of at least 1, not %d" % module.params["max_age"])
    if not module.params["types"]:
        module.fail_json(msg="types must name basic, advanced or both")
    VrHealth(module).execute()


if __name__ == "__main__":
    main()
