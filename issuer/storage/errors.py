"""What storage raises when the database refuses or fails: the modules above storage catch these,
never SQLAlchemy's own: `storage_errors` turns one into the other at storage's edges (opening a
`Store`, its transactions, `savepoint`).

Not SocpassErrors on purpose: a database failure is not an input or configuration error, and the
callers that catch SocpassError (an import reporting a row, a job recording its end) must let it
through as they let SQLAlchemy's through.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError


class DatabaseError(Exception):
    """The database failed; `kind` names the error as the database layer reported it."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class Conflict(DatabaseError):
    """A constraint refused a row: a unique index, most often (another writer got there first)."""


class Unavailable(DatabaseError):
    """The database cannot be reached, or cannot work now (SQLAlchemy's OperationalError)."""

    def __init__(self, message: str, *, kind: str, detail: str) -> None:
        super().__init__(message, kind=kind)
        # The driver's own first line (no row values): what `socpass-issuer` prints.
        self.detail = detail


def translated(err: SQLAlchemyError) -> DatabaseError:
    """`err` as storage's exception, to be raised `from err`."""
    kind = type(err).__name__
    if isinstance(err, IntegrityError):
        return Conflict(str(err), kind=kind)
    if isinstance(err, OperationalError):
        orig = getattr(err, "orig", None)
        lines = str(orig).strip().splitlines() if orig else []
        return Unavailable(str(err), kind=kind, detail=lines[0] if lines else kind)
    return DatabaseError(str(err), kind=kind)


@contextmanager
def storage_errors() -> Iterator[None]:
    """SQLAlchemy's errors raised in the block come out as storage's."""
    try:
        yield
    except SQLAlchemyError as err:
        raise translated(err) from err
