"""The browser engine in federal mode (the bundle, signed by a pinned root) against the Python
verifier synced from the same bundle: residents, visitors with the federal visitors' rules, a
revoked credential, an issuer the list does not name, and time past the list's expiry."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from issuer.federation.trustlist import Federation
from shared.publication import ROOTS_PATH
from shared.statuslist import REVOKED
from tests.browser.app_engine_harness import EnginePage, app_files, engine_settings, static_server
from tests.vectors.build import DAY
from tests.verifier.fakeissuer import NOW, FakeIssuer
from verifier import cache as trust_cache
from verifier.config import Settings
from verifier.federated import sync_federated
from verifier.policy import BUILTIN_PROFILES
from verifier.roots import load_roots
from verifier.service import Verifier

RULES = {"visitors": {
    "museum": {"rules": [{"type": "large_family", "entitlement": {
        "kind": "free_entry", "persons": "family", "text_ru": "Бесплатно для семей из любого региона"}}]},
    "transport": {"rules": []}}}

FEDERAL_JS = """async ({venue, settings, builtin, roots, cases, now}) => {
  const {syncPublication, createVerifier} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const fetchText = async (rel) => {
    const r = await fetch("/pub/" + rel);
    return r.status === 404 ? {status: 404} : {status: r.status, text: await r.text()};
  };
  const {snapshot, report} = await syncPublication(fetchText, null, {now, messages, mode: "federal", roots});
  const v = createVerifier(snapshot, {venue, messages, settings, roots, builtinProfiles: builtin});
  await v.ready;
  const results = [];
  for (const [text, at] of cases) results.push(await v.verify(text, at));
  return {report, results, status: v.status(now)};
}"""


def federation(tmp: Path, *, revoked: bool = False) -> tuple[FakeIssuer, FakeIssuer, Federation,
                                                             dict[str, Path], Any]:
    """RU-27 and RU-25 published into tmp and named by a federation (root RU-FED), with its
    visitors' rules; nothing published by the federation yet. With `revoked`, also a RU-27
    credential revoked in its published list."""
    khv = FakeIssuer(iss="RU-27", region="27", url="https://szn.khv.example")
    prim = FakeIssuer(iss="RU-25", region="25", url="https://szn.primorsky.example")
    revoked_one = khv.credential() if revoked else None
    if revoked_one is not None:
        khv.set_status(revoked_one, REVOKED)
    fed = Federation(tmp / "fed", b"pass")
    fed.init("RU-FED", "Минтруд России")
    folders = {}
    for issuer, name in ((khv, "Хабаровский край"), (prim, "Приморский край")):
        folders[issuer.iss] = issuer.publish(tmp / issuer.iss)
        fed.add(str(folders[issuer.iss]), name=name, url=str(folders[issuer.iss]))
    fed.set_rules(RULES)
    return khv, prim, fed, folders, revoked_one


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("federal")
    khv, prim, fed, _, revoked = federation(tmp, revoked=True)
    stranger = FakeIssuer(iss="RU-99", region="99", url="https://szn.nowhere.example")
    fed.publish(tmp / "pub", NOW)
    app_files(tmp)
    texts = {"resident": khv.qr(), "visitor": prim.qr(), "revoked": khv.qr(revoked),
             "not_in_the_list": stranger.qr()}
    return tmp, texts


def python_results(tmp, venue, cases):
    roots = load_roots(tmp / "pub" / ROOTS_PATH)
    settings = Settings.from_env({"SOCPASS_HOME": str(tmp / f"venue-{venue}"), "SOCPASS_VENUE_REGION": "27"})
    settings = dataclasses.replace(settings, venue_profile=venue)
    sync_federated(str(tmp / "pub"), settings.cache_dir, NOW, roots, bundle=True)
    verifier = Verifier(trust_cache.load(settings.cache_dir, roots), settings)
    return [verifier.verify_text(text, at).to_json() for text, at in cases], engine_settings(settings)


@pytest.mark.parametrize("venue", ["museum", "transport"])
def test_federal_bundle_same_as_python(world, launch, venue):
    tmp, texts = world
    cases = [[text, at] for text in texts.values() for at in (NOW, NOW + 2 * DAY, NOW + 60 * DAY)]
    expected, settings = python_results(tmp, venue, cases)
    server = static_server(tmp)
    try:
        page = EnginePage(launch(), server)
        roots = json.loads((tmp / "pub" / ROOTS_PATH).read_text())
        out = page.page.evaluate(FEDERAL_JS, {"venue": venue, "settings": settings, "roots": roots,
                                              "builtin": BUILTIN_PROFILES, "cases": cases, "now": NOW})
    finally:
        server.stop()
    assert out["report"]["ok"], out["report"]
    assert out["results"] == expected
    codes = [r["code"] for r in expected]
    assert "valid" in codes and "revoked" in codes and "untrusted_issuer" in codes
    assert {r["region"] for r in out["status"]["federation"]["regions"]} == {"27", "25"}
    if venue == "museum":
        visitor = expected[len((NOW, NOW + 2 * DAY, NOW + 60 * DAY))]
        assert visitor["entitlement"]["source"] == "federal"


def test_federal_needs_a_pinned_root(world, launch):
    """Roots other than the federation's: the bundle is refused and nothing is kept."""
    tmp, _ = world
    other = FakeIssuer(iss="RU-FED", region="77", url="https://other.example")
    server = static_server(tmp)
    try:
        page = EnginePage(launch(), server)
        out = page.page.evaluate("""async ({roots, now}) => {
          const messages = await (await fetch("messages.json")).json();
          const fetchText = async (rel) => { const r = await fetch("/pub/" + rel);
            return {status: r.status, text: await r.text()}; };
          return await window.engine.syncPublication(fetchText, null, {now, messages, mode: "federal", roots});
        }""", {"roots": dict(other.jwks(), iss="RU-FED"), "now": NOW})
    finally:
        server.stop()
    assert out["report"]["ok"] is False and out["snapshot"] is None


