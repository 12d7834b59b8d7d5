"""`serve` keeps its cache current by itself: a sync every SOCPASS_SYNC_INTERVAL seconds.

Sources: SOCPASS_SYNC_SOURCES, else those of the last sync (the issuers' `source`, or the
federal source of a federated cache). Requests are conditional (shared/pubreader.py's
Validators), so an unchanged list costs a 304. A failed sync changes nothing in the cache (see
verifier/sync.py); the failure and the cache's age are what /api/status then shows.

One syncer per cache directory however many processes serve it (gunicorn workers): the process
holding the lock on `.background-sync.lock` syncs, the others try to take it at each interval,
so when that process ends another one takes over. Each attempt's outcome goes to
`sync-state.json` next to the cache, which every process's /api/status reads.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from shared.files import write_atomically
from shared.pubreader import NetPolicy, Validators
from verifier import federated
from verifier import sync as sync_mod
from verifier.cache import CacheHolder, TrustCache
from verifier.config import Settings

log = logging.getLogger("socpass.verifier")

STATE_FILE = "sync-state.json"
LEADER_LOCK = ".background-sync.lock"


def sources_of(cache: TrustCache) -> list[str]:
    """What the last sync read: its federal source, else each issuer's source."""
    if cache.trust_list is not None and isinstance(cache.federation.get("source"), str):
        return [cache.federation["source"]]
    return sorted({issuer.source for issuer in cache.issuers.values()})


def source_name(source: str) -> str:
    """A source as a screen may show it: a URL as it is, a directory by its last name only (the
    server's own paths are nobody's business on a tablet)."""
    if "://" in source:
        return source
    return Path(source).name or source


def read_state(cache_dir: Path) -> dict[str, Any] | None:
    """The last background attempt (or None when there was none)."""
    try:
        with open(Path(cache_dir) / STATE_FILE, "rb") as fh:
            state = json.loads(fh.read(64 * 1024))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _write_state(cache_dir: Path, state: dict[str, Any]) -> None:
    write_atomically(Path(cache_dir) / STATE_FILE, json.dumps(state, ensure_ascii=False).encode())


class BackgroundSync:
    def __init__(self, settings: Settings, caches: CacheHolder,
                 clock: Callable[[], float]) -> None:
        self.settings = settings
        self.caches = caches
        self.clock = clock
        self.validators = Validators()
        self._stop = threading.Event()
        self._lock_file: IO[bytes] | None = None
        self._thread: threading.Thread | None = None

    # --- leadership --------------------------------------------------------------------------
    def lead(self) -> bool:
        """Take (or keep) the one syncer's lock for this cache directory."""
        if self._lock_file is not None:
            return True
        try:
            import fcntl
        except ImportError:  # not POSIX: every process syncs, the sync lock keeps them apart
            return True
        self.settings.cache_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.settings.cache_dir / LEADER_LOCK, "a+b")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._lock_file = fh  # held (open) for the life of this process's syncer
        return True

    # --- one attempt ---------------------------------------------------------------------------
    def sources(self) -> list[str]:
        return list(self.settings.sync_sources or sources_of(self.caches.current()))

    def run_once(self) -> dict[str, Any]:
        """Sync now; the outcome is also written to sync-state.json."""
        now = int(self.clock())
        sources = self.sources()
        before = (self.validators.fetched, self.validators.not_modified)
        state: dict[str, Any] = {"attempted_at": now, "interval": self.settings.sync_interval,
                                 "sources": [source_name(s) for s in sources], "pid": os.getpid()}
        try:
            if not sources:
                raise sync_mod.SyncError("-", "nothing to sync: run `socpass-verifier sync SOURCE` "
                                              "once or set SOCPASS_SYNC_SOURCES")
            self._sync(sources, now)
        except sync_mod.SyncError as err:
            state.update(ok=False, error=err.reason)
            log.warning("background sync failed, the previous cache is kept: %s", err.reason)
        except Exception as err:  # the syncer must outlive any one failure
            state.update(ok=False, error=type(err).__name__)
            log.error("background sync failed: %s", type(err).__name__)
        else:
            state.update(ok=True, error=None, synced_at=now)
        previous = read_state(self.settings.cache_dir) or {}
        if not state["ok"] and "synced_at" in previous:
            state["synced_at"] = previous["synced_at"]  # the last success, for its age
        state["fetched"] = self.validators.fetched - before[0]
        state["not_modified"] = self.validators.not_modified - before[1]
        try:
            _write_state(self.settings.cache_dir, state)
        except OSError as err:
            log.error("cannot write %s: %s", STATE_FILE, err.strerror)
        return state

    def _sync(self, sources: list[str], now: int) -> None:
        s = self.settings
        net = NetPolicy(timeout=s.sync_timeout, deadline=s.sync_deadline,
                        allow_private=s.sync_allow_private)
        cache = self.caches.current()
        if s.sync_sources:
            federal = len(sources) == 1 and federated.is_federal_source(sources[0])
        else:
            federal = cache.trust_list is not None
        if federal:
            federated.sync_federated(sources[0], s.cache_dir, now, s.roots(),
                                     bundle=cache.federation.get("via") == "bundle",
                                     net=net, status_grace=s.status_grace)
            return
        sync_mod.sync(sources, s.cache_dir, now, timeout=s.sync_timeout,
                      deadline=s.sync_deadline, allow_private=s.sync_allow_private,
                      roots=s.roots(), status_grace=s.status_grace,
                      validators=self.validators)

    # --- the thread ----------------------------------------------------------------------------
    def first_delay(self) -> float:
        """Due one interval after the last sync (at once if that is past or there was none)."""
        last = self.caches.current().synced_at
        state = read_state(self.settings.cache_dir)
        if state and isinstance(state.get("attempted_at"), int):
            last = max(last or 0, state["attempted_at"])
        if last is None:
            return 0.0
        return max(0.0, last + self.settings.sync_interval - self.clock())

    def start(self) -> None:
        if self.settings.sync_interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="socpass-background-sync",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread (at its next wait) and hand the lead to another process."""
        self._stop.set()
        if self._thread is None or self._thread is threading.current_thread():
            self._release()

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the file releases its lock
            self._lock_file = None

    def _run(self) -> None:
        delay = self.first_delay()
        while not self._stop.wait(delay):
            delay = self.settings.sync_interval
            try:
                if self.lead():
                    self.run_once()
            except Exception as err:  # never let the thread die: the next interval retries
                log.error("background sync: %s", type(err).__name__)
        self._release()
