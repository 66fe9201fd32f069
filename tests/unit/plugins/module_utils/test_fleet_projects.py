# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Project-owned objects: listRouters/listVPCs show them with listall=true and projectid=-1
(AccountManagerImpl.buildACLSearchParameters, 4.18.0.0); listNetworks only in a read of its own with projectid=-1
(NetworkServiceImpl.searchForNetworks, 4.18.0.0); projectid is refused with account (431)."""

from __future__ import annotations

from ansible_collections.acs.upgrade.plugins.module_utils._fleet import list_networks, with_projects


class Recorder:
    def __init__(self, answers: dict[str, list[dict]]):
        self.answers = answers
        self.calls: list[tuple[str, dict]] = []

    def list(self, command: str, key: str, **params):
        self.calls.append((command, params))
        return list(self.answers.get(str(params.get("projectid")), []))


def test_with_projects_adds_projectid_to_listall_reads_only():
    assert with_projects({"listall": True, "zoneid": "z"}) == {"listall": True, "zoneid": "z", "projectid": -1}
    assert with_projects({"zoneid": "z"}) == {"zoneid": "z"}
    assert with_projects({"listall": True, "domainid": "d", "account": "acme"}) == {"listall": True, "domainid": "d", "account": "acme"}


def test_list_networks_reads_the_projects_networks_in_a_second_call():
    client = Recorder({"None": [{"id": "n1"}], "-1": [{"id": "p1"}]})
    assert [n["id"] for n in list_networks(client, listall=True, zoneid="z")] == ["n1", "p1"]
    assert client.calls == [("listNetworks", {"listall": True, "zoneid": "z"}), ("listNetworks", {"projectid": -1, "listall": True, "zoneid": "z"})]


def test_list_networks_of_one_account_is_one_call():
    client = Recorder({"None": [{"id": "n1"}]})
    assert [n["id"] for n in list_networks(client, listall=True, domainid="d", account="acme")] == ["n1"]
    assert len(client.calls) == 1
