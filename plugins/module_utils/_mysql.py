# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Connection to the CloudStack database with PyMySQL, with options named like community.mysql's."""

from __future__ import annotations

import inspect
import os
import traceback
from typing import Any

try:
    import pymysql

    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR: str | None = None
except ImportError:
    pymysql = None
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()

DEFAULT_CONFIG_FILE = "~/.my.cnf"


def mysql_argument_spec() -> dict[str, dict[str, Any]]:
    """Options of the acs.upgrade.mysql doc fragment; a new dict each call so modules may change it."""
    return {
        "login_host": {"type": "str"},
        "login_port": {"type": "int"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "login_unix_socket": {"type": "str"},
        "login_db": {"type": "str", "default": "cloud"},
        "config_file": {"type": "path", "default": DEFAULT_CONFIG_FILE},
        "connect_timeout": {"type": "int", "default": 30},
        "ca_cert": {"type": "path", "aliases": ["ssl_ca"]},
        "client_cert": {"type": "path", "aliases": ["ssl_cert"]},
        "client_key": {"type": "path", "aliases": ["ssl_key"]},
        "check_hostname": {"type": "bool"},
    }


class DatabaseConnectError(Exception):
    """The database could not be reached; the message names the target, never the password."""


def _connect_parameter_names() -> tuple[str, str]:
    # PyMySQL 1.0 renamed passwd/db to password/database; older releases only know the old names.
    parameters = inspect.signature(pymysql.connections.Connection.__init__).parameters
    password = "password" if "password" in parameters else "passwd"
    database = "database" if "database" in parameters else "db"
    return password, database


def describe_target(params: dict[str, Any]) -> str:
    """Where the module connects to, for messages (no credentials)."""
    if params.get("login_unix_socket"):
        where = f"socket {params['login_unix_socket']}"
    else:
        where = f"{params.get('login_host') or 'localhost'}:{params.get('login_port') or 3306}"
    return f"database {params.get('login_db')!r} on {where}"


def connect_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """PyMySQL keyword arguments from module parameters (explicit options win over config_file values)."""
    password_name, database_name = _connect_parameter_names()
    kwargs: dict[str, Any] = {
        database_name: params["login_db"],
        "connect_timeout": params["connect_timeout"],
        "autocommit": False,
        "charset": "utf8mb4",
    }
    config_file = params.get("config_file")
    if config_file:
        config_path = os.path.expanduser(config_file)
        if os.path.exists(config_path):
            kwargs["read_default_file"] = config_path
        elif config_path != os.path.expanduser(DEFAULT_CONFIG_FILE):
            raise DatabaseConnectError(f"config_file {config_file} does not exist; create it or remove the option")
    if params.get("login_user") is not None:
        kwargs["user"] = params["login_user"]
    if params.get("login_password") is not None:
        kwargs[password_name] = params["login_password"]
    if params.get("login_unix_socket"):
        kwargs["unix_socket"] = params["login_unix_socket"]
    elif params.get("login_host"):
        kwargs["host"] = params["login_host"]
    if params.get("login_port"):
        kwargs["port"] = params["login_port"]
    ssl: dict[str, Any] = {}
    for option, key in (("ca_cert", "ca"), ("client_cert", "cert"), ("client_key", "key")):
        if params.get(option):
            ssl[key] = params[option]
    if params.get("check_hostname") is not None:
        ssl["check_hostname"] = params["check_hostname"]
    if ssl:
        kwargs["ssl"] = ssl
    return kwargs


def connect(params: dict[str, Any]) -> Any:
    """Open a connection (autocommit off); raise DatabaseConnectError with a message safe to show."""
    kwargs = connect_kwargs(params)
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.MySQLError as exc:
        raise DatabaseConnectError(f"cannot connect to {describe_target(params)}: {exc}; check the login_* options or config_file") from None
    except OSError as exc:
        raise DatabaseConnectError(f"cannot connect to {describe_target(params)}: {exc}") from None
