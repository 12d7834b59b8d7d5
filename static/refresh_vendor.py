"""Vendored third-party JavaScript of the scanner app: fetch it from the npm registry, or check it.

    python static/refresh_vendor.py            # download every pinned package, verify, extract
    python static/refresh_vendor.py zxing-wasm # only the packages named
    python static/refresh_vendor.py --check    # no network: every vendored file matches its hash

Everything under static/scan/vendor/ is described by static/scan/vendor/manifest.json:

    {"packages": [{"name": "zxing-wasm", "version": "3.1.8", "license": "MIT",
                   "tarball": "https://registry.npmjs.org/zxing-wasm/-/zxing-wasm-3.1.8.tgz",
                   "integrity": "sha512-...",
                   "files": [{"from": "package/LICENSE", "to": "LICENSE", "sha256": "..."}]}]}

A package's files land in static/scan/vendor/NAME-VERSION/ (`to` is relative to it), or in the
folder its optional `dir` names when several packages must sit side by side (Workbox). To add a
package, write its entry with `name`, `version`, `license` and `files[].from`/`to` (leave out
`tarball`, `integrity` and `sha256`) and run the script: it takes the tarball URL and its
integrity from the registry's record of that exact version, and says so. Once written, the
integrity is pinned: the registry answering a different one for the same version is an error,
as is a tarball whose sha512 differs. Files in vendor/ that the manifest does not list are
deleted by a refresh and named by --check. Standard library only: it runs before any install.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

VENDOR = Path(__file__).resolve().parent / "scan" / "vendor"
MANIFEST = "manifest.json"
REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 50 * 1024 * 1024
TIMEOUT = 60


class VendorError(Exception):
    """The manifest, the registry or a vendored file is not what it must be."""


def load_manifest(vendor: Path = VENDOR) -> dict:
    try:
        manifest = json.loads((vendor / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VendorError(f"{vendor / MANIFEST}: cannot be read: {exc}") from exc
    for pkg in manifest.get("packages", []):
        for key in ("name", "version", "license", "files"):
            if not pkg.get(key):
                raise VendorError(f"{MANIFEST}: a package entry has no {key!r}: {pkg}")
        for entry in pkg["files"]:
            _safe_relative(entry.get("to", ""), pkg)
            if not entry.get("from"):
                raise VendorError(f"{MANIFEST}: {pkg['name']}: a file entry has no 'from'")
    return manifest


def _safe_relative(path: str, pkg: dict) -> PurePosixPath:
    rel = PurePosixPath(path)
    if not path or rel.is_absolute() or ".." in rel.parts or "\\" in path:
        raise VendorError(f"{MANIFEST}: {pkg['name']}: unsafe target path {path!r}")
    return rel


def package_dir(vendor: Path, pkg: dict) -> Path:
    # Packages meant to sit side by side (Workbox's modules, found by one modulePathPrefix) name a
    # common `dir`; the others get NAME-VERSION of their own.
    return vendor / _safe_relative(pkg.get("dir") or f"{pkg['name']}-{pkg['version']}", pkg)


def listed_files(vendor: Path, manifest: dict) -> dict[Path, str]:
    """Every vendored file the manifest lists -> its expected sha256 (None where not yet known)."""
    return {package_dir(vendor, pkg) / entry["to"]: entry.get("sha256")
            for pkg in manifest.get("packages", []) for entry in pkg["files"]}


def check(vendor: Path = VENDOR) -> list[str]:
    """Problems found, one line each, naming the file; empty when everything matches."""
    manifest = load_manifest(vendor)
    listed = listed_files(vendor, manifest)
    problems = []
    for path, expected in sorted(listed.items()):
        name = path.relative_to(vendor).as_posix()
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif not expected:
            problems.append(f"{name}: no sha256 in the manifest (run the refresh)")
        elif _sha256(path.read_bytes()) != expected:
            problems.append(f"{name}: sha256 differs from the manifest")
    for path in sorted(p for p in vendor.rglob("*") if p.is_file()):
        if path.name == MANIFEST and path.parent == vendor:
            continue
        if path not in listed:
            problems.append(f"{path.relative_to(vendor).as_posix()}: not listed in the manifest")
    return problems


def refresh(vendor: Path = VENDOR, only: set[str] | None = None, registry: str = REGISTRY) -> None:
    manifest = load_manifest(vendor)
    names = {pkg["name"] for pkg in manifest.get("packages", [])}
    if only and only - names:
        raise VendorError(f"not in the manifest: {', '.join(sorted(only - names))}")
    for pkg in manifest.get("packages", []):
        if only and pkg["name"] not in only:
            continue
        dist = registry_dist(registry, pkg["name"], pkg["version"])
        for key in ("tarball", "integrity"):
            if pkg.get(key) and pkg[key] != dist[key]:
                raise VendorError(f"{pkg['name']}@{pkg['version']}: the registry's {key} "
                                  f"{dist[key]!r} differs from the pinned {pkg[key]!r}")
            if not pkg.get(key):
                print(f"{pkg['name']}@{pkg['version']}: {key} taken from the registry: {dist[key]}")
                pkg[key] = dist[key]
        files = extract(download(pkg["tarball"], pkg["integrity"]), pkg)
        target = package_dir(vendor, pkg)
        for entry in pkg["files"]:
            out = target / entry["to"]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(files[entry["from"]])
            entry["sha256"] = _sha256(files[entry["from"]])
        print(f"{pkg['name']}@{pkg['version']}: {len(pkg['files'])} files in {target.relative_to(vendor.parent)}")
    _remove_unlisted(vendor, manifest)
    write_manifest(vendor, manifest)


_KEY_ORDER = ("name", "version", "license", "dir", "tarball", "integrity", "files")


def write_manifest(vendor: Path, manifest: dict) -> None:
    """Packages sorted by name, keys in one order: three branches adding entries merge cleanly."""
    packages = [{**{k: pkg[k] for k in _KEY_ORDER if k in pkg}, **pkg}
                for pkg in sorted(manifest.get("packages", []), key=lambda p: p["name"])]
    text = json.dumps({**manifest, "packages": packages}, indent=2, ensure_ascii=False)
    (vendor / MANIFEST).write_text(text + "\n", encoding="utf-8")


def registry_dist(registry: str, name: str, version: str) -> dict[str, str]:
    """{"tarball", "integrity"} of one exact version, from the registry's own record of it."""
    url = f"{registry.rstrip('/')}/{urllib.parse.quote(name, safe='@')}/{urllib.parse.quote(version)}"
    record = json.loads(_get(url, 10 * 1024 * 1024))
    dist = record.get("dist") or {}
    if not str(dist.get("integrity", "")).startswith("sha512-") or not dist.get("tarball"):
        raise VendorError(f"{name}@{version}: the registry gives no sha512 integrity or tarball")
    if not dist["tarball"].startswith("https://"):
        raise VendorError(f"{name}@{version}: tarball URL is not HTTPS: {dist['tarball']}")
    return {"tarball": dist["tarball"], "integrity": dist["integrity"]}


