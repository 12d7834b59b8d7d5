"""Storage: migrations, SQLite durability settings, the constraints that guard concurrency."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from issuer import store
from issuer.models import Base, CredentialRow
from issuer.service import IssuerService
from issuer.store import Store

from tests.issuer.helpers import make_data

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)


def test_migration_creates_the_schema_and_is_idempotent(db_url: str) -> None:
    with Store(db_url) as s:
        names = set(inspect(s.engine).get_table_names())
        assert {"issuer", "signing_keys", "status_lists", "credentials", "events",
                "alembic_version"} <= names
        with s.read() as session:
            assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
    with Store(db_url) as again:  # a second open finds the schema at head
        with again.read() as session:
            assert store.get_issuer(session) is None


def test_hand_written_migration_matches_the_models(db_url: str) -> None:
    with Store(db_url) as s, s.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_is_durable_and_checks_foreign_keys(tmp_path) -> None:
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def _row(service: IssuerService, **overrides) -> CredentialRow:
    with service.store.read() as session:
        base = store.get_credential(session, overrides.pop("copy_of"))
    values = {c.key: getattr(base, c.key) for c in CredentialRow.__table__.columns}
    values.update(overrides)
    return CredentialRow(**values)


def test_database_refuses_two_live_credentials_for_one_registry_id(service: IssuerService) -> None:
    data = make_data()
    first = service.issue("large_family", data)
    dup = _row(service, copy_of=first["id"], id="X" * 16, status_idx=(first["status"]["idx"] + 1) % 4096)
    with pytest.raises(IntegrityError):
        with service.store.write() as session:
            session.add(dup)
    # Once the first is revoked, a new live one is allowed (the index is partial).
    service.revoke(first["id"], "test")
    with service.store.write() as session:
        session.add(dup)


def test_database_refuses_a_status_index_twice(service: IssuerService) -> None:
    first = service.issue("large_family", make_data())
    clash = _row(service, copy_of=first["id"], id="Y" * 16, registry_id="OTHER-1")
    with pytest.raises(IntegrityError):
        with service.store.write() as session:
            session.add(clash)


def test_write_commits_and_read_sees_it(db_url: str) -> None:
    with Store(db_url) as s:
        with s.write() as session:
            store.add_event(session, at=NOW, actor="t", action="probe", detail={"n": 1})
        with s.read() as session:
            events = store.events(session)
        assert [(e.action, e.detail, e.at) for e in events] == [("probe", '{"n": 1}', NOW)]


def test_failed_write_is_rolled_back(db_url: str) -> None:
    with Store(db_url) as s:
        with pytest.raises(RuntimeError), s.write() as session:
            store.add_event(session, at=NOW, actor="t", action="probe")
            session.flush()
            raise RuntimeError
        with s.read() as session:
            assert store.events(session) == []


def test_naive_datetimes_are_refused(db_url: str) -> None:
    with Store(db_url) as s:
        with pytest.raises(Exception, match="naive"), s.write() as session:
            store.add_event(session, at=NOW.replace(tzinfo=None), actor="t", action="probe")
