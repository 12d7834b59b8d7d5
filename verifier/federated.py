"""Federated sync: the federal trust list (or the aggregated bundle) decides which regions and
which keys this venue trusts. Network access only through shared/pubreader.py's readers.

- The list must verify against a pinned root (SOCPASS_TRUST_ROOTS), must not be expired and
  must not be older (`seq`) than the cached one.
- Each active region is synced in parallel from the URL the list gives; a region whose
  publication fails, or whose JWKS holds a key the list does not name, is reported and keeps
  its previously cached data (when that data is still named by the new list); the others are
  updated. Suspended, withdrawn and removed regions are dropped: their credentials get
  `untrusted_issuer` from the next sync on.
- Everything is still written in one atomic replace of cache.json.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.errors import TokenError
from shared.keys import KeyResolver
from shared.publication import BUNDLE_PATH, TRUST_LIST_PATH
from shared.pubreader import (DEFAULT_MAX_REDIRECTS, FetchError, NetPolicy,
                              PublicationUnavailable, fetch_issuer, reader_for)
from shared.trustlist import (MAX_BUNDLE, MAX_TRUST_LIST, Bundle, TrustedIssuer, TrustList,
                              verify_bundle, verify_trust_list)
from shared.verifiedissuer import PublicationRefused, VerifiedIssuer, verify_issuer
from verifier.cache import CacheError, TrustCache, check_named, load, save
from verifier.sync import SyncError, exclusive_sync, summarize

MAX_WORKERS = 4
TRUST_LIST, BUNDLE = "trust_list", "bundle"


def _locate(source: str, want_bundle: bool) -> tuple[str, str, str]:
    """(kind, base, relative path) of a federal source: a base URL or directory holding the
    published paths, or the trust list / bundle file itself (by its name)."""
    path = urlsplit(source).path if "://" in source else source
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for kind, published in ((BUNDLE, BUNDLE_PATH), (TRUST_LIST, TRUST_LIST_PATH)):
        if name == published.rsplit("/", 1)[-1]:
            base = source.rstrip("/")[: -len(name)].rstrip("/") or "."
            return kind, base, name
    if "://" not in source and Path(source).is_file():
        return (BUNDLE if want_bundle else TRUST_LIST), str(Path(source).parent), Path(source).name
    return (BUNDLE, source, BUNDLE_PATH) if want_bundle else (TRUST_LIST, source, TRUST_LIST_PATH)


def is_federal_source(source: str) -> bool:
    """A SOURCE given to plain `sync` that names a trust list or bundle file by its name."""
    name = (urlsplit(source).path if "://" in source else source).rstrip("/").rsplit("/", 1)[-1]
    return name in (TRUST_LIST_PATH.rsplit("/", 1)[-1], BUNDLE_PATH.rsplit("/", 1)[-1])


def _token(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise FetchError(f"{what} is not a token (not ASCII)") from None


def sync_federated(source: str, cache_dir: Path | str, now: int, roots: KeyResolver | None, *,
                   bundle: bool = False, net: NetPolicy | None = None,
                   max_redirects: int = DEFAULT_MAX_REDIRECTS, status_grace: int = 0,
                   workers: int = MAX_WORKERS) -> dict[str, Any]:
    """Sync from a federal trust list (or bundle); see the module docstring. Raises SyncError,
    writing nothing, when the list or bundle itself cannot be read or verified."""
    if roots is None:
        raise SyncError(source, "no pinned federal root: set SOCPASS_TRUST_ROOTS to the roots' "
                                "JWKS file")
    net = net or NetPolicy()
    cache_dir = Path(cache_dir)
    try:
        with exclusive_sync(cache_dir):
            return _sync(source, cache_dir, now, roots, bundle, net, max_redirects, status_grace,
                         workers)
    except OSError as err:
        raise SyncError(str(cache_dir), f"cannot write the cache: {err.strerror or err}") from None


def _read_list(source: str, now: int, roots: KeyResolver, want_bundle: bool, net: NetPolicy,
               max_redirects: int) -> tuple[str, TrustList, Bundle | None]:
    try:
        kind, base, rel = _locate(source, want_bundle)
        reader = reader_for(base, net, max_redirects, time.monotonic)
        token = _token(reader.read(rel, MAX_BUNDLE if kind == BUNDLE else MAX_TRUST_LIST), rel)
    except FetchError as err:
        raise SyncError(source, str(err)) from None
    found: Bundle | None = None
    try:
        if kind == BUNDLE:
            found = verify_bundle(token, roots)
            if now >= found.expires_at:
                raise SyncError(source, f"the bundle expired at {found.expires_at} (now {now}); "
                                        "the federal operator must publish a new one")
            token = found.trust_list
        trust_list = verify_trust_list(token, roots, now=now)
    except TokenError as err:
        if err.code == "expired":
            raise SyncError(source, "the trust list is expired: the federal operator must "
                                    "publish a new one") from None
        raise SyncError(source, f"trust list refused ({err.code}): {err.description} "
                                "(is it signed by a pinned root?)") from None
    return kind, trust_list, found


def _sync(source: str, cache_dir: Path, now: int, roots: KeyResolver, want_bundle: bool,
          net: NetPolicy, max_redirects: int, status_grace: int, workers: int) -> dict[str, Any]:
    try:
        previous, previous_error = load(cache_dir, roots), None
    except CacheError as err:  # a damaged cache must not block the sync that repairs it
        previous, previous_error = TrustCache.empty(), err.description
    kind, trust_list, bundle = _read_list(source, now, roots, want_bundle, net, max_redirects)
    if previous.trust_list is not None and trust_list.sequence < previous.trust_list.sequence:
        raise SyncError(source, f"trust list number {trust_list.sequence} is older than the "
                                f"cached one ({previous.trust_list.sequence}): refusing a rollback")

    def one(entry: TrustedIssuer) -> VerifiedIssuer:
        if bundle is not None:
            issuer = _from_bundle(source, bundle, entry)
        else:
            issuer = fetch_issuer(entry.url, clock=time.monotonic, net=net,
                                  max_redirects=max_redirects)
        _check_entry(issuer, entry, trust_list, previous)
        return issuer

    active = trust_list.active()
    results: dict[str, VerifiedIssuer | SyncError] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(active)))) as pool:
        futures = {entry.iss: pool.submit(_catch, one, entry) for entry in active}
        for iss, future in futures.items():
            results[iss] = future.result()
    issuers: dict[str, VerifiedIssuer] = {}
    failed: dict[str, str] = {}
    for entry in active:
        got = results[entry.iss]
        if isinstance(got, VerifiedIssuer):
            issuers[entry.iss] = got
            continue
        failed[entry.iss] = got.description
        old = previous.issuer(entry.iss)
        if old is not None:
            try:
                check_named(old, trust_list)
                issuers[entry.iss] = old  # the previous data, still named by the new list
            except CacheError:
                failed[entry.iss] += "; its previous keys are not named by the new list either"
    exp = trust_list.expires_at if bundle is None else min(trust_list.expires_at, bundle.expires_at)
    federation = {"source": source, "via": kind, "iat": trust_list.issued_at if bundle is None
                  else bundle.issued_at, "exp": exp, "failed": failed}
    try:
        cache = TrustCache(issuers, now, trust_list=trust_list, federation=federation)
    except CacheError as err:
        raise SyncError(source, err.description) from None
    path = save(cache_dir, cache.to_document())
    summary = summarize(cache, now, status_grace, path=path,
                        dropped=sorted(set(previous.issuers) - set(issuers)),
                        previous_error=previous_error)
    summary["federation"] = federation_report(cache, now)
    summary["failed"] = [{"iss": iss, "reason": why} for iss, why in failed.items()]
    return summary


def _catch(fn: Callable[[TrustedIssuer], VerifiedIssuer], entry: TrustedIssuer) -> Any:
    try:
        return fn(entry)
    except (SyncError, PublicationUnavailable) as err:
        return SyncError(entry.iss, err.description)
    except Exception as err:  # one region's odd data must not stop the others
        return SyncError(entry.iss, f"{type(err).__name__}: {err}")


def _from_bundle(source: str, bundle: Bundle, entry: TrustedIssuer) -> VerifiedIssuer:
    region = bundle.regions.get(entry.iss)
    if region is None:
        raise SyncError(entry.iss, "the bundle carries no data for this region")
    doc: dict[str, Any] = {"source": source, "metadata": region["metadata"],
                           "jwks": region["jwks"], "status_lists": region["status_lists"]}
    if bundle.entitlements.get(entry.iss) is not None:
        doc["entitlements"] = bundle.entitlements[entry.iss]
    try:
        return verify_issuer(entry.iss, doc)
    except PublicationRefused as err:
        raise SyncError(entry.iss, err.description) from None


def _check_entry(issuer: VerifiedIssuer, entry: TrustedIssuer, trust_list: TrustList,
                 previous: TrustCache) -> None:
    where = entry.url
    if issuer.iss != entry.iss:
        raise SyncError(where, f"publishes issuer {issuer.iss!r}, the trust list says {entry.iss!r}")
    if issuer.metadata.region is not None and issuer.metadata.region != entry.region:
        raise SyncError(where, f"metadata says region {issuer.metadata.region}, the trust list "
                               f"says {entry.region}")
    try:
        check_named(issuer, trust_list)
    except CacheError as err:
        raise SyncError(where, f"refused: {err.description}") from None
    for uri, slt in issuer.status_lists.items():
        old = previous.status_list(uri)
        if old is not None and slt.issued_at < old.issued_at:
            raise SyncError(where, f"status list {uri} was signed at {slt.issued_at}, before the "
                                   f"cached one ({old.issued_at}): refusing older revocation data")


def federation_report(cache: TrustCache, now: int) -> dict[str, Any] | None:
    """Every region of the cached trust list: its status, whether it is cached, the last sync
    error, and the freshness of the list itself (for /api/status and the sync summary)."""
    tl = cache.trust_list
    if tl is None:
        return None
    failed = cache.federation.get("failed", {})
    exp = cache.federal_expires_at()
    return {"iss": tl.issuer, "seq": tl.sequence, "iat": tl.issued_at, "exp": exp,
            "via": cache.federation.get("via"), "source": cache.federation.get("source"),
            "expired": exp is not None and now >= exp,
            "regions": [{"iss": e.iss, "region": e.region, "name": e.name, "status": e.status,
                         "cached": e.iss in cache.issuers, "sync_error": failed.get(e.iss)}
                        for e in tl.issuers]}
