"""Writing the scan log behind (SOCPASS_SCANLOG_FLUSH_MS > 0): a scan queues its row and
answers; a thread writes the queue in one transaction every `every` seconds. One commit for many
scans keeps the log off a queue's critical path (docs/benchmarks.md, figure 2). A crash loses the
last `every` of rows; rows that cannot be written (disk full) are kept for a retry, up to
MAX_QUEUED. Everything here is per process and starts afresh after a fork.
"""
from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

from verifier.scanentry import ScanLogError
from verifier.scanstore import AT_COLUMN, HASH_COLUMN

# Rows kept for a retry when the file cannot be written (disk full): beyond, the oldest go.
MAX_QUEUED = 10_000
WAKE_AT = 256  # queued rows that make the writer go before its time

log = logging.getLogger("socpass.verifier")

Row = tuple[Any, ...]


class WriteBehind:
    def __init__(self, every: float, lock: threading.Lock, write: Callable[[list[Row]], None],
                 on_failure: Callable[[], None], where: str) -> None:
        self.every = every
        self._lock = lock  # the scan log's: a look-up and a queued row happen under it
        self._write = write  # one transaction for a batch
        self._on_failure = on_failure  # after a failed batch (drop the writer's connection)
        self._where = where
        self.queue: list[Row] = []  # rows not yet written
        self.pending: dict[str, int] = {}  # credential hash -> latest accepted `at` among them
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()  # one writer of the queue at a time
        self._pid: int | None = None

    def running_here(self) -> bool:
        return self._pid == os.getpid()

    def start(self) -> None:
        """In this process (the caller holds the lock): nothing of a parent's queue."""
        self.queue, self.pending = [], {}
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._pid = os.getpid()
        threading.Thread(target=self._run, name="scanlog-writer", daemon=True).start()
        atexit.register(self._flush_at_exit)

    def add(self, row: Row, accepted: bool) -> None:
        """Queue a row (under the lock)."""
        self.queue.append(row)
        digest, at = row[HASH_COLUMN], row[AT_COLUMN]
        if digest is not None and accepted and at >= self.pending.get(digest, at):
            self.pending[digest] = at
        if len(self.queue) >= WAKE_AT:
            self._wake.set()

    def latest(self, hashes: Iterable[str], since: int, now: int, found: int | None) -> int | None:
        """`found`, or a later accepted use among the rows not yet written."""
        pending = self.pending
        for digest in hashes:
            at = pending.get(digest)
            if at is not None and since <= at <= now and (found is None or at > found):
                found = at
        return found

    def flush(self) -> None:
        """Write the rows queued in this process."""
        if not self.running_here():
            return
        with self._flush_lock:
            with self._lock:
                batch, self.queue = self.queue, []
            if not batch:
                return
            try:
                self._write(batch)
            except (OSError, sqlite3.Error) as err:
                with self._lock:
                    self.queue[:0] = batch
                    del self.queue[:-MAX_QUEUED]
                self._on_failure()
                raise ScanLogError(f"{self._where}: {err}") from err
            with self._lock:
                for row in batch:
                    digest, at = row[HASH_COLUMN], row[AT_COLUMN]
                    if digest is not None and self.pending.get(digest) == at:
                        del self.pending[digest]

    def _run(self) -> None:
        while True:
            self._wake.wait(self.every)
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
