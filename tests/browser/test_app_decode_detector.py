"""The BarcodeDetector branch of the app's decoder. Chromium on Linux has no BarcodeDetector, so
an init script installs a stub before the page's modules run: it records what it was given and
answers with the size it saw, which is enough to show which branch decoded and at what size."""
from __future__ import annotations

import numpy as np
import pytest

from issuer import qrrender
from tests import imaging
from tests.browser import app_decode_harness as h
from tests.browser.harness import BASE_ARGS, chromium_executable

pytestmark = pytest.mark.browser

STUB = """
window.__detector = {created: [], seen: []};
window.BarcodeDetector = class {
  static async getSupportedFormats() { return %(formats)s; }
  constructor(options) { window.__detector.created.push(options); }
  async detect(source) {
    if (%(fails)s) throw new DOMException("Barcode detection service unavailable", "NotSupportedError");
    window.__detector.seen.push([source.constructor.name, source.width, source.height]);
    return [{format: "qr_code", rawValue: `stub:${source.width}x${source.height}`, boundingBox: {},
             cornerPoints: []}];
  }
};
"""


def stub(formats: str = '["qr_code", "ean_13"]', fails: bool = False) -> str:
    return STUB % {"formats": formats, "fails": "true" if fails else "false"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with h.served_site(tmp_path_factory.mktemp("decode-detector")) as served:
        yield served


@pytest.fixture(scope="module")
def browser(playwright_instance):
    b = playwright_instance.chromium.launch(executable_path=chromium_executable(), headless=True,
                                            args=BASE_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def text():
    return h.credential_qr_text()


def test_detector_used_where_it_reads_qr_code(browser, site, text):
    root, server = site
    card = h.fixture(root, "card.png", qrrender.render_png(text))
    rng = np.random.default_rng(2)
    photo = imaging.place(imaging.make_qr(text), imaging.background(4000, 3000, rng), width=900, x=100, y=100)
    big = h.fixture(root, "photo.jpg", imaging.encode_bytes(photo, ".jpg"))
    page = h.open_page(browser, server, init_script=stub())
    try:
        assert page.evaluate("decodeTest.ready()") == "barcode-detector"
        frames = page.evaluate("([u]) => decodeTest.frames([u, u], 'bitmap')", [card])
        side = page.evaluate("u => decodeTest.judge(u)", card)["width"]
        assert [f["text"] for f in frames] == [f"stub:{side}x{side}"] * 2
        # A 12 Mpx photo reaches the detector downscaled to 2048 on its long side.
        assert page.evaluate("u => decodeTest.file(u)", big) == {"text": "stub:2048x1536"}
        # Refusals come before any backend: the detector never sees them.
        assert page.evaluate("u => decodeTest.file(u)", h.fixture(root, "tall.png", h.tall_png())) == \
            {"error": "too_large"}
        seen = page.evaluate("window.__detector")
        assert seen["created"] == [{"formats": ["qr_code"]}]
        assert seen["seen"] == [["ImageBitmap", side, side]] * 2 + [["ImageBitmap", 2048, 1536]]
        # No worker, no wasm: the detector branch downloads nothing of zxing-wasm.
        assert not any("worker.js" in u or ".wasm" in u for u in page.requests), page.requests
    finally:
        page.context.close()


def test_detector_without_qr_code_means_zxing(browser, site, text):
    root, server = site
    card = h.fixture(root, "card2.png", qrrender.render_png(text))
    page = h.open_page(browser, server, init_script=stub('["ean_13", "code_128"]'))
    try:
        assert page.evaluate("decodeTest.ready()") == "zxing-wasm"
        assert page.evaluate("u => decodeTest.file(u)", card) == {"text": text}
        assert page.evaluate("window.__detector.created") == []
    finally:
        page.context.close()


def test_detector_failing_at_run_time_falls_back_to_zxing(browser, site, text):
    """Android without the detection service: the detector lists qr_code, then detect() rejects.
    The photo is decoded again by zxing-wasm, and zxing-wasm decodes from then on."""
    root, server = site
    card = h.fixture(root, "card3.png", qrrender.render_png(text))
    page = h.open_page(browser, server, init_script=stub(fails=True))
    try:
        assert page.evaluate("decodeTest.ready()") == "barcode-detector"
        assert page.evaluate("u => decodeTest.file(u)", card) == {"text": text}
        assert page.evaluate("decodeTest.backend()") == "zxing-wasm"
        assert page.evaluate("u => decodeTest.frames([u])", card)[0]["text"] == text
    finally:
        page.context.close()
