"""The local trust cache: one file, `cache.json`, holding the issuers' signed originals.

    {"format": 1, "synced_at": <epoch>,
     "issuers": {<iss>: {"source": <URL or directory>, "metadata": {...IssuerMetadata...},
                         "jwks": {"keys": [...]}, "status_lists": {<uri>: <compact JWS>},
                         "entitlements": {...EntitlementCatalogue...}  (only if published)}},
     "trust_list": <compact JWS>,  (federated sync only: the federal list, signed by a pinned root)
     "federation": {"source": ..., "via": "trust_list" | "bundle", "iat", "exp",
                    "failed": {<iss>: <reason>}},  (federated sync only)
     "mac": <base64url HMAC-SHA256 of everything else, with this device's secret>}

The file is written atomically (old or new, never a mix) and re-verified on every load
(shared/verifiedissuer.py): each status list token must carry a valid signature by the keys of
the issuer it is stored under, so a corrupted or hand-edited list is refused rather than
trusted. Metadata and JWKS are not signed by their issuers, so two more checks protect them:
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

from shared.errors import SocpassError, TokenError
from shared.files import create_private, write_atomically
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.keys import KeyResolver, StaticKeyResolver, VerificationKey, public_jwk
from shared.statuslist import StatusListToken
from shared.trustlist import ACTIVE, TrustList, verify_trust_list
from shared.verifiedissuer import PublicationRefused, VerifiedIssuer, verify_issuer

log = logging.getLogger("socpass.verifier")

CACHE_FILE = "cache.json"
DEVICE_KEY_FILE = "device.key"
FORMAT = 1
_FEDERATION_MEMBERS = frozenset({"source", "via", "iat", "exp", "failed"})


class CacheError(SocpassError):
    """The local cache cannot be read or does not verify; it is refused as a whole."""

    code = "cache_refused"


# Not frozen: a frozen dataclass costs ~4x as much to build and a scan builds eight of these
# (docs/benchmarks.md, figure 1). Treated as immutable all the same.
@dataclass(slots=True)
class StatusEntry:
    """One credential's entry and the verified list it was read from (for freshness checks)."""

    value: int
    status_list: StatusListToken


class TrustCache:
    """Verified cache contents in memory; also the KeyResolver for credentials, by (iss, kid)."""

    def __init__(self, issuers: Mapping[str, VerifiedIssuer], synced_at: int | None, *,
                 error: str | None = None, trust_list: TrustList | None = None,
                 federation: dict[str, Any] | None = None) -> None:
        self.issuers: dict[str, VerifiedIssuer] = dict(issuers)
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
    def issuer(self, iss: str) -> VerifiedIssuer | None:
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
        try:
            verified = {iss: verify_issuer(iss, entry) for iss, entry in issuers.items()}
        except PublicationRefused as err:
            raise CacheError(err.description) from err
        return cls(verified, synced_at, trust_list=trust_list,
                   federation=federation if trust_list else None)


def check_named(issuer: VerifiedIssuer, trust_list: TrustList) -> None:
    """In federated mode: the issuer is an active entry and the list names each of its keys."""
    entry = trust_list.entry(issuer.iss)
    if entry is None or entry.status != ACTIVE:
        raise CacheError(f"issuer {issuer.iss!r} is not an active region of the trust list")
    for key in issuer.keys:
        if not entry.allows(public_jwk(key.key)):
            raise CacheError(f"issuer {issuer.iss!r}: key {key.kid!r} is not named by the "
                             "trust list")


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
