"""What fails in the database comes out of storage as its own exceptions, never SQLAlchemy's:
the modules above storage catch these (the import contract keeps SQLAlchemy out of them)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from issuer.storage import queries
from issuer.storage.engine import Store, display_url, savepoint
from issuer.storage.errors import Conflict, DatabaseError, Unavailable
from issuer.storage.models import User

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)


def _user(name: str) -> User:
    return User(name=name, password_hash="x", role="auditor", active=True, created_at=NOW,
                updated_at=NOW)


def test_a_refused_row_is_a_conflict_and_the_savepoint_alone_rolls_back(db_url: str) -> None:
    with Store(db_url) as s:
        with s.write() as session:
            session.add(_user("ann"))
        with s.write() as session:
            with pytest.raises(Conflict) as raised, savepoint(session):
                session.add(_user("ann"))
                session.flush()
            assert isinstance(raised.value.__cause__, IntegrityError)
            assert raised.value.kind == "IntegrityError"
            queries.add_event(session, at=NOW, actor="t", action="probe")
        with s.read() as session:
            assert [e.action for e in queries.events(session)] == ["probe"]


def test_a_row_refused_at_commit_is_a_conflict(db_url: str) -> None:
    with Store(db_url) as s:
        with s.write() as session:
            session.add(_user("bob"))
        with pytest.raises(Conflict), s.write() as session:
            session.add(_user("bob"))  # flushed by the commit


def test_a_server_that_cannot_be_reached_is_unavailable_in_one_line() -> None:
    with pytest.raises(Unavailable) as raised:
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert isinstance(raised.value.__cause__, OperationalError)
    assert raised.value.detail and "\n" not in raised.value.detail


def test_an_unparsable_url_is_a_database_error() -> None:
    with pytest.raises(DatabaseError) as raised:
        Store("not a url")
    assert raised.value.kind == "ArgumentError"


def test_display_url_masks_the_password_only() -> None:
    assert display_url("postgresql+psycopg://app:dbsecret@db.example/socpass") == \
        "postgresql+psycopg://app:***@db.example/socpass"
    assert display_url("sqlite:////var/socpass/issuer.db") == "sqlite:////var/socpass/issuer.db"
    assert display_url("not a url") == "not a url"
