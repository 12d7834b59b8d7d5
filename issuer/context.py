"""What every issuer use case works with: the store, the clock, who acts, the keys, the settings.

This module sits at the bottom of issuer/: it imports no use-case module, so accounts, links,
wallet, jobs, the audit log, the importer and issuance take a `Context` and never the
`IssuerService` that builds one. The clock is injected (`clock()` returns an aware datetime).
"""
from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from issuer.config import Settings
from issuer.keyring import Keyring
from issuer.statusalloc import StatusAllocator
from issuer.storage.engine import Store
from issuer.storage.models import Issuer
from shared.publication import status_list_uri

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Context:
    settings: Settings
    store: Store
    keyring: Keyring
    clock: Clock = utc_now
    actor: str = "system"
    tz: ZoneInfo = field(init=False)
    # Status indexes are random (issuer.statusalloc); tests script them.
    randbelow: Callable[[int], int] = secrets.randbelow

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.settings.timezone)

    @classmethod
    def build(cls, settings: Settings, store: Store, *, clock: Clock = utc_now,
              actor: str = "system") -> "Context":
        return cls(settings, store, Keyring(settings.passphrase), clock=clock, actor=actor)

    def acting_as(self, actor: str) -> "Context":
        """The same store, keys and clock, recording `actor` in the audit trail."""
        return dataclasses.replace(self, actor=actor)

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("clock must return an aware datetime")
        return now.replace(microsecond=0)  # tokens carry whole seconds; so do the records

    def today(self, now: datetime | None = None) -> date:
        return (now or self.now()).astimezone(self.tz).date()

    def allocator(self, issuer: Issuer) -> StatusAllocator:
        """Status list indexes for this issuer's lists."""
        return StatusAllocator(list_size=self.settings.status_list_size,
                               uri_for=lambda list_id: status_list_uri(issuer.url, list_id),
                               randbelow=self.randbelow)
