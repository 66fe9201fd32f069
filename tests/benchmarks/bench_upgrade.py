#!/usr/bin/env python
# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole upgrade against a generated fleet, side by side with the ways it is done without this collection.

Run from the repository root (or ``make bench``):

    .venv/bin/python tests/benchmarks/bench_upgrade.py --routers 2000 [--time-factor 0.01] [--parallel 50] [--json out.json] [--snapshot snapshot.json]

On one simulator (``acs-sim --generate``, its own process, 125 job threads like a management server) and one fleet
(same seed, 20% redundant), reset between runs:

(a) this collection: ``playbooks/upgrade.yml`` with ``livepatch_parallel``; its planning time is discover + plan;
(b) ngine_io.cloudstack style: a playbook that restarts one network (``cs_network state=restarted``) or VPC
    (``cs_vpc state=restarted``) at a time, on a sample, extrapolated to the fleet. ngine_io.cloudstack (2.5.0) has no
    ``livepatch``: such a restart re-applies the rules and upgrades nothing (DOMAIN: ``restartNetwork(livepatch=true)`` is
    the only way to live-patch routers), so it is measured twice: (b1) without ``clean_up`` (what the loop costs, not an
    upgrade) and (b2) with ``clean_up: true`` (a recreate of the routers: the upgrade such a loop can do);
(c) cloudstack-sysvmadm style: live-patch restarts 10 at a time, the next ten when all are done, each job polled
    every 5 s;
(d) two ideals from the simulator's job log of (a): the global one (every job packed into one window of ``parallel``:
    the sum of job durations / parallel, or the longest chain of jobs on one object, whichever is longer), and the
    group-order one (the plan's order kept: per group, its stages one after the other, each taking the longer of its
    longest job and its job-seconds / parallel; summed). A run that keeps the groups apart cannot beat the second;
(e) the strongest simple peer: a pool of ``parallel`` threads written with the ``cs`` library that sends every
    SSVM/CPVM a ``patchSystemVm`` and every network/VPC whose routers are not on the server's software a
    ``restartNetwork``/``restartVPC`` with ``livepatch=true``, each job polled every 2 s (scaled). It does less than (a):
    no order, no canary, no verification, no health gate, and it live-patches routers that need a recreate.

The peers' poll intervals (ngine_io's 2 s, sysvmadm's 5 s) are scaled by the time factor like the jobs, so the
ratios hold at real scale; the figures "at real scale" divide the job-bound time by the time factor and keep the
controller's own overhead as measured. Prints wall time, ratios, API calls per target by command, controller CPU
seconds and peak RSS (of the largest controller process), and writes it all as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "simulator")]

import requests  # noqa: E402
from acs_sim.client import SimClient  # noqa: E402

ACS_SIM = REPO / "tests" / "simulator" / "acs-sim"
BIN = Path(sys.executable).parent
POOL_POLL = 2.0
SYSVMADM_BATCH = 10
SYSVMADM_POLL = 5.0
NGINE_IO_POLL = 2.0


