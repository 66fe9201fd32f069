# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The report as an operator sees it: the upgrade playbook runs through ansible-runner against the simulator, and
Debian's headless Chromium renders report.html, takes a screenshot and hands back the DOM after its script ran.

Two runs, each made once for the module: the sample cloud of the demo (it finishes; one live patch fails and is
recreated; one network is skipped) and a run stopped by a failed live patch with ``on_failure: stop``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import typing as t
from html.parser import HTMLParser
from pathlib import Path

import pytest
from acs_sim.server import Simulator
from playbook_runner import read_journal, read_plan, run_playbook

REPO = Path(__file__).resolve().parents[3]
# Screenshots are kept here for a person to look at (tests/output is ignored by git).
SCREENSHOTS = REPO / "tests" / "output" / "report"
DEMO_FAILING = "initech-net14"  # the sample cloud's network whose live patch fails
DEMO_STOPPED = "globex-net7"  # its network whose only router is Stopped
STOP_AT = "acme-db"  # the network of the small cloud whose live patch fails in the stopped run
# A failed live patch as the client finds it: CloudStack 4.18's restartNetwork job succeeds, the routers keep their
# old version (NetworkOrchestrator.restartNetwork, 4.18.0.0), so the error names the routers, not the patch script.
# The demo's failing live patch leaves its 4.14 routers on their old scripts: the server refuses the rules sent next
# (NetworkHelperImpl.checkRouterVersion), the job fails, and the stage reports them refused by the server.
LIVEPATCH_FAILED = "refused by the server after restar"  # the page clips the error there


