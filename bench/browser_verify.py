"""Figure (issue 13, first row): the browser engine's verify against raw WebCrypto, same page.

Debian's headless Chromium loads the engine (static/scan/engine/) in a test page served over
loopback, syncs it from the shared vectors' publication, and times, in batches of sequential
awaited calls (the page's clock is coarse): `verify(text, now)` of a compact JWS; of the QR text
of the same credential (digits, inflate with the dictionary, rebuild: the camera's path); and
the baseline, `crypto.subtle.verify` of the same ES256 signature over the same signing input.
Rounds are interleaved and each figure is the median of its rounds, so a neighbour's burst on
the shared machine hits all three alike. Every verify returns the whole Result JSON the page
API gives (the clerk's view included), with the repeated-use store off, as in figure 1.

Then the same through the page API of the published app (issuer/scanapp.py's build, synced from
the same publication): `window.socpass.verify(text)`, which also looks up and records repeated
use and writes the scan log to IndexedDB, against `crypto.subtle.verify` in that page.
"""
from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

# The end of both page scripts: `rounds` interleaved rounds of each of `runs`, medians in ms.
ROUNDS_JS = """
  const times = {raw: [], jws: [], qr: []};
  for (let r = 0; r < rounds; r++) {
    for (const name in runs) {
      const t = performance.now();
      await runs[name]();
      times[name].push((performance.now() - t) / batch);
    }
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  return {raw: median(times.raw), jws: median(times.jws), qr: median(times.qr)};
}"""


BENCH_JS = """async ({jws, qr, now, batch, rounds, builtin, sources, publication}) => {
  const {syncPublication, createVerifier} = window.engine;
  const {b64urlDecode} = await import("./engine/b64.js");
  const messages = await (await fetch("messages.json")).json();
  const fetchText = async (rel) => {
    const r = await fetch(publication + rel);
    return r.status === 404 ? {status: 404} : {status: r.status, text: await r.text()};
  };
  const {snapshot} = await syncPublication(fetchText, null, {now, messages, sources});
  const verifier = createVerifier(snapshot, {venue: "museum", messages, builtinProfiles: builtin});
  await verifier.ready;
  for (const text of [jws, qr]) {
    const r = await verifier.verify(text, now);
    if (r.code !== "valid") throw new Error("not valid: " + r.code);
  }
  const [h, p, s] = jws.split(".");
  const data = new TextEncoder().encode(h + "." + p);
  const signature = b64urlDecode(s);
  const key = verifier.cache.key(JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/"))).iss,
                                 JSON.parse(atob(h.replace(/-/g, "+").replace(/_/g, "/"))).kid).key;
  if (!(await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key, signature, data))) throw new Error("raw");
  const runs = {
    raw: async () => { for (let i = 0; i < batch; i++) await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key, signature, data); },
    jws: async () => { for (let i = 0; i < batch; i++) await verifier.verify(jws, now); },
    qr: async () => { for (let i = 0; i < batch; i++) await verifier.verify(qr, now); },
  };
  for (let i = 0; i < Math.ceil(1000 / batch); i++) for (const name in runs) await runs[name]();  // JIT warm-up
""" + ROUNDS_JS


# In the published app's page: window.socpass.verify against the raw verify, same batching.
PAGE_JS = """async ({jws, qr, batch, rounds, jwks}) => {
  await window.socpass.ready;
  for (const text of [jws, qr]) {
    const r = await window.socpass.verify(text);
    if (r.verdict !== "accept") throw new Error("not accepted: " + r.code);
  }
  const [h, p, s] = jws.split(".");
  const kid = JSON.parse(atob(h.replace(/-/g, "+").replace(/_/g, "/"))).kid;
  const jwk = (await (await fetch(jwks)).json()).keys.find((k) => k.kid === kid);
  const key = await crypto.subtle.importKey("jwk", {kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y},
                                            {name: "ECDSA", namedCurve: "P-256"}, false, ["verify"]);
  const data = new TextEncoder().encode(h + "." + p);
  const sig = Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const runs = {
    raw: async () => { for (let i = 0; i < batch; i++) await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key, sig, data); },
    jws: async () => { for (let i = 0; i < batch; i++) await window.socpass.verify(jws); },
    qr: async () => { for (let i = 0; i < batch; i++) await window.socpass.verify(qr); },
  };
  for (let i = 0; i < Math.ceil(1000 / batch); i++) for (const name in runs) await runs[name]();  // JIT warm-up, as the engine's
""" + ROUNDS_JS


