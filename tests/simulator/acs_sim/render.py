# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Formatting shared by the model and the API layer."""
from __future__ import annotations

import time


def cs_date(epoch: float | None = None) -> str:
    """CloudStack's date format, e.g. 2026-11-22T01:02:03+0000."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(time.time() if epoch is None else epoch))


def drop_none(obj: dict) -> dict:
    """CloudStack's serializer leaves out null fields."""
    return {k: v for k, v in obj.items() if v is not None}
