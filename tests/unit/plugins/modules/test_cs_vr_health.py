# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_vr_health without a management server: source local on a directory laid out like a router's /root."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from ansible_collections.acs.upgrade.plugins.modules import cs_vr_health

SCRIPT = """#!/bin/sh
# {name}: a {kind} check that {verdict}
if [ "$1" = "{kind}" ]; then
  echo "{message}"
  exit {code}
fi
exit 0
"""


def write_script(directory: Path, name: str, kind: str, passes: bool, message: str = "", executable: bool = True) -> None:
    path = directory / name
    verdict = "passes" if passes else "fails"
    path.write_text(SCRIPT.format(name=name, kind=kind, verdict=verdict, message=message or "%s %s" % (name, verdict), code=0 if passes else 1))
    path.chmod(0o755 if executable else 0o644)


def write_results(directory: Path, kind: str, checks: dict[str, tuple[bool, float]]) -> None:
    """Results file as the router's monitor writes it; ``checks`` maps name to (success, age in seconds)."""
    now_ms = int(time.time() * 1000)
    data: dict = {
        name: {"success": "true" if ok else "false", "lastUpdate": now_ms - int(age * 1000), "lastRunDuration": 7, "message": "%s said %s" % (name, ok)}
        for name, (ok, age) in checks.items()
    }
    data["lastRun"] = {"start": now_ms - 1000, "end": now_ms, "duration": 1000}
    (directory / ("%s_monitor_results.json" % kind)).write_text(json.dumps(data))


@pytest.fixture
def router_root(tmp_path: Path) -> Path:
    checks = tmp_path / "health_checks"
    checks.mkdir()
    write_script(checks, "disk_space_check.py", "basic", True, "free 812 MB")
    write_script(checks, "dns_check.py", "advanced", True, "3 guest VMs resolve")
    write_script(checks, "README", "basic", False, executable=False)
    return tmp_path


def local(root: Path, **args) -> dict:
    return dict({"source": "local", "local_checks_dir": str(root / "health_checks"), "local_results_dir": str(root)}, **args)


def test_fresh_runs_every_script_with_its_type_and_skips_silent_and_non_executable_ones(run_module, router_root):
    result = run_module(cs_vr_health, local(router_root, fresh=True))
    assert result["changed"] is False
    assert result["gate_passed"] is True
    [router] = result["routers"]
    assert router["name"] == socket.gethostname()
    assert router["fresh"] is True
    assert [(c["name"], c["type"], c["success"], c["details"]) for c in router["checks"]] == [
        ("disk_space_check.py", "basic", True, "free 812 MB"),
        ("dns_check.py", "advanced", True, "3 guest VMs resolve"),
    ]
    assert result["summary"]["checks"] == 2


def test_a_failing_script_fails_the_gate_naming_router_and_check(run_module, router_root):
    write_script(router_root / "health_checks", "haproxy_check.py", "advanced", False, "haproxy is not running")
    result = run_module(cs_vr_health, local(router_root, fresh=True))
    assert result["failed"] is True
    assert result["msg"] == "router health gate failed for 1 of 1 routers: %s (haproxy_check.py)" % socket.gethostname()
    assert result["failing"] == {socket.gethostname(): ["haproxy_check.py"]}
    assert [c["details"] for c in result["routers"][0]["checks"] if not c["success"]] == ["haproxy is not running"]


def test_types_limit_the_scripts_run(run_module, router_root):
    write_script(router_root / "health_checks", "haproxy_check.py", "advanced", False)
    result = run_module(cs_vr_health, local(router_root, fresh=True, types=["basic"]))
    assert result["gate_passed"] is True
    assert [c["name"] for c in result["routers"][0]["checks"]] == ["disk_space_check.py"]


def test_a_script_that_hangs_fails_its_check_after_script_timeout(run_module, router_root):
    hang = router_root / "health_checks" / "gateways_check.py"
    # The hang is far longer than the bound below, so the bound tells a killed script from one waited for, even on a loaded machine.
    hang.write_text("#!/bin/sh\nexec sleep 120\n")
    hang.chmod(0o755)
    started = time.monotonic()
    result = run_module(cs_vr_health, local(router_root, fresh=True, types=["basic"], script_timeout=1, enforce=False))
    assert time.monotonic() - started < 60
    assert result["failing"] == {socket.gethostname(): ["gateways_check.py"]}
    gateways = [c for c in result["routers"][0]["checks"] if c["name"] == "gateways_check.py"][0]
    assert gateways["details"] == "the check did not finish within 1 seconds (script_timeout)"


def test_last_results_files_are_read_without_running_anything(run_module, router_root):
    write_results(router_root, "basic", {"disk_space_check.py": (True, 30), "memory_usage_check.py": (False, 30)})
    write_results(router_root, "advanced", {"dns_check.py": (True, 200)})
    marker = router_root / "ran"
    (router_root / "health_checks" / "witness.sh").write_text("#!/bin/sh\ntouch %s\necho ran\n" % marker)
    (router_root / "health_checks" / "witness.sh").chmod(0o755)
    result = run_module(cs_vr_health, local(router_root, ignore=["memory_usage_check.py"]))
    assert not marker.exists()
    assert result["gate_passed"] is True
    router = result["routers"][0]
    assert router["fresh"] is False
    assert [(c["name"], c["type"], c["success"]) for c in router["checks"]] == [
        ("disk_space_check.py", "basic", True),
        ("memory_usage_check.py", "basic", False),
        ("dns_check.py", "advanced", True),
    ]
    assert router["failed_checks"] == ["memory_usage_check.py"]


