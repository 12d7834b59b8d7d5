"""Figure: from a QR code entering the camera's view to the verdict on the scanner page.

Debian's headless Chromium plays a Y4M as its camera: two seconds of a scene without a code,
then the code. Inside the page, requestVideoFrameCallback watches a marker patch that turns
white in the frames that show the code: the presentation time of the first such frame is t0.
The verdict screen painted (a MutationObserver, then the next animation frame) is t1. The
figure is t1 - t0: the wait for the frame in flight, capture, JPEG, upload, decoding and
verifying on the server, and drawing. The verifier runs in this process on loopback, with a real
issuer's credential, as in tests/browser. Also shown: how soon after the page starts loading
the first frame is sent (camera start-up included).
"""
from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path

INSTRUMENT = """
window.__lat = {t0: null, t1: null};
document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("camera");
  const result = document.getElementById("result");
  const canvas = document.createElement("canvas");
  canvas.width = 4; canvas.height = 4;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const watch = (now, meta) => {
    if (window.__lat.t0 === null && video.videoWidth) {
      ctx.drawImage(video, 4, 4, 16, 16, 0, 0, 4, 4);  // inside the 32x32 marker patch
      const d = ctx.getImageData(0, 0, 4, 4).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += d[i];
      if (sum / (d.length / 4) > 128) window.__lat.t0 = meta.presentationTime || now;
    }
    if (window.__lat.t0 === null) video.requestVideoFrameCallback(watch);
  };
  video.requestVideoFrameCallback(watch);
  new MutationObserver(() => {
    if (!result.hidden && window.__lat.t0 !== null && window.__lat.t1 === null) {
      requestAnimationFrame(() => { window.__lat.t1 = performance.now(); });
    }
  }).observe(result, {attributes: true});
});
"""


def _one_run(playwright, url: str, video: Path) -> tuple[float, float]:
    from tests.browser.harness import BASE_ARGS, chromium_executable, fake_camera_args

    browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True,
                                         args=[*BASE_ARGS, *fake_camera_args(video)])
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.add_init_script(INSTRUMENT)
        page.goto(url + "/")
        deadline = time.monotonic() + 20
        t0 = t1 = None
        while t1 is None:  # polled from here: the page's CSP forbids Playwright's wait_for_function
            if time.monotonic() > deadline:
                raise RuntimeError("no verdict within 20 s")
            page.wait_for_timeout(50)
            t0, t1 = page.evaluate("[window.__lat.t0, window.__lat.t1]")
        first = page.evaluate("""() => {
            const scan = performance.getEntriesByType('resource').find(e => e.name.includes('/api/scan'));
            return scan ? scan.startTime : null; }""")
        return t1 - t0, first
    finally:
        browser.close()


def main(quick: bool = False) -> dict[str, float]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("scan latency: skipped (playwright is not installed)")
        return {}
    from tests.browser import harness

    if harness.chromium_executable() is None:
        print("scan latency: skipped (Debian's chromium is not installed)")
        return {}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines in the figures
    runs = 1 if quick else 7
    with tempfile.TemporaryDirectory(prefix="socpass-bench-") as tmp:
        root = Path(tmp)
        now = int(time.time())
        ministry = harness.Ministry(root)
        server, _ = harness.venue(root, "venue", [str(ministry.published)], now, recent_window=0)
        video = harness.camera_video(root / "camera.y4m", ministry.qr["family"], lead_in=20,
                                     frames=30)
        latencies, firsts = [], []
        try:
            with sync_playwright() as p:
                for _ in range(runs):
                    latency, first = _one_run(p, server.url, video)
                    latencies.append(latency)
                    if first is not None:
                        firsts.append(first)
        finally:
            server.stop()
    med = statistics.median(latencies)
    print(f"scan latency (QR enters the camera -> verdict on screen): median {med:.0f} ms, "
          f"min {min(latencies):.0f} ms, max {max(latencies):.0f} ms over {runs} runs "
          "(640x480 fake camera, headless Chromium, verifier on loopback)")
    if firsts:
        print(f"first camera frame sent {statistics.median(firsts):.0f} ms after the page "
              "started loading (median; camera start-up included)")
    return {"median_ms": med, "min_ms": min(latencies), "max_ms": max(latencies),
            "first_frame_ms": statistics.median(firsts) if firsts else float("nan")}


if __name__ == "__main__":
    main()
