"""The local trust cache: one file, `cache.json`, holding the issuers' signed originals.

    {"format": 1, "synced_at": <epoch>,
     "issuers": {<iss>: {"source": <URL or directory>, "metadata": {...IssuerMetadata...},
                         "jwks": {"keys": [...]}, "status_lists": {<uri>: <compact JWS>},
                         "entitlements": {...EntitlementCatalogue...}  (only if published)}},
     "trust_list": <compact JWS>,  (federated sync only: the federal list, signed by a pinned root)
     "federation": {"source": ..., "via": "trust_list" | "bundle", "iat", "exp",
                    "failed": {<iss>: <reason>}},  (federated sync only)
     "mac": <base64url HMAC-SHA256 of everything else, with this device's secret>}

The file is written atomically (old or new, never a mix) and re-verified on every load: each
status list token must carry a valid signature by the keys of the issuer it is stored under, so
a corrupted or hand-edited list is refused rather than trusted. Metadata and JWKS are not
signed by their issuers, so two more checks protect them:
- a MAC over the whole document with a per-device secret kept next to it in `device.key`
  (0600, created by the first sync): a file edited by hand, or copied from another device, is
  refused on load. It stops an edit by anyone who cannot read the secret (the server may run as
  another user than the one allowed to edit the cache), not the owner of the secret itself;
- in federated mode, the cached trust list is re-verified against the pinned roots and every
  cached key's RFC 7638 thumbprint must be one the list names for its issuer, so even the
  secret's owner cannot slip a key in.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import KeyError_, SocpassError, TokenError
from shared.files import create_private, write_atomically
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.keys import (KeyResolver, StaticKeyResolver, VerificationKey, keys_from_jwks,
                         public_jwk)
from shared.publication import EntitlementCatalogue, IssuerMetadata, PublicationError
from shared.statuslist import StatusListToken, verify_status_list
from shared.trustlist import ACTIVE, TrustList, verify_trust_list

log = logging.getLogger("socpass.verifier")

CACHE_FILE = "cache.json"
DEVICE_KEY_FILE = "device.key"
FORMAT = 1
_FEDERATION_MEMBERS = frozenset({"source", "via", "iat", "exp", "failed"})
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


# Not frozen: a frozen dataclass costs ~4x as much to build and a scan builds eight of these
# (docs/benchmarks.md, figure 1). Treated as immutable all the same.
@dataclass(slots=True)
class StatusEntry:
    """One credential's entry and the verified list it was read from (for freshness checks)."""

    value: int
    status_list: StatusListToken


