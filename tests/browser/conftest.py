"""Real headless Chromium (Debian's package) driven by Playwright; no browser is downloaded.

Skipped where Chromium is absent, except in CI (CI=true), where that is a failure.
"""
from __future__ import annotations

import os

import pytest

from tests.browser.harness import (BASE_ARGS, chromium_executable, fake_camera_args,  # noqa: F401
                                   write_y4m)


def _require(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not available here")


@pytest.fixture(scope="session")
def playwright_instance():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("playwright (pip)")
    if chromium_executable() is None:
        _require("Debian's chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture
def launch(playwright_instance, tmp_path):
    """launch(*extra_args) -> a Browser; everything launched is closed after the test."""
    browsers = []

    def _launch(*extra: str):
        browser = playwright_instance.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=[*BASE_ARGS, *extra])
        browsers.append(browser)
        return browser

    yield _launch
    for browser in browsers:
        browser.close()
