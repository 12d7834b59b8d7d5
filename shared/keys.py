"""Keys: generate, load, serialise encrypted, JWK export/import, thumbprints, resolution.

The algorithm is bound to the key type here and nowhere else: an EC P-256 key only ever
verifies ES256, an Ed25519 key only EdDSA.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Protocol, Union

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.b64 import b64url_decode, b64url_encode
from shared.errors import KeyError_

PrivateKey = Union[ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey]
PublicKey = Union[ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey]

ALGORITHMS: tuple[str, ...] = ("ES256", "EdDSA")
DEFAULT_ALGORITHM = "ES256"
KID_LENGTH = 8  # characters of the RFC 7638 thumbprint: short for the QR, unique per issuer


def generate_private_key(alg: str = DEFAULT_ALGORITHM) -> PrivateKey:
    """A new key whose kid does not start with "-": operators type kids as command-line
    arguments (`keys retire KID`), where a leading "-" reads as an option (1 key in 64)."""
    if alg not in ALGORITHMS:
        raise KeyError_(f"unsupported algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")
    while True:
        key: PrivateKey = (ec.generate_private_key(ec.SECP256R1()) if alg == "ES256"
                           else ed25519.Ed25519PrivateKey.generate())
        if not kid_for(key).startswith("-"):
            return key


def algorithm_for_key(key: PrivateKey | PublicKey) -> str:
    """The one algorithm a key may be used with."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        raise KeyError_(f"unsupported EC curve {key.curve.name}")
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "EdDSA"
    raise KeyError_(f"unsupported key type {type(key).__name__}")


def private_key_to_pem(key: PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted when a passphrase is given (always, outside demo mode)."""
    encryption: serialization.KeySerializationEncryption
    if passphrase:
        encryption = serialization.BestAvailableEncryption(passphrase)
    else:
        encryption = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_private_key_pem(data: bytes, passphrase: bytes | None) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as err:  # encrypted without passphrase, or passphrase for a clear key
        raise KeyError_(f"private key passphrase mismatch: {err}") from err
    except (ValueError, UnsupportedAlgorithm) as err:
        raise KeyError_("cannot load private key (wrong passphrase or not a PKCS#8 PEM key)") from err
    algorithm_for_key(key)  # type: ignore[arg-type]
    return key  # type: ignore[return-value]


def public_jwk(key: PrivateKey | PublicKey) -> dict[str, str]:
    """The public JWK members only (RFC 7517/8037), without kid/alg."""
    pub = key.public_key() if hasattr(key, "private_bytes") else key
    if isinstance(pub, ec.EllipticCurvePublicKey):
        algorithm_for_key(pub)
        nums = pub.public_numbers()
        return {"kty": "EC", "crv": "P-256",
                "x": b64url_encode(nums.x.to_bytes(32, "big")),
                "y": b64url_encode(nums.y.to_bytes(32, "big"))}
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    raise KeyError_(f"unsupported key type {type(pub).__name__}")


_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty"))  # type: ignore[arg-type]
    if members is None:
        raise KeyError_(f"unsupported kty {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def kid_for(key: PrivateKey | PublicKey) -> str:
    return jwk_thumbprint(public_jwk(key))[:KID_LENGTH]


def public_key_from_jwk(jwk: dict) -> tuple[PublicKey, str]:
    """Import a public JWK strictly; returns the key and the one algorithm it may verify."""
    if not isinstance(jwk, dict):
        raise KeyError_("JWK must be an object")
    if "d" in jwk:
        raise KeyError_("refusing a JWK that carries private key material")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    try:
        if kty == "EC" and crv == "P-256":
            x = b64url_decode(jwk["x"])
            y = b64url_decode(jwk["y"])
            if len(x) != 32 or len(y) != 32:
                raise KeyError_("EC P-256 coordinates must be 32 bytes")
            key: PublicKey = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()).public_key()
            alg = "ES256"
        elif kty == "OKP" and crv == "Ed25519":
            x = b64url_decode(jwk["x"])
            if len(x) != 32:
                raise KeyError_("Ed25519 key must be 32 bytes")
            key = ed25519.Ed25519PublicKey.from_public_bytes(x)
            alg = "EdDSA"
        else:
            raise KeyError_(f"unsupported key type {kty!r}/{crv!r}")
    except (KeyError, TypeError, ValueError) as err:
        raise KeyError_(f"invalid JWK: {err}") from err
    declared = jwk.get("alg")
    if declared is not None and declared != alg:
        raise KeyError_(f"JWK alg {declared!r} does not match its key type ({alg})")
    return key, alg


@dataclass(frozen=True)
class VerificationKey:
    """A public key the verifier trusts for one issuer."""

    iss: str
    kid: str
    alg: str
    key: PublicKey


class KeyResolver(Protocol):
    """Where verification finds keys; it never knows whether they came from disk or a sync."""

    def has_issuer(self, iss: str) -> bool: ...

    def key(self, iss: str, kid: str) -> VerificationKey | None: ...


class StaticKeyResolver:
    """An in-memory resolver: {iss: [VerificationKey, ...]}."""

    def __init__(self, keys: dict[str, list[VerificationKey]] | None = None) -> None:
        self._keys: dict[str, dict[str, VerificationKey]] = {}
        for iss, items in (keys or {}).items():
            for item in items:
                self.add(item)
            self._keys.setdefault(iss, {})

    def add(self, vk: VerificationKey) -> None:
        self._keys.setdefault(vk.iss, {})[vk.kid] = vk

    def has_issuer(self, iss: str) -> bool:
        return iss in self._keys

    def key(self, iss: str, kid: str) -> VerificationKey | None:
        return self._keys.get(iss, {}).get(kid)

    @classmethod
    def from_jwks(cls, iss: str, jwks: dict) -> "StaticKeyResolver":
        resolver = cls({iss: []})
        for vk in keys_from_jwks(iss, jwks):
            resolver.add(vk)
        return resolver


def keys_from_jwks(iss: str, jwks: dict) -> list[VerificationKey]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise KeyError_("JWKS must be an object with a 'keys' list")
    out = []
    for jwk in jwks["keys"]:
        key, alg = public_key_from_jwk(jwk)
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise KeyError_("every JWK needs a kid")
        out.append(VerificationKey(iss=iss, kid=kid, alg=alg, key=key))
    return out
