"""Reading an issuer's publication from a directory, or over HTTP(S) under a network policy
(https only, plain http to loopback; private and link-local addresses refused unless allowed;
every connection checked at connect time, redirects included; size caps and one deadline), and
verifying what was read (`fetch_issuer`).

The verifier's sync and the federal operator read publications only through here; the
verification path never imports it (.importlinter, `offline-decision`). No clock is read here:
the caller passes a monotonic clock for the per-source deadline.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.errors import SocpassError
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.publication import (ENTITLEMENTS_PATH, JWKS_PATH, MAX_ENTITLEMENTS_BYTES,
                                MAX_METADATA_BYTES, METADATA_PATH, IssuerMetadata,
                                PublicationError, relative_path)
from shared.statuslist import MAX_STATUS_TOKEN
from shared.verifiedissuer import PublicationRefused, VerifiedIssuer, verify_issuer

DEFAULT_TIMEOUT = 10.0
DEFAULT_DEADLINE = 60.0
DEFAULT_MAX_REDIRECTS = 3
MAX_JWKS_BYTES = 256 * 1024
# time.monotonic, given by the caller: shared/ reads no clock, and a test can make it jump.
MonotonicClock = Callable[[], float]


class FetchError(Exception):
    """One file of a source cannot be read (or is too large, or is not what it must be)."""


class MissingFile(FetchError):
    """The file is not there (no such file, HTTP 404): only optional files may be missing."""


class PublicationUnavailable(SocpassError):
    """An issuer's publication cannot be read from its source, or does not verify."""

    code = "publication_unavailable"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class Validators:
    """What a conditional GET needs (RFC 9110, 13.1): per URL the ETag or Last-Modified of the
    last 200 and its body. An unchanged file then costs a 304 and no body; the body kept here is
    verified again by sync exactly as a fresh one. Kept in memory by the background syncer."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str | None, str | None, bytes]] = {}
        self.not_modified = 0  # 304s answered, for the status report and the tests
        self.fetched = 0

    def headers(self, url: str) -> dict[str, str]:
        seen = self._seen.get(url)
        if seen is None:
            return {}
        etag, modified, _ = seen
        out = {}
        if etag:
            out["If-None-Match"] = etag
        if modified:
            out["If-Modified-Since"] = modified
        return out

    def remember(self, url: str, etag: str | None, modified: str | None, body: bytes) -> None:
        self.fetched += 1
        if etag or modified:
            self._seen[url] = (etag, modified, body)
        else:
            self._seen.pop(url, None)

    def unchanged(self, url: str) -> bytes:
        seen = self._seen.get(url)
        if seen is None:  # a 304 to a request that asked nothing conditional
            raise FetchError(f"{url}: HTTP 304 to an unconditional request")
        self.not_modified += 1
        return seen[2]


class Reader(Protocol):
    def read(self, rel: str, limit: int) -> bytes: ...


class DirectoryReader:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, rel: str, limit: int) -> bytes:
        path = self.root / rel
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except FileNotFoundError:
            raise MissingFile(f"{rel} is missing") from None
        except OSError as err:
            raise FetchError(f"{rel}: {err.strerror}") from None
        if len(data) > limit:
            raise FetchError(f"{rel} is larger than {limit} bytes")
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
        except FetchError as err:
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
            raise FetchError(f"{url}: plain http is allowed for loopback addresses only "
                              "(use https, or a directory)")
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"{url}: only http(s)")

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


class HttpReader:
    def __init__(self, base_url: str, net: NetPolicy, max_redirects: int, clock: MonotonicClock,
                 validators: Validators | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.net = net
        self.validators = validators
        self.clock = clock
        self.deadline = clock() + net.deadline
        # No proxies from the environment: the address checks must see the real destination.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _GuardedHTTP(net), _GuardedHTTPS(net),
            _Redirects(max_redirects, net))

    def _remaining(self, url: str) -> float:
        left = self.deadline - self.clock()
        if left <= 0:
            raise FetchError(f"{url}: the sync deadline of {self.net.deadline:g} s for this "
                              "source has passed")
        return left

    def read(self, rel: str, limit: int) -> bytes:
        url = f"{self.base}/{rel}"
        self.net.check_url(url)
        # identity only: a compressed body could expand far past the size cap
        headers = {"User-Agent": "socpass-verifier", "Accept-Encoding": "identity"}
        if self.validators is not None:
            headers.update(self.validators.headers(url))
        request = urllib.request.Request(url, headers=headers)
        try:
            timeout = min(self.net.timeout, self._remaining(url))
            with self._opener.open(request, timeout=timeout) as resp:
                encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise FetchError(f"{url}: refusing Content-Encoding {encoding!r}")
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(f"{url} is larger than {limit} bytes")
                chunks, size = [], 0
                while size <= limit:
                    self._remaining(url)
                    chunk = resp.read1(min(65536, limit + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                data = b"".join(chunks)
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        except urllib.error.HTTPError as err:
            err.close()
            if err.code == 304 and self.validators is not None:
                return self.validators.unchanged(url)
            kind = MissingFile if err.code in (404, 410) else FetchError
            raise kind(f"{url}: HTTP {err.code} {err.reason}") from None
        except urllib.error.URLError as err:
            raise FetchError(f"{url}: {err.reason}") from None
        except _AddressRefused as err:
            raise FetchError(f"{url}: {err}") from None
        except (OSError, http.client.HTTPException, ValueError) as err:
            raise FetchError(f"{url}: {type(err).__name__}: {err}") from None
        if len(data) > limit:
            raise FetchError(f"{url} is larger than {limit} bytes")
        if self.validators is not None:
            self.validators.remember(url, etag, modified, data)
        return data


def reader_for(source: str, net: NetPolicy, max_redirects: int, clock: MonotonicClock,
               validators: Validators | None = None) -> Reader:
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        if not parts.hostname or parts.query or parts.fragment or parts.username:
            raise FetchError("an issuer URL needs a host and no query, fragment or user name")
        net.check_url(source)
        return HttpReader(source, net, max_redirects, clock, validators)
    if "://" in source:
        raise FetchError("only http:// and https:// URLs or a local directory can be synced")
    path = Path(source)
    if not path.is_dir():
        raise FetchError("no such directory (and not an http(s) URL)")
    return DirectoryReader(path)


def _json(data: bytes, rel: str) -> Any:
    try:
        return loads_strict(data)
    except JSONFormatError as err:
        raise FetchError(f"{rel}: {err}") from None


def fetch_issuer(source: str, *, clock: MonotonicClock, net: NetPolicy | None = None,
                 max_redirects: int = DEFAULT_MAX_REDIRECTS,
                 validators: Validators | None = None) -> VerifiedIssuer:
    """Read one issuer's publication and verify it exactly as a cache load would (`validators`:
    ask conditionally, so what did not change since the last read costs a 304). Raises
    PublicationUnavailable naming the source and the reason."""
    try:
        reader = reader_for(source, net or NetPolicy(), max_redirects, clock, validators)
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
                raise FetchError(f"{rel} is not a token (not ASCII)") from None
        entry: dict[str, Any] = {"source": source, "metadata": metadata_json, "jwks": jwks,
                                 "status_lists": lists}
        try:
            raw_rules = reader.read(ENTITLEMENTS_PATH, MAX_ENTITLEMENTS_BYTES)
        except MissingFile:
            raw_rules = None
        if raw_rules is not None:
            entry["entitlements"] = _json(raw_rules, ENTITLEMENTS_PATH)
        return verify_issuer(metadata.iss, entry)
    except FetchError as err:
        raise PublicationUnavailable(source, str(err)) from None
    except PublicationError as err:
        raise PublicationUnavailable(source, f"{METADATA_PATH}: {err}") from None
    except PublicationRefused as err:
        raise PublicationUnavailable(source, err.description) from None
