"""The local trust cache: one file, `cache.json`, holding the issuers' signed originals.

    {"format": 1, "synced_at": <epoch>,
     "issuers": {<iss>: {"source": <URL or directory>, "metadata": {...IssuerMetadata...},
                         "jwks": {"keys": [...]}, "status_lists": {<uri>: <compact JWS>},
                         "entitlements": {...EntitlementCatalogue...}  (only if published)}}}

The file is written atomically (old or new, never a mix) and re-verified on every load: each
status list token must carry a valid signature by the keys of the issuer it is stored under, so
a corrupted or hand-edited list is refused rather than trusted. Metadata and JWKS are not
signed; they are as trustworthy as the sources the operator synced from, and so are the
entitlement rules.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import KeyError_, SocpassError, TokenError
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.keys import StaticKeyResolver, VerificationKey, keys_from_jwks
from shared.publication import EntitlementCatalogue, IssuerMetadata, PublicationError
from shared.statuslist import StatusListToken, verify_status_list

log = logging.getLogger("socpass.verifier")

CACHE_FILE = "cache.json"
FORMAT = 1
_ISSUER_MEMBERS = frozenset({"source", "metadata", "jwks", "status_lists"})
_OPTIONAL_MEMBERS = frozenset({"entitlements"})


class CacheError(SocpassError):
    """The local cache cannot be read or does not verify; it is refused as a whole."""

    code = "cache_refused"


@dataclass(frozen=True)
class CachedIssuer:
    iss: str
    source: str
    metadata: IssuerMetadata
    keys: tuple[VerificationKey, ...]
    status_lists: Mapping[str, StatusListToken]
    document: dict[str, Any]  # the stored originals, written back unchanged
    entitlements: EntitlementCatalogue | None = None  # the issuer's published rules, if any


@dataclass(frozen=True)
class StatusEntry:
    """One credential's entry and the verified list it was read from (for freshness checks)."""

    value: int
    status_list: StatusListToken