KEEP_JS = """async ({roots, cases, now, builtin, settings}) => {
  const {syncPublication, createVerifier} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const from = (dir) => async (rel) => {
    const r = await fetch("/" + dir + "/" + rel);
    return r.status === 404 ? {status: 404} : {status: r.status, text: await r.text()};
  };
  const options = {now, messages, mode: "federal", roots};
  const first = await syncPublication(from("pub1"), null, options);
  const second = await syncPublication(from("pub2"), first.snapshot, {...options, now: now + 60});
  const v = createVerifier(second.snapshot, {venue: "museum", messages, roots, settings, builtinProfiles: builtin});
  await v.ready;
  const results = [];
  for (const [text, at] of cases) results.push(await v.verify(text, at));
  return {first: first.report, second: second.report, results,
          regions: v.status(now + 60).federation.regions};
}"""


def test_failed_region_keeps_its_previous_data(tmp_path, launch):
    """A region missing from the newer bundle (its publication was down when the federation
    published) keeps the data of the older bundle, as verifier/federated.py keeps it."""
    khv, prim, fed, folders, _ = federation(tmp_path)
    fed.publish(tmp_path / "pub1", NOW)
    for listed in (folders["RU-25"] / "status").iterdir():
        listed.unlink()  # RU-25's publication is broken when the federation publishes again
    assert fed.publish(tmp_path / "pub2", NOW + 30)["bundle_failed"].keys() == {"RU-25"}
    app_files(tmp_path)
    roots_doc = json.loads((tmp_path / "pub2" / ROOTS_PATH).read_text())
    roots = load_roots(tmp_path / "pub2" / ROOTS_PATH)
    settings = Settings.from_env({"SOCPASS_HOME": str(tmp_path / "venue")})
    for n, pub in enumerate(("pub1", "pub2")):
        sync_federated(str(tmp_path / pub / ".well-known" / "socpass-bundle.jwt"), settings.cache_dir,
                       NOW + 60 * n, roots, bundle=True)
    python = Verifier(trust_cache.load(settings.cache_dir, roots), settings)
    cases = [[khv.qr(), NOW + 60], [prim.qr(), NOW + 60]]
    server = static_server(tmp_path)
    try:
        out = EnginePage(launch(), server).page.evaluate(KEEP_JS, {
            "roots": roots_doc, "cases": cases, "now": NOW, "builtin": BUILTIN_PROFILES,
            "settings": engine_settings(settings)})
    finally:
        server.stop()
    assert out["first"]["ok"] and out["second"]["ok"]
    assert out["results"] == [python.verify_text(text, at).to_json() for text, at in cases]
    assert [r["code"] for r in out["results"]] == ["valid", "valid"]
    errors = {r["iss"]: r["sync_error"] for r in out["regions"]}
    assert errors["RU-27"] is None and errors["RU-25"]
    assert {r["iss"]: r["cached"] for r in out["regions"]} == {"RU-27": True, "RU-25": True}
