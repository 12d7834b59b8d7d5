"""A running verifier learns of a revocation by itself: `socpass-verifier serve` syncs in the
background, over real HTTP from a real issuer, and an unchanged refresh costs 304s only."""
from __future__ import annotations

import json
import time
import urllib.request

from tests.e2e.conftest import free_port, http_status, post_json
from tests.e2e.test_spine import serving_one_credential, world  # noqa: F401  (an issuer and a venue)

INTERVAL = 2  # seconds; the default is 300


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def wait_for(predicate, what: str, seconds: float = 60):
    """Poll until `predicate()` is truthy (a bound far past the interval, not a timing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_revocation_reaches_the_running_verifier_without_a_manual_sync(world):
    issuer, verifier = world
    base, lf = serving_one_credential(issuer)

    # The issuer answers conditional requests for everything a verifier syncs.
    for path in ("/.well-known/jwks.json", "/.well-known/socpass-issuer.json",
                 lf["status"]["uri"].removeprefix(base)):
        with urllib.request.urlopen(base + path, timeout=10) as resp:
            etag = resp.headers["ETag"]
        assert etag, path
        assert http_status(base + path, headers={"If-None-Match": etag}) == 304, path

    verifier.run("verifier", "sync", base)  # once by hand; from then on by itself
    verifier.env.update(SOCPASS_SYNC_INTERVAL=str(INTERVAL))
    vbase = verifier.serve("verifier", free_port())
    assert post_json(vbase + "/api/verify", {"qr": lf["qr_text"]})[1]["code"] == "valid"

    # An unchanged refresh: every file answered 304, nothing downloaded again.
    def refreshed_unchanged():
        bg = get_json(vbase + "/api/status")["background_sync"]
        return bg if bg["ok"] and bg["not_modified"] and bg["fetched"] == 0 else None

    bg = wait_for(refreshed_unchanged, "an unchanged background refresh")
    assert bg["interval"] == INTERVAL and bg["not_modified"] >= 3  # metadata, JWKS, a list
    assert bg["sources"] == [base]

    issuer.json("issuer", "revoke", lf["id"], "--reason", "утрата статуса")
    result = wait_for(lambda: (lambda r: r if r["code"] == "revoked" else None)(
        post_json(vbase + "/api/verify", {"qr": lf["qr_text"]})[1]), "the revocation")
    assert result["verdict"] == "reject"
    status = get_json(vbase + "/api/status")
    assert status["background_sync"]["ok"] is True
    assert status["sync_age_seconds"] <= 3 * INTERVAL + 5

    # The issuer goes away: the cache is kept, the failure and the data's age are shown.
    issuer.stop()
    failed = wait_for(lambda: (lambda s: s if s["background_sync"]["ok"] is False else None)(
        get_json(vbase + "/api/status")), "a failed refresh")
    assert failed["background_sync"]["error"]
    assert failed["synced_at"] is not None and failed["issuers"]
    assert post_json(vbase + "/api/verify", {"qr": lf["qr_text"]})[1]["code"] == "revoked"