class Sim:
    """acs-sim in its own process, so that its CPU is never counted as the controller's."""

    def __init__(self, routers: int, zones: int, seed: int, time_factor: float, workdir: Path, snapshot: str | None = None):
        self.state_dir = workdir / "sim"
        spec = "zones=%d,routers=%d,redundant=0.2,seed=%d" % (zones, routers, seed)
        # A snapshot (acs.upgrade.cs_fleet_snapshot) instead of a generated fleet: its shape, states and job durations.
        source = ["--from-snapshot", snapshot] if snapshot else ["--generate", spec]
        self.proc = subprocess.Popen(
            [sys.executable, str(ACS_SIM), *source, "--time-factor", str(time_factor), "--state-dir", str(self.state_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        if not line.startswith("listening on "):
            raise RuntimeError("acs-sim did not start: %r" % line)
        self.url = line.split(" ", 2)[2]
        info = json.loads((self.state_dir / "sim.json").read_text())
        self.key, self.secret = info["keys"]["admin"]["apikey"], info["keys"]["admin"]["secretkey"]
        self.client = SimClient(self.url, self.key, self.secret, timeout=120)
        self.base = self.url.rsplit("/client/api", 1)[0]

    def side(self, method: str, route: str) -> t.Any:
        answer = requests.request(method, "%s/_sim/%s" % (self.base, route), timeout=600)
        answer.raise_for_status()
        return answer.json()

    def env(self) -> dict[str, str]:
        return dict(os.environ, CLOUDSTACK_ENDPOINT=self.url, CLOUDSTACK_KEY=self.key, CLOUDSTACK_SECRET=self.secret)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def children_usage() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_playbook(args: list[str], env: dict[str, str], what: str) -> tuple[float, float, int]:
    """Run ansible-playbook with ``args``: its wall time, the CPU seconds of its processes and their peak RSS (KiB)."""
    cpu_before, _rss = children_usage()
    started = time.time()
    done = subprocess.run([str(BIN / "ansible-playbook"), *args], env=env, capture_output=True, text=True, check=False)
    wall = time.time() - started
    cpu_after, rss = children_usage()
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-3000:])
        raise SystemExit("%s failed (rc %d)" % (what, done.returncode))
    return wall, cpu_after - cpu_before, rss


def ideal(jobs: list[dict[str, t.Any]], parallel: int) -> dict[str, float]:
    done = [job for job in jobs if job.get("start") and job.get("end")]
    total = sum(job["end"] - job["start"] for job in done)
    chains: dict[str, float] = {}
    for job in done:
        chains[job.get("instanceid") or job["jobid"]] = chains.get(job.get("instanceid") or job["jobid"], 0.0) + job["end"] - job["start"]
    longest = max(chains.values(), default=0.0)
    return {"jobs": len(done), "job_seconds": round(total, 2), "sum_over_parallel": round(total / parallel, 2), "longest_chain": round(longest, 2),
            "makespan": round(max(total / parallel, longest), 2)}


def group_order_ideal(jobs: list[dict[str, t.Any]], plan: dict[str, t.Any], journal: list[dict[str, t.Any]], parallel: int) -> dict[str, t.Any]:
    """The best a run that keeps the plan's groups and stages in order can do with the jobs it had (see (d))."""
    stage_of: dict[str, tuple[str, str]] = {}
    order: list[tuple[str, str]] = []
    for batch in plan["batches"]:
        step = (batch["group"], batch["stage"])
        if step not in order:
            order.append(step)
        for key in batch["items"]:
            stage_of.setdefault(key, step)
    step_of_job = {entry["jobid"]: stage_of.get(entry.get("key", "")) for entry in journal if entry.get("jobid")}
    spans: dict[tuple[str, str], list[float]] = {}
    unplaced = 0
    for job in jobs:
        if not (job.get("start") and job.get("end")):
            continue
        step = step_of_job.get(job["jobid"])
        if step is None:
            # A job the journal does not name (a router's reboot that follows upgradeRouterTemplate): its object's step.
            unplaced += 1
            continue
        spans.setdefault(step, []).append(job["end"] - job["start"])
    total = 0.0
    for step in order:
        durations = spans.get(step) or []
        if durations:
            total += max(*durations, sum(durations) / parallel)
    return {"makespan": round(total, 2), "steps": len([step for step in order if spans.get(step)]), "jobs_not_placed": unplaced}


def api_calls(sim: Sim, targets: int) -> dict[str, t.Any]:
    per_api = sim.side("GET", "counters")["per_api"]
    return {"total": sum(per_api.values()), "per_target": {command: round(count / max(targets, 1), 3) for command, count in sorted(per_api.items())},
            "by_command": per_api}


def units_of(sim: Sim) -> list[dict[str, t.Any]]:
    """Networks/VPCs with a Running router: what every way of upgrading acts on."""
    state = sim.side("GET", "state")
    running = [router for router in state["routers"] if router.get("state") == "Running"]
    vpcs = {router["vpcid"] for router in running if router.get("vpcid")}
    networks = {router["guestnetworkid"] for router in running if router.get("guestnetworkid") and not router.get("vpcid")}
    units = [dict(item, kind="vpc") for item in state["vpcs"] if item["id"] in vpcs]
    units += [dict(item, kind="network") for item in state["networks"] if item["id"] in networks]
    return units


# ---------------------------------------------------------------------------------------------- (a) this collection


def collection_copy(workdir: Path) -> Path:
    """A copy of the collection as it is now, so that the run measures one version of it from start to end."""
    root = workdir / "collections"
    target = root / "ansible_collections" / "acs" / "upgrade"
    for part in ("galaxy.yml", "meta", "plugins", "roles", "playbooks"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return root


def run_collection(sim: Sim, args: argparse.Namespace, workdir: Path) -> dict[str, t.Any]:
    output = workdir / "collection"
    collections = collection_copy(workdir)
    extra = {
        "acs_upgrade_dir": str(output),
        "livepatch_parallel": args.parallel,
        "livepatch_poll_interval": max(0.05, 5 * args.time_factor),
        "livepatch_timeout": max(60, int(900 * args.time_factor)),
        "livepatch_progress_every": max(100, args.routers // 20),
        "plan_canary_size": 1,
    }
    env = sim.env()
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    started = time.time()
    wall, cpu, rss = timed_playbook(
        [str(collections / "ansible_collections" / "acs" / "upgrade" / "playbooks" / "upgrade.yml"), "-e", json.dumps(extra)], env, "upgrade.yml"
    )
    planning = (output / "plan.json").stat().st_mtime - started
    plan = json.loads((output / "plan.json").read_text())
    targets = sum(1 for item in plan["items"] if item["path"] != "skip")
    jobs = sim.side("GET", "jobs")["jobs"]
    journal = [json.loads(line) for line in (output / "journal.jsonl").read_text().splitlines() if line.strip()]
    progress = (output / "progress.log").read_text().splitlines() if (output / "progress.log").exists() else []
    return {
        "wall": round(wall, 2),
        "planning": round(planning, 2),
        "targets": targets,
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(rss / 1024, 1),
        "jobs_in_flight_max": sim.side("GET", "jobs")["stats"]["max_in_flight"].get("*"),
        "api": api_calls(sim, targets),
        "ideal": ideal(jobs, args.parallel),
        "group_order_ideal": group_order_ideal(jobs, plan, journal, args.parallel),
        "progress_tail": progress[-3:],
    }


# ---------------------------------------------------------------------------------------------- (b) ngine_io style


def ngine_io_overlay(workdir: Path, time_factor: float) -> Path:
    """A copy of ngine_io.cloudstack whose job poll (a fixed 2 s sleep) is scaled like the jobs."""
    found = next(iter(sorted(Path(sys.prefix).glob("lib/python3*/site-packages/ansible_collections/ngine_io/cloudstack"))), None)
    if found is None:
        raise SystemExit("ngine_io.cloudstack is not installed: it comes with the ansible package of requirements-dev.txt")
    root = workdir / "ngine_io_collections"
    target = root / "ansible_collections" / "ngine_io" / "cloudstack"
    shutil.copytree(found, target)
    utils = target / "plugins" / "module_utils" / "cloudstack.py"
    text = utils.read_text()
    if "time.sleep(2)" not in text:
        raise SystemExit("ngine_io.cloudstack polls differently than this benchmark knows (no time.sleep(2) in %s)" % utils)
    utils.write_text(text.replace("time.sleep(2)", "time.sleep(%r)" % (NGINE_IO_POLL * time_factor)))
    return root


def run_ngine_io(sim: Sim, args: argparse.Namespace, workdir: Path, units: list[dict[str, t.Any]], clean_up: bool = False) -> dict[str, t.Any]:
    size = args.cleanup_sample if clean_up else args.sample
    sample = units[:: max(1, len(units) // size)][:size]
    zones = {zone["id"]: zone["name"] for zone in sim.side("GET", "state")["zones"]}
    tasks = []
    for unit in sample:
        module = "ngine_io.cloudstack.cs_vpc" if unit["kind"] == "vpc" else "ngine_io.cloudstack.cs_network"
        options = {"name": unit["name"], "zone": zones[unit["zoneid"]], "account": unit["account"], "domain": unit.get("domain") or "ROOT/customers",
                   "state": "restarted", "clean_up": clean_up}
        # A restart without live patch fails on a network whose routers the server refuses (below the zone's minimum
        # template, old scripts: NetworkHelperImpl.checkRouterVersion): the loop goes on, as an operator's would.
        tasks.append({"name": "restart %s" % unit["name"], module: options, "ignore_errors": True})
    playbook = workdir / ("ngine_io%s.yml" % ("_clean_up" if clean_up else ""))
    playbook.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]))
    env = sim.env()
    overlay = workdir / "ngine_io_collections"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(overlay if overlay.exists() else ngine_io_overlay(workdir, args.time_factor))
    interpreter = "ansible_python_interpreter=%s" % sys.executable
    wall, cpu, rss = timed_playbook(["-i", "localhost,", "-e", interpreter, str(playbook)], env, "the ngine_io-style playbook")
    jobs = sim.side("GET", "jobs")["jobs"]
    failed = sum(1 for job in jobs if job.get("jobstatus") == 2)
    job_seconds = sum(job["end"] - job["start"] for job in jobs if job.get("start") and job.get("end"))
    scale = len(units) / len(sample)
    return {
        "sample": len(sample),
        "sample_wall": round(wall, 2),
        "wall": round(wall * scale, 2),
        "job_seconds": round(job_seconds * scale, 2),
        "cpu_seconds": round(cpu * scale, 2),
        "peak_rss_mb": round(rss / 1024, 1),
        "api": api_calls(sim, len(sample)),
        "extrapolated": "x%.1f (%d of %d networks/VPCs)" % (scale, len(sample), len(units)),
        "failed": failed,
    }


# ---------------------------------------------------------------------------------------------- (c) sysvmadm style


def run_sysvmadm(sim: Sim, args: argparse.Namespace, units: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Batches of 10 live-patch restarts; with --sysvmadm-sample on an even sample, extrapolated (its time is linear in batches)."""
    client = sim.client
    poll = SYSVMADM_POLL * args.time_factor
    # An even sample, as the ngine_io-style one: the unit list starts with the VPCs, whose restarts take longer.
    chosen = units[:: max(1, len(units) // args.sysvmadm_sample)][: args.sysvmadm_sample] if args.sysvmadm_sample else units
    scale = len(units) / len(chosen)
    cpu_before = self_cpu()
    started = time.time()
    for first in range(0, len(chosen), SYSVMADM_BATCH):
        jobs = []
        for unit in chosen[first : first + SYSVMADM_BATCH]:
            command = "restartVPC" if unit["kind"] == "vpc" else "restartNetwork"
            jobs.append(client.call(command, id=unit["id"], livepatch="true", cleanup="false")["jobid"])
        while jobs:
            time.sleep(poll)
            jobs = [jobid for jobid in jobs if client.call("queryAsyncJobResult", jobid=jobid)["jobstatus"] == 0]
    wall = time.time() - started
    jobs = sim.side("GET", "jobs")["jobs"]
    result = {
        "wall": round(wall * scale, 2),
        "job_seconds": round(scale * sum(job["end"] - job["start"] for job in jobs if job.get("start") and job.get("end")), 2),
        "cpu_seconds": round((self_cpu() - cpu_before) * scale, 2),
        "api": api_calls(sim, len(chosen)),
    }
    if scale > 1:
        result["extrapolated"] = "x%.1f (%d of %d networks/VPCs)" % (scale, len(chosen), len(units))
    return result


# ---------------------------------------------------------------------------------------------- (e) a thread pool


def run_pool(sim: Sim, args: argparse.Namespace) -> dict[str, t.Any]:
    """(e): every job at once through a pool of ``parallel`` threads, with the ``cs`` library (what a careful script does)."""
    from cs import CloudStack  # the library of the peer (requirements-dev.txt)

    poll = POOL_POLL * args.time_factor
    api = CloudStack(endpoint=sim.url, key=sim.key, secret=sim.secret, timeout=120)
    cpu_before = self_cpu()
    started = time.time()
    software = api.listCapabilities()["capability"]["cloudstackversion"]
    routers = api.listRouters(listall=True, fetch_list=True)
    stale = {(("vpc", router["vpcid"]) if router.get("vpcid") else ("network", router["guestnetworkid"]))
             for router in routers if router.get("state") == "Running" and router.get("softwareversion") != software}
    work = [("patchSystemVm", {"id": vm["id"], "forced": True}) for vm in api.listSystemVms(fetch_list=True) if vm.get("state") == "Running"]
    work += [("restartVPC" if kind == "vpc" else "restartNetwork", {"id": ident, "livepatch": True, "cleanup": False}) for kind, ident in sorted(stale)]

    def one(command: str, params: dict[str, t.Any]) -> int:
        jobid = getattr(api, command)(**params)["jobid"]
        while True:
            time.sleep(poll)
            result = api.queryAsyncJobResult(jobid=jobid)
            if result["jobstatus"] != 0:
                return int(result["jobstatus"])

    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        statuses = list(pool.map(lambda item: one(*item), work))
    wall = time.time() - started
    jobs = sim.side("GET", "jobs")["jobs"]
    return {
        "wall": round(wall, 2),
        "jobs": len(work),
        "failed": sum(1 for status in statuses if status != 1),
        "job_seconds": round(sum(job["end"] - job["start"] for job in jobs if job.get("start") and job.get("end")), 2),
        "ideal": ideal(jobs, args.parallel),
        "cpu_seconds": round(self_cpu() - cpu_before, 2),
        "api": api_calls(sim, len(work)),
    }


# ---------------------------------------------------------------------------------------------- report


def save(args: argparse.Namespace, figures: dict[str, t.Any]) -> None:
    """Write what is measured so far: a peer that fails late does not lose the figures before it."""
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def real_scale(wall: float, job_bound: float, time_factor: float) -> float:
    """Wall time at time factor 1: the job-bound part grows by 1/time_factor, the controller's overhead stays."""
    return job_bound / time_factor + max(0.0, wall - job_bound)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--routers", type=int, default=500)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-factor", type=float, default=0.01)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--sample", type=int, default=20, help="networks/VPCs the ngine_io-style playbook restarts")
    parser.add_argument("--cleanup-sample", type=int, default=10, help="networks/VPCs the ngine_io-style playbook restarts with clean_up")
    parser.add_argument("--sysvmadm-sample", type=int, default=0, help="networks/VPCs the sysvmadm-style loop restarts (0: all), extrapolated")
    parser.add_argument("--skip-peers", action="store_true", help="run (a) and (d) only")
    parser.add_argument("--peers", default="pool,sysvmadm,ngine_io,ngine_io_clean_up", help="the peers to run, comma-separated (default: all)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--snapshot", metavar="FILE", help="run on the cloud of this snapshot (acs.upgrade.cs_fleet_snapshot) instead of a generated fleet")
    args = parser.parse_args()
    peers = [] if args.skip_peers else [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(peers) - {"pool", "sysvmadm", "ngine_io", "ngine_io_clean_up"})
    if unknown:
        parser.error("unknown peer(s) %s: choose among pool, sysvmadm, ngine_io, ngine_io_clean_up" % ", ".join(unknown))

    workdir = Path(tempfile.mkdtemp(prefix="bench-upgrade-"))
    sim = Sim(args.routers, args.zones, args.seed, args.time_factor, workdir, snapshot=args.snapshot)
    if args.snapshot:
        taken = json.loads(Path(args.snapshot).read_text())
        args.routers, args.zones = len(taken["routers"]), len(taken["zones"])
    figures: dict[str, t.Any] = {"snapshot": args.snapshot, "routers": args.routers, "zones": args.zones, "seed": args.seed, "time_factor": args.time_factor,
                                 "parallel": args.parallel}
    try:
        units = units_of(sim)
        figures["units"] = len(units)
        figures["collection"] = run_collection(sim, args, workdir)
        figures["ideal"] = figures["collection"].pop("ideal")
        save(args, figures)
        runs = {
            "pool": lambda: run_pool(sim, args),
            "sysvmadm": lambda: run_sysvmadm(sim, args, units),
            "ngine_io": lambda: run_ngine_io(sim, args, workdir, units),
            "ngine_io_clean_up": lambda: run_ngine_io(sim, args, workdir, units, clean_up=True),
        }
        for name in peers:
            sim.side("POST", "reset")
            figures[name] = runs[name]()
            save(args, figures)
    finally:
        sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    ours, best = figures["collection"], figures["ideal"]
    factor = args.time_factor
    figures["ratios"] = {"to_ideal": round(ours["wall"] / best["makespan"], 2) if best["makespan"] else None}
    print("fleet: %d routers, %d networks/VPCs with a Running router, %d zones, seed %d; time factor %s, parallel %d"
          % (args.routers, len(units), args.zones, args.seed, factor, args.parallel))
    in_order = ours.pop("group_order_ideal")
    figures["group_order_ideal"] = in_order
    figures["ratios"]["to_group_order_ideal"] = round(ours["wall"] / in_order["makespan"], 2) if in_order["makespan"] else None
    print("(d) ideal makespan: %.1f s (%d jobs, %.1f job-seconds / %d = %.1f s; longest chain %.1f s)"
          % (best["makespan"], best["jobs"], best["job_seconds"], args.parallel, best["sum_over_parallel"], best["longest_chain"]))
    print("    in the plan's group order: %.1f s (%d group stages one after the other%s)"
          % (in_order["makespan"], in_order["steps"], ", %d jobs not placed" % in_order["jobs_not_placed"] if in_order["jobs_not_placed"] else ""))
    ratios = figures["ratios"]
    print("(a) acs.upgrade upgrade.yml: %.1f s wall (%.2fx ideal, %.2fx the group-order ideal), planning %.1f s, %d targets, "
          "controller CPU %.1f s, peak RSS %.0f MB, %s jobs in flight at most"
          % (ours["wall"], ratios["to_ideal"] or 0, ratios["to_group_order_ideal"] or 0, ours["planning"], ours["targets"], ours["cpu_seconds"],
             ours["peak_rss_mb"], ours["jobs_in_flight_max"]))
    print("    API calls per target: %s" % ", ".join("%s %s" % item for item in ours["api"]["per_target"].items()))
    ours_real = real_scale(ours["wall"], best["makespan"], factor)
    figures["real_scale"] = {"collection": round(ours_real, 1), "ideal": round(best["makespan"] / factor, 1)}
    if "pool" in figures:
        pool = figures["pool"]
        figures["ratios"]["pool"] = round(pool["wall"] / ours["wall"], 2)
        figures["real_scale"]["pool"] = round(real_scale(pool["wall"], min(pool["wall"], pool["ideal"]["makespan"]), factor), 1)
        print("(e) %d-thread pool with the cs library, no order, no verification: %.1f s wall (%.2fx its ideal of %.1f s), %d jobs, %d failed; "
              "(a) takes %.2fx its time; controller CPU %.1f s; API calls per target: %s"
              % (args.parallel, pool["wall"], pool["wall"] / pool["ideal"]["makespan"] if pool["ideal"]["makespan"] else 0, pool["ideal"]["makespan"],
                 pool["jobs"], pool["failed"], ours["wall"] / pool["wall"] if pool["wall"] else 0, pool["cpu_seconds"],
                 ", ".join("%s %s" % item for item in pool["api"]["per_target"].items())))
    for name, label in (
        ("sysvmadm", "(c) sysvmadm-style loop"),
        ("ngine_io", "(b1) ngine_io-style playbook, restarts without clean_up (upgrades nothing)"),
        ("ngine_io_clean_up", "(b2) ngine_io-style playbook, restarts with clean_up (recreates the routers)"),
    ):
        if name in figures:
            peer = figures[name]
            figures["ratios"][name] = round(peer["wall"] / ours["wall"], 2)
            peer_real = real_scale(peer["wall"], min(peer["wall"], peer["job_seconds"] if name.startswith("ngine_io") else peer["wall"]), factor)
            figures["real_scale"][name] = round(peer_real, 1)
            print("%s: %.1f s wall%s%s, %.1fx the time of (a); controller CPU %.1f s; API calls per target: %s"
                  % (label, peer["wall"], " (extrapolated %s)" % peer["extrapolated"] if peer.get("extrapolated") else "",
                     ", %d of the sample's jobs failed" % peer["failed"] if peer.get("failed") else "", figures["ratios"][name],
                     peer["cpu_seconds"], ", ".join("%s %s" % item for item in peer["api"]["per_target"].items())))
    print("at real scale (time factor 1): %s" % ", ".join("%s %.0f s" % item for item in figures["real_scale"].items()))
    if args.json:
        save(args, figures)
        print("written: %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
