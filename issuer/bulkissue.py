"""Batch issuance for the registry import: the same outcomes as `IssuerService.reconcile_in` row
by row, in a constant number of statements per batch.

Per batch (inside the caller's write transaction): one query for the live credentials of every
registry_id in it, the status indexes allocated together (`StatusAllocator.reserve_many` and
`draw`), the claims handed to the signer (issuer.signpool: a second process when there is one),
then, while the tokens are being signed, one statement each for the replaced credentials, the
citizens' links of registry entries that had none (one insert; a query first only for entries
seen before) and the audit events (chained in row order); last, once the tokens are back, the new
credentials. A registry_id that occurs twice in a batch splits it, so the later row sees what the
earlier one wrote.

`start_batch` stops short of that last insert and returns it pending, so that the caller can
read its next rows while the tokens are signed; `PendingBatch.finish` waits for them and writes
the credentials. `reconcile_batch` does both at once.

The caller runs this in a SAVEPOINT: any error (a row the database refuses, an index taken by
another process in the meantime) rolls the whole batch back, and the caller redoes it row by
row, where each row retries or fails on its own and is reported by its line number.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, any_, bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from issuer.links import ensure_first_links
from issuer.registry import (data_hash, data_text, end_of_day, new_credential_ids, normalized_data,
                             search_key)
from issuer.storage import queries as store
from issuer.storage.models import CredentialRow
from shared.credential import Credential, HolderData, StatusRef
from shared.token import CREDENTIAL_TYP, sign

if TYPE_CHECKING:
    from issuer.service import IssuerService
    from issuer.signpool import TokenSigner

log = logging.getLogger("socpass.issuer")

Row = tuple[int, HolderData]  # (line number, validated data)
Outcomes = tuple[list[str], list[tuple[int, str]]]
_CREDENTIALS = CredentialRow.__table__


class PendingBatch:
    """A batch written but for its new credentials, whose tokens are being signed."""

    def __init__(self, outcomes: list[str], refused: list[tuple[int, str]],
                 last: "_PendingCredentials | None") -> None:
        self._outcomes = outcomes
        self._refused = refused
        self._last = last

    def finish(self) -> Outcomes:
        """Wait for the tokens, insert the credentials: the outcomes ("issued", "updated",
        "unchanged") and the rows refused without writing anything (a suspended credential)."""
        last, self._last = self._last, None
        if last is not None:
            last.insert()
        return self._outcomes, self._refused


def reconcile_batch(service: "IssuerService", session: Any, batch: Sequence[Row], *,
                    now: datetime, signer: "TokenSigner | None" = None) -> Outcomes:
    """Import many registry entries: their outcomes and the rows refused, as (line, message)."""
    return start_batch(service, session, batch, now=now, signer=signer).finish()


def start_batch(service: "IssuerService", session: Any, batch: Sequence[Row], *,
                now: datetime, signer: "TokenSigner | None" = None) -> PendingBatch:
    """Everything of `reconcile_batch` but the insert of the last group's credentials."""
    outcomes: list[str] = []
    refused: list[tuple[int, str]] = []
    pending: _PendingCredentials | None = None
    for group in _unique_groups(batch):
        if pending is not None:
            pending.insert()  # the next group must see these rows
        pending = _start_group(service, session, group, now, outcomes, refused, signer)
    return PendingBatch(outcomes, refused, pending)


def _unique_groups(batch: Sequence[Row]) -> Iterator[list[Row]]:
    """Consecutive runs of rows without a repeated registry_id."""
    group: list[Row] = []
    ids: set[str] = set()
    for line, hd in batch:
        if hd.registry_id in ids:
            yield group
            group, ids = [], set()
        group.append((line, hd))
        ids.add(hd.registry_id)
    if group:
        yield group


class _PendingCredentials:
    def __init__(self, session: Any, rows: list[dict[str, Any]],
                 tokens: Callable[[], list[str]]) -> None:
        self.session = session
        self.rows = rows
        self.tokens = tokens

    def insert(self) -> None:
        for row, token in zip(self.rows, self.tokens(), strict=True):
            row["token"] = token
        store.insert_many(self.session, _CREDENTIALS, self.rows)
        if log.isEnabledFor(logging.INFO):
            for row in self.rows:
                log.info("issued credential %s (%s) with key %s", row["id"], row["type"], row["kid"])


def _live_by_registry_id(session: Any, registry_ids: list[str]) -> dict[str, Any]:
    # The ids as one parameter (an array; in SQLite, JSON): an IN list of a batch's ids would be
    # thousands of parameters for SQLAlchemy and the driver to expand and convert one by one.
    c = CredentialRow
    if session.get_bind().dialect.name == "postgresql":
        wanted = c.registry_id == any_(bindparam("ids", registry_ids, type_=ARRAY(String)))
    else:
        wanted = c.registry_id.in_(select(literal_column("value")).select_from(
            func.json_each(bindparam("ids", json.dumps(registry_ids)))))
    return {r.registry_id: r for r in session.execute(
        select(c.id, c.registry_id, c.data_hash, c.expires_at, c.state, c.status_list_id)
        .where(wanted, c.state != "revoked").with_for_update())}


