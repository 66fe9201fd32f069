# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The journal file: a line torn by an interrupted write is set aside, never built upon."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._state import EngineError, Journal

MS = "4.18.0.0"
TORN = '{"jobid": "j-7", "key": "network:n7", "status": "subm'


def entry(key, status, **more):
    return dict({"key": key, "name": key.split(":")[1], "ms_version": MS, "status": status, "path": "livepatch", "time": "2026-11-22T01:00:00+00:00"}, **more)


def line(data):
    return json.dumps(data, sort_keys=True) + "\n"


@pytest.fixture
def torn(tmp_path):
    """A journal whose last write was interrupted: one complete line, then part of the next one."""
    path = tmp_path / "journal.jsonl"
    path.write_text(line(entry("network:n1", "done")) + TORN)
    os.chmod(path, 0o600)
    return path


def test_an_append_after_a_torn_line_starts_on_a_line_of_its_own_and_the_torn_line_is_kept_aside(torn):
    journal = Journal(str(torn))
    for number in (2, 3, 4):
        journal.append(entry("network:n%d" % number, "done"))
    # Every line reads back, in order: a later read does not stop at "journal line N is not JSON".
    assert [item["key"] for item in journal.entries()] == ["network:n1", "network:n2", "network:n3", "network:n4"]
    assert TORN not in torn.read_text()
    aside = torn.with_name("journal.jsonl.torn")
    assert aside.read_text() == TORN + "\n"
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert journal.warnings == [
        "the journal %s ended in a line torn by an interrupted write: that line (%d bytes) was moved to %s; the 1 complete line(s) before it are kept"
        % (torn, len(TORN), aside)
    ]


def test_repair_sets_a_torn_line_aside_once_and_says_so(torn):
    journal = Journal(str(torn))
    warnings = journal.repair()
    assert len(warnings) == 1 and str(torn) in warnings[0] and str(torn) + ".torn" in warnings[0]
    assert torn.read_text() == line(entry("network:n1", "done"))
    assert journal.repair() == [] and torn.read_text() == line(entry("network:n1", "done"))
    # A second torn line later is added to the same file, on a line of its own.
    with open(torn, "a", encoding="utf-8") as handle:
        handle.write('{"key": "sys')
    assert len(journal.repair()) == 1
    assert torn.with_name("journal.jsonl.torn").read_text() == TORN + "\n" + '{"key": "sys' + "\n"


def test_a_last_entry_that_only_lacks_its_line_end_is_kept(tmp_path):
    """Cut between the entry and its newline: the entry is whole (the readers take it), so it is ended, not set aside."""
    path = tmp_path / "journal.jsonl"
    path.write_text(line(entry("network:n1", "done")) + json.dumps(entry("network:n2", "submitted", jobid="j-2")))
    journal = Journal(str(path))
    journal.append(entry("network:n2", "done", jobid="j-2"))
    assert [(item["key"], item["status"]) for item in journal.entries()] == [("network:n1", "done"), ("network:n2", "submitted"), ("network:n2", "done")]
    assert journal.warnings == [] and not path.with_name("journal.jsonl.torn").exists()


def test_a_new_journal_is_private(tmp_path):
    path = tmp_path / "state" / "journal.jsonl"
    Journal(str(path)).append(entry("network:n1", "done"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == line(entry("network:n1", "done"))
    assert Journal(str(path)).repair() == []


def test_appends_from_many_threads_each_take_a_whole_line_after_a_torn_one(torn):
    journal = Journal(str(torn))

    def write(thread):
        for number in range(50):
            journal.append(entry("network:t%d-%d" % (thread, number), "done", error="x" * 3000))

    threads = [threading.Thread(target=write, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [item["key"] for item in journal.entries()]
    assert len(keys) == 1 + 8 * 50 and len(set(keys)) == len(keys)
    assert len(journal.warnings) == 1 and torn.with_name("journal.jsonl.torn").read_text() == TORN + "\n"


def test_a_wrong_type_names_the_file_the_line_and_what_to_do(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(line(entry("network:n1", "done")) + line(entry("network:n2", "done", duration="x")))
    with pytest.raises(EngineError) as error:
        Journal(str(path)).entries()
    assert str(error.value) == (
        "cannot read the journal %s: journal line 2: duration is 'x', not a number of seconds; fix or remove that line" % path
    )
