from __future__ import annotations

import dataclasses
import json

import pytest

from issuer.entitlements import DEFAULT_PROFILES
from shared.credential import CATEGORIES
from shared.errors import ConfigError
from shared.publication import parse_profiles
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier.devicestatus import device_status
from verifier import cache
from verifier.policy import (BUILTIN_PROFILES, VenuePolicy, entitlement_for, load_policy,
                             load_profile, load_profiles)

ISSUER = FakeIssuer()


def grant(profile: str, **credential):
    return entitlement_for(ISSUER.credential(**credential), load_profile(profile))


def test_museum_large_family_counts_parents_and_children():
    ent = grant("museum", children=5)
    assert ent == {"kind": "free_entry", "persons": 7, "profile": "museum",
                   "text_ru": "Бесплатный вход для семьи: до 7 чел.",
                   "text_en": "Free entry for the family: up to 7 persons"}


@pytest.mark.parametrize("category, persons", [("disability_1", 2), ("disabled_child", 2),
                                               ("disability_2", 1), ("pensioner", 1),
                                               ("svo_family", 1)])
def test_museum_beneficiaries(category, persons):
    ent = grant("museum", category=category)
    assert ent["kind"] == "free_entry" and ent["persons"] == persons


@pytest.mark.parametrize("category", ["pensioner", "disability_1", "disability_3", "disabled_child"])
def test_transport_half_fare(category):
    ent = grant("transport", category=category)
    assert ent["kind"] == "fare_discount" and ent["percent"] == 50
    assert ent["text_ru"] == "Скидка 50% на проезд"


def test_transport_large_family_half_fare_and_others_not_entitled():
    assert grant("transport")["text_ru"] == "Скидка 50% на проезд"
    assert grant("transport", category="low_income") is None
    assert grant("transport", category="combat_veteran") is None


def test_every_profile_answers_for_every_credential():
    for name, profile in load_profiles().items():
        assert name in BUILTIN_PROFILES
        assert entitlement_for(ISSUER.credential(), profile) is not None
        for category in CATEGORIES:
            ent = entitlement_for(ISSUER.credential(category=category), profile)
            assert ent is None or (ent["text_ru"] and ent["profile"] == name)


def test_entitlement_is_a_copy():
    profile = load_profile("museum")
    entitlement_for(ISSUER.credential(), profile)["text_ru"] = "changed"
    assert entitlement_for(ISSUER.credential(), profile)["text_ru"].startswith("Бесплатный")


def test_override_file_replaces_a_profile(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"museum": {"name_ru": "Музей истории", "rules": [
        {"type": "beneficiary", "categories": ["pensioner"],
         "entitlement": {"kind": "discount", "percent": 30, "text_ru": "Скидка 30%"}},
    ]}}, ensure_ascii=False), "utf-8")
    museum = load_profile("museum", path)
    assert museum.name_ru == "Музей истории"
    assert entitlement_for(ISSUER.credential(category="pensioner"), museum)["percent"] == 30
    assert entitlement_for(ISSUER.credential(), museum) is None  # large families: rule removed
    assert entitlement_for(ISSUER.credential(), load_profile("park", path)) is not None


@pytest.mark.parametrize("content, match", [
    ("{not json", "invalid JSON"),
    ("[]", "object of profiles"),
    ('{"museum": {"rules": "all"}}', "rules list"),
    ('{"museum": {"rules": [{"type": "vip", "entitlement": {}}]}}', "type must be"),
    ('{"museum": {"rules": [{"type": "beneficiary", "categories": ["king"], '
     '"entitlement": {"kind": "x", "text_ru": "y"}}]}}', "categories"),
    ('{"museum": {"rules": [{"type": "large_family", "entitlement": {"kind": "x"}}]}}', "text_ru"),
    ('{"museum": {"rules": [{"type": "large_family", "entitlement": '
     '{"kind": "x", "text_ru": "y", "persons": 0}}]}}', "persons"),
    ('{"museum": {"rules": [{"type": "large_family", "extra": 1, "entitlement": {}}]}}', "rule"),
])
def test_bad_override_files(tmp_path, content, match):
    path = tmp_path / "policy.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigError, match=match):
        load_profile("museum", path)


def test_missing_override_file(tmp_path):
    with pytest.raises(ConfigError, match="SOCPASS_VENUE_POLICY"):
        load_profile("museum", tmp_path / "nope.json")


