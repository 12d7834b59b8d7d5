"""The statements of background jobs (issuer.jobs): the queue, the claim, progress and the end."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer.storage.models import Job


def recent(session: Session, limit: int) -> Sequence[Job]:
    return session.scalars(select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)).all()


def requeue_stale(session: Session, cutoff: datetime) -> int:
    """Running jobs whose heartbeat is older than `cutoff` go back to the queue: how many."""
    result = session.execute(update(Job).where(Job.state == "running", Job.heartbeat_at < cutoff)
                             .values(state="queued"))
    return result.rowcount or 0


def oldest_queued(session: Session) -> str | None:
    return session.scalars(select(Job.id).where(Job.state == "queued")
                           .order_by(Job.created_at, Job.id).limit(1)).first()


def claim(session: Session, job_id: str, now: datetime) -> bool:
    """Whether this writer took the job: an atomic UPDATE, so two workers never both do."""
    claimed = session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                              .values(state="running", started_at=now, heartbeat_at=now))
    return claimed.rowcount == 1


def set_values(session: Session, job_id: str, **values: Any) -> None:
    """Progress, heartbeat, the end: the job's row updated without loading it."""
    session.execute(update(Job).where(Job.id == job_id).values(**values))
