"""The scanner page in real headless Chromium: fake camera, handheld scanner, language, safety.

Credentials come from the real issuer (issuer.service), rendered as QR codes into a Y4M video
that Chromium plays as its camera. Set SOCPASS_SCREENSHOTS=1 to refresh the screenshots of the
three verdicts in docs/screenshots/.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.browser import harness
from tests.browser.harness import RECORD_BEEPS, as_russian_layout, camera_video, fake_camera_args, scanlog_rows
from tests.vectors.build import vectors

pytestmark = pytest.mark.browser

NOW = int(time.time())
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VERDICT_TIMEOUT = 15_000  # ms; a verdict normally shows within a second


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("scanner")
    ministry = harness.Ministry(root)
    return root, ministry, ministry.sources(NOW)


@pytest.fixture(scope="module")
def museum(world):
    """A museum venue, synced just now; no repeated-use window (tests scan the same codes)."""
    root, _, sources = world
    server, settings = harness.venue(root, "museum", sources, NOW, recent_window=0)
    yield server, settings
    server.stop()


@pytest.fixture(scope="module")
def stale_museum(world):
    """The same data two hours later: the ministry's lists (ttl 1 h) are stale, within grace."""
    root, _, sources = world
    server, settings = harness.venue(root, "stale", sources, NOW, recent_window=0,
                                     clock=lambda: time.time() + 2 * 3600)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bus(world):
    """A transport venue that refuses a second use within ten minutes."""
    root, _, sources = world
    server, _ = harness.venue(root, "bus", sources, NOW, venue_profile="transport",
                              recent_window=600, recent_policy="reject")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(playwright_instance):
    """One Chromium without a camera for the tests that type (a fresh context each)."""
    b = playwright_instance.chromium.launch(executable_path=harness.chromium_executable(),
                                            headless=True, args=harness.BASE_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda err: errors.append(str(err)))
    yield p
    context.close()
    assert errors == []


def camera_page(launch, video: Path):
    p = launch(*fake_camera_args(video)).new_page(viewport=VIEWPORT)
    return p


def verdict(p, kind: str):
    """Wait for the verdict screen of `kind` (accept, warn, reject, error); returns its word."""
    p.locator(f"#result.{kind}:not([hidden])").wait_for(timeout=VERDICT_TIMEOUT)
    return p.locator("#verdict-word").text_content()


def scan_text(p, text: str, *, typed: bool = True) -> None:
    """A handheld scanner: key presses then Enter, into whatever has the focus."""
    if typed:
        p.keyboard.type(text)
    else:
        p.keyboard.insert_text(text)
    p.keyboard.press("Enter")


def next_customer(p) -> None:
    p.keyboard.press("Escape")
    p.locator("#result").wait_for(state="hidden")


