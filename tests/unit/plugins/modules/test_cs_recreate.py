# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_recreate without a server: the decisions (what is current, what may be touched, in which order) and option checks."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._fleet import Router, SystemVm, Unit
from ansible_collections.acs.upgrade.plugins.module_utils._recreate import (
    Target,
    pair_settled,
    reboot_waves,
    router_is_current,
    router_target,
    summarize,
    systemvm_target,
    unit_target,
    upgraded_job_ids,
)
from ansible_collections.acs.upgrade.plugins.modules import cs_recreate

MS = "4.18.0.0"
# minreq.sysvmtemplate.version of zone z1 after the 4.18.0.0 upgrade (SystemVmTemplateRegistration.getSystemVmTemplateVersion).
MINREQ = "4.18.0"


def router(name: str, version: str = "4.15.1", state: str = "Running", redundantstate: str | None = None, **raw) -> Router:
    item = {
        "id": "id-" + name,
        "name": name,
        "state": state,
        "version": version,
        "requiresupgrade": version != "4.18.0",
        "isredundantrouter": redundantstate is not None,
        "redundantstate": redundantstate,
        "zoneid": "z1",
        "zonename": "zone1",
        "guestnetworkid": "net1",
    }
    item.update(raw)
    return Router.from_api({key: value for key, value in item.items() if value is not None}, {})


def systemvm(name: str, version: str = "4.15.1", state: str = "Running", agent: str = MS, disk: str | None = None) -> SystemVm:
    """``version`` is the template's (in its name); listSystemVms ``version`` is the agent's, here the server's by default;
    ``disk`` its ROOT volume's template (read from 4.18 on; None: not read, as on 4.17)."""
    item = {"id": "id-" + name, "name": name, "systemvmtype": "consoleproxy", "state": state, "version": agent, "zoneid": "z1", "zonename": "zone1",
            "templateid": "tpl-" + version, "templatename": "systemvm-kvm-" + version}
    vm = SystemVm.from_api(item, {})
    vm.disk_template_version = disk
    return vm


def unit(*routers: Router) -> Unit:
    return Unit("network", "net1", "web", "z1", "acme", "d1", routers=list(routers))


# -- what is current ---------------------------------------------------------------------------------------------


def test_router_currency_never_trusts_requiresupgrade():
    """requiresupgrade turns false after a live patch on an old template (DomainRouterJoinDaoImpl, 4.18.0.0): only the template counts."""
    assert router_is_current(router("r1", version="4.15.1", requiresupgrade=False, softwareversion=MS), MINREQ) is False
    assert router_is_current(router("r1", version="4.18.0", requiresupgrade=True), MINREQ) is True


def test_router_currency_is_the_zone_minimum_not_the_server_version():
    """4.18.2.0 ships template 4.18.1 (pom.xml project.systemvm.template.version, 154566f914): the upgrade sets the zones'
    minreq.sysvmtemplate.version to 4.18.1, so a router recreated from it is current under a 4.18.2.0 server."""
    recreated = router("r1", version="4.18.1", softwareversion="4.18.2.0")
    assert router_is_current(recreated, "4.18.1") is True
    assert router_target(recreated, "reboot", "4.18.2.0", False, unit(recreated), minreq="4.18.1").status == "unchanged"
    assert router_is_current(recreated, None) is False, "an unknown minimum judges nothing current"
    unknown = router_target(recreated, "reboot", "4.18.2.0", False, unit(recreated), minreq="")
    assert unknown.status == "skipped" and "zone zone1's minreq.sysvmtemplate.version is empty" in unknown.reason


def test_systemvm_template_comes_from_its_template_not_its_agent_version():
    live_patched = systemvm("v1", version="4.15.1", agent=MS)
    target = systemvm_target(live_patched, "reboot", MS, False, minreq=MINREQ)
    assert target.status == "pending" and target.version_before == "4.15.1"


