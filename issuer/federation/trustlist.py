"""The federal operator's state and use cases: a root key, the list of regional issuers and
their rules, and publishing them.

State lives in `<SOCPASS_HOME>/federation/state.json` (0600): the federal `iss`, the list's
sequence number and lifetime, the regions, the visitors' rules, and the root private keys
encrypted with SOCPASS_KEY_PASSPHRASE (like issuer keys). No database.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from issuer.federation.publish import AppBuilder, write, write_app, write_bundle
from issuer.federation.regions import read_region
from shared import keys
from shared.errors import SocpassError
from shared.files import PRIVATE, write_atomically
from shared.publication import ROOTS_PATH, TRUST_LIST_PATH, PublicationError, parse_profiles
from shared.pubreader import PublicationUnavailable
from shared.trustlist import (ACTIVE, SUSPENDED, WITHDRAWN, TrustedIssuer, TrustList,
                              sign_trust_list)

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
                fetched = read_region(source)
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

    def publish(self, out: Path, now: int, *, bundle: bool = True,
                app: AppBuilder | None = None) -> dict[str, Any]:
        """Sign the list with the first root and write it, the roots and (unless `bundle` is
        false) the bundle under `out`; with `app`, also the offline scanner app under scan/,
        configured with the pinned roots for all regions."""
        state = self._load()
        key, kid = self._root(state)
        state["seq"] += 1
        trust_list = TrustList(issuer=state["iss"], issued_at=now, expires_at=now + state["ttl"],
                               sequence=state["seq"],
                               issuers=tuple(TrustedIssuer.from_json(e) for e in state["issuers"]),
                               rules=state["rules"])
        token = sign_trust_list(trust_list, key, kid)
        out = Path(out)
        write(out / TRUST_LIST_PATH, (token + "\n").encode("utf-8"))
        write(out / ROOTS_PATH, (json.dumps(self.roots_jwks(state), indent=1) + "\n").encode("utf-8"))
        result: dict[str, Any] = {"seq": state["seq"], "exp": trust_list.expires_at,
                                  "trust_list": str(out / TRUST_LIST_PATH),
                                  "roots": str(out / ROOTS_PATH)}
        if bundle:
            result.update(write_bundle(out, trust_list, token, now=now, issuer=state["iss"],
                                       key=key, kid=kid))
        if app is not None:
            result.update(write_app(out, app(iss=state["iss"], name=state["name"],
                                             roots=self.roots_jwks(state))))
        self._save(state)
        return result


def validate_rules(rules: Any) -> None:
    if not isinstance(rules, dict) or not set(rules) <= {"visitors"}:
        raise FederationError('rules must be {"visitors": {<profile>: {"rules": [...]}}}')
    try:
        parse_profiles(rules.get("visitors", {}), "visitors' rules")
    except PublicationError as err:
        raise FederationError(str(err)) from None
