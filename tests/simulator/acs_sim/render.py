# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Formatting shared by the model and the API layer."""
from __future__ import annotations

import re
import time


def cs_date(epoch: float | None = None, utc_offset: int = 0) -> str:
    """CloudStack's date format, e.g. 2026-11-22T01:02:03+0000, in the server's zone (``utc_offset`` seconds east of UTC)."""
    moment = time.gmtime((time.time() if epoch is None else epoch) + utc_offset)
    sign, minutes = ("-" if utc_offset < 0 else "+"), abs(int(utc_offset)) // 60
    return time.strftime("%Y-%m-%dT%H:%M:%S", moment) + "%s%02d%02d" % (sign, minutes // 60, minutes % 60)


def utc_offset(value: object) -> int:
    """Seconds east of UTC of a zone written "+HH:MM", "-HHMM" or a number of hours, as a topology names the server's zone."""
    text = str(value).strip()
    match = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", text)
    if match:
        seconds = int(match.group(2)) * 3600 + int(match.group(3) or 0) * 60
        offset = -seconds if match.group(1) == "-" else seconds
    else:
        try:
            offset = int(round(float(text) * 3600))
        except ValueError:
            raise ValueError(f"managementserver.utc_offset {value!r} is not a zone offset: write it as +HH:MM or -HH:MM") from None
    if not -12 * 3600 <= offset <= 14 * 3600:
        raise ValueError(f"managementserver.utc_offset {value!r} is outside -12:00..+14:00")
    return offset


def drop_none(obj: dict) -> dict:
    """CloudStack's serializer leaves out null fields."""
    return {k: v for k, v in obj.items() if v is not None}
