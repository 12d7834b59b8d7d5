"""Sync's network guards (issue 6) and the tamper-evident cache."""
from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler

import pytest

from tests.verifier.fakeissuer import NOW, FakeIssuer
from tests.verifier.test_sync import RedirectHandler, _Quiet, cache_bytes, http_server, serve_dir
from verifier.devicestatus import device_status
from verifier import cache
from verifier import sync as sync_mod
from verifier.cache import CacheError
from verifier.service import Verifier
from verifier.sync import NetPolicy, SyncError, sync


def test_plain_http_to_a_non_loopback_host_refused(settings):
    with pytest.raises(SyncError, match="plain http is allowed for loopback addresses only"):
        sync(["http://szn.khv.example"], settings.cache_dir, NOW)


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.10", "169.254.169.254",
                                     "fc00::1", "fe80::1", "100.64.0.1", "0.0.0.0",
                                     "::ffff:192.168.1.1"])
def test_private_addresses_refused_unless_allowed(address):
    assert not NetPolicy().allowed(address)
    assert NetPolicy(allow_private=True).allowed(address) or address in ("0.0.0.0",)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "8.8.8.8", "2a00:1450:4001::1"])
def test_public_and_loopback_addresses_allowed(address):
    assert NetPolicy().allowed(address)


def test_a_host_resolving_to_a_private_address_is_refused_before_connecting(settings, monkeypatch):
    connected = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))])
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: connected.append(addr))
    with pytest.raises(SyncError, match="10.0.0.7.*SOCPASS_SYNC_ALLOW_PRIVATE"):
        sync(["https://issuer.example"], settings.cache_dir, NOW)
    assert connected == []
    assert not cache.cache_path(settings.cache_dir).exists()


def test_too_many_redirects_refused(settings):
    with http_server(RedirectHandler) as base:
        with pytest.raises(SyncError, match="HTTP 302"):
            sync([base], settings.cache_dir, NOW, max_redirects=2)


def test_redirect_to_a_non_loopback_http_host_refused(settings):
    class Away(RedirectHandler):
        target = "http://szn.khv.example/.well-known/socpass-issuer.json"

    with http_server(Away) as base:
        with pytest.raises(SyncError, match="loopback addresses only"):
            sync([base], settings.cache_dir, NOW)


def test_oversize_response_refused_even_without_content_length(settings):
    class Huge(_Quiet, BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{" + b" " * (sync_mod.MAX_METADATA_BYTES + 10))

    with http_server(Huge) as base:
        with pytest.raises(SyncError, match="larger than"):
            sync([base], settings.cache_dir, NOW)


def test_compressed_response_refused(settings):
    class Gzip(_Quiet, BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    with http_server(Gzip) as base:
        with pytest.raises(SyncError, match="Content-Encoding 'gzip'"):
            sync([base], settings.cache_dir, NOW)


def test_slow_server_hits_the_deadline(settings):
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
        with pytest.raises(SyncError, match="deadline"):
            sync([base], settings.cache_dir, NOW, timeout=5, deadline=1)
    assert time.monotonic() - start < 5


def test_failed_hardened_sync_keeps_the_old_cache(synced, settings):
    before = cache_bytes(settings)
    with pytest.raises(SyncError):
        sync(["http://szn.khv.example"], settings.cache_dir, NOW)
    assert cache_bytes(settings) == before


# --- tamper-evident cache -----------------------------------------------------------------------
def _edit(settings, mutate):
    path = cache.cache_path(settings.cache_dir)
    doc = json.loads(path.read_text("utf-8"))
    mutate(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def test_a_key_edited_in_cache_json_is_refused_on_load(synced, issuer, settings):
    attacker = FakeIssuer()
    # Swap the issuer's key for the attacker's (same kid, so the structure stays valid) and
    # re-sign nothing: only the MAC can notice, status lists are re-verified too.
    jwk = attacker.jwks()["keys"][0]
    _edit(settings, lambda d: d["issuers"][issuer.iss]["jwks"]["keys"].append(dict(jwk, kid="evil")))
    with pytest.raises(CacheError, match="modified outside sync"):
        cache.load(settings.cache_dir)
    refused = cache.load_or_refuse(settings.cache_dir)
    v = Verifier(refused, settings)
    forged = attacker.sign(attacker.credential(), kid="evil")
    from shared import qrtext
    result = v.verify_text(qrtext.encode(forged), NOW).to_json()
    assert result["verdict"] == "reject" and "изменены вне синхронизации" in result["message"]
    report = device_status(v, NOW)
    assert "modified outside sync" in report["cache_error"] and report["level"] == "error"


def test_metadata_edit_refused(synced, issuer, settings):
    _edit(settings, lambda d: d["issuers"][issuer.iss]["metadata"].update(name="Фальшивка"))
    with pytest.raises(CacheError, match="modified outside sync"):
        cache.load(settings.cache_dir)


def test_missing_device_secret_refused(synced, settings):
    (settings.cache_dir / cache.DEVICE_KEY_FILE).unlink()
    with pytest.raises(CacheError, match="device secret"):
        cache.load(settings.cache_dir)


def test_device_secret_is_private(synced, settings):
    assert (settings.cache_dir / cache.DEVICE_KEY_FILE).stat().st_mode & 0o077 == 0


def test_a_cache_copied_from_another_device_is_refused(synced, settings, tmp_path):
    other = tmp_path / "other"
    cache.save(other, {"format": 1, "synced_at": 1, "issuers": {}})
    (other / "cache.json").write_bytes(cache_bytes(settings))
    with pytest.raises(CacheError, match="modified outside sync"):
        cache.load(other)


def test_a_number_past_the_int_digit_limit_is_a_sync_error(settings, issuer, publish):
    """A publication with a 100,000-digit number made the JSON parser raise a bare ValueError
    (Python's int-digit limit) out of sync; it is a failed sync like any other bad file."""
    out = publish(issuer)
    metadata = out / ".well-known" / "socpass-issuer.json"
    metadata.write_text(metadata.read_text(encoding="utf-8")[:-1].rstrip().rstrip("}")
                        + ', "x": ' + "9" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(SyncError, match="number too long"):
        sync([str(out)], settings.cache_dir, NOW)
