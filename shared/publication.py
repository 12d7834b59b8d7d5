"""What an issuer publishes for verifiers, as files under a base URL or in a directory.

The same relative paths serve HTTP (`GET <url>/<path>`) and `publish --out DIR` (a USB stick):
a verifier syncs from either with one code path.
"""
from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

METADATA_PATH = ".well-known/socpass-issuer.json"
JWKS_PATH = ".well-known/jwks.json"
STATUS_PREFIX = "status/"
# The federal operator's publication (docs/federation.md): the trust list, the aggregated bundle,
# and the root public keys for venues to pin (to be distributed out of band as well).
TRUST_LIST_PATH = ".well-known/socpass-trustlist.jwt"
BUNDLE_PATH = ".well-known/socpass-bundle.jwt"
ROOTS_PATH = "socpass-roots.json"
# The offline scanner app, beside either publication (docs/scanner.md): DIR/scan/index.html.
APP_PREFIX = "scan/"
STATUS_MEDIA_TYPE = "application/statuslist+jwt"
MAX_METADATA_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")


class PublicationError(ValueError):
    pass


@dataclass(frozen=True)
class IssuerMetadata:
    iss: str
    name: str
    url: str
    region: str | None
    timezone: str | None
    status_lists: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"iss": self.iss, "name": self.name, "url": self.url, "region": self.region,
                "timezone": self.timezone, "jwks_uri": self.url + "/" + JWKS_PATH,
                "status_lists": list(self.status_lists)}

    @classmethod
    def from_json(cls, obj: Any) -> "IssuerMetadata":
        if not isinstance(obj, dict):
            raise PublicationError("issuer metadata must be an object")
        iss, name, url = obj.get("iss"), obj.get("name"), obj.get("url")
        for label, value in (("iss", iss), ("name", name), ("url", url)):
            if not isinstance(value, str) or not value:
                raise PublicationError(f"issuer metadata: {label} missing")
        lists = obj.get("status_lists", [])
        if not isinstance(lists, list) or not all(isinstance(u, str) for u in lists):
            raise PublicationError("issuer metadata: status_lists must be a list of URIs")
        for uri in lists:
            relative_path(url, uri)
        region, tz = obj.get("region"), obj.get("timezone")
        return cls(iss=iss, name=name, url=url.rstrip("/"),
                   region=region if isinstance(region, str) else None,
                   timezone=tz if isinstance(tz, str) else None, status_lists=tuple(lists))


def status_list_uri(base_url: str, list_id: str) -> str:
    return base_url.rstrip("/") + "/" + STATUS_PREFIX + list_id


def relative_path(base_url: str, uri: str) -> str:
    """The path of a published URI below the issuer's base URL; refuses anything outside it."""
    base = base_url.rstrip("/") + "/"
    if not uri.startswith(base):
        raise PublicationError(f"{uri!r} is not below the issuer URL {base_url!r}")
    rel = uri[len(base):]
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") or not _SEGMENT.fullmatch(p) for p in parts):
        raise PublicationError(f"{uri!r} has an unsafe path")
    return posixpath.join(*parts)


# --- entitlement rules ------------------------------------------------------------------------
# What each kind of venue grants for each credential, as the ministry publishes it:
#
#   {"format": 1, "iss": "RU-27",
#    "profiles": {"museum": {"name_ru": "Музей", "name_en": "Museum", "rules": [
#        {"type": "large_family", "entitlement": {"kind": "free_entry", "persons": "family",
#             "text_ru": "Бесплатный вход для семьи: до {persons} чел.", "text_en": "…"}},
#        {"type": "beneficiary", "categories": ["disability_1"], "entitlement": {…}}]}}}
#
# Within a profile the first matching rule wins; a rule without `categories` matches every
# credential of its type. `persons` is a whole number or "family" (two parents plus the children
# written in the credential); `{persons}` in a text is replaced by the headcount. The texts are
# shown to a clerk, so control and bidi characters are refused here, like in holder names.

ENTITLEMENTS_PATH = ".well-known/socpass-entitlements.json"
ENTITLEMENTS_FORMAT = 1
MAX_ENTITLEMENTS_BYTES = 256 * 1024
FAMILY = "family"
MAX_TEXT = 200
MAX_PROFILES = 64
MAX_RULES = 100
_PROFILE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_RULE_MEMBERS = frozenset({"type", "categories", "entitlement"})
_ENTITLEMENT_MEMBERS = frozenset({"kind", "persons", "percent", "text_ru", "text_en"})
_PROFILE_MEMBERS = frozenset({"name_ru", "name_en", "rules"})


@dataclass(frozen=True)
class EntitlementRule:
    type: str
    categories: frozenset[str] | None  # None: every category of the type
    entitlement: dict[str, Any]        # kind, persons, percent?, text_ru, text_en?

    def matches(self, ctype: str, category: str | None) -> bool:
        return ctype == self.type and (self.categories is None or category in self.categories)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.categories is not None:
            out["categories"] = sorted(self.categories)
        out["entitlement"] = dict(self.entitlement)
        return out


@dataclass(frozen=True)
class VenueProfile:
    name: str
    name_ru: str
    name_en: str
    rules: tuple[EntitlementRule, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name_ru": self.name_ru, "name_en": self.name_en,
                "rules": [r.to_json() for r in self.rules]}


