# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""A CloudStack management-server simulator for the tests, the demo and the benchmarks of acs.upgrade."""

from __future__ import annotations

# The release of the acs-sim package (pyproject.toml reads it); it follows the collection's.
__version__ = "0.3.0"
