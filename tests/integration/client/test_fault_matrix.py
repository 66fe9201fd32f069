# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix: every fault kind of the simulator against every mutation the collection sends.

Each cell resets a small simulated cloud, injects one fault on the object one mutation acts on, runs the module
that sends that mutation (``cs_livepatch`` or ``cs_recreate``, as Ansible runs it: a separate process), and then
reads the simulator's job log. A cell passes when every target got at most one job per intended action (a
``patchSystemVm forced=false`` that answered "No change in the scripts checksum" is a check, not an action) and
the module's result names every target with a final status and a reason. The matrix is printed at the end.

Times are scaled down: api_timeout 1 s (so the settle window is 3 s), "slow" is 0.3 s below and 1.5 s above it
and 4.5 s, 1.5 s beyond the settle window (the last read of the window comes well before the job, on a loaded machine too),
job timeouts 2 s, simulated job durations x0.002. Cells run six at a time, each on its own simulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

from ansible_collections.acs.upgrade.plugins.modules import cs_livepatch

COLLECTIONS_ROOT = Path(cs_livepatch.__file__).parents[5]
WORKERS = 6
UNCHANGED = "No change in the scripts checksum"

# Final statuses of a target (what a report can show); anything else means the module left it unsettled.
FINAL = {
    "cs_livepatch": {"patched", "unchanged", "failed", "timed_out", "not_submitted", "outcome_unknown"},
    "cs_recreate": {"succeeded", "unchanged", "skipped", "failed", "timed_out", "not_submitted", "outcome_unknown"},
}
GOOD = {"patched", "unchanged", "succeeded"}


@dataclass(frozen=True)
class Fault:
    name: str
    spec: dict
    # Whether the target must still end well (the fault is transient, or does not apply to this mutation).
    harmless: bool
    # Which mutations it harms when it is not harmless (None: all of them).
    harms: tuple[str, ...] | None = None
    # Faults injected with it, on the whole server (a clock that is off while an answer is lost).
    also: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Mutation:
    name: str
    module: str
    api: str  # the API called
    job: str  # the command of the job it starts
    target: str  # what it acts on: systemvm:<zone>:<type> | network:<name> | vpc:<name> | router:<network name>
    args: dict


LIVEPATCH_COLUMNS = ("restartNetwork livepatch", "restartVPC livepatch")

FAULTS = [
    Fault("job_failure", {"kind": "job_failure", "count": 1}, harmless=False),
    Fault("job_cancel", {"kind": "job_cancel", "count": 1}, harmless=False),
    Fault("job_hang", {"kind": "job_hang", "count": 1}, harmless=False),
    Fault("http 500 (acted)", {"kind": "http_error", "status": 500, "when": "after", "count": 1}, harmless=True),
    Fault("http 502 (not acted)", {"kind": "http_error", "status": 502, "count": 1}, harmless=True),
    Fault("http 503 x3", {"kind": "http_error", "status": 503, "count": 3}, harmless=True),
    Fault("http 504 (acted)", {"kind": "http_error", "status": 504, "when": "after", "count": 1}, harmless=True),
    Fault("http 429 x2 Retry-After", {"kind": "http_error", "status": 429, "retry_after": 1, "count": 2}, harmless=True),
    Fault("reset (not acted)", {"kind": "connection_reset", "count": 1}, harmless=True),
    Fault("reset (answer lost)", {"kind": "connection_reset", "when": "after", "count": 1}, harmless=True),
    Fault("slow < api_timeout", {"kind": "slow", "delay": 0.3, "count": 1}, harmless=True),
    Fault("slow > api_timeout", {"kind": "slow", "delay": 1.5, "count": 1}, harmless=True),
    # Still handling the request when the settle window ends: no proof that it left no trace, so never resent.
    Fault("slow > settle window", {"kind": "slow", "delay": 4.5, "count": 1}, harmless=False),
    Fault("http 429 x3 no Retry-After", {"kind": "http_error", "status": 429, "count": 3}, harmless=True),
    Fault(
        "skew +300s, answer lost",
        {"kind": "connection_reset", "when": "after", "count": 1},
        harmless=True,
        also=({"kind": "clock_skew", "offset": 300},),
    ),
    Fault("livepatch no-op", {"kind": "livepatch_noop", "count": 1}, harmless=False, harms=LIVEPATCH_COLUMNS),
    Fault("livepatch failure", {"kind": "livepatch_failure", "count": 1}, harmless=False, harms=LIVEPATCH_COLUMNS),
    Fault("health failure", {"kind": "health_check_failure", "checks": ["dns_check.py"]}, harmless=True),
]

