"""Figures of the offline scanner app (issue 13) that are the shell's: what the first visit
downloads, what a refresh costs when nothing changed (one ministry, and a federal app over 10
regions), the cold start offline to a verdict (handheld and camera), the time from a QR entering
the camera's view to its verdict when the app is warm, and the tab's JS heap after a forced GC at
every 1,000 of 5,000 scans (accepted, revoked and malformed, page API and handheld field).

Real parts only: the issuer's CLI publishes, a loopback static server with ETags serves, Debian's
headless Chromium runs the app with a persistent profile. Bytes are what Playwright reports per
request (headers and bodies, uncompressed: the static server does not gzip, so a server that
does sends less). The camera figures are set against today's server page (`socpass-verifier
serve` on loopback) with the same fake camera, in the same run.
"""
from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

READY_SELECTOR = "#ready-note:not([hidden])"


def _sized(page) -> list[tuple[str, int]]:
    """Records (url, bytes) of every request the page makes from now on."""
    seen: list[tuple[str, int]] = []

    def finished(request) -> None:
        try:
            sizes = request.sizes()
        except Exception:  # a request the browser dropped has no sizes
            return
        seen.append((request.url, sizes["requestHeadersSize"] + sizes["requestBodySize"]
                     + sizes["responseHeadersSize"] + sizes["responseBodySize"]))

    page.context.on("requestfinished", finished)
    return seen


def first_visit_and_refresh(playwright, root: Path) -> dict:
    from tests.browser.app_shell_harness import PublishedMinistry, StaticServer, persistent_context

    out = root / "site"
    out.mkdir()
    server = StaticServer(out)
    try:
        ministry = PublishedMinistry(home=root / "ministry", out=out, url=server.url).create()
        context = persistent_context(playwright, root / "profile")
        page = context.new_page()
        seen = _sized(page)
        page.goto(server.url + "/scan/")
        page.wait_for_selector(READY_SELECTOR, timeout=60000)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_timeout(500)  # the last precache responses
        served = sum(size for _, _, size in server.requests())
        first = {"bytes": sum(size for _, size in seen), "requests": len(seen),
                 "server_body_bytes": served, "server_wire_bytes": server.wire_bytes()}
        page.evaluate("window.socpass.ready")
        # The refresh's fetches go past the service worker, which Playwright does not report
        # as the page's: counted at the server instead, headers included.
        before = len(server.requests())
        report = page.evaluate("window.socpass.sync()")
        refresh = {"bytes": server.wire_bytes(before), "requests": len(server.requests()) - before,
                   "statuses": sorted({status for _, status, _ in server.requests()[before:]}),
                   "ok": report["ok"]}
        ministry_qr = ministry.qr["family"]
        qrs = dict(ministry.qr)
        context.close()
        return {"first_visit": first, "refresh_unchanged": refresh, "qr": ministry_qr, "qrs": qrs,
                "profile": root / "profile", "url": server.url, "server": server}
    except BaseException:
        server.stop()
        raise


def federal_refresh(playwright, root: Path, regions: int) -> dict:
    """The federal app over `regions` ministries on one static server: the bytes of a refresh
    when nothing changed (the federation's list and bundle, each region's files as the engine
    asks for them)."""
    from tests.browser.app_shell_harness import PublishedMinistry, StaticServer, persistent_context

    site = root / "federal"
    site.mkdir()
    server = StaticServer(site)
    try:
        for i in range(regions):
            region = PublishedMinistry(home=root / f"region{i}", out=site / f"r{i}",
                                       url=f"{server.url}/r{i}")
            region.cli("init", "--issuer-id", f"RU-{10 + i}", "--name", f"Регион {10 + i}",
                       "--url", region.url, "--region", str(10 + i))
            region.publish()
        fed = PublishedMinistry(home=root / "federation", out=site, url=server.url)
        fed.cli("federation", "init", "--iss", "RU-FED", "--name", "Минтруд России")
        for i in range(regions):
            fed.cli("federation", "add", str(site / f"r{i}"), "--url", f"{server.url}/r{i}")
        published = fed.cli("federation", "publish", "--out", str(site))
        context = persistent_context(playwright, root / "federal-profile")
        try:
            page = context.new_page()
            page.goto(server.url + "/scan/")
            page.wait_for_selector(READY_SELECTOR, timeout=120000)
            page.evaluate("window.socpass.ready")
            before = len(server.requests())
            report = page.evaluate("window.socpass.sync()")
            got = server.requests()[before:]
            status = page.evaluate("window.socpass.status()")
            synced = [r for r in status["federation"]["regions"] if r["cached"]]
            return {"regions": regions, "regions_in_bundle": len(published.get("bundle_regions", [])),
                    "regions_synced": len(synced), "bytes": server.wire_bytes(before),
                    "requests": len(got), "statuses": sorted({status for _, status, _ in got}),
                    "ok": report["ok"]}
        finally:
            context.close()
    finally:
        server.stop()