class TrustCache:
    """Verified cache contents in memory; also the KeyResolver for credentials, by (iss, kid)."""

    def __init__(self, issuers: Mapping[str, CachedIssuer], synced_at: int | None, *,
                 error: str | None = None, trust_list: TrustList | None = None,
                 federation: dict[str, Any] | None = None) -> None:
        self.issuers: dict[str, CachedIssuer] = dict(issuers)
        self.synced_at = synced_at
        self.error = error  # why the file on disk was refused (then the cache is empty)
        self.trust_list = trust_list  # federated mode: the verified federal list
        self.federation = federation or {}
        if trust_list is not None:
            for iss, issuer in self.issuers.items():
                check_named(issuer, trust_list)
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
    def region_name(self, iss: str) -> tuple[str | None, str | None]:
        """(region code, Russian name) of an issuer: the trust list's, else its metadata's."""
        entry = self.trust_list.entry(iss) if self.trust_list is not None else None
        if entry is not None:
            return entry.region, entry.name
        issuer = self.issuers.get(iss)
        if issuer is None:
            return None, None
        return issuer.metadata.region, issuer.metadata.name

    def federal_expires_at(self) -> int | None:
        """When the federal data stops being usable: the trust list's exp, or the bundle's when
        synced from one (one freshness clock), whichever is earlier."""
        if self.trust_list is None:
            return None
        exp = self.federation.get("exp")
        return min(exp, self.trust_list.expires_at) if type(exp) is int else self.trust_list.expires_at

    def trust_list_expired(self, now: int) -> bool:
        exp = self.federal_expires_at()
        return exp is not None and now >= exp

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": FORMAT, "synced_at": self.synced_at,
                               "issuers": {iss: i.document for iss, i in self.issuers.items()}}
        if self.trust_list is not None:
            doc["trust_list"] = self.trust_list.token
            doc["federation"] = self.federation
        return doc

    @classmethod
    def from_document(cls, doc: Any, roots: KeyResolver | None = None) -> "TrustCache":
        """Verify a cache document end to end; any fault raises CacheError naming where.

        A document holding a trust list needs the pinned `roots` to be loaded at all."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CacheError(f"not a verifier cache of format {FORMAT}")
        synced_at, issuers = doc.get("synced_at"), doc.get("issuers")
        if type(synced_at) is not int or synced_at < 0:
            raise CacheError("synced_at missing")
        if not isinstance(issuers, dict):
            raise CacheError("issuers missing")
        trust_list, federation = None, doc.get("federation")
        if doc.get("trust_list") is not None:
            if roots is None:
                raise CacheError("the cache holds a federal trust list but no pinned root is "
                                 "configured (SOCPASS_TRUST_ROOTS)")
            try:
                # no `now`: an expired list still loads, and every check then says why
                trust_list = verify_trust_list(doc["trust_list"], roots)
            except TokenError as err:
                raise CacheError(f"trust list refused: {err.description}") from err
            if not isinstance(federation, dict) or not set(federation) <= _FEDERATION_MEMBERS:
                raise CacheError("federation record missing or malformed")
        return cls({iss: verify_issuer(iss, entry) for iss, entry in issuers.items()}, synced_at,
                   trust_list=trust_list, federation=federation if trust_list else None)


def check_named(issuer: CachedIssuer, trust_list: TrustList) -> None:
    """In federated mode: the issuer is an active entry and the list names each of its keys."""
    entry = trust_list.entry(issuer.iss)
    if entry is None or entry.status != ACTIVE:
        raise CacheError(f"issuer {issuer.iss!r} is not an active region of the trust list")
    for key in issuer.keys:
        if not entry.allows(public_jwk(key.key)):
            raise CacheError(f"issuer {issuer.iss!r}: key {key.kid!r} is not named by the "
                             "trust list")


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


def _mac(secret: bytes, doc: dict[str, Any]) -> str:
    body = json.dumps({k: v for k, v in doc.items() if k != "mac"}, ensure_ascii=False,
                      sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hmac.new(secret, body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _device_secret(directory: Path, *, create: bool) -> bytes | None:
    """The per-device MAC secret (32 random bytes, 0600); made by the first save."""
    path = directory / DEVICE_KEY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        data = secrets.token_bytes(32)
        create_private(path, data)
        return data
    if len(data) != 32:
        raise CacheError(f"{path}: not a device secret (32 bytes expected)")
    return data


def load(cache_dir: Path | str, roots: KeyResolver | None = None) -> TrustCache:
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
        loaded = TrustCache.from_document(doc, roots)
        try:
            secret = _device_secret(Path(cache_dir), create=False)
        except OSError as err:
            raise CacheError(f"{DEVICE_KEY_FILE}: cannot read: {err.strerror}") from err
        mac = doc.get("mac")
        if secret is None:
            raise CacheError(f"the device secret {DEVICE_KEY_FILE} is missing, so the cache "
                             "cannot be checked: run sync")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(secret, doc)):
            raise CacheError("the cache was modified outside sync (its MAC does not match): "
                             "run sync")
        return loaded
    except CacheError as err:
        raise CacheError(f"{path}: {err.description}") from err


def load_or_refuse(cache_dir: Path | str, roots: KeyResolver | None = None) -> TrustCache:
    """Like load, but a refused cache becomes an empty one that remembers why (never raises)."""
    try:
        return load(cache_dir, roots)
    except CacheError as err:
        log.warning("verifier cache refused, every check will be rejected: %s", err.description)
        return TrustCache.empty(error=err.description)


def save(cache_dir: Path | str, document: dict[str, Any]) -> Path:
    """Write cache.json atomically: a crash at any point leaves the old file or the new one."""
    directory = Path(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    secret = _device_secret(directory, create=True)
    assert secret is not None
    document = dict(document, mac=_mac(secret, document))
    data = (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    return write_atomically(cache_path(directory), data)


class CacheHolder:
    """The cache as a server sees it: loaded once, reloaded when cache.json is replaced."""

    def __init__(self, cache_dir: Path | str, roots: KeyResolver | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self._path = str(cache_path(self.cache_dir))
        self.roots = roots
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._cache: TrustCache | None = None

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._path)  # a str, not a Path: asked on every request
        except OSError:
            return None
        # os.replace gives a new inode, so a sync within one mtime tick is still noticed.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> TrustCache:
        stamp = self._current_stamp()
        with self._lock:
            if self._cache is None or stamp != self._stamp:
                self._cache = load_or_refuse(self.cache_dir, self.roots)
                self._stamp = stamp
            return self._cache
