"""The browser engine's sync (syncPublication): a failed sync keeps the previous snapshot, an
edited snapshot is refused at load, a refresh with nothing changed transfers nothing, a replayed
older status list is refused, bytes are read as Python reads files, and rules an issuer
publishes decide, all against the Python verifier where it has the same case."""
from __future__ import annotations

import json
import time

import pytest

from shared import qrtext
from tests.browser.app_engine_harness import Case, EnginePage, PythonVenue, static_server, vector_world
from tests.vectors.build import issuers, vectors

NOW = int(time.time())
KHV, _ = issuers()


@pytest.fixture(scope="module")
def world(tmp_path_factory, playwright_instance):
    with vector_world(playwright_instance, tmp_path_factory.mktemp("engine-sync"), NOW) as found:
        yield found.root, found.python, found.server, found.browser


SYNC_JS = """async ({tamper, text}) => {
  const {syncPublication, createVerifier} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const asked = [];
  const fetchText = (change) => async (rel, previous) => {
    asked.push([rel, previous ? previous.etag : null]);
    const r = await fetch("/pub/" + rel, {headers: previous && previous.etag ? {"If-None-Match": previous.etag} : {}});
    if (r.status === 404) return {status: 404};
    let text = await r.text();
    if (change && rel.endsWith(change.path)) text = change.to(text);
    return {status: 200, text, etag: "W/\\"" + text.length + "\\""};
  };
  const now = Math.floor(Date.now() / 1000);
  const first = await syncPublication(fetchText(null), null, {now, messages, sources: ["ru27/", "ru25/"]});
  const changes = {
    status: {path: "status/1", to: (t) => t.slice(0, -3) + (t.endsWith("AAA") ? "BAA" : "AAA")},
    jwks: {path: "jwks.json", to: (t) => t.replace('"keys"', '"keys","keys"')},
    metadata: {path: "socpass-issuer.json", to: (t) => "\\ufeff" + "{"},
  };
  const second = await syncPublication(fetchText(changes[tamper]), first.snapshot, {now, messages, sources: ["ru27/", "ru25/"]});
  // a snapshot edited in storage is verified again at load and refused
  const edited = JSON.parse(JSON.stringify(first.snapshot));
  edited.files["ru27/status/1"].text = changes.status.to(edited.files["ru27/status/1"].text);
  const v = createVerifier(edited, {venue: "museum", messages});
  await v.ready;
  return {first: first.report, second: second.report, same: second.snapshot === first.snapshot,
          editedStatus: v.status(now), editedVerdict: await v.verify(text, now), asked};
}"""


@pytest.mark.parametrize("tamper", ["status", "jwks", "metadata"])
def test_failed_sync_keeps_the_previous_snapshot(world, tamper):
    _, _, server, browser = world
    page = EnginePage(browser, server)
    text = next(v.text for v in vectors(NOW) if v.name == "valid_large_family_qr")
    out = page.page.evaluate(SYNC_JS, {"tamper": tamper, "text": text})
    assert out["first"]["ok"] is True
    assert out["second"]["ok"] is False and out["second"]["reason"]
    assert out["same"] is True
    assert out["editedStatus"]["cache_error"] and out["editedStatus"]["level"] == "error"
    refused = out["editedVerdict"]
    assert (refused["verdict"], refused["code"]) == ("reject", "untrusted_issuer")
    assert "повреждены" in refused["message"] and out["editedStatus"]["cache_error"] in refused["message"]
    # the second sync asked with the ETags of the first
    assert any(etag for _, etag in out["asked"])


REFRESH_JS = """async ({older}) => {
  const {syncPublication} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const served = {};
  for (const rel of ["ru27/.well-known/socpass-issuer.json", "ru27/.well-known/jwks.json", "ru27/status/1"]) {
    served[rel] = await (await fetch("/pub/" + rel)).text();
  }
  let transferred = 0;
  const fetchText = async (rel, previous) => {
    if (!(rel in served)) return {status: 404};
    const etag = '"' + served[rel].length + '-' + served[rel].slice(-8) + '"';
    if (previous && previous.etag === etag) return {status: 304};
    transferred += served[rel].length;
    return {status: 200, text: served[rel], etag};
  };
  const now = Math.floor(Date.now() / 1000);
  const first = await syncPublication(fetchText, null, {now, messages, sources: ["ru27/"]});
  const before = transferred;
  const unchanged = await syncPublication(fetchText, first.snapshot, {now: now + 60, messages, sources: ["ru27/"]});
  const again = transferred - before;
  served["ru27/status/1"] = older;
  const replay = await syncPublication(fetchText, unchanged.snapshot, {now: now + 120, messages, sources: ["ru27/"]});
  return {first: first.report.ok, unchanged: unchanged.report.ok, again,
          sameFiles: JSON.stringify(unchanged.snapshot.files) === JSON.stringify(first.snapshot.files),
          replay: replay.report, kept: replay.snapshot === unchanged.snapshot};
}"""


