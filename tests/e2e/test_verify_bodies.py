"""POST /api/verify over real HTTP, however the body comes: with a Content-Length, chunked,
declared too large, or empty. The view reads a body with a length straight from the server's
input and leaves everything else to Werkzeug; each way gives the answer a client expects."""
from __future__ import annotations

import http.client
import json
import time

import pytest

from tests.e2e.conftest import Env, free_port
from tests.vectors.build import publish, vectors
from verifier import sync


@pytest.fixture
def served(tmp_path):
    now = int(time.time())
    cache = tmp_path / "venue" / "cache"
    sync.sync([str(s) for s in publish(tmp_path / "pub", now)], cache, now)
    text = next(v for v in vectors(now) if v.name == "valid_large_family_qr").text
    venue = Env(tmp_path / "venue")
    venue.env.update(SOCPASS_VERIFIER_CACHE=str(cache), SOCPASS_MAX_BODY="65536")
    port = free_port()
    venue.serve("verifier", port)
    yield port, json.dumps({"qr": text}).encode()
    venue.stop()


def _post(port: int, body, headers: dict[str, str], **kw) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/verify", body=body,
                     headers={"Content-Type": "application/json", **headers}, **kw)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_body_with_length(served):
    port, body = served
    status, result = _post(port, body, {})
    assert (status, result["code"]) == (200, "valid")


def test_chunked_body(served):
    port, body = served
    chunks = iter([body[:100], body[100:]])  # no length known: sent chunked
    status, result = _post(port, chunks, {}, encode_chunked=True)
    assert (status, result["code"]) == (200, "valid")


def test_declared_too_large_is_refused_unread(served):
    port, body = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", "/api/verify")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(10 * 1024 * 1024))
        conn.endheaders(body)  # far less than declared: the answer must not wait for the rest
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"] == "too_large"
    finally:
        conn.close()


def test_empty_body(served):
    port, _ = served
    status, result = _post(port, b"", {"Content-Length": "0"})
    assert (status, result["error"]) == (400, "bad_request")
