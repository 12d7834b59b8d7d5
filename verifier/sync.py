"""Refresh the local cache from the issuers' publications: the only network code in verifier/.

A SOURCE is an issuer's base URL (https; plain http to loopback only) or a directory written by
`socpass-issuer publish --out DIR`; both hold the same relative paths. The issuer's
entitlement rules are optional (an issuer that publishes none gets the built-in catalogue). Everything is fetched and
verified first, then written in one atomic replace: if any source fails, the previous cache is
left exactly as it was. The operator gives the full set of sources each time; issuers cached
before but not given now are dropped.
"""
from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.errors import SocpassError
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.publication import (ENTITLEMENTS_PATH, JWKS_PATH, MAX_ENTITLEMENTS_BYTES,
                                MAX_METADATA_BYTES, METADATA_PATH, IssuerMetadata,
                                PublicationError, relative_path)
from shared.keys import KeyResolver
from shared.statuslist import MAX_STATUS_TOKEN
from verifier import freshness
from verifier.cache import CacheError, CachedIssuer, TrustCache, load, save, verify_issuer

MAX_JWKS_BYTES = 256 * 1024
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_REDIRECTS = 3
DEFAULT_DEADLINE = 60.0
LOCK_FILE = ".sync.lock"


class SyncError(SocpassError):
    """A sync failed; the previous cache was left untouched."""

    code = "sync_failed"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class _FetchError(Exception):
    pass


class _Missing(_FetchError):
    """The file is not there (no such file, HTTP 404): only optional files may be missing."""


class _Reader(Protocol):
    def read(self, rel: str, limit: int) -> bytes: ...