def test_unknown_profile():
    with pytest.raises(ConfigError, match="museum, park, sport, transport, zoo"):
        load_profile("casino")


# --- where the rules come from: local file, the issuer's published rules, built-in ----------

ZOO_ONLY = {"zoo": {"name_ru": "Зоосад", "name_en": "Zoo", "rules": [
    {"type": "large_family", "entitlement": {"kind": "free_entry", "persons": 3,
                                             "text_ru": "Вход для троих", "text_en": "Three enter"}}]},
    "theatre": {"name_ru": "Театр", "name_en": "Theatre", "rules": [
        {"type": "beneficiary", "categories": ["disability_1"], "entitlement": {
            "kind": "discount", "percent": 30, "text_ru": "Скидка 30%", "text_en": "30% off"}}]}}


def test_builtin_catalogue_is_the_issuers_default():
    assert parse_profiles(BUILTIN_PROFILES, "x") == parse_profiles(DEFAULT_PROFILES, "x")


def test_issuer_published_rules_decide(build, settings):
    ministry = FakeIssuer(entitlements=ZOO_ONLY)
    zoo = build(ministry, settings_=dataclasses.replace(settings, venue_profile="zoo"))
    out = zoo.verify_text(ministry.qr(), NOW).to_json()
    assert out["entitlement"]["text_ru"] == "Вход для троих" and out["entitlement"]["source"] == "issuer"
    # the ministry publishes rules, none for beneficiaries at the zoo: nothing granted
    assert zoo.verify_text(ministry.qr(category="pensioner"), NOW).code == "not_entitled"


def test_issuer_with_rules_but_not_for_this_profile_grants_nothing(build, settings):
    ministry = FakeIssuer(entitlements=ZOO_ONLY)
    museum = build(ministry)  # settings: museum
    assert museum.verify_text(ministry.qr(), NOW).code == "not_entitled"


def test_each_issuer_decides_for_its_own_credentials(build, settings):
    ministry = FakeIssuer(entitlements=ZOO_ONLY)
    silent = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    zoo = build(ministry, silent,
                settings_=dataclasses.replace(settings, venue_profile="zoo"))
    assert zoo.verify_text(ministry.qr(), NOW).to_json()["entitlement"]["persons"] == 3
    builtin = zoo.verify_text(silent.qr(), NOW).to_json()["entitlement"]
    assert builtin["persons"] == 6 and builtin["source"] == "builtin"
    report = device_status(zoo, NOW)
    assert {i["iss"]: i["entitlement_rules"] for i in report["issuers"]} == {
        "RU-27-MSZN": "issuer", "RU-25-MSZN": "builtin"}


def test_local_file_overrides_the_issuer(build, settings, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"zoo": {"name_ru": "Зоосад «Приамурский»", "rules": [
        {"type": "large_family", "entitlement": {"kind": "free_entry", "persons": "family",
                                                 "text_ru": "Семья: {persons} чел."}}]}},
        ensure_ascii=False), "utf-8")
    ministry = FakeIssuer(entitlements=ZOO_ONLY)
    local = dataclasses.replace(settings, venue_profile="zoo", venue_policy=path)
    zoo = build(ministry, settings_=local)
    ent = zoo.verify_text(ministry.qr(children=5), NOW).to_json()["entitlement"]
    assert ent == {"kind": "free_entry", "persons": 7, "text_ru": "Семья: 7 чел.",
                   "text_en": "Семья: 7 чел.", "profile": "zoo", "source": "local"}
    assert zoo.policy.names() == ("Зоосад «Приамурский»", "Зоосад «Приамурский»")


def test_a_profile_only_an_issuer_publishes(build, settings):
    ministry = FakeIssuer(entitlements=ZOO_ONLY)
    build(ministry)  # sync
    synced = cache.load(settings.cache_dir)
    with pytest.raises(ConfigError, match="theatre"):
        load_policy("theatre", None, None)
    policy = load_policy("theatre", None, synced)
    assert isinstance(policy, VenuePolicy) and policy.names(synced) == ("Театр", "Theatre")
    ent = policy.entitlement(ISSUER.credential(category="disability_1"),
                             synced.issuer(ministry.iss).entitlements)
    assert ent["percent"] == 30 and ent["source"] == "issuer"


def test_english_names_of_builtin_profiles():
    assert load_policy("transport").names() == ("Транспорт", "Transport")