class TrustCache:
    """Verified cache contents in memory; also the KeyResolver for credentials, by (iss, kid)."""

    def __init__(self, issuers: Mapping[str, CachedIssuer], synced_at: int | None, *,
                 error: str | None = None) -> None:
        self.issuers: dict[str, CachedIssuer] = dict(issuers)
        self.synced_at = synced_at
        self.error = error  # why the file on disk was refused (then the cache is empty)
        self._resolver = StaticKeyResolver({iss: list(i.keys) for iss, i in self.issuers.items()})
        self._lists: dict[str, StatusListToken] = {}
        for issuer in self.issuers.values():
            for uri, slt in issuer.status_lists.items():
                if uri in self._lists:
                    raise CacheError(f"status list {uri!r} is published by two issuers")
                self._lists[uri] = slt
        self.newest_iat: int | None = max((s.issued_at for s in self._lists.values()), default=None)

    @classmethod
    def empty(cls, error: str | None = None) -> "TrustCache":
        return cls({}, None, error=error)

    # KeyResolver protocol ---------------------------------------------------------------------
    def has_issuer(self, iss: str) -> bool:
        return self._resolver.has_issuer(iss)

    def key(self, iss: str, kid: str) -> VerificationKey | None:
        return self._resolver.key(iss, kid)

    # lookups ----------------------------------------------------------------------------------
    def issuer(self, iss: str) -> CachedIssuer | None:
        return self.issuers.get(iss)

    def status_list(self, uri: str) -> StatusListToken | None:
        return self._lists.get(uri)

    def status(self, uri: str, idx: int) -> StatusEntry | None:
        """The entry at (uri, idx); None when the list is not cached or idx is out of its range."""
        slt = self._lists.get(uri)
        if slt is None:
            return None
        try:
            return StatusEntry(slt.status_list.get(idx), slt)
        except IndexError:
            return None

    # document ---------------------------------------------------------------------------------
    def to_document(self) -> dict[str, Any]:
        return {"format": FORMAT, "synced_at": self.synced_at,
                "issuers": {iss: i.document for iss, i in self.issuers.items()}}

    @classmethod
    def from_document(cls, doc: Any) -> "TrustCache":
        """Verify a cache document end to end; any fault raises CacheError naming where."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CacheError(f"not a verifier cache of format {FORMAT}")
        synced_at, issuers = doc.get("synced_at"), doc.get("issuers")
        if type(synced_at) is not int or synced_at < 0:
            raise CacheError("synced_at missing")
        if not isinstance(issuers, dict):
            raise CacheError("issuers missing")
        return cls({iss: verify_issuer(iss, entry) for iss, entry in issuers.items()}, synced_at)


def verify_issuer(iss: str, entry: Any) -> CachedIssuer:
    """Check one issuer's stored originals: metadata, keys, and every status list's signature."""
    where = f"issuer {iss!r}"
    if not isinstance(entry, dict) or not _ISSUER_MEMBERS <= set(entry) \
            or not set(entry) <= _ISSUER_MEMBERS | _OPTIONAL_MEMBERS:
        raise CacheError(f"{where}: entry must have exactly {', '.join(sorted(_ISSUER_MEMBERS))}"
                         f" (and optionally {', '.join(sorted(_OPTIONAL_MEMBERS))})")
    source, lists = entry["source"], entry["status_lists"]
    if not isinstance(source, str) or not isinstance(lists, dict):
        raise CacheError(f"{where}: source or status_lists has the wrong type")
    try:
        metadata = IssuerMetadata.from_json(entry["metadata"])
        keys = keys_from_jwks(iss, entry["jwks"])
        rules = (EntitlementCatalogue.from_json(entry["entitlements"])
                 if entry.get("entitlements") is not None else None)
    except (PublicationError, KeyError_) as err:
        raise CacheError(f"{where}: {err}") from err
    if metadata.iss != iss:
        raise CacheError(f"{where}: metadata names another issuer {metadata.iss!r}")
    if rules is not None and rules.iss != iss:
        raise CacheError(f"{where}: entitlement rules name another issuer {rules.iss!r}")
    kids = [k.kid for k in keys]
    if not kids or len(set(kids)) != len(kids):
        raise CacheError(f"{where}: the JWKS must hold at least one key and no kid twice")
    if set(lists) != set(metadata.status_lists):
        raise CacheError(f"{where}: cached status lists differ from those its metadata lists")
    resolver = StaticKeyResolver({iss: keys})  # this issuer's keys only
    verified: dict[str, StatusListToken] = {}
    for uri, token in lists.items():
        if not isinstance(token, str):
            raise CacheError(f"{where}: status list {uri!r} is not a token")
        try:
            slt = verify_status_list(token, resolver, uri=uri)
        except TokenError as err:
            raise CacheError(f"{where}: status list {uri!r} refused: {err.description}") from err
        if slt.issuer != iss:
            raise CacheError(f"{where}: status list {uri!r} is signed for {slt.issuer!r}")
        verified[uri] = slt
    return CachedIssuer(iss=iss, source=source, metadata=metadata, keys=tuple(keys),
                        status_lists=verified, document=entry, entitlements=rules)


def cache_path(cache_dir: Path | str) -> Path:
    return Path(cache_dir) / CACHE_FILE


def load(cache_dir: Path | str) -> TrustCache:
    """Read and verify cache.json; a missing file is an empty cache, a bad one raises CacheError."""
    path = cache_path(cache_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return TrustCache.empty()
    except OSError as err:
        raise CacheError(f"{path}: cannot read: {err.strerror}") from err
    try:
        doc = loads_strict(data)
    except JSONFormatError as err:
        raise CacheError(f"{path}: {err}") from err
    try:
        return TrustCache.from_document(doc)
    except CacheError as err:
        raise CacheError(f"{path}: {err.description}") from err


def load_or_refuse(cache_dir: Path | str) -> TrustCache:
    """Like load, but a refused cache becomes an empty one that remembers why (never raises)."""
    try:
        return load(cache_dir)
    except CacheError as err:
        log.warning("verifier cache refused, every check will be rejected: %s", err.description)
        return TrustCache.empty(error=err.description)


def save(cache_dir: Path | str, document: dict[str, Any]) -> Path:
    """Write cache.json atomically: a crash at any point leaves the old file or the new one."""
    directory = Path(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    path = cache_path(directory)
    fd, tmp = tempfile.mkstemp(prefix=".cache-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # public data; a server running as another user must read it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)  # make the rename itself durable
    return path


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # platforms that cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class CacheHolder:
    """The cache as a server sees it: loaded once, reloaded when cache.json is replaced."""

    def __init__(self, cache_dir: Path | str) -> None:
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._cache: TrustCache | None = None

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = cache_path(self.cache_dir).stat()
        except OSError:
            return None
        # os.replace gives a new inode, so a sync within one mtime tick is still noticed.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> TrustCache:
        stamp = self._current_stamp()
        with self._lock:
            if self._cache is None or stamp != self._stamp:
                self._cache = load_or_refuse(self.cache_dir)
                self._stamp = stamp
            return self._cache
