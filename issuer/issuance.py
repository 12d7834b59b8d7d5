"""Issuing credentials, one at a time (the console, the API, the CLI) or a registry import's batch.

Both ways share what issuing is: the decision (issue; unchanged; a suspended credential refused;
update, which replaces the live credential), the claims, the credentials row, the revocation of
the credential replaced and the audit events. They differ only in how they write:

- One at a time (`issue_one`, `reconcile_one`; also the import's fallback when a batch fails):
  the status index is placed by `StatusAllocator.place`, which retries a random index that
  another process took meanwhile, and the row goes in through the ORM.
- A batch (`start_batch`, then `PendingBatch.finish`), inside the caller's write transaction: one query
  for the live credentials of every registry_id in it, the status indexes allocated together
  (`StatusAllocator.reserve_many` and `draw`), the claims handed to the signer (issuer.signpool:
  a second process when there is one), then, while the tokens are being signed, one statement
  each for the replaced credentials, the citizens' links of registry entries that had none (one
  insert; a query first only for entries seen before) and the audit events (chained in row
  order); last, once the tokens are back, the new credentials. A registry_id that occurs twice
  in a batch splits it, so the later row sees what the earlier one wrote.

`start_batch` stops short of that last insert and returns it pending, so that the caller can
read its next rows while the tokens are signed; `PendingBatch.finish` waits for them and writes
the credentials. The caller runs a batch in a SAVEPOINT: any error (a row the database refuses,
an index taken by another process in the meantime) rolls the whole batch back, and the caller
redoes it row by row with `reconcile_one`, where each row retries or fails on its own.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from issuer.context import Context
from issuer.errors import AlreadyIssued, InvalidState
from issuer.links import ensure_first_links
from issuer.registry import (data_hash, data_text, end_of_day, new_credential_ids, normalized_data,
                             search_key)
from issuer.storage import queries
from issuer.storage.engine import Session
from issuer.storage.models import CredentialRow
from shared.credential import Credential, HolderData, StatusRef
from shared.token import CREDENTIAL_TYP, sign

if TYPE_CHECKING:
    from issuer.signpool import TokenSigner

log = logging.getLogger("socpass.issuer")

REPLACED = "replaced"
ISSUED, UPDATED, UNCHANGED = "issued", "updated", "unchanged"
Row = tuple[int, HolderData]  # (line number, validated data)
Outcomes = tuple[list[str], list[tuple[int, str]]]
_CREDENTIALS = CredentialRow.__table__


def suspended_refusal() -> InvalidState:
    """An import does not replace a suspended credential: the operator reinstates it first."""
    return InvalidState("удостоверение приостановлено: сначала возобновите его (reinstate) "
                        "/ the credential is suspended: reinstate it first")


# --- the decision ---------------------------------------------------------------------------------
# `live` is the registry entry's credential that is not revoked (queries.live_by_registry_id).


def decide_issue(live: Any, registry_id: str, *, now: datetime, replace: bool) -> str:
    """An operator's issue: ISSUED, or UPDATED when it replaces the live credential (only on
    request, unless that one has expired)."""
    if live is None:
        return ISSUED
    if live.expires_at > now and not replace:
        raise AlreadyIssued(
            f"у номера реестра {registry_id} уже есть действующее удостоверение {live.id}; "
            f"для замены используйте --replace / registry_id already has a live credential; "
            "use --replace to replace it")
    return UPDATED


def decide_import(live: Any, digest: str, *, now: datetime) -> str:
    """A registry row: ISSUED, UNCHANGED (same data, not expired) or UPDATED; a suspended
    credential is refused."""
    if live is None:
        return ISSUED
    if live.data_hash == digest and live.expires_at > now:
        return UNCHANGED
    if live.state == "suspended":
        raise suspended_refusal()
    return UPDATED


# --- what an issuance writes ------------------------------------------------------------------------


def claims(hd: HolderData, *, iss: str, now: datetime, expires: datetime, jti: str, idx: int,
           uri: str) -> dict[str, Any]:
    return Credential(type=hd.type, holder=hd.holder, region=hd.region, issuer=iss,
                      issued_at=int(now.timestamp()), expires_at=int(expires.timestamp()), jti=jti,
                      status=StatusRef(idx=idx, uri=uri), children=hd.children,
                      category=hd.category).to_claims()


def credential_values(hd: HolderData, data: dict[str, Any], digest: str, *, jti: str, kid: str,
                      list_id: str, idx: int, now: datetime, expires: datetime,
                      token: str | None) -> dict[str, Any]:
    """The credentials row, column by column."""
    return {"id": jti, "registry_id": hd.registry_id, "type": hd.type, "data": data_text(data),
            "data_hash": digest, "kid": kid, "status_list_id": list_id, "status_idx": idx,
            "state": "valid", "reason": None, "issued_at": now, "expires_at": expires,
            "updated_at": now, "token": token, "replaced_by": None,
            "search_name": search_key(hd.holder.full_name)}


def issue_event(ctx: Context, hd: HolderData, *, jti: str, kid: str, list_id: str,
                now: datetime) -> dict[str, Any]:
    return {"at": now, "actor": ctx.actor, "action": "issue", "credential_id": jti, "kid": kid,
            "detail": {"type": hd.type, "registry_id": hd.registry_id, "status_list": list_id,
                       "before": None, "after": "valid"}}


def revoke_event(ctx: Context, live: Any, *, now: datetime) -> dict[str, Any]:
    """The replaced credential's revocation."""
    return {"at": now, "actor": ctx.actor, "action": "revoke", "credential_id": live.id,
            "reason": REPLACED, "detail": {"registry_id": live.registry_id, "before": live.state,
                                           "after": "revoked"}}


