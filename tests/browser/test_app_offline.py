"""The offline scanner app (issue 13) in real headless Chromium: installed once online from the
real `socpass-issuer publish` output on a plain static server, then used with the server
stopped and the browser offline.
"""
from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from issuer.scanapp import revision
from tests.browser.app_shell_harness import PublishedMinistry, StaticServer, persistent_context, wait_until
from tests.browser.harness import (BASE_ARGS, RECORD_BEEPS, as_russian_layout, camera_video,
                                   chromium_executable, fake_camera_args)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READY = "Готово к работе без сети. Данные от"
REFRESH_SECONDS = 3


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """One ministry's records (init, three credentials, a revocation: six CLI runs), made once per
    module at an address of its own; each test copies them and publishes (one run) for itself."""
    root = tmp_path_factory.mktemp("issued")
    (root / "site").mkdir()
    server = StaticServer(root / "site")
    server.stop()  # only its address is kept: each test serves its own copy there
    return PublishedMinistry(home=root / "ministry", out=root / "site", url=server.url).create()


def published_site(tmp_path, refresh_seconds, issued=None):
    """A ministry published into a directory served by a static server on loopback."""
    out = tmp_path / "site"
    out.mkdir()
    if issued is not None:
        try:
            server = StaticServer(out, port=int(issued.url.rsplit(":", 1)[1]))
        except OSError:  # the address was taken meanwhile: a ministry of the test's own
            issued = None
    if issued is None:
        server = StaticServer(out)
        ministry = PublishedMinistry(home=tmp_path / "ministry", out=out, url=server.url,
                                     refresh_seconds=refresh_seconds).create()
        return ministry, server
    shutil.copytree(issued.home, tmp_path / "ministry")
    ministry = PublishedMinistry(home=tmp_path / "ministry", out=out, url=issued.url,
                                 refresh_seconds=refresh_seconds, qr=dict(issued.qr),
                                 token=dict(issued.token), ids=dict(issued.ids))
    ministry.publish()
    return ministry, server


@pytest.fixture
def site(tmp_path, issued):
    """The default refresh interval (5 min): no refresh runs in the middle of a test's scans."""
    ministry, server = published_site(tmp_path, 300, issued)
    yield ministry, server
    server.stop()


@pytest.fixture
def fast_site(tmp_path, issued):
    """A refresh every REFRESH_SECONDS, for what must arrive by a refresh."""
    ministry, server = published_site(tmp_path, REFRESH_SECONDS, issued)
    yield ministry, server
    server.stop()


def install(playwright, profile, url):
    """The clerk's first visit, online: the app is cached by its service worker and synced."""
    context = persistent_context(playwright, profile)
    page = context.new_page()
    asked = []
    context.on("request", lambda request: asked.append(request.url))
    page.goto(url)
    page.wait_for_selector("#ready-note:not([hidden])", timeout=30000)
    note = page.locator("#ready-note").inner_text()
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    origin = url.split("/scan/")[0] + "/"
    assert [u for u in asked if not u.startswith(origin)] == []  # never a CDN, never elsewhere
    return context, page, note


def cold_start(playwright, profile, url, *extra_args):
    """The tablet after a reboot in airplane mode: a new browser on the same profile, offline."""
    context = persistent_context(playwright, profile, *extra_args, offline=True)
    page = context.new_page()
    page.goto(url)
    wait_until(page, "document.documentElement.dataset.socpass === 'started'")
    return context, page


@contextmanager
def installed(playwright, server, profile, path="/scan/"):
    """The app installed online and its data loaded: the page, closed afterwards."""
    context, page, _ = install(playwright, profile, server.url + path)
    try:
        page.evaluate("window.socpass.ready")
        yield page
    finally:
        context.close()


def installed_then_gone(playwright, server, profile, path="/scan/") -> None:
    """Installed online, then the browser closed and the web server stopped for good."""
    context, _, _ = install(playwright, profile, server.url + path)
    context.close()
    server.stop()


def verdict(page) -> str:
    page.wait_for_selector("#result:not([hidden])", timeout=15000)
    return page.locator("#verdict-word").inner_text()


def next_customer(page) -> None:
    page.keyboard.press("Escape")
    page.wait_for_selector("#result", state="hidden")


# --- the published app ---------------------------------------------------------------------------

