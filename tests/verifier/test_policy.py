from __future__ import annotations

import json

import pytest

from shared.credential import CATEGORIES
from shared.errors import ConfigError
from tests.verifier.fakeissuer import FakeIssuer
from verifier.policy import BUILTIN_PROFILES, entitlement_for, load_profile, load_profiles

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
