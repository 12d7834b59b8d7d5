"""The audit trail's hash chain, its head, its verification and its CSV export.

Every event row carries `prev_hash` (the previous row's `hash`, or 64 zeros for the first) and
`hash` = SHA-256 over the canonical JSON of the row's content and `prev_hash`. Editing, deleting
or reordering a row breaks the chain at that row, which `socpass-issuer audit verify` names.
The database also refuses UPDATE and DELETE on `events` (triggers, migration 0002): the chain is
what catches someone who can bypass that (a DBA, a restored backup edited by hand).

A chain alone cannot tell that rows were cut from its end: what is left still links up. So the
head (the last row's id and hash) is kept in `audit_head`, moved forward in the same
transaction as every append, and a new row links to the head rather than to whatever row is
last: rows deleted from the end leave the head ahead of the table, and the next append leaves a
break in the chain, both of which `verify` reports. Someone who can rewrite both tables can still
cut the end consistently; against that the head is also printed (`audit head`, signed with the
issuer's key) to be kept outside the database, and `audit verify --expect-head SEQ:HASH` checks
the log still holds that row with that hash (docs/security.md).

Writers are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock taken by
`Store.write()`), so reading the last hash and appending cannot fork the chain.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.storage.models import AuditHead, Event
from shared.errors import InputError

GENESIS = "0" * 64
CSV_COLUMNS = ("id", "at", "actor", "action", "credential_id", "kid", "reason", "detail",
               "prev_hash", "hash")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Built once: json.dumps with options builds an encoder per call (an import hashes 435,000 rows).
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# The events of an import batch share one timestamp: spelled once, not once per row.
@lru_cache(maxsize=64)
def _at(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(*, at: datetime, actor: str, action: str, credential_id: str | None,
               kid: str | None, reason: str | None, detail: str | None, prev_hash: str) -> str:
    content = {"at": _at(at), "actor": actor, "action": action, "credential_id": credential_id,
               "kid": kid, "reason": reason, "detail": detail, "prev_hash": prev_hash}
    return hashlib.sha256(_CANONICAL_JSON.encode(content).encode("utf-8")).hexdigest()


def row_hash(event: Event) -> str:
    return event_hash(at=event.at, actor=event.actor, action=event.action,
                      credential_id=event.credential_id, kid=event.kid, reason=event.reason,
                      detail=event.detail, prev_hash=event.prev_hash or "")


def last_hash(session: Session) -> str:
    found = session.scalars(select(Event.hash).order_by(Event.id.desc()).limit(1)).first()
    return found or GENESIS


def read_head(session: Session) -> AuditHead | None:
    return session.get(AuditHead, 1)


def chain_tip(session: Session) -> str:
    """What the next row links to: the recorded head (so that rows cut from the end leave a
    break), or the last row where no head was ever recorded (an empty log)."""
    head = read_head(session)
    return head.hash if head is not None else last_hash(session)


def advance_head(session: Session, seq: int, digest: str, at: datetime) -> None:
    """Move the head to the row just appended, in the caller's (the append's) transaction."""
    head = read_head(session)
    if head is None:
        session.add(AuditHead(id=1, seq=seq, hash=digest, updated_at=at))
    else:
        head.seq, head.hash, head.updated_at = seq, digest, at
    session.flush()


def parse_head(text: str) -> tuple[int, str]:
    """`SEQ:HASH` as `audit verify` prints it."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise InputError("--expect-head: ожидается НОМЕР:ХЭШ (64 шестнадцатеричных знака) / "
                         "expected SEQ:HASH (64 hex digits)", code="invalid_head")
    return int(seq), digest


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_broken: int | None = None
    problem: str | None = None
    last_id: int = 0
    last_hash: str = GENESIS

    @property
    def head(self) -> str:
        return f"{self.last_id}:{self.last_hash}"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "first_broken": self.first_broken,
                "problem": self.problem, "head": self.head if self.ok else None}


def verify_chain(rows: Iterable[Event], *, expect: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the rows in id order; the first row whose links or content do not match is named.
    `expect` (seq, hash): a head kept outside the database, which must still be in the log."""
    expected_prev = GENESIS
    count, last_id = 0, 0
    seen_expected = expect is None or expect == (0, GENESIS)
    for event in rows:
        count += 1
        if event.prev_hash != expected_prev:
            return VerifyResult(False, count, event.id,
                                "prev_hash не совпадает с предыдущей записью (удалена или вставлена "
                                "запись) / prev_hash does not match the previous row (a row was "
                                "deleted or inserted)")
        if event.hash != row_hash(event):
            return VerifyResult(False, count, event.id,
                                "содержимое записи изменено / the row's content was altered")
        if expect is not None and event.id == expect[0]:
            if event.hash != expect[1]:
                return VerifyResult(False, count, event.id,
                                    "запись не совпадает с сохранённой головой журнала / the row "
                                    "differs from the head kept outside the database")
            seen_expected = True
        expected_prev, last_id = event.hash, event.id
    if not seen_expected:
        assert expect is not None
        return VerifyResult(False, count, expect[0],
                            f"записи {expect[0]} из сохранённой головы нет: конец журнала удалён / "
                            f"row {expect[0]} of the head kept outside is missing: the end of the "
                            "log was deleted")
    return VerifyResult(True, count, last_id=last_id, last_hash=expected_prev)


def check_head(result: VerifyResult, head: AuditHead | None) -> VerifyResult:
    """An intact chain must end where the recorded head says."""
    if not result.ok:
        return result
    if head is None:
        if result.events == 0:
            return result
        return VerifyResult(False, result.events, result.last_id,
                            "голова журнала не записана (удалена?) / the recorded head is missing")
    if (head.seq, head.hash) == (result.last_id, result.last_hash):
        return result
    if head.seq > result.last_id:
        return VerifyResult(False, result.events, result.last_id + 1,
                            f"журнал кончается записью {result.last_id}, а голова — запись "
                            f"{head.seq}: записи в конце удалены / the log ends at row "
                            f"{result.last_id} but the head records row {head.seq}: rows were "
                            "deleted from the end")
    return VerifyResult(False, result.events, head.seq + 1 if head.seq < result.last_id else head.seq,
                        f"голова журнала (запись {head.seq}) не совпадает с его концом: записи "
                        f"добавлены или изменены в обход издателя / the head (row {head.seq}) does "
                        "not match the end of the log: rows were written around the issuer")


def iter_events(session: Session, *, chunk: int = 2000) -> Iterator[Event]:
    """All events in id order, in chunks (the trail can hold millions of rows)."""
    after = 0
    while True:
        batch = session.scalars(select(Event).where(Event.id > after).order_by(Event.id)
                                .limit(chunk)).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id
        session.expunge_all()


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def event_row(event: Event) -> list[str]:
    return [safe_cell(v) for v in (event.id, _at(event.at), event.actor, event.action,
                                   event.credential_id, event.kid, event.reason, event.detail,
                                   event.prev_hash, event.hash)]


def csv_lines(events: Iterable[Event]) -> Iterator[str]:
    """UTF-8 CSV with a BOM (so Excel reads Cyrillic), one string per line."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    for event in events:
        buf.seek(0)
        buf.truncate()
        writer.writerow(event_row(event))
        yield buf.getvalue()