def test_cold_start_offline_loads_from_the_service_worker(playwright_instance, site, tmp_path):
    ministry, server = site
    profile = tmp_path / "profile"
    context, page, note = install(playwright_instance, profile, server.url + "/scan/?venue=park")
    assert note.startswith(READY)
    assert page.locator("#venue-kind").input_value() == "park"
    served = {path for path, _, _ in server.requests()}
    assert "/scan/sw.js" in served and "/scan/vendor/workbox-7.4.1/workbox-precaching.prod.js" in served
    context.close()
    server.stop()  # the web server is gone for good

    context, page = cold_start(playwright_instance, profile, server.url + "/scan/")
    try:
        assert page.title().startswith("Проверка удостоверения")
        # The venue chosen at the first visit is remembered, with no ?venue= in the address.
        assert page.locator("#venue-kind").input_value() == "park"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        assert page.evaluate("document.activeElement.id") == "qr"  # the handheld scanner is ready
        # Offline, the start's refresh fails: the bar says so and how old the kept data is.
        wait_until(page, "document.getElementById('sync-status').textContent.includes('не удалось')")
        bar = page.locator("#sync-status").inner_text()
        assert bar.startswith("Данные обновлены: ") and "Обновить данные не удалось" in bar
        assert "level-warning" in page.locator("#status-bar").get_attribute("class")
        # The first-visit message is not repeated; English is one tap away.
        assert page.locator("#ready-note").is_hidden()
        page.click("#lang")
        assert page.locator("#venue-kind option:checked").inner_text() == "Park"
    finally:
        context.close()


def test_offline_verdicts_handheld_revoked_and_no_request(playwright_instance, site, tmp_path):
    ministry, server = site
    profile = tmp_path / "profile"
    installed_then_gone(playwright_instance, server, profile, "/scan/?venue=museum")
    context, page = cold_start(playwright_instance, profile, server.url + "/scan/")
    try:
        page.evaluate("window.socpass.ready")
        # The start's own refresh (offline, so it fails) is the app's, not a scan's: it may come
        # after ready, so the count starts once the bar has reported it.
        wait_until(page, "document.getElementById('sync-status').textContent.includes('не удалось')")
        sent = []
        # The browser's own fetches for the tab and the install prompt (icon, web app manifest),
        # whenever it likes, are not the page's doing; any other request is.
        context.on("request", lambda request: re.search(r"/scan/(icon[-.\w]*|manifest[-\w]*\.webmanifest)$",
                                                        request.url) or sent.append(request.url))
        # The handheld scanner types the QR digits and Enter; no click anywhere.
        page.keyboard.type(ministry.qr["family"])
        page.keyboard.press("Enter")
        assert verdict(page) == "ПРИНЯТО"
        assert "Иванова Мария Петровна" in page.locator("#holder-name").inner_text()
        next_customer(page)
        # A plain compact JWS typed under a Russian layout arrives in Cyrillic.
        page.keyboard.type(as_russian_layout(ministry.token["disability"]))
        page.keyboard.press("Enter")
        assert verdict(page) == "ПРИНЯТО"
        next_customer(page)
        page.keyboard.type(ministry.qr["revoked"])
        page.keyboard.press("Enter")
        assert verdict(page) == "ОТКАЗ"
        assert "отозван" in page.locator("#message").inner_text().lower()
        assert sent == []  # nothing left the page during the scans
        result = page.evaluate("t => window.socpass.verify(t)", "  " + ministry.qr["family"] + "\n")
        assert (result["verdict"], result["code"]) == ("accept", "valid")
        # The same card a moment ago at this device: the repeated-use warning (museum: warn).
        assert result["warnings"] == ["recently_used"]
        wait_until(page, "window.socpass.status().then(s => s.refresh.failed_at !== null)")
        status = page.evaluate("window.socpass.status()")  # offline: the refresh failed …
        assert status["synced_at"] is not None            # … and the data it kept is dated
        wait_until(page, "document.getElementById('sync-status').textContent.includes('не удалось')")
        assert sent == []
    finally:
        context.close()


def test_revocation_reaches_the_app_within_one_refresh(playwright_instance, fast_site, tmp_path):
    ministry, server = fast_site
    with installed(playwright_instance, server, tmp_path / "profile") as page:
        first = page.evaluate("t => window.socpass.verify(t)", ministry.qr["family"])
        assert first["code"] == "valid"
        before = len(server.requests())
        ministry.cli("revoke", ministry.ids["family"], "--reason", "тест")
        ministry.publish()
        wait_until(page, f"window.socpass.verify({json.dumps(ministry.qr['family'])})"
                         ".then(r => r.code === 'revoked')", seconds=REFRESH_SECONDS * 2 + 5)
        # It came from a refresh of its own (no sync() called): a status list fetched again.
        assert any(path.startswith("/status/") and status == 200
                   for path, status, _ in server.requests()[before:])