def revoke_replaced(session: Session, replaced: Sequence[tuple[Any, str]], *, now: datetime) -> None:
    """Revoke each (live credential, the id of the one replacing it), in one statement, and
    mark their status lists changed. Before the new rows go in: one live credential per
    registry_id (a unique index)."""
    if not replaced:
        return
    queries.revoke_replaced(session, [(live.id, new_id) for live, new_id in replaced],
                            reason=REPLACED, now=now)
    for list_id in sorted({live.status_list_id for live, _ in replaced}):
        queries.bump_list_version(session, list_id)


def _log_issued(jti: str, ctype: str, kid: str) -> None:
    log.info("issued credential %s (%s) with key %s", jti, ctype, kid)


# --- one at a time ----------------------------------------------------------------------------------


def issue_one(ctx: Context, session: Session, hd: HolderData, *, now: datetime,
              replace: bool) -> CredentialRow:
    """Issue inside the caller's transaction; AlreadyIssued if a live credential is kept."""
    live = queries.live_by_registry_id(session, [hd.registry_id]).get(hd.registry_id)
    decide_issue(live, hd.registry_id, now=now, replace=replace)
    return _place(ctx, session, hd, live, now)


def reconcile_one(ctx: Context, session: Session, hd: HolderData, *, now: datetime) -> str:
    """Import one registry entry: ISSUED, UPDATED or UNCHANGED."""
    data = normalized_data(hd)
    live = queries.live_by_registry_id(session, [hd.registry_id]).get(hd.registry_id)
    outcome = decide_import(live, data_hash(data), now=now)
    if outcome != UNCHANGED:
        _place(ctx, session, hd, live, now)
    return outcome


def _place(ctx: Context, session: Session, hd: HolderData, live: Any,
           now: datetime) -> CredentialRow:
    """A new credential at a random status index, replacing `live` if there is one."""
    issuer = queries.require_issuer(session)
    key_row, private_key = ctx.keyring.active(session)
    data = normalized_data(hd)
    digest = data_hash(data)
    expires = end_of_day(hd.valid_until, ctx.tz)
    jti = new_credential_ids(1)[0]
    if live is not None:
        revoke_replaced(session, [(live, jti)], now=now)
        queries.add_event(session, **revoke_event(ctx, live, now=now))
        log.info("credential %s: revoke", live.id)

    def insert(status_list: Any, idx: int) -> CredentialRow:
        token = sign(claims(hd, iss=issuer.iss, now=now, expires=expires, jti=jti, idx=idx,
                            uri=status_list.uri), private_key, key_row.kid, CREDENTIAL_TYP)
        row = CredentialRow(**credential_values(hd, data, digest, jti=jti, kid=key_row.kid,
                                                list_id=status_list.id, idx=idx, now=now,
                                                expires=expires, token=token))
        session.add(row)
        session.flush()
        return row

    def on_conflict() -> None:
        if queries.live_credential(session, hd.registry_id) is not None:
            raise AlreadyIssued(f"номер реестра {hd.registry_id} только что выдан другим процессом "
                                "/ registry_id was just issued by another process")

    row = ctx.allocator(issuer).place(session, insert, now=now, on_conflict=on_conflict)
    ensure_first_links(session, ctx.keyring, [hd.registry_id], now=now, actor=ctx.actor)
    queries.add_event(session, **issue_event(ctx, hd, jti=row.id, kid=row.kid,
                                           list_id=row.status_list_id, now=now))
    _log_issued(row.id, row.type, row.kid)
    return row


# --- a batch ------------------------------------------------------------------------------------------


class PendingBatch:
    """A batch written but for its new credentials, whose tokens are being signed."""

    def __init__(self, outcomes: list[str], refused: list[tuple[int, str]],
                 last: "_PendingCredentials | None") -> None:
        self._outcomes = outcomes
        self._refused = refused
        self._last = last

    def finish(self) -> Outcomes:
        """Wait for the tokens, insert the credentials: the outcomes (ISSUED, UPDATED,
        UNCHANGED) and the rows refused without writing anything (a suspended credential)."""
        last, self._last = self._last, None
        if last is not None:
            last.insert()
        return self._outcomes, self._refused