def _start_group(service: "IssuerService", session: Any, group: list[Row], now: datetime,
                 outcomes: list[str], refused: list[tuple[int, str]],
                 signer: "TokenSigner | None") -> _PendingCredentials | None:
    from issuer.service import REPLACED, suspended_refusal

    live = _live_by_registry_id(session, [hd.registry_id for _, hd in group])

    # Decide every row first: (hd, its normalised data, its hash, the credential it replaces).
    to_issue: list[tuple[HolderData, dict[str, Any], str, Any]] = []
    for line, hd in group:
        data = normalized_data(hd)
        digest = data_hash(data)
        old = live.get(hd.registry_id)
        if old is None:
            to_issue.append((hd, data, digest, None))
        elif old.data_hash == digest and old.expires_at > now:
            outcomes.append("unchanged")
        elif old.state == "suspended":
            refused.append((line, suspended_refusal().description))
        else:
            to_issue.append((hd, data, digest, old))
    if not to_issue:
        return None

    issuer = store.require_issuer(session)
    key_row, private_key = service.keyring.active(session)
    allocator = service._allocator(issuer)
    slots: list[tuple[str, str, int]] = []
    for list_id, uri, size, count in allocator.reserve_many(session, len(to_issue), now=now):
        slots.extend((list_id, uri, idx) for idx in allocator.draw(session, list_id, size, count))

    # The claims first, so that signing starts while the rest of the batch is written.
    iat = int(now.timestamp())
    expiry: dict[date, datetime] = {}
    jtis = new_credential_ids(len(to_issue))
    claims: list[dict[str, Any]] = []
    for (hd, _, _, _), (_, uri, idx), jti in zip(to_issue, slots, jtis):
        expires = expiry.get(hd.valid_until)
        if expires is None:
            expires = expiry[hd.valid_until] = end_of_day(hd.valid_until, service.tz)
        claims.append(Credential(type=hd.type, holder=hd.holder, region=hd.region,
                                 issuer=issuer.iss, issued_at=iat,
                                 expires_at=int(expires.timestamp()), jti=jti,
                                 status=StatusRef(idx=idx, uri=uri), children=hd.children,
                                 category=hd.category).to_claims())
    if signer is not None:
        tokens = signer.submit(claims, private_key, key_row.kid)
    else:
        signed = [sign(c, private_key, key_row.kid, CREDENTIAL_TYP) for c in claims]
        tokens = lambda: signed  # noqa: E731

    credentials: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for (hd, data, digest, old), (list_id, _, idx), jti in zip(to_issue, slots, jtis):
        credentials.append({
            "id": jti, "registry_id": hd.registry_id, "type": hd.type, "data": data_text(data),
            "data_hash": digest, "kid": key_row.kid, "status_list_id": list_id,
            "status_idx": idx, "state": "valid", "reason": None, "issued_at": now,
            "expires_at": expiry[hd.valid_until], "updated_at": now, "token": None,
            "replaced_by": None, "search_name": search_key(hd.holder.full_name)})
        if old is not None:
            replaced.append({"old_id": old.id, "new_id": jti, "list_id": old.status_list_id})
            events.append({"at": now, "actor": service.actor, "action": "revoke",
                           "credential_id": old.id, "reason": REPLACED,
                           "detail": {"registry_id": hd.registry_id, "before": old.state,
                                      "after": "revoked"}})
        events.append({"at": now, "actor": service.actor, "action": "issue", "credential_id": jti,
                       "kid": key_row.kid,
                       "detail": {"type": hd.type, "registry_id": hd.registry_id,
                                  "status_list": list_id, "before": None, "after": "valid"}})
        outcomes.append("issued" if old is None else "updated")

    if replaced:
        # Revoked before the new rows go in: one live credential per registry_id (unique index).
        session.execute(update(_CREDENTIALS).where(_CREDENTIALS.c.id == bindparam("old_id"))
                        .values(state="revoked", reason=REPLACED, updated_at=now,
                                replaced_by=bindparam("new_id")),
                        [{"old_id": r["old_id"], "new_id": r["new_id"]} for r in replaced])
        for list_id in sorted({r["list_id"] for r in replaced}):
            store.bump_list_version(session, list_id)
    # Every registry entry gets its citizen's link with its first credential (issuer.links).
    first = [hd.registry_id for hd, _, _, old in to_issue if old is None]
    again = [hd.registry_id for hd, _, _, old in to_issue if old is not None]
    ensure_first_links(session, service.keyring, first, now=now, actor=service.actor, fresh=True)
    ensure_first_links(session, service.keyring, again, now=now, actor=service.actor)
    store.add_events(session, events)
    return _PendingCredentials(session, credentials, tokens)
