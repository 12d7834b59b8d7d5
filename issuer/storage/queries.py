"""The queries of the use cases: plain functions over a session that `Store.write()` or
`Store.read()` handed out (issuer.storage.engine), and the SQL that differs between SQLite and
PostgreSQL, chosen here by the session's dialect so that no other module has to.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import String, Table, and_, any_, bindparam, case, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.storage import audit
from issuer.errors import NotFound, NotInitialized
from issuer.storage.models import CredentialRow, Event, Issuer, SigningKey, StatusListRow, UTCDateTime

_CREDENTIALS = CredentialRow.__table__
# Built once: json.dumps with options builds an encoder per call (an import writes 435,000).
_DETAIL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def get_issuer(session: Session) -> Issuer | None:
    return session.get(Issuer, 1)


def require_issuer(session: Session) -> Issuer:
    issuer = get_issuer(session)
    if issuer is None:
        raise NotInitialized()
    return issuer


def get_credential(session: Session, credential_id: str, *, for_update: bool = False) -> CredentialRow:
    stmt = select(CredentialRow).where(CredentialRow.id == credential_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(f"удостоверение {credential_id!r} не найдено / credential not found",
                       code="credential_not_found")
    return row


def live_credential(session: Session, registry_id: str, *, for_update: bool = False) -> CredentialRow | None:
    """The credential of a registry entry that is not revoked (at most one: a unique index)."""
    stmt = select(CredentialRow).where(CredentialRow.registry_id == registry_id,
                                       CredentialRow.state != "revoked")
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def live_by_registry_id(session: Session, registry_ids: Sequence[str]) -> dict[str, Any]:
    """The live (not revoked) credentials of these registry entries, locked, in one query: each
    as a row of id, registry_id, data_hash, expires_at, state, status_list_id."""
    # The ids as one parameter (an array; in SQLite, JSON): an IN list of a batch's ids would be
    # thousands of parameters for SQLAlchemy and the driver to expand and convert one by one.
    c = CredentialRow
    if session.get_bind().dialect.name == "postgresql":
        wanted = c.registry_id == any_(bindparam("ids", list(registry_ids), type_=ARRAY(String)))
    else:
        wanted = c.registry_id.in_(select(literal_column("value")).select_from(
            func.json_each(bindparam("ids", json.dumps(list(registry_ids))))))
    return {r.registry_id: r for r in session.execute(
        select(c.id, c.registry_id, c.data_hash, c.expires_at, c.state, c.status_list_id)
        .where(wanted, c.state != "revoked").with_for_update())}


def signing_keys(session: Session) -> Sequence[SigningKey]:
    return session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)).all()


def get_key(session: Session, kid: str, *, for_update: bool = False) -> SigningKey:
    stmt = select(SigningKey).where(SigningKey.kid == kid)
    if for_update:
        stmt = stmt.with_for_update()
    key = session.scalars(stmt).first()
    if key is None:
        raise NotFound(f"ключ {kid!r} не найден / key not found", code="key_not_found")
    return key


def active_key(session: Session) -> SigningKey | None:
    return session.scalars(select(SigningKey).where(SigningKey.state == "active")).first()


def live_counts_by_kid(session: Session, now: datetime) -> dict[str, int]:
    """How many unexpired, unrevoked credentials each key has signed."""
    stmt = (select(CredentialRow.kid, func.count())
            .where(CredentialRow.state != "revoked", CredentialRow.expires_at > now)
            .group_by(CredentialRow.kid))
    return {kid: n for kid, n in session.execute(stmt).all()}


def has_live_credentials(session: Session, kid: str, now: datetime) -> bool:
    stmt = select(CredentialRow.id).where(CredentialRow.kid == kid, CredentialRow.expires_at > now,
                                          CredentialRow.state != "revoked").limit(1)
    return session.scalars(stmt).first() is not None


def status_lists(session: Session) -> Sequence[StatusListRow]:
    return session.scalars(select(StatusListRow).order_by(StatusListRow.seq)).all()


def get_status_list(session: Session, list_id: str) -> StatusListRow:
    row = session.get(StatusListRow, list_id)
    if row is None:
        raise NotFound(f"список статусов {list_id!r} не найден / status list not found",
                       code="status_list_not_found")
    return row


def non_valid_entries(session: Session, list_id: str) -> list[tuple[int, str]]:
    stmt = (select(CredentialRow.status_idx, CredentialRow.state)
            .where(CredentialRow.status_list_id == list_id, CredentialRow.state != "valid"))
    return [(idx, state) for idx, state in session.execute(stmt).all()]


def revoke_replaced(session: Session, replaced: Sequence[tuple[str, str]], *, reason: str,
                    now: datetime) -> None:
    """Revoke each (credential id, id of the credential replacing it) in one statement."""
    session.execute(update(_CREDENTIALS).where(_CREDENTIALS.c.id == bindparam("old_id"))
                    .values(state="revoked", reason=reason, updated_at=now,
                            replaced_by=bindparam("new_id")),
                    [{"old_id": old_id, "new_id": new_id} for old_id, new_id in replaced])


def bump_list_version(session: Session, list_id: str) -> None:
    session.execute(update(StatusListRow).where(StatusListRow.id == list_id)
                    .values(version=StatusListRow.version + 1))


def add_event(session: Session, *, at: datetime, actor: str, action: str,
              credential_id: str | None = None, kid: str | None = None,
              reason: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Append to the audit trail, chained to the previous row (see issuer.storage.audit).

    Callers never put names, birth dates or tokens in `detail`.
    """
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
    session.flush()  # rows added earlier in this transaction come first in the chain
    prev = audit.chain_tip(session)
    digest = audit.event_hash(at=at, actor=actor, action=action, credential_id=credential_id,
                              kid=kid, reason=reason, detail=detail_text, prev_hash=prev)
    event = Event(at=at, actor=actor, action=action, credential_id=credential_id, kid=kid,
                  reason=reason, detail=detail_text, prev_hash=prev, hash=digest)
    session.add(event)
    session.flush()
    audit.advance_head(session, event.id, digest, at)


