"""What `federation publish --out DIR` writes under DIR, besides the list and the roots: the
bundle of every active region's publication, read and verified now, and the offline scanner
app it is given. Every file is replaced atomically and fsync'ed, as the ministry's publish does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from issuer.federation.regions import read_region
from shared.files import write_atomically
from shared.keys import PrivateKey
from shared.publication import APP_PREFIX, BUNDLE_PATH
from shared.pubreader import PublicationUnavailable
from shared.trustlist import Bundle, TrustList, sign_bundle


class AppBuilder(Protocol):
    """Builds the federal scanner app's files (paths relative to the app's root), configured
    with the roots it pins. The scanner app is the issuer's, not the federation's to import:
    the command line that runs the federation hands the builder over (issuer/cli.py)."""

    def __call__(self, *, iss: str, name: str, roots: dict[str, Any]) -> dict[str, bytes]: ...


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)


def write_bundle(out: Path, trust_list: TrustList, token: str, *, now: int, issuer: str,
                 key: PrivateKey, kid: str) -> dict[str, Any]:
    """Sign and write the bundle of every active region that can be read now; the others are
    reported (`bundle_failed`), not fatal: venues still sync them from their URLs."""
    regions, rules, failed = collect(trust_list)
    btoken = sign_bundle(Bundle(issued_at=now, expires_at=trust_list.expires_at,
                                trust_list=token, regions=regions, entitlements=rules),
                         issuer=issuer, key=key, kid=kid)
    write(out / BUNDLE_PATH, (btoken + "\n").encode("utf-8"))
    return {"bundle": str(out / BUNDLE_PATH), "bundle_regions": sorted(regions),
            "bundle_failed": failed}


def collect(trust_list: TrustList) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Every active region's publication, read and verified now, for the bundle."""
    regions: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for entry in trust_list.active():
        try:
            got = read_region(entry.url)
        except PublicationUnavailable as err:
            failed[entry.iss] = err.description
            continue
        doc = got.document
        regions[entry.iss] = {"metadata": doc["metadata"], "jwks": doc["jwks"],
                              "status_lists": doc["status_lists"]}
        if doc.get("entitlements") is not None:
            rules[entry.iss] = doc["entitlements"]
    return regions, rules, failed


def write_app(out: Path, files: dict[str, bytes]) -> dict[str, Any]:
    """The scanner app's files under DIR/scan/."""
    for rel, content in files.items():
        write(out / APP_PREFIX / rel, content)
    return {"app": str(out / APP_PREFIX / "index.html"), "app_files": len(files)}
