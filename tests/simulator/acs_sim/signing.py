# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""CloudStack request signatures (v2 and v3), computed the way the management server's ApiServer does."""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def _java_url_encode(value: str) -> str:
    # java.net.URLEncoder keeps only alphanumerics and ".-*_"; the server then turns "+" into "%20".
    return quote(value, safe="*").replace("~", "%7E")


def string_to_sign(params: Mapping[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k.lower() != "signature")
    return "&".join(f"{k}={_java_url_encode(str(v))}" for k, v in pairs).lower()


def compute_signature(params: Mapping[str, str], secret: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign(params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def expires_in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime(EXPIRES_FORMAT)


def sign(params: Mapping[str, str], api_key: str, secret: str, version: int = 3, expires_seconds: float = 600) -> dict[str, str]:
    """Return a copy of `params` with apiKey, (signatureVersion, expires) and signature added."""
    signed = {k: str(v) for k, v in params.items()}
    signed["apiKey"] = api_key
    if version == 3:
        signed["signatureVersion"] = "3"
        signed.setdefault("expires", expires_in(expires_seconds))
    signed["signature"] = compute_signature(signed, secret)
    return signed


def parse_expires(value: str) -> datetime | None:
    try:
        parsed = datetime.strptime(value, EXPIRES_FORMAT)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def signature_matches(params: Mapping[str, str], secret: str, signature: str) -> bool:
    return hmac.compare_digest(compute_signature(params, secret), signature)
