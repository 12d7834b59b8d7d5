"""Real headless Chromium (Debian's package) driven by Playwright; no browser is downloaded.

Skipped where Chromium is absent, except in CI (CI=true), where that is a failure.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
# The flags this closed network needs: no background connections that would be refused.
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage"]


def chromium_executable() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


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


def fake_camera_args(y4m: Path) -> list[str]:
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m.resolve()}"]


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Write gray or BGR frames (same size, even dimensions) as a YUV 4:2:0 Y4M video."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path
