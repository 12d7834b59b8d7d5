"""The engine (SQLite or PostgreSQL), its connections' settings, schema migrations and the
transactions every use case runs in.

Every write happens in `Store.write()`, which commits before it returns: a revocation is durable
(SQLite: WAL with synchronous=FULL) before the caller acknowledges it. What fails in the database
comes out of a `Store` and of `savepoint` as issuer.storage.errors' exceptions. `Session` is the
type of what `write()` and `read()` hand out, for the signatures of the modules above.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from issuer.storage.errors import storage_errors

__all__ = ["Session", "Store", "display_url", "savepoint"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
BULK_CACHE_KIB = 64 * 1024  # SQLite page cache of an import's connection (see bulk_connection)
_MIGRATION_LOCK = 0x50C9A55  # PostgreSQL advisory lock: one process migrates at a time
# PostgreSQL advisory lock held by every write transaction: writers are serialised as SQLite's
# BEGIN IMMEDIATE serialises them, so the audit hash chain never forks between worker processes
# and the lock order (this lock first, then rows) cannot deadlock.
_WRITE_LOCK = 0x50C9A56
_READ_ONLY = "socpass_read_only"
SEARCH_INDEX = "ix_credentials_search_name"  # btree, or pg_trgm GIN on PostgreSQL (migration 0003)


class Store:
    """Owns one engine; `write()` and `read()` hand out sessions in a transaction."""

    def __init__(self, url: str, *, migrate: bool = True, pool_size: int = 5) -> None:
        with storage_errors():  # an unparsable URL, an unknown dialect
            self.url = make_url(url)
            self.engine = _create_engine(url, pool_size)
        self._search_mode: str | None = None
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self.engine.execution_options(**{_READ_ONLY: True}),
                                  expire_on_commit=False)
        if migrate:
            try:
                self.migrate()
            except BaseException:
                self.engine.dispose()
                raise

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def name_search_mode(self) -> str:
        """How the name search can use an index here (see `search_statement`): "range" on
        SQLite; on PostgreSQL "trigram" when migration 0003 could build the pg_trgm index, else
        "prefix". Asked once per process."""
        if self._search_mode is None:
            if self.dialect != "postgresql":
                self._search_mode = "range"
            else:
                with self.read() as session:
                    method = session.scalar(text(
                        "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                        "WHERE c.relname = :name AND c.relkind = 'i'"), {"name": SEARCH_INDEX})
                self._search_mode = "trigram" if method == "gin" else "prefix"
        return self._search_mode

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        """`alembic upgrade head`, in one transaction that also serialises concurrent openers."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        # SQLite: BEGIN IMMEDIATE, PostgreSQL: advisory lock. A server that cannot be reached
        # shows here first: Unavailable.
        with storage_errors(), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def write(self, *, connection: Connection | None = None) -> Iterator[Session]:
        """A write transaction, on `connection` if given (see `bulk_connection`)."""
        opened = self._write() if connection is None else self._write(bind=connection)
        # Outermost: a row refused at commit is a Conflict too.
        with storage_errors(), opened as session, session.begin():
            if self.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK})
            yield session

    @contextmanager
    def bulk_connection(self) -> Iterator[Connection | None]:
        """The connection for a long import's transactions (`write(connection=...)`), or None
        where the pool's are as good (PostgreSQL, which also re-pings them between batches).

        SQLite: one connection for them all, its page cache raised for the time being to
        BULK_CACHE_KIB: an import inserts in random order into indexes (the credential ids, the
        status indexes) far larger than the default 2 MB, which would read the same pages again
        in every batch (a 435,000-row import: 47 s instead of 51 s, for ~60 MB)."""
        if self.dialect != "sqlite":
            yield None
            return
        with storage_errors(), self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            before = raw.execute("PRAGMA cache_size").fetchone()[0]
            raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
            try:
                yield conn
            finally:
                raw.execute(f"PRAGMA cache_size={int(before)}")  # and the memory goes back

    @contextmanager
    def read(self) -> Iterator[Session]:
        with storage_errors(), self._read() as session, session.begin():
            yield session


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A SAVEPOINT inside a `Store.write()` transaction: what the block wrote is rolled back if it
    raises, and the transaction goes on; a row refused by a constraint raises Conflict."""
    with storage_errors(), session.begin_nested():
        yield


def display_url(url: str) -> str:
    """A database URL with its password masked (`socpass-issuer config`); an unparsable URL as
    given, as opening the store reports it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - whatever the parser refuses is shown as it is
        return url


def _create_engine(url: str, pool_size: int = 5) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre-ping: a PostgreSQL restart or a dropped idle connection is retried, not reported.
        # The pool is per process: N worker processes hold up to N * 2 * pool_size connections.
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
                             pool_recycle=1800)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                              "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (needed for
        # SAVEPOINT and for BEGIN IMMEDIATE below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that upgrades to a writer
        # in WAL mode fails at once with SQLITE_BUSY instead of waiting for the busy timeout.
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
