"""The ministry's entitlement rules: what each kind of venue grants for each credential.

Published at `.well-known/socpass-entitlements.json` (format in shared/publication.py); venues
sync it with the keys and status lists and apply their own issuer's rules. This default
catalogue is the one the verifier falls back to for an issuer that publishes none.
"""
from __future__ import annotations

from typing import Any

from shared.publication import FAMILY, EntitlementCatalogue, parse_profiles

_DISABILITY = ["disability_1", "disability_2", "disability_3", "disabled_child"]

_FAMILY_FREE = {"kind": "free_entry", "persons": FAMILY,
                "text_ru": "Бесплатный вход для семьи: до {persons} чел.",
                "text_en": "Free entry for the family: up to {persons} persons"}
# Disability group I and disabled children: the holder needs a companion, who enters free too.
_WITH_COMPANION = {"kind": "free_entry", "persons": 2,
                   "text_ru": "Бесплатный вход владельцу и 1 сопровождающему",
                   "text_en": "Free entry for the holder and 1 companion"}
_HOLDER_FREE = {"kind": "free_entry", "persons": 1, "text_ru": "Бесплатный вход",
                "text_en": "Free entry"}
_HALF_FARE = {"kind": "fare_discount", "percent": 50, "persons": 1,
              "text_ru": "Скидка 50% на проезд", "text_en": "50% fare discount"}
_HALF_PRICE = {"kind": "discount", "percent": 50, "persons": 1,
               "text_ru": "Скидка 50% на посещение", "text_en": "50% discount on admission"}

_ENTRY_RULES: list[dict[str, Any]] = [
    {"type": "large_family", "entitlement": _FAMILY_FREE},
    {"type": "beneficiary", "categories": ["disability_1", "disabled_child"],
     "entitlement": _WITH_COMPANION},
    {"type": "beneficiary", "entitlement": _HOLDER_FREE},
]

DEFAULT_PROFILES: dict[str, dict[str, Any]] = {
    "museum": {"name_ru": "Музей", "name_en": "Museum", "rules": _ENTRY_RULES},
    "park": {"name_ru": "Парк", "name_en": "Park", "rules": _ENTRY_RULES},
    "zoo": {"name_ru": "Зоосад", "name_en": "Zoo", "rules": _ENTRY_RULES},
    "sport": {"name_ru": "Спортивный объект", "name_en": "Sport venue", "rules": [
        {"type": "large_family", "entitlement": _FAMILY_FREE},
        {"type": "beneficiary", "categories": ["disability_1", "disabled_child"],
         "entitlement": _WITH_COMPANION},
        {"type": "beneficiary", "categories": ["disability_2", "disability_3", "combat_veteran",
                                               "svo_family"], "entitlement": _HOLDER_FREE},
        {"type": "beneficiary", "categories": ["pensioner", "low_income"],
         "entitlement": _HALF_PRICE},
    ]},
    "transport": {"name_ru": "Транспорт", "name_en": "Transport", "rules": [
        {"type": "large_family", "entitlement": _HALF_FARE},
        {"type": "beneficiary", "categories": ["pensioner", *_DISABILITY],
         "entitlement": _HALF_FARE},
    ]},
}


def catalogue(iss: str, profiles: dict[str, Any] | None = None) -> EntitlementCatalogue:
    """The issuer's rules, validated exactly as a verifier will read them."""
    return EntitlementCatalogue(iss=iss, profiles=parse_profiles(
        DEFAULT_PROFILES if profiles is None else profiles, "issuer entitlement rules"))
