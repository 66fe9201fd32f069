# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The API subset (names, parameters, async flag, response fields) and the version rules that gate it."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SUBSET_PATH = Path(__file__).with_name("api_subset.json")

# Parameters every API accepts: they drive the transport, not the command.
GLOBAL_PARAMS = frozenset({"command", "response", "apikey", "signature", "signatureversion", "expires", "_"})


def version_tuple(version: str | None) -> tuple[int, ...]:
    if not version:
        return ()
    parts = []
    for piece in str(version).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def version_at_least(version: str, minimum: str | None) -> bool:
    if not minimum:
        return True
    have, want = version_tuple(version), version_tuple(minimum)
    width = max(len(have), len(want))
    return have + (0,) * (width - len(have)) >= want + (0,) * (width - len(want))


@lru_cache(maxsize=1)
def subset() -> dict[str, Any]:
    with SUBSET_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


def _present_key(api: dict[str, Any], ms_version: str) -> bool | None:
    """True/False when the subset names the release explicitly, None when it has to be decided by `since`."""
    tup = version_tuple(ms_version)
    listed = {version_tuple(v): v for v in api.get("present_in", [])}
    for width in (3, 2):
        for listed_tup in listed:
            if len(listed_tup) == width and tup[:width] == listed_tup:
                return True
    known_minors = {t[:2] for t in listed}
    # A release the subset was taken from but that lacks the API (4.16.x for patchSystemVm).
    all_minors = {version_tuple(v)[:2] for a in subset().values() for v in a.get("present_in", [])}
    if tup[:2] in all_minors and tup[:2] not in known_minors:
        return False
    return None


def api_available(name: str, ms_version: str) -> bool:
    api = subset().get(name)
    if api is None:
        return False
    explicit = _present_key(api, ms_version)
    if explicit is not None:
        return explicit
    return version_at_least(ms_version, api.get("since"))


def params_for(name: str, ms_version: str) -> dict[str, dict[str, Any]]:
    """The parameters `name` accepts on a management server of `ms_version`."""
    api = subset()[name]
    return {p: s for p, s in api["params"].items() if version_at_least(ms_version, s.get("since"))}


def response_fields(name: str) -> list[str]:
    return list(subset()[name]["response"])


def is_async(name: str) -> bool:
    return bool(subset()[name]["isasync"])
