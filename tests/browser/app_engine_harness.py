"""The browser engine (static/scan/engine/) in a page of its own, next to the Python verifier.

A temporary directory holds a copy of static/scan/, the generated messages.json, a minimal test
page and the shared vectors' publication; a static file server on loopback serves it. `EnginePage` syncs
the engine from that publication through fetch and runs many verifications in one page.evaluate.
Also used by the browser verify benchmark (bench/browser_verify.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.messages import messages_document
from tests.browser.harness import LiveServer
from tests.vectors.build import publish as publish_vectors
from verifier import cache as trust_cache
from verifier import sync
from verifier.config import Settings
from verifier.policy import BUILTIN_PROFILES
from verifier.service import Verifier

STATIC_SCAN = Path(__file__).resolve().parents[2] / "static" / "scan"
PUBLICATION = "pub"          # the issuers' published files, below the server root
VECTOR_SOURCES = ("ru27/", "ru25/")

TEST_PAGE = """<!doctype html><meta charset="utf-8"><title>engine</title>
<script type="module">
import * as engine from "./engine/verifier.js";
window.engine = engine;
window.engineReady = true;
</script>
"""

# Runs in the page: sync through fetch, then verify every [text, now] case in order.
RUN_JS = """async ({sources, venue, settings, builtin, cases, now, publication}) => {
  const {syncPublication, createVerifier} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const fetchText = async (rel, previous) => {
    const headers = previous && previous.etag ? {"If-None-Match": previous.etag} : {};
    const r = await fetch(publication + rel, {headers, cache: "no-store"});
    if (r.status === 404 || r.status === 304) return {status: r.status};
    return {status: r.status, text: await r.text(), etag: r.headers.get("etag")};
  };
  const {snapshot, report} = await syncPublication(fetchText, null, {now, messages, sources});
  const verifier = createVerifier(snapshot, {venue, messages, settings, builtinProfiles: builtin});
  await verifier.ready;
  const results = [];
  for (const [text, at] of cases) results.push(await verifier.verify(text, at));
  return {report, results, snapshotBytes: JSON.stringify(snapshot).length};
}"""


def static_server(root: Path) -> LiveServer:
    """A static file server over a directory (ETags and 304s included), on a loopback port."""
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.shared_data import SharedDataMiddleware

    return LiveServer(SharedDataMiddleware(NotFound(), {"/": str(root)}))


@dataclass
class Case:
    """One input for both engines: (input, now, publication, venue); the expectation is the
    Python verifier's answer, computed live."""

    name: str
    text: str
    now: int
    venue: str = "museum"
    expected_code: str | None = None  # the vector's own claim, a sanity check of the Python side


def app_files(root: Path) -> Path:
    """scan/ under root: the app's files, the generated messages.json and the test page."""
    scan = root / "scan"
    shutil.copytree(STATIC_SCAN, scan)
    (scan / "messages.json").write_text(json.dumps(messages_document(), ensure_ascii=False), encoding="utf-8")
    (scan / "engine-test.html").write_text(TEST_PAGE, encoding="utf-8")
    return scan


def site(root: Path, now: int) -> Path:
    """The served tree: scan/ (app_files) and pub/ (the vectors' publication, one directory
    per issuer)."""
    app_files(root)
    publish_vectors(root / PUBLICATION, now)
    return root


def published_app(root: Path, now: int) -> Path:
    """root/pub: the vectors' two issuers; root/scan: the app as `publish` builds it
    (issuer/scanapp.py), configured to sync both from ../pub/. Returns root."""
    from issuer import scanapp
    from issuer.publishing import write_files

    publish_vectors(root / PUBLICATION, now)
    config = dict(scanapp.issuer_config(iss="RU-27", name="vectors", refresh_seconds=300),
                  base=f"../{PUBLICATION}/", sources=list(VECTOR_SOURCES))
    write_files(root, scanapp.under_prefix(scanapp.build(config)))
    return root


def engine_settings(settings: Settings) -> dict[str, Any]:
    """The Python verifier's settings under the names the engine takes."""
    return {"leeway": settings.leeway, "clock_tolerance": settings.clock_tolerance,
            "status_grace": settings.status_grace, "recent_window": settings.recent_window,
            "recent_policy": settings.recent_policy, "timezone": settings.timezone,
            "venue_region": settings.venue_region}


class PythonVenue:
    """The Python verifier synced from the same publication: the expectation of every case."""

    def __init__(self, root: Path, now: int) -> None:
        self.cache_dir = root / "python-cache"
        sync.sync([str(root / PUBLICATION / s) for s in VECTOR_SOURCES], self.cache_dir, now)
        self.cache = trust_cache.load(self.cache_dir)
        self.settings = Settings.from_env({"SOCPASS_VERIFIER_CACHE": str(self.cache_dir)})
        self._verifiers: dict[str, Verifier] = {}

    def verify(self, case: Case) -> dict[str, Any]:
        if case.venue not in self._verifiers:
            settings = dataclasses.replace(self.settings, venue_profile=case.venue)
            self._verifiers[case.venue] = Verifier(self.cache, settings)
        return self._verifiers[case.venue].verify_text(case.text, case.now).to_json()

    def engine_settings(self) -> dict[str, Any]:
        return engine_settings(self.settings)


class EnginePage:
    """The test page open in headless Chromium, over the site's server."""

    def __init__(self, browser, server: LiveServer) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.goto(server.url + "/scan/engine-test.html")
        self.page.wait_for_function("window.engineReady === true")

    def run(self, cases: list[Case], now: int, *, venue: str, settings: dict[str, Any]) -> dict[str, Any]:
        return self.page.evaluate(RUN_JS, {
            "sources": list(VECTOR_SOURCES), "venue": venue, "settings": settings,
            "builtin": BUILTIN_PROFILES, "now": now, "publication": f"/{PUBLICATION}/",
            "cases": [[c.text, c.now] for c in cases]})


@dataclass
class World:
    root: Path
    python: PythonVenue
    server: LiveServer
    browser: Any


@contextlib.contextmanager
def vector_world(playwright, root: Path, now: int) -> Iterator[World]:
    """The vectors' site served on loopback, the Python venue synced from it, and a headless
    Chromium (a module fixture's set-up)."""
    from tests.browser.harness import BASE_ARGS, chromium_executable

    site(root, now)
    python = PythonVenue(root, now)
    server = static_server(root)
    browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True,
                                         args=BASE_ARGS)
    try:
        yield World(root, python, server, browser)
    finally:
        browser.close()
        server.stop()


@contextlib.contextmanager
def published_app_page(playwright, root: Path, now: int, venue: str = "museum"):
    """The published app (published_app) on a loopback static server, open in headless
    Chromium and started: a page to evaluate the app's own modules in."""
    from tests.browser.app_shell_harness import StaticServer
    from tests.browser.harness import BASE_ARGS, chromium_executable

    published_app(root, now)
    server = StaticServer(root)
    browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True,
                                         args=BASE_ARGS)
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/scan/?venue={venue}")
        page.wait_for_selector("html[data-socpass='started']", timeout=30000)
        yield page
    finally:
        browser.close()
        server.stop()
