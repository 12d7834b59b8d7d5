"""Pieces for driving the app's QR decoder (static/scan/decode/) in headless Chromium.

A temporary copy of static/scan/ is served over loopback with the app's strict CSP, plus a test
page (scan/__decode_test__/) whose module exposes `window.decodeTest`. Kept apart from conftest.py
so that the browser decode benchmark (bench/browser_decode.py) uses the same pieces.
"""
from __future__ import annotations

import contextlib
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from shared import keys, qrtext, token
from tests.browser.harness import LiveServer
from tests.vectors.reference import REFERENCE_LARGE_FAMILY

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "static" / "scan"
TEST_DIR = "__decode_test__"
# What the app's pages need and nothing more: scripts, the worker and the wasm from this origin
# only ('wasm-unsafe-eval' allows compiling WebAssembly, not eval), no inline script.
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
       "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'")

PAGE_HTML = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>decode test</title><link rel="icon" href="data:,">
<script type="module" src="page.js"></script></head>
<body><video id="camera" muted playsinline></video></body></html>
"""

# The test page's module: everything a test or the bench calls through page.evaluate.
PAGE_JS = r"""
import {createDecoder} from "../decode/decoder.js";
import {judgeFile} from "../decode/filepolicy.js";
import {fileMessage} from "../decode/messages.js";

const wasmUrl = new URL("../vendor/zxing-wasm-3.1.8/reader/zxing_reader.wasm", import.meta.url).href;
const decoder = createDecoder({wasmUrl});

async function blobOf(url) {
  const response = await fetch(url);
  return response.blob();
}

async function imageDataOf(url) {
  const bitmap = await createImageBitmap(await blobOf(url));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

// Counts animation frames and macrotasks on this (the main) thread while `work` runs.
async function ticksDuring(work) {
  let frames = 0, tasks = 0, running = true;
  const onFrame = () => { if (running) { frames++; requestAnimationFrame(onFrame); } };
  requestAnimationFrame(onFrame);
  const channel = new MessageChannel();
  channel.port1.onmessage = () => { if (running) { tasks++; channel.port2.postMessage(0); } };
  channel.port2.postMessage(0);
  const result = await work();
  running = false;
  channel.port1.close();
  return {frames, tasks, result};
}

function noise(width, height, seed) {
  const data = new Uint8ClampedArray(width * height * 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    data[i] = data[i + 1] = data[i + 2] = x & 255;
    data[i + 3] = 255;
  }
  return new ImageData(data, width, height);
}

window.decodeTest = {
  decoder,
  ready: () => decoder.ready,
  backend: () => decoder.backend,
  judge: async (url) => judgeFile(await blobOf(url)),
  file: async (url) => decoder.decodeFile(await blobOf(url)),
  bytesFile: (size, head) => decoder.decodeFile(new Blob([new TextEncoder().encode(head),
                                                          new Uint8Array(size)])),
  message: fileMessage,

  // Each URL's image decoded as a camera frame; `as`: "imagedata" or "bitmap". Pixels are
  // prepared before the clock starts: the figure is the decoder's, transfer included.
  async frames(urls, as = "imagedata") {
    const out = [];
    for (const url of urls) {
      const frame = as === "bitmap" ? await createImageBitmap(await blobOf(url)) : await imageDataOf(url);
      const t0 = performance.now();
      const text = await decoder.decodeFrame(frame);
      out.push({text, ms: performance.now() - t0});
    }
    return out;
  },

  // Two frames offered at once: the second is dropped while the first is decoded.
  async overlapping(url) {
    const [a, b] = await Promise.all([imageDataOf(url), imageDataOf(url)]);
    return Promise.all([decoder.decodeFrame(a), decoder.decodeFrame(b)]);
  },

  // The fake camera through getUserMedia: frames until a code is read (or `limit` frames).
  async camera(limit, as = "bitmap") {
    const video = document.getElementById("camera");
    const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
    video.srcObject = stream;
    await video.play();
    const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    const ctx = canvas.getContext("2d", {willReadFrequently: true});
    try {
      for (let n = 1; n <= limit; n++) {
        let frame;
        if (as === "bitmap") {
          frame = await createImageBitmap(video);
        } else {
          ctx.drawImage(video, 0, 0);
          frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
        }
        const text = await decoder.decodeFrame(frame);
        if (text) return {text, frames: n, width: video.videoWidth, height: video.videoHeight};
        await new Promise((r) => requestAnimationFrame(r));
      }
      return {text: null, frames: limit};
    } finally {
      stream.getTracks().forEach((t) => t.stop());
    }
  },

  // A heavy frame (noise, no code) through the worker, counting the main thread's ticks.
  async ticksWorker(width, height) {
    const frame = noise(width, height, 7);
    const {frames, tasks, result} = await ticksDuring(() => decoder.decodeFrame(frame));
    return {frames, tasks, text: result};
  },

  // The same frame read by zxing-wasm on the main thread: the stall the worker avoids.
  async ticksMainThread(width, height) {
    const zxing = await import("../vendor/zxing-wasm-3.1.8/es/reader/index.js");
    await zxing.prepareZXingModule({overrides: {locateFile: () => wasmUrl}, fireImmediately: true});
    const frame = noise(width, height, 7);
    const {frames, tasks} = await ticksDuring(() => zxing.readBarcodes(frame, {formats: ["QRCode"]}));
    return {frames, tasks};
  },
};
window.decodeTestLoaded = true;
"""


def _static_app(directory: Path, requested: list[str]):
    """A WSGI app serving `directory` as any static web server would, with the app's CSP."""
    from werkzeug.middleware.shared_data import SharedDataMiddleware

    def not_found(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    files = SharedDataMiddleware(not_found, {"/": str(directory)}, cache=False)

    def app(environ, start_response):
        requested.append(environ["PATH_INFO"])

        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Content-Security-Policy", CSP),
                                           ("Cache-Control", "no-store")], exc_info)
        return files(environ, start)
    return app