def add_events(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Append many events in one statement, chained in the order given (as `add_event` would).

    Each entry has the keyword arguments of `add_event`. The caller holds the write lock
    (`Store.write()`), so no other writer can append between the read of the last hash and
    this insert.
    """
    if not entries:
        return
    session.flush()
    prev = audit.chain_tip(session)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        at, detail = entry["at"], entry.get("detail")
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        row = {"at": at, "actor": entry["actor"], "action": entry["action"],
               "credential_id": entry.get("credential_id"), "kid": entry.get("kid"),
               "reason": entry.get("reason"),
               "detail": _DETAIL_JSON.encode(detail) if detail else None}
        row["prev_hash"] = prev
        row["hash"] = prev = audit.event_hash(prev_hash=prev, **{k: row[k] for k in _HASHED})
        rows.append(row)
    # Inserted in the order of `rows`: ids increase along the chain.
    insert_many(session, Event.__table__, rows)
    last_id = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    audit.advance_head(session, last_id, prev, rows[-1]["at"])


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT many rows (all with the same keys), in order, straight through the driver: COPY on
    PostgreSQL (one round trip), executemany on SQLite, the values converted by the columns' own
    bind processors. Bypassing SQLAlchemy's per-row statement handling is what keeps a 435,000-row
    import's extra tables (links, events) cheap. A refused row fails the whole call with
    sqlalchemy's IntegrityError, as an INSERT would: a Conflict out of `savepoint` or
    `Store.write()` (issuer.storage.errors)."""
    if not rows:
        return
    session.flush()  # what the ORM holds goes first (a status list these rows refer to)
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    converted = [(i, convert) for i, name in enumerate(columns)
                 if (convert := _converter(table.c[name].type, dialect)) is not None]
    pick = itemgetter(*columns)  # a row's values as a tuple, in C

    def values(row: dict[str, Any]) -> Sequence[Any]:
        found = pick(row)
        if not converted:
            return found if len(columns) > 1 else (found,)
        out = list(found) if len(columns) > 1 else [found]
        for i, convert in converted:
            out[i] = convert(out[i])
        return out

    dbapi_conn = session.connection().connection.driver_connection
    if dialect.name != "postgresql":
        import sqlite3

        statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                     f"VALUES ({', '.join('?' * len(columns))})")
        cursor = dbapi_conn.cursor()
        try:
            cursor.executemany(statement, [values(row) for row in rows])
        except sqlite3.IntegrityError as err:
            raise IntegrityError(statement, None, err) from err
        finally:
            cursor.close()
        return
    import psycopg

    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    try:
        with dbapi_conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(values(row))
    except psycopg.IntegrityError as err:
        raise IntegrityError(statement, None, err) from err


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column's bind processor as the dialect has it (SQLite: timestamps as the same text the
    ORM writes); for timestamps remembered per value, as the rows of a batch share most of
    theirs (`now`, one valid_until): each is converted once, not once per row."""
    bind = column_type.dialect_impl(dialect).bind_processor(dialect)
    if bind is None or not isinstance(column_type, UTCDateTime):
        return bind
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = bind(value)
            return converted
    return convert


_HASHED = ("at", "actor", "action", "credential_id", "kid", "reason", "detail")


def events(session: Session, *, credential_id: str | None = None) -> Sequence[Event]:
    stmt = select(Event).order_by(Event.id)
    if credential_id is not None:
        stmt = stmt.where(Event.credential_id == credential_id)
    return session.scalars(stmt).all()


def search_statement(*, query: str, name: str, state: str | None, ctype: str | None,
                     mode: str) -> tuple[Any, Any]:
    """(count, page) statements of the console's search, without limit and offset.

    `query` matches the credential id exactly, the registry id by prefix, and `name` (the query
    as `registry.search_key` normalises it) the holder's name, each through an index:
    `mode` "range" (SQLite: a btree range on the prefix, as LIKE is case-insensitive there and
    cannot use the index for Cyrillic), "trigram" (PostgreSQL with pg_trgm: any part of the name,
    three characters or more; shorter, the beginning) or "prefix" (PostgreSQL without pg_trgm:
    LIKE 'prefix%' on text_pattern_ops indexes).
    """
    c = CredentialRow
    conditions = []
    if query:
        if mode == "range":
            terms = [c.id == query, _prefix_range(c.registry_id, query)]
            if name:
                terms.append(_prefix_range(c.search_name, name))
        else:
            terms = [c.id == query, c.registry_id.like(_like_escape(query) + "%", escape="\\")]
            if name:
                pattern = _like_escape(name) + "%"
                if mode == "trigram" and len(name) >= 3:
                    pattern = "%" + pattern
                terms.append(c.search_name.like(pattern, escape="\\"))
        conditions.append(or_(*terms))
    if state and query:
        # Filtered after the search's own indexes: on "valid", nearly every row, the status index
        # would make SQLite (which has no statistics) walk the whole table.
        conditions.append(c.state.op("||")("") == state)
    elif state:
        conditions.append(c.state == state)
    if ctype:
        conditions.append(c.type == ctype)
    count = select(func.count()).select_from(c).where(*conditions)
    page = select(c).where(*conditions).order_by(c.issued_at.desc(), c.registry_id, c.id)
    return count, page


def search_credentials(session: Session, *, query: str, name: str, state: str | None,
                       ctype: str | None, limit: int, offset: int,
                       mode: str = "range") -> tuple[int, Sequence[CredentialRow]]:
    count, page = search_statement(query=query, name=name, state=state, ctype=ctype, mode=mode)
    total = session.scalar(count) or 0
    rows = session.scalars(page.limit(limit).offset(offset)).all()
    return total, rows


def _prefix_range(column: Any, prefix: str) -> Any:
    """`column` starts with `prefix`, as a range a btree serves: prefix <= column < successor,
    where the successor is the prefix with its last character incremented (UTF-8 sorts as code
    points, which is how SQLite compares text)."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return column >= prefix
    nxt = ord(stem[-1]) + 1
    if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not characters: skip them
        nxt = 0xE000
    return and_(column >= prefix, column < stem[:-1] + chr(nxt))


def credentials_of(session: Session, registry_id: str) -> Sequence[CredentialRow]:
    """Every credential of a registry entry: the live one first, then newest first."""
    revoked_last = case((CredentialRow.state == "revoked", 1), else_=0)
    return session.scalars(select(CredentialRow).where(CredentialRow.registry_id == registry_id)
                           .order_by(revoked_last, CredentialRow.issued_at.desc(),
                                     CredentialRow.id)).all()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_events(session: Session, *, action: str | None = None,
                actors: Sequence[str] | None = None, credential_id: str | None = None,
                before_id: int | None = None, limit: int = 100) -> Sequence[Event]:
    stmt = select(Event).order_by(Event.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(Event.action == action)
    if actors:
        stmt = stmt.where(Event.actor.in_(actors))
    if credential_id:
        stmt = stmt.where(Event.credential_id == credential_id)
    if before_id:
        stmt = stmt.where(Event.id < before_id)
    return session.scalars(stmt).all()
