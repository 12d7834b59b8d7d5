"""The ministry's published entitlement rules: format, the issuer's route, sync into the cache."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from issuer.entitlements import DEFAULT_PROFILES, catalogue
from issuer.publishing import entitlements_json
from shared.publication import (ENTITLEMENTS_PATH, EntitlementCatalogue, PublicationError,
                                parse_profiles)
from tests.httpserve import serve_dir
from tests.verifier.fakeissuer import NOW, FakeIssuer
from tests.verifier.test_sync import cache_bytes
from verifier import cache
from verifier.sync import SyncError, sync

RULE = {"type": "large_family", "entitlement": {"kind": "free_entry", "persons": "family",
                                                "text_ru": "Семья: {persons} чел."}}


def doc(**profiles) -> dict:
    return {"format": 1, "iss": "RU-27", "profiles": profiles or {"museum": {"rules": [RULE]}}}


def test_the_default_catalogue_round_trips():
    published = catalogue("RU-27").to_json()
    assert published["format"] == 1 and published["iss"] == "RU-27"
    assert set(published["profiles"]) == {"museum", "park", "zoo", "sport", "transport"}
    again = EntitlementCatalogue.from_json(json.loads(json.dumps(published)))
    assert again == catalogue("RU-27")
    assert entitlements_json("RU-27") == published
    museum = again.profiles["museum"]
    assert (museum.name_ru, museum.name_en) == ("Музей", "Museum")


def test_optional_members_get_defaults():
    parsed = EntitlementCatalogue.from_json(doc())
    ent = parsed.profiles["museum"].rules[0].entitlement
    assert ent["text_en"] == ent["text_ru"] and ent["persons"] == "family"
    assert parsed.profiles["museum"].name_ru == "museum"


def _broken(change):
    d = copy.deepcopy(doc())
    change(d)
    return d


def _entitlement(d):
    return d["profiles"]["museum"]["rules"][0]["entitlement"]


@pytest.mark.parametrize("change, match", [
    (lambda d: d.update(format=2), "format must be 1"),
    (lambda d: d.pop("iss"), "format, iss and profiles"),
    (lambda d: d.update(extra=1), "format, iss and profiles"),
    (lambda d: d.update(profiles=[]), "object of profiles"),
    (lambda d: d["profiles"].update({"Museum!": {"rules": []}}), "lower-case word"),
    (lambda d: d["profiles"]["museum"].update(rules={}), "rules list"),
    (lambda d: d["profiles"]["museum"].update(colour="red"), "rules list"),
    (lambda d: d["profiles"]["museum"].update(rules=[RULE] * 101), "more than 100"),
    (lambda d: d["profiles"]["museum"]["rules"][0].update(type="vip"), "type must be"),
    (lambda d: d["profiles"]["museum"]["rules"][0].update(categories=["pensioner"]), "categories"),
    (lambda d: d["profiles"]["museum"]["rules"][0].pop("entitlement"), "a rule is an object"),
    (lambda d: _entitlement(d).pop("kind"), "kind and a text_ru"),
    (lambda d: _entitlement(d).update(kind="Free Entry"), "lower-case word"),
    (lambda d: _entitlement(d).update(url="https://x"), "kind and a text_ru"),
    (lambda d: _entitlement(d).update(persons=0), "persons"),
    (lambda d: _entitlement(d).update(persons=True), "persons"),
    (lambda d: _entitlement(d).update(percent=150), "percent"),
    (lambda d: _entitlement(d).update(text_ru=""), "1 to 200"),
    (lambda d: _entitlement(d).update(text_ru="Вход\u202eбесплатный"), "U\\+202E"),
    (lambda d: _entitlement(d).update(text_en="Free\x00"), "U\\+0000"),
    (lambda d: d["profiles"]["museum"].update(name_ru="Музей\u2066"), "U\\+2066"),
])
def test_refused_rules(change, match):
    with pytest.raises(PublicationError, match=match):
        EntitlementCatalogue.from_json(_broken(change))


def test_parse_profiles_is_the_one_validator():
    assert parse_profiles(DEFAULT_PROFILES, "x") == catalogue("X").profiles


# --- sync -----------------------------------------------------------------------------------


def test_rules_are_synced_from_a_directory(settings, publish):
    ministry = FakeIssuer(entitlements={"museum": {"rules": [RULE]}})
    summary = sync([str(publish(ministry))], settings.cache_dir, NOW)
    assert summary["issuers"][0]["entitlement_profiles"] == ["museum"]
    loaded = cache.load(settings.cache_dir)
    assert loaded.issuer(ministry.iss).entitlements.profiles["museum"].rules[0].type == "large_family"


def test_rules_are_synced_over_http_and_missing_is_fine(settings, tmp_path):
    root = tmp_path / "www"
    with_rules = FakeIssuer(entitlements={"museum": {"rules": [RULE]}})
    without = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    with_rules.publish(root / "a")
    without.publish(root / "b")
    with serve_dir(root) as base:
        summary = sync([base + "/a", base + "/b"], settings.cache_dir, NOW)
    assert [i["entitlement_profiles"] for i in summary["issuers"]] == [["museum"], None]


@pytest.mark.parametrize("content, match", [
    ("{not json", "invalid JSON"),
    ('{"format": 1, "iss": "RU-99", "profiles": {}}', "another issuer"),
    ('{"format": 1, "iss": "RU-27-MSZN", "profiles": {"museum": {"rules": "all"}}}', "rules list"),
])
def test_bad_rules_fail_the_sync_and_keep_the_old_cache(synced, issuer, settings, publish,
                                                       content, match):
    before = cache_bytes(settings)
    source = publish(issuer)
    (source / ENTITLEMENTS_PATH).write_text(content, "utf-8")
    with pytest.raises(SyncError, match=match):
        sync([str(source)], settings.cache_dir, NOW + 60)
    assert cache_bytes(settings) == before


def test_rules_too_large_fail_the_sync(issuer, settings, publish):
    source = publish(issuer)
    (source / ENTITLEMENTS_PATH).write_bytes(b" " * (256 * 1024 + 1))
    with pytest.raises(SyncError, match="larger than"):
        sync([str(source)], settings.cache_dir, NOW)


def test_a_hand_edited_cache_with_bad_rules_is_refused(issuer, settings, publish):
    sync([str(publish(issuer))], settings.cache_dir, NOW)
    path = cache.cache_path(settings.cache_dir)
    document = json.loads(path.read_text("utf-8"))
    document["issuers"][issuer.iss]["entitlements"] = {"format": 1, "iss": issuer.iss,
                                                       "profiles": {"museum": {"rules": 1}}}
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(cache.CacheError, match="rules list"):
        cache.load(settings.cache_dir)


# --- the issuer serves them -------------------------------------------------------------------


def test_the_issuer_serves_its_rules(tmp_path):
    from issuer.app import create_app
    from issuer.config import Settings as IssuerSettings
    from issuer.service import IssuerService

    settings = IssuerSettings.from_env({"SOCPASS_HOME": str(tmp_path / "ministry"),
                                        "SOCPASS_KEY_PASSPHRASE": "rules-test-passphrase"})
    service = IssuerService.open(settings, clock=lambda: datetime(2025, 6, 15, tzinfo=timezone.utc))
    try:
        service.init_issuer("RU-27", "Министерство социальной защиты", "https://szn.test/ru27",
                            region="27")
        client = create_app(settings, service).test_client()
        response = client.get("/" + ENTITLEMENTS_PATH)
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        body = response.get_json()
        assert EntitlementCatalogue.from_json(body) == catalogue("RU-27")
        assert ENTITLEMENTS_PATH in client.get("/").get_data(as_text=True)
    finally:
        service.close()
