"""What the clerk reads, in real headless Chromium: one time zone on every screen whatever the
tablet's own zone, a status bar that says when the data was refreshed, and a failed photo that
says what to do next (not "server down")."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser import harness
# the same ministry and Chromium as the scanner tests (module-scoped there, and here)
from tests.browser.test_scanner import (NOW, VIEWPORT, browser, scan_text, verdict,  # noqa: F401
                                       world)

pytestmark = pytest.mark.browser

VENUE_ZONE = "Asia/Vladivostok"  # the default SOCPASS_TIMEZONE
TABLET_ZONE = "America/New_York"  # 14 or 15 hours behind: another date half the day


@pytest.fixture(scope="module")
def venue(world):
    root, _, sources = world
    server, settings = harness.venue(root, "museum", sources, NOW)
    yield server, settings
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, timezone_id=TABLET_ZONE, locale="ru-RU")
    p = context.new_page()
    yield p
    context.close()


def test_one_time_zone_on_one_screen(page, world, venue):
    _, ministry, _ = world
    server, settings = venue
    assert settings.timezone == VENUE_ZONE
    page.goto(server.url + "/")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == TABLET_ZONE
    page.locator("#status-bar.level-ok").wait_for()
    bar = page.locator("#sync-status").text_content()
    synced = datetime.fromtimestamp(NOW, ZoneInfo(VENUE_ZONE))
    assert synced.strftime("%d.%m.%Y, %H:%M") in bar, bar
    assert datetime.fromtimestamp(NOW, ZoneInfo(TABLET_ZONE)).strftime("%H:%M") not in bar
    assert "Обновляются автоматически каждые 5 мин" in bar and "Данные актуальны" not in bar

    scan_text(page, ministry.qr["disability"], typed=False)
    verdict(page, "accept")
    page.keyboard.press("Escape")
    before = int(time.time())
    scan_text(page, ministry.qr["disability"], typed=False)
    assert verdict(page, "warn") == "ВНИМАНИЕ"
    warning = page.locator("#warnings").text_content()
    shown = {datetime.fromtimestamp(t, ZoneInfo(VENUE_ZONE)).strftime("в %H:%M")
             for t in range(before - 61, int(time.time()) + 1)}
    assert any(s in warning for s in shown), warning

    page.goto(server.url + "/stats")
    today = datetime.now(ZoneInfo(VENUE_ZONE)).strftime("%d.%m.%Y")
    assert page.locator("#totals-title").text_content() == f"{today} (сегодня)"
    assert VENUE_ZONE in page.locator("#zone").text_content()


def test_a_failed_photo_says_what_to_do(page, venue, tmp_path):
    server, _ = venue
    page.goto(server.url + "/")
    steps = ("сфотографируйте QR-код ещё раз", "ручным сканером", "бумажное удостоверение")

    cases = {"card.pdf": b"%PDF-1.4\n" + b"0" * 1000,   # not an image at all
             "photo.png": b"\x89PNG\r\n\x1a\n" + b"garbage" * 100,  # an image that is not one
             "huge.jpg": b"\xff\xd8\xff" + b"\0" * (30 * 1024 * 1024)}  # 30 MB
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        page.set_input_files("#photo", str(tmp_path / name))
        assert verdict(page, "photo") == "ФОТО НЕ ПОДОШЛО", name
        message = page.locator("#message").text_content()
        assert all(step in message for step in steps), (name, message)
        assert "Нет связи" not in message, name
        page.keyboard.press("Escape")
        page.locator("#result").wait_for(state="hidden")

    # The server really gone is still its own screen.
    page.route("**/api/scan", lambda route: route.abort())
    page.set_input_files("#photo", str(tmp_path / "photo.png"))
    assert verdict(page, "error") == "ОШИБКА"
    assert "Нет связи" in page.locator("#message").text_content()
