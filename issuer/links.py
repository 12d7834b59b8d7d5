"""The citizens' private links `/w/<secret>`: one per registry entry, made with its first
credential (issue, API, import: `ensure_first_links`), a new one on request, switched off on
request, shown again, and exported in bulk for the state portal and letters.

A registry entry's links are numbered (generation 1, 2, ...); the secret of each is derived from
the link key (issuer.linkkey), so the live one can be handed out again at any time while the
database keeps only its hash. "New link" revokes the live one and makes the next generation;
"switch off" revokes it without a successor: the entry then stays without a link, through later
reissues and imports too, until someone makes a new one. Links are bound to the registry entry,
not to a credential: a reissued credential keeps the citizen's link.

Every hand-out of links (`show`, `export`) is an audit event naming who and how many; the links
themselves never go into the audit log or a log line.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from issuer.context import Context
from issuer.errors import NotFound
from issuer.keyring import Keyring
from issuer.linkkey import derive_secret, secret_hash
from issuer.registry import check_registry_id
from issuer.storage import links as link_queries
from issuer.storage import queries
from issuer.storage.audit import safe_cell
from issuer.storage.engine import Session, savepoint
from issuer.storage.errors import Conflict
from issuer.storage.models import WalletLink
from shared.errors import InputError

WALLET_PREFIX = "/w/"
CSV_COLUMNS = ("registry_id", "url", "state")
CHUNK = 2000  # rows read, and CSV lines written, per round trip
MAX_REGISTRY_IDS = 10_000
LISTED_IN_AUDIT = 20  # up to this many registry ids are named in the export's audit event
_IDS_SPLIT = re.compile(r"[\s,;]+")
_DMY = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")


def ensure_first_links(session: Session, keyring: Keyring, registry_ids: Sequence[str], *,
                       now: datetime, actor: str, fresh: bool = False) -> int:
    """Generation 1 for each of these registry entries that never had a derived link (one that
    was switched off stays off); returns how many were made. One query and one bulk insert.

    `fresh`: the caller found no live credential for any of them (a first import, nearly always
    entries never seen): the links are then inserted without asking first, in a SAVEPOINT, and
    only if the unique index on (registry_id, generation) refuses one is the question asked.
    That keeps a 435,000-row first import at one COPY per batch for its links.
    """
    wanted = list(dict.fromkeys(registry_ids))
    if not wanted:
        return 0
    key = keyring.link_key(session)
    assert key is not None

    def first_links(ids: Sequence[str]) -> list[dict[str, Any]]:
        return [{"registry_id": rid, "generation": 1,
                 "secret_hash": secret_hash(derive_secret(key, rid, 1)), "created_by": actor,
                 "created_at": now, "revoked_at": None} for rid in ids]

    if fresh:
        try:
            with savepoint(session):
                queries.insert_many(session, link_queries.LINKS, first_links(wanted))
            return len(wanted)
        except Conflict:
            pass  # some had a link (every credential of theirs revoked): ask, as below
    have = link_queries.with_derived_link(session, wanted)
    new = [rid for rid in wanted if rid not in have]
    queries.insert_many(session, link_queries.LINKS, first_links(new))
    return len(new)


def parse_since(text: str | None) -> date | None:
    """YYYY-MM-DD or DD.MM.YYYY; empty: no limit."""
    value = (text or "").strip()
    if not value:
        return None
    found = _DMY.fullmatch(value)
    try:
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        return date.fromisoformat(value)
    except ValueError as err:
        raise InputError("since: дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ / a date YYYY-MM-DD or DD.MM.YYYY",
                         code="invalid_date") from err


def parse_registry_ids(values: Iterable[str] | None) -> tuple[str, ...] | None:
    """Registry ids given one by one, or separated by spaces, commas, semicolons or lines."""
    ids: list[str] = []
    for value in values or ():
        ids.extend(part for part in _IDS_SPLIT.split(value) if part)
    if not ids:
        return None
    if len(ids) > MAX_REGISTRY_IDS:
        raise InputError(f"не больше {MAX_REGISTRY_IDS} номеров за раз / at most "
                         f"{MAX_REGISTRY_IDS} registry ids at a time", code="invalid_registry_id")
    for registry_id in ids:
        check_registry_id(registry_id)
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class ExportFilter:
    since: date | None = None  # links made, or credentials issued or changed, on or after that day
    registry_ids: tuple[str, ...] | None = None


class CitizenLinks:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- one registry entry ----------------------------------------------------------------------

    def new_link(self, credential_id: str) -> dict[str, Any]:
        """The next generation for the credential's registry entry; the live link stops working."""
        now = self.ctx.now()
        with self.ctx.store.write() as session:
            row = queries.get_credential(session, credential_id)
            revoked = _revoke_live(session, row.registry_id, now)
            generation = (link_queries.last_generation(session, row.registry_id) or 0) + 1
            key = self.ctx.keyring.link_key(session)
            assert key is not None
            secret = derive_secret(key, row.registry_id, generation)
            session.add(WalletLink(registry_id=row.registry_id, generation=generation,
                                   secret_hash=secret_hash(secret), created_by=self.ctx.actor,
                                   created_at=now))
            queries.add_event(session, at=now, actor=self.ctx.actor, action="wallet_link",
                            credential_id=row.id, detail={"registry_id": row.registry_id,
                                                          "generation": generation,
                                                          "previous_links_revoked": revoked})
            base = queries.require_issuer(session).url
        return _link(credential_id, base, secret, generation)

    def revoke_links(self, credential_id: str) -> dict[str, Any]:
        """Switch the registry entry's link off, without a successor."""
        now = self.ctx.now()
        with self.ctx.store.write() as session:
            row = queries.get_credential(session, credential_id)
            revoked = _revoke_live(session, row.registry_id, now)
            if revoked:
                queries.add_event(session, at=now, actor=self.ctx.actor, action="wallet_link_revoke",
                                credential_id=row.id, detail={"registry_id": row.registry_id,
                                                              "links_revoked": revoked})
        return {"credential_id": credential_id, "links_revoked": revoked}

    def show(self, credential_id: str) -> dict[str, Any]:
        """The live link of the credential's registry entry, handed out again (audited)."""
        now = self.ctx.now()
        with self.ctx.store.write() as session:
            row = queries.get_credential(session, credential_id)
            found = self._live_secret(session, row.registry_id)
            if found is None:
                raise NotFound("у записи нет действующей ссылки: создайте новую / the registry "
                               "entry has no live link: make a new one", code="no_link")
            secret, generation = found
            queries.add_event(session, at=now, actor=self.ctx.actor, action="wallet_link_show",
                            credential_id=row.id, detail={"registry_id": row.registry_id,
                                                          "generation": generation})
            base = queries.require_issuer(session).url
        return _link(credential_id, base, secret, generation)

    def url_of(self, credential_id: str) -> str | None:
        """The live link of a credential just issued, for the caller that issued it (the API):
        part of that issuance, not a separate hand-out."""
        with self.ctx.store.read() as session:
            row = queries.get_credential(session, credential_id)
            found = self._live_secret(session, row.registry_id)
            base = queries.require_issuer(session).url
        return None if found is None else base + WALLET_PREFIX + found[0]

    def link_info(self, credential_id: str) -> dict[str, Any] | None:
        """When the live link of the registry entry was made and by whom (never the secret)."""
        with self.ctx.store.read() as session:
            row = queries.get_credential(session, credential_id)
            link = link_queries.newest_live_link(session, row.registry_id)
            if link is None:
                return None
            return {"created_at": link.created_at.astimezone(self.ctx.tz).isoformat(),
                    "created_by": link.created_by, "generation": link.generation,
                    "exportable": link.generation is not None}

    def _live_secret(self, session: Session, registry_id: str) -> tuple[str, int] | None:
        generation = link_queries.live_generation(session, registry_id)
        if generation is None:
            return None
        key = self.ctx.keyring.link_key(session, create=False)
        if key is None:
            return None
        return derive_secret(key, registry_id, generation), generation

    # --- many ------------------------------------------------------------------------------------

    def backfill(self, registry_ids: Sequence[str] | None = None) -> int:
        """Links for registry entries whose credentials were issued before links were automatic
        (migration 0003), in transactions of CHUNK entries. Cheap when nothing is missing."""
        with self.ctx.store.read() as session:
            if not link_queries.any_without_link(session, registry_ids):
                return 0
        made, after = 0, ""
        while True:
            with self.ctx.store.write() as session:
                chunk = link_queries.registry_ids_after(session, after, registry_ids, CHUNK)
                if not chunk:
                    return made
                made += ensure_first_links(session, self.ctx.keyring, chunk, now=self.ctx.now(),
                                           actor=self.ctx.actor)
            after = chunk[-1]

    def export(self, filters: ExportFilter, *, channel: str) -> tuple[int, Iterator[str]]:
        """(rows, CSV text in pieces): registry_id, full link URL, the credential's state.

        Missing links are made first; then the export is an audit event (who, which filter, how
        many rows, `channel`: cli, console or api) committed before the first byte goes out.
        The CSV is streamed from the database CHUNK rows at a time, never held whole.
        """
        self.backfill(filters.registry_ids)
        now = self.ctx.now()
        since = self._since(filters.since)
        with self.ctx.store.write() as session:
            self.ctx.keyring.link_key(session)  # a wrong passphrase fails here, before the event
            rows = link_queries.count_exportable(session, since, filters.registry_ids)
            ids = filters.registry_ids
            detail: dict[str, Any] = {
                "rows": rows, "channel": channel,
                "since": filters.since.isoformat() if filters.since else None,
                "registry_ids": (list(ids) if ids and len(ids) <= LISTED_IN_AUDIT
                                 else len(ids) if ids else None)}
            queries.add_event(session, at=now, actor=self.ctx.actor, action="links_export",
                            detail=detail)
        return rows, self._csv(since, filters.registry_ids, now)

    def _since(self, day: date | None) -> datetime | None:
        return None if day is None else datetime.combine(day, time(0), tzinfo=self.ctx.tz)

    def _csv(self, since: datetime | None, registry_ids: tuple[str, ...] | None,
             now: datetime) -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        yield buf.getvalue()
        with self.ctx.store.read() as session:
            key = self.ctx.keyring.link_key(session, create=False)
            base = queries.require_issuer(session).url + WALLET_PREFIX
            after = 0
            while key is not None:
                chunk = link_queries.exportable_after(session, after, since, registry_ids, CHUNK)
                if not chunk:
                    return
                states = _current_states(session, [r.registry_id for r in chunk], now)
                buf.seek(0)
                buf.truncate()
                for _, rid, generation in chunk:
                    # safe_cell: a registry id is free text, and letters are merged in spreadsheets.
                    writer.writerow((safe_cell(rid), base + derive_secret(key, rid, generation),
                                     states.get(rid, "")))
                yield buf.getvalue()
                after = chunk[-1].id


def _link(credential_id: str, base: str, secret: str, generation: int) -> dict[str, Any]:
    path = WALLET_PREFIX + secret
    return {"credential_id": credential_id, "path": path, "url": base + path,
            "generation": generation}


def _revoke_live(session: Session, registry_id: str, now: datetime) -> int:
    live = link_queries.live_links(session, registry_id)
    for link in live:
        link.revoked_at = now
    return len(live)


def _current_states(session: Session, registry_ids: Sequence[str], now: datetime) -> dict[str, str]:
    """Each registry entry's state as the citizen's page shows it: that of its live credential
    (`expired` past its validity), else of its newest one."""
    best: dict[str, tuple[bool, datetime, str]] = {}
    for rid, state, issued_at, expires_at in link_queries.credential_states(session, registry_ids):
        shown = "expired" if state == "valid" and expires_at <= now else state
        rank = (state != "revoked", issued_at, shown)
        if rid not in best or rank[:2] > best[rid][:2]:
            best[rid] = rank
    return {rid: rank[2] for rid, rank in best.items()}
