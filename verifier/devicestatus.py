"""The device's state as /api/status and `socpass-verifier status` show it: sync age, issuers and
their lists' freshness, the clock, the federation, and one level for the status bar."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifier import freshness
from verifier.background import read_state, source_name
from verifier.federated import federation_report

if TYPE_CHECKING:
    from verifier.service import Verifier


def device_status(verifier: Verifier, now: int | float) -> dict[str, Any]:
    """What /api/status and `socpass-verifier status` show: sync age, issuers, staleness."""
    now = int(now)
    grace = verifier.settings.status_grace
    issuers, stale, unusable = [], not verifier.cache.issuers, False
    for issuer in verifier.cache.issuers.values():
        lists = []
        for uri, slt in issuer.status_lists.items():
            judged = freshness.judge(slt, now, grace)
            stale = stale or judged.stale
            unusable = unusable or judged.state == freshness.UNUSABLE
            lists.append({"uri": uri, "iat": slt.issued_at, "exp": slt.expires_at,
                          "ttl": slt.ttl, "age_seconds": judged.age, "stale": judged.stale,
                          "state": judged.state, "stale_at": judged.stale_at})
        region, region_name = verifier.cache.region_name(issuer.iss)
        issuers.append({"iss": issuer.iss, "name": issuer.metadata.name,
                        "region": region, "region_name": region_name,
                        "source": source_name(issuer.source),
                        "keys": len(issuer.keys), "kids": [k.kid for k in issuer.keys],
                        "status_lists": lists,
                        # whose rules decide what this venue grants its credentials
                        "entitlement_rules": verifier.policy.rules_for(issuer.entitlements)[1]})
    synced_at = verifier.cache.synced_at
    clock_ok = verifier.clock_ok(now)
    name_ru, name_en = verifier.policy.names(verifier.cache)
    # level: what the status bar shows. "error" when checks will be refused (never synced,
    # cache refused, clock wrong, a list past its grace), "warning" when accepted only with
    # status_stale, "ok" otherwise: a stale cache is never "ok".
    federation = federation_report(verifier.cache, now)
    if federation and isinstance(federation.get("source"), str):
        federation["source"] = source_name(federation["source"])
    federal_expired = bool(federation and federation["expired"])
    if (verifier.cache.error is not None or not verifier.cache.issuers or not clock_ok
            or unusable or federal_expired):
        level = "error"
    elif stale:
        level = "warning"
    else:
        level = "ok"
    return {"ok": verifier.cache.error is None and not stale and clock_ok and not federal_expired,
            "level": level, "federation": federation,
            "cache_error": verifier.cache.error, "synced_at": synced_at,
            "sync_age_seconds": None if synced_at is None else now - synced_at,
            "venue_profile": verifier.policy.name, "venue_name": name_ru,
            "venue_name_en": name_en, "issuers": issuers, "stale": stale,
            "clock_ok": clock_ok, "now": now,
            "timezone": verifier.settings.timezone,
            "background_sync": _background(verifier, now),
            "recent_window": verifier.settings.recent_window,
            "recent_policy": verifier.settings.recent_policy}


def _background(verifier: Verifier, now: int) -> dict[str, Any]:
    """The background syncer as the status bar words it: every how long, the last attempt and
    whether it failed (the data then keeps its age: `synced_at`)."""
    settings = verifier.settings
    state = read_state(settings.cache_dir) or {}
    attempted = state.get("attempted_at")
    return {"interval": settings.sync_interval, "enabled": settings.sync_interval > 0,
            "attempted_at": attempted if isinstance(attempted, int) else None,
            "ok": state.get("ok") if isinstance(state.get("ok"), bool) else None,
            "error": state.get("error") if isinstance(state.get("error"), str) else None,
            "sources": [s for s in state.get("sources", []) if isinstance(s, str)],
            "fetched": state.get("fetched"), "not_modified": state.get("not_modified")}
