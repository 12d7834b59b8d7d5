"""The offline scanner app's files (static/scan/), configured for one issuer or the federation.

`publish --out DIR` writes them under DIR/scan/ and `serve` serves them at /scan/ (issue 13,
docs/scanner.md). Besides the repository's files the app gets three generated ones:
`config.json` (what to sync, the refresh interval, the federation's pinned roots),
`messages.json` (codes and messages, generated from shared/, never a second hand-kept table)
and, inside `sw.js`, the precache manifest: every file with a revision (a hash of its bytes),
so a changed file is fetched again by the service worker and nothing else is.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from shared.errors import ConfigError
from shared.messages import messages_document
from shared.publication import APP_PREFIX

# static/scan/ of the checkout (`make install` is editable); SOCPASS_APP_DIR names another copy.
APP_DIR = Path(__file__).resolve().parent.parent / "static" / "scan"
# What never goes out: tests, scripts and caches next to the app's files.
_SKIP_DIRS = {"tests", "scripts", "__pycache__", "node_modules"}
_SKIP_SUFFIXES = {".py", ".pyc", ".map"}
SERVICE_WORKER = "sw.js"
# Workbox's injectManifest convention: the placeholder sw.js reads the manifest from.
MANIFEST_PLACEHOLDER = "self.__WB_MANIFEST"
# The screen's markup is one file shared with the server page (verifier/templates/scanner.html
# includes it); it goes into index.html here.
SCREEN = "ui/screen.html"
SCREEN_PLACEHOLDER = "<!-- screen: ui/screen.html (put here by socpass-issuer publish / serve) -->"
FORMAT = 1

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def issuer_config(*, iss: str, name: str, refresh_seconds: int) -> dict[str, Any]:
    """config.json of a ministry's app: its own publication, one directory above the app."""
    return {"format": FORMAT, "mode": "issuer", "base": "../", "iss": iss, "name": name,
            "roots": None, "refresh_seconds": refresh_seconds}


def federation_config(*, iss: str, name: str, roots: dict[str, Any],
                      refresh_seconds: int) -> dict[str, Any]:
    """config.json of the federal app: every region through the trust list its roots sign."""
    return {"format": FORMAT, "mode": "federal", "base": "../", "iss": iss, "name": name,
            "roots": roots, "refresh_seconds": refresh_seconds}


def federal_app(*, iss: str, name: str, roots: dict[str, Any], refresh_seconds: int,
                app_dir: Path | None = None) -> dict[str, bytes]:
    """The federal operator's app, for `federation publish` (issuer/federation/publish.py's
    AppBuilder once its settings are bound)."""
    config = federation_config(iss=iss, name=name, roots=roots, refresh_seconds=refresh_seconds)
    return build(config, app_dir=app_dir or APP_DIR)


def _source_files(app_dir: Path) -> dict[str, bytes]:
    if not (app_dir / "index.html").is_file() or not (app_dir / SERVICE_WORKER).is_file():
        raise ConfigError(f"файлы приложения сканера не найдены / the scanner app's files are "
                          f"missing: {app_dir} (SOCPASS_APP_DIR)")
    files = {}
    for path in sorted(app_dir.rglob("*")):
        rel = path.relative_to(app_dir)
        if (path.is_dir() or _SKIP_DIRS.intersection(rel.parts) or path.suffix in _SKIP_SUFFIXES
                or rel.name.startswith(".")):
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def revision(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:20]


def build(config: dict[str, Any], *, app_dir: Path = APP_DIR) -> dict[str, bytes]:
    """Every file of the app (paths relative to the app's root), configured by `config`."""
    files = _source_files(app_dir)
    index = files["index.html"].decode("utf-8")
    if SCREEN_PLACEHOLDER not in index:
        raise ConfigError(f"index.html: no {SCREEN_PLACEHOLDER}")
    files["index.html"] = index.replace(SCREEN_PLACEHOLDER, files.pop(SCREEN).decode("utf-8").strip(), 1) \
        .encode("utf-8")
    wasm = sorted(rel for rel in files if rel.startswith("vendor/") and rel.endswith(".wasm"))
    config = dict(config, venues=venues(), builtin_profiles=builtin_profiles(),
                  decoder_wasm=wasm[0] if wasm else None)
    files["config.json"] = _json(config)
    for kind in config["venues"]:
        files[f"manifest-{kind['kind']}.webmanifest"] = _venue_manifest(files, kind["kind"])
    files["messages.json"] = _json(messages_document())  # from shared/: one source for both engines
    sw = files.pop(SERVICE_WORKER).decode("utf-8")
    if MANIFEST_PLACEHOLDER not in sw:
        raise ConfigError(f"{SERVICE_WORKER}: no {MANIFEST_PLACEHOLDER} to put the precache manifest in")
    manifest = [{"url": rel, "revision": revision(content)} for rel, content in sorted(files.items())]
    files[SERVICE_WORKER] = sw.replace(MANIFEST_PLACEHOLDER, json.dumps(manifest, indent=1), 1) \
        .encode("utf-8")
    return files


def venues() -> list[dict[str, str]]:
    """The venue kinds of the picker, in the words of the ministry's default rules."""
    from issuer.entitlements import DEFAULT_PROFILES

    return [{"kind": kind, "name_ru": p["name_ru"], "name_en": p["name_en"]}
            for kind, p in DEFAULT_PROFILES.items()]


def builtin_profiles() -> dict[str, Any]:
    """The rules a venue applies to an issuer that publishes none (the engine's builtinProfiles):
    the ministry's defaults, as the server verifier's built-in policy."""
    from issuer.entitlements import DEFAULT_PROFILES

    return json.loads(json.dumps(DEFAULT_PROFILES))


def _venue_manifest(files: dict[str, bytes], kind: str) -> bytes:
    # The app installed from /scan/?venue=park starts as a park's: one manifest per kind, the
    # same app (`id`), a start_url that keeps the venue.
    manifest = json.loads(files["manifest.webmanifest"])
    manifest["start_url"] = f"./?venue={kind}"
    return (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def under_prefix(files: dict[str, bytes]) -> dict[str, bytes]:
    """The same files as they are written in a publish directory: DIR/scan/…"""
    return {APP_PREFIX + rel: content for rel, content in files.items()}


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
