"""The venue's scan log: every verdict, without personal data; statistics and repeated use.

One SQLite file, `scanlog.sqlite3` in the verifier's cache directory (mode 0600), one row per
verdict shown: time, the venue's day, verdict, code, warnings, credential type and category, the
persons admitted, the venue profile, how the code came in (text or image), and a salted hash of
the credential's id. Never a name, a birth date, a token or the raw `jti`.

The hash is HMAC-SHA256(day salt, iss NUL jti), the day salt HMAC-SHA256(device secret, day),
the device secret 32 random bytes in `scanlog.secret` (0600) made on first use. So a hash links
scans of one credential on one day at this device only, and nobody without the device's secret
can test a known credential against the log. A hash is needed only while the recent-use window
lasts: older rows lose it (set to NULL, within HOUSEKEEPING_EVERY seconds of the window's end)
and keep just what the statistics count.

Several processes (gunicorn workers, the CLI) share the file. Each check-and-record holds an
exclusive `flock` on `scanlog.lock` around its short transaction: a waiting worker is woken the
moment the lock is free, where SQLite's own busy handler would sleep a millisecond or more.

A server writes behind (`flush_every` > 0, SOCPASS_SCANLOG_FLUSH_MS): a scan looks for a previous
use in the file and in this process's rows not yet written, queues its row, and answers; a thread
writes the queue in one transaction every `flush_every` seconds. One commit for many scans keeps
the log off a queue's critical path (docs/benchmarks.md, figure 2). What it costs: a crash loses
the last `flush_every` of rows, and a second use of one credential at *another* worker process
of the same device within that time is not seen as one. The CLI writes each scan before answering.

A camera frame without a QR code (`no_qr`) is not a verdict and is not logged.

ScanLog puts together parts with one job each: venueday.py (the venue's days), scanpseudonym.py
(the device secret and the hashes), scanstore.py (the SQLite file, its schema and lock),
scanwriter.py (writing behind), scanreport.py (statistics), scanentry.py (a logged verdict).
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verifier import scanstore
from verifier.scanentry import Entry, ScanLogError
from verifier.scanpseudonym import SECRET_BYTES, SECRET_FILE, Pseudonyms
from verifier.scanreport import REPORT_SQL, SUMMARY_SQL, summarize
from verifier.scanstore import INSERT, LOCK_FILE, LOG_FILE, housekeep
from verifier.scanwriter import MAX_QUEUED, WriteBehind
from verifier.venueday import VenueDays

__all__ = ["Entry", "ScanLog", "ScanLogError", "LOG_FILE", "LOCK_FILE", "SECRET_FILE",
           "SECRET_BYTES", "MAX_QUEUED", "HOUSEKEEPING_EVERY"]

# Forgetting hashes and deleting old rows runs at most this often per process (by scan time):
# run on every scan it was the largest cost of a scan (docs/benchmarks.md, figure 2).
HOUSEKEEPING_EVERY = 30


class ScanLog:
    """The scan log as the verifier uses it: the parts (days, pseudonyms, file, writer) in one."""

    def __init__(self, directory: Path | str, *, timezone: str, window: int, keep_days: int,
                 flush_every: float = 0.0) -> None:
        self.directory = Path(directory)
        self.flush_every = flush_every  # seconds; 0: each row written before the scan answers
        self.path = self.directory / LOG_FILE
        self.window = window
        self.keep_days = keep_days
        self.days = VenueDays(timezone)
        self.tz = self.days.tz
        self.day_of = self.days.day_of
        self.clock_time = self.days.clock_time
        self.pseudonyms = Pseudonyms(self.directory)
        self.day_salt = self.pseudonyms.day_salt
        self.credential_hash = self.pseudonyms.credential_hash
        self._lock = threading.Lock()  # one check-and-record at a time in this process
        # One connection kept open per process (under the lock): opening and closing one per
        # scan made SQLite checkpoint the WAL on every close, a few ms each.
        self._conn: sqlite3.Connection | None = None
        self._conn_pid: int | None = None
        self._lock_fd: int | None = None
        self._housekept_at: int | None = None  # scan time of this process's last housekeeping
        # Writing behind (flush_every > 0): the queue's writer, with its own connection.
        # `_write` is looked up at each batch, so a test can make the disk full.
        self.behind = WriteBehind(flush_every, self._lock, lambda batch: self._write(batch),
                                  self._close_writer, str(self.path))
        self._writer: sqlite3.Connection | None = None
        self._writer_lock_fd: int | None = None
        self._path_str = str(self.path)
        self._looked_at = float("-inf")  # see _file_gone

    def today(self, now: int) -> str:
        return self.day_of(now)

    @contextlib.contextmanager
    def session(self) -> Iterator["Session"]:
        """One transaction that may look for a previous use and then record (atomically); when
        writing behind, a look-up and a queued row under this process's lock."""
        if self.flush_every > 0:
            with self._lock:
                self._start_batching()
                try:
                    yield QueuedSession(self, self._conn)
                except sqlite3.Error as err:
                    self._drop_connection()
                    raise ScanLogError(f"{self.path}: {err}") from err
            return
        with self._lock:
            if self._conn is None or self._conn_pid != os.getpid() or not self.path.exists():
                self._drop_connection()
                self._conn = scanstore.connect_shared(self.path)
                self._lock_fd = scanstore.open_lock(self.directory)
                self._conn_pid = os.getpid()
            conn = self._conn
            try:
                with scanstore.write_transaction(conn, self._lock_fd):
                    yield Session(self, conn)
            except sqlite3.Error as err:
                self._drop_connection()
                raise ScanLogError(f"{self.path}: {err}") from err

    def flush(self) -> None:
        """Write the rows queued in this process (statistics read after this see them)."""
        self.behind.flush()

    # --- statistics -------------------------------------------------------------------------------
    def summary(self, day: str) -> dict[str, Any]:
        """One day's counts: totals, by code, by warning, and by credential type and category."""
        return summarize(day, self._read(SUMMARY_SQL, (day,)))

    def report(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Counts per day, profile, type, category, verdict, code and warnings (for the CSV)."""
        return [dict(row) for row in self._read(REPORT_SQL, (first_day, last_day))]

    # --- the parts' upkeep ------------------------------------------------------------------------
    def _start_batching(self) -> None:
        """Per process (under self._lock): the reading connection, the queue, the writer thread."""
        if not self.behind.running_here():  # first use, or a forked worker: nothing of the parent's
            self._conn, self._lock_fd, self._writer = None, None, None
            self.behind.start()
        if self._conn is None or self._file_gone():
            self._drop_connection()
            self._conn = scanstore.connect_shared(self.path)

    def _file_gone(self) -> bool:
        """Whether the log file was removed under us (then it is made anew); looked at once a
        second at most, not on every scan."""
        now = time.monotonic()
        if now - self._looked_at < 1.0:
            return False
        self._looked_at = now
        return not os.path.exists(self._path_str)

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        if self._writer is None or not self.path.exists():
            self._close_writer()
            self._writer = scanstore.connect_shared(self.path)
            self._writer_lock_fd = scanstore.open_lock(self.directory)
        conn = self._writer
        with scanstore.write_transaction(conn, self._writer_lock_fd):
            conn.executemany(INSERT, batch)
            latest = max(row[0] for row in batch)
            if self._housekeeping_due(latest):
                self._housekeep(conn, latest)

    def _close_writer(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            with contextlib.suppress(OSError):
                os.close(self._writer_lock_fd)
        self._writer = None

    def _housekeeping_due(self, at: int) -> bool:
        last = self._housekept_at
        if last is None or at < last or at - last >= HOUSEKEEPING_EVERY:
            self._housekept_at = at
            return True
        return False

    def _housekeep(self, conn: sqlite3.Connection, at: int) -> None:
        housekeep(conn, at, window=self.window, keep_days=self.keep_days, day_of=self.day_of)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
        self._lock_fd = None

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        self.flush()
        return scanstore.read(self.path, sql, params)


class Session:
    """The scan log inside one transaction (see ScanLog.session)."""

    def __init__(self, log: ScanLog, conn: sqlite3.Connection) -> None:
        self.log, self.conn = log, conn

    def previous_use(self, iss: str, jti: str, now: int) -> int | None:
        """When this credential was last accepted here within the window, or None."""
        log = self.log
        if log.window <= 0:
            return None
        since = now - log.window
        hashes = [log.credential_hash(iss, jti, day) for day in log.days.days_between(since, now)]
        sql = scanstore.previous_use_sql(len(hashes))
        row = self.conn.execute(sql, (*hashes, since, now)).fetchone()
        found = row[0] if row and row[0] is not None else None
        return self._latest_not_written(hashes, since, now, found)

    def _latest_not_written(self, hashes: list[str], since: int, now: int,
                            found: int | None) -> int | None:
        return found

    def record(self, entry: Entry, credential: tuple[str, str] | None) -> None:
        """Add one verdict; `credential` is (iss, jti) when its signature verified."""
        self.conn.execute(INSERT, _row(self.log, entry, credential))
        if self.log._housekeeping_due(entry.at):
            self.log._housekeep(self.conn, entry.at)


class QueuedSession(Session):
    """The scan log when writing behind: the file and this process's queue, under its lock."""

    def _latest_not_written(self, hashes: list[str], since: int, now: int,
                            found: int | None) -> int | None:
        return self.log.behind.latest(hashes, since, now, found)

    def record(self, entry: Entry, credential: tuple[str, str] | None) -> None:
        self.log.behind.add(_row(self.log, entry, credential), entry.verdict == "accept")


def _row(log: ScanLog, entry: Entry, credential: tuple[str, str] | None) -> tuple[Any, ...]:
    day = log.day_of(entry.at)
    digest = None
    if credential is not None and log.window > 0:
        digest = log.credential_hash(credential[0], credential[1], day)
    return (entry.at, day, entry.verdict, entry.code, ",".join(entry.warnings), entry.type,
            entry.category, entry.persons, entry.profile, entry.via, digest)
