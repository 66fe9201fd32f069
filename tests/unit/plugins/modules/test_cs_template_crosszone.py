# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""cs_template_crosszone in-process, without a database server: argument checks and clear failures."""

from __future__ import annotations

import json
import socket

from ansible_collections.acs.upgrade.plugins.modules import cs_template_crosszone as module


def closed_port() -> int:
    # Bound and closed again: nothing listens there for the moment the test needs.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_args(tmp_path, **extra):
    args = {"login_host": "127.0.0.1", "login_port": closed_port(), "login_user": "cloud", "login_password": "pw-never-shown", "connect_timeout": 2}
    args["config_file"] = str(tmp_path / "my.cnf")
    (tmp_path / "my.cnf").write_text("[client]\n")
    args.update(extra)
    return args


def test_remediated_needs_a_backup_file(run_module, tmp_path):
    result = run_module(module, base_args(tmp_path, state="remediated"))
    assert result["failed"]
    assert "backup_file" in result["msg"]


def test_unreachable_database_is_named_and_the_password_is_not(run_module, tmp_path):
    args = base_args(tmp_path)
    result = run_module(module, args)
    assert result["failed"]
    assert result["msg"].startswith(f"cannot connect to database 'cloud' on 127.0.0.1:{args['login_port']}")
    assert "pw-never-shown" not in json.dumps(result)


def test_missing_pymysql_is_reported(run_module, tmp_path, monkeypatch):
    monkeypatch.setattr(module, "HAS_PYMYSQL", False)
    result = run_module(module, base_args(tmp_path))
    assert result["failed"]
    assert "PyMySQL" in result["msg"]


def test_a_bad_backup_file_is_refused_before_connecting(run_module, tmp_path):
    backup = tmp_path / "backup.json"
    backup.write_text("not json")
    result = run_module(module, base_args(tmp_path, state="restored", backup_file=str(backup)))
    assert result["failed"]
    assert result["msg"].startswith(f"backup_file {backup} cannot be read as JSON")


def test_a_named_config_file_that_is_missing_is_refused(run_module, tmp_path):
    result = run_module(module, base_args(tmp_path, config_file=str(tmp_path / "absent.cnf")))
    assert result["failed"]
    assert result["msg"] == f"config_file {tmp_path / 'absent.cnf'} does not exist; create it or remove the option"
