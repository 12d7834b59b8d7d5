from __future__ import annotations

import json
import os

import pytest

from shared.statuslist import REVOKED, StatusList
from tests.verifier.fakeissuer import NOW, FakeIssuer, b64json
from verifier.devicestatus import device_status
from verifier import cache
from verifier.cache import CacheError, CacheHolder, TrustCache
from verifier.service import Verifier
from verifier.sync import sync


def read_doc(cache_dir):
    return json.loads(cache.cache_path(cache_dir).read_text("utf-8"))


def write_doc(cache_dir, doc):
    cache.cache_path(cache_dir).write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def test_round_trip(synced, issuer, settings, tmp_path):
    doc = synced.to_document()
    stored = read_doc(settings.cache_dir)
    assert stored.pop("mac") and doc == stored
    assert doc["format"] == 1 and doc["synced_at"] == NOW
    entry = doc["issuers"][issuer.iss]
    assert set(entry) == {"source", "metadata", "jwks", "status_lists"}
    [(uri, token)] = entry["status_lists"].items()
    assert uri == issuer.list_uri()
    assert token.split(".")[:2] == issuer.status_token().split(".")[:2]  # ECDSA: new signature
    cache.save(tmp_path / "copy", doc)
    again = cache.load(tmp_path / "copy")
    assert again.to_document() == doc
    assert again.newest_iat == issuer.list_iat and again.synced_at == NOW
    assert again.has_issuer(issuer.iss) and not again.has_issuer("RU-99")
    assert again.key(issuer.iss, issuer.kid).alg == "ES256"
    assert again.key(issuer.iss, "nope") is None and again.key("RU-99", issuer.kid) is None
    assert again.status(issuer.list_uri(), 0).value == 0
    assert again.status(issuer.list_uri(), issuer.list_size) is None
    assert again.status("https://elsewhere.example/status/1", 0) is None
    assert again.issuer(issuer.iss).metadata.name == issuer.name


def test_status_lookup_reads_the_decoded_list(build, issuer, settings):
    cred = issuer.credential()
    issuer.set_status(cred, REVOKED)
    build(issuer)
    loaded = cache.load(settings.cache_dir)
    assert loaded.status(cred.status.uri, cred.status.idx).value == REVOKED
    assert loaded.status(cred.status.uri, cred.status.idx + 1).value == 0


def test_newest_iat_across_issuers(build, settings):
    a = FakeIssuer(list_iat=NOW - 7200)
    b = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", list_iat=NOW - 60)
    build(a, b)
    assert cache.load(settings.cache_dir).newest_iat == NOW - 60


def test_missing_cache_is_empty_not_an_error(tmp_path):
    empty = cache.load(tmp_path / "nothing")
    assert empty.issuers == {} and empty.error is None and empty.newest_iat is None


