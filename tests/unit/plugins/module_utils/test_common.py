# Copyright: Contributors to the acs.upgrade project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the connection settings come from: options, environment, cloudstack.ini."""

from __future__ import annotations

import importlib
import json

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils._common import client_from_params, cloudstack_argument_spec, connection_settings

NONE = dict.fromkeys(cloudstack_argument_spec())


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch, tmp_path):
    for name in ("CLOUDSTACK_CONFIG", "CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def write_ini(path, text):
    path.write_text(text)
    return path


def test_ini_file_completes_missing_options(monkeypatch, tmp_path):
    ini = write_ini(tmp_path / "cs.ini", "[cloudstack]\nendpoint = http://127.0.0.1:8080/client/api\nkey = k\nsecret = s\ntimeout = 30\nmethod = post\n")
    monkeypatch.setenv("CLOUDSTACK_CONFIG", str(ini))
    settings = connection_settings(dict(NONE, api_key="from-option"))
    assert settings["api_url"] == "http://127.0.0.1:8080/client/api"
    assert settings["api_key"] == "from-option"
    assert settings["api_secret"] == "s"
    client = client_from_params(dict(NONE, api_signature_version=3))
    assert (client.timeout, client.method) == (30, "post")


def test_empty_options_leave_the_settings_to_the_ini_file(monkeypatch, tmp_path):
    """What the playbooks pass without CLOUDSTACK_* in the environment: empty strings, which must not hide cloudstack.ini."""
    write_ini(tmp_path / "cloudstack.ini", "[cloudstack]\nendpoint = http://127.0.0.1:8080/client/api\nkey = k\nsecret = s\n")
    settings = connection_settings(dict(NONE, api_url="", api_key="", api_secret=""))
    assert (settings["api_url"], settings["api_key"], settings["api_secret"]) == ("http://127.0.0.1:8080/client/api", "k", "s")


def test_region_selects_the_section(monkeypatch, tmp_path):
    write_ini(
        tmp_path / "cloudstack.ini",
        "[cloudstack]\nendpoint = http://a/client/api\nkey = a\nsecret = a\n[lab]\nendpoint = http://b/client/api\nkey = b\nsecret = b\n",
    )
    assert connection_settings(dict(NONE, api_region="lab"))["api_url"] == "http://b/client/api"


def test_unknown_region_names_the_file_and_the_sections(tmp_path):
    write_ini(tmp_path / "cloudstack.ini", "[cloudstack]\nendpoint = http://a/client/api\nkey = a\nsecret = a\n")
    with pytest.raises(ValueError, match=r"section \[prod\].*cloudstack.ini.*cloudstack"):
        connection_settings(dict(NONE, api_region="prod"))


def test_missing_settings_say_where_to_set_them():
    with pytest.raises(ValueError, match="api_url, api_key, api_secret.*CLOUDSTACK_ENDPOINT"):
        connection_settings(NONE)


@pytest.mark.parametrize("value, expected", [(None, True), ("false", False), ("yes", True), ("/etc/ssl/ca.pem", "/etc/ssl/ca.pem")])
def test_verify_accepts_booleans_and_a_ca_bundle(value, expected):
    client = client_from_params(
        dict(NONE, api_url="http://127.0.0.1/client/api", api_key="k", api_secret="s", api_verify_ssl_cert=value, api_signature_version=2)
    )
    assert client.verify == expected
    assert client.signature_version == 2


def test_argument_spec_is_a_fresh_copy_and_hides_the_credentials():
    spec = cloudstack_argument_spec(zone={"type": "str"})
    spec["api_url"]["type"] = "changed"
    assert cloudstack_argument_spec()["api_url"]["type"] == "str"
    assert spec["api_secret"]["no_log"] is True
    # The key names the user whose secret signs the requests: it is no more shown than the secret (-vvvv prints arguments).
    assert spec["api_key"]["no_log"] is True
    assert "zone" in spec


@pytest.mark.parametrize("name", ["cs_fleet_info", "cs_livepatch", "cs_recreate", "cs_upgrade_stage", "cs_vr_health"])
def test_no_module_returns_the_key_in_its_arguments(run_module, name, tmp_path):
    module = importlib.import_module("ansible_collections.acs.upgrade.plugins.modules." + name)
    key = "kEy-of-the-night-shift-7f3a"
    # Nothing listens on port 9: whatever the module makes of these arguments, it fails, and its result carries its
    # arguments (the "invocation" that -vvvv shows).
    result = run_module(module, {"api_url": "http://127.0.0.1:9/client/api", "api_key": key, "api_secret": "s3cr3t", "api_timeout": 1})
    assert result["failed"]
    assert "invocation" in result
    assert key not in json.dumps(result)


@pytest.mark.parametrize("timeout", ["0", "-5", "soon", "nan"])
def test_a_timeout_from_the_ini_file_that_is_not_a_positive_number_is_refused(tmp_path, monkeypatch, timeout):
    ini = write_ini(tmp_path / "cs.ini", "[cloudstack]\nendpoint = http://127.0.0.1:8080/client/api\nkey = k\nsecret = s\ntimeout = %s\n" % timeout)
    monkeypatch.setenv("CLOUDSTACK_CONFIG", str(ini))
    with pytest.raises(ValueError, match="api_timeout must be"):
        client_from_params(NONE)


def test_credentials_in_a_url_are_redacted_from_messages():
    from ansible_collections.acs.upgrade.plugins.module_utils._api import redact

    text = redact("no answer from http://ops:hunter2@cloud.example.com:8080/client/api?apiKey=k&signature=x")
    assert "hunter2" not in text and "ops:" not in text and "signature" not in text
    assert "cloud.example.com:8080/client/api" in text
