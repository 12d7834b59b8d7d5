"""Two engines, one truth, through the page API: the published app (scanapp.build, the same
builder `socpass-issuer publish` uses) synced from the shared vectors' publication, and
`window.socpass.verify(text)` for every vector against `Verifier.verify_text` of the Python
verifier synced from the same files. The app decides at the tablet's clock, so only the vectors
made for now (not the time-shifted cases of test_app_engine.py, which call the engine directly).
"""
from __future__ import annotations

import time

import pytest

from tests.browser.app_engine_harness import Case, PythonVenue, published_app
from tests.browser.app_shell_harness import StaticServer
from tests.browser.harness import BASE_ARGS, chromium_executable
from tests.vectors.build import vectors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOW = int(time.time())
VENUE = "museum"


@pytest.fixture(scope="module")
def both(tmp_path_factory, playwright_instance):
    root = tmp_path_factory.mktemp("app-page")
    published_app(root, NOW)
    cases = [Case(v.name, v.text, NOW, expected_code=v.code) for v in vectors(NOW)]
    python = PythonVenue(root, NOW)
    expected = [python.verify(c) for c in cases]
    server = StaticServer(root)
    browser = playwright_instance.chromium.launch(executable_path=chromium_executable(),
                                                  headless=True, args=BASE_ARGS)
    try:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(f"{server.url}/scan/?venue={VENUE}")
        page.wait_for_selector("html[data-socpass='started']", timeout=30000)
        # One after another, as a clerk scans: repeated use is the device's own business.
        got = page.evaluate("""async (texts) => {
          await window.socpass.ready;
          const out = [];
          for (const text of texts) out.push(await window.socpass.verify(text));
          return {results: out, status: await window.socpass.status()};
        }""", [c.text for c in cases])
    finally:
        browser.close()
        server.stop()
    return cases, expected, got, errors


def test_every_vector_same_code_through_window_socpass_verify(both):
    cases, expected, got, errors = both
    assert errors == []
    assert len(got["results"]) == len(cases)
    # The Python side gives each vector its own claimed code (a sanity check of the vectors).
    assert [e["code"] for e in expected] == [c.expected_code for c in cases]
    different = [(c.name, e["code"], g["code"]) for c, e, g in zip(cases, expected, got["results"])
                 if (e["verdict"], e["code"]) != (g["verdict"], g["code"])]
    assert different == []
    assert {"valid", "revoked", "suspended", "malformed"} <= {e["code"] for e in expected}


def test_the_page_synced_both_issuers(both):
    _, _, got, _ = both
    status = got["status"]
    assert sorted(i["iss"] for i in status["issuers"]) == ["RU-25", "RU-27"]
    assert status["refresh"]["ok_at"] is not None and status["venue"] == VENUE
