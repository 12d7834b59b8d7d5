"""Run one conformance vector of docs/spec/vectors.json through the Python verifier.

What an implementation in another language does with the same file (docs/spec/README.md,
"Conformance vectors"): sync a fresh trust store from the vector's publications at its `now`
(a publication that is refused leaves the store without that issuer), then decide on its input
at the same `now`, with the file's settings and the vector's venue profile.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from verifier import cache
from verifier.config import Settings
from verifier.federated import sync_federated
from verifier.result import Result
from verifier.roots import load_roots
from verifier.service import Verifier
from verifier.sync import SyncError, sync

SPEC_DIR = Path(__file__).resolve().parents[2] / "docs" / "spec"


def load(spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    return json.loads((spec_dir / "vectors.json").read_text(encoding="utf-8"))


def run(vector: dict[str, Any], doc: dict[str, Any], home: Path, spec_dir: Path = SPEC_DIR) -> Result:
    settings = doc["settings"]
    config = Settings.from_env({
        "SOCPASS_HOME": str(home), "SOCPASS_LEEWAY": str(settings["leeway"]),
        "SOCPASS_CLOCK_TOLERANCE": str(settings["clock_tolerance"]),
        "SOCPASS_STATUS_GRACE": str(settings["status_grace"]),
        "SOCPASS_VENUE_PROFILE": vector.get("venue", doc["default_venue"]),
        "SOCPASS_RECENT_WINDOW": "0"})
    now = vector["now"]
    sync_at = vector.get("sync_at", now)
    roots = None
    try:
        if vector.get("federation"):
            roots = load_roots(spec_dir / "vectors" / vector["federation"]["roots"])
            sync_federated(str(spec_dir / "vectors" / vector["federation"]["bundle"]), config.cache_dir,
                           sync_at, roots, bundle=True)
        else:
            sync([str(spec_dir / "vectors" / p) for p in vector["publications"]], config.cache_dir, sync_at)
    except SyncError:
        pass  # nothing was written: the device knows no issuer
    verifier = Verifier(cache.load(config.cache_dir, roots), config)
    if vector["input_kind"] == "image":
        return verifier.verify_image((spec_dir / "vectors" / vector["input"]).read_bytes(), now)
    return verifier.verify_text(vector["input"], now)
