"""The citizen's page on a small phone screen in real headless Chromium: the QR fills the width,
the page does not scroll sideways, the printable PDF carries a QR that decodes (rendered with
pypdfium2, a test dependency, read with the project's decoder), the RU/EN switch, and a revoked credential shows a
clear notice. The link comes from `links export`, as the state portal gets it.
Screenshots go to docs/screenshots/wallet-*.png."""
from __future__ import annotations

import csv
import io
import json

import pytest

from verifier.imaging import decode_qr_image
from tests.browser.test_console import SHOTS
from tests.e2e.conftest import Env, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FAMILY = {"registry_id": "KHV-LF-000123", "children": 4, "region": "27", "valid_until": "2030-05-31",
          "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
                     "birth_date": "1988-04-12"}}


@pytest.fixture(scope="module")
def wallet(tmp_path_factory):
    env = Env(tmp_path_factory.mktemp("ministry"))
    port = free_port()
    env.json("issuer", "init", "--issuer-id", "RU-27", "--url", f"http://127.0.0.1:{port}",
             "--name", "Министерство социальной защиты Хабаровского края", "--region", "27")
    issued = env.json("issuer", "issue", "--type", "large_family", "--data", json.dumps(FAMILY))
    exported = env.run("issuer", "links", "export", "--registry-id", FAMILY["registry_id"]).stdout
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert row["state"] == "valid"
    env.serve("issuer", port)
    yield issued, row["url"], env
    env.stop()


@pytest.fixture
def phone(launch):
    context = launch().new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                   is_mobile=True, has_touch=True, locale="ru-RU", accept_downloads=True)
    return context.new_page()


def pdf_first_page_png(pdf, out_dir) -> bytes:
    """The first page at 200 dpi as PNG bytes (PDFium from pip: no system tool needed)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        image = doc[0].render(scale=200 / 72).to_pil()
    finally:
        doc.close()
    out = out_dir / "page-1.png"
    image.save(out, format="PNG")
    return out.read_bytes()


def test_wallet_page_on_a_phone_and_the_printable_pdf(wallet, phone, tmp_path) -> None:
    issued, url, _ = wallet
    phone.goto(url)
    phone.get_by_text("Где и как можно использовать").wait_for()
    content = phone.content()
    assert "Иванова Мария Петровна" in content and "12.04.1988" in content and "31.05.2030" in content
    assert "Музей" in content and "до 6 чел." in content and "Транспорт" in content
    qr = phone.locator("figure.qr img").bounding_box()
    assert qr is not None and qr["width"] >= 300  # nearly the whole 360-px screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SHOTS / "wallet-phone.png"), full_page=True)

    for label, layout in (("Лист A4 для печати (PDF)", "a4"), ("Карточка для кошелька (PDF)", "card")):
        with phone.expect_download() as download:
            phone.get_by_text(label).click()
        pdf = tmp_path / f"{layout}.pdf"
        download.value.save_as(pdf)
        pages = tmp_path / layout
        pages.mkdir()
        png = pdf_first_page_png(pdf, pages)
        assert decode_qr_image(png) == issued["qr_text"]
        if layout == "a4":
            (SHOTS / "wallet-a4.png").write_bytes(_thumbnail(png))

    with phone.expect_download() as download:
        phone.get_by_text("QR-код (PNG)").click()
    png_path = tmp_path / "qr.png"
    download.value.save_as(png_path)
    assert decode_qr_image(png_path.read_bytes()) == issued["qr_text"]


def test_the_language_switch(wallet, phone) -> None:
    _, url, _ = wallet
    phone.goto(url)
    assert phone.locator("html").get_attribute("lang") == "ru"
    switch = phone.locator("nav.lang")
    assert switch.is_visible() and switch.locator("[aria-current]").inner_text() == "Русский"
    phone.get_by_role("link", name="English").click()
    phone.get_by_text("Where and how it can be used").wait_for()
    assert phone.locator("html").get_attribute("lang") == "en"
    assert "Где и как" not in phone.content() and "Иванова Мария Петровна" in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(SHOTS / "wallet-phone-en.png"), full_page=False)
    phone.goto(url)  # the choice is remembered
    phone.get_by_text("Where and how it can be used").wait_for()
    phone.get_by_role("link", name="Русский").click()
    phone.get_by_text("Где и как можно использовать").wait_for()
    phone.goto(url)
    assert phone.locator("html").get_attribute("lang") == "ru"


def test_the_qr_full_screen_at_the_desk(wallet, launch) -> None:
    """On a 390-px phone the full-screen view shows the code alone, on white, as wide as the
    screen (measured as rendered), and closes back to the page."""
    issued, url, _ = wallet
    context = launch().new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3,
                                   is_mobile=True, has_touch=True, locale="ru-RU")
    page = context.new_page()
    page.goto(url)
    assert page.locator("#qr-full").is_hidden()
    page.get_by_text("Показать QR-код на весь экран").click()
    full = page.locator("#qr-full img")
    full.wait_for()
    box = full.bounding_box()
    assert box is not None and box["width"] >= 0.9 * 390 and box["x"] >= 0
    assert box["x"] + box["width"] <= 390  # the whole code on screen, nothing cut off
    assert page.evaluate("getComputedStyle(document.getElementById('qr-full')).backgroundColor") \
        == "rgb(255, 255, 255)"
    # Over everything: the point at the code's centre is the code, not the page beneath.
    centre = page.evaluate(f"document.elementFromPoint({box['x'] + box['width'] / 2}, "
                           f"{box['y'] + box['height'] / 2}).closest('#qr-full') !== null")
    assert centre
    page.screenshot(path=str(SHOTS / "wallet-qr-full.png"), full_page=False)
    page.get_by_text("Закрыть").click()
    page.locator("#qr-full").wait_for(state="hidden")
    context.close()


def test_revoked_credential_shows_a_notice(wallet, phone) -> None:
    issued, url, env = wallet
    env.run("issuer", "revoke", issued["id"], "--reason", "семья утратила статус")
    phone.goto(url)
    notice = phone.locator(".notice")
    notice.wait_for()
    assert "отозвано" in notice.inner_text() and "Что делать" in notice.inner_text()
    assert phone.locator("figure.qr").count() == 0
    assert "семья утратила статус" not in phone.content()
    phone.screenshot(path=str(SHOTS / "wallet-revoked.png"), full_page=True)


def _thumbnail(png: bytes) -> bytes:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.thumbnail((620, 880))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