def cold_start_offline(playwright, profile: Path, url: str, qr: str, rounds: int) -> list[float]:
    """From navigation to the verdict on screen, handheld path, browser offline, server gone."""
    from tests.browser.app_shell_harness import persistent_context, wait_until

    times = []
    for _ in range(rounds):
        context = persistent_context(playwright, profile, offline=True)
        try:
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url + "/scan/")
            page.wait_for_selector("#qr")
            wait_until(page, "document.documentElement.dataset.socpass === 'started'", every_ms=50)
            page.fill("#qr", qr)  # what a handheld scanner types, at once
            page.press("#qr", "Enter")
            page.wait_for_selector("#result:not([hidden])", timeout=30000)
            times.append(time.perf_counter() - start)
        finally:
            context.close()
    return times


def _goto_to_verdict(page, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#result:not([hidden])", timeout=30000)
    return time.perf_counter() - start


def _app_and_server_page(playwright, profile: Path, url: str, qr: str, root: Path, rounds: int,
                         measure, lead_in: int) -> tuple[list[float], list[float]]:
    """`measure(page, url)` `rounds` times on the app offline from its worker, then on today's
    server page on loopback (a ministry of its own, the same kind of video): seconds each."""
    from tests.browser import harness
    from tests.browser.app_shell_harness import persistent_context

    video = harness.camera_video(root / f"app-{lead_in}.y4m", qr, lead_in=lead_in, frames=30)
    app = []
    for _ in range(rounds):
        context = persistent_context(playwright, profile, *harness.fake_camera_args(video), offline=True)
        try:
            app.append(measure(context.new_page(), url + "/scan/"))
        finally:
            context.close()
    base = root / f"baseline-{lead_in}"
    ministry = harness.Ministry(base)
    server, _ = harness.venue(base, "venue", [str(ministry.published)], int(time.time()),
                              recent_window=0)
    baseline_video = harness.camera_video(root / f"baseline-{lead_in}.y4m", ministry.qr["family"],
                                          lead_in=lead_in, frames=30)
    page_times = []
    try:
        for _ in range(rounds):
            browser = playwright.chromium.launch(executable_path=harness.chromium_executable(),
                                                 headless=True,
                                                 args=[*harness.BASE_ARGS,
                                                       *harness.fake_camera_args(baseline_video)])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page_times.append(measure(page, server.url + "/"))
            finally:
                browser.close()
    finally:
        server.stop()
    return app, page_times


def camera_cold_start(playwright, profile: Path, url: str, qr: str, root: Path,
                      rounds: int) -> dict:
    """From navigation to a camera verdict on screen (the code in view from the first frame):
    the app offline from its worker, against today's server page on loopback (same video)."""
    app, page_times = _app_and_server_page(playwright, profile, url, qr, root, rounds,
                                           _goto_to_verdict, lead_in=0)
    return {"app_offline_median_s": round(statistics.median(app), 3),
            "server_page_median_s": round(statistics.median(page_times), 3),
            "ratio": round(statistics.median(app) / statistics.median(page_times), 2),
            "app_runs": [round(t, 3) for t in app], "server_page_runs": [round(t, 3) for t in page_times]}


# Put into the page before its own scripts: the time (performance.now) the first frame showing the
# code is presented (the marker patch top-left of harness.qr_frame turns from black to white with
# the code), and the time the verdict is on screen: what a clerk waits once the code is in view.
WATCH_JS = """(() => {
  window.__qr = {inView: null, verdict: null};
  const probe = document.createElement("canvas");
  probe.width = 4; probe.height = 4;
  const watch = (video) => {
    const frame = (now) => {
      if (window.__qr.inView !== null) return;
      const ctx = probe.getContext("2d", {willReadFrequently: true});
      ctx.drawImage(video, 0, 0, video.videoWidth / 40, video.videoHeight / 30, 0, 0, 4, 4);
      const px = ctx.getImageData(0, 0, 4, 4).data;
      let sum = 0;
      for (let i = 0; i < px.length; i += 4) sum += px[i];
      if (sum / (px.length / 4) > 128) window.__qr.inView = now;
      else video.requestVideoFrameCallback(frame);
    };
    video.requestVideoFrameCallback(frame);
  };
  const find = setInterval(() => {
    const video = document.querySelector("video");
    if (video && video.srcObject) { clearInterval(find); watch(video); }
    const result = document.getElementById("result");
    if (result && !result.hidden && window.__qr.verdict === null) window.__qr.verdict = performance.now();
  }, 5);
  new MutationObserver(() => {
    const result = document.getElementById("result");
    if (result && !result.hidden && window.__qr.verdict === null) window.__qr.verdict = performance.now();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["hidden"]});
})();"""


def _qr_in_view_to_verdict(page, url: str) -> float:
    page.add_init_script(WATCH_JS)
    page.goto(url)
    page.wait_for_selector("#result:not([hidden])", timeout=30000)
    got = page.evaluate("window.__qr")
    if got["inView"] is None or got["verdict"] is None or got["verdict"] < got["inView"]:
        raise RuntimeError(f"the code was not seen entering the view: {got}")
    return (got["verdict"] - got["inView"]) / 1000


def camera_warm(playwright, profile: Path, url: str, qr: str, root: Path, rounds: int,
                lead_in: int = 40) -> dict:
    """From the first frame that shows the code to its verdict on screen, the page started and
    scanning an empty view for `lead_in` frames (4 s at 10 fps) before: the app offline against
    today's server page."""
    app, page_times = _app_and_server_page(playwright, profile, url, qr, root, rounds,
                                           _qr_in_view_to_verdict, lead_in=lead_in)
    return {"app_offline_median_ms": round(statistics.median(app) * 1000),
            "server_page_median_ms": round(statistics.median(page_times) * 1000),
            "app_runs_ms": [round(t * 1000) for t in app],
            "server_page_runs_ms": [round(t * 1000) for t in page_times]}


def memory_over_scans(playwright, profile: Path, url: str, qrs: dict[str, str],
                      scans: int, step: int = 1000) -> list[tuple[int, float]]:
    """The JS heap (MB) after a forced full GC at every `step` scans up to `scans`, through the
    app's real paths: window.socpass.verify with the verdict shown, and the handheld scanner
    (digits typed into the field + Enter) every tenth scan; accepted, revoked and malformed codes
    mixed. Chromium runs with --expose-gc and gc() is called (twice: weak references of the
    first pass) right before each reading, so what is left is what the app retains."""
    from tests.browser.app_shell_harness import persistent_context, wait_until

    codes = [qrs["family"], qrs["revoked"], qrs["family"][:-7] + "1234567", "garbage " * 4]
    context = persistent_context(playwright, profile, "--js-flags=--expose-gc", offline=True)
    try:
        page = context.new_page()
        page.goto(url + "/scan/")
        wait_until(page, "document.documentElement.dataset.socpass === 'started'", every_ms=50)
        page.evaluate("window.socpass.ready")
        points = []
        done = 0
        while done < scans:
            n = min(step, scans - done)
            page.evaluate("""async ([codes, start, n]) => {
                const field = document.getElementById("qr");
                for (let i = start; i < start + n; i++) {
                  if (i % 10 === 9) {  // the handheld path: its digits in the field, then Enter
                    const shown = document.getElementById("result");
                    shown.hidden = true;
                    field.value = codes[Math.floor(i / 10) % 2];  // accepted or revoked
                    document.getElementById("scan-form").requestSubmit();
                    while (shown.hidden) await new Promise((r) => setTimeout(r, 1));
                  } else {
                    window.socpassScanner.showResult(await window.socpass.verify(codes[i % codes.length]));
                  }
                }
            }""", [codes, done, n])
            done += n
            used = page.evaluate("""async () => {
                for (let i = 0; i < 2; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); }
                return performance.memory.usedJSHeapSize;
            }""")
            points.append((done, round(used / 1e6, 3)))
        return points
    finally:
        context.close()


def main(quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines in the figures
    results: dict = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        got = first_visit_and_refresh(p, Path(tmp))
        got["server"].stop()
        results["first_visit"] = got["first_visit"]
        results["refresh_unchanged_one_ministry"] = got["refresh_unchanged"]
        # --quick (the test suite's smoke): one run of each, a short lead-in; the figures are
        # only printed, the code paths are the full run's.
        rounds = 1 if quick else 7
        results["refresh_unchanged_federal"] = federal_refresh(p, Path(tmp), 2 if quick else 10)
        cold = cold_start_offline(p, got["profile"], got["url"], got["qr"], rounds)
        results["cold_start_offline_s"] = {"median": round(statistics.median(cold), 3),
                                           "runs": [round(t, 3) for t in cold]}
        results["camera_cold_start"] = camera_cold_start(p, got["profile"], got["url"], got["qr"],
                                                         Path(tmp), rounds)
        results["camera_warm_qr_in_view"] = camera_warm(p, got["profile"], got["url"], got["qr"],
                                                        Path(tmp), rounds, lead_in=5 if quick else 40)
        results["heap_mb_after_gc_every_1000_scans"] = memory_over_scans(
            p, got["profile"], got["url"], got["qrs"], 200 if quick else 5000, 100 if quick else 1000)
    print(json.dumps(results, indent=1, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