def test_refresh_with_nothing_changed_and_a_replayed_list(world):
    """304s reuse the stored files; a status list signed before the stored one is refused."""
    _, _, server, browser = world
    page = EnginePage(browser, server)
    older = KHV.status_token(NOW - 3600)  # signed an hour earlier than the published one
    out = page.page.evaluate(REFRESH_JS, {"older": older})
    assert out["first"] and out["unchanged"] and out["sameFiles"]
    assert out["again"] == 0
    assert out["replay"]["ok"] is False and "older revocation data" in out["replay"]["reason"]
    assert out["kept"] is True


RULES = {"museum": {"name_ru": "Музей", "rules": [
             {"type": "large_family", "entitlement": {"kind": "free_entry", "persons": "family",
                                                      "text_ru": "Вход для {persons} чел."}},
             {"type": "beneficiary", "categories": ["combat_veteran", "disability_1"],
              "entitlement": {"kind": "discount", "percent": 30, "persons": 2,
                              "text_ru": "Скидка 30% на двоих", "text_en": "30% off for two"}}]},
         "zoo": {"rules": []}}


def test_published_rules_decide(world, tmp_path):
    """An issuer that publishes rules: its profiles decide (a profile it leaves out grants
    nothing), the other issuer keeps the built-in catalogue; both engines alike."""
    import shutil

    from issuer.entitlements import catalogue
    from shared.publication import ENTITLEMENTS_PATH
    from tests.browser.app_engine_harness import PUBLICATION, app_files

    root, _, _, browser = world
    site_dir = tmp_path / "site"
    app_files(site_dir)
    shutil.copytree(root / PUBLICATION, site_dir / PUBLICATION)
    rules = site_dir / PUBLICATION / "ru27" / ENTITLEMENTS_PATH
    rules.write_text(json.dumps(catalogue("RU-27", RULES).to_json(), ensure_ascii=False), encoding="utf-8")
    python = PythonVenue(site_dir, NOW)
    texts = {v.name: v.text for v in vectors(NOW)}
    veteran = qrtext.encode(KHV.sign(KHV.credential(NOW, 30, ctype="beneficiary", category="combat_veteran")))
    pensioner = qrtext.encode(KHV.sign(KHV.credential(NOW, 31, ctype="beneficiary", category="pensioner")))
    server = static_server(site_dir)
    try:
        page = EnginePage(browser, server)
        for venue in ("museum", "zoo", "park", "transport"):
            cases = [Case(n, t, NOW, venue=venue) for n, t in
                     [("family", texts["valid_large_family_qr"]), ("veteran", veteran),
                      ("pensioner", pensioner), ("eddsa", texts["valid_beneficiary_eddsa"])]]
            got = page.run(cases, NOW, venue=venue, settings=python.engine_settings())["results"]
            assert got == [python.verify(c) for c in cases], venue
            if venue == "museum":
                assert got[0]["entitlement"]["text_ru"] == "Вход для 6 чел."
                assert got[0]["entitlement"]["source"] == "issuer"
                assert got[2]["code"] == "not_entitled"
                assert got[3]["entitlement"]["source"] == "builtin"  # RU-25 publishes no rules
            if venue == "park":
                assert got[0]["code"] == "not_entitled"  # RU-27's rules leave the park out
    finally:
        server.stop()


BYTES_JS = """async ({prefix}) => {
  const {syncPublication} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const fetchBytes = async (rel) => {
    const r = await fetch("/pub/" + rel);
    if (r.status === 404) return {status: 404};
    let bytes = new Uint8Array(await r.arrayBuffer());
    if (rel.endsWith("socpass-issuer.json")) bytes = new Uint8Array([...prefix, ...bytes]);
    return {status: 200, bytes};
  };
  const now = Math.floor(Date.now() / 1000);
  return (await syncPublication(fetchBytes, null, {now, messages, sources: ["ru27/"]})).report;
}"""


@pytest.mark.parametrize("prefix, ok", [([], True), ([0xEF, 0xBB, 0xBF], False), ([0xFF], False)])
def test_sync_from_bytes_reads_as_python(world, tmp_path, prefix, ok):
    """Given the bytes, a metadata file with a byte-order mark or invalid UTF-8 is refused, as
    the Python sync refuses it."""
    import shutil

    from shared.publication import METADATA_PATH
    from verifier.sync import SyncError, sync

    root, _, server, browser = world
    copy = tmp_path / "ru27"
    shutil.copytree(root / "pub" / "ru27", copy)
    meta = copy / METADATA_PATH
    meta.write_bytes(bytes(prefix) + meta.read_bytes())
    try:
        sync([str(copy)], tmp_path / "cache", NOW)
        python_ok = True
    except SyncError:
        python_ok = False
    report = EnginePage(browser, server).page.evaluate(BYTES_JS, {"prefix": prefix})
    assert report["ok"] is python_ok is ok
