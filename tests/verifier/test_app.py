from __future__ import annotations

import dataclasses
import importlib.util
import io
import re

import pytest
from PIL import Image

from issuer import qrrender
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier.app import STATIC_DIR, create_app
from verifier.sync import sync

needs_qrimage = pytest.mark.skipif(importlib.util.find_spec("verifier.imaging") is None,
                                   reason="verifier.imaging (image decoding) is not written yet")


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
    # Past Python's int-digit limit the parser raised a plain ValueError: it was a 500.
    {"data": '{"qr": "1", "x": ' + "9" * 100_000 + "}", "content_type": "application/json"},
    {"data": '{"qr": "1", "x": [' + "9" * 5_000 + "]}", "content_type": "application/json"},
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
    response = client.post("/api/scan", data=qrrender.render_png(issuer.qr()), content_type="image/png")
    assert response.status_code == 200 and response.get_json()["code"] == "valid"


@needs_qrimage
def test_scan_multipart(client, issuer):
    data = {"image": (io.BytesIO(qrrender.render_png(issuer.qr())), "photo.png", "image/png")}
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


def test_status_names_a_directory_source_without_its_path(client, issuer, settings):
    response = client.get("/api/status")
    [entry] = response.get_json()["issuers"]
    assert entry["source"].startswith("pub") and "/" not in entry["source"]
    assert str(settings.home.parent) not in response.get_data(as_text=True)


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
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/static/scanner-server.js">']
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


# Every first-party script: the page's engine over HTTP, the screen it shares with the offline
# app (static/scan/ui/) and the app itself; vendored libraries (static/scan/vendor/) are others'.
SCRIPTS = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js")
                 if "vendor" not in p.relative_to(STATIC_DIR).parts)


def test_static_script_uses_text_content_only(client):
    js = ""
    for name in SCRIPTS:
        response = client.get("/static/" + name)
        assert response.status_code == 200 and "javascript" in response.mimetype, name
        js += response.get_data(as_text=True)
        response.close()
    assert "textContent" in js
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setTimeout(\""):
        assert sink not in js
    for path in ("/api/verify", "/api/scan", "/api/status"):
        assert path in js
    assert {"scanner-server.js", "scan/ui/screen.js", "scan/app.js"} <= set(SCRIPTS)


def test_unknown_profile_refused_at_start(settings):
    from shared.errors import ConfigError
    with pytest.raises(ConfigError, match="casino"):
        create_app(dataclasses.replace(settings, venue_profile="casino"))


# --- the camera's "same code still in view" ---------------------------------------------------


@needs_qrimage
def test_scan_gives_a_tag_and_skips_the_same_code(client, issuer, settings):
    image = qrrender.render_png(issuer.qr())
    first = client.post("/api/scan", data=image, content_type="image/png")
    assert first.status_code == 200 and first.get_json()["code"] == "valid"
    tag = first.headers["X-Socpass-Seen"]
    assert len(tag) == 32
    again = client.post(f"/api/scan?skip={tag}", data=image, content_type="image/png")
    assert again.status_code == 204 and again.get_data() == b""
    other = client.post(f"/api/scan?skip={tag}", data=qrrender.render_png(issuer.qr()),
                        content_type="image/png")
    assert other.status_code == 200 and other.headers["X-Socpass-Seen"] != tag
    wrong = client.post("/api/scan?skip=0000", data=image, content_type="image/png")
    assert wrong.status_code == 200
    assert wrong.get_json()["warnings"] == ["recently_used"]  # shown again: a second scan
    summary = client.get("/api/stats").get_json()
    assert summary["totals"]["scans"] == 3  # the skipped frame is not a verdict


@needs_qrimage
def test_frames_without_a_code_are_not_logged(client):
    blank = png(Image.new("L", (320, 240), 255))
    for _ in range(3):
        assert client.post("/api/scan", data=blank, content_type="image/png").get_json()["code"] == "no_qr"
    assert client.get("/api/stats").get_json()["totals"]["scans"] == 0


# --- statistics ---------------------------------------------------------------------------------


def _scan_a_few(client, issuer):
    client.post("/api/verify", json={"qr": issuer.qr()})
    client.post("/api/verify", json={"qr": issuer.qr(category="disability_1")})
    client.post("/api/verify", json={"qr": "=HYPERLINK(\"http://evil\")"})


def test_api_stats(client, issuer):
    _scan_a_few(client, issuer)
    body = client.get("/api/stats").get_json()
    assert body["day"] == "2025-06-16"
    assert body["totals"] == {"scans": 3, "accepted": 2, "accepted_with_warning": 0,
                              "rejected": 1, "with_warning": 0, "persons": 8}
    labels = {g["label"] for g in body["by_category"]}
    assert {"Многодетная семья", "Инвалид I группы"} <= labels
    assert {c["code"]: c["count"] for c in body["by_code"]} == {"malformed": 1, "valid": 2}
    english = client.get("/api/stats?lang=en").get_json()
    assert "Large family" in {g["label"] for g in english["by_category"]}
    assert client.get("/api/stats?day=2025-06-15").get_json()["totals"]["scans"] == 0
    assert_error(client.get("/api/stats?day=yesterday"), 400, "bad_day")


