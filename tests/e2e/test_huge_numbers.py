"""`{"qr": "1", "x": <100,000 digits>}`: past Python's int-digit limit the JSON parser raises a
plain ValueError, which /api/verify answered with a 500. Every JSON endpoint of both servers,
over real HTTP, answers 400."""
from __future__ import annotations

from tests.e2e.conftest import free_port, http_status
from tests.e2e.test_spine import serving_one_credential, world  # noqa: F401  (an issuer and a venue)

HUGE = b'{"qr": "1", "x": ' + b"9" * 100_000 + b"}"


def post(url: str, body: bytes, token: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http_status(url, body, headers)


def test_a_number_past_the_digit_limit_is_a_400_everywhere(world):
    issuer, verifier = world
    base, lf = serving_one_credential(issuer)
    cid = lf["id"]
    token = issuer.json("issuer", "tokens", "create", "реестр")["token"]
    verifier.run("verifier", "sync", base)
    vbase = verifier.serve("verifier", free_port())

    assert post(vbase + "/api/verify", HUGE) == 400
    assert post(base + "/api/v1/credentials", HUGE, token) == 400
    assert post(base + f"/api/v1/credentials/{cid}/revoke", HUGE, token) == 400
