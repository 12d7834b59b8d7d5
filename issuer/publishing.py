"""Signed status list tokens (with a small in-memory cache) and atomic static publication."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from issuer.storage.models import StatusListRow
from shared.files import PUBLIC, write_atomically
from shared.keys import PrivateKey
from shared.publication import ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH, STATUS_PREFIX
from shared.statuslist import REVOKED, SUSPENDED, StatusList, sign_status_list

__all__ = ["ENTITLEMENTS_PATH", "JWKS_PATH", "METADATA_PATH", "StatusTokenCache",
           "entitlements_json", "json_bytes", "reuse_window", "sign_list", "status_path",
           "write_files"]

_VALUES = {"revoked": REVOKED, "suspended": SUSPENDED}
MAX_REUSE_SECONDS = 60


def status_path(list_id: str) -> str:
    return STATUS_PREFIX + list_id


def reuse_window(ttl: int) -> int:
    """How long a signed list is served again unchanged: short, so `iat` stays recent."""
    return max(1, min(MAX_REUSE_SECONDS, ttl // 2))


def sign_list(row: StatusListRow, entries: Iterable[tuple[int, str]], *, issuer: str,
              key: PrivateKey, kid: str, now: datetime, ttl: int, lifetime: int) -> str:
    status_list = StatusList(row.size, row.bits)
    for idx, state in entries:
        if state in _VALUES:
            status_list.set(idx, _VALUES[state])
    iat = int(now.timestamp())
    return sign_status_list(status_list, uri=row.uri, issuer=issuer, issued_at=iat,
                            expires_at=iat + lifetime, ttl=ttl, key=key, kid=kid)


@dataclass(frozen=True)
class _Cached:
    version: int
    kid: str
    issued_at: datetime
    token: str


class StatusTokenCache:
    """Signed lists by list id, valid while the list's `version` and the active key are unchanged.

    Each process has its own cache; the version lives in the database, so a revocation made by
    the CLI is seen by the web service at its next request.
    """

    def __init__(self) -> None:
        self._items: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def get(self, list_id: str, *, version: int, kid: str, now: datetime, max_age: int) -> str | None:
        with self._lock:
            item = self._items.get(list_id)
        if item is None or item.version != version or item.kid != kid:
            return None
        age = (now - item.issued_at).total_seconds()
        return item.token if 0 <= age < max_age else None

    def put(self, list_id: str, *, version: int, kid: str, issued_at: datetime, token: str) -> None:
        with self._lock:
            self._items[list_id] = _Cached(version, kid, issued_at, token)


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def entitlements_json(iss: str) -> dict[str, Any]:
    """The published entitlement rules (ENTITLEMENTS_PATH) of issuer `iss`."""
    from issuer.entitlements import catalogue

    return catalogue(iss).to_json()


def write_files(root: Path, files: dict[str, bytes]) -> list[str]:
    """Write each file atomically, readable by any web server that serves `root`."""
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, content, mode=PUBLIC)
        written.append(rel)
    return written