class _DirectoryReader:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, rel: str, limit: int) -> bytes:
        path = self.root / rel
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except FileNotFoundError:
            raise _Missing(f"{rel} is missing") from None
        except OSError as err:
            raise _FetchError(f"{rel}: {err.strerror}") from None
        if len(data) > limit:
            raise _FetchError(f"{rel} is larger than {limit} bytes")
        return data


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a bounded number of redirects, to http(s) only and never from https to http.

    Every hop goes through the same scheme and address checks as the first request."""

    def __init__(self, limit: int, net: "NetPolicy") -> None:
        super().__init__()
        self.max_redirections = limit
        self.net = net

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        old, new = urlsplit(req.full_url).scheme, urlsplit(newurl).scheme
        if new not in ("http", "https") or (old == "https" and new != "https"):
            raise urllib.error.HTTPError(req.full_url, code, f"refusing a redirect to {newurl}",
                                         headers, fp)
        try:
            self.net.check_url(newurl)
        except _FetchError as err:
            raise urllib.error.HTTPError(req.full_url, code, f"refusing a redirect: {err}",
                                         headers, fp) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class NetPolicy:
    """Where sync may connect: https anywhere public, plain http to loopback only, and no
    private, link-local or otherwise special address unless `allow_private` (a LAN issuer).

    The host is resolved and every address checked before connecting, and the connection goes
    to an address that was checked, so a DNS answer cannot switch to an internal one between
    the check and the connect (DNS rebinding)."""

    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE  # seconds for everything read from one source
    allow_private: bool = False

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "http" and not _is_loopback_host(parts.hostname or ""):
            raise _FetchError(f"{url}: plain http is allowed for loopback addresses only "
                              "(use https, or a directory)")
        if parts.scheme not in ("http", "https"):
            raise _FetchError(f"{url}: only http(s)")

    def allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback:
            return True  # this machine: tests and a local issuer
        if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return False
        if ip.is_private or ip.is_link_local or not ip.is_global:
            return self.allow_private
        return True

    def connect(self, address: tuple[str, int], timeout: Any = None,
                source_address: Any = None) -> socket.socket:
        host, port = address
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as err:
            raise OSError(f"cannot resolve {host}: {err.strerror}") from None
        addresses = [info[4][0] for info in infos]
        refused = [a for a in addresses if not self.allowed(a)]
        if refused or not addresses:
            raise _AddressRefused(
                f"{host} resolves to {', '.join(sorted(set(refused))) or 'nothing'}: a private or "
                "special address (set SOCPASS_SYNC_ALLOW_PRIVATE=true for an issuer on the LAN)")
        last: OSError | None = None
        for family, socktype, proto, _name, sockaddr in infos:
            sock = socket.socket(family, socktype, proto)
            try:
                if timeout is not None:
                    sock.settimeout(timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as err:
                sock.close()
                last = err
        raise last or OSError(f"cannot connect to {host}")


class _AddressRefused(OSError):
    pass


def _guarded(base: type, net: NetPolicy) -> Any:
    def factory(host: str, **kwargs: Any) -> Any:
        conn = base(host, **kwargs)
        conn._create_connection = net.connect  # checked addresses only
        return conn
    return factory


class _GuardedHTTP(urllib.request.HTTPHandler):
    def __init__(self, net: NetPolicy) -> None:
        super().__init__()
        self.net = net

    def http_open(self, req):  # type: ignore[no-untyped-def]
        return self.do_open(_guarded(http.client.HTTPConnection, self.net), req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, net: NetPolicy) -> None:
        super().__init__()
        self.net = net

    def https_open(self, req):  # type: ignore[no-untyped-def]
        return self.do_open(_guarded(http.client.HTTPSConnection, self.net), req,
                            context=self._context)


class _HttpReader:
    def __init__(self, base_url: str, net: NetPolicy, max_redirects: int) -> None:
        self.base = base_url.rstrip("/")
        self.net = net
        self.deadline = time.monotonic() + net.deadline
        # No proxies from the environment: the address checks must see the real destination.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _GuardedHTTP(net), _GuardedHTTPS(net),
            _Redirects(max_redirects, net))

    def _remaining(self, url: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _FetchError(f"{url}: the sync deadline of {self.net.deadline:g} s for this "
                              "source has passed")
        return left

    def read(self, rel: str, limit: int) -> bytes:
        url = f"{self.base}/{rel}"
        self.net.check_url(url)
        # identity only: a compressed body could expand far past the size cap
        request = urllib.request.Request(url, headers={"User-Agent": "socpass-verifier",
                                                       "Accept-Encoding": "identity"})
        try:
            timeout = min(self.net.timeout, self._remaining(url))
            with self._opener.open(request, timeout=timeout) as resp:
                encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise _FetchError(f"{url}: refusing Content-Encoding {encoding!r}")
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _FetchError(f"{url} is larger than {limit} bytes")
                chunks, size = [], 0
                while size <= limit:
                    self._remaining(url)
                    chunk = resp.read1(min(65536, limit + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                data = b"".join(chunks)
        except urllib.error.HTTPError as err:
            err.close()
            kind = _Missing if err.code in (404, 410) else _FetchError
            raise kind(f"{url}: HTTP {err.code} {err.reason}") from None
        except urllib.error.URLError as err:
            raise _FetchError(f"{url}: {err.reason}") from None
        except _AddressRefused as err:
            raise _FetchError(f"{url}: {err}") from None
        except (OSError, http.client.HTTPException, ValueError) as err:
            raise _FetchError(f"{url}: {type(err).__name__}: {err}") from None
        if len(data) > limit:
            raise _FetchError(f"{url} is larger than {limit} bytes")
        return data


def _reader_for(source: str, net: NetPolicy, max_redirects: int) -> _Reader:
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        if not parts.hostname or parts.query or parts.fragment or parts.username:
            raise _FetchError("an issuer URL needs a host and no query, fragment or user name")
        net.check_url(source)
        return _HttpReader(source, net, max_redirects)
    if "://" in source:
        raise _FetchError("only http:// and https:// URLs or a local directory can be synced")
    path = Path(source)
    if not path.is_dir():
        raise _FetchError("no such directory (and not an http(s) URL)")
    return _DirectoryReader(path)


def _json(data: bytes, rel: str) -> Any:
    try:
        return loads_strict(data)
    except JSONFormatError as err:
        raise _FetchError(f"{rel}: {err}") from None


def fetch_issuer(source: str, *, net: NetPolicy | None = None,
                 max_redirects: int = DEFAULT_MAX_REDIRECTS) -> CachedIssuer:
    """Read one issuer's publication and verify it exactly as a cache load would."""
    try:
        reader = _reader_for(source, net or NetPolicy(), max_redirects)
        metadata_json = _json(reader.read(METADATA_PATH, MAX_METADATA_BYTES), METADATA_PATH)
        metadata = IssuerMetadata.from_json(metadata_json)
        jwks = _json(reader.read(JWKS_PATH, MAX_JWKS_BYTES), JWKS_PATH)
        lists: dict[str, str] = {}
        for uri in metadata.status_lists:
            rel = relative_path(metadata.url, uri)
            raw = reader.read(rel, MAX_STATUS_TOKEN)
            try:
                lists[uri] = raw.decode("ascii").strip()
            except UnicodeDecodeError:
                raise _FetchError(f"{rel} is not a token (not ASCII)") from None
        entry: dict[str, Any] = {"source": source, "metadata": metadata_json, "jwks": jwks,
                                 "status_lists": lists}
        try:
            raw_rules = reader.read(ENTITLEMENTS_PATH, MAX_ENTITLEMENTS_BYTES)
        except _Missing:
            raw_rules = None
        if raw_rules is not None:
            entry["entitlements"] = _json(raw_rules, ENTITLEMENTS_PATH)
        return verify_issuer(metadata.iss, entry)
    except _FetchError as err:
        raise SyncError(source, str(err)) from None
    except PublicationError as err:
        raise SyncError(source, f"{METADATA_PATH}: {err}") from None
    except CacheError as err:
        raise SyncError(source, err.description) from None


@contextlib.contextmanager
def _exclusive(cache_dir: Path) -> Iterator[None]:
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
         roots: KeyResolver | None = None) -> dict[str, Any]:
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
        return _sync(sources, cache_dir, now, net, max_redirects, status_grace, roots)
    except OSError as err:  # our own side: the cache directory cannot be created or written
        raise SyncError(str(cache_dir), f"cannot write the cache: {err.strerror or err}") from None


def _sync(sources: Sequence[str], cache_dir: Path, now: int, net: NetPolicy, max_redirects: int,
          status_grace: int, roots: KeyResolver | None) -> dict[str, Any]:
    with _exclusive(cache_dir):
        try:
            previous, previous_error = load(cache_dir, roots), None
        except CacheError as err:  # a damaged cache must not block the sync that repairs it
            previous, previous_error = TrustCache.empty(), err.description
        issuers: dict[str, CachedIssuer] = {}
        for source in sources:
            issuer = fetch_issuer(source, net=net, max_redirects=max_redirects)
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
