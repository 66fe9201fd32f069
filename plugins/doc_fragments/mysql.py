# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations


class ModuleDocFragment:
    # Options of plugins/module_utils/_mysql.py, named like community.mysql's so existing inventories and vaults fit.
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host of the CloudStack database server.
      - When neither this option nor O(login_unix_socket) nor a C(host) in O(config_file) is set, C(localhost) is used.
    type: str
  login_port:
    description:
      - TCP port of the database server.
      - When neither this option nor a C(port) in O(config_file) is set, C(3306) is used.
    type: int
  login_user:
    description:
      - Database user; it needs C(SELECT) and C(UPDATE) on the CloudStack database.
      - When not set, the C(user) of O(config_file) is used.
    type: str
  login_password:
    description:
      - Password of O(login_user). When not set, the C(password) of O(config_file) is used.
    type: str
  login_unix_socket:
    description:
      - Unix socket of a local database server; used instead of O(login_host) and O(login_port).
    type: str
  login_db:
    description:
      - Name of the CloudStack database.
    type: str
    default: cloud
  config_file:
    description:
      - MySQL option file whose C([client]) section gives defaults for the connection (user, password, host, port, socket).
      - Options given to the module win over the file.
      - The default file is ignored when it does not exist; a file named explicitly must exist.
    type: path
    default: ~/.my.cnf
  connect_timeout:
    description:
      - Seconds to wait for the connection to the database server.
    type: int
    default: 30
  ca_cert:
    description:
      - CA certificate that signed the server's certificate; setting it turns TLS on.
    type: path
    aliases: [ssl_ca]
  client_cert:
    description:
      - Client certificate for TLS client authentication.
    type: path
    aliases: [ssl_cert]
  client_key:
    description:
      - Private key of O(client_cert).
    type: path
    aliases: [ssl_key]
  check_hostname:
    description:
      - Whether the server's TLS certificate must match O(login_host).
      - When not set, PyMySQL's default applies (checked when O(ca_cert) is set).
    type: bool
requirements:
  - PyMySQL (on the host that runs the module)
"""
