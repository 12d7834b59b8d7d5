"""Registry data as the issuer keeps it: normal form, fingerprint, ids, and when validity ends."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.b64 import b64url_encode
from shared.credential import CATEGORIES, LARGE_FAMILY, HolderData, validate_holder_data
from shared.errors import InputError


_JTI_BYTES = 12
# A registry id: 1-64 letters (Latin or Cyrillic), digits and . _ / -, the first a letter or a
# digit. It is typed into the console, given to the CLI as an argument and written into CSV
# files that spreadsheets open: no spaces, no leading "-" (an option), "=", "+" or "@" (a formula).
REGISTRY_ID_PATTERN = r"[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё._/-]{0,63}"
REGISTRY_ID_RULE = ("1–64 символа: буквы, цифры и . _ / -, первый — буква или цифра, например "
                    "KHV-LF-000123 / 1-64 letters, digits and . _ / -, starting with a letter or a "
                    "digit, e.g. KHV-LF-000123")
_REGISTRY_ID = re.compile(REGISTRY_ID_PATTERN)
_ISO_SHAPE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Stand-ins that pass every check: each field is validated alone among them (`all_problems`).
_VALID_STAND_IN: dict[str, Any] = {
    "registry_id": "X", "region": "27", "children": 3, "category": next(iter(CATEGORIES)),
    "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": None,
               "birth_date": "2000-01-01"}}
_DATE_FIELDS_RU = {"birth_date": "дата рождения", "valid_until": "срок действия"}


def check_registry_id(value: str) -> str:
    if not _REGISTRY_ID.fullmatch(value):
        raise InputError(f"registry_id (номер в реестре): {REGISTRY_ID_RULE}",
                         code="invalid_registry_id")
    return value


def _check_day_exists(name: str, value: Any) -> None:
    """31.02.1950 is a date's shape without a date: say so, not "the format is YYYY-MM-DD"."""
    m = _ISO_SHAPE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return
    try:
        date.fromisoformat(value)
    except ValueError:
        year, month, day = m.groups()
        shown = f"{day}.{month}.{year}"
        raise InputError(f"{name} ({_DATE_FIELDS_RU[name]}): даты {shown} не существует, "
                         f"проверьте день и месяц / there is no such date as {shown}: check the "
                         "day and the month", code=f"invalid_{name}") from None


def validate(ctype: str, data: dict[str, Any], *, today: date) -> HolderData:
    """Registry data as the issuer accepts it: the format's checks (shared.credential) and the
    issuer's own (the registry id's pattern, a date that does not exist named as such)."""
    if isinstance(data, dict):
        holder = data.get("holder")
        if isinstance(holder, dict):
            _check_day_exists("birth_date", holder.get("birth_date"))
        _check_day_exists("valid_until", data.get("valid_until"))
    hd = validate_holder_data(ctype, data, today=today)
    check_registry_id(hd.registry_id)
    return hd


def all_problems(ctype: str, data: dict[str, Any], *, today: date) -> list[InputError]:
    """Every field's problem at once (`validate` stops at the first): each field is checked
    alone, the others replaced by values that pass. A form shows them all on its first submit."""
    try:
        validate(ctype, data, today=today)
        return []
    except InputError as first:
        problems = [first]
    stand_in = dict(_VALID_STAND_IN, valid_until=today.isoformat())
    fields = [("registry_id",), ("region",), ("valid_until",),
              ("children",) if ctype == LARGE_FAMILY else ("category",),
              *(("holder", part) for part in ("family_name", "given_name", "patronymic", "birth_date"))]
    for path in fields:
        trial = json.loads(json.dumps(stand_in))
        holder = data.get("holder") if isinstance(data.get("holder"), dict) else {}
        if path[0] == "holder":
            trial["holder"][path[1]] = holder.get(path[1])
        else:
            trial[path[0]] = data.get(path[0])
        try:
            validate(ctype, trial, today=today)
        except InputError as err:
            if err.code not in {p.code for p in problems}:
                problems.append(err)
    return problems
# Built once: json.dumps with options builds an encoder per call (an import makes 435,000).
_DATA_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def new_credential_ids(count: int) -> list[str]:
    """`count` jtis: 12 random bytes each, 16 base64url characters, never starting with "-" (the
    id is typed as a command-line argument, where a leading "-" reads as an option); from one
    read of the system's random source per round (a read per id costs an import more than the
    rest of making it)."""
    ids: list[str] = []
    while len(ids) < count:
        pool = secrets.token_bytes(_JTI_BYTES * (count - len(ids)))
        for start in range(0, len(pool), _JTI_BYTES):
            jti = b64url_encode(pool[start:start + _JTI_BYTES])
            if not jti.startswith("-"):
                ids.append(jti)
    return ids


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant after `day` in `tz`: valid_until is valid the whole of that day there."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def normalized_data(hd: HolderData) -> dict[str, Any]:
    """The registry data as stored and compared (what makes a re-import "unchanged")."""
    out: dict[str, Any] = {"type": hd.type, "registry_id": hd.registry_id,
                           "holder": hd.holder.to_dict(), "region": hd.region,
                           "valid_until": hd.valid_until.isoformat()}
    if hd.children is not None:
        out["children"] = hd.children
    if hd.category is not None:
        out["category"] = hd.category
    return out


def data_text(data: dict[str, Any]) -> str:
    """The registry data as the credentials table keeps it (`data`)."""
    return _DATA_JSON.encode(data)


def data_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL_JSON.encode(data).encode("utf-8")).hexdigest()


def search_key(text: str) -> str:
    """How names are compared in the console's search: casefolded, ё as е, single spaces."""
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").split()).casefold()[:200]
