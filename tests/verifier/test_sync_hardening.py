"""Sync behind the network guards (issue 6; the guards themselves:
tests/shared/test_pubreader.py) and the tamper-evident cache."""
from __future__ import annotations

import json
import socket

import pytest

from tests.verifier.fakeissuer import NOW, FakeIssuer
from tests.verifier.test_sync import cache_bytes
from verifier.devicestatus import device_status
from verifier import cache
from verifier.cache import CacheError
from verifier.service import Verifier
from verifier.sync import SyncError, sync


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
