"""The scanner page in real Chromium against a real `socpass-verifier serve` process: the
handheld-scanner path (typed text + Enter, no click) under an English and a Russian layout."""
from __future__ import annotations

import time

import pytest

from tests.browser.harness import as_russian_layout
from tests.e2e.conftest import Env, free_port
from tests.vectors.build import publish, vectors
from verifier import sync

NOW = int(time.time())


@pytest.fixture(scope="module")
def verifier_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("venue")
    sync.sync([str(s) for s in publish(root / "published", NOW)], root / "cache", NOW)
    env = Env(root)
    env.env["SOCPASS_VERIFIER_CACHE"] = str(root / "cache")
    env.env["SOCPASS_RECENT_WINDOW"] = "0"  # the same credential is typed more than once here
    yield env.serve("verifier", free_port())
    env.stop()


@pytest.mark.parametrize("name, layout, word", [
    ("valid_large_family_qr", "en", "ПРИНЯТО"),
    # digits are the same keys in both layouts; the letters of a plain JWS arrive as Cyrillic
    ("valid_large_family_compact", "ru", "ПРИНЯТО"),
    ("revoked", "en", "ОТКАЗ"),
])
def test_handheld_scanner_types_qr_text(launch, verifier_url, name, layout, word):
    vector = next(v for v in vectors(NOW) if v.name == name)
    text = as_russian_layout(vector.text) if layout == "ru" else vector.text
    page = launch().new_page()
    page.goto(verifier_url + "/")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.locator("#verdict-word").get_by_text(word, exact=True).wait_for(timeout=10_000)
    if vector.holder_name:
        assert page.locator("#holder-name").text_content() == vector.holder_name
    # The issuing region is shown on every verdict that carries a credential.
    assert "Регион: 27 Хабаровский край" in page.locator("#result").inner_text()
