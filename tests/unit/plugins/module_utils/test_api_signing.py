# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Signing, version rules and redaction: the parts of the client that need no server."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._api import (
    CloudStackClient,
    CloudStackError,
    parse_version,
    redact,
    sign,
    version_at_least,
)


def test_signature_matches_the_documented_test_vector():
    params = {"apiKey": "foo", "command": "listVirtualMachines", "listall": "true", "response": "json"}
    assert sign(params, "bar") == "B0d6hBsZTcFVCiioSxzwKA9Pke8="


def test_signature_ignores_an_existing_signature_and_parameter_order():
    params = {"response": "json", "listall": "true", "command": "listVirtualMachines", "apiKey": "foo", "signature": "stale"}
    assert sign(params, "bar") == "B0d6hBsZTcFVCiioSxzwKA9Pke8="


def test_signature_encodes_spaces_as_percent_20_like_cloudstack():
    # CloudStack encodes values with URLEncoder and turns '+' into '%20' before lower-casing.
    with_space = sign({"apiKey": "foo", "command": "listRouters", "keyword": "a b"}, "bar")
    with_percent = sign({"apiKey": "foo", "command": "listRouters", "keyword": "a%20b"}, "bar")
    with_plus = sign({"apiKey": "foo", "command": "listRouters", "keyword": "a+b"}, "bar")
    assert with_space != with_percent
    assert with_space != with_plus


def test_v3_request_carries_signatureversion_and_a_future_expiry():
    client = CloudStackClient("http://127.0.0.1:1/client/api", "key", "secret", signature_version=3, expires_seconds=300)
    query = client._signed("listZones", {})
    assert query["signatureversion"] == "3"
    assert query["expires"].endswith("+0000")
    assert query["signature"] == sign({k: v for k, v in query.items() if k != "signature"}, "secret")


def test_v2_request_has_no_expiry():
    client = CloudStackClient("http://127.0.0.1:1/client/api", "key", "secret", signature_version=2)
    query = client._signed("listZones", {"available": True})
    assert "expires" not in query and "signatureversion" not in query
    assert query["available"] == "true"


@pytest.mark.parametrize(
    "version, minimum, expected",
    [("4.18.0.0", "4.17.0", True), ("4.17", "4.17.0", True), ("4.16.1.0", "4.17.0", False), ("4.9.3", "4.14", False), ("4.20.0.0-SNAPSHOT", "4.17", True)],
)
def test_version_at_least(version, minimum, expected):
    assert version_at_least(version, minimum) is expected


def test_parse_version_rejects_garbage():
    with pytest.raises(ValueError, match="not a CloudStack version"):
        parse_version("unknown")


def test_redact_removes_secret_and_query_strings():
    text = "GET http://127.0.0.1:8080/client/api?apiKey=k&signature=abc%2B failed; secret s3cr3t leaked"
    cleaned = redact(text, "s3cr3t")
    assert "signature" not in cleaned and "s3cr3t" not in cleaned and "apiKey" not in cleaned
    assert "http://127.0.0.1:8080/client/api" in cleaned


def test_redact_keeps_words_that_contain_a_short_secret():
    # A secret is masked where it stands as a token; inside another word it is not the secret, and cutting it
    # there ("Caused b<redacted>") mangled the message of an unreachable API.
    cleaned = redact("(Caused by NewConnectionError: Connection refused); secretkey=y, 'y'", "y")
    assert "(Caused by NewConnectionError: Connection refused)" in cleaned
    assert cleaned.endswith("secretkey=<redacted>, '<redacted>'")


def test_redact_leaves_question_marks_and_ampersands_of_prose_alone():
    cleaned = redact("is the clock right? check NTP & the secret; GET /client/api?command=listZones&signature=abc failed")
    assert cleaned == "is the clock right? check NTP & the secret; GET /client/api?<redacted> failed"


def test_unreachable_api_error_names_the_cause_in_whole_words():
    # Port 9 on the loopback: nothing listens, the connection is refused.
    client = CloudStackClient("http://127.0.0.1:9/client/api", "k", "y", timeout=2, max_retries=0)
    with pytest.raises(CloudStackError) as caught:
        client.call("listZones")
    text = str(caught.value)
    assert "(Caused by " in text and "Connection refused" in text and "<redacted>" in text  # the signed query
    assert "signature" not in text


def test_error_message_names_command_status_and_codes():
    error = CloudStackError("restartNetwork", 431, "Unable to find network", 431, 4350)
    assert str(error) == "CloudStack API restartNetwork failed (HTTP 431, errorcode 431, cserrorcode 4350): Unable to find network"


def test_client_refuses_incomplete_settings():
    with pytest.raises(ValueError, match="api_url, api_key and api_secret"):
        CloudStackClient("", "key", "secret")
    with pytest.raises(ValueError, match="get or post"):
        CloudStackClient("http://127.0.0.1:1/client/api", "key", "secret", method="put")


def test_redact_removes_credentials_named_outside_a_query_string():
    """An error text that quotes parameters ("api_key=...", "signature: ...") keeps its words, never the values."""
    text = 'proxy refused: api_key=AK1 apiKey: AK2 secret_key=SK3 signature=SG4, password="PW5"; token: TK6 (HTTP 407)'
    cleaned = redact(text)
    for secret in ("AK1", "AK2", "SK3", "SG4", "PW5", "TK6"):
        assert secret not in cleaned, cleaned
    assert cleaned.startswith("proxy refused: api_key=<redacted> apiKey: <redacted>") and cleaned.endswith("(HTTP 407)")