LIVEPATCH = {"poll_interval": 0.05, "timeout": 2}
RECREATE = {"poll_interval": 0.05, "timeout": 2}
MUTATIONS = [
    Mutation("patchSystemVm", "cs_livepatch", "patchSystemVm", "patchSystemVm", "systemvm:zone1:secondarystoragevm", LIVEPATCH),
    Mutation("restartNetwork livepatch", "cs_livepatch", "restartNetwork", "restartNetwork", "network:acme-web", dict(LIVEPATCH, networks=["acme-web"])),
    Mutation("restartVPC livepatch", "cs_livepatch", "restartVPC", "restartVPC", "vpc:acme-vpc", dict(LIVEPATCH, vpcs=["acme-vpc"])),
    Mutation(
        "restartNetwork cleanup",
        "cs_recreate",
        "restartNetwork",
        "restartNetwork",
        "network:globex-zone2",
        dict(RECREATE, target="router", method="restart_cleanup", names=["globex-zone2"]),
    ),
    Mutation(
        "restartVPC cleanup",
        "cs_recreate",
        "restartVPC",
        "restartVPC",
        "vpc:acme-vpc",
        dict(RECREATE, target="router", method="restart_cleanup", names=["acme-vpc"]),
    ),
    Mutation(
        "rebootRouter", "cs_recreate", "rebootRouter", "rebootRouter", "router:acme-web", dict(RECREATE, target="router", method="reboot", names=["acme-web"])
    ),
    Mutation(
        "upgradeRouterTemplate",
        "cs_recreate",
        "upgradeRouterTemplate",
        "rebootRouter",
        "router:globex-zone2",
        dict(RECREATE, target="router", method="upgrade_template", names=["globex-zone2"]),
    ),
    Mutation(
        "rebootSystemVm", "cs_recreate", "rebootSystemVm", "rebootSystemVm", "systemvm:zone1:consoleproxy", dict(RECREATE, target="systemvm", method="reboot")
    ),
    Mutation(
        "stopSystemVm", "cs_recreate", "stopSystemVm", "stopSystemVm", "systemvm:zone2:consoleproxy", dict(RECREATE, target="systemvm", method="stop_start")
    ),
    Mutation(
        "startSystemVm", "cs_recreate", "startSystemVm", "startSystemVm", "systemvm:zone2:consoleproxy", dict(RECREATE, target="systemvm", method="stop_start")
    ),
    Mutation(
        "destroySystemVm",
        "cs_recreate",
        "destroySystemVm",
        "destroySystemVm",
        "systemvm:zone2:secondarystoragevm",
        dict(RECREATE, target="systemvm", method="destroy"),
    ),
]


def resolve(sim, target: str) -> dict:
    """The object a mutation acts on, in the freshly reset cloud."""
    state = sim.state()
    kind, rest = target.split(":", 1)
    if kind == "systemvm":
        zone, vmtype = rest.split(":")
        return next(vm for vm in state["systemvms"] if vm["zonename"] == zone and vm["systemvmtype"] == vmtype)
    if kind == "router":
        network = next(item for item in state["networks"] if item["name"] == rest)
        return next(router for router in state["routers"] if router.get("guestnetworkid") == network["id"])
    return next(item for item in state[kind + "s"] if item["name"] == rest)


