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
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import logging
import hmac
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import SocpassError
from shared.files import create_private

LOG_FILE = "scanlog.sqlite3"
SECRET_FILE = "scanlog.secret"
LOCK_FILE = "scanlog.lock"
# Rows kept for a retry when the file cannot be written (disk full): beyond, the oldest go.
MAX_QUEUED = 10_000

log = logging.getLogger("socpass.verifier")

_INSERT = ("INSERT INTO scans (at, day, verdict, code, warnings, type, category, persons, profile, "
           "via, credential_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
SECRET_BYTES = 32
SCHEMA_VERSION = 2
# Forgetting hashes and deleting old rows runs at most this often per process (by scan time):
# run on every scan it was the largest cost of a scan (docs/benchmarks.md, figure 2).
HOUSEKEEPING_EVERY = 30
BUSY_TIMEOUT = 10.0  # seconds; the CLI and the server may write at the same moment

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


class ScanLogError(SocpassError):
    """The scan log cannot be read or written (verification goes on without it)."""

    code = "scanlog_unavailable"


@dataclass(slots=True)  # not frozen: one per scan (see verifier/result.py)
class Entry:
    """One verdict as logged: nothing here identifies a person."""

    at: int
    verdict: str
    code: str
    warnings: tuple[str, ...]
    type: str | None
    category: str | None
    persons: int | None
    profile: str
    via: str  # "text" (scanner, paste) or "image" (camera, photo)


class ScanLog:
    def __init__(self, directory: Path | str, *, timezone: str, window: int, keep_days: int,
                 flush_every: float = 0.0) -> None:
        self.directory = Path(directory)
        self.flush_every = flush_every  # seconds; 0: each row written before the scan answers
        self.path = self.directory / LOG_FILE
        self.tz = ZoneInfo(timezone)
        self.window = window
        self.keep_days = keep_days
        self._secret: bytes | None = None
        self._salts: dict[str, bytes] = {}  # day -> salt, for the days a scan now touches
        self._last_hash: tuple[tuple[str, str, str], str] | None = None
        self._spans: list[tuple[int, int, str]] = []  # see _span
        self._lock = threading.Lock()  # one check-and-record at a time in this process
        # One connection kept open per process (under the lock): opening and closing one per
        # scan made SQLite checkpoint the WAL on every close, a few ms each.
        self._conn: sqlite3.Connection | None = None
        self._conn_pid: int | None = None
        self._lock_fd: int | None = None
        self._housekept_at: int | None = None  # scan time of this process's last housekeeping
        # Writing behind (flush_every > 0), all per process and reset after a fork:
        self._queue: list[tuple[Any, ...]] = []  # rows not yet written
        self._pending: dict[str, int] = {}  # credential hash -> latest accepted `at` among them
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()  # one writer of the queue at a time
        self._writer: sqlite3.Connection | None = None
        self._writer_lock_fd: int | None = None
        self._batch_pid: int | None = None
        self._path_str = str(self.path)
        self._looked_at = float("-inf")  # see _file_gone

    # --- days and hashes -------------------------------------------------------------------------
    def day_of(self, at: int) -> str:
        return self._span(at)[2]

    def clock_time(self, at: int) -> str:
        start, end, _ = self._span(at)
        if end - start == 86400:  # no clock change that day: minutes since local midnight
            minutes = (at - start) // 60
            return f"{minutes // 60:02d}:{minutes % 60:02d}"
        return datetime.fromtimestamp(at, self.tz).strftime("%H:%M")

    def _span(self, at: int) -> tuple[int, int, str]:
        """(first second, first second of the next day, ISO date) of the venue's day holding
        `at`; the last two looked up are remembered (a scan asks about today and the window's
        start, every time)."""
        for span in self._spans:
            if span[0] <= at < span[1]:
                return span
        day = datetime.fromtimestamp(at, self.tz).date()
        start = int(datetime.combine(day, dt_time.min, self.tz).timestamp())
        end = int(datetime.combine(day + timedelta(days=1), dt_time.min, self.tz).timestamp())
        span = (start, end, day.isoformat())
        if not start <= at < end:  # a day that does not start at midnight: do not remember
            return (at, at + 1, span[2])
        self._spans = [span, *self._spans[:1]]
        return span

    def today(self, now: int) -> str:
        return self.day_of(now)

    def _device_secret(self) -> bytes:
        if self._secret is None:
            path = self.directory / SECRET_FILE
            try:
                secret = path.read_bytes()
            except FileNotFoundError:
                self.directory.mkdir(parents=True, exist_ok=True)
                try:
                    create_private(path, os.urandom(SECRET_BYTES))
                except FileExistsError:  # another process made it first: use theirs
                    pass
                secret = path.read_bytes()
            if len(secret) != SECRET_BYTES:
                raise ScanLogError(f"{path}: damaged (expected {SECRET_BYTES} bytes)")
            self._secret = secret
        return self._secret

    def day_salt(self, day: str) -> bytes:
        salts = self._salts
        salt = salts.get(day)
        if salt is None:
            salt = hmac.digest(self._device_secret(), b"socpass-scanlog-day:" + day.encode(),
                               "sha256")
            if len(salts) >= 4:  # today, yesterday, and a day either side across midnight
                salts.clear()
            salts[day] = salt
        return salt

    def credential_hash(self, iss: str, jti: str, day: str) -> str:
        key = (iss, jti, day)
        last = self._last_hash
        if last is not None and last[0] == key:  # looked up, then recorded: one HMAC
            return last[1]
        message = iss.encode("utf-8") + b"\0" + jti.encode("utf-8")
        digest = hmac.digest(self.day_salt(day), message, "sha256").hex()[:32]
        self._last_hash = (key, digest)
        return digest

    def _days_between(self, first: int, last: int) -> list[str]:
        first_day, last_day = self.day_of(first), self.day_of(last)
        if first_day == last_day:  # a window inside one day, as almost every scan's is
            return [first_day]
        start, end = date.fromisoformat(first_day), date.fromisoformat(last_day)
        return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]

    # --- storage ----------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                try:
                    create_private(self.path, None)
                except FileExistsError:
                    pass
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise ScanLogError(f"{self.path}: {err}") from err
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
            raise ScanLogError(f"{self.path}: {err}") from err
        return conn

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
                self._conn = self._connect_shared()
                self._lock_fd = self._open_lock()
                self._conn_pid = os.getpid()
            conn = self._conn
            try:
                with _write_transaction(conn, self._lock_fd):
                    yield Session(self, conn)
            except sqlite3.Error as err:
                self._drop_connection()
                raise ScanLogError(f"{self.path}: {err}") from err

    # --- writing behind --------------------------------------------------------------------------
    def _start_batching(self) -> None:
        """Per process (under self._lock): the reading connection, the queue, the writer thread."""
        pid = os.getpid()
        if self._batch_pid != pid:  # first use, or a forked worker: nothing of the parent's
            self._conn, self._lock_fd, self._writer = None, None, None
            self._queue, self._pending = [], {}
            self._wake = threading.Event()
            self._flush_lock = threading.Lock()
            self._batch_pid = pid
            threading.Thread(target=self._write_behind, name="scanlog-writer", daemon=True).start()
            atexit.register(self._flush_at_exit)
        if self._conn is None or self._file_gone():
            self._drop_connection()
            self._conn = self._connect_shared()

    def _file_gone(self) -> bool:
        """Whether the log file was removed under us (then it is made anew); looked at once a
        second at most, not on every scan."""
        now = time.monotonic()
        if now - self._looked_at < 1.0:
            return False
        self._looked_at = now
        return not os.path.exists(self._path_str)

    def _write_behind(self) -> None:
        while True:
            self._wake.wait(self.flush_every)
            self._wake.clear()
            try:
                self.flush()
            except ScanLogError as err:
                log.error("scan log not written, kept for a retry: %s", err.description)
            except Exception as err:  # the writer thread must outlive any one bad batch
                log.error("scan log writer: unexpected %s", type(err).__name__)

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except ScanLogError as err:
            log.error("scan log: rows lost at exit: %s", err.description)

    def flush(self) -> None:
        """Write the rows queued in this process (statistics read after this see them)."""
        if self._batch_pid != os.getpid():
            return
        with self._flush_lock:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                self._write(batch)
            except (OSError, sqlite3.Error) as err:
                with self._lock:
                    self._queue[:0] = batch
                    del self._queue[:-MAX_QUEUED]
                self._close_writer()
                raise ScanLogError(f"{self.path}: {err}") from err
            with self._lock:
                for row in batch:
                    digest, at = row[10], row[0]
                    if digest is not None and self._pending.get(digest) == at:
                        del self._pending[digest]

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        if self._writer is None or not self.path.exists():
            self._close_writer()
            self._writer = self._connect_shared()
            self._writer_lock_fd = self._open_lock()
        conn = self._writer
        with _write_transaction(conn, self._writer_lock_fd):
            conn.executemany(_INSERT, batch)
            latest = max(row[0] for row in batch)
            if self._housekeeping_due(latest):
                _housekeep(self, conn, latest)

    def _close_writer(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            with contextlib.suppress(OSError):
                os.close(self._writer_lock_fd)
        self._writer = None

    def _open_lock(self) -> int:
        try:
            return os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise ScanLogError(f"{self.directory / LOCK_FILE}: {err}") from err

    def _housekeeping_due(self, at: int) -> bool:
        last = self._housekept_at
        if last is None or at < last or at - last >= HOUSEKEEPING_EVERY:
            self._housekept_at = at
            return True
        return False

    def _connect_shared(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.close()
        try:
            shared = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                     check_same_thread=False)
            shared.execute("PRAGMA synchronous = NORMAL")
            return shared
        except sqlite3.Error as err:
            raise ScanLogError(f"{self.path}: {err}") from err

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
        if not self.path.exists():
            return []
        conn = self._connect()
        try:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise ScanLogError(f"{self.path}: {err}") from err
        finally:
            conn.close()

    # --- statistics -------------------------------------------------------------------------------
    def summary(self, day: str) -> dict[str, Any]:
        """One day's counts: totals, by code, by warning, and by credential type and category."""
        rows = self._read("SELECT verdict, code, warnings, type, category, persons FROM scans "
                          "WHERE day = ?", (day,))
        by_code: dict[str, int] = {}
        by_warning: dict[str, int] = {}
        groups: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        # "accepted" counts every admission, those with a warning included, in the totals and in
        # each category alike; "accepted_with_warning" is the part of them that had one.
        totals = {"scans": 0, "accepted": 0, "accepted_with_warning": 0, "rejected": 0,
                  "with_warning": 0, "persons": 0}
        for row in rows:
            warnings = [w for w in row["warnings"].split(",") if w]
            accepted = row["verdict"] == "accept"
            totals["scans"] += 1
            totals["accepted" if accepted else "rejected"] += 1
            totals["accepted_with_warning"] += accepted and bool(warnings)
            totals["with_warning"] += bool(warnings)
            totals["persons"] += row["persons"] or 0
            by_code[row["code"]] = by_code.get(row["code"], 0) + 1
            for w in warnings:
                by_warning[w] = by_warning.get(w, 0) + 1
            key = (row["type"], row["category"])
            group = groups.setdefault(key, {"type": key[0], "category": key[1], "accepted": 0,
                                            "accepted_with_warning": 0, "rejected": 0,
                                            "persons": 0})
            if accepted:
                group["accepted"] += 1
                group["accepted_with_warning"] += bool(warnings)
                group["persons"] += row["persons"] or 0
            else:
                group["rejected"] += 1
        ordered = sorted(groups.values(), key=lambda g: (g["type"] is None, g["type"] or "",
                                                         g["category"] or ""))
        return {"day": day, "totals": totals, "by_code": dict(sorted(by_code.items())),
                "by_warning": dict(sorted(by_warning.items())), "by_category": ordered}

    def report(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Counts per day, profile, type, category, verdict, code and warnings (for the CSV)."""
        rows = self._read(
            "SELECT day, profile, type, category, verdict, code, warnings, COUNT(*) AS scans, "
            "COALESCE(SUM(persons), 0) AS persons FROM scans WHERE day BETWEEN ? AND ? "
            "GROUP BY day, profile, type, category, verdict, code, warnings "
            "ORDER BY day, profile, type, category, verdict, code, warnings",
            (first_day, last_day))
        return [dict(row) for row in rows]


class Session:
    """The scan log inside one transaction (see ScanLog.session)."""

    def __init__(self, log: ScanLog, conn: sqlite3.Connection) -> None:
        self.log, self.conn = log, conn

    def previous_use(self, iss: str, jti: str, now: int) -> int | None:
        """When this credential was last accepted here within the window, or None."""
        if self.log.window <= 0:
            return None
        since = now - self.log.window
        hashes = [self.log.credential_hash(iss, jti, day)
                  for day in self.log._days_between(since, now)]
        row = self.conn.execute(_previous_use_sql(len(hashes)), (*hashes, since, now)).fetchone()
        found = row[0] if row and row[0] is not None else None
        return self._latest_not_written(hashes, since, now, found)

    def _latest_not_written(self, hashes: list[str], since: int, now: int,
                            found: int | None) -> int | None:
        return found

    def record(self, entry: Entry, credential: tuple[str, str] | None) -> None:
        """Add one verdict; `credential` is (iss, jti) when its signature verified."""
        row = _row(self.log, entry, credential)
        self.conn.execute(_INSERT, row)
        if self.log._housekeeping_due(entry.at):
            _housekeep(self.log, self.conn, entry.at)


class QueuedSession(Session):
    """The scan log when writing behind: the file and this process's queue, under its lock."""

    def _latest_not_written(self, hashes: list[str], since: int, now: int,
                            found: int | None) -> int | None:
        pending = self.log._pending
        for digest in hashes:
            at = pending.get(digest)
            if at is not None and since <= at <= now and (found is None or at > found):
                found = at
        return found

    def record(self, entry: Entry, credential: tuple[str, str] | None) -> None:
        row = _row(self.log, entry, credential)
        log_ = self.log
        log_._queue.append(row)
        digest = row[10]
        if digest is not None and entry.verdict == "accept":
            if entry.at >= log_._pending.get(digest, entry.at):
                log_._pending[digest] = entry.at
        if len(log_._queue) >= 256:
            log_._wake.set()


@functools.lru_cache(maxsize=8)
def _previous_use_sql(count: int) -> str:
    """The look-up for `count` day hashes (one for a window inside a day, two across midnight)."""
    marks = ",".join("?" * count)
    return (f"SELECT MAX(at) FROM scans WHERE credential_hash IN ({marks}) AND at >= ? "
            "AND at <= ? AND verdict = 'accept'")


@contextlib.contextmanager
def _write_transaction(conn: sqlite3.Connection, lock_fd: int | None) -> Iterator[None]:
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


def _row(log: ScanLog, entry: Entry, credential: tuple[str, str] | None) -> tuple[Any, ...]:
    day = log.day_of(entry.at)
    digest = None
    if credential is not None and log.window > 0:
        digest = log.credential_hash(credential[0], credential[1], day)
    return (entry.at, day, entry.verdict, entry.code, ",".join(entry.warnings), entry.type,
            entry.category, entry.persons, entry.profile, entry.via, digest)


def _housekeep(log: ScanLog, conn: sqlite3.Connection, at: int) -> None:
    """Forget what is no longer needed: hashes past the window, rows past the retention."""
    conn.execute("UPDATE scans SET credential_hash = NULL WHERE credential_hash IS NOT NULL "
                 "AND at < ?", (at - max(log.window, 0) - 60,))
    oldest = (date.fromisoformat(log.day_of(at)) - timedelta(days=log.keep_days)).isoformat()
    conn.execute("DELETE FROM scans WHERE day < ?", (oldest,))
