"""Registry import from CSV: streamed row by row, committed in batches, idempotent on registry_id.

Format (one header row, then one row per registry entry; see COLUMNS for Russian names):

    type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until

- encoding UTF-8 (with or without BOM) or Windows-1251, detected from the first chunk;
- delimiter `;` or `,`, whichever the header line uses more;
- dates YYYY-MM-DD or DD.MM.YYYY; `type` and `category` as codes or their Russian names;
- unknown extra columns are ignored; a registry_id repeated in one file: the later row wins.

Per registry_id: no live credential -> "issued"; same data as the live one -> "unchanged";
changed data -> the old one is revoked (reason "replaced") and a new one issued -> "updated".
A broken row is reported with its physical line number (the header is line 1); the others land.

Each batch is written in bulk (issuer.issuance: a constant number of statements per batch);
when that fails, the batch is rolled back and redone row by row in SAVEPOINTs, so the row at
fault is reported and the others still land. Its tokens are signed in a second process
(issuer.signpool) while this one writes the rest of the batch and reads the next one; the
batch's transaction stays open meanwhile, and a batch's outcomes and errors are counted when it
commits, so the summary and progress are what batch-after-batch writing gives.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import issuance, registry, store
from issuer.context import Context
from issuer.issuance import Outcomes
from issuer.signpool import TokenSigner
from shared.credential import BENEFICIARY, CATEGORIES, LARGE_FAMILY, TYPES, HolderData
from shared.errors import InputError, SocpassError

# Rows per transaction. Every commit writes out each index page its random keys (credential ids,
# status indexes) landed on, so fewer, larger batches write less: a 435,000-row import on SQLite
# took 49 s in batches of 5,000 against 65 s in batches of 1,000 (PostgreSQL: 45 s against 51 s),
# holding the write lock ~0.6 s at a time.
BATCH_SIZE = 5000
SNIFF_BYTES = 64 * 1024
MAX_ERRORS_LISTED = 1000
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


def import_registry(ctx: Context, source: str | Path | BinaryIO, *,
                    progress: Callable[[int], None] | None = None,
                    file_name: str | None = None) -> dict[str, Any]:
    """Import a registry file; each credential gets its own event, the run one more."""
    if file_name is None and isinstance(source, (str, Path)):
        file_name = Path(source).name
    try:
        summary = import_csv(ctx, source, progress=progress)
    except SocpassError as err:
        record_failed_import(ctx, file_name, err.code, err.description)
        raise
    with ctx.store.write() as session:
        store.add_event(session, at=ctx.now(), actor=ctx.actor, action="import",
                        detail={"file": file_name, "rows": summary["rows"],
                                "issued": summary["issued"], "updated": summary["updated"],
                                "unchanged": summary["unchanged"],
                                "rejected": summary["errors_total"]})
    return summary


def record_failed_import(ctx: Context, file_name: str | None, code: str, message: str) -> None:
    """A registry file refused as a whole (not a CSV, no header...) or an import that broke
    off is an audit event too: the log shows every attempt, not only the ones that ran."""
    with ctx.store.write() as session:
        store.add_event(session, at=ctx.now(), actor=ctx.actor, action="import_failed",
                        reason=message, detail={"file": file_name, "error": code})


def import_csv(ctx: Context, source: str | Path | BinaryIO, *,
               progress: Callable[[int], None] | None = None,
               batch_size: int | None = None) -> dict[str, Any]:
    """The rows of a registry file issued, updated or found unchanged: the summary (no audit
    event of the run: `import_registry` adds it)."""
    batch_size = batch_size or BATCH_SIZE
    summary: dict[str, Any] = {"issued": 0, "updated": 0, "unchanged": 0, "errors": [],
                               "errors_total": 0, "rows": 0}
    with ExitStack() as stack:
        if isinstance(source, (str, Path)):
            stream: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            stream = source
        connection = stack.enter_context(ctx.store.bulk_connection())
        signer = stack.enter_context(TokenSigner())
        chunks = _chunks(ctx, stream, batch_size)
        writing: _Batch | None = None  # a batch whose tokens are signed while the next is read
        while True:
            try:
                chunk = next(chunks, None)
            except BaseException:
                if writing is not None:  # what was read before the failure lands, as it would have
                    _count(summary, _finish(writing))
                raise
            if writing is not None:
                _count(summary, _finish(writing))
                writing = None
                if progress and chunk is not None:  # the last batch's is the final report
                    progress(summary["rows"])
            if chunk is None:
                break
            summary["rows"] += chunk.read
            for line, message in chunk.errors:
                _error(summary, line, message)
            if chunk.rows:
                writing = _start(ctx, chunk.rows, signer, connection)
    if progress:
        progress(summary["rows"])
    return summary


class _Chunk(NamedTuple):
    rows: list[tuple[int, HolderData]]  # a batch to write; empty: only rows refused while reading
    errors: list[tuple[int, str]]
    read: int  # rows read for this chunk, valid or not


def _chunks(ctx: Context, stream: BinaryIO, batch_size: int) -> Iterator[_Chunk]:
    """Batches of valid rows with the rows refused while reading them. Refused rows alone are
    handed over every `batch_size`, so that a file of broken rows is not held in memory."""
    rows: list[tuple[int, HolderData]] = []
    errors: list[tuple[int, str]] = []
    read = 0
    for line, item in _parsed_rows(ctx, stream):
        read += 1
        if isinstance(item, str):
            errors.append((line, item))
            if len(errors) >= batch_size:
                yield _Chunk([], errors, read)
                errors, read = [], 0
        else:
            rows.append((line, item))
            if len(rows) >= batch_size:
                yield _Chunk(rows, errors, read)
                rows, errors, read = [], [], 0
    if rows or errors or read:
        yield _Chunk(rows, errors, read)


def _count(summary: dict[str, Any], result: Outcomes) -> None:
    """Counted only once the batch is committed."""
    outcomes, failures = result
    for outcome in outcomes:
        summary[outcome] += 1
    for line, message in failures:
        _error(summary, line, message)


def _error(summary: dict[str, Any], line: int, message: str) -> None:
    summary["errors_total"] += 1
    if len(summary["errors"]) < MAX_ERRORS_LISTED:
        summary["errors"].append({"line": line, "message": message})


_Batch = Generator[None, None, Outcomes]


def _start(ctx: Context, batch: list[tuple[int, HolderData]], signer: TokenSigner,
           connection: Any) -> _Batch:
    """Begin writing a batch; `_finish` ends it. In between, its transaction stays open while
    the caller reads the next rows and the signer signs this batch's tokens."""
    writing = _write(ctx, batch, signer, connection)
    next(writing)
    return writing


