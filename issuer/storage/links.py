"""The statements of the citizens' links (issuer.links, issuer.wallet): a registry entry's
generations, the live one, and the export's chunks.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from issuer.storage.models import CredentialRow, WalletLink

LINKS = WalletLink.__table__


def with_derived_link(session: Session, registry_ids: Sequence[str]) -> set[str]:
    """Those of `registry_ids` that ever had a derived link (switched off since or not)."""
    return set(session.scalars(select(LINKS.c.registry_id).where(
        LINKS.c.registry_id.in_(registry_ids), LINKS.c.generation.is_not(None))))


def last_generation(session: Session, registry_id: str) -> int | None:
    return session.scalar(select(func.max(WalletLink.generation)).where(
        WalletLink.registry_id == registry_id))


def live_generation(session: Session, registry_id: str) -> int | None:
    return session.scalar(select(func.max(WalletLink.generation)).where(
        WalletLink.registry_id == registry_id, WalletLink.revoked_at.is_(None)))


def live_links(session: Session, registry_id: str) -> Sequence[WalletLink]:
    return session.scalars(select(WalletLink).where(WalletLink.registry_id == registry_id,
                                                    WalletLink.revoked_at.is_(None))).all()


def newest_live_link(session: Session, registry_id: str) -> WalletLink | None:
    return session.scalars(select(WalletLink).where(
        WalletLink.registry_id == registry_id, WalletLink.revoked_at.is_(None))
        .order_by(WalletLink.created_at.desc(), WalletLink.id.desc())).first()


def link_by_secret_hash(session: Session, digest: str) -> WalletLink | None:
    return session.scalars(select(WalletLink).where(WalletLink.secret_hash == digest)).first()


def any_without_link(session: Session, registry_ids: Sequence[str] | None) -> bool:
    """Whether a credential's registry entry (of `registry_ids`, if given) never had a derived
    link."""
    c = CredentialRow
    without_link = ~exists().where(LINKS.c.registry_id == c.registry_id,
                                   LINKS.c.generation.is_not(None))
    probe = select(c.registry_id).where(without_link)
    if registry_ids:
        probe = probe.where(c.registry_id.in_(registry_ids))
    return session.scalars(probe.limit(1)).first() is not None


def registry_ids_after(session: Session, after: str, registry_ids: Sequence[str] | None,
                       limit: int) -> list[str]:
    """The next `limit` registry ids of credentials (of `registry_ids`, if given) in order."""
    c = CredentialRow
    stmt = (select(c.registry_id).where(c.registry_id > after).distinct()
            .order_by(c.registry_id).limit(limit))
    if registry_ids:
        stmt = stmt.where(c.registry_id.in_(registry_ids))
    return list(session.scalars(stmt))


def count_exportable(session: Session, since: datetime | None,
                     registry_ids: Sequence[str] | None) -> int:
    return session.scalar(select(func.count()).select_from(LINKS)
                          .where(*_export_conditions(since, registry_ids))) or 0


def exportable_after(session: Session, after: int, since: datetime | None,
                     registry_ids: Sequence[str] | None, limit: int) -> Sequence[Any]:
    """The next `limit` exportable links by id: rows of id, registry_id, generation."""
    return session.execute(
        select(LINKS.c.id, LINKS.c.registry_id, LINKS.c.generation)
        .where(LINKS.c.id > after, *_export_conditions(since, registry_ids))
        .order_by(LINKS.c.id).limit(limit)).all()


def _export_conditions(since: datetime | None, registry_ids: Sequence[str] | None) -> list[Any]:
    """Live, derived links; changed since: the link made, or a credential issued or changed."""
    conditions: list[Any] = [LINKS.c.revoked_at.is_(None), LINKS.c.generation.is_not(None)]
    if registry_ids:
        conditions.append(LINKS.c.registry_id.in_(registry_ids))
    if since is not None:
        c = CredentialRow
        conditions.append((LINKS.c.created_at >= since) | exists().where(
            c.registry_id == LINKS.c.registry_id, c.updated_at >= since))
    return conditions


def credential_states(session: Session, registry_ids: Iterable[str]) -> Sequence[Any]:
    """Every credential of these registry entries: rows of registry_id, state, issued_at,
    expires_at."""
    c = CredentialRow
    return session.execute(select(c.registry_id, c.state, c.issued_at, c.expires_at)
                           .where(c.registry_id.in_(registry_ids))).all()
