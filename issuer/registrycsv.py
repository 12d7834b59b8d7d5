"""Reading a registry file: its rows validated, or refused with their line numbers.

Format (one header row, then one row per registry entry; see COLUMNS for Russian names):

    type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until

- encoding UTF-8 (with or without BOM) or Windows-1251, detected from the first chunk;
- delimiter `;` or `,`, whichever the header line uses more;
- dates YYYY-MM-DD or DD.MM.YYYY; `type` and `category` as codes or their Russian names;
- unknown extra columns are ignored; a registry_id repeated in one file: the later row wins.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, BinaryIO

from issuer import registry
from shared.credential import BENEFICIARY, CATEGORIES, LARGE_FAMILY, TYPES, HolderData
from shared.errors import InputError

SNIFF_BYTES = 64 * 1024
MAX_FIELD = 1024  # a field longer than this is not registry data (and caps csv's own buffer)
TODAY_EVERY = 1000  # rows validated against one reading of the clock (a read per row cost ~2%)

COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("type", "тип"),
    "registry_id": ("registry_id", "номер", "номер в реестре", "id"),
    "family_name": ("family_name", "фамилия"),
    "given_name": ("given_name", "имя"),
    "patronymic": ("patronymic", "отчество"),
    "birth_date": ("birth_date", "дата рождения"),
    "children": ("children", "дети", "число детей"),
    "category": ("category", "категория"),
    "region": ("region", "регион", "код региона"),
    "valid_until": ("valid_until", "действует до", "срок действия"),
}
REQUIRED = ("type", "registry_id", "family_name", "given_name", "birth_date", "region", "valid_until")
_TYPE_NAMES = {"многодетная семья": LARGE_FAMILY, "многодетные": LARGE_FAMILY,
               "многодетная": LARGE_FAMILY, "льготник": BENEFICIARY}
_DMY = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")


def _norm(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("ё", "е").replace("Ё", "Е").split()).casefold()


_ALIASES = {_norm(alias): field for field, aliases in COLUMNS.items() for alias in aliases}
_TYPES = {_norm(k): v for k, v in _TYPE_NAMES.items()} | {
    _norm(code): code for code in TYPES} | {_norm(t["ru"]): code for code, t in TYPES.items()}
_CATEGORIES = {_norm(code): code for code in CATEGORIES} | {
    _norm(c["ru"]): code for code, c in CATEGORIES.items()}

def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _read_head(stream: BinaryIO) -> bytes:
    """Up to SNIFF_BYTES from the start (a pipe may return less per read)."""
    parts, size = [], 0
    while size < SNIFF_BYTES:
        chunk = stream.read(SNIFF_BYTES - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _binary_lines(head: bytes, rest: BinaryIO) -> Iterator[bytes]:
    """The lines of `head` followed by the rest of the stream, never holding more than a line."""
    pending = b""
    for line in io.BytesIO(head):
        if line.endswith(b"\n"):
            yield line
        else:
            pending = line
    for line in rest:
        if pending:
            line, pending = pending + line, b""
        yield line
    if pending:
        yield pending


def _text_lines(lines: Iterator[bytes], encoding: str, bad_lines: set[int]) -> Iterator[str]:
    """Decode line by line (0x0A is a newline in both encodings), noting lines in the wrong one.

    Windows-1251 decodes any bytes, so a UTF-8 line in a cp1251 file would become plausible
    Cyrillic ("Р˜РІР°РЅРѕРІР°") and be issued as a name: a non-ASCII line that is valid UTF-8
    is refused instead (real cp1251 text almost never is).
    """
    for number, raw in enumerate(lines, start=1):
        if number == 1 and encoding == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        if encoding == "cp1251":
            if not raw.isascii() and _is_utf8(raw):
                bad_lines.add(number)
            yield raw.decode("cp1251", errors="replace")
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
            yield raw.decode("utf-8", errors="replace")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parsed_rows(stream: BinaryIO, today: Callable[[], date]) -> Iterator[tuple[int, HolderData | str]]:
    """(line, validated data) per row, or (line, why it is refused); raises InputError when the
    file as a whole is not a registry (binary, no header, header without its columns)."""
    if isinstance(stream, io.RawIOBase):
        stream = io.BufferedReader(stream)  # type: ignore[assignment]
    head = _read_head(stream)
    _refuse_binary(head)
    encoding = _detect_encoding(head)
    bad_lines: set[int] = set()
    lines = _text_lines(_binary_lines(head, stream), encoding, bad_lines)
    first = next(lines, None)
    if first is None or not first.strip():
        raise InputError("файл пуст или нет строки заголовка / the file is empty or has no header row",
                         code="invalid_csv")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as err:
        raise InputError(f"строка заголовка не читается / the header row cannot be read: {err}",
                         code="invalid_csv") from err
    fields = _header_fields(header)
    day, clock_in = today(), TODAY_EVERY
    previous_end = 1
    reader = csv.reader(_chain_first(first, lines), delimiter=delimiter, strict=True)
    next(reader)  # the header, already parsed
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            line = previous_end + 1
            previous_end = reader.line_num
            yield line, f"ошибка формата CSV / CSV syntax error: {err}"
            continue
        line, previous_end = previous_end + 1, reader.line_num
        if not row or not "".join(row).strip():
            continue  # blank lines are not rows
        if bad_lines:
            spanned = set(range(line, previous_end + 1))
            if bad_lines & spanned:
                bad_lines -= spanned
                yield line, "неверная кодировка строки / invalid text encoding in this line"
                continue
        if len(row) != len(header):
            yield line, (f"ожидалось столбцов: {len(header)}, получено: {len(row)} "
                         f"/ expected {len(header)} columns, got {len(row)}")
            continue
        clock_in -= 1
        if clock_in == 0:
            day, clock_in = today(), TODAY_EVERY
        try:
            yield line, _row_data(fields, row, day)
        except InputError as err:
            yield line, err.description


NOT_CSV = ("это не CSV-файл: сохраните реестр из таблицы как «CSV (разделитель — точка с запятой)» "
           "и загрузите его / this is not a CSV file: save the registry from the spreadsheet as "
           "CSV and upload that")
# What an operator picks up instead of the CSV: a spreadsheet, a PDF, a scan, an archive.
_BINARY_STARTS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff",
                  b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")


def _refuse_binary(head: bytes) -> None:
    if head.startswith(_BINARY_STARTS) or b"\x00" in head[:4096]:
        raise InputError(NOT_CSV, code="not_csv")


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _header_fields(header: list[str]) -> list[str | None]:
    fields: list[str | None] = [_ALIASES.get(_norm(name)) for name in header]
    if not any(fields):  # not one column of a registry: some other text file
        raise InputError("это не CSV-файл реестра: в первой строке нет ни одного столбца реестра; "
                         "ожидается заголовок / this is not a registry CSV file: its first line "
                         "names none of the registry's columns; expected the header: "
                         + ";".join(COLUMNS), code="not_csv")
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise InputError("в заголовке нет столбцов / the header lacks columns: " + ", ".join(missing)
                         + "; ожидается / expected: " + ";".join(COLUMNS), code="invalid_csv")
    repeated = {f for f in fields if f is not None and fields.count(f) > 1}
    if repeated:
        raise InputError("столбцы повторяются / repeated columns: " + ", ".join(sorted(repeated)),
                         code="invalid_csv")
    return fields


def _row_data(fields: list[str | None], row: list[str], today: date) -> HolderData:
    values = {f: cell.strip() for f, cell in zip(fields, row) if f is not None}
    if max(map(len, values.values())) > MAX_FIELD:
        raise InputError("слишком длинное значение / a value is too long")
    raw_type = values.get("type", "")
    ctype = raw_type if raw_type in TYPES else _TYPES.get(_norm(raw_type))
    if ctype is None:
        raise InputError(f"тип {raw_type!r} неизвестен (large_family или beneficiary) "
                         f"/ unknown type (large_family or beneficiary)", code="invalid_type")
    region = values.get("region", "")
    if len(region) == 1 and region.isdigit():
        region = "0" + region  # a spreadsheet dropped the leading zero of "05"
    data: dict[str, Any] = {
        "registry_id": values.get("registry_id", ""),
        "holder": {"family_name": values.get("family_name", ""),
                   "given_name": values.get("given_name", ""),
                   "patronymic": values.get("patronymic") or None,
                   "birth_date": _iso_date(values.get("birth_date", ""))},
        "region": region,
        "valid_until": _iso_date(values.get("valid_until", "")),
    }
    if ctype == LARGE_FAMILY:
        data["children"] = values.get("children", "")
    else:
        raw_category = values.get("category", "")
        data["category"] = (raw_category if raw_category in CATEGORIES
                            else _CATEGORIES.get(_norm(raw_category), raw_category))
    return registry.validate(ctype, data, today=today)


def _iso_date(text: str) -> str:
    """DD.MM.YYYY (what spreadsheets export) to YYYY-MM-DD; anything else is left to validation."""
    m = _DMY.fullmatch(text)
    if m:
        day, month, year = m.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text