# ---------------------------------------------------------------------------------------------- the browser


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.content: list[str | Node] = []  # text and child elements, in document order

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return " ".join(" ".join(part if isinstance(part, str) else part.text for part in self.content).split())

    def iter(self) -> t.Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag) and (cls is None or cls in node.classes) and all(node.attrs.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, "no <%s class=%s %s> in the page" % (tag, cls, attrs)
        return found[0]


class _Dom(HTMLParser):
    VOID = frozenset(("meta", "input", "br", "img", "link", "hr", "col", "source", "wbr"))

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(node)
        self.current.content.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(node)
        self.current.content.append(node)

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.content.append(data)


class Page(t.NamedTuple):
    dom: Node
    html: str
    screenshot: Path


def render(report: Path, screenshot: Path, fragment: str = "", width: int = 1280) -> Page:
    """Load the page in headless Chromium ``width`` px wide: a screenshot and the DOM after the page's own script ran."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium package is missing: run tests/host/prepare.sh (make host)"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    profile = screenshot.parent / (screenshot.stem + ".profile")
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # as root, Chromium refuses to start with its sandbox
        "--disable-gpu",
        "--hide-scrollbars",
        "--user-data-dir=%s" % profile,
        "--window-size=%d,1000" % width,
        "--screenshot=%s" % screenshot,
        "--dump-dom",
        report.as_uri() + fragment,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-2000:]
    parser = _Dom()
    parser.feed(done.stdout)
    return Page(parser.root, done.stdout, screenshot)


# ---------------------------------------------------------------------------------------------- the runs


def _start(topology: str, time_factor: float) -> Simulator:
    return Simulator(topology, time_factor=time_factor).start()


def _extravars(output: Path, **more: str) -> dict[str, str]:
    # As the demo runs it (demo/run-demo.sh), as strings like AWX extra vars.
    return {
        "acs_upgrade_dir": str(output),
        "livepatch_poll_interval": "1",
        "legacy_recreate_poll_interval": "1",
        "legacy_recreate_parallel": "4",
        **more,
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The sample cloud of `make demo`, upgraded once by playbooks/upgrade.yml."""
    work = tmp_path_factory.mktemp("demo")
    sim = _start("sample-cloud", 0.01)
    try:
        run = run_playbook(sim, work, "upgrade.yml", _extravars(work / "out"))
        assert run.rc == 0, run.stdout[-3000:]
        yield {"run": run, "output": work / "out", "sim": sim, "page": render(work / "out" / "report.html", SCREENSHOTS / "demo.png")}
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """The small cloud with a live patch that fails and ``on_failure: stop``: the run stops in the middle."""
    work = tmp_path_factory.mktemp("stopped")
    sim = _start("small", 0.002)
    try:
        sim.inject(kind="livepatch_failure", object=STOP_AT, errortext="patch script exited 1: dnsmasq failed to restart")
        run = run_playbook(sim, work, "upgrade.yml", _extravars(work / "out", plan_batch_size="2", livepatch_on_failure="stop"))
        assert run.rc != 0, "the run was meant to stop: %s" % run.stdout[-3000:]
        yield {"run": run, "output": work / "out", "sim": sim, "page": render(work / "out" / "report.html", SCREENSHOTS / "stopped.png")}
    finally:
        sim.stop()


# ---------------------------------------------------------------------------------------------- what every page must be


def _groups(page: Page) -> list[Node]:
    return page.dom.find_all("section", cls="group")


def _assert_self_contained(page: Page) -> None:
    """Nothing fetched: no element names a URL, the CSP forbids the rest, and the browser applied the page's own style and script."""
    html_node = page.dom.find("html")
    assert html_node.attrs.get("data-script") == "ran", "the inline script did not run (Content-Security-Policy hash?)"
    assert html_node.attrs.get("data-style") == "applied", "the inline style was blocked (Content-Security-Policy hash?)"
    csp = page.dom.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    for node in page.dom.iter():
        for name, value in node.attrs.items():
            assert name not in ("src", "href", "action", "srcset", "xlink:href"), (node.tag, name, value)
            assert "//" not in value or name == "content", (node.tag, name, value)
    for style in page.dom.find_all("style"):
        assert "url(" not in style.text and "@import" not in style.text
    assert page.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and page.screenshot.stat().st_size > 20_000


def _assert_timelines(page: Page, plan: dict[str, t.Any], journal: list[dict[str, t.Any]]) -> None:
    """One SVG timeline per group, with one bar per job the journal recorded for that group."""
    group_of_batch = {batch["index"]: batch["group"] for batch in plan["batches"]}
    assert sorted(section.attrs["data-group"] for section in _groups(page)) == sorted(set(group_of_batch.values()))
    for section in _groups(page):
        svgs = section.find_all("svg", cls="gantt")
        # A job that was never sent (all its targets not_submitted) has no bar.
        entries = [
            entry
            for entry in journal
            if group_of_batch.get(entry["batch"]) == section.attrs["data-group"] and not set(entry.get("statuses") or ["?"]) <= {"not_submitted"}
        ]
        if not entries:
            assert not svgs and "no timeline" in section.text.lower()
            continue
        assert len(svgs) == 1, section.attrs["data-group"]
        assert len(svgs[0].find_all("rect", cls="bar")) == len(entries), section.attrs["data-group"]


# ---------------------------------------------------------------------------------------------- the demo


def test_demo_top_of_page_says_it_finished_and_what_needs_a_hand(demo):
    page = demo["page"]
    _assert_self_contained(page)
    outcome = page.dom.find(id="outcome")
    assert "finished" in outcome.classes and outcome.text.startswith("Finished:"), outcome.text
    attention = {row.find_all("td")[1].text.split()[0]: row for row in page.dom.find(id="attention").find_all("tr")[1:]}
    # The failed live patch was recreated: shown as such, never as a plain done, with the live patch's error.
    assert "recreated" in attention[DEMO_FAILING].classes
    assert "recreated after a failed live patch" in attention[DEMO_FAILING].text and LIVEPATCH_FAILED in attention[DEMO_FAILING].text
    assert "skipped" in attention[DEMO_STOPPED].classes and "r-15-VM Stopped" in attention[DEMO_STOPPED].text
    assert set(attention) == {DEMO_FAILING, DEMO_STOPPED}
    # The job summary AWX shows: totals and names.
    stats = demo["run"].stats["acs_upgrade"]
    assert (stats["outcome"], stats["failed"], stats["failed_names"], stats["recreated_names"]) == ("finished", 0, [], [DEMO_FAILING])
    report = json.loads((demo["output"] / "report.json").read_text())
    assert report["totals"] == {key: stats[key] for key in report["totals"]}
    assert "## Needs attention" in (demo["output"] / "report.md").read_text()


def test_demo_has_a_row_per_router_and_system_vm_under_its_network(demo):
    page = demo["page"]
    plan = read_plan(demo["output"])
    routers = {router["name"]: item["name"] for item in plan["items"] for router in item.get("routers", [])}
    systemvms = {item["name"] for item in plan["items"] if item["kind"] == "systemvm"}
    assert len(routers) == 41
    seen = {}
    for body in page.dom.find_all("tbody", cls="unit"):
        unit = body.find("tr", cls="unit").find_all("td")[0].text.split(" (")[0]
        for row in body.find_all("tr", cls="vm"):
            seen[row.find_all("td")[0].text.split(" → ")[0]] = unit
    assert seen == routers
    unit_rows = {body.find("tr", cls="unit").find_all("td")[0].text for body in page.dom.find_all("tbody", cls="unit")}
    assert systemvms <= unit_rows
    # After a recreate, the router row names the old and the new router and the template it moved to.
    recreated = [row.text for row in page.dom.find_all("tr", cls="vm") if seen.get(row.find_all("td")[0].text.split(" → ")[0]) == DEMO_FAILING]
    assert len(recreated) == 2 and all(" → r-" in text and "4.14.1 → 4.18.0" in text for text in recreated), recreated


def test_demo_timeline_per_group_and_vpn_caveat_once_per_group(demo):
    page = demo["page"]
    plan = read_plan(demo["output"])
    journal = read_journal(demo["output"])
    assert [section.attrs["data-group"] for section in _groups(page)] == ["zone1", "zone2", "zone3"]
    # Each bar is the job's own wall-clock span, which ends before the batch was recorded.
    assert all(entry["started"] < entry["finished"] and entry["finished"][:19] <= entry["time"][:19] for entry in journal), journal
    _assert_timelines(page, plan, journal)
    first = _groups(page)[0].find("svg", cls="gantt")
    assert first.find_all("rect", cls="canary") and first.find_all("line", cls="gate")
    # The strongSwan caveat: once per group, only where routers on 4.14 templates were live-patched (not those recreated
    # after a failed live patch: they now run the new template), never for a system VM.
    final_path = {item["key"]: item["path"] for item in plan["items"]}
    final_path.update({entry["key"]: entry["path"] for entry in journal})
    on_414 = {}
    for item in plan["items"]:
        for router in item.get("routers", []):
            if router["version"].startswith("4.14.") and router["state"] == "Running" and final_path[item["key"]] == "livepatch":
                on_414.setdefault(item["group"], set()).add(router["name"])
    for section in _groups(page):
        caveats = section.find_all("div", cls="caveat")
        group = section.attrs["data-group"]
        assert len(caveats) == (1 if group in on_414 else 0), group
        if caveats:
            assert set(caveats[0].text.split(": ")[-1].split(", ")) == on_414[group]
            assert "s-" not in caveats[0].text.split(": ")[-1] and "v-" not in caveats[0].text.split(": ")[-1]
    # Not on any row either: neither a router's nor a system VM's (whose own row is its unit row).
    rows = [row for table in page.dom.find_all("table", cls="targets") for row in table.find_all("tr")]
    assert not [row.text[:60] for row in rows if "strongSwan" in row.text]


def test_demo_filter_from_the_link_hides_the_other_networks(demo, tmp_path):
    page = render(demo["output"] / "report.html", tmp_path / "filtered.png", "#filter=" + DEMO_FAILING)
    shown = [body for body in page.dom.find_all("tbody", cls="unit") if "hidden" not in body.attrs]
    assert [body.find("tr", cls="unit").find_all("td")[0].text for body in shown] == [DEMO_FAILING]


def test_demo_recreated_network_reads_in_order_with_nothing_left_to_do_and_markdown_agrees(demo):
    """The live patch's error ends with its advice ("recreate it ... or reboot it"): the network was recreated since."""
    row = next(row for row in demo["page"].dom.find(id="attention").find_all("tr")[1:] if DEMO_FAILING in row.text)
    happened, to_do = (cell.text for cell in row.find_all("td")[3:5])
    assert happened.startswith("live patch failed: " + LIVEPATCH_FAILED) and " then recreated (legacy path): r-" in happened, happened
    assert happened.endswith("health afterwards: passed") and "reboot it" not in happened and "recreate it" not in happened, happened
    assert to_do.startswith("nothing to do now: it was recreated"), to_do
    markdown = (demo["output"] / "report.md").read_text()
    assert happened in markdown
    # Single routers have no redundant state (CloudStack says UNKNOWN for them); the pairs keep theirs.
    rows = [line.split(" | ") for line in markdown.splitlines() if line.startswith("| ") and " | router | " in line]
    assert rows and not [row[2] for row in rows if row[3] == "UNKNOWN"] and {row[3] for row in rows} >= {"PRIMARY", "BACKUP", ""}


# What the test measures in the laid-out page: per name cell of the groups' tables, whether its text runs on more
# than one line ("wrapped") or is cut ("cut"), written on the <html> element for the DOM Chromium hands back.
_MEASURE_NAMES = """
var wrapped=[],cut=[],cells=document.querySelectorAll('table.targets td:first-child');
cells.forEach(function(td){var range=document.createRange();range.selectNodeContents(td);
var lines=range.getClientRects(),box=range.getBoundingClientRect(),name=td.textContent.trim();
if(lines.length&&box.height>1.5*lines[0].height){wrapped.push(name);}if(td.scrollWidth>td.clientWidth+1){cut.push(name);}});
var root=document.documentElement;root.setAttribute('data-cells',cells.length);
root.setAttribute('data-wrapped',wrapped.join('|'));root.setAttribute('data-cut',cut.join('|'));
"""


def test_demo_names_never_wrap_at_1400_px(demo, tmp_path):
    """A new user at 1,400 px saw router names broken across lines ("r-9-VM → r-" / "49-VM")."""
    page = (demo["output"] / "report.html").read_text()
    # A copy that also runs the measuring script: without the page's Content-Security-Policy, which allows its own only.
    measured = tmp_path / "measured.html"
    measured.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", "<script>%s</script></body>" % _MEASURE_NAMES))
    root = render(measured, SCREENSHOTS / "demo-1400.png", width=1400).dom.find("html")
    rows = demo["page"].dom.find_all("tr", cls="unit") + demo["page"].dom.find_all("tr", cls="vm")
    assert int(root.attrs["data-cells"]) == len(rows) > 41
    assert root.attrs["data-wrapped"] == "" and root.attrs["data-cut"] == "", root.attrs


def test_demo_timeline_axis_labels_are_distinct_times(demo):
    for svg in demo["page"].dom.find_all("svg", cls="gantt"):
        labels = [text.text for text in svg.find_all("text") if re.fullmatch(r"\d\d:\d\d(:\d\d(\.\d)?)?", text.text)]
        assert len(labels) >= 2 and len(labels) == len(set(labels)) and labels == sorted(labels), labels


# ---------------------------------------------------------------------------------------------- the stopped run


def test_stopped_run_says_where_and_why_at_the_top(stopped):
    page = stopped["page"]
    _assert_self_contained(page)
    plan = read_plan(stopped["output"])
    journal = read_journal(stopped["output"])
    # Its live patch left routers the server refuses: the failure that stops the run is "refused by the server".
    failed = [entry for entry in journal if entry["status"] == "refused"]
    assert [entry["name"] for entry in failed] == [STOP_AT]
    group = next(batch["group"] for batch in plan["batches"] if batch["index"] == failed[0]["batch"])

    outcome = page.dom.find(id="outcome")
    assert "stopped" in outcome.classes
    assert outcome.text.startswith("Stopped in group %s (batch %d) because" % (group, failed[0]["batch"])), outcome.text
    assert "on_failure is stop" in outcome.text

    rows = page.dom.find(id="attention").find_all("tr")[1:]
    assert "refused" in rows[0].classes and STOP_AT in rows[0].text and LIVEPATCH_FAILED in rows[0].text
    assert "refused by the server" in rows[0].text and "reboot it" in rows[0].text
    # What never ran: one line per group (a run stopped at its canary can leave thousands), every name listed.
    not_run = [row for row in rows if "not_run" in row.classes]
    never_ran = {item["name"]: item["group"] for item in plan["items"] if item["path"] != "skip" and item["key"] not in {entry["key"] for entry in journal}}
    assert never_ran and len(not_run) == len(set(never_ran.values()))
    for row in not_run:
        group_cell = row.find_all("td")[2].text
        listed = row.find_all("td")[3].text.split(": ", 1)[1].split(", ")
        assert sorted(listed) == sorted(name for name, where in never_ran.items() if where == group_cell)
        assert "the run stopped before it" in row.text
    _assert_timelines(page, plan, journal)

    stats = stopped["run"].stats["acs_upgrade"]
    assert (stats["outcome"], stats["refused"], stats["refused_names"], stats["not_run"]) == ("stopped", 1, [STOP_AT], len(never_ran))
