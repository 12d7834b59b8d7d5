"""Batch issuance for the registry import: the same outcomes as `IssuerService.reconcile_in` row
by row, in a constant number of statements per batch.

Per batch (inside the caller's write transaction): one query for the live credentials of every
registry_id in it, the status indexes allocated together (`StatusAllocator.reserve_many` and
`draw`), the tokens signed in a tight loop, then one statement each for the replaced
credentials, the new credentials, the citizens' links of registry entries that had none (one
insert; a query first only for entries seen before), and the audit events (chained in row
order). A registry_id that occurs twice
in a batch splits it, so the later row sees what the earlier one wrote.

The caller runs this in a SAVEPOINT: any error (a row the database refuses, an index taken by
another process in the meantime) rolls the whole batch back, and the caller redoes it row by
row, where each row retries or fails on its own and is reported by its line number.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from issuer import store
from issuer.links import ensure_first_links
from issuer.models import CredentialRow
from issuer.registry import data_hash, end_of_day, new_credential_id, normalized_data, search_key
from shared.credential import Credential, HolderData, StatusRef
from shared.token import CREDENTIAL_TYP, sign

if TYPE_CHECKING:
    from issuer.service import IssuerService

log = logging.getLogger("socpass.issuer")

Row = tuple[int, HolderData]  # (line number, validated data)
_CREDENTIALS = CredentialRow.__table__


def reconcile_batch(service: "IssuerService", session: Any, batch: Sequence[Row], *,
                    now: datetime) -> tuple[list[str], list[tuple[int, str]]]:
    """Import many registry entries: their outcomes ("issued", "updated", "unchanged") and the
    rows refused without writing anything (a suspended credential), as (line, message)."""
    outcomes: list[str] = []
    refused: list[tuple[int, str]] = []
    for group in _unique_groups(batch):
        _reconcile_group(service, session, group, now, outcomes, refused)
    return outcomes, refused


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


def _reconcile_group(service: "IssuerService", session: Any, group: list[Row], now: datetime,
                     outcomes: list[str], refused: list[tuple[int, str]]) -> None:
    from issuer.service import REPLACED, suspended_refusal

    c = CredentialRow
    live = {r.registry_id: r for r in session.execute(
        select(c.id, c.registry_id, c.data_hash, c.expires_at, c.state, c.status_list_id)
        .where(c.registry_id.in_([hd.registry_id for _, hd in group]), c.state != "revoked")
        .with_for_update())}

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
        return

    issuer = store.require_issuer(session)
    key_row, private_key = service.keyring.active(session)
    allocator = service._allocator(issuer)
    slots: list[tuple[str, str, int]] = []
    for list_id, uri, size, count in allocator.reserve_many(session, len(to_issue), now=now):
        slots.extend((list_id, uri, idx) for idx in allocator.draw(session, list_id, size, count))

    iat = int(now.timestamp())
    expiry: dict[date, datetime] = {}
    credentials: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for (hd, data, digest, old), (list_id, uri, idx) in zip(to_issue, slots):
        expires = expiry.get(hd.valid_until)
        if expires is None:
            expires = expiry[hd.valid_until] = end_of_day(hd.valid_until, service.tz)
        jti = new_credential_id()
        claims = Credential(type=hd.type, holder=hd.holder, region=hd.region, issuer=issuer.iss,
                            issued_at=iat, expires_at=int(expires.timestamp()), jti=jti,
                            status=StatusRef(idx=idx, uri=uri), children=hd.children,
                            category=hd.category).to_claims()
        credentials.append({
            "id": jti, "registry_id": hd.registry_id, "type": hd.type,
            "data": json.dumps(data, ensure_ascii=False, sort_keys=True), "data_hash": digest,
            "kid": key_row.kid, "status_list_id": list_id, "status_idx": idx, "state": "valid",
            "reason": None, "issued_at": now, "expires_at": expires, "updated_at": now,
            "token": sign(claims, private_key, key_row.kid, CREDENTIAL_TYP), "replaced_by": None,
            "search_name": search_key(hd.holder.full_name)})
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
    store.insert_many(session, _CREDENTIALS, credentials)
    # Every registry entry gets its citizen's link with its first credential (issuer.links).
    first = [hd.registry_id for hd, _, _, old in to_issue if old is None]
    again = [hd.registry_id for hd, _, _, old in to_issue if old is not None]
    ensure_first_links(session, service.keyring, first, now=now, actor=service.actor, fresh=True)
    ensure_first_links(session, service.keyring, again, now=now, actor=service.actor)
    store.add_events(session, events)
    if log.isEnabledFor(logging.INFO):
        for row in credentials:
            log.info("issued credential %s (%s) with key %s", row["id"], row["type"], row["kid"])