def test_refreshes_by_itself_every_interval(playwright_instance, fast_site, tmp_path):
    ministry, server = fast_site
    with installed(playwright_instance, server, tmp_path / "profile") as page:
        first = page.evaluate("window.socpass.status()")["refresh"]
        assert first["interval_seconds"] == REFRESH_SECONDS
        before = len(server.requests())
        wait_until(page, f"window.socpass.status().then(s => s.refresh.ok_at > {first['ok_at']})",
                   seconds=REFRESH_SECONDS * 2 + 5)
        data = [r for r in server.requests()[before:] if not r[0].startswith("/scan/")]
        assert data and {status for _, status, _ in data} == {304}  # unchanged: no body


def test_refresh_with_nothing_changed_costs_304s(playwright_instance, site, tmp_path):
    ministry, server = site
    with installed(playwright_instance, server, tmp_path / "profile") as page:
        before = len(server.requests())
        report = page.evaluate("window.socpass.sync()")
        assert report["ok"] is True
        again = [r for r in server.requests()[before:] if not r[0].startswith("/scan/")]
        assert again and all(status == 304 and size == 0 for _, status, size in again), again


def test_bad_input_gets_a_russian_verdict_without_a_hang(playwright_instance, site, tmp_path):
    ministry, server = site
    with installed(playwright_instance, server, tmp_path / "profile") as page:
        huge = page.evaluate("window.socpass.verify('7'.repeat(5 * 1024 * 1024))")
        assert (huge["verdict"], huge["code"]) == ("reject", "malformed")
        assert any("\u0400" <= ch <= "\u04ff" for ch in huge["message"])
        garbage = page.evaluate("window.socpass.verify('hello\\u202eworld{}[]')")
        assert garbage["code"] == "malformed"
        # The same through the screen: a 5 MB paste into the scanner field.
        page.locator("#qr").evaluate("el => { el.value = 'x'.repeat(5 * 1024 * 1024); }")
        page.keyboard.press("Enter")
        assert verdict(page) == "ОТКАЗ"
        assert page.locator("#message").inner_text().startswith("Это не QR-код удостоверения")


def test_fake_camera_offline_gives_accepted(playwright_instance, site, tmp_path):
    ministry, server = site
    profile = tmp_path / "profile"
    installed_then_gone(playwright_instance, server, profile)
    video = camera_video(tmp_path / "family.y4m", ministry.qr["family"], lead_in=2, frames=30)
    # The same tablet, now with its (fake) camera showing the card.
    context, page = cold_start(playwright_instance, profile, server.url + "/scan/",
                               *fake_camera_args(video))
    try:
        assert verdict(page) == "ПРИНЯТО"
        assert "Иванова Мария Петровна" in page.locator("#holder-name").inner_text()
    finally:
        context.close()


def test_stats_export_is_csv_without_personal_data(playwright_instance, site, tmp_path):
    ministry, server = site
    with installed(playwright_instance, server, tmp_path / "profile") as page:
        codes = [page.evaluate("t => window.socpass.verify(t)", ministry.qr[person])["code"]
                 for person in ("family", "revoked")]
        assert codes == ["valid", "revoked"]
        with page.expect_download() as download:
            page.click("#stats-link")
        csv = Path(download.value.path()).read_text("utf-8-sig")
        lines = csv.strip().splitlines()
        assert lines[0] == "время;день;решение;код;предупреждения;тип;категория;человек;объект;способ"
        assert [line.split(";")[3] for line in lines[1:]] == codes
        assert {line.split(";")[9] for line in lines[1:]} == {"api"}
        assert "Иванова" not in csv and ministry.qr["family"] not in csv


