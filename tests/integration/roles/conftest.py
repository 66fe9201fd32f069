# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Fixtures of these tests: the private MariaDB server and the `cloud` database factory (for crosszone.yml)."""

from __future__ import annotations

from mariadb.server import cloud_db, mariadb_server

# pytest finds fixtures by name in this module
__all__ = ["cloud_db", "mariadb_server"]
