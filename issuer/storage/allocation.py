"""The statements of status index allocation (issuer.statusalloc): each list's count of entries
handed out, the newest list, and which indexes of a list credentials already hold.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from issuer.storage.models import StatusListRow


def lock_for_counting(session: Session, list_id: str) -> Any:
    """The list's uri, size, allocated and seq, its row locked (PostgreSQL: FOR UPDATE; SQLite
    serialises writers) until commit; None if there is no such list."""
    return session.execute(
        select(StatusListRow.uri, StatusListRow.size, StatusListRow.allocated, StatusListRow.seq)
        .where(StatusListRow.id == list_id).with_for_update()).first()


def count_allocated(session: Session, list_id: str, count: int) -> None:
    session.execute(update(StatusListRow).where(StatusListRow.id == list_id)
                    .values(allocated=StatusListRow.allocated + count)
                    .execution_options(synchronize_session=False))


def reserve_one(session: Session, list_id: str, fill_divisor: int) -> bool:
    """Count one more entry if the list is less than 1/`fill_divisor` full: whether it was. The
    UPDATE row-locks the list until commit."""
    reserved = session.execute(
        update(StatusListRow)
        .where(StatusListRow.id == list_id,
               StatusListRow.allocated * fill_divisor < StatusListRow.size)
        .values(allocated=StatusListRow.allocated + 1)
        .returning(StatusListRow.id)
        .execution_options(synchronize_session=False)).first()
    return reserved is not None


def newest_list(session: Session) -> StatusListRow | None:
    """Read again from the database, not from the session: another writer may have opened one."""
    return session.scalars(select(StatusListRow).order_by(StatusListRow.seq.desc()).limit(1)
                           .execution_options(populate_existing=True)).first()


# One index probe per candidate. A plain `status_idx IN (...)` lets PostgreSQL, whose statistics
# lag behind a bulk import, scan every entry of the list through (status_list_id, state) per
# batch (quadratic over an import); a LATERAL subquery with LIMIT 1 stays a nested loop over
# the unique (status_list_id, status_idx) index whatever the statistics say.
_TAKEN_PG = text("SELECT c.idx FROM unnest(CAST(:candidates AS integer[])) AS c(idx) "
                 "CROSS JOIN LATERAL (SELECT 1 FROM credentials WHERE status_list_id = :list_id "
                 "AND status_idx = c.idx LIMIT 1) AS t")


# SQLite: the candidates as one JSON parameter, not an IN list of thousands of parameters (which
# SQLAlchemy expands and converts one by one).
_TAKEN_SQLITE = text("SELECT status_idx FROM credentials WHERE status_list_id = :list_id "
                     "AND status_idx IN (SELECT value FROM json_each(:candidates))")


def status_indexes_taken(session: Session, list_id: str, candidates: list[int]) -> set[int]:
    """Those of `candidates` that a credential of the list already holds (issuer.statusalloc)."""
    if session.get_bind().dialect.name == "postgresql":
        return set(session.scalars(_TAKEN_PG, {"candidates": candidates, "list_id": list_id}))
    return set(session.scalars(_TAKEN_SQLITE, {"candidates": json.dumps(candidates),
                                               "list_id": list_id}))