def download(url: str, integrity: str) -> bytes:
    data = _get(url, MAX_TARBALL_BYTES)
    algo, _, expected = integrity.partition("-")
    if algo != "sha512":
        raise VendorError(f"{url}: only sha512 integrity is accepted, not {algo!r}")
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
        raise VendorError(f"{url}: the tarball's sha512 differs from the pinned integrity")
    return data


def extract(tarball: bytes, pkg: dict) -> dict[str, bytes]:
    """The listed members' bytes, read in memory: nothing from the archive touches the disk
    except what the manifest names, under the name the manifest gives it."""
    wanted = {entry["from"] for entry in pkg["files"]}
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member in tar:
            if member.name in wanted and member.isfile():
                found[member.name] = tar.extractfile(member).read()
    missing = wanted - found.keys()
    if missing:
        raise VendorError(f"{pkg['name']}@{pkg['version']}: not in the tarball: {', '.join(sorted(missing))}")
    return found


def _remove_unlisted(vendor: Path, manifest: dict) -> None:
    listed = listed_files(vendor, manifest)
    for path in sorted(p for p in vendor.rglob("*") if p.is_file()):
        if path not in listed and not (path.name == MANIFEST and path.parent == vendor):
            print(f"removed, not in the manifest: {path.relative_to(vendor).as_posix()}")
            path.unlink()
    for path in sorted((p for p in vendor.rglob("*") if p.is_dir()), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()


def _get(url: str, limit: int) -> bytes:
    if not url.startswith("https://"):
        raise VendorError(f"refusing a non-HTTPS URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json, */*"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (https only)
        data = response.read(limit + 1)
    if len(data) > limit:
        raise VendorError(f"{url}: more than {limit} bytes")
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refresh_vendor.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="refresh only these packages (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="verify the vendored files against the manifest, without network")
    parser.add_argument("--registry", default=REGISTRY, help=f"npm registry (default {REGISTRY})")
    parser.add_argument("--vendor", type=Path, default=VENDOR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.vendor)
            for line in problems:
                print(f"refresh_vendor: {line}", file=sys.stderr)
            if not problems:
                print(f"refresh_vendor: every vendored file matches {MANIFEST}")
            return 1 if problems else 0
        refresh(args.vendor, set(args.names) or None, args.registry)
    except (VendorError, OSError) as exc:
        print(f"refresh_vendor: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