def _finish(writing: _Batch) -> Outcomes:
    try:
        next(writing)
    except StopIteration as done:
        return done.value
    raise RuntimeError("a batch's writer yielded twice")


def _write(ctx: Context, batch: list[tuple[int, HolderData]], signer: TokenSigner,
           connection: Any) -> _Batch:
    """One transaction per batch, written in bulk; should that fail, the batch is redone row by
    row, each row in a SAVEPOINT, so a row that fails rolls back alone and is reported.
    Yields once: when all but the new credentials are written (their tokens being signed), or,
    redone row by row before getting there, once committed."""
    now = ctx.now()
    suspended = False
    with ctx.store.write(connection=connection) as session:
        try:
            with session.begin_nested():
                pending = issuance.start_batch(ctx, session, batch, now=now, signer=signer)
                suspended = True
                yield
                result = pending.finish()
        except (SocpassError, IntegrityError):
            result = _commit_rows(ctx, session, batch, now)
    if not suspended:
        yield
    return result


def _commit_rows(ctx: Context, session: Session, batch: list[tuple[int, HolderData]],
                 now: datetime) -> Outcomes:
    outcomes: list[str] = []
    failures: list[tuple[int, str]] = []
    for line, hd in batch:
        try:
            with session.begin_nested():
                outcomes.append(issuance.reconcile_one(ctx, session, hd, now=now))
        except SocpassError as err:
            failures.append((line, err.description))
    return outcomes, failures


# --- reading ------------------------------------------------------------------------------------


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


def _parsed_rows(ctx: Context, stream: BinaryIO) -> Iterator[tuple[int, HolderData | str]]:
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
    today, clock_in = ctx.today(), TODAY_EVERY
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
            today, clock_in = ctx.today(), TODAY_EVERY
        try:
            yield line, _row_data(fields, row, today)
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
