# SPDX-License-Identifier: Apache-2.0
# Copyright: Contributors to the acs.upgrade project
"""The private MariaDB server (one per session) and the `cloud` database factory for these tests."""

from __future__ import annotations

from mariadb.server import cloud_db, mariadb_server

# pytest finds fixtures by name in this module
__all__ = ["cloud_db", "mariadb_server"]
