"""Registry data as the issuer keeps it: normal form, fingerprint, ids, and when validity ends."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.b64 import b64url_encode
from shared.credential import HolderData


def new_credential_id() -> str:
    """The jti: 12 random bytes, 16 base64url characters, never starting with "-" (the id is
    typed as a command-line argument, where a leading "-" reads as an option)."""
    while True:
        jti = b64url_encode(secrets.token_bytes(12))
        if not jti.startswith("-"):
            return jti


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant after `day` in `tz`: valid_until is valid the whole of that day there."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def normalized_data(hd: HolderData) -> dict[str, Any]:
    """The registry data as stored and compared (what makes a re-import "unchanged")."""
    out: dict[str, Any] = {"type": hd.type, "registry_id": hd.registry_id,
                           "holder": hd.holder.to_dict(), "region": hd.region,
                           "valid_until": hd.valid_until.isoformat()}
    if hd.children is not None:
        out["children"] = hd.children
    if hd.category is not None:
        out["category"] = hd.category
    return out


def data_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def search_key(text: str) -> str:
    """How names are compared in the console's search: casefolded, ё as е, single spaces."""
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").split()).casefold()[:200]