def start_batch(ctx: Context, session: Session, batch: Sequence[Row], *,
                now: datetime, signer: "TokenSigner | None" = None) -> PendingBatch:
    """Import many registry entries, all but the insert of the last group's credentials:
    `PendingBatch.finish()` does that and gives the outcomes and the rows refused."""
    outcomes: list[str] = []
    refused: list[tuple[int, str]] = []
    pending: _PendingCredentials | None = None
    for group in _unique_groups(batch):
        if pending is not None:
            pending.insert()  # the next group must see these rows
        pending = _start_group(ctx, session, group, now, outcomes, refused, signer)
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
    def __init__(self, session: Session, rows: list[dict[str, Any]],
                 tokens: Callable[[], list[str]]) -> None:
        self.session = session
        self.rows = rows
        self.tokens = tokens

    def insert(self) -> None:
        for row, token in zip(self.rows, self.tokens(), strict=True):
            row["token"] = token
        queries.insert_many(self.session, _CREDENTIALS, self.rows)
        if log.isEnabledFor(logging.INFO):
            for row in self.rows:
                _log_issued(row["id"], row["type"], row["kid"])


def _start_group(ctx: Context, session: Session, group: list[Row], now: datetime,
                 outcomes: list[str], refused: list[tuple[int, str]],
                 signer: "TokenSigner | None") -> _PendingCredentials | None:
    live = queries.live_by_registry_id(session, [hd.registry_id for _, hd in group])

    # Decide every row first: (hd, its normalised data, its hash, the credential it replaces).
    to_issue: list[tuple[HolderData, dict[str, Any], str, Any]] = []
    for line, hd in group:
        data = normalized_data(hd)
        digest = data_hash(data)
        old = live.get(hd.registry_id)
        try:
            outcome = decide_import(old, digest, now=now)
        except InvalidState as err:
            refused.append((line, err.description))
            continue
        if outcome == UNCHANGED:
            outcomes.append(outcome)
        else:
            to_issue.append((hd, data, digest, old))
    if not to_issue:
        return None

    issuer = queries.require_issuer(session)
    key_row, private_key = ctx.keyring.active(session)
    allocator = ctx.allocator(issuer)
    slots: list[tuple[str, str, int]] = []
    for list_id, uri, size, count in allocator.reserve_many(session, len(to_issue), now=now):
        slots.extend((list_id, uri, idx) for idx in allocator.draw(session, list_id, size, count))

    # The claims first, so that signing starts while the rest of the batch is written.
    expiry: dict[date, datetime] = {}
    jtis = new_credential_ids(len(to_issue))
    batch_claims: list[dict[str, Any]] = []
    for (hd, _, _, _), (_, uri, idx), jti in zip(to_issue, slots, jtis):
        expires = expiry.get(hd.valid_until)
        if expires is None:
            expires = expiry[hd.valid_until] = end_of_day(hd.valid_until, ctx.tz)
        batch_claims.append(claims(hd, iss=issuer.iss, now=now, expires=expires, jti=jti, idx=idx,
                                   uri=uri))
    if signer is not None:
        tokens = signer.submit(batch_claims, private_key, key_row.kid)
    else:
        signed = [sign(c, private_key, key_row.kid, CREDENTIAL_TYP) for c in batch_claims]
        tokens = lambda: signed  # noqa: E731

    credentials: list[dict[str, Any]] = []
    replaced: list[tuple[Any, str]] = []
    events: list[dict[str, Any]] = []
    for (hd, data, digest, old), (list_id, _, idx), jti in zip(to_issue, slots, jtis):
        credentials.append(credential_values(hd, data, digest, jti=jti, kid=key_row.kid,
                                             list_id=list_id, idx=idx, now=now,
                                             expires=expiry[hd.valid_until], token=None))
        if old is not None:
            replaced.append((old, jti))
            events.append(revoke_event(ctx, old, now=now))
        events.append(issue_event(ctx, hd, jti=jti, kid=key_row.kid, list_id=list_id, now=now))
        outcomes.append(ISSUED if old is None else UPDATED)

    revoke_replaced(session, replaced, now=now)
    # Every registry entry gets its citizen's link with its first credential (issuer.links).
    first = [hd.registry_id for hd, _, _, old in to_issue if old is None]
    again = [hd.registry_id for hd, _, _, old in to_issue if old is not None]
    ensure_first_links(session, ctx.keyring, first, now=now, actor=ctx.actor, fresh=True)
    ensure_first_links(session, ctx.keyring, again, now=now, actor=ctx.actor)
    queries.add_events(session, events)
    return _PendingCredentials(session, credentials, tokens)
