"""The scanner page in real Chromium: the handheld-scanner path (typed text + Enter)."""
from __future__ import annotations

import time

import pytest

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
    yield env.serve("verifier", free_port())
    env.stop()


@pytest.mark.parametrize("name,word", [("valid_large_family_qr", "ПРИНЯТО"), ("revoked", "ОТКАЗ")])
def test_handheld_scanner_types_qr_text(launch, verifier_url, name, word):
    vector = next(v for v in vectors(NOW) if v.name == name)
    page = launch().new_page()
    page.goto(verifier_url + "/")
    page.keyboard.type(vector.text)
    page.keyboard.press("Enter")
    page.get_by_text(word, exact=False).first.wait_for(timeout=10_000)
    if vector.holder_name:
        assert "Иванова" in page.content()
