"""The verifier's objects, built in one place for the web app and the CLI alike.

A venue's device is one cache directory: the trust cache (reloaded when a sync replaces it),
the venue's policy, the scan log and the clock. Building them here keeps `serve` and `check`
deciding the same way (before, the CLI built a Verifier of its own, with another policy load).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from verifier.cache import CacheHolder
from verifier.config import Settings
from verifier.policy import VenuePolicy, load_policy
from verifier.scanlog import ScanLog
from verifier.service import Verifier


@dataclass
class Services:
    """What a front end (views, CLI) needs, built once per app or command."""

    settings: Settings
    policy: VenuePolicy
    caches: CacheHolder
    clock: Callable[[], float]
    scanlog: ScanLog
    # Keys the "same code still in front of the camera" digest; new at each start, never stored.
    _seen_key: bytes = field(default_factory=lambda: os.urandom(32))

    _verifier: Verifier | None = None

    def verifier(self) -> Verifier:
        # The holder reloads cache.json when a sync from the CLI replaced it; one Verifier per
        # cache, so what it works out once (freshness, visitors' rules) is not redone per scan.
        cache = self.caches.current()
        verifier = self._verifier
        if verifier is None or verifier.cache is not cache:
            verifier = self._verifier = Verifier(cache, self.settings, self.policy,
                                                 scanlog=self.scanlog)
        return verifier

    def now(self) -> int:
        return int(self.clock())

    def seen_digest(self, qr_text: str) -> str:
        """An opaque tag of a QR text, for the page to say "skip this one" (see /api/scan)."""
        return hmac.new(self._seen_key, qr_text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def compose(settings: Settings, clock: Callable[[], float], *, write_behind: bool) -> Services:
    """The verifier's objects for `settings`. `write_behind`: a server queues scan-log rows and
    writes them every SOCPASS_SCANLOG_FLUSH_MS; a one-shot command writes each before answering."""
    caches = CacheHolder(settings.cache_dir, settings.roots())
    # Load at start, so a refused cache is logged right away and an unknown profile refused.
    policy = load_policy(settings.venue_profile, settings.venue_policy, caches.current())
    scanlog = ScanLog(settings.cache_dir, timezone=settings.timezone,
                      window=settings.recent_window, keep_days=settings.scanlog_days,
                      flush_every=settings.scanlog_flush_ms / 1000 if write_behind else 0.0)
    return Services(settings, policy, caches, clock, scanlog)