def test_published_app_precache_manifest_covers_every_file(site):
    ministry, server = site
    app = ministry.out / "scan"
    sw = (app / "sw.js").read_text("utf-8")
    start = sw.index("const PRECACHE = ") + len("const PRECACHE = ")
    manifest = json.loads(sw[start:sw.index(" || [];", start)])
    urls = {entry["url"] for entry in manifest}
    files = {p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()}
    assert urls == files - {"sw.js"}
    # Each revision is the file's hash: a changed file is fetched again, an unchanged one not.
    assert all(entry["revision"] == revision((app / entry["url"]).read_bytes()) for entry in manifest)
    # The engine, the decoder and every vendored file the app loads are there for offline use.
    assert {"engine/verifier.js", "engine/sync.js", "decode/decoder.js", "decode/worker.js",
            "vendor/pako-3.0.3/pako_inflate.esm.min.mjs", "vendor/idb-8.0.4/index.js",
            "vendor/zxing-wasm-3.1.8/reader/zxing_reader.wasm"} <= urls
    config = json.loads((app / "config.json").read_text("utf-8"))
    assert config["refresh_seconds"] == 300 and config["mode"] == "issuer"
    assert not any(name.endswith(".py") or "/tests/" in name for name in files)


def test_an_update_waits_for_the_next_start(playwright_instance, site, tmp_path):
    """A new release published while the app is open is downloaded in the background and taken
    at the next start, never under the clerk's queue."""
    ministry, server = site
    profile = tmp_path / "profile"
    context, page, _ = install(playwright_instance, profile, server.url + "/scan/")
    app = ministry.out / "scan"
    page.reload()  # the first visit's page is not controlled by the worker; this one is
    wait_until(page, "navigator.serviceWorker.controller !== null")
    page.evaluate("window.__sameDocument = true")
    # A new release: one file changed, its revision in sw.js with it.
    css = app / "app.css"
    old_revision = revision(css.read_bytes())
    css.write_bytes(css.read_bytes() + b"/* release 2 */\n")
    sw = (app / "sw.js").read_text("utf-8")
    assert old_revision in sw
    (app / "sw.js").write_text(sw.replace(old_revision, revision(css.read_bytes())), "utf-8")
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    wait_until(page, "navigator.serviceWorker.getRegistration().then(r => r.waiting !== null)")
    # Still the same page, still the old release: nothing swapped under the queue.
    assert page.evaluate("window.__sameDocument") is True
    assert "release 2" not in page.evaluate("fetch('app.css').then(r => r.text())")
    changed = [path for path, status, _ in server.requests() if path.startswith("/scan/app.css")]
    assert changed  # the new file was downloaded in the background
    context.close()

    context = persistent_context(playwright_instance, profile)
    try:
        page = context.new_page()
        page.goto(server.url + "/scan/")
        wait_until(page, "document.documentElement.dataset.socpass === 'started' || "
                         "document.documentElement.dataset.socpass === 'failed'")
        wait_until(page, "fetch('app.css').then(r => r.text()).then(t => t.includes('release 2'))")
    finally:
        context.close()


def test_photo_messages_in_russian(playwright_instance, site, tmp_path):
    """A photo that is no image, one far too large, one without a code: a clear message each,
    no hang; a photo of the card: ПРИНЯТО. All offline."""
    import numpy as np
    from PIL import Image

    from tests import imaging

    ministry, server = site
    profile = tmp_path / "profile"
    installed_then_gone(playwright_instance, server, profile)
    text = tmp_path / "notes.png"
    text.write_text("это не картинка", "utf-8")
    # 1 x 40,000,000 pixels in a small PNG: refused from its header, never decoded whole.
    huge = tmp_path / "huge.png"
    Image.new("L", (1, 40_000_000), 255).save(huge)
    blank = tmp_path / "blank.png"
    blank.write_bytes(imaging.encode_bytes(np.full((480, 640), 255, np.uint8)))
    card = tmp_path / "card.png"
    card.write_bytes(imaging.encode_bytes(imaging.make_qr(ministry.qr["family"], box_size=6)))
    context, page = cold_start(playwright_instance, profile, server.url + "/scan/")
    try:
        for path, expected in ((text, "Это не изображение"), (huge, "Фото слишком большое"),
                               (blank, "На фото не найден QR-код")):
            page.set_input_files("#photo", str(path))
            assert verdict(page) == "ФОТО НЕ ПОДОШЛО"
            assert page.locator("#message").inner_text().startswith(expected)
            next_customer(page)
        page.set_input_files("#photo", str(card))
        assert verdict(page) == "ПРИНЯТО"
    finally:
        context.close()