def test_router_currency_falls_back_to_the_template_version():
    bare = Router.from_api({"id": "r", "name": "r", "version": "4.18.0"}, {})
    old = Router.from_api({"id": "r", "name": "r", "version": "4.17.2"}, {})
    assert router_is_current(bare, MINREQ) is True
    assert router_is_current(old, MINREQ) is False


@pytest.mark.parametrize(
    ("vm", "method", "force", "status", "words"),
    [
        (systemvm("v1", version="4.18.0"), "reboot", False, "pending", "listVolumes returns no system VM volume before 4.18"),
        (systemvm("v1", version="4.18.0"), "reboot", True, "pending", "listVolumes returns no system VM volume before 4.18"),
        (systemvm("v1", disk="4.15.1"), "reboot", False, "pending", "template 4.15.1 is older than zone1's minimum 4.18.0 (minreq.sysvmtemplate.version)"),
        (systemvm("v1", version="4.18.0", disk="4.18.0"), "reboot", False, "unchanged", "already runs template 4.18.0 (its ROOT volume)"),
        (systemvm("v1", version="4.18.0", disk="4.18.0"), "reboot", True, "pending", "forced"),
        (systemvm("v1", state="Stopped"), "reboot", False, "skipped", "use method stop_start or destroy"),
        (systemvm("v1", state="Stopped"), "stop_start", False, "pending", "recreated once"),
        (systemvm("v1", state="Starting"), "destroy", False, "skipped", "wait until it is Running or Stopped"),
    ],
)
def test_systemvm_decisions(vm, method, force, status, words):
    """A system VM listed with the current template proves nothing: the upgrade repoints every system VM to the new template
    (SystemVmTemplateRegistration.updateSystemVMEntries -> VMInstanceDaoImpl.updateSystemVmTemplateId). Its ROOT volume's
    template (listVolumes listsystemvms, QueryManagerImpl.searchForVolumesInternal 4.18.0.0) does: at or above the zone's
    minimum it is left alone; unread (4.17) it is recreated when asked."""
    target = systemvm_target(vm, method, MS, force, minreq=MINREQ)
    assert target.status == status
    assert words in target.reason


@pytest.mark.parametrize(
    ("item", "method", "status", "words"),
    [
        (router("r1", version="4.18.0"), "reboot", "unchanged", "already on template 4.18.0, at or above zone1's minimum 4.18.0"),
        (router("r1", state="Stopped"), "reboot", "skipped", "use method restart_cleanup on its network web"),
        (router("r1", state="Stopped"), "upgrade_template", "skipped", "use method restart_cleanup on its network web"),
        (router("r1", state="Stopping"), "upgrade_template", "skipped", "wait until it settles"),
        (router("r1"), "reboot", "pending", "template 4.15.1 is older than zone1's minimum 4.18.0 (minreq.sysvmtemplate.version)"),
    ],
)
def test_router_decisions(item, method, status, words):
    target = router_target(item, method, MS, False, unit(item), minreq=MINREQ)
    assert target.status == status
    assert words in target.reason


def test_unit_decisions():
    current = unit(router("r1", version="4.18.0"), router("r2", version="4.18.0"))
    assert unit_target(current, MS, False, minreq=MINREQ).status == "unchanged"
    assert unit_target(current, MS, True, minreq=MINREQ).status == "pending"
    stale = unit(router("r1", version="4.18.0"), router("r2"))
    target = unit_target(stale, MS, False, minreq=MINREQ)
    assert target.status == "pending" and "r2" in target.reason and "r1" not in target.reason
    busy = unit(router("r1", state="Starting"), router("r2"))
    assert unit_target(busy, MS, False, minreq=MINREQ).status == "skipped"
    result = target.as_result()
    assert result["kind"] == "network" and [r["name"] for r in result["routers"]] == ["r1", "r2"]
    assert result["version_before"] == "4.15.1, 4.18.0"


# -- redundant pairs ---------------------------------------------------------------------------------------------


