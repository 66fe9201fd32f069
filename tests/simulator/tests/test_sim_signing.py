# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Signatures v2/v3 and credentials, checked the way the management server checks them."""
from __future__ import annotations

import requests

from acs_sim.signing import compute_signature, expires_in, sign

BAD = "unable to verify user credentials and/or request signature"


def test_domain_test_vector():
    params = {"apiKey": "foo", "command": "listVirtualMachines", "listall": "true", "response": "json"}
    assert compute_signature(params, "bar") == "B0d6hBsZTcFVCiioSxzwKA9Pke8="


def test_v2_and_v3_signatures_are_accepted(sim):
    for version in (2, 3):
        response = sim.client(signature_version=version).raw("listCapabilities")
        assert response.status_code == 200
        assert response.json()["listcapabilitiesresponse"]["capability"]["cloudstackversion"] == "4.18.0.0"


def test_post_form_body_is_accepted(admin):
    response = admin.raw("listZones", method="POST")
    assert response.status_code == 200
    assert response.json()["listzonesresponse"]["count"] == 2


def test_values_with_spaces_and_reserved_characters_verify(admin):
    response = admin.raw("listRouters", listall=True, keyword="no such router: a+b/c ~x")
    assert response.status_code == 200
    assert response.json() == {"listroutersresponse": {}}


def _expect_401(response: requests.Response, command: str) -> None:
    assert response.status_code == 401
    assert response.json() == {f"{command.lower()}response": {"uuidList": [], "errorcode": 401, "errortext": BAD}}


def test_bad_signature_is_401(sim):
    signed = sign({"command": "listZones", "response": "json"}, sim.admin_key, sim.admin_secret)
    signed["signature"] = compute_signature(signed, "not-the-secret")
    _expect_401(requests.get(sim.url, params=signed, timeout=5), "listZones")


def test_tampered_parameter_is_401(sim):
    signed = sign({"command": "listRouters", "response": "json", "listall": "true"}, sim.admin_key, sim.admin_secret)
    signed["listall"] = "false"
    _expect_401(requests.get(sim.url, params=signed, timeout=5), "listRouters")


def test_unknown_api_key_is_401(sim):
    signed = sign({"command": "listZones", "response": "json"}, "nobody", "secret")
    _expect_401(requests.get(sim.url, params=signed, timeout=5), "listZones")


def test_missing_signature_is_401(sim):
    _expect_401(requests.get(sim.url, params={"command": "listZones", "response": "json", "apiKey": sim.admin_key}, timeout=5), "listZones")


def test_expired_v3_request_is_401(sim):
    signed = sign({"command": "listZones", "response": "json", "expires": expires_in(-5)}, sim.admin_key, sim.admin_secret)
    _expect_401(requests.get(sim.url, params=signed, timeout=5), "listZones")


def test_v3_without_expires_is_401(sim):
    params = {"command": "listZones", "response": "json", "apiKey": sim.admin_key, "signatureVersion": "3"}
    params["signature"] = compute_signature(params, sim.admin_secret)
    _expect_401(requests.get(sim.url, params=params, timeout=5), "listZones")


def test_v3_with_unparsable_expires_is_401(sim):
    signed = sign({"command": "listZones", "response": "json", "expires": "tomorrow"}, sim.admin_key, sim.admin_secret)
    _expect_401(requests.get(sim.url, params=signed, timeout=5), "listZones")


def test_expires_with_offset_in_the_future_is_accepted(sim):
    signed = sign({"command": "listZones", "response": "json", "expires": "2999-01-01T00:00:00+0100"}, sim.admin_key, sim.admin_secret)
    assert requests.get(sim.url, params=signed, timeout=5).status_code == 200


def test_calls_log_never_holds_credentials(sim, admin):
    admin.call("listZones")
    call = sim.calls("listZones")[0]
    assert call["params"] == {}
    assert call["signatureversion"] == "3" and call["key"] == "admin" and call["status"] == 200
    assert sim.admin_secret not in str(sim.calls()) and sim.admin_key not in str(sim.calls())