def test_venue_picker_is_remembered_and_installs_with_its_venue(playwright_instance, site, tmp_path):
    ministry, server = site
    context, page, _ = install(playwright_instance, tmp_path / "profile", server.url + "/scan/?venue=sport")
    try:
        assert page.locator("#venue-kind").input_value() == "sport"
        assert page.get_attribute('link[rel="manifest"]', "href") == "manifest-sport.webmanifest"
        page.select_option("#venue-kind", "zoo")
        wait_until(page, "location.search === '?venue=zoo'")
        assert page.get_attribute('link[rel="manifest"]', "href") == "manifest-zoo.webmanifest"
        assert page.title() == "Проверка удостоверения — Зоосад"
        assert page.evaluate("document.activeElement.id") == "qr"  # back to the scanner field
        page.goto(server.url + "/scan/")
        wait_until(page, "document.documentElement.dataset.socpass === 'started'")
        assert page.locator("#venue-kind").input_value() == "zoo"
        assert page.evaluate("window.socpass.status()")["venue"] == "zoo"
    finally:
        context.close()


def test_one_clock_on_one_screen(playwright_instance, site, tmp_path):
    """The repeated-use warning and the status bar tell the time in the tablet's zone, never the
    issuer's (the issue's 03:28 beside 17:28): a tablet in New York, an issuer in Vladivostok."""
    ministry, server = site
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=chromium_executable(), headless=True,
        args=list(BASE_ARGS), timezone_id="America/New_York")
    clock = """z => new Intl.DateTimeFormat('en-GB', {timeZone: z, hour: '2-digit', minute: '2-digit',
        hourCycle: 'h23'}).format(new Date())"""
    try:
        page = context.new_page()
        page.goto(server.url + "/scan/?venue=museum")
        wait_until(page, "document.documentElement.dataset.socpass === 'started'")
        page.evaluate("window.socpass.ready")
        assert page.evaluate("window.socpass.status()")["timezone"] == "America/New_York"
        page.evaluate("t => window.socpass.verify(t)", ministry.qr["family"])
        before = page.evaluate(clock, "America/New_York")
        second = page.evaluate("t => window.socpass.verify(t)", ministry.qr["family"])
        after = page.evaluate(clock, "America/New_York")
        assert second["warnings"] == ["recently_used"]
        warning = second["warning_messages"][0]["message"]
        assert before in warning or after in warning, warning
        synced = page.evaluate("""() => window.socpass.status().then(s => new Intl.DateTimeFormat('en-GB',
            {timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'})
            .format(new Date(s.synced_at * 1000)))""")
        wait_until(page, "document.getElementById('sync-status').textContent.includes(':')")
        assert synced in page.locator("#sync-status").inner_text()
    finally:
        context.close()


# What a tablet's browser does before the first tap or key press, which headless Chromium under
# Playwright does not (it counts the page as activated): every AudioContext starts suspended,
# and resume() waits until a key press or tap.
LOCKED_AUDIO = """
window.__unlocked = false;
for (const kind of ["keydown", "pointerdown"]) {
  window.addEventListener(kind, () => { window.__unlocked = true; }, true);
}
const Unlocked = window.AudioContext;
window.AudioContext = class extends Unlocked {
  constructor(...args) { super(...args); super.suspend(); }
  resume() { return window.__unlocked ? super.resume() : new Promise(() => {}); }
};
"""


def test_a_verdict_before_the_first_tap_never_sounds_later(playwright_instance, site, tmp_path):
    """Browsers keep audio locked until the first tap or key press. A verdict the camera brings
    before it is not heard, and must not sound, stale, at the unlock."""
    ministry, server = site
    profile = tmp_path / "profile"
    installed_then_gone(playwright_instance, server, profile)
    video = camera_video(tmp_path / "family.y4m", ministry.qr["family"], lead_in=2, frames=30)
    context = persistent_context(playwright_instance, profile, *fake_camera_args(video), offline=True)
    try:
        context.add_init_script(RECORD_BEEPS)
        context.add_init_script(LOCKED_AUDIO)
        page = context.new_page()
        page.goto(server.url + "/scan/")
        assert verdict(page) == "ПРИНЯТО"  # from the camera: no tap, no key press
        page.wait_for_timeout(300)
        assert page.evaluate("window.__beeps") == []
        next_customer(page)  # the first key press unlocks audio: nothing stale plays
        page.wait_for_timeout(600)
        assert page.evaluate("window.__beeps") == []
        page.keyboard.type(ministry.qr["revoked"])
        page.keyboard.press("Enter")
        wait_until(page, "window.__beeps.length > 0")  # the next verdict is heard
    finally:
        context.close()
