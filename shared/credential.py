"""The credential's claims: two types, the category catalogue, validation of holder data.

Claim names are short because every byte costs QR modules; `to_claims`/`from_claims` are the
only places that know them.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.codes import Code
from shared.errors import InputError, TokenError

LARGE_FAMILY = "large_family"
BENEFICIARY = "beneficiary"
TYPES: dict[str, dict[str, str]] = {
    LARGE_FAMILY: {"ru": "Многодетная семья", "en": "Large family"},
    BENEFICIARY: {"ru": "Льготник", "en": "Beneficiary"},
}

CATEGORIES: dict[str, dict[str, str]] = {
    "disability_1": {"ru": "Инвалид I группы", "en": "Disability group I"},
    "disability_2": {"ru": "Инвалид II группы", "en": "Disability group II"},
    "disability_3": {"ru": "Инвалид III группы", "en": "Disability group III"},
    "disabled_child": {"ru": "Ребёнок-инвалид", "en": "Disabled child"},
    "combat_veteran": {"ru": "Ветеран боевых действий", "en": "Combat veteran"},
    "svo_family": {"ru": "Участник СВО и члены его семьи", "en": "SMO participant and family"},
    "pensioner": {"ru": "Пенсионер", "en": "Pensioner"},
    "low_income": {"ru": "Малоимущая семья", "en": "Low-income family"},
}

MAX_NAME_PART = 64
_REGION = re.compile(r"[0-9]{2,3}")
_NAME_PUNCT = frozenset(" -'.’")


# Not frozen: a frozen dataclass costs ~4x as much to build and a scan builds eight of these
# (docs/benchmarks.md, figure 1). Treated as immutable all the same.
@dataclass(slots=True)
class Holder:
    family_name: str
    given_name: str
    patronymic: str | None
    birth_date: str  # ISO date, the clerk compares it with an identity document

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.family_name, self.given_name, self.patronymic) if p)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family_name": self.family_name, "given_name": self.given_name}
        if self.patronymic:
            out["patronymic"] = self.patronymic
        out["birth_date"] = self.birth_date
        return out


@dataclass(slots=True)
class StatusRef:
    idx: int
    uri: str


@dataclass(slots=True)
class Credential:
    type: str
    holder: Holder
    region: str
    issuer: str
    issued_at: int
    expires_at: int
    jti: str
    status: StatusRef
    children: int | None = None
    category: str | None = None
    not_before: int | None = field(default=None)

    def to_claims(self) -> dict[str, Any]:
        # Order follows the QR compression dictionary, so repeated skeletons compress best.
        claims: dict[str, Any] = {"iss": self.issuer, "iat": self.issued_at}
        if self.not_before is not None:
            claims["nbf"] = self.not_before
        claims["exp"] = self.expires_at
        claims["jti"] = self.jti
        claims["t"] = self.type
        h: dict[str, Any] = {"f": self.holder.family_name, "g": self.holder.given_name}
        if self.holder.patronymic:
            h["p"] = self.holder.patronymic
        h["b"] = self.holder.birth_date
        claims["h"] = h
        if self.type == LARGE_FAMILY:
            claims["n"] = self.children
        else:
            claims["c"] = self.category
        claims["r"] = self.region
        claims["status"] = {"status_list": {"idx": self.status.idx, "uri": self.status.uri}}
        return claims

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> "Credential":
        """Read verified claims; anything out of shape is `malformed`."""
        try:
            return cls._from_claims(claims)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise TokenError(Code.MALFORMED, f"credential claims out of shape: {err}") from err

    @classmethod
    def _from_claims(cls, c: dict[str, Any]) -> "Credential":
        ctype = c["t"]
        if ctype not in TYPES:
            raise ValueError(f"unknown type {ctype!r}")
        h = c["h"]
        holder = Holder(_name(h["f"]), _name(h["g"]), _name(h["p"]) if "p" in h else None,
                        _iso_date(h["b"]))
        st = c["status"]["status_list"]
        idx, uri = st["idx"], st["uri"]
        if type(idx) is not int or idx < 0 or not isinstance(uri, str) or not uri:
            raise ValueError("bad status reference")
        children = category = None
        if ctype == LARGE_FAMILY:
            children = c["n"]
            if type(children) is not int or not 1 <= children <= 30:
                raise ValueError("bad children count")
        else:
            category = c["c"]
            if category not in CATEGORIES:
                raise ValueError(f"unknown category {category!r}")
        region = c["r"]
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ValueError("bad region")
        jti = c["jti"]
        if not isinstance(jti, str) or not 8 <= len(jti) <= 64:
            raise ValueError("bad jti")
        if type(c["exp"]) is not int or type(c["iat"]) is not int:
            raise ValueError("bad times")
        # Positional: keywords cost a third of this function (a scan builds one per QR code).
        return cls(ctype, holder, region, c["iss"], c["iat"], c["exp"], jti, StatusRef(idx, uri),
                   children, category, c.get("nbf"))

    def type_label(self, lang: str = "ru") -> str:
        label = TYPES[self.type][lang]
        if self.category:
            label += ": " + CATEGORIES[self.category][lang]
        return label

    def to_public_dict(self) -> dict[str, Any]:
        """What a venue sees (the Result's `credential`)."""
        out: dict[str, Any] = {"type": self.type, "type_label": self.type_label("ru"),
                               "issuer": self.issuer, "region": self.region,
                               "issued_at": self.issued_at, "expires_at": self.expires_at,
                               "holder": self.holder.to_dict()}
        if self.children is not None:
            out["children"] = self.children
        if self.category is not None:
            out["category"] = self.category
            out["category_label"] = CATEGORIES[self.category]["ru"]
        return out


def _iso_date(value: Any) -> str:
    # Parsed and spelled back: only the one YYYY-MM-DD spelling of a real date round-trips
    # (3.11's fromisoformat also takes 19880412 and other digits than ASCII).
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("date must be YYYY-MM-DD")
    try:
        if date.fromisoformat(value).isoformat() == value:
            return value
    except ValueError:
        pass
    raise ValueError("date must be YYYY-MM-DD")


_NAME_PUNCT_DELETE = str.maketrans("", "", "".join(_NAME_PUNCT))


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("name must be a string")
    # Fast path for the common case, all in C: letters (first as they are, which most names
    # are: translate() goes through a dict per character), NFC, no doubled or edge spaces. Anything else is judged character by character.
    if (0 < len(value) <= MAX_NAME_PART and (value.isalpha() or value.translate(_NAME_PUNCT_DELETE).isalpha())
            and "  " not in value and value[0] != " " and value[-1] != " "
            and unicodedata.is_normalized("NFC", value)):
        return value
    if value != normalize_name(value):
        raise ValueError("name not in normal form")
    return value


def normalize_name(value: str) -> str:
    """NFC, single spaces; refuses control, format (bidi) and symbol characters.

    Names are shown to a clerk who compares them with a passport: a bidi override or an
    invisible character would let two different-looking names be the same bytes, or the reverse.
    """
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text or len(text) > MAX_NAME_PART:
        raise ValueError(f"name must have 1 to {MAX_NAME_PART} characters")
    for ch in text:
        cat = unicodedata.category(ch)
        if not (cat.startswith("L") or cat.startswith("M") or ch in _NAME_PUNCT):
            raise ValueError(f"character {ch!r} is not allowed in a name")
    return text


@dataclass(frozen=True)
class HolderData:
    """Validated registry data for one credential (what `issue --data` and a CSV row carry)."""

    type: str
    registry_id: str
    holder: Holder
    region: str
    valid_until: date
    children: int | None = None
    category: str | None = None


_FIELD_RU = {"registry_id": "номер в реестре", "family_name": "фамилия", "given_name": "имя",
             "patronymic": "отчество", "birth_date": "дата рождения", "children": "число детей",
             "category": "категория", "region": "код региона", "valid_until": "срок действия"}


def _bad(field_name: str, why_ru: str, why_en: str) -> InputError:
    return InputError(f"{field_name} ({_FIELD_RU.get(field_name, field_name)}): {why_ru} / {why_en}",
                      code=f"invalid_{field_name}")


def validate_holder_data(ctype: str, data: dict[str, Any], *, today: date) -> HolderData:
    """Check registry data; every failure names the field, in Russian then English."""
    if ctype not in TYPES:
        raise InputError(f"тип удостоверения {ctype!r} неизвестен / unknown type; "
                         f"use {', '.join(TYPES)}", code="invalid_type")
    if not isinstance(data, dict):
        raise InputError("данные должны быть JSON-объектом / data must be a JSON object")
    registry_id = str(data.get("registry_id") or "").strip()
    if not registry_id or len(registry_id) > 64 or not registry_id.isprintable():
        raise _bad("registry_id", "обязателен, до 64 символов", "required, up to 64 characters")
    h = data.get("holder")
    if not isinstance(h, dict):
        raise _bad("holder", "нужен объект с ФИО и датой рождения", "an object with name and birth date")
    names: dict[str, str | None] = {}
    for part in ("family_name", "given_name", "patronymic"):
        raw = h.get(part)
        if raw in (None, "") and part == "patronymic":
            names[part] = None
            continue
        if not isinstance(raw, str):
            raise _bad(part, "обязательно", "required")
        try:
            names[part] = normalize_name(raw)
        except ValueError as err:
            raise _bad(part, "недопустимые символы или длина", str(err)) from err
    try:
        birth = date.fromisoformat(_iso_date(h.get("birth_date")))
    except ValueError as err:
        raise _bad("birth_date", "дата в формате ГГГГ-ММ-ДД", "a date YYYY-MM-DD") from err
    if not date(1900, 1, 1) <= birth <= today:
        raise _bad("birth_date", "дата вне допустимого диапазона", "out of range")
    region = str(data.get("region") or "").strip()
    if not _REGION.fullmatch(region):
        raise _bad("region", "код региона из 2–3 цифр, например 27", "a 2-3 digit region code, e.g. 27")
    try:
        valid_until = date.fromisoformat(_iso_date(data.get("valid_until")))
    except ValueError as err:
        raise _bad("valid_until", "дата в формате ГГГГ-ММ-ДД", "a date YYYY-MM-DD") from err
    if valid_until < today:
        raise _bad("valid_until", "срок действия уже истёк", "already in the past")
    if valid_until.year > today.year + 30:
        raise _bad("valid_until", "слишком далёкая дата", "too far in the future")
    children = category = None
    if ctype == LARGE_FAMILY:
        children = data.get("children")
        if isinstance(children, str) and children.strip().isdigit():
            children = int(children.strip())
        if type(children) is not int or not 3 <= children <= 30:
            raise _bad("children", "целое число от 3 до 30", "a whole number from 3 to 30")
    else:
        category = str(data.get("category") or "").strip()
        if category not in CATEGORIES:
            raise _bad("category", "код из справочника: " + ", ".join(CATEGORIES),
                       "a catalogue code")
    holder = Holder(family_name=names["family_name"], given_name=names["given_name"],  # type: ignore[arg-type]
                    patronymic=names["patronymic"], birth_date=birth.isoformat())
    return HolderData(type=ctype, registry_id=registry_id, holder=holder, region=region,
                      valid_until=valid_until, children=children, category=category)
