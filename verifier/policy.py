"""What each kind of venue grants, as data: profiles of rules, first match wins.

A rule matches a credential `type` and, optionally, a list of beneficiary `categories`; its
`entitlement` is what the clerk is told. `"persons": "family"` means the two parents plus the
children written in the credential. A local JSON file (SOCPASS_VENUE_POLICY) of the form
`{"<profile>": {"rules": [...]}}` replaces the rules of the profiles it names (or adds profiles).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.credential import BENEFICIARY, CATEGORIES, LARGE_FAMILY, TYPES, Credential
from shared.errors import ConfigError
from shared.jsonstrict import JSONFormatError, loads_strict

FAMILY = "family"  # persons = 2 adults + children
_DISABILITY = ["disability_1", "disability_2", "disability_3", "disabled_child"]


def _free(persons: int | str, text_ru: str, text_en: str) -> dict[str, Any]:
    return {"kind": "free_entry", "persons": persons, "text_ru": text_ru, "text_en": text_en}


_FAMILY_FREE = _free(FAMILY, "Бесплатный вход для семьи: до {persons} чел.",
                     "Free entry for the family: up to {persons} persons")
_WITH_COMPANION = _free(2, "Бесплатный вход владельцу и 1 сопровождающему",
                        "Free entry for the holder and 1 companion")
_HOLDER_FREE = _free(1, "Бесплатный вход", "Free entry")
_HALF_FARE = {"kind": "fare_discount", "percent": 50, "persons": 1,
              "text_ru": "Скидка 50% на проезд", "text_en": "50% fare discount"}
_HALF_PRICE = {"kind": "discount", "percent": 50, "persons": 1,
               "text_ru": "Скидка 50% на посещение", "text_en": "50% discount on admission"}

_ENTRY_RULES = [
    {"type": LARGE_FAMILY, "entitlement": _FAMILY_FREE},
    {"type": BENEFICIARY, "categories": ["disability_1", "disabled_child"],
     "entitlement": _WITH_COMPANION},
    {"type": BENEFICIARY, "entitlement": _HOLDER_FREE},
]

BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "museum": {"name_ru": "Музей", "rules": _ENTRY_RULES},
    "park": {"name_ru": "Парк", "rules": _ENTRY_RULES},
    "zoo": {"name_ru": "Зоосад", "rules": _ENTRY_RULES},
    "sport": {"name_ru": "Спортивный объект", "rules": [
        {"type": LARGE_FAMILY, "entitlement": _FAMILY_FREE},
        {"type": BENEFICIARY, "categories": ["disability_1", "disabled_child"],
         "entitlement": _WITH_COMPANION},
        {"type": BENEFICIARY, "categories": ["disability_2", "disability_3", "combat_veteran",
                                             "svo_family"], "entitlement": _HOLDER_FREE},
        {"type": BENEFICIARY, "categories": ["pensioner", "low_income"], "entitlement": _HALF_PRICE},
    ]},
    "transport": {"name_ru": "Транспорт", "rules": [
        {"type": LARGE_FAMILY, "entitlement": _HALF_FARE},
        {"type": BENEFICIARY, "categories": ["pensioner", *_DISABILITY], "entitlement": _HALF_FARE},
    ]},
}

_RULE_MEMBERS = frozenset({"type", "categories", "entitlement"})


@dataclass(frozen=True)
class Rule:
    type: str
    categories: frozenset[str] | None  # None: any category
    entitlement: dict[str, Any]

    def matches(self, credential: Credential) -> bool:
        if credential.type != self.type:
            return False
        return self.categories is None or credential.category in self.categories


@dataclass(frozen=True)
class Profile:
    name: str
    name_ru: str
    rules: tuple[Rule, ...]


def entitlement_for(credential: Credential, profile: Profile) -> dict[str, Any] | None:
    """What `profile` grants this credential; None means not_entitled."""
    for rule in profile.rules:
        if rule.matches(credential):
            out = copy.deepcopy(rule.entitlement)
            if out.get("persons") == FAMILY:
                out["persons"] = 2 + (credential.children or 0)
            for lang in ("text_ru", "text_en"):
                if isinstance(out.get(lang), str):
                    out[lang] = out[lang].replace("{persons}", str(out.get("persons", "")))
            out["profile"] = profile.name
            return out
    return None


def _rule(obj: Any, where: str) -> Rule:
    if not isinstance(obj, dict) or not set(obj) <= _RULE_MEMBERS:
        raise ConfigError(f"{where}: a rule is an object with {', '.join(sorted(_RULE_MEMBERS))}")
    ctype, cats, ent = obj.get("type"), obj.get("categories"), obj.get("entitlement")
    if ctype not in TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(TYPES)}")
    if cats is not None:
        if ctype != BENEFICIARY or not isinstance(cats, list) or not cats \
                or any(c not in CATEGORIES for c in cats):
            raise ConfigError(f"{where}: categories must be a non-empty list of beneficiary "
                              f"categories ({', '.join(CATEGORIES)})")
        cats = frozenset(cats)
    if not isinstance(ent, dict) or not isinstance(ent.get("kind"), str) \
            or not isinstance(ent.get("text_ru"), str):
        raise ConfigError(f"{where}: entitlement needs at least a kind and a text_ru")
    persons = ent.get("persons", 1)
    if persons != FAMILY and (type(persons) is not int or persons < 1):
        raise ConfigError(f"{where}: persons must be a whole number from 1, or \"family\"")
    return Rule(type=ctype, categories=cats, entitlement=dict(ent))


def _profile(name: str, obj: Any, where: str) -> Profile:
    if not isinstance(obj, dict) or not isinstance(obj.get("rules"), list):
        raise ConfigError(f"{where}: profile {name!r} must be an object with a rules list")
    rules = tuple(_rule(r, f"{where}: {name} rule {i + 1}") for i, r in enumerate(obj["rules"]))
    return Profile(name=name, name_ru=str(obj.get("name_ru", name)), rules=rules)


def load_profiles(override: Path | None = None) -> dict[str, Profile]:
    """The built-in profiles, with those named in the override file replaced."""
    raw: dict[str, Any] = dict(BUILTIN_PROFILES)
    where = "built-in policy"
    if override is not None:
        where = str(override)
        try:
            local = loads_strict(Path(override).read_bytes())
        except OSError as err:
            raise ConfigError(f"SOCPASS_VENUE_POLICY {override}: {err.strerror}") from err
        except JSONFormatError as err:
            raise ConfigError(f"SOCPASS_VENUE_POLICY {override}: {err}") from err
        if not isinstance(local, dict):
            raise ConfigError(f"SOCPASS_VENUE_POLICY {override}: must be an object of profiles")
        raw.update(local)
    return {name: _profile(name, obj, where) for name, obj in raw.items()}


def load_profile(name: str, override: Path | None = None) -> Profile:
    profiles = load_profiles(override)
    if name not in profiles:
        raise ConfigError(f"SOCPASS_VENUE_PROFILE={name!r}: unknown profile; "
                          f"use one of {', '.join(sorted(profiles))}")
    return profiles[name]
