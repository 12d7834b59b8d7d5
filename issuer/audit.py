"""The audit trail's hash chain, its verification and its CSV export.

Every event row carries `prev_hash` (the previous row's `hash`, or 64 zeros for the first) and
`hash` = SHA-256 over the canonical JSON of the row's content and `prev_hash`. Editing, deleting
or reordering a row breaks the chain at that row, which `socpass-issuer audit verify` names.
The database also refuses UPDATE and DELETE on `events` (triggers, migration 0002): the chain is
what catches someone who can bypass that (a DBA, a restored backup edited by hand).

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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.models import Event

GENESIS = "0" * 64
CSV_COLUMNS = ("id", "at", "actor", "action", "credential_id", "kid", "reason", "detail",
               "prev_hash", "hash")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _at(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(*, at: datetime, actor: str, action: str, credential_id: str | None,
               kid: str | None, reason: str | None, detail: str | None, prev_hash: str) -> str:
    content = {"at": _at(at), "actor": actor, "action": action, "credential_id": credential_id,
               "kid": kid, "reason": reason, "detail": detail, "prev_hash": prev_hash}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def row_hash(event: Event) -> str:
    return event_hash(at=event.at, actor=event.actor, action=event.action,
                      credential_id=event.credential_id, kid=event.kid, reason=event.reason,
                      detail=event.detail, prev_hash=event.prev_hash or "")


def last_hash(session: Session) -> str:
    found = session.scalars(select(Event.hash).order_by(Event.id.desc()).limit(1)).first()
    return found or GENESIS


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_broken: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "first_broken": self.first_broken,
                "problem": self.problem}


def verify_chain(rows: Iterable[Event]) -> VerifyResult:
    """Walk the rows in id order; the first row whose links or content do not match is named."""
    expected_prev = GENESIS
    count = 0
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
        expected_prev = event.hash
    return VerifyResult(True, count)


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