def test_atomic_save_crash_before_replace_keeps_the_old_file(synced, settings, monkeypatch):
    path = cache.cache_path(settings.cache_dir)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(cache.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        cache.save(settings.cache_dir, {"format": 1, "synced_at": NOW + 1, "issuers": {}})
    assert path.read_bytes() == before
    assert sorted(os.listdir(settings.cache_dir)) == [".sync.lock", "cache.json", "device.key"]  # no temp left


def test_save_replaces_in_one_step(tmp_path):
    cache.save(tmp_path, {"format": 1, "synced_at": 1, "issuers": {}})
    first = cache.cache_path(tmp_path).stat().st_ino
    cache.save(tmp_path, {"format": 1, "synced_at": 2, "issuers": {}})
    assert cache.cache_path(tmp_path).stat().st_ino != first  # a new file renamed over the old
    assert cache.load(tmp_path).synced_at == 2


def claims_size(claims) -> int:
    return StatusList.from_json(claims["status_list"]).size


def _tamper_list(token: str) -> str:
    """Rewrite the list's payload (drop a revocation), keeping the issuer's signature."""
    header, payload, sig = token.split(".")
    from shared.b64 import b64url_decode
    claims = json.loads(b64url_decode(payload))
    claims["status_list"] = StatusList(claims_size(claims), 2).to_json()  # all valid
    return f"{header}.{b64json(claims)}.{sig}"


def test_tampered_status_list_refused(build, issuer, settings):
    cred = issuer.credential()
    issuer.set_status(cred, REVOKED)
    build(issuer)
    doc = read_doc(settings.cache_dir)
    lists = doc["issuers"][issuer.iss]["status_lists"]
    lists[issuer.list_uri()] = _tamper_list(lists[issuer.list_uri()])
    write_doc(settings.cache_dir, doc)
    with pytest.raises(CacheError, match="status list .* refused: .*signature"):
        cache.load(settings.cache_dir)
    refused = cache.load_or_refuse(settings.cache_dir)
    assert refused.error and refused.issuers == {}
    v = Verifier(refused, settings)
    assert v.verify_text(issuer.qr(cred), NOW).code == "untrusted_issuer"
    report = device_status(v, NOW)
    assert report["cache_error"] and not report["ok"]


def test_list_signed_by_another_issuer_refused(build, settings):
    a = FakeIssuer()
    b = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example")
    build(a, b)
    doc = read_doc(settings.cache_dir)
    # b's key signs a list claiming to be a's: stored under a, it must not verify.
    forged = b.status_token(issuer=a.iss, uri=a.list_uri())
    doc["issuers"][a.iss]["status_lists"][a.list_uri()] = forged
    write_doc(settings.cache_dir, doc)
    with pytest.raises(CacheError, match="RU-27-MSZN"):
        cache.load(settings.cache_dir)


def test_list_stored_under_the_wrong_uri_refused(synced, issuer, settings):
    doc = read_doc(settings.cache_dir)
    lists = doc["issuers"][issuer.iss]["status_lists"]
    lists[issuer.list_uri()] = issuer.status_token(uri=issuer.list_uri("2"))
    write_doc(settings.cache_dir, doc)
    with pytest.raises(CacheError, match="sub"):
        cache.load(settings.cache_dir)


@pytest.mark.parametrize("mutate, match", [
    (lambda d, i: d.update(format=2), "format"),
    (lambda d, i: d.update(synced_at="yesterday"), "synced_at"),
    (lambda d, i: d["issuers"][i.iss].pop("jwks"), "exactly"),
    (lambda d, i: d["issuers"][i.iss].update(jwks={"keys": []}), "at least one key"),
    (lambda d, i: d["issuers"][i.iss]["jwks"]["keys"].append(d["issuers"][i.iss]["jwks"]["keys"][0]),
     "no kid twice"),
    (lambda d, i: d["issuers"][i.iss]["metadata"].update(iss="RU-99"), "another issuer"),
    (lambda d, i: d["issuers"][i.iss]["metadata"].update(status_lists=[]), "differ"),
    (lambda d, i: d["issuers"][i.iss]["jwks"]["keys"][0].update(x="AAAA"), "32 bytes"),
])
def test_damaged_documents_refused(synced, issuer, settings, mutate, match):
    doc = read_doc(settings.cache_dir)
    mutate(doc, issuer)
    write_doc(settings.cache_dir, doc)
    with pytest.raises(CacheError, match=match):
        cache.load(settings.cache_dir)


@pytest.mark.parametrize("raw", [b"", b"{not json", b'{"format": 1, "format": 1}', b"\xff\xfe"])
def test_unreadable_file_refused(tmp_path, raw):
    cache.cache_path(tmp_path).write_bytes(raw)
    with pytest.raises(CacheError, match="cache.json"):
        cache.load(tmp_path)


def test_holder_reloads_when_the_file_is_replaced(build, settings):
    a = FakeIssuer()
    b = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example")
    build(a)
    holder = CacheHolder(settings.cache_dir)
    first = holder.current()
    assert holder.current() is first  # not reloaded while unchanged
    assert not first.has_issuer(b.iss)
    build(a, b)
    second = holder.current()
    assert second is not first and second.has_issuer(b.iss)


def test_holder_without_a_file(tmp_path):
    holder = CacheHolder(tmp_path)
    assert holder.current().issuers == {}
    assert isinstance(holder.current(), TrustCache)
