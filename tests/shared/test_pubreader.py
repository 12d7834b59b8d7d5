"""Reading a publication (shared/pubreader.py): the sources it takes, the network guards of
issue 6 (addresses, redirects, sizes, encodings, one deadline) and the errors it names."""
from __future__ import annotations

import functools
import itertools
import time
from http.server import BaseHTTPRequestHandler

import pytest

from shared import pubreader
from shared.publication import MAX_METADATA_BYTES
from shared.pubreader import NetPolicy, PublicationUnavailable, fetch_issuer
from tests.httpserve import RedirectHandler, _Quiet, http_server, serve_dir
from tests.verifier.fakeissuer import FakeIssuer

fetch = functools.partial(fetch_issuer, clock=time.monotonic)


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
def publish(tmp_path):
    """publish(issuer) -> a fresh directory holding its publication."""
    counter = itertools.count()
    return lambda iss: iss.publish(tmp_path / f"pub{next(counter)}")


def test_a_directory_and_its_url_read_the_same(issuer, publish):
    source = publish(issuer)
    from_dir = fetch(str(source))
    with serve_dir(source) as base:
        from_url = fetch(base)
    assert from_dir.iss == from_url.iss == issuer.iss
    assert from_dir.source == str(source) and from_url.source == base
    assert {k: v for k, v in from_dir.document.items() if k != "source"} \
        == {k: v for k, v in from_url.document.items() if k != "source"}


@pytest.mark.parametrize("source, reason", [
    ("/no/such/directory", "no such directory"),
    ("ftp://example.org/issuer", "only http"),
    ("http:///nohost", "needs a host"),
    ("https://example.org/?x=1", "no query"),
])
def test_bad_sources(source, reason):
    with pytest.raises(PublicationUnavailable, match=reason):
        fetch(source)


def test_http_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with serve_dir(tmp_path / "empty") as base:
        with pytest.raises(PublicationUnavailable, match="HTTP 404"):
            fetch(base)
    # The server is gone now: connection refused.
    with pytest.raises(PublicationUnavailable, match=base.replace(".", r"\.")):
        fetch(base)


@pytest.mark.parametrize("max_redirects", [2, 3])
def test_redirects_are_bounded(max_redirects):
    with http_server(RedirectHandler) as base:
        with pytest.raises(PublicationUnavailable, match="HTTP 302"):
            fetch(base, max_redirects=max_redirects)


def test_redirect_to_another_scheme_refused():
    class ToFile(RedirectHandler):
        target = "file:///etc/passwd"

    with http_server(ToFile) as base:
        with pytest.raises(PublicationUnavailable, match="refusing a redirect|not allowed"):
            fetch(base)


def test_response_size_is_capped(issuer, publish, monkeypatch):
    monkeypatch.setattr(pubreader, "MAX_JWKS_BYTES", 50)
    source = publish(issuer)
    with pytest.raises(PublicationUnavailable, match="larger than 50 bytes"):
        fetch(str(source))
    with serve_dir(source) as base:
        with pytest.raises(PublicationUnavailable, match="larger than 50 bytes"):
            fetch(base)


def test_plain_http_to_a_non_loopback_host_refused():
    with pytest.raises(PublicationUnavailable,
                       match="plain http is allowed for loopback addresses only"):
        fetch("http://szn.khv.example")


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.10", "169.254.169.254",
                                     "fc00::1", "fe80::1", "100.64.0.1", "0.0.0.0",
                                     "::ffff:192.168.1.1"])
def test_private_addresses_refused_unless_allowed(address):
    assert not NetPolicy().allowed(address)
    assert NetPolicy(allow_private=True).allowed(address) or address in ("0.0.0.0",)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "8.8.8.8", "2a00:1450:4001::1"])
def test_public_and_loopback_addresses_allowed(address):
    assert NetPolicy().allowed(address)


def test_redirect_to_a_non_loopback_http_host_refused():
    class Away(RedirectHandler):
        target = "http://szn.khv.example/.well-known/socpass-issuer.json"

    with http_server(Away) as base:
        with pytest.raises(PublicationUnavailable, match="loopback addresses only"):
            fetch(base)


def test_oversize_response_refused_even_without_content_length():
    class Huge(_Quiet, BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{" + b" " * (MAX_METADATA_BYTES + 10))

    with http_server(Huge) as base:
        with pytest.raises(PublicationUnavailable, match="larger than"):
            fetch(base)


def test_compressed_response_refused():
    class Gzip(_Quiet, BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    with http_server(Gzip) as base:
        with pytest.raises(PublicationUnavailable, match="Content-Encoding 'gzip'"):
            fetch(base)


def test_slow_server_hits_the_deadline():
    class Drip(_Quiet, BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(100):  # one byte every 0.1 s: never idle long enough to time out
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass

    start = time.monotonic()
    with http_server(Drip) as base:
        with pytest.raises(PublicationUnavailable, match="deadline"):
            fetch(base, net=NetPolicy(timeout=5, deadline=1))
    assert time.monotonic() - start < 5


def test_the_deadline_is_kept_by_the_clock_it_is_given(issuer, publish):
    # shared/ reads no clock: a clock that jumps past the deadline stops the read at once.
    ticks = iter([0.0] + [61.0] * 100)
    with serve_dir(publish(issuer)) as base:
        with pytest.raises(PublicationUnavailable, match="deadline of 60 s"):
            fetch_issuer(base, clock=lambda: next(ticks))


def test_a_number_past_the_int_digit_limit_is_refused_like_any_bad_file(issuer, publish):
    """A publication with a 100,000-digit number made the JSON parser raise a bare ValueError
    (Python's int-digit limit) out of sync; it is a failed read like any other bad file."""
    out = publish(issuer)
    metadata = out / ".well-known" / "socpass-issuer.json"
    metadata.write_text(metadata.read_text(encoding="utf-8")[:-1].rstrip().rstrip("}")
                        + ', "x": ' + "9" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(PublicationUnavailable, match="number too long"):
        fetch(str(out))
