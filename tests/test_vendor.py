"""Vendored third-party JavaScript (static/scan/vendor/): every file pinned by hash, nothing more.

The refresh itself (network) is exercised against a local tarball: the registry is not needed to
show that a wrong integrity or an unsafe path is refused.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "static" / "refresh_vendor.py"
VENDOR = ROOT / "static" / "scan" / "vendor"

spec = importlib.util.spec_from_file_location("refresh_vendor", SCRIPT)
refresh_vendor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refresh_vendor)


def test_check_passes_on_the_repository():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_every_vendored_file_listed_and_every_listed_file_there():
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    # A package's files are under NAME-VERSION/, or under its `dir` shared with others (Workbox).
    folder = {p["name"]: p.get("dir") or f"{p['name']}-{p['version']}" for p in manifest["packages"]}
    listed = {f"{folder[p['name']]}/{f['to']}" for p in manifest["packages"] for f in p["files"]}
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {"manifest.json"}
    assert present == listed
    for pkg in manifest["packages"]:
        assert pkg["integrity"].startswith("sha512-") and pkg["tarball"].startswith("https://registry.npmjs.org/")
        assert all(len(f["sha256"]) == 64 for f in pkg["files"])
    # Every folder carries its licence (one for the packages that share a folder).
    for name in set(folder.values()):
        assert f"{name}/LICENSE" in listed, name


@pytest.fixture
def vendor(tmp_path):
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    return copy


def _run_check(vendor: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--vendor", str(vendor)],
                          capture_output=True, text=True, timeout=60)


def test_check_names_a_changed_a_missing_and_an_unlisted_file(vendor):
    wasm = next(vendor.rglob("*.wasm"))
    wasm.write_bytes(wasm.read_bytes()[:-1] + b"\x00")
    lic = next(vendor.rglob("LICENSE"))
    lic.unlink()
    (vendor / "zxing-wasm-3.1.8" / "extra.js").write_text("alert(1)")
    proc = _run_check(vendor)
    assert proc.returncode == 1
    assert f"{wasm.relative_to(vendor).as_posix()}: sha256 differs" in proc.stderr
    assert f"{lic.relative_to(vendor).as_posix()}: missing" in proc.stderr
    assert "zxing-wasm-3.1.8/extra.js: not listed" in proc.stderr


def _tarball(files: dict[str, bytes]) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    return data, "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def registry(monkeypatch):
    """A fake npm registry in this process: the package record and its tarball, by URL."""
    served: dict[str, bytes] = {}

    def get(url: str, limit: int) -> bytes:
        return served[url]

    monkeypatch.setattr(refresh_vendor, "_get", get)
    return served


def _publish(served: dict, name: str, version: str, files: dict[str, bytes], integrity: str | None = None) -> str:
    data, real = _tarball(files)
    tarball = f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"
    served[tarball] = data
    served[f"https://registry.npmjs.org/{name}/{version}"] = json.dumps(
        {"dist": {"tarball": tarball, "integrity": integrity or real}}).encode()
    return real


def _manifest(vendor: Path, entry: dict) -> None:
    (vendor / "manifest.json").write_text(json.dumps({"packages": [entry]}), encoding="utf-8")


def test_refresh_extracts_the_listed_files_and_pins_them(tmp_path, registry):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "stale-1.0.0").mkdir()
    (vendor / "stale-1.0.0" / "old.js").write_text("old")
    integrity = _publish(registry, "tiny", "1.2.3", {"package/LICENSE": b"MIT", "package/dist/a.js": b"a",
                                                     "package/dist/unwanted.js": b"u"})
    _manifest(vendor, {"name": "tiny", "version": "1.2.3", "license": "MIT",
                       "files": [{"from": "package/LICENSE", "to": "LICENSE"},
                                 {"from": "package/dist/a.js", "to": "js/a.js"}]})
    refresh_vendor.refresh(vendor)
    assert (vendor / "tiny-1.2.3" / "js" / "a.js").read_bytes() == b"a"
    assert not (vendor / "stale-1.0.0").exists()
    assert not list(vendor.rglob("unwanted.js"))
    pinned = json.loads((vendor / "manifest.json").read_text())["packages"][0]
    assert pinned["integrity"] == integrity
    assert pinned["files"][1]["sha256"] == hashlib.sha256(b"a").hexdigest()
    assert refresh_vendor.check(vendor) == []


def test_refresh_refuses_a_tarball_that_is_not_the_pinned_one(tmp_path, registry):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    _publish(registry, "tiny", "1.2.3", {"package/LICENSE": b"MIT"}, integrity="sha512-" + "A" * 86 + "==")
    _manifest(vendor, {"name": "tiny", "version": "1.2.3", "license": "MIT",
                       "files": [{"from": "package/LICENSE", "to": "LICENSE"}]})
    with pytest.raises(refresh_vendor.VendorError, match="sha512 differs"):
        refresh_vendor.refresh(vendor)
    # A pinned integrity the registry no longer gives for that version: refused before download.
    real = _publish(registry, "tiny", "1.2.3", {"package/LICENSE": b"MIT"})
    _manifest(vendor, {"name": "tiny", "version": "1.2.3", "license": "MIT", "integrity": real[:-4] + "AAA=",
                       "files": [{"from": "package/LICENSE", "to": "LICENSE"}]})
    with pytest.raises(refresh_vendor.VendorError, match="differs from the pinned"):
        refresh_vendor.refresh(vendor)
    assert not (vendor / "tiny-1.2.3").exists()


@pytest.mark.parametrize("target", ["../escape.js", "/abs.js", "a/../../b.js", ""])
def test_unsafe_target_paths_refused(tmp_path, target):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    _manifest(vendor, {"name": "tiny", "version": "1.2.3", "license": "MIT",
                       "files": [{"from": "package/LICENSE", "to": target}]})
    with pytest.raises(refresh_vendor.VendorError):
        refresh_vendor.load_manifest(vendor)


def test_zxing_wasm_js_and_wasm_are_one_build():
    """zxing-wasm's JS names the sha256 of the .wasm it was built with (ZXING_WASM_SHA256): a
    refresh that mixed two builds would load glue code that does not match its binary."""
    import re

    base = next(VENDOR.glob("zxing-wasm-*"))
    js = (base / "es" / "reader" / "index.js").read_text(encoding="utf-8")
    exported = re.search(r"\b(\w+) as ZXING_WASM_SHA256\b", js).group(1)
    declared = re.search(rf"\b{exported} = \"([0-9a-f]{{64}})\"", js).group(1)
    assert hashlib.sha256((base / "reader" / "zxing_reader.wasm").read_bytes()).hexdigest() == declared