def test_pair_settled_needs_every_router_running_and_one_primary():
    assert pair_settled([router("a", redundantstate="PRIMARY"), router("b", redundantstate="BACKUP")])[0] is True
    assert pair_settled([router("a", redundantstate="BACKUP"), router("b", redundantstate="BACKUP")])[0] is False
    assert pair_settled([router("a", redundantstate="PRIMARY"), router("b", redundantstate="PRIMARY")])[0] is False
    settled, states = pair_settled([router("a", redundantstate="PRIMARY"), router("b", state="Stopped", redundantstate="UNKNOWN")])
    assert settled is False and states == "a Running/PRIMARY, b Stopped/UNKNOWN"
    assert pair_settled([]) == (False, "no router")


def test_reboot_waves_put_primaries_last():
    targets = [
        router_target(router("p", redundantstate="PRIMARY"), "reboot", MS, False, None, minreq=MINREQ),
        router_target(router("single"), "reboot", MS, False, None, minreq=MINREQ),
        router_target(router("b", redundantstate="BACKUP"), "reboot", MS, False, None, minreq=MINREQ),
    ]
    first, second = reboot_waves(targets)
    assert [target.name for target in first] == ["single", "b"]
    assert [target.name for target in second] == ["p"]


# -- small pieces ------------------------------------------------------------------------------------------------


def test_upgraded_job_ids():
    assert upgraded_job_ids({}) == []
    assert upgraded_job_ids({"count": 2, "asyncjobs": [{"jobid": "j1"}, {"jobid": "j2"}]}) == ["j1", "j2"]


def test_summary_counts_every_status():
    targets = [
        Target(kind="router", id=str(index), name=str(index), method="reboot", status=status)
        for index, status in enumerate(["succeeded", "failed", "succeeded"])
    ]
    summary = summarize(targets)
    assert summary["total"] == 3 and summary["succeeded"] == 2 and summary["failed"] == 1 and summary["unchanged"] == 0


# -- options that are refused before any API call ---------------------------------------------------------------

# Nothing listens on the discard port of the loopback address: a call would fail with "connection refused".
NOWHERE = {"api_url": "http://127.0.0.1:9/client/api", "api_key": "unit-test-key", "api_secret": "unit-test-secret-value", "api_timeout": 1}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"target": "systemvm", "method": "restart_cleanup"}, "method restart_cleanup does not apply to systemvms"),
        ({"target": "router", "method": "stop_start"}, "method stop_start does not apply to routers"),
        ({"target": "systemvm", "domain": "customers"}, "system VMs belong to no domain"),
        ({"target": "router", "systemvm_type": "consoleproxy"}, "systemvm_type narrows system VMs"),
        ({"target": "router", "method": "upgrade_template", "force": True}, "force does not apply to upgrade_template"),
        ({"target": "router", "method": "reboot", "server_side": True}, "server_side applies to method upgrade_template only"),
        ({"target": "router", "method": "upgrade_template", "server_side": True}, "got none"),
        ({"target": "router", "method": "upgrade_template", "server_side": True, "zone": "z", "names": ["r"]}, "got zone and names"),
        ({"target": "systemvm", "parallel": 0}, "parallel must be at least 1"),
        # An empty selection (a filter that came out empty) used to recreate every router: refused before any API call.
        ({"target": "router", "names": []}, "names is an empty list: nothing would be chosen, and it never means all"),
        ({"target": "systemvm", "names": [""]}, "names is an empty list"),
        ({"target": "systemvm", "poll_interval": 0}, "poll_interval must be more than 0, not 0"),
        ({"target": "systemvm", "max_fail_percentage": 101}, "max_fail_percentage must be between 0 and 100"),
    ],
)
def test_bad_options_are_refused_with_a_reason(run_module, args, words):
    result = run_module(cs_recreate, dict(NOWHERE, **args))
    assert result["failed"] is True
    assert words in result["msg"]
    assert "Connection refused" not in result["msg"]
