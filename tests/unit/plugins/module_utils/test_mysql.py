# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""PyMySQL arguments built from the community.mysql-like options."""

from __future__ import annotations

import pytest

from ansible_collections.acs.upgrade.plugins.module_utils import _mysql


def params(**overrides):
    values = {name: spec.get("default") for name, spec in _mysql.mysql_argument_spec().items()}
    values.update(overrides)
    return values


def test_tcp_login_with_tls():
    kwargs = _mysql.connect_kwargs(
        params(login_host="db.example.com", login_port=3307, login_user="cloud", login_password="s3cret", ca_cert="/ca.pem", check_hostname=False)
    )
    assert kwargs["host"] == "db.example.com"
    assert kwargs["port"] == 3307
    assert kwargs["user"] == "cloud"
    assert kwargs["password"] == "s3cret"
    assert kwargs["database"] == "cloud"
    assert kwargs["ssl"] == {"ca": "/ca.pem", "check_hostname": False}
    assert kwargs["autocommit"] is False


def test_socket_wins_over_host_and_unset_options_are_left_to_the_config_file(tmp_path):
    cnf = tmp_path / "my.cnf"
    cnf.write_text("[client]\nuser=cloud\npassword=from-file\nport=3310\n")
    kwargs = _mysql.connect_kwargs(params(login_host="ignored", login_unix_socket="/run/mysqld/mysqld.sock", config_file=str(cnf)))
    assert kwargs["unix_socket"] == "/run/mysqld/mysqld.sock"
    assert "host" not in kwargs
    assert kwargs["read_default_file"] == str(cnf)
    assert not {"user", "password", "port", "ssl"} & set(kwargs)


def test_a_named_config_file_must_exist_but_the_default_may_be_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert "read_default_file" not in _mysql.connect_kwargs(params(config_file=str(tmp_path / ".my.cnf")))
    with pytest.raises(_mysql.DatabaseConnectError, match="config_file /nowhere/my.cnf does not exist"):
        _mysql.connect_kwargs(params(config_file="/nowhere/my.cnf"))


def test_target_description_has_no_credentials():
    text = _mysql.describe_target(params(login_host="db", login_port=3306, login_user="u", login_password="pw"))
    assert text == "database 'cloud' on db:3306"
