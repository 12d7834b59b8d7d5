"""A test issuer built only from the shared API: keys, credentials, status lists, a publication.

`FakeIssuer().publish(dir)` writes the same layout as `socpass-issuer publish --out DIR`, so the
verifier's sync can read it from the directory or over HTTP.
"""
from __future__ import annotations

import base64
import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import keys, qrtext
from shared.credential import BENEFICIARY, LARGE_FAMILY, Credential, Holder, StatusRef
from shared.publication import (ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH, IssuerMetadata,
                                relative_path, status_list_uri)
from shared.statuslist import StatusList, sign_status_list
from shared.token import CREDENTIAL_TYP, sign

NOW = 1_750_000_000  # 2025-06-15T15:06:40Z; every test passes its own `now`
DAY = 86400
_seq = itertools.count(1)


def b64json(obj: Any) -> str:
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class FakeIssuer:
    iss: str = "RU-27-MSZN"
    name: str = "Министерство социальной защиты Хабаровского края"
    url: str = "https://szn.khv.example"
    region: str = "27"
    timezone: str | None = "Asia/Vladivostok"
    alg: str = "ES256"
    list_ids: tuple[str, ...] = ("1",)
    list_size: int = 1024
    bits: int = 2
    # status list timing, used by status_token() and publish()
    list_iat: int = NOW - 3600
    list_ttl: int = DAY
    list_exp: int | None = None  # default: list_iat + 30 days
    # published entitlement rules: {"<profile>": {...}} (None: the issuer publishes none)
    entitlements: dict[str, Any] | None = None
    lists: dict[str, StatusList] = field(init=False)

    def __post_init__(self) -> None:
        self.key = keys.generate_private_key(self.alg)
        self.kid = keys.kid_for(self.key)
        self.published_keys: list[keys.PrivateKey] = [self.key]
        self.lists = {lid: StatusList(self.list_size, self.bits) for lid in self.list_ids}

    # --- keys ---------------------------------------------------------------------------------
    def add_key(self, alg: str = "ES256") -> tuple[keys.PrivateKey, str]:
        key = keys.generate_private_key(alg)
        self.published_keys.append(key)
        return key, keys.kid_for(key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(keys.public_jwk(k), kid=keys.kid_for(k), alg=keys.algorithm_for_key(k),
                              use="sig") for k in self.published_keys]}

    # --- credentials --------------------------------------------------------------------------
    def list_uri(self, list_id: str = "1") -> str:
        return status_list_uri(self.url, list_id)

    def credential(self, **overrides: Any) -> Credential:
        """A large-family credential by default; `category=` makes a beneficiary one."""
        n = next(_seq)
        category = overrides.pop("category", None)
        values: dict[str, Any] = dict(
            type=BENEFICIARY if category else LARGE_FAMILY,
            holder=Holder("Иванова", "Мария", "Петровна", "1988-04-12"),
            region=self.region, issuer=self.iss, issued_at=NOW - 30 * DAY,
            expires_at=NOW + 365 * DAY, jti=f"jti{n:013d}",
            status=StatusRef(n % self.list_size, self.list_uri()),
            children=None if category else 4, category=category)
        values.update(overrides)
        return Credential(**values)

    def sign(self, credential: Credential | None = None, *, key: keys.PrivateKey | None = None,
             kid: str | None = None, typ: str = CREDENTIAL_TYP, **overrides: Any) -> str:
        if credential is None:
            credential = self.credential(**overrides)
        elif overrides:
            credential = dataclasses.replace(credential, **overrides)
        key = key or self.key
        return sign(credential.to_claims(), key, kid or keys.kid_for(key), typ)

    def qr(self, credential: Credential | None = None, **kwargs: Any) -> str:
        return qrtext.encode(self.sign(credential, **kwargs))

    # --- status lists -------------------------------------------------------------------------
    def set_status(self, credential: Credential, value: int) -> None:
        list_id = credential.status.uri.rsplit("/", 1)[1]
        self.lists[list_id].set(credential.status.idx, value)

    def status_token(self, list_id: str = "1", *, iat: int | None = None, ttl: int | None = None,
                     exp: int | None = None, key: keys.PrivateKey | None = None,
                     kid: str | None = None, issuer: str | None = None,
                     uri: str | None = None) -> str:
        iat = self.list_iat if iat is None else iat
        ttl = self.list_ttl if ttl is None else ttl
        exp = exp if exp is not None else (self.list_exp if self.list_exp is not None else iat + 30 * DAY)
        key = key or self.key
        return sign_status_list(self.lists[list_id], uri=uri or self.list_uri(list_id),
                                issuer=issuer or self.iss, issued_at=iat, expires_at=exp, ttl=ttl,
                                key=key, kid=kid or keys.kid_for(key))

    # --- publication --------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return IssuerMetadata(iss=self.iss, name=self.name, url=self.url, region=self.region,
                              timezone=self.timezone,
                              status_lists=tuple(self.list_uri(lid) for lid in self.list_ids)).to_json()

    def publish(self, out: Path, **token_kwargs: Any) -> Path:
        """Write metadata, JWKS and every status list below `out`; returns `out`."""
        out = Path(out)
        (out / ".well-known").mkdir(parents=True, exist_ok=True)
        (out / METADATA_PATH).write_text(json.dumps(self.metadata(), ensure_ascii=False), "utf-8")
        (out / JWKS_PATH).write_text(json.dumps(self.jwks()), "utf-8")
        if self.entitlements is not None:
            (out / ENTITLEMENTS_PATH).write_text(json.dumps(
                {"format": 1, "iss": self.iss, "profiles": self.entitlements}, ensure_ascii=False),
                "utf-8")
        for lid in self.list_ids:
            path = out / relative_path(self.url, self.list_uri(lid))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.status_token(lid, **token_kwargs), "ascii")
        return out