def keep_screenshot(p, name: str, tmp_path: Path) -> None:
    p.wait_for_timeout(250)  # let the countdown bar start, as a clerk sees it
    shot = tmp_path / f"verifier-{name}.png"
    p.screenshot(path=str(shot))
    if os.environ.get("SOCPASS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / f"verifier-{name}.png")


# --- the camera ----------------------------------------------------------------------------------


def test_camera_accepts_a_real_credential(launch, world, museum, tmp_path):
    _, ministry, _ = world
    server, settings = museum
    before = len(scanlog_rows(settings))
    p = camera_page(launch, camera_video(tmp_path / "family.y4m", ministry.qr["family"]))
    p.goto(server.url + "/")
    assert verdict(p, "accept") == "ПРИНЯТО"
    assert p.locator("#verdict-icon").text_content() == "✔"
    assert p.locator("#holder-name").text_content() == "Иванова Мария Петровна"
    assert p.locator("#holder-birth").text_content().startswith("12.04.1988 (")
    assert p.locator("#credential-type").text_content() == "Многодетная семья · детей: 4"
    assert p.locator("#entitlement-text").text_content() == "Бесплатный вход для семьи: до 6 чел."
    assert p.locator("#persons-count").text_content() == "6"
    assert p.locator("#message").text_content().startswith("Удостоверение действительно")
    assert "ПРИНЯТО" in p.locator("#announce").text_content()
    assert p.evaluate("document.activeElement.id") == "qr"  # the scanner field stays ready
    p.locator("#status-bar.level-ok").wait_for()
    keep_screenshot(p, "accept", tmp_path)
    # The code is still in front of the camera: one scan, not one per frame.
    p.locator("#next").click()
    p.locator("#result").wait_for(state="hidden")
    p.wait_for_timeout(1200)
    assert p.locator("#result").is_hidden()
    assert p.locator("#camera-state").get_attribute("data-state") == "scanning"
    new = scanlog_rows(settings)[before:]
    assert [(r["code"], r["via"]) for r in new] == [("valid", "image")]


def test_camera_rejects_a_revoked_credential(launch, world, museum, tmp_path):
    _, ministry, _ = world
    p = camera_page(launch, camera_video(tmp_path / "revoked.y4m", ministry.qr["revoked"]))
    p.goto(museum[0].url + "/")
    assert verdict(p, "reject") == "ОТКАЗ"
    assert p.locator("#verdict-icon").text_content() == "✖"
    assert "отозвано" in p.locator("#message").text_content()
    assert p.locator("#holder-name").text_content() == "Петрова Галина Николаевна"
    assert p.locator("#entitlement").is_hidden()
    background = p.locator("#result").evaluate("e => getComputedStyle(e).backgroundImage")
    assert "repeating-linear-gradient" in background  # stripes: not colour alone
    keep_screenshot(p, "reject", tmp_path)


def test_camera_with_a_stale_cache_warns(launch, world, stale_museum, tmp_path):
    _, ministry, _ = world
    p = camera_page(launch, camera_video(tmp_path / "stale.y4m", ministry.qr["family"]))
    p.goto(stale_museum.url + "/")
    assert verdict(p, "warn") == "ВНИМАНИЕ"
    assert p.locator("#verdict-icon").text_content() == "⚠"
    assert "устарели" in p.locator("#warnings li").first.text_content()
    assert p.locator("#holder-name").text_content() == "Иванова Мария Петровна"
    p.locator("#status-bar.level-warning").wait_for()  # amber, never green
    assert "устарели (RU-27-MSZN)" in p.locator("#sync-status").text_content()
    assert "2 ч назад" in p.locator("#sync-status").text_content()
    keep_screenshot(p, "warning", tmp_path)


def test_camera_denied_leaves_the_other_inputs(launch, world, museum):
    _, ministry, _ = world
    # A camera exists but the permission prompt is refused (no fake-UI auto-accept).
    p = launch("--use-fake-device-for-media-stream").new_page(viewport=VIEWPORT)
    p.goto(museum[0].url + "/")
    state = p.locator("#camera-state[data-state=error]")
    state.wait_for(timeout=VERDICT_TIMEOUT)
    assert "Доступ к камере запрещён" in state.text_content()
    scan_text(p, ministry.qr["family"], typed=False)
    assert verdict(p, "accept") == "ПРИНЯТО"


# --- the handheld scanner, paste, hostile input ------------------------------------------------


def test_handheld_scanner_without_a_click(page, world, museum):
    _, ministry, _ = world
    page.add_init_script(RECORD_BEEPS)
    page.goto(museum[0].url + "/")
    # no camera in this browser: said so, and the rest works
    page.locator("#camera-state[data-state=error]").wait_for()
    assert "Камера не найдена" in page.locator("#camera-state").text_content()
    page.locator("#status-bar.level-ok").wait_for()
    # Green says when the data was refreshed and how it stays fresh, never "up to date".
    bar = page.locator("#sync-status").text_content()
    assert bar.startswith("Данные обновлены: ") and "Данные актуальны" not in bar
    page.focus("#lang")  # focus elsewhere: the scanner's key presses still land in the field
    scan_text(page, ministry.qr["family"])
    assert verdict(page, "accept") == "ПРИНЯТО"
    assert page.locator("#holder-name").text_content() == "Иванова Мария Петровна"
    assert page.evaluate("document.activeElement.id") == "qr"
    assert page.locator("#qr").input_value() == ""
    # The next customer's code, typed while the verdict is still shown, replaces it.
    scan_text(page, ministry.qr["revoked"])
    assert verdict(page, "reject") == "ОТКАЗ"
    next_customer(page)
    beeps = page.evaluate("window.__beeps")
    assert beeps[:2] == ["sine:660", "sine:990"] and "square:220" in beeps  # distinct sounds


def test_handheld_scanner_under_a_russian_layout(page, world, museum):
    _, ministry, _ = world
    page.goto(museum[0].url + "/")
    # Digits are the same in both layouts: the QR text as typed under a Russian layout.
    assert as_russian_layout(ministry.qr["disability"]) == ministry.qr["disability"]
    scan_text(page, as_russian_layout(ministry.qr["disability"]))
    assert verdict(page, "accept") == "ПРИНЯТО"
    assert page.locator("#entitlement-text").text_content() == "Бесплатный вход владельцу и 1 сопровождающему"
    assert page.locator("#persons-count").text_content() == "2"
    next_customer(page)
    # A plain compact JWS (letters) typed under a Russian layout arrives in Cyrillic.
    cyrillic = as_russian_layout(ministry.token["family"])
    assert re.search("[а-яА-Я]", cyrillic) and "." not in cyrillic
    scan_text(page, cyrillic, typed=False)
    assert verdict(page, "accept") == "ПРИНЯТО"
    assert page.locator("#holder-name").text_content() == "Иванова Мария Петровна"


def test_paste_checks_at_once(page, world, museum):
    _, ministry, _ = world
    page.goto(museum[0].url + "/")
    page.locator("#qr").evaluate("""(el, text) => {
        const data = new DataTransfer();
        data.setData('text/plain', text);
        el.value = text;
        el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
    }""", ministry.qr["family"])
    assert verdict(page, "accept") == "ПРИНЯТО"


def test_photo_upload(page, world, museum, tmp_path):
    from issuer.qrrender import render_png

    _, ministry, _ = world
    photo = tmp_path / "card.png"
    photo.write_bytes(render_png(ministry.qr["disability"]))
    page.goto(museum[0].url + "/")
    page.set_input_files("#photo", str(photo))
    assert verdict(page, "accept") == "ПРИНЯТО"
    assert page.locator("#holder-name").text_content() == "Соколов Виктор Иванович"
    page.wait_for_timeout(100)
    assert page.evaluate("document.activeElement.id") == "qr"


HOSTILE = ["revoked", "expired", "unknown_issuer", "attacker_key_with_real_kid", "tampered_payload",
           "alg_none", "hs256_with_public_key", "embedded_jwk", "kid_path_injection",
           "deflate_bomb", "garbage", "cyrillic_layout_garbage"]


def test_hostile_codes_are_refused(page, museum):
    page.goto(museum[0].url + "/")
    by_name = {v.name: v for v in vectors(NOW)}
    for name in HOSTILE:
        vector = by_name[name]
        scan_text(page, vector.text, typed=False)
        assert verdict(page, "reject") == "ОТКАЗ", name
        forged = vector.code not in ("revoked", "expired")
        assert page.locator("#holder").is_hidden() == forged, name  # nothing unverified shown
        next_customer(page)


# --- language, repeated use, safe display -------------------------------------------------------


def test_english_is_remembered(page, world, museum):
    _, ministry, _ = world
    page.goto(museum[0].url + "/")
    page.locator("#lang").click()
    assert page.locator("h1").text_content() == "Credential check"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#venue").text_content() == "Museum"
    assert page.evaluate("document.activeElement.id") == "qr"
    scan_text(page, ministry.qr["family"], typed=False)
    assert verdict(page, "accept") == "ACCEPTED"
    assert page.locator("#message").text_content().startswith("The credential is valid")
    assert page.locator("#entitlement-text").text_content() == "Free entry for the family: up to 6 persons"
    assert page.locator("#credential-type").text_content() == "Large family · children: 4"
    page.reload()
    assert page.locator("h1").text_content() == "Credential check"
    page.locator("#lang").click()
    assert page.locator("h1").text_content() == "Проверка удостоверения"
    assert page.locator("#stats-link").get_attribute("href") == "/stats"


def test_second_use_on_transport_is_refused(page, world, bus):
    _, ministry, _ = world
    page.goto(bus.url + "/")
    scan_text(page, ministry.qr["family"], typed=False)
    assert verdict(page, "accept") == "ПРИНЯТО"
    assert page.locator("#entitlement-text").text_content() == "Скидка 50% на проезд"
    next_customer(page)
    scan_text(page, ministry.qr["family"], typed=False)
    assert verdict(page, "reject") == "ОТКАЗ"
    assert "уже использовано на этом устройстве" in page.locator("#message").text_content()
    assert page.locator("#holder-name").text_content() == "Иванова Мария Петровна"


def test_names_cannot_reorder_or_hide_text(page, museum):
    hostile = {"family_name": "Иванова\u202eавонавИ", "given_name": "Ма\u0000рия\u200b",
               "patronymic": "\u2066Петровна\u2069<img src=x>", "birth_date": "1988-04-12"}
    fake = {"verdict": "accept", "code": "valid", "message": "Удостоверение действительно.",
            "message_en": "Valid.", "warnings": [], "warning_messages": [],
            "credential": {"type": "large_family", "type_label": "Многодетная семья\u202e",
                           "holder": hostile, "children": 4, "valid_until": "2030-01-01",
                           "issuer": "RU-27", "issuer_name": "<b>Министерство</b>\u202d"},
            "entitlement": {"kind": "free_entry", "persons": 6, "text_ru": "Вход\u2067",
                            "text_en": "Entry"}}
    page.route("**/api/verify", lambda route: route.fulfill(json=fake))
    page.goto(museum[0].url + "/")
    scan_text(page, "1", typed=False)
    verdict(page, "accept")
    name = page.locator("#holder-name").text_content()
    assert name == "Иванова\ufffdавонавИ Ма\ufffdрия\ufffd \ufffdПетровна\ufffd<img src=x>"
    shown = page.locator("#result").text_content()
    for ch in "\u202e\u202d\u2066\u2067\u2069\u200b\u0000":
        assert ch not in shown
    assert page.locator("#result img, #result b").count() == 0  # text, never markup
    assert page.locator("#holder-name").get_attribute("dir") == "ltr"
    assert page.locator("#holder-name").evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    cleaned = page.evaluate("""() => window.socpassScanner.displayText(
        'a\\u0007b\\u0085c\\u061cd\\u200ee\\u200ff\\u202ag\\u2068h\\ufeffi\\u00adj')""")
    assert cleaned == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh\ufffdi\ufffdj"
    assert page.evaluate("window.socpassScanner.displayText('Ёлкина-Петрова Д’Арк')") == \
        "Ёлкина-Петрова Д’Арк"


def test_server_unreachable_is_an_error_not_a_verdict(page, museum):
    page.goto(museum[0].url + "/")
    page.route("**/api/verify", lambda route: route.abort())
    scan_text(page, "123", typed=False)
    assert verdict(page, "error") == "ОШИБКА"
    assert "Нет связи" in page.locator("#message").text_content()
