# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Run the collection's playbooks through ansible-runner, as AWX does, against the simulator."""

from __future__ import annotations

import json
import os
import sys
import typing as t
from pathlib import Path

import ansible_runner

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
# Async commands that change something; the simulator records a job for each.
ROUTER_COMMANDS = frozenset(("restartNetwork", "restartVPC", "rebootRouter", "upgradeRouterTemplate"))
SYSTEMVM_COMMANDS = frozenset(("patchSystemVm", "rebootSystemVm", "stopSystemVm", "startSystemVm", "destroySystemVm"))


class Run(t.NamedTuple):
    rc: int
    status: str
    changed: int
    failures: int
    stdout: str
    stats: dict[str, t.Any]
    # Every event of the job, as ansible-runner hands them to AWX.
    events: tuple[dict[str, t.Any], ...] = ()


def run_playbook(
    sim: t.Any,
    workdir: Path,
    playbook: str,
    extravars: dict[str, t.Any],
    check: bool = False,
    cancel: t.Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """One ansible-runner job; the keys reach it through the environment, as an AWX credential would inject them."""
    private = workdir / ("runner-%d" % len(list(workdir.glob("runner-*"))))
    private.mkdir(parents=True)
    envvars = {
        "CLOUDSTACK_ENDPOINT": sim.url,
        "CLOUDSTACK_KEY": sim.admin_key,
        "CLOUDSTACK_SECRET": sim.admin_secret,
        "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "ANSIBLE_PIPELINING": "true",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        **(env or {}),
    }
    result = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(PLAYBOOKS),
        playbook=playbook,
        inventory="localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
        extravars=extravars,
        envvars=envvars,
        cmdline="--check" if check else None,
        quiet=True,
        cancel_callback=cancel,
        # ansible-runner asks the cancel callback each time the output is read, at the latest every pexpect_timeout
        # (5 s by default): a short one cancels near the moment the callback names, as an operator pressing cancel.
        settings={"pexpect_timeout": 0.1} if cancel is not None else None,
    )
    stdout = result.stdout.read()
    events = tuple(result.events)
    stats: dict[str, t.Any] = {}
    for event in events:
        if event.get("event") == "playbook_on_stats":
            stats = event["event_data"].get("artifact_data") or {}
    counts = result.stats or {}
    return Run(
        result.rc,
        result.status,
        sum((counts.get("changed") or {}).values()),
        sum((counts.get("failures") or {}).values()),
        stdout,
        stats,
        events,
    )


def read_plan(output: Path) -> dict[str, t.Any]:
    return json.loads((output / "plan.json").read_text())


def read_journal(output: Path, ends: bool = True) -> list[dict[str, t.Any]]:
    """The journal's entries; with ``ends`` only the ends of targets, without the submits that precede them."""
    path = output / "journal.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    return [entry for entry in entries if entry["status"] != "submitted"] if ends else entries


def zone_of(sim: t.Any) -> dict[str, str]:
    """Zone name of every network, VPC, router and system VM id the simulator knows now."""
    state = sim.state()
    return {item["id"]: item["zonename"] for kind in ("networks", "vpcs", "routers", "systemvms") for item in state[kind]}