def page_api(playwright, root: Path, texts: dict[str, str], batch: int, rounds: int) -> dict[str, float]:
    """window.socpass.verify of the published app, µs per call, and the raw verify beside it."""
    from tests.browser import harness
    from tests.browser.app_engine_harness import PUBLICATION, published_app
    from tests.browser.app_shell_harness import StaticServer

    published_app(root, int(time.time()))
    server = StaticServer(root)
    browser = playwright.chromium.launch(executable_path=harness.chromium_executable(), headless=True,
                                         args=harness.BASE_ARGS)
    try:
        page = browser.new_page()
        page.goto(server.url + "/scan/?venue=museum")
        page.wait_for_selector("html[data-socpass='started']", timeout=60000)
        ms = page.evaluate(PAGE_JS, {"jws": texts["valid_large_family_compact"],
                                     "qr": texts["valid_large_family_qr"], "batch": batch,
                                     "rounds": rounds, "jwks": f"../{PUBLICATION}/ru27/.well-known/jwks.json"})
    finally:
        browser.close()
        server.stop()
    return {k: ms[k] * 1000 for k in ("raw", "jws", "qr")}


def main(quick: bool = False) -> dict[str, float]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser verify: skipped (playwright is not installed)")
        return {}
    from tests.browser import harness
    from tests.browser.app_engine_harness import (PUBLICATION, VECTOR_SOURCES, EnginePage,
                                                  static_server, site)
    from tests.vectors.build import vectors
    from verifier.policy import BUILTIN_PROFILES

    if harness.chromium_executable() is None:
        print("browser verify: skipped (no chromium)")
        return {}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    now = int(time.time())
    texts = {v.name: v.text for v in vectors(now)}
    batch, rounds = (100, 3) if quick else (500, 15)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        api = page_api(p, Path(tmp) / "app", texts, batch // 5, rounds)
        server = static_server(site(Path(tmp) / "engine", now))
        browser = p.chromium.launch(executable_path=harness.chromium_executable(), headless=True,
                                    args=harness.BASE_ARGS)
        try:
            page = EnginePage(browser, server)
            ms = page.page.evaluate(BENCH_JS, {
                "jws": texts["valid_large_family_compact"], "qr": texts["valid_large_family_qr"],
                "now": now, "batch": batch, "rounds": rounds, "builtin": BUILTIN_PROFILES,
                "sources": list(VECTOR_SOURCES), "publication": f"/{PUBLICATION}/"})
        finally:
            browser.close()
            server.stop()
    raw, jws, qr = (ms[k] * 1000 for k in ("raw", "jws", "qr"))
    print(f"browser raw crypto.subtle.verify ES256: {raw:8.1f} us/op")
    print(f"browser engine verify, compact JWS:     {jws:8.1f} us/op  ratio {jws / raw:.2f} (target <= 2)")
    print(f"browser engine verify, QR text:         {qr:8.1f} us/op  ratio {qr / raw:.2f} (target <= 3)")
    araw, ajws, aqr = api["raw"], api["jws"], api["qr"]
    print(f"app page raw crypto.subtle.verify ES256: {araw:8.1f} us/op")
    print(f"window.socpass.verify, compact JWS:      {ajws:8.1f} us/op  ratio {ajws / araw:.2f} "
          "(with repeated use and the scan log in IndexedDB)")
    print(f"window.socpass.verify, QR text:          {aqr:8.1f} us/op  ratio {aqr / araw:.2f}")
    return {"raw_us": raw, "jws_us": jws, "qr_us": qr, "jws_ratio": jws / raw, "qr_ratio": qr / raw,
            "page_raw_us": araw, "page_jws_us": ajws, "page_qr_us": aqr,
            "page_jws_ratio": ajws / araw, "page_qr_ratio": aqr / araw}


if __name__ == "__main__":
    main()
