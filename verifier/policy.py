"""What this venue grants, as data: a venue profile (museum, park, ...) of rules, first match wins.

A rule matches a credential `type` and, optionally, a list of beneficiary `categories`; its
`entitlement` is what the clerk is told (format and validation: shared/publication.py).
`"persons": "family"` means the two parents plus the children written in the credential.

Where a credential's rules come from, the first that applies:
1. the local override file (SOCPASS_VENUE_POLICY, `{"<profile>": {"rules": [...]}}`) when it
   names this venue's profile: the venue's own decision, for every issuer;
2. the rules the credential's own issuer published (`.well-known/socpass-entitlements.json`,
   synced with its keys): the ministry decides what its credentials grant. An issuer that
   publishes rules but none for this profile grants nothing here;
3. the built-in catalogue below (the issuer's default, issuer/entitlements.py), for an issuer
   that publishes no rules (an older issuer, or a USB stick written without them).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.credential import BENEFICIARY, LARGE_FAMILY, Credential
from shared.errors import ConfigError
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.publication import (FAMILY, EntitlementCatalogue, PublicationError, VenueProfile,
                                parse_profiles)
from shared.publication import entitlement_for as _grant

if TYPE_CHECKING:
    from verifier.cache import TrustCache

Profile = VenueProfile
# where an entitlement's rule came from (FEDERAL: the trust list's visitors' rules)
LOCAL, ISSUER, BUILTIN, FEDERAL = "local", "issuer", "builtin", "federal"
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

# Must equal issuer/entitlements.py's DEFAULT_PROFILES (a test holds them together).
BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "museum": {"name_ru": "Музей", "name_en": "Museum", "rules": _ENTRY_RULES},
    "park": {"name_ru": "Парк", "name_en": "Park", "rules": _ENTRY_RULES},
    "zoo": {"name_ru": "Зоосад", "name_en": "Zoo", "rules": _ENTRY_RULES},
    "sport": {"name_ru": "Спортивный объект", "name_en": "Sport venue", "rules": [
        {"type": LARGE_FAMILY, "entitlement": _FAMILY_FREE},
        {"type": BENEFICIARY, "categories": ["disability_1", "disabled_child"],
         "entitlement": _WITH_COMPANION},
        {"type": BENEFICIARY, "categories": ["disability_2", "disability_3", "combat_veteran",
                                             "svo_family"], "entitlement": _HOLDER_FREE},
        {"type": BENEFICIARY, "categories": ["pensioner", "low_income"], "entitlement": _HALF_PRICE},
    ]},
    "transport": {"name_ru": "Транспорт", "name_en": "Transport", "rules": [
        {"type": LARGE_FAMILY, "entitlement": _HALF_FARE},
        {"type": BENEFICIARY, "categories": ["pensioner", *_DISABILITY], "entitlement": _HALF_FARE},
    ]},
}


def entitlement_for(credential: Credential, profile: Profile) -> dict[str, Any] | None:
    """What `profile` grants this credential (a fresh dict); None means not_entitled."""
    return _grant(profile, credential.type, credential.category, credential.children)


def _parse(obj: Any, where: str) -> dict[str, Profile]:
    try:
        return parse_profiles(obj, where)
    except PublicationError as err:
        raise ConfigError(str(err)) from err


def _local_profiles(override: Path) -> dict[str, Profile]:
    try:
        local = loads_strict(Path(override).read_bytes())
    except OSError as err:
        raise ConfigError(f"SOCPASS_VENUE_POLICY {override}: {err.strerror}") from err
    except JSONFormatError as err:
        raise ConfigError(f"SOCPASS_VENUE_POLICY {override}: {err}") from err
    if not isinstance(local, dict):
        raise ConfigError(f"SOCPASS_VENUE_POLICY {override}: must be an object of profiles")
    return _parse(local, f"SOCPASS_VENUE_POLICY {override}")


def load_profiles(override: Path | None = None) -> dict[str, Profile]:
    """The built-in profiles, with those named in the override file replaced (or added)."""
    profiles = _parse(BUILTIN_PROFILES, "built-in policy")
    if override is not None:
        profiles.update(_local_profiles(override))
    return profiles


def load_profile(name: str, override: Path | None = None) -> Profile:
    profiles = load_profiles(override)
    if name not in profiles:
        raise ConfigError(f"SOCPASS_VENUE_PROFILE={name!r}: unknown profile; "
                          f"use one of {', '.join(sorted(profiles))}")
    return profiles[name]


@dataclass(frozen=True)
class VenuePolicy:
    """This venue's profile and where its rules come from (see the module docstring)."""

    name: str
    local: Profile | None    # from SOCPASS_VENUE_POLICY, overrides every issuer's rules
    builtin: Profile | None  # for issuers that publish no rules

    def rules_for(self, published: EntitlementCatalogue | None) -> tuple[Profile | None, str]:
        if self.local is not None:
            return self.local, LOCAL
        if published is not None:
            return published.profiles.get(self.name), ISSUER
        return self.builtin, BUILTIN

    def entitlement(self, credential: Credential,
                    published: EntitlementCatalogue | None) -> dict[str, Any] | None:
        profile, source = self.rules_for(published)
        if profile is None:
            return None
        granted = entitlement_for(credential, profile)
        if granted is not None:
            granted["source"] = source
        return granted

    def names(self, cache: "TrustCache | None" = None) -> tuple[str, str]:
        """The venue's name in Russian and English, for the page."""
        for profile in (self.local, self.builtin):
            if profile is not None:
                return profile.name_ru, profile.name_en
        for issuer in (cache.issuers.values() if cache is not None else ()):
            if issuer.entitlements and self.name in issuer.entitlements.profiles:
                found = issuer.entitlements.profiles[self.name]
                return found.name_ru, found.name_en
        return self.name, self.name


def load_policy(name: str, override: Path | None = None,
                cache: "TrustCache | None" = None) -> VenuePolicy:
    """The venue's policy; a profile nobody defines (built in, local file, synced issuers) is
    a configuration error."""
    builtin = _parse(BUILTIN_PROFILES, "built-in policy")
    local = _local_profiles(override) if override is not None else {}
    known = set(builtin) | set(local)
    for issuer in (cache.issuers.values() if cache is not None else ()):
        if issuer.entitlements is not None:
            known |= set(issuer.entitlements.profiles)
    if name not in known:
        raise ConfigError(f"SOCPASS_VENUE_PROFILE={name!r}: unknown profile; "
                          f"use one of {', '.join(sorted(known))}")
    return VenuePolicy(name=name, local=local.get(name), builtin=builtin.get(name))
