"""The scan log's SQLite file: its schema, its connections, and the cross-process lock.

Several processes (gunicorn workers, the CLI) share the file. Each write holds an exclusive
`flock` on `scanlog.lock` around its short transaction: a waiting worker is woken the moment
the lock is free, where SQLite's own busy handler would sleep a millisecond or more.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shared.files import create_private
from verifier.scanentry import ScanLogError

LOG_FILE = "scanlog.sqlite3"
LOCK_FILE = "scanlog.lock"
SCHEMA_VERSION = 2
BUSY_TIMEOUT = 10.0  # seconds; the CLI and the server may write at the same moment
INSERT = ("INSERT INTO scans (at, day, verdict, code, warnings, type, category, persons, profile, "
          "via, credential_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
HASH_COLUMN, AT_COLUMN = 10, 0  # of an INSERT row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    day TEXT NOT NULL,
    verdict TEXT NOT NULL,
    code TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '',
    type TEXT,
    category TEXT,
    persons INTEGER,
    profile TEXT NOT NULL,
    via TEXT NOT NULL,
    credential_hash TEXT
);
CREATE INDEX IF NOT EXISTS scans_day ON scans (day);
CREATE INDEX IF NOT EXISTS scans_at ON scans (at);
CREATE INDEX IF NOT EXISTS scans_hash ON scans (credential_hash, at)
    WHERE credential_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS scans_hashed_at ON scans (at) WHERE credential_hash IS NOT NULL;
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the file, made (0600) and given its schema if need be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            try:
                create_private(path, None)
            except FileExistsError:
                pass
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except (OSError, sqlite3.Error) as err:
        raise ScanLogError(f"{path}: {err}") from err
    try:
        # A scan log row is the venue's bookkeeping, not a verdict: WAL without an fsync per
        # row keeps a queue of scans fast (a power cut may lose the last few rows, no more).
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.Error as err:
        conn.close()
        raise ScanLogError(f"{path}: {err}") from err
    return conn


def connect_shared(path: Path) -> sqlite3.Connection:
    """A connection kept open and used from more than one thread (under the caller's lock)."""
    connect(path).close()
    try:
        shared = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                 check_same_thread=False)
        shared.execute("PRAGMA synchronous = NORMAL")
        return shared
    except sqlite3.Error as err:
        raise ScanLogError(f"{path}: {err}") from err


def open_lock(directory: Path) -> int:
    try:
        return os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise ScanLogError(f"{directory / LOCK_FILE}: {err}") from err


def read(path: Path, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    if not path.exists():
        return []
    conn = connect(path)
    try:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()
    except sqlite3.Error as err:
        raise ScanLogError(f"{path}: {err}") from err
    finally:
        conn.close()


@functools.lru_cache(maxsize=8)
def previous_use_sql(count: int) -> str:
    """The look-up for `count` day hashes (one for a window inside a day, two across midnight)."""
    marks = ",".join("?" * count)
    return (f"SELECT MAX(at) FROM scans WHERE credential_hash IN ({marks}) AND at >= ? "
            "AND at <= ? AND verdict = 'accept'")


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection, lock_fd: int | None) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error) under the cross-process flock."""
    assert lock_fd is not None
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)


def housekeep(conn: sqlite3.Connection, at: int, *, window: int, keep_days: int,
              day_of: Callable[[int], str]) -> None:
    """Forget what is no longer needed: hashes past the window, rows past the retention."""
    conn.execute("UPDATE scans SET credential_hash = NULL WHERE credential_hash IS NOT NULL "
                 "AND at < ?", (at - max(window, 0) - 60,))
    oldest = (date.fromisoformat(day_of(at)) - timedelta(days=keep_days)).isoformat()
    conn.execute("DELETE FROM scans WHERE day < ?", (oldest,))