class StaticServer(LiveServer):
    """`directory` on a loopback port (a thread of the test process); every path asked for is
    recorded in `requested`."""

    def __init__(self, directory: Path) -> None:
        self.requested: list[str] = []
        super().__init__(_static_app(directory, self.requested))
        self.origin = self.url


@contextlib.contextmanager
def served_site(root: Path) -> Iterator[tuple[Path, StaticServer]]:
    """decode_site(root), served while the block runs: (root, server)."""
    decode_site(root)
    server = StaticServer(root)
    try:
        yield root, server
    finally:
        server.stop()


def decode_site(root: Path) -> Path:
    """A copy of static/scan/ under root/scan with the test page; returns root (to serve)."""
    scan = root / "scan"
    shutil.copytree(APP, scan)
    page = scan / TEST_DIR
    page.mkdir()
    (page / "index.html").write_text(PAGE_HTML, encoding="utf-8")
    (page / "page.js").write_text(PAGE_JS, encoding="utf-8")
    (page / "fixtures").mkdir()
    return root


def page_url(server: StaticServer) -> str:
    return f"{server.origin}/scan/{TEST_DIR}/index.html"


def fixture(root: Path, name: str, data: bytes) -> str:
    """Write a fixture file next to the test page; its URL relative to the page."""
    (root / "scan" / TEST_DIR / "fixtures" / name).write_bytes(data)
    return f"fixtures/{name}"


def open_page(browser, server: StaticServer, *, init_script: str | None = None):
    """A new page on the test page, every request it (or its worker) makes recorded in
    page.requests, its errors and console warnings in page.errors; waits until the test module
    has loaded."""
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.requests = requests
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning") and page.errors.append(m.text))
    page.goto(page_url(server))
    # Polled from here: the CSP refuses the eval that Playwright's wait_for_function needs.
    for _ in range(200):
        if page.evaluate("window.decodeTestLoaded === true"):
            return page
        page.wait_for_timeout(50)
    raise RuntimeError("the decode test page did not load")


def credential_qr_text(seed: int = 0) -> str:
    """The QR text (digits) of a real signed credential, as the issuer puts on a card."""
    key = keys.generate_private_key()
    return qrtext.encode(token.sign(REFERENCE_LARGE_FAMILY.to_claims(), key, keys.kid_for(key),
                                    token.CREDENTIAL_TYP))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tall_png(width: int = 1, height: int = 40_000_000) -> bytes:
    """A valid gray PNG of width x height white pixels: ~76 KB for 1 x 40,000,000, ~160 MB if a
    browser ever decoded it to RGBA."""
    row = b"\x00" + b"\xff" * width
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row * 100_000) for _ in range(height // 100_000))
    body += compressor.compress(row * (height % 100_000)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body)
            + png_chunk(b"IEND", b""))
