"""The federal operator's use cases: a root key, the list of regional issuers, publishing.

State lives in `<SOCPASS_HOME>/federation/state.json` (0600): the federal `iss`, the list's
sequence number and lifetime, the regions, the visitors' rules, and the root private keys
encrypted with SOCPASS_KEY_PASSPHRASE (like issuer keys). No database.

`publish --out DIR` writes, under DIR, what venues sync from (docs/federation.md):
`.well-known/socpass-trustlist.jwt`, `.well-known/socpass-bundle.jwt` (the list plus every
active region's metadata, JWKS, status lists and rules, fetched now) and `socpass-roots.json`,
the root public keys to pin (hand it to venues out of band: a venue must not learn its root
from the place it syncs from).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from shared import keys
from shared.errors import ConfigError, SocpassError
from shared.files import PRIVATE, write_atomically
from shared.publication import (BUNDLE_PATH, ROOTS_PATH, TRUST_LIST_PATH, PublicationError,
                                parse_profiles)
from shared.pubreader import NetPolicy, PublicationUnavailable, fetch_issuer
from shared.trustlist import (ACTIVE, SUSPENDED, WITHDRAWN, Bundle, TrustedIssuer, TrustList,
                              sign_bundle, sign_trust_list)

STATE_DIR = "federation"
STATE_FILE = "state.json"
DEFAULT_TTL = 7 * 86400


class FederationError(SocpassError):
    code = "federation"


class Federation:
    def __init__(self, home: Path, passphrase: bytes) -> None:
        self.path = Path(home) / STATE_DIR / STATE_FILE
        self.passphrase = passphrase

    # --- state ---------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            raise FederationError("no federation here yet: run `federation init` first") from None

    def _save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"),
                         mode=PRIVATE)

    def _root(self, state: dict[str, Any]) -> tuple[keys.PrivateKey, str]:
        first = state["roots"][0]
        try:
            return keys.load_private_key_pem(first["pem"].encode("ascii"), self.passphrase), first["kid"]
        except Exception as err:
            raise FederationError("cannot decrypt the root key: wrong SOCPASS_KEY_PASSPHRASE?") from err

    def roots_jwks(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        state = state or self._load()
        out = []
        for root in state["roots"]:
            key = keys.load_private_key_pem(root["pem"].encode("ascii"), self.passphrase)
            out.append(dict(keys.public_jwk(key), kid=root["kid"], alg=keys.algorithm_for_key(key),
                            use="sig"))
        return {"iss": state["iss"], "keys": out}

    # --- use cases -----------------------------------------------------------------------------
    def init(self, iss: str, name: str, ttl: int = DEFAULT_TTL, alg: str = "ES256") -> dict[str, Any]:
        if self.path.exists():
            raise FederationError(f"{self.path} exists already")
        key = keys.generate_private_key(alg)
        kid = keys.kid_for(key)
        state = {"iss": iss, "name": name, "seq": 0, "ttl": ttl, "issuers": [], "rules": {},
                 "roots": [{"kid": kid, "pem": keys.private_key_to_pem(key, self.passphrase).decode("ascii")}]}
        self._save(state)
        return {"iss": iss, "root_kid": kid, "roots": self.roots_jwks(state)}

    def add(self, source: str | None = None, *, iss: str | None = None, name: str | None = None,
            region: str | None = None, url: str | None = None,
            thumbprints: list[str] | None = None) -> dict[str, Any]:
        """Add or update a region (active), reading its metadata and JWKS from `source` (its
        base URL or publish directory) unless every field is given."""
        if source is not None:
            try:
                fetched = fetch_issuer(source, clock=time.monotonic,
                                       net=NetPolicy(allow_private=True))
            except PublicationUnavailable as err:
                raise FederationError(f"cannot read the region's publication: {err.description}") from None
            iss = iss or fetched.iss
            name = name or fetched.metadata.name
            region = region or fetched.metadata.region
            url = url or (source if "://" in source else fetched.metadata.url)
            thumbprints = thumbprints or [keys.jwk_thumbprint(k) for k in fetched.document["jwks"]["keys"]]
        if not (iss and name and region and url and thumbprints):
            raise FederationError("a region needs iss, name, region, url and key thumbprints "
                                  "(give its published source, or all of them)")
        try:
            entry = TrustedIssuer.from_json({"iss": iss, "name": name, "region": region, "url": url,
                                             "keys": thumbprints, "status": ACTIVE})
        except SocpassError as err:
            raise FederationError(err.description) from None
        state = self._load()
        state["issuers"] = [e for e in state["issuers"] if e["iss"] != iss] + [entry.to_json()]
        self._save(state)
        return entry.to_json()

    def set_status(self, iss: str, status: str) -> dict[str, Any]:
        state = self._load()
        for e in state["issuers"]:
            if e["iss"] == iss:
                e["status"] = status
                self._save(state)
                return e
        raise FederationError(f"no region {iss!r} in the list")

    def suspend(self, iss: str) -> dict[str, Any]:
        return self.set_status(iss, SUSPENDED)

    def remove(self, iss: str, *, withdraw: bool = False) -> dict[str, Any]:
        if withdraw:
            return self.set_status(iss, WITHDRAWN)
        state = self._load()
        if not any(e["iss"] == iss for e in state["issuers"]):
            raise FederationError(f"no region {iss!r} in the list")
        state["issuers"] = [e for e in state["issuers"] if e["iss"] != iss]
        self._save(state)
        return {"removed": iss}

    def set_rules(self, rules: Any) -> dict[str, Any]:
        """The visitors' rules: {"visitors": {<profile>: {"name_ru"?, "rules": [...]}}}."""
        validate_rules(rules)
        state = self._load()
        state["rules"] = rules
        self._save(state)
        return rules

    def list(self) -> dict[str, Any]:
        state = self._load()
        return {"iss": state["iss"], "name": state["name"], "seq": state["seq"], "ttl": state["ttl"],
                "issuers": state["issuers"], "rules": state["rules"],
                "root_kids": [r["kid"] for r in state["roots"]]}

    def publish(self, out: Path, now: int, *, bundle: bool = True, app_refresh: int | None = None,
                app_dir: Path | None = None) -> dict[str, Any]:
        """`app_refresh`: also write the offline scanner app (from `app_dir`, default the
        checkout's) under scan/, configured with the pinned roots for all regions, refreshing
        every `app_refresh` seconds."""
        state = self._load()
        key, kid = self._root(state)
        state["seq"] += 1
        trust_list = TrustList(issuer=state["iss"], issued_at=now, expires_at=now + state["ttl"],
                               sequence=state["seq"],
                               issuers=tuple(TrustedIssuer.from_json(e) for e in state["issuers"]),
                               rules=state["rules"])
        token = sign_trust_list(trust_list, key, kid)
        out = Path(out)
        _write(out / TRUST_LIST_PATH, token + "\n")
        _write(out / ROOTS_PATH, json.dumps(self.roots_jwks(state), indent=1) + "\n")
        result: dict[str, Any] = {"seq": state["seq"], "exp": trust_list.expires_at,
                                  "trust_list": str(out / TRUST_LIST_PATH),
                                  "roots": str(out / ROOTS_PATH)}
        if bundle:
            regions, rules, failed = _collect(trust_list)
            btoken = sign_bundle(Bundle(issued_at=now, expires_at=trust_list.expires_at,
                                        trust_list=token, regions=regions, entitlements=rules),
                                 issuer=state["iss"], key=key, kid=kid)
            _write(out / BUNDLE_PATH, btoken + "\n")
            result.update(bundle=str(out / BUNDLE_PATH), bundle_regions=sorted(regions),
                          bundle_failed=failed)
        if app_refresh is not None:
            from issuer import scanapp
            from issuer.publishing import write_files

            config = scanapp.federation_config(iss=state["iss"], name=state["name"],
                                               roots=self.roots_jwks(state),
                                               refresh_seconds=app_refresh)
            written = write_files(out, scanapp.under_prefix(
                scanapp.build(config, app_dir=app_dir or scanapp.APP_DIR)))
            result.update(app=str(out / scanapp.APP_PREFIX / "index.html"), app_files=len(written))
        self._save(state)
        return result


