from __future__ import annotations

import fcntl
import json

import pytest

from shared.publication import JWKS_PATH, METADATA_PATH
from tests.httpserve import serve_dir
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier import cache
from verifier import sync as sync_mod
from verifier.service import Verifier
from verifier.sync import SyncError, sync


def cache_bytes(settings):
    return cache.cache_path(settings.cache_dir).read_bytes()


def test_sync_from_a_directory(issuer, settings, publish):
    source = str(publish(issuer))
    summary = sync([source], settings.cache_dir, NOW)
    assert summary["synced_at"] == NOW and summary["dropped"] == []
    assert summary["cache"] == str(cache.cache_path(settings.cache_dir))
    [entry] = summary["issuers"]
    assert entry == {"iss": issuer.iss, "name": issuer.name, "source": source, "keys": [issuer.kid],
                     "status_lists": [{"uri": issuer.list_uri(), "iat": issuer.list_iat,
                                       "exp": issuer.list_iat + 30 * 86400, "ttl": 86400,
                                       "size": issuer.list_size, "state": "fresh"}],
                     "entitlement_profiles": None}
    loaded = cache.load(settings.cache_dir)
    assert Verifier(loaded, settings).verify_text(issuer.qr(), NOW).code == "valid"


def test_sync_over_http_on_loopback(issuer, settings, publish, tmp_path):
    root = tmp_path / "www"
    publish_dir = issuer.publish(root / "szn27")  # served below a path prefix
    assert publish_dir.is_dir()
    with serve_dir(root) as base:
        summary = sync([base + "/szn27/"], settings.cache_dir, NOW)
    assert summary["issuers"][0]["source"] == base + "/szn27/"
    v = Verifier(cache.load(settings.cache_dir), settings)
    assert v.verify_text(issuer.qr(), NOW).code == "valid"


def test_two_issuers_one_over_http_one_from_a_directory(settings, publish, tmp_path):
    khv = FakeIssuer()
    prim = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25",
                      list_ids=("1", "2"))
    with serve_dir(publish(khv)) as base:
        summary = sync([base, str(publish(prim))], settings.cache_dir, NOW)
    assert [i["iss"] for i in summary["issuers"]] == [khv.iss, prim.iss]
    assert len(summary["issuers"][1]["status_lists"]) == 2
    v = Verifier(cache.load(settings.cache_dir), settings)
    assert v.verify_text(khv.qr(), NOW).code == "valid"
    assert v.verify_text(prim.qr(), NOW).code == "valid"


def test_failed_sync_leaves_the_old_cache(synced, issuer, settings, publish, tmp_path):
    before = cache_bytes(settings)
    good = str(publish(issuer))
    broken = publish(FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example"))
    (broken / JWKS_PATH).write_text("{}", "utf-8")
    with pytest.raises(SyncError) as err:
        sync([good, str(broken)], settings.cache_dir, NOW + 60)
    assert err.value.source == str(broken) and "keys" in err.value.reason
    assert cache_bytes(settings) == before


@pytest.mark.parametrize("damage, reason", [
    (lambda d, i: (d / METADATA_PATH).unlink(), "socpass-issuer.json is missing"),
    (lambda d, i: (d / METADATA_PATH).write_text("{oops", "utf-8"), "invalid JSON"),
    (lambda d, i: (d / METADATA_PATH).write_text('{"iss": "x"}', "utf-8"), "name missing"),
    (lambda d, i: (d / "status" / "1").unlink(), "status/1 is missing"),
    (lambda d, i: (d / "status" / "1").write_text(i.status_token(key=FakeIssuer().key, kid=i.kid),
                                                       "ascii"),
     "signature"),
    (lambda d, i: (d / "status" / "1").write_text(i.status_token(issuer="RU-99"), "ascii"),
     "refused"),
    (lambda d, i: (d / "status" / "1").write_text(i.status_token(uri=i.list_uri("2")), "ascii"),
     "sub"),
    (lambda d, i: (d / "status" / "1").write_bytes("токен".encode()), "not ASCII"),
])
def test_sync_errors_name_the_reason(issuer, settings, publish, damage, reason):
    source = publish(issuer)
    damage(source, issuer)
    with pytest.raises(SyncError, match=reason) as err:
        sync([str(source)], settings.cache_dir, NOW)
    assert str(source) in str(err.value)
    assert not cache.cache_path(settings.cache_dir).exists()


def test_no_sources(settings):
    with pytest.raises(SyncError, match="at least one"):
        sync([], settings.cache_dir, NOW)


def test_older_status_list_refused(synced, issuer, settings, publish):
    before = cache_bytes(settings)
    older = publish(issuer, iat=issuer.list_iat - 60)
    with pytest.raises(SyncError, match="older revocation data"):
        sync([str(older)], settings.cache_dir, NOW + 60)
    assert cache_bytes(settings) == before
    # The same list again, or a newer one, is fine.
    sync([str(publish(issuer))], settings.cache_dir, NOW + 60)
    summary = sync([str(publish(issuer, iat=NOW))], settings.cache_dir, NOW + 120)
    assert summary["issuers"][0]["status_lists"][0]["iat"] == NOW


def test_issuers_not_given_again_are_dropped(settings, publish):
    khv = FakeIssuer()
    prim = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example")
    sync([str(publish(khv)), str(publish(prim))], settings.cache_dir, NOW)
    summary = sync([str(publish(khv))], settings.cache_dir, NOW + 60)
    assert summary["dropped"] == [prim.iss]
    loaded = cache.load(settings.cache_dir)
    assert list(loaded.issuers) == [khv.iss]
    assert Verifier(loaded, settings).verify_text(prim.qr(), NOW).code == "untrusted_issuer"


def test_the_same_issuer_twice_refused(issuer, settings, publish):
    with pytest.raises(SyncError, match="already given"):
        sync([str(publish(issuer)), str(publish(issuer))], settings.cache_dir, NOW)


def test_a_damaged_cache_does_not_block_the_sync_that_repairs_it(issuer, settings, publish):
    settings.cache_dir.mkdir(parents=True)
    cache.cache_path(settings.cache_dir).write_text("{broken", "utf-8")
    summary = sync([str(publish(issuer))], settings.cache_dir, NOW)
    assert "invalid JSON" in summary["previous_cache_error"]
    assert cache.load(settings.cache_dir).has_issuer(issuer.iss)


def test_one_sync_at_a_time(issuer, settings, publish):
    settings.cache_dir.mkdir(parents=True)
    with open(settings.cache_dir / sync_mod.LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(SyncError, match="another sync"):
            sync([str(publish(issuer))], settings.cache_dir, NOW)


def test_summary_marks_stale_lists(issuer, settings, publish):
    summary = sync([str(publish(issuer, iat=NOW - 2 * 86400))], settings.cache_dir, NOW,
                   status_grace=3 * 86400)
    assert summary["issuers"][0]["status_lists"][0]["state"] == "stale"
    json.dumps(summary)


def test_unwritable_cache_directory(issuer, publish, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", "utf-8")
    with pytest.raises(SyncError, match="cannot write the cache"):
        sync([str(publish(issuer))], blocker / "cache", NOW)
