"""The offline scanner app from `socpass-issuer serve` (/scan/), then with that server stopped:
the same app as the published one, served with the issuer's own headers (CSP included)."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest

from tests.browser.app_shell_harness import ISSUER_CLI, PublishedMinistry, persistent_context, wait_until
from tests.browser.test_app_offline import READY, verdict

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ministry = PublishedMinistry(home=tmp_path / "ministry", out=tmp_path / "site", url=url,
                                 refresh_seconds=5).create()
    proc = subprocess.Popen([ISSUER_CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--no-jobs"], env=ministry.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/scan/", timeout=2).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
    yield ministry, url, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_installed_from_serve_then_offline(playwright_instance, served, tmp_path):
    ministry, url, proc = served
    profile = tmp_path / "profile"
    context = persistent_context(playwright_instance, profile)
    page = context.new_page()
    page.goto(url + "/scan/?venue=transport")
    # The issuer's headers (CSP, media types) let the worker install and the manifest load.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector("#ready-note:not([hidden])", timeout=30000)
    assert page.locator("#ready-note").inner_text().startswith(READY)
    context.close()
    proc.terminate()
    proc.wait(10)

    context = persistent_context(playwright_instance, profile, offline=True)
    try:
        page = context.new_page()
        page.goto(url + "/scan/")
        assert page.title().startswith("Проверка удостоверения")
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        wait_until(page, "document.documentElement.dataset.socpass === 'started'")
        assert page.locator("#venue-kind").input_value() == "transport"
        page.evaluate("window.socpass.ready")
        page.keyboard.type(ministry.qr["family"])
        page.keyboard.press("Enter")
        assert verdict(page) == "ПРИНЯТО"
    finally:
        context.close()