def validate_rules(rules: Any) -> None:
    if not isinstance(rules, dict) or not set(rules) <= {"visitors"}:
        raise FederationError('rules must be {"visitors": {<profile>: {"rules": [...]}}}')
    try:
        parse_profiles(rules.get("visitors", {}), "visitors' rules")
    except PublicationError as err:
        raise FederationError(str(err)) from None


def _collect(trust_list: TrustList) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Every active region's publication, fetched and verified now, for the bundle."""
    regions: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for entry in trust_list.active():
        try:
            got = fetch_issuer(entry.url, clock=time.monotonic, net=NetPolicy(allow_private=True))
        except PublicationUnavailable as err:
            failed[entry.iss] = err.description
            continue
        doc = got.document
        regions[entry.iss] = {"metadata": doc["metadata"], "jwks": doc["jwks"],
                              "status_lists": doc["status_lists"]}
        if doc.get("entitlements") is not None:
            rules[entry.iss] = doc["entitlements"]
    return regions, rules, failed


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"))


# --- CLI: `socpass-issuer federation ...` (wired in issuer/cli.py) -------------------------------
def add_parser(sub: Any) -> None:
    fed = sub.add_parser("federation", help="федеральный список доверия / the federal trust list")
    fsub = fed.add_subparsers(dest="federation_command", required=True, metavar="ACTION")
    f = fsub.add_parser("init", help="create the federal root key and an empty list")
    f.add_argument("--iss", required=True)
    f.add_argument("--name", required=True)
    f.add_argument("--ttl", type=int, default=DEFAULT_TTL, help="list lifetime in seconds")
    f.add_argument("--alg", default="ES256", choices=["ES256", "EdDSA"])
    f = fsub.add_parser("add", help="add or update a region from its publication (URL or directory)")
    f.add_argument("source", nargs="?", metavar="SOURCE")
    f.add_argument("--iss")
    f.add_argument("--name")
    f.add_argument("--region")
    f.add_argument("--url", help="the URL venues sync the region from (default: SOURCE)")
    f.add_argument("--keys", help="comma-separated RFC 7638 thumbprints (default: its JWKS)")
    f = fsub.add_parser("suspend", help="suspend a region (its credentials: untrusted_issuer)")
    f.add_argument("iss")
    f = fsub.add_parser("remove", help="remove a region from the list")
    f.add_argument("iss")
    f.add_argument("--withdraw", action="store_true", help="keep it listed as withdrawn")
    f = fsub.add_parser("rules", help="set the visitors' rules from a JSON file")
    f.add_argument("file")
    fsub.add_parser("list", help="print the list as it will be signed")
    f = fsub.add_parser("publish", help="sign and write the list, the bundle and the roots")
    f.add_argument("--out", required=True)
    f.add_argument("--no-bundle", action="store_true")
    f.add_argument("--no-app", action="store_true", help="without the offline scanner app (scan/)")


def run(settings: Any, args: argparse.Namespace, now: int) -> dict[str, Any]:
    fed = Federation(settings.home, settings.passphrase())
    cmd = args.federation_command
    if cmd == "init":
        return fed.init(args.iss, args.name, args.ttl, args.alg)
    if cmd == "add":
        return fed.add(args.source, iss=args.iss, name=args.name, region=args.region, url=args.url,
                       thumbprints=args.keys.split(",") if args.keys else None)
    if cmd == "suspend":
        return fed.suspend(args.iss)
    if cmd == "remove":
        return fed.remove(args.iss, withdraw=args.withdraw)
    if cmd == "rules":
        try:
            rules = json.loads(Path(args.file).read_text("utf-8"))
        except ValueError as err:
            raise ConfigError(f"{args.file}: {err}") from None
        return fed.set_rules(rules)
    if cmd == "list":
        return fed.list()
    return fed.publish(Path(args.out), now, bundle=not args.no_bundle,
                       app_refresh=None if args.no_app else settings.app_refresh,
                       app_dir=settings.app_dir)