def test_stats_tiles_and_table_count_the_same_admissions(client, issuer):
    """A second use within the window is accepted with a warning: the "accepted" tile and the
    table's "accepted" column both count it, and both say how many of them had a warning."""
    text = issuer.qr(category="pensioner")
    client.post("/api/verify", json={"qr": text})
    assert client.post("/api/verify", json={"qr": text}).get_json()["warnings"] == ["recently_used"]
    client.post("/api/verify", json={"qr": issuer.qr()})
    client.post("/api/verify", json={"qr": "garbage"})
    html = client.get("/stats").get_data(as_text=True)
    tiles = dict(re.findall(r'<div[^>]*data-total="(\w+)"[^>]*>.*?<dd>(\d+)</dd>', html, re.S))
    rows = re.findall(r'<tr data-category>.*?</tr>', html, re.S)
    cells = [[int(n) for n in re.findall(r"<td>(\d+)</td>", row)] for row in rows]
    assert tiles == {"scans": "4", "accepted": "3", "accepted_with_warning": "1", "rejected": "1",
                     "persons": str(sum(c[3] for c in cells))}
    assert sum(c[0] for c in cells) == 3 and sum(c[1] for c in cells) == 1
    assert sum(c[2] for c in cells) == 1
    assert "включая принятые с предупреждением" in html


def test_stats_page(client, issuer):
    _scan_a_few(client, issuer)
    response = client.get("/stats")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert '<html lang="ru">' in html and "Статистика проверок" in html
    assert "Многодетная семья" in html and "Инвалид I группы" in html
    assert "/stats.csv?from=2025-06-16&amp;to=2025-06-16" in html
    assert "<script" not in html and "Иванова" not in html
    english = client.get("/stats?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Scan statistics" in english
    bad = client.get("/stats?day=2025-13-01")
    assert bad.status_code == 400 and "ГГГГ-ММ-ДД" in bad.get_data(as_text=True)


def test_stats_csv(client, issuer):
    _scan_a_few(client, issuer)
    response = client.get("/stats.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "socpass-museum-2025-06-16-2025-06-16.csv" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeffДата;Профиль объекта;")
    lines = text.lstrip("\ufeff").splitlines()
    assert len(lines) == 4
    assert "2025-06-16;museum;large_family;;Многодетная семья;принято;valid;;1;6" in lines
    assert "Иванова" not in text and "HYPERLINK" not in text  # the QR text itself is never logged
    english = client.get("/stats.csv?lang=en&from=2025-06-01&to=2025-06-30").get_data().decode()
    assert english.lstrip("\ufeff").startswith("day;profile;type;")
    assert_error(client.get("/api/stats?day=2025-6-1"), 400, "bad_day")
    assert client.get("/stats.csv?from=2025-06-30&to=2025-06-01").status_code == 400
    assert client.get("/stats.csv?from=2020-01-01&to=2025-06-01").status_code == 400


def test_csv_cells_cannot_become_formulas():
    from verifier.stats import report_csv, safe_cell

    for dangerous in ("=1+1", "+7", "-3", "@SUM(A1)", "\t=x", "\r=x"):
        assert safe_cell(dangerous).startswith("'")
    assert safe_cell("museum") == "museum" and safe_cell(None) == "" and safe_cell(5) == "5"
    row = {"day": "2025-06-16", "profile": "=cmd|' /C calc'!A0", "type": None, "category": None,
           "verdict": "reject", "code": "malformed", "warnings": "", "scans": 1, "persons": 0}
    line = report_csv([row], "en").splitlines()[1]
    assert ";'=cmd|" in line


def test_every_code_has_statistics_labels():
    from shared.codes import Code, Warning_
    from verifier.stats import CODE_LABELS, WARNING_LABELS

    assert set(CODE_LABELS) == {c.value for c in Code}
    assert set(WARNING_LABELS) == {w.value for w in Warning_}


# --- the page and the status --------------------------------------------------------------------


def test_scanner_page_structure(client):
    html = client.get("/").get_data(as_text=True)
    assert 'aria-live="assertive"' in html and 'id="announce"' in html
    assert 'id="status-bar"' in html and 'id="lang"' in html and 'href="/stats"' in html
    assert 'data-venue-en="Museum"' in html and 'id="camera"' in html
    assert 'id="holder-name" class="name" dir="ltr"' in html
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    icon.close()


def test_status_levels(client, issuer, make_client, settings):
    assert client.get("/api/status").get_json()["level"] == "ok"
    stale_at = issuer.list_iat + issuer.list_ttl
    later = create_app(settings, clock=lambda: stale_at + 10).test_client()
    body = later.get("/api/status").get_json()
    assert body["level"] == "warning" and body["stale"] and not body["ok"]
    gone = create_app(settings, clock=lambda: stale_at + settings.status_grace + 10).test_client()
    assert gone.get("/api/status").get_json()["level"] == "error"
    behind = create_app(settings, clock=lambda: NOW - 86400).test_client()
    assert behind.get("/api/status").get_json()["level"] == "error"


def test_status_level_before_any_sync(make_client):
    body = make_client().get("/api/status").get_json()
    assert body["level"] == "error" and body["venue_name_en"] == "Museum"


def test_json_writer_spells_what_orjson_does_not_take_like_flask(tmp_path):
    """The orjson writer hands dates, dataclasses and big integers to Flask's own writer."""
    import dataclasses as dc
    from datetime import date

    from flask import Flask
    from flask.json.provider import DefaultJSONProvider

    from verifier.app import FastJSONProvider

    @dc.dataclass
    class Point:
        x: int

    fast, plain = Flask("fast"), Flask("plain")
    fast.json = FastJSONProvider(fast)
    plain.json = DefaultJSONProvider(plain)
    plain.json.sort_keys = False
    plain.json.ensure_ascii = False
    for obj in ({"d": date(2026, 11, 30)}, {"p": Point(1)}, {"n": 2**70}, {"имя": "Иванова", "k": [1, None]}):
        with fast.app_context():
            got = fast.json.response(obj).get_data()
        with plain.app_context():
            want = plain.json.response(obj).get_data()
        assert got == want
