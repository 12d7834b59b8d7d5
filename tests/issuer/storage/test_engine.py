"""The engine: SQLite's durability settings, and transactions that commit or roll back whole."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from issuer.storage import queries
from issuer.storage.engine import Store

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)


def test_sqlite_is_durable_and_checks_foreign_keys(tmp_path) -> None:
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_write_commits_and_read_sees_it(db_url: str) -> None:
    with Store(db_url) as s:
        with s.write() as session:
            queries.add_event(session, at=NOW, actor="t", action="probe", detail={"n": 1})
        with s.read() as session:
            events = queries.events(session)
        assert [(e.action, e.detail, e.at) for e in events] == [("probe", '{"n": 1}', NOW)]


def test_failed_write_is_rolled_back(db_url: str) -> None:
    with Store(db_url) as s:
        with pytest.raises(RuntimeError), s.write() as session:
            queries.add_event(session, at=NOW, actor="t", action="probe")
            session.flush()
            raise RuntimeError
        with s.read() as session:
            assert queries.events(session) == []
