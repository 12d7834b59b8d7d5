"""Refresh the local cache from the issuers' publications (reading them: shared/pubreader.py).

A SOURCE is an issuer's base URL (https; plain http to loopback only) or a directory written by
`socpass-issuer publish --out DIR`; both hold the same relative paths. The issuer's
entitlement rules are optional (an issuer that publishes none gets the built-in catalogue). Everything is fetched and
verified first, then written in one atomic replace: if any source fails, the previous cache is
left exactly as it was. The operator gives the full set of sources each time; issuers cached
before but not given now are dropped.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shared.errors import SocpassError
from shared.keys import KeyResolver
from shared.pubreader import (DEFAULT_DEADLINE, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT, NetPolicy,
                              PublicationUnavailable, Validators, fetch_issuer)
from shared.verifiedissuer import VerifiedIssuer
from verifier import freshness
from verifier.cache import CacheError, TrustCache, load, save

LOCK_FILE = ".sync.lock"


class SyncError(SocpassError):
    """A sync failed; the previous cache was left untouched."""

    code = "sync_failed"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@contextlib.contextmanager
def exclusive_sync(cache_dir: Path) -> Iterator[None]:
    """One sync at a time per cache directory (a cron job and an operator may collide)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: the atomic replace still keeps the file whole
        yield
        return
    with open(cache_dir / LOCK_FILE, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError(str(cache_dir), "another sync of this cache is running") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def sync(sources: Sequence[str], cache_dir: Path | str, now: int, *,
         timeout: float = DEFAULT_TIMEOUT, max_redirects: int = DEFAULT_MAX_REDIRECTS,
         status_grace: int = 0, deadline: float = DEFAULT_DEADLINE, allow_private: bool = False,
         roots: KeyResolver | None = None, validators: Validators | None = None) -> dict[str, Any]:
    """Fetch and verify every source, then replace the cache atomically; returns a summary.

    Raises SyncError (naming the source and the reason) without writing anything when a source
    cannot be read or verified, two sources are the same issuer, or a status list is older than
    the one already cached for its URI (a replay of older revocation data).
    """
    if not sources:
        raise SyncError("-", "give at least one source")
    cache_dir = Path(cache_dir)
    try:
        net = NetPolicy(timeout=timeout, deadline=deadline, allow_private=allow_private)
        return _sync(sources, cache_dir, now, net, max_redirects, status_grace, roots, validators)
    except OSError as err:  # our own side: the cache directory cannot be created or written
        raise SyncError(str(cache_dir), f"cannot write the cache: {err.strerror or err}") from None


def _sync(sources: Sequence[str], cache_dir: Path, now: int, net: NetPolicy, max_redirects: int,
          status_grace: int, roots: KeyResolver | None,
          validators: Validators | None) -> dict[str, Any]:
    with exclusive_sync(cache_dir):
        try:
            previous, previous_error = load(cache_dir, roots), None
        except CacheError as err:  # a damaged cache must not block the sync that repairs it
            previous, previous_error = TrustCache.empty(), err.description
        issuers: dict[str, VerifiedIssuer] = {}
        for source in sources:
            try:
                issuer = fetch_issuer(source, clock=time.monotonic, net=net,
                                      max_redirects=max_redirects, validators=validators)
            except PublicationUnavailable as err:
                raise SyncError(err.source, err.reason) from None
            if issuer.iss in issuers:
                raise SyncError(source, f"issuer {issuer.iss!r} was already given by "
                                        f"{issuers[issuer.iss].source}")
            for uri, slt in issuer.status_lists.items():
                old = previous.status_list(uri)
                if old is not None and slt.issued_at < old.issued_at:
                    raise SyncError(source, f"status list {uri} was signed at {slt.issued_at}, "
                                            f"before the cached one ({old.issued_at}): "
                                            "refusing older revocation data")
            issuers[issuer.iss] = issuer
        try:
            cache = TrustCache(issuers, now)
        except CacheError as err:
            raise SyncError(", ".join(sources), err.description) from None
        path = save(cache_dir, cache.to_document())
    return summarize(cache, now, status_grace, path=path,
                     dropped=sorted(set(previous.issuers) - set(issuers)),
                     previous_error=previous_error)


def summarize(cache: TrustCache, now: int, grace: int, *, path: Path, dropped: list[str],
              previous_error: str | None) -> dict[str, Any]:
    issuers = []
    for issuer in cache.issuers.values():
        lists = []
        for uri, slt in issuer.status_lists.items():
            fresh = freshness.judge(slt, now, grace)
            lists.append({"uri": uri, "iat": slt.issued_at, "exp": slt.expires_at,
                          "ttl": slt.ttl, "size": slt.status_list.size, "state": fresh.state})
        rules = issuer.entitlements
        issuers.append({"iss": issuer.iss, "name": issuer.metadata.name, "source": issuer.source,
                        "keys": [k.kid for k in issuer.keys], "status_lists": lists,
                        # None: the issuer publishes no rules (the built-in catalogue applies)
                        "entitlement_profiles": sorted(rules.profiles) if rules else None})
    return {"synced_at": cache.synced_at, "cache": str(path), "issuers": issuers,
            "dropped": dropped, "previous_cache_error": previous_error}