def run_module(module: str, args: dict) -> dict:
    """Run a module in its own process, as Ansible does, and return its result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    try:
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS_ROOT))
        done = subprocess.run(
            [sys.executable, "-m", "ansible_collections.acs.upgrade.plugins.modules.%s" % module, handle.name],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"failed": True, "msg": "no JSON from %s: %s %s" % (module, done.stdout[-500:], done.stderr[-2000:])}


def acting_jobs(jobs: list[dict]) -> Counter:
    """Jobs per (command, object) that acted; a patchSystemVm that found nothing to change is a check."""
    counted: Counter = Counter()
    for job in jobs:
        displaytext = str((job.get("result") or {}).get("displaytext") or "")
        if job["command"] == "patchSystemVm" and displaytext.startswith(UNCHANGED):
            continue
        counted[(job["command"], job["instanceid"] or job["params"].get("id"))] += 1
    return counted


def run_cell(sims: Queue, fault: Fault, mutation: Mutation) -> dict:
    sim = sims.get()
    try:
        sim.reset()
        target = resolve(sim, mutation.target)
        kind = fault.spec["kind"]
        api = mutation.api if kind in ("http_error", "connection_reset", "slow") else mutation.job
        spec = dict(fault.spec, object=target["id"])
        if kind not in ("livepatch_noop", "livepatch_failure", "health_check_failure"):
            spec["api"] = api
        if kind == "health_check_failure":
            spec.pop("object")
        stored = sim.inject(**spec)
        for extra in fault.also:
            sim.inject(**extra)
        args = {"api_url": sim.url, "api_key": sim.admin_key, "api_secret": sim.admin_secret, "api_timeout": 1, **mutation.args}
        if mutation.target.startswith("systemvm:"):
            args["system_vms" if mutation.module == "cs_livepatch" else "names"] = [target["name"]]
        started = time.monotonic()
        result = run_module(mutation.module, args)
        elapsed = time.monotonic() - started
        # A counted fault leaves the book once it has fired as often as asked; one still there never did all it was
        # set to do (its api or object did not match what the module sent), and the cell would test nothing.
        left = [item for item in sim.cloud.faults.list() if item["id"] == stored["id"] and item.get("count") is not None]
        sim.clear_faults()  # a hung job ends when the cloud is reset
        jobs = sim.jobs()
    finally:
        sims.put(sim)
    counted = acting_jobs(jobs)
    targets = result.get("targets") or []
    problems = []
    duplicates = sum(count - 1 for count in counted.values() if count > 1)
    if duplicates:
        problems.append("more than one job for one action: %s" % {key: count for key, count in counted.items() if count > 1})
    if not targets:
        problems.append("the result names no target: %s" % result.get("msg"))
    unsettled = [t for t in targets if t.get("status") not in FINAL[mutation.module] or not t.get("reason")]
    if unsettled:
        problems.append("targets without a final status and a reason: %s" % [(t.get("name"), t.get("status"), t.get("reason")) for t in unsettled])
    if mutation.target.startswith(("network:", "vpc:", "systemvm:")) and target["id"] not in {t.get("id") for t in targets}:
        problems.append("the result does not name %s" % target["name"])
    statuses = sorted({t.get("status") for t in targets})
    applies = fault.harms is None or mutation.name in fault.harms
    if applies and left:
        problems.append("the fault fired %d time(s), %d more were asked: the cell tested nothing" % (left[0]["fired"], left[0]["count"]))
    harmless = fault.harmless or not applies
    if harmless and not set(statuses) <= GOOD:
        problems.append("a transient or unrelated fault left the target %s: %s" % (statuses, [t.get("reason") for t in targets]))
    if not harmless and set(statuses) <= GOOD:
        problems.append("the fault did not show in the result: %s" % statuses)
    return {
        "fault": fault.name,
        "mutation": mutation.name,
        "duplicates": duplicates,
        "unsettled": len(unsettled) + (0 if targets else 1),
        "status": "/".join(statuses) or "-",
        "seconds": round(elapsed, 1),
        "problems": problems,
    }


def print_matrix(cells: list[dict], total: float) -> None:
    columns = [mutation.name for mutation in MUTATIONS]
    by_key = {(cell["fault"], cell["mutation"]): cell for cell in cells}
    width = max(len(fault.name) for fault in FAULTS) + 1
    short = {
        "patchSystemVm": "patchSVM",
        "restartNetwork livepatch": "rNet lp",
        "restartVPC livepatch": "rVPC lp",
        "restartNetwork cleanup": "rNet clean",
        "restartVPC cleanup": "rVPC clean",
        "rebootRouter": "rebootR",
        "upgradeRouterTemplate": "upgRTmpl",
        "rebootSystemVm": "rebootSVM",
        "stopSystemVm": "stopSVM",
        "startSystemVm": "startSVM",
        "destroySystemVm": "destroySVM",
    }
    lines = ["", "Fault matrix: duplicate jobs / final status of the target (faults x mutations)"]
    lines.append("".ljust(width) + "".join(short[name].ljust(12) for name in columns))
    for fault in FAULTS:
        row = []
        for name in columns:
            cell = by_key[(fault.name, name)]
            status = cell["status"]
            for long_name, short_name in (("succeeded", "ok"), ("patched", "ok"), ("unchanged", "ok"), ("outcome_unknown", "unknown")):
                status = status.replace(long_name, short_name)
            mark = "%d %s" % (cell["duplicates"], status)
            row.append((mark + ("!" if cell["problems"] else "")).ljust(12))
        lines.append(fault.name.ljust(width) + "".join(row))
    lines.append(
        "cells: %d, duplicate jobs: %d, targets without a final status: %d, cells with a problem: %d, run time: %.0f s"
        % (len(cells), sum(c["duplicates"] for c in cells), sum(c["unsettled"] for c in cells), sum(1 for c in cells if c["problems"]), total)
    )
    print("\n".join(lines))


def test_fault_matrix_never_acts_twice_and_settles_every_target(acs_sim, capsys):
    sims: Queue = Queue()
    for _worker in range(WORKERS):
        sims.put(acs_sim(topology="small", time_factor=0.002))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        cells = list(pool.map(lambda pair: run_cell(sims, *pair), [(fault, mutation) for fault in FAULTS for mutation in MUTATIONS]))
    with capsys.disabled():
        print_matrix(cells, time.monotonic() - started)
    failures = ["%s x %s: %s" % (cell["fault"], cell["mutation"], "; ".join(cell["problems"])) for cell in cells if cell["problems"]]
    assert not failures, "\n".join(failures)
    assert len(cells) == len(FAULTS) * len(MUTATIONS)
