"""Figure: the scanner app's QR decoding in the browser against native zxing-cpp, same frames.

Frames are figure 3's degraded corpus (bench/qr_decode.py: 1280x720 JPEGs of a real signed
credential, twelve kinds of damage, fixed seed). The browser is Debian's headless Chromium on
a copy of static/scan/ served over loopback; each frame goes through the app's own
`createDecoder().decodeFrame` (zxing-wasm in the module worker, as on a tablet without
BarcodeDetector), as an ImageData and as an ImageBitmap. The page's clock starts after the
frame's pixels are ready and stops when the text is back: transfer to the worker, zxing-wasm,
the answer. Native is `zxingcpp.read_barcodes` on the same JPEGs decoded to gray, timed without
the JPEG decode likewise: once with its defaults (figure 3's baseline) and once with the app's
options. Success means the exact text came back. Also printed: what the decoding part of the
app weighs on a first visit (raw and gzip -9).
"""
from __future__ import annotations

import gzip
import logging
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from bench.qr_decode import KINDS, corpus

ROOT = Path(__file__).resolve().parents[1]
SCAN = ROOT / "static" / "scan"
# What a first visit downloads for decoding (the zxing-wasm path; BarcodeDetector devices fetch
# the same files when the service worker precaches the app).
FIRST_VISIT = ("decode/decoder.js", "decode/worker.js", "decode/filepolicy.js", "decode/imageheader.js",
               "decode/messages.js", "vendor/zxing-wasm-3.1.8/es/reader/index.js",
               "vendor/zxing-wasm-3.1.8/es/share.js", "vendor/zxing-wasm-3.1.8/reader/zxing_reader.wasm")


def first_visit_bytes() -> dict[str, int]:
    raw = gz = wasm_raw = wasm_gz = 0
    for rel in FIRST_VISIT:
        data = (SCAN / rel).read_bytes()
        packed = len(gzip.compress(data, 9))
        raw, gz = raw + len(data), gz + packed
        if rel.endswith(".wasm"):
            wasm_raw, wasm_gz = len(data), packed
    return {"raw": raw, "gzip": gz, "wasm_raw": wasm_raw, "wasm_gzip": wasm_gz}


def _native(frames: list[tuple[str, bytes]], text: str, **options: object) -> list[tuple[bool, float]]:
    out = []
    for _, data in frames:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        t0 = time.perf_counter()
        found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode, **options)
        out.append((bool(found) and found[0].text == text, (time.perf_counter() - t0) * 1e3))
    return out


def _browser(frames: list[tuple[str, bytes]], text: str) -> dict[str, list[tuple[bool, float]]]:
    from playwright.sync_api import sync_playwright

    from tests.browser import app_decode_harness as h
    from tests.browser.harness import BASE_ARGS, chromium_executable

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines in the figures
    results = {}
    with tempfile.TemporaryDirectory(prefix="socpass-bench-") as tmp:
        with h.served_site(Path(tmp)) as (root, server):
            urls = [h.fixture(root, f"frame-{i:04}.jpg", data) for i, (_, data) in enumerate(frames)]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_executable(), headless=True,
                                            args=BASE_ARGS)
                try:
                    page = h.open_page(browser, server)
                    backend = page.evaluate("decodeTest.ready()")
                    assert backend == "zxing-wasm", backend
                    page.evaluate("u => decodeTest.frames(u)", urls[:3])  # warm: wasm compiled, JIT
                    for mode in ("imagedata", "bitmap"):
                        got = page.evaluate("([u, m]) => decodeTest.frames(u, m)", [urls, mode])
                        results[mode] = [(r["text"] == text, r["ms"]) for r in got]
                finally:
                    browser.close()
    return results


def _line(name: str, runs: list[tuple[bool, float]]) -> dict[str, float]:
    ok = sum(hit for hit, _ in runs)
    ms = [t for _, t in runs]
    print(f"{name:38} success {ok:4}/{len(runs)} = {ok / len(runs):6.1%}   median {statistics.median(ms):6.1f} ms"
          f"   p90 {np.percentile(ms, 90):6.1f} ms")
    return {"success": ok / len(runs), "median_ms": statistics.median(ms)}


def main(quick: bool = False) -> dict[str, dict[str, float]]:
    size = first_visit_bytes()
    print(f"first visit, decoding part: {size['raw'] / 1024:.0f} KiB raw, {size['gzip'] / 1024:.0f} KiB gzip "
          f"(of which zxing_reader.wasm {size['wasm_raw'] / 1024:.0f} KiB raw, {size['wasm_gzip'] / 1024:.0f} KiB gzip)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("browser decode: skipped (playwright is not installed)")
        return {}
    from tests.browser.harness import chromium_executable

    if chromium_executable() is None:
        print("browser decode: skipped (Debian's chromium is not installed)")
        return {}
    text, frames = corpus(1 if quick else 20)
    native_runs = _native(frames, text)
    results = {"native zxing-cpp (defaults)": _line("native zxing-cpp (defaults)", native_runs),
               "native zxing-cpp (app options)": _line("native zxing-cpp (app options)",
                                                       _native(frames, text, try_rotate=False))}
    browser = _browser(frames, text)
    for mode, runs in browser.items():
        results[f"browser {mode}"] = _line(f"browser zxing-wasm worker, {mode}", runs)
    native = results["native zxing-cpp (defaults)"]
    ours = results["browser imagedata"]
    per_kind = {k: [0, 0] for k in KINDS}
    for (kind, _), (hit_b, _), (hit_n, _) in zip(frames, browser["imagedata"], native_runs):
        per_kind[kind][0] += hit_b
        per_kind[kind][1] += hit_n
    print("per degradation (browser/native successes of " + str(len(frames) // len(KINDS)) + "): "
          + "  ".join(f"{k}: {b}/{n}" for k, (b, n) in per_kind.items()))
    ratio = ours["success"] / native["success"] if native["success"] else float("nan")
    print(f"browser vs native decode success: {ratio:.3f}x (target >= 0.97x); browser median "
          f"{ours['median_ms']:.1f} ms per 1280x720 frame (target <= 30 ms)")
    results["size"] = {k: float(v) for k, v in size.items()}
    return results


if __name__ == "__main__":
    main()
