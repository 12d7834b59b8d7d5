"""The conformance vectors of the specification (docs/spec/vectors.json, when the repository has
it) through both engines: the browser engine's Result must equal the Python verifier's, computed
live from the same publications, and the Python verdict must be what the vector expects.

Each vector names its publications (directories under docs/spec/vectors/, synced together; a
refused set leaves an empty store) or a federal bundle with its pinned roots, `sync_at` (default
`now`), `now` and the venue. Vectors sharing a set-up run after one sync, in one page."""
from __future__ import annotations

import dataclasses
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.browser.app_engine_harness import EnginePage, app_files, engine_settings, static_server
from verifier import cache as trust_cache
from verifier.config import Settings
from verifier.federated import sync_federated
from verifier.policy import BUILTIN_PROFILES
from verifier.roots import load_roots
from verifier.service import Verifier
from verifier.sync import SyncError, sync

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"

SPEC_JS = """async ({groups, builtin}) => {
  const {syncPublication, createVerifier} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const out = [];
  for (const g of groups) {
    const base = "/vec/" + (g.federation ? g.federation.base : "");
    const fetchText = async (rel) => {
      const r = await fetch(base + rel);
      return r.status === 404 ? {status: 404} : {status: r.status, text: await r.text()};
    };
    const roots = g.federation ? await (await fetch("/vec/" + g.federation.roots)).json() : null;
    const {snapshot} = await syncPublication(fetchText, null, {now: g.syncAt, messages, roots,
      mode: g.federation ? "federal" : "issuer", sources: g.publications.map((p) => p + "/")});
    const verifier = createVerifier(snapshot, {venue: g.venue, messages, settings: g.settings, roots,
                                              builtinProfiles: builtin});
    await verifier.ready;
    for (const [text, now] of g.cases) out.push(await verifier.verify(text, now));
  }
  return out;
}"""


def load(spec: Path) -> dict[str, Any]:
    return json.loads((spec / "vectors.json").read_text(encoding="utf-8"))


def groups(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Text vectors (images are for verifiers that read images) grouped by their set-up."""
    by_setup: dict[str, dict[str, Any]] = defaultdict(dict)
    for v in (doc["vectors"] if isinstance(doc, dict) else doc):
        if v.get("input_kind") == "image":
            continue
        fed = v.get("federation")
        setup = {"publications": list(v.get("publications", [])),
                 "federation": ({"roots": fed["roots"], "bundle": fed["bundle"],
                                 "base": fed["bundle"].split(".well-known/")[0]} if fed else None),
                 "syncAt": v.get("sync_at", v["now"]),
                 "venue": v.get("venue") or doc.get("default_venue", "museum")}
        group = by_setup[json.dumps(setup, sort_keys=True)]
        group.setdefault("setup", setup)
        group.setdefault("vectors", []).append(v)
    return list(by_setup.values())


def python_results(spec: Path, doc: dict[str, Any], group: dict[str, Any], home: Path) -> list[dict]:
    setup = group["setup"]
    settings = Settings.from_env({"SOCPASS_HOME": str(home)})
    settings = dataclasses.replace(settings, venue_profile=setup["venue"], **doc.get("settings", {}))
    vectors = spec / "vectors"
    roots = load_roots(vectors / setup["federation"]["roots"]) if setup["federation"] else None
    try:
        if setup["federation"]:
            sync_federated(str(vectors / setup["federation"]["bundle"]), settings.cache_dir,
                           setup["syncAt"], roots, bundle=True)
        elif setup["publications"]:
            sync([str(vectors / p) for p in setup["publications"]], settings.cache_dir, setup["syncAt"])
    except SyncError:
        pass  # a refused set leaves the store as it was: empty
    verifier = Verifier(trust_cache.load(settings.cache_dir, roots), settings)
    return [verifier.verify_text(v["input"], v["now"]).to_json() for v in group["vectors"]], engine_settings(settings)


def run_both(spec: Path, root: Path, browser) -> list[tuple[dict, dict, dict]]:
    """(vector, Python's Result, the engine's Result) for every text vector of `spec`."""
    doc = load(spec)
    app_files(root)
    shutil.copytree(spec / "vectors", root / "vec")
    found, page_groups = [], []
    for i, group in enumerate(groups(doc)):
        expected, settings = python_results(spec, doc, group, root / f"python-{i}")
        page_groups.append(dict(group["setup"], settings=settings,
                                cases=[[v["input"], v["now"]] for v in group["vectors"]]))
        found += list(zip(group["vectors"], expected))
    server = static_server(root)
    try:
        got = EnginePage(browser, server).page.evaluate(SPEC_JS, {"groups": page_groups,
                                                                  "builtin": BUILTIN_PROFILES})
    finally:
        server.stop()
    return [(v, e, g) for (v, e), g in zip(found, got)]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, playwright_instance):
    if not (SPEC / "vectors.json").exists():
        pytest.skip("docs/spec/vectors.json is not in this tree")
    from tests.browser.harness import BASE_ARGS, chromium_executable

    browser = playwright_instance.chromium.launch(executable_path=chromium_executable(), headless=True,
                                                  args=BASE_ARGS)
    try:
        yield run_both(SPEC, tmp_path_factory.mktemp("spec"), browser)
    finally:
        browser.close()


def test_spec_vectors_same_in_both_engines(outcomes):
    wrong_python = [(v["id"], v["expect"], (e["verdict"], e["code"], e["warnings"]))
                    for v, e, _ in outcomes
                    if (e["verdict"], e["code"], e["warnings"]) != (v["expect"]["verdict"], v["expect"]["code"],
                                                                   v["expect"].get("warnings", []))]
    assert wrong_python == []
    different = [(v["id"], e["code"], g["code"]) for v, e, g in outcomes if e != g]
    assert different == []