def test_stale_results_fail_the_gate_or_are_refreshed(run_module, router_root):
    write_results(router_root, "basic", {"disk_space_check.py": (True, 3600)})
    write_results(router_root, "advanced", {"dns_check.py": (True, 60)})
    stale = run_module(cs_vr_health, local(router_root, max_age=600))
    assert stale["failed"] is True
    assert stale["routers"][0]["stale_checks"] == ["disk_space_check.py"]
    assert "disk_space_check.py" in stale["msg"]

    refreshed = run_module(cs_vr_health, local(router_root, max_age=600, refresh_stale=True))
    assert refreshed["gate_passed"] is True
    assert refreshed["routers"][0]["fresh"] is True
    assert refreshed["routers"][0]["checks"][0]["details"] == "free 812 MB"


def test_missing_results_files_mean_no_results(run_module, router_root):
    result = run_module(cs_vr_health, local(router_root))
    assert result["failed"] is True
    assert result["failing"] == {socket.gethostname(): ["no basic or advanced health check results"]}
    refreshed = run_module(cs_vr_health, local(router_root, refresh_stale=True))
    assert refreshed["gate_passed"] is True


def test_a_broken_results_file_is_named(run_module, router_root):
    (router_root / "basic_monitor_results.json").write_text("{not json")
    result = run_module(cs_vr_health, local(router_root))
    assert result["failed"] is True
    assert result["msg"].startswith("%s is not valid JSON" % (router_root / "basic_monitor_results.json"))


def test_a_host_that_is_no_router_is_named(run_module, tmp_path):
    result = run_module(cs_vr_health, local(tmp_path, fresh=True))
    assert result["failed"] is True
    assert "health_checks does not exist on %s" % socket.gethostname() in result["msg"]


def test_unknown_check_names_are_refused_with_the_names_reported(run_module, router_root):
    result = run_module(cs_vr_health, local(router_root, fresh=True, fail_on=["dns"], ignore=["cpu_usage_check.py"]))
    assert result["failed"] is True
    assert result["msg"] == (
        "fail_on names unknown health checks: dns; ignore names unknown health checks: cpu_usage_check.py. "
        "The selected routers report: disk_space_check.py, dns_check.py"
    )


def test_baseline_lets_known_failures_pass_and_catches_regressions(run_module, router_root):
    checks = router_root / "health_checks"
    write_script(checks, "memory_usage_check.py", "basic", False)
    before = run_module(cs_vr_health, local(router_root, fresh=True, enforce=False))
    assert before["gate_passed"] is False and "failed" not in before

    same = run_module(cs_vr_health, local(router_root, fresh=True, baseline=before))
    assert same["gate_passed"] is True
    assert same["routers"][0]["known_failures"] == ["memory_usage_check.py"]
    assert same["routers"][0]["baseline_match"] == "name"

    write_script(checks, "dns_check.py", "advanced", False)
    worse = run_module(cs_vr_health, local(router_root, fresh=True, baseline=json.dumps(before)))
    assert worse["failed"] is True
    assert worse["failing"] == {socket.gethostname(): ["dns_check.py"]}


def test_a_baseline_of_something_else_is_refused(run_module, router_root):
    result = run_module(cs_vr_health, local(router_root, fresh=True, baseline={"changed": False}))
    assert result["failed"] is True
    assert "baseline must be a registered result of acs.upgrade.cs_vr_health" in result["msg"]


def test_check_mode_runs_the_checks_too(run_module, router_root):
    result = run_module(cs_vr_health, local(router_root, fresh=True), check_mode=True)
    assert result["changed"] is False
    assert result["summary"]["checks"] == 2


def test_local_source_needs_no_connection_and_refuses_router_selection(run_module, router_root, monkeypatch):
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(router_root)
    assert run_module(cs_vr_health, local(router_root, fresh=True))["gate_passed"] is True
    result = run_module(cs_vr_health, local(router_root, fresh=True, zone="zone1", routers=["r-1-VM"]))
    assert result["failed"] is True
    assert result["msg"] == "routers, zone only select routers for source: api; with source: local the module judges the router it runs on"


def test_api_source_without_connection_says_what_is_missing(run_module, tmp_path, monkeypatch):
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_module(cs_vr_health, {"zone": "zone1"})
    assert result["failed"] is True
    assert result["msg"].startswith("missing CloudStack connection settings: api_url, api_key, api_secret")


@pytest.mark.parametrize(
    "args, message",
    [
        ({"parallel": 0}, "parallel must be at least 1, not 0"),
        ({"max_age": 0}, "max_age must be a number of seconds of at least 1, not 0"),
        ({"fresh_timeout": 0}, "fresh_timeout must be at least 1, not 0"),
        ({"results_timeout": -1}, "results_timeout must be a number of seconds of at least 0, not -1"),
        ({"types": []}, "types must name basic, advanced or both"),
        ({"account": "acme"}, "missing parameter(s) required by 'account': domain"),
    ],
)
def test_bad_options_are_named(run_module, router_root, args, message):
    result = run_module(cs_vr_health, local(router_root, **args))
    assert result["failed"] is True
    assert result["msg"] == message
