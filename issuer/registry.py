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


_JTI_BYTES = 12
# Built once: json.dumps with options builds an encoder per call (an import makes 435,000).
_DATA_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def new_credential_id() -> str:
    """The jti: 12 random bytes, 16 base64url characters, never starting with "-" (the id is
    typed as a command-line argument, where a leading "-" reads as an option)."""
    return new_credential_ids(1)[0]


def new_credential_ids(count: int) -> list[str]:
    """`count` ids as `new_credential_id` makes them, from one read of the system's random
    source per round (a read per id costs an import more than the rest of making it)."""
    ids: list[str] = []
    while len(ids) < count:
        pool = secrets.token_bytes(_JTI_BYTES * (count - len(ids)))
        for start in range(0, len(pool), _JTI_BYTES):
            jti = b64url_encode(pool[start:start + _JTI_BYTES])
            if not jti.startswith("-"):
                ids.append(jti)
    return ids


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


def data_text(data: dict[str, Any]) -> str:
    """The registry data as the credentials table keeps it (`data`)."""
    return _DATA_JSON.encode(data)


def data_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL_JSON.encode(data).encode("utf-8")).hexdigest()


def search_key(text: str) -> str:
    """How names are compared in the console's search: casefolded, ё as е, single spaces."""
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").split()).casefold()[:200]
