from __future__ import annotations

import dataclasses
import importlib.util
import io
import re

import pytest
from PIL import Image

from shared import qr
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier.app import create_app
from verifier.sync import sync

needs_qrimage = pytest.mark.skipif(importlib.util.find_spec("shared.qrimage") is None,
                                   reason="shared.qrimage (image decoding) is not written yet")


@pytest.fixture
def make_client(settings):
    def _make(**changes):
        app = create_app(dataclasses.replace(settings, **changes), clock=lambda: NOW)
        app.testing = True
        return app.test_client()

    return _make


@pytest.fixture
def client(synced, make_client):
    return make_client()


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == code and body["message"] and body["message_en"]
    return body


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# --- /api/verify --------------------------------------------------------------------------------


def test_verify_accepts(client, issuer):
    response = client.post("/api/verify", json={"qr": issuer.qr()})
    assert response.status_code == 200
    body = response.get_json()
    assert body["verdict"] == "accept" and body["code"] == "valid"
    assert body["credential"]["holder"]["given_name"] == "Мария"
    assert "Мария" in response.get_data(as_text=True)  # UTF-8, not \u escapes
    assert response.headers["Cache-Control"] == "no-store"


def test_verify_text_that_is_no_credential_is_200_malformed(client):
    response = client.post("/api/verify", json={"qr": "https://example.org"})
    assert response.status_code == 200 and response.get_json()["code"] == "malformed"


@pytest.mark.parametrize("kwargs", [
    {"data": '{"qr": "1"}', "content_type": "text/plain"},
    {"data": "{not json", "content_type": "application/json"},
    {"data": '{"qr": "1", "qr": "2"}', "content_type": "application/json"},
    {"data": '["qr"]', "content_type": "application/json"},
    {"data": '{"qr": 123}', "content_type": "application/json"},
    {"data": '{"text": "123"}', "content_type": "application/json"},
    {"data": b'{"qr": "\xff"}', "content_type": "application/json"},
    {"data": "", "content_type": "application/json"},
])
def test_verify_bad_requests(client, kwargs):
    assert_error(client.post("/api/verify", **kwargs), 400, "bad_request")


def test_verify_body_too_large(synced, make_client):
    small = make_client(max_body=1000)
    assert_error(small.post("/api/verify", json={"qr": "1" * 2000}), 413, "too_large")


def test_verify_get_is_405_json(client):
    assert_error(client.get("/api/verify"), 405, "method_not_allowed")


def test_unknown_api_path_is_404_json(client):
    assert_error(client.get("/api/nothing"), 404, "not_found")


# --- /api/scan ----------------------------------------------------------------------------------


@needs_qrimage
def test_scan_raw_png(client, issuer):
    response = client.post("/api/scan", data=qr.render_png(issuer.qr()), content_type="image/png")
    assert response.status_code == 200 and response.get_json()["code"] == "valid"


@needs_qrimage
def test_scan_multipart(client, issuer):
    data = {"image": (io.BytesIO(qr.render_png(issuer.qr())), "photo.png", "image/png")}
    response = client.post("/api/scan", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["code"] == "valid"


@needs_qrimage
def test_scan_no_qr(client):
    response = client.post("/api/scan", data=png(Image.new("L", (200, 150), 255)),
                           content_type="image/png")
    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == "no_qr" and body["verdict"] == "reject"


@needs_qrimage
def test_scan_undecodable_image(client):
    assert_error(client.post("/api/scan", data=b"\x89PNG garbage", content_type="image/png"),
                 400, "bad_image")


@pytest.mark.parametrize("kwargs", [
    {"data": b"", "content_type": "image/jpeg"},
    {"data": {}, "content_type": "multipart/form-data"},
    {"data": {"image": (io.BytesIO(b""), "empty.png")}, "content_type": "multipart/form-data"},
    {"data": b"123", "content_type": "text/plain"},
])
def test_scan_without_an_image(client, kwargs):
    assert_error(client.post("/api/scan", **kwargs), 400, "no_image")


def test_scan_body_too_large(synced, make_client):
    small = make_client(max_body=1000)
    assert_error(small.post("/api/scan", data=b"\0" * 2000, content_type="image/png"),
                 413, "too_large")
    data = {"image": (io.BytesIO(b"\0" * 2000), "big.png", "image/png")}
    assert_error(small.post("/api/scan", data=data, content_type="multipart/form-data"),
                 413, "too_large")


@needs_qrimage
def test_scan_image_dimensions_too_large(synced, make_client):
    small = make_client(max_image_pixels=10_000)
    response = small.post("/api/scan", data=png(Image.new("L", (200, 200), 255)),
                          content_type="image/png")
    assert_error(response, 413, "too_large")


# --- /api/status and reloading ------------------------------------------------------------------


def test_status(client, issuer):
    body = client.get("/api/status").get_json()
    assert body["synced_at"] == NOW and body["stale"] is False and body["clock_ok"] is True
    [entry] = body["issuers"]
    assert entry["iss"] == issuer.iss and entry["name"] == issuer.name
    assert entry["keys"] == 1 and entry["kids"] == [issuer.kid]
    [lst] = entry["status_lists"]
    assert lst["iat"] == issuer.list_iat and lst["age_seconds"] == 3600 and lst["stale"] is False


def test_status_before_any_sync(make_client):
    body = make_client().get("/api/status").get_json()
    assert body["synced_at"] is None and body["stale"] is True and body["issuers"] == []


def test_cache_reloaded_after_a_sync_while_serving(client, issuer, settings, publish):
    prim = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    assert client.post("/api/verify", json={"qr": prim.qr()}).get_json()["code"] == "untrusted_issuer"
    sync([str(publish(issuer)), str(publish(prim))], settings.cache_dir, NOW + 1)
    assert client.post("/api/verify", json={"qr": prim.qr()}).get_json()["code"] == "valid"
    assert len(client.get("/api/status").get_json()["issuers"]) == 2


def test_refused_cache_is_reported(client, issuer, settings):
    (settings.cache_dir / "cache.json").write_text('{"format": 1}', "utf-8")
    body = client.get("/api/status").get_json()
    assert body["cache_error"] and body["ok"] is False
    assert client.post("/api/verify", json={"qr": issuer.qr()}).get_json()["code"] == "untrusted_issuer"


# --- the page -----------------------------------------------------------------------------------


def test_scanner_page(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="ru">' in html and "Проверка удостоверения" in html
    assert re.search(r'<input id="qr"[^>]*autofocus', html)
    assert 'type="file"' in html and "Музей" in html
    # Scripts only from files: no inline code for a CSP without 'unsafe-inline'.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/scanner.js" defer>']
    assert " on" not in re.sub(r"\s+", " ", html).replace(" one", "")  # no onclick= handlers


def test_security_headers(client):
    for response in (client.get("/"), client.get("/api/status"),
                     client.post("/api/verify", data="x", content_type="text/plain")):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp


def test_static_script_uses_text_content_only(client):
    response = client.get("/static/scanner.js")
    assert response.status_code == 200
    js = response.get_data(as_text=True)
    response.close()
    assert "textContent" in js
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js
    for path in ("/api/verify", "/api/scan", "/api/status"):
        assert path in js


def test_unknown_profile_refused_at_start(settings):
    from shared.errors import ConfigError
    with pytest.raises(ConfigError, match="casino"):
        create_app(dataclasses.replace(settings, venue_profile="casino"))
