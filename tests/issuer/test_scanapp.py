"""The offline scanner app as the issuer publishes and serves it (issuer/scanapp.py, issue 13)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from flask import Flask

from issuer import scanapp
from issuer.app import create_app
from issuer.entitlements import DEFAULT_PROFILES
from issuer.federation.trustlist import Federation
from issuer.service import IssuerService
from shared.codes import Code
from shared.errors import ConfigError
from shared.messages import messages_document
from tests.issuer.helpers import ISSUER_ID
from tests.verifier.fakeissuer import NOW, FakeIssuer


@pytest.fixture
def app(service: IssuerService) -> Flask:
    app = create_app(service=service)
    app.config["TESTING"] = True
    return app


def precache(sw: str) -> list[dict]:
    start = sw.index("const PRECACHE = ") + len("const PRECACHE = ")
    return json.loads(sw[start:sw.index(" || [];", start)])


def test_publish_writes_the_app_next_to_the_data(service: IssuerService, tmp_path: Path) -> None:
    out = service.publish(tmp_path / "pub")
    app = tmp_path / "pub" / "scan"
    assert out["app"] == str(app / "index.html") and out["app_files"] > 10
    config = json.loads((app / "config.json").read_text("utf-8"))
    assert config["mode"] == "issuer" and config["iss"] == ISSUER_ID and config["base"] == "../"
    assert config["refresh_seconds"] == 300 and config["roots"] is None
    assert [v["kind"] for v in config["venues"]] == ["museum", "park", "zoo", "sport", "transport"]
    # The venue's rules for an issuer that publishes none: the ministry's defaults.
    assert config["builtin_profiles"] == json.loads(json.dumps(DEFAULT_PROFILES))
    # messages.json is shared/'s document, the one the engine's tests run with.
    messages = json.loads((app / "messages.json").read_text("utf-8"))
    assert messages == json.loads(json.dumps(messages_document()))
    assert set(messages["codes"]) >= {c.value for c in Code}
    # One manifest per venue kind: installed from ?venue=park, it starts as a park's.
    park = json.loads((app / "manifest-park.webmanifest").read_text("utf-8"))
    assert park["start_url"] == "./?venue=park" and park["display"] == "standalone"
    assert {"sizes": "512x512", "src": "icon-512.png", "type": "image/png"} in park["icons"]
    # The precache manifest in sw.js names every other file, each with its content's hash.
    manifest = precache((app / "sw.js").read_text("utf-8"))
    files = {p.relative_to(app).as_posix(): p for p in app.rglob("*") if p.is_file()}
    assert {e["url"] for e in manifest} == set(files) - {"sw.js"}
    assert all(e["revision"] == scanapp.revision(files[e["url"]].read_bytes()) for e in manifest)
    assert "self.__WB_MANIFEST" not in (app / "sw.js").read_text("utf-8")
    assert not [name for name in files if name.endswith((".py", ".map")) or "tests/" in name]


def test_the_same_app_twice_has_the_same_revisions(service: IssuerService, tmp_path: Path) -> None:
    # An unchanged app must not make every tablet download it again.
    service.publish(tmp_path / "a")
    service.publish(tmp_path / "b")
    assert (tmp_path / "a/scan/sw.js").read_bytes() == (tmp_path / "b/scan/sw.js").read_bytes()


def test_build_refuses_an_app_directory_without_its_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scanner app.*SOCPASS_APP_DIR"):
        scanapp.build(scanapp.issuer_config(iss="X", name="X", refresh_seconds=60), app_dir=tmp_path)


def test_federation_publish_writes_an_app_with_the_pinned_roots(tmp_path: Path) -> None:
    fed = Federation(tmp_path / "home", b"pass")
    fed.init("RU-FED", "Минтруд России")
    fed.add(str(FakeIssuer(iss="RU-27", region="27").publish(tmp_path / "a")), name="Хабаровский край")
    out = fed.publish(tmp_path / "pub", NOW, bundle=False,
                      app=functools.partial(scanapp.federal_app, refresh_seconds=120))
    config = json.loads((tmp_path / "pub/scan/config.json").read_text("utf-8"))
    roots = json.loads((tmp_path / "pub/socpass-roots.json").read_text("utf-8"))
    assert config["mode"] == "federal" and config["roots"] == roots
    assert config["refresh_seconds"] == 120 and out["app_files"] > 10
    assert (tmp_path / "pub/scan/index.html").is_file()
    fed.publish(tmp_path / "bare", NOW + 1, bundle=False)  # --no-app
    assert not (tmp_path / "bare/scan").exists()


@pytest.mark.parametrize("path, media_type", [
    ("/scan/", "text/html; charset=utf-8"),
    ("/scan/app.js", "text/javascript; charset=utf-8"),
    ("/scan/sw.js", "text/javascript; charset=utf-8"),
    ("/scan/vendor/idb-8.0.4/index.js", "text/javascript; charset=utf-8"),
    ("/scan/manifest.webmanifest", "application/manifest+json"),
    ("/scan/config.json", "application/json"),
    ("/scan/icon-192.png", "image/png"),
])
def test_serve_has_the_app_at_scan(app: Flask, path: str, media_type: str) -> None:
    client = app.test_client()
    response = client.get(path)
    assert response.status_code == 200 and response.headers["Content-Type"] == media_type
    assert response.headers["Cache-Control"] == "no-cache"  # sw.js above all: updates are seen
    csp = response.headers["Content-Security-Policy"]
    assert "'wasm-unsafe-eval'" in csp and "manifest-src 'self'" in csp and "unsafe-inline" not in csp
    again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_serve_scan_edges(app: Flask) -> None:
    client = app.test_client()
    moved = client.get("/scan?venue=zoo")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/scan/?venue=zoo")
    assert client.get("/scan/nope.js").status_code == 404
    assert client.get("/scan/../issuer.db").status_code == 404
    assert scanapp.media_type("decoder.wasm") == "application/wasm"
    assert scanapp.media_type("worker.mjs").startswith("text/javascript")
    config = client.get("/scan/config.json").get_json()
    assert config["mode"] == "issuer" and config["iss"] == ISSUER_ID


def test_app_dir_setting_names_another_copy(env: dict, tmp_path: Path) -> None:
    import shutil

    from issuer.config import Settings

    copy = tmp_path / "app-copy"
    shutil.copytree(scanapp.APP_DIR, copy, ignore=shutil.ignore_patterns("engine", "decode"))
    (copy / "app.css").write_text("/* the installed copy */\n", "utf-8")
    settings = Settings.from_env(dict(env, SOCPASS_APP_DIR=str(copy)))
    assert settings.app_dir == copy
    svc = IssuerService.open(settings, actor="test")
    try:
        svc.init_issuer(ISSUER_ID, "Министерство", "https://szn.example", region="27")
        svc.publish(tmp_path / "pub")
        assert (tmp_path / "pub/scan/app.css").read_text("utf-8") == "/* the installed copy */\n"
    finally:
        svc.close()
