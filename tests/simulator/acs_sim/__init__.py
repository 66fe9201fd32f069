# SPDX-License-Identifier: Apache-2.0
# Copyright: Contributors to the acs.upgrade project
"""A CloudStack management-server simulator for the tests, the demo and the benchmarks of acs.upgrade."""

from __future__ import annotations
