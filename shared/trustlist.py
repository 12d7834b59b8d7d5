"""The federal trust list: which regional issuers a venue trusts, signed by a pinned root.

A compact JWS of `typ` `socpass-trustlist+jwt`, signed by a federal root key that verifiers pin
(two pinned keys allow a root rotation). It names each regional issuer with its `iss`, Russian
display name, region code, where its published files live, the RFC 7638 thumbprints of its
current and next keys, and its status. A venue syncing through it refuses any key whose
thumbprint the list does not name, and stops trusting a region the list no longer carries.

The bundle (`socpass-bundle+jwt`) carries everything a venue needs in one request, signed by
the same root with one `iat`: the trust list token plus, per region, its metadata, JWKS and
status list tokens (each still verifiable on its own), and the entitlement rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.codes import Code
from shared.errors import TokenError
from shared.keys import KeyResolver, PrivateKey, jwk_thumbprint
from shared.token import parse, sign, verify

TRUST_LIST_TYP = "socpass-trustlist+jwt"
BUNDLE_TYP = "socpass-bundle+jwt"
MAX_TRUST_LIST = 1024 * 1024
MAX_BUNDLE = 64 * 1024 * 1024
ACTIVE, SUSPENDED, WITHDRAWN = "active", "suspended", "withdrawn"
STATUSES = (ACTIVE, SUSPENDED, WITHDRAWN)
_ISS = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_REGION = re.compile(r"[0-9]{2,3}")
_THUMB = re.compile(r"[A-Za-z0-9_-]{43}")


def _bad(why: str) -> TokenError:
    return TokenError(Code.MALFORMED, why)


@dataclass(frozen=True)
class TrustedIssuer:
    iss: str
    name: str
    region: str
    url: str  # base URL of the issuer's published files (metadata, JWKS, status lists)
    key_thumbprints: tuple[str, ...]  # current and next keys
    status: str = ACTIVE

    def allows(self, jwk: dict[str, Any]) -> bool:
        return jwk_thumbprint(jwk) in self.key_thumbprints

    def to_json(self) -> dict[str, Any]:
        return {"iss": self.iss, "name": self.name, "region": self.region, "url": self.url,
                "keys": list(self.key_thumbprints), "status": self.status}

    @classmethod
    def from_json(cls, obj: Any) -> "TrustedIssuer":
        if not isinstance(obj, dict):
            raise _bad("trust list entry must be an object")
        iss, name, region, url = obj.get("iss"), obj.get("name"), obj.get("region"), obj.get("url")
        thumbs, status = obj.get("keys"), obj.get("status", ACTIVE)
        if not isinstance(iss, str) or not _ISS.fullmatch(iss):
            raise _bad("trust list entry: bad iss")
        if not isinstance(name, str) or not name or not isinstance(url, str) or not url:
            raise _bad(f"trust list entry {iss}: name and url required")
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise _bad(f"trust list entry {iss}: bad region code")
        if (not isinstance(thumbs, list) or not thumbs
                or not all(isinstance(t, str) and _THUMB.fullmatch(t) for t in thumbs)):
            raise _bad(f"trust list entry {iss}: keys must be RFC 7638 SHA-256 thumbprints")
        if status not in STATUSES:
            raise _bad(f"trust list entry {iss}: status must be one of {STATUSES}")
        return cls(iss=iss, name=name, region=region, url=url.rstrip("/"),
                   key_thumbprints=tuple(thumbs), status=status)


@dataclass(frozen=True)
class TrustList:
    issuer: str  # the federal operator's iss
    issued_at: int
    expires_at: int
    sequence: int  # grows with every new list: an older list is never accepted over a newer one
    issuers: tuple[TrustedIssuer, ...]
    rules: dict[str, Any] = field(default_factory=dict)  # entitlement rules for visitors
    token: str = ""

    def entry(self, iss: str) -> TrustedIssuer | None:
        return next((e for e in self.issuers if e.iss == iss), None)

    def active(self) -> tuple[TrustedIssuer, ...]:
        return tuple(e for e in self.issuers if e.status == ACTIVE)

    def claims(self) -> dict[str, Any]:
        return {"iss": self.issuer, "iat": self.issued_at, "exp": self.expires_at, "seq": self.sequence,
                "issuers": [e.to_json() for e in self.issuers], "rules": self.rules}


def sign_trust_list(trust_list: TrustList, key: PrivateKey, kid: str) -> str:
    iss = [e.iss for e in trust_list.issuers]
    if len(set(iss)) != len(iss):
        raise ValueError("an issuer appears twice in the trust list")
    return sign(trust_list.claims(), key, kid, TRUST_LIST_TYP)


def verify_trust_list(token: str, roots: KeyResolver, *, now: int | None = None) -> TrustList:
    """Signature by a pinned root, type, shape; `exp` when `now` is given."""
    claims = verify(parse(token, max_length=MAX_TRUST_LIST), roots, typ=TRUST_LIST_TYP).claims
    seq, exp, entries = claims.get("seq"), claims.get("exp"), claims.get("issuers")
    if type(seq) is not int or seq < 0 or type(exp) is not int or type(claims.get("iat")) is not int:
        raise _bad("trust list needs iat, exp and seq")
    if not isinstance(entries, list):
        raise _bad("trust list needs an issuers list")
    issuers = tuple(TrustedIssuer.from_json(e) for e in entries)
    if len({e.iss for e in issuers}) != len(issuers):
        raise _bad("an issuer appears twice in the trust list")
    rules = claims.get("rules", {})
    if not isinstance(rules, dict):
        raise _bad("trust list rules must be an object")
    if now is not None and now >= exp:
        raise TokenError(Code.EXPIRED, "trust list expired")
    return TrustList(issuer=claims["iss"], issued_at=claims["iat"], expires_at=exp, sequence=seq,
                     issuers=issuers, rules=rules, token=token)


@dataclass(frozen=True)
class Bundle:
    issued_at: int
    expires_at: int
    trust_list: str  # the trust list token
    regions: dict[str, dict[str, Any]]  # iss -> {"metadata", "jwks", "status_lists": {uri: token}}
    entitlements: dict[str, Any]
    token: str = ""


def sign_bundle(bundle: Bundle, *, issuer: str, key: PrivateKey, kid: str) -> str:
    claims = {"iss": issuer, "iat": bundle.issued_at, "exp": bundle.expires_at,
              "trust_list": bundle.trust_list, "regions": bundle.regions, "entitlements": bundle.entitlements}
    return sign(claims, key, kid, BUNDLE_TYP)


def verify_bundle(token: str, roots: KeyResolver) -> Bundle:
    """The bundle's own signature and shape; the caller then verifies what it carries."""
    claims = verify(parse(token, max_length=MAX_BUNDLE), roots, typ=BUNDLE_TYP).claims
    tl, regions, ent = claims.get("trust_list"), claims.get("regions"), claims.get("entitlements", {})
    if not isinstance(tl, str) or not isinstance(regions, dict) or not isinstance(ent, dict):
        raise _bad("bundle needs trust_list, regions and entitlements")
    if type(claims.get("iat")) is not int or type(claims.get("exp")) is not int:
        raise _bad("bundle needs iat and exp")
    for iss, region in regions.items():
        if (not isinstance(region, dict) or not isinstance(region.get("metadata"), dict)
                or not isinstance(region.get("jwks"), dict)
                or not isinstance(region.get("status_lists"), dict)):
            raise _bad(f"bundle region {iss!r} needs metadata, jwks and status_lists")
    return Bundle(issued_at=claims["iat"], expires_at=claims["exp"], trust_list=tl, regions=regions,
                  entitlements=ent, token=token)