@dataclass(frozen=True)
class EntitlementCatalogue:
    """One issuer's published rules: its credentials' entitlements per venue profile."""

    iss: str
    profiles: dict[str, VenueProfile]

    def to_json(self) -> dict[str, Any]:
        return {"format": ENTITLEMENTS_FORMAT, "iss": self.iss,
                "profiles": {name: p.to_json() for name, p in self.profiles.items()}}

    @classmethod
    def from_json(cls, obj: Any) -> "EntitlementCatalogue":
        if not isinstance(obj, dict) or set(obj) != {"format", "iss", "profiles"}:
            raise PublicationError("entitlement rules must be an object with format, iss and profiles")
        if obj["format"] != ENTITLEMENTS_FORMAT:
            raise PublicationError(f"entitlement rules: format must be {ENTITLEMENTS_FORMAT}")
        if not isinstance(obj["iss"], str) or not obj["iss"]:
            raise PublicationError("entitlement rules: iss missing")
        return cls(iss=obj["iss"], profiles=parse_profiles(obj["profiles"], "entitlement rules"))


def _display_text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        raise PublicationError(f"{where}: a text of 1 to {MAX_TEXT} characters is expected")
    for ch in value:
        # Cc: control characters; Cf: format characters, bidi overrides and isolates among them.
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise PublicationError(f"{where}: control or bidi character U+{ord(ch):04X} refused")
    return value


def _entitlement(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or not set(obj) <= _ENTITLEMENT_MEMBERS \
            or not isinstance(obj.get("kind"), str) or not isinstance(obj.get("text_ru"), str):
        raise PublicationError(f"{where}: entitlement needs at least a kind and a text_ru "
                               f"(members: {', '.join(sorted(_ENTITLEMENT_MEMBERS))})")
    if not _KIND.fullmatch(obj["kind"]):
        raise PublicationError(f"{where}: kind must be a lower-case word such as free_entry")
    persons = obj.get("persons", 1)
    if persons != FAMILY and (type(persons) is not int or not 1 <= persons <= 99):
        raise PublicationError(f"{where}: persons must be a whole number from 1 to 99, or \"family\"")
    out: dict[str, Any] = {"kind": obj["kind"], "persons": persons}
    if "percent" in obj:
        if type(obj["percent"]) is not int or not 1 <= obj["percent"] <= 100:
            raise PublicationError(f"{where}: percent must be a whole number from 1 to 100")
        out["percent"] = obj["percent"]
    out["text_ru"] = _display_text(obj["text_ru"], f"{where}: text_ru")
    out["text_en"] = _display_text(obj.get("text_en", obj["text_ru"]), f"{where}: text_en")
    return out


def _entitlement_rule(obj: Any, where: str) -> EntitlementRule:
    from shared.credential import BENEFICIARY, CATEGORIES, TYPES

    if not isinstance(obj, dict) or not set(obj) <= _RULE_MEMBERS or "entitlement" not in obj:
        raise PublicationError(f"{where}: a rule is an object with "
                               f"{', '.join(sorted(_RULE_MEMBERS))}")
    ctype, cats = obj.get("type"), obj.get("categories")
    if ctype not in TYPES:
        raise PublicationError(f"{where}: type must be one of {', '.join(TYPES)}")
    if cats is not None:
        if ctype != BENEFICIARY or not isinstance(cats, list) or not cats \
                or any(c not in CATEGORIES for c in cats):
            raise PublicationError(f"{where}: categories must be a non-empty list of beneficiary "
                                   f"categories ({', '.join(CATEGORIES)})")
        cats = frozenset(cats)
    return EntitlementRule(type=ctype, categories=cats,
                           entitlement=_entitlement(obj["entitlement"], where))


def parse_profile(name: str, obj: Any, where: str) -> VenueProfile:
    if not _PROFILE_NAME.fullmatch(name):
        raise PublicationError(f"{where}: profile name {name!r} must be a lower-case word")
    if not isinstance(obj, dict) or not isinstance(obj.get("rules"), list) \
            or not set(obj) <= _PROFILE_MEMBERS:
        raise PublicationError(f"{where}: profile {name!r} must be an object with a rules list "
                               "(and optionally name_ru, name_en)")
    if len(obj["rules"]) > MAX_RULES:
        raise PublicationError(f"{where}: profile {name!r} has more than {MAX_RULES} rules")
    rules = tuple(_entitlement_rule(r, f"{where}: {name} rule {i + 1}")
                  for i, r in enumerate(obj["rules"]))
    name_ru = _display_text(obj.get("name_ru", name), f"{where}: {name} name_ru")
    name_en = _display_text(obj.get("name_en", name_ru), f"{where}: {name} name_en")
    return VenueProfile(name=name, name_ru=name_ru, name_en=name_en, rules=rules)


def parse_profiles(obj: Any, where: str) -> dict[str, VenueProfile]:
    """`{"<profile>": {"name_ru", "name_en", "rules": [...]}}`, validated; raises PublicationError."""
    if not isinstance(obj, dict):
        raise PublicationError(f"{where}: must be an object of profiles")
    if len(obj) > MAX_PROFILES:
        raise PublicationError(f"{where}: more than {MAX_PROFILES} profiles")
    return {name: parse_profile(name, p, where) for name, p in obj.items()}


def entitlement_for(profile: VenueProfile, ctype: str, category: str | None,
                    children: int | None) -> dict[str, Any] | None:
    """What `profile` grants a credential of this type and category (a fresh dict), or None."""
    for rule in profile.rules:
        if rule.matches(ctype, category):
            out = dict(rule.entitlement)
            if out.get("persons") == FAMILY:
                out["persons"] = 2 + (children or 0)
            for lang in ("text_ru", "text_en"):
                out[lang] = out[lang].replace("{persons}", str(out["persons"]))
            out["profile"] = profile.name
            return out
    return None
