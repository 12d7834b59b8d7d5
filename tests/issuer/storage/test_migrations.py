"""Schema migrations: they build the schema the models describe, once, and bring along what an
older database already holds."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from issuer.storage import audit
from issuer.storage import queries
from issuer.storage.engine import MIGRATIONS_DIR, Store
from issuer.storage.models import Base


def test_migration_creates_the_schema_and_is_idempotent(db_url: str) -> None:
    with Store(db_url) as s:
        names = set(inspect(s.engine).get_table_names())
        assert {"issuer", "signing_keys", "status_lists", "credentials", "events",
                "alembic_version"} <= names
        with s.read() as session:
            assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
    with Store(db_url) as again:  # a second open finds the schema at head
        with again.read() as session:
            assert queries.get_issuer(session) is None


def test_hand_written_migration_matches_the_models(db_url: str) -> None:
    with Store(db_url) as s, s.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_chains_events_written_before_it(db_url: str) -> None:
    """A database at revision 0001 with events gets them chained by 0002."""
    s = Store(db_url, migrate=False)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with s.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            if MigrationContext.configure(conn).get_current_revision() is None:
                command.upgrade(cfg, "0001")
            else:  # PostgreSQL: the session's database is at head; this also runs the downgrade
                command.downgrade(cfg, "0001")
            for n in range(3):
                conn.execute(text("INSERT INTO events (at, actor, action, detail) VALUES "
                                  f"('2025-03-0{n + 1} 10:00:00', 'cli:root', 'issue', '{{\"n\": {n}}}')"))
        s.migrate()
        with s.read() as session:
            result = audit.verify_chain(audit.iter_events(session))
            head = audit.read_head(session)
        assert result.ok and result.events == 3
        # 0003 starts the head where the chain ends.
        assert head is not None and (head.seq, head.hash) == (result.last_id, result.last_hash)
        assert audit.check_head(result, head).ok
    finally:
        s.close()
