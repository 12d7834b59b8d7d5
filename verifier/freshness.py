"""How old a synced status list is, and whether it may still be relied on.

A list is *stale* once `now > iat + ttl` (its issuer's promise of how long it stays current) or
once it reaches its `exp`. For `grace` seconds after going stale a venue still accepts
credentials, with the warning `status_stale` (a tablet may be offline for a weekend); after that,
or past the list's `exp` (the issuer's hard limit), the list is *unusable*.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.statuslist import StatusListToken

# A list that gives neither ttl nor exp is treated as current for one day.
DEFAULT_TTL = 86400

FRESH, STALE, UNUSABLE = "fresh", "stale", "unusable"


# Not frozen: a frozen dataclass costs ~4x as much to build and a scan builds eight of these
# (docs/benchmarks.md, figure 1). Treated as immutable all the same.
@dataclass(slots=True)
class Freshness:
    state: str       # FRESH, STALE (accept with a warning) or UNUSABLE
    age: int         # seconds since the list was signed (negative if the clock is behind)
    stale_at: int    # when it stopped (or stops) being current
    expired: bool    # past the list's exp

    @property
    def stale(self) -> bool:
        return self.state != FRESH


def judge(slt: StatusListToken, now: int, grace: int) -> Freshness:
    stale_at = slt.issued_at + (slt.ttl if slt.ttl is not None else DEFAULT_TTL)
    if slt.ttl is None and slt.expires_at is not None:
        stale_at = slt.expires_at
    if slt.expires_at is not None:
        stale_at = min(stale_at, slt.expires_at)
    expired = slt.expires_at is not None and now >= slt.expires_at
    if expired or now > stale_at + grace:
        state = UNUSABLE
    elif now > stale_at:
        state = STALE
    else:
        state = FRESH
    return Freshness(state=state, age=now - slt.issued_at, stale_at=stale_at, expired=expired)
