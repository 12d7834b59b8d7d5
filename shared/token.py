"""Compact JWS: sign and verify, through PyJWT's algorithm layer over `cryptography`.

Parsing (`parse`) and verifying (`verify`) are separate verbs; nothing from `parse` is trusted.
The header's `alg` is never trusted by itself: it must be on the allowlist *and* equal to the
one algorithm the resolved key's type allows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from shared.b64 import b64url_decode, b64url_encode, b64url_encode_bytes
from shared.codes import Code
from shared.errors import TokenError
from shared.jsonstrict import JSONFormatError, dumps_canonical, loads_strict
from shared.keys import ALGORITHMS, KeyResolver, PrivateKey, VerificationKey, algorithm_for_key

# Checked before any parsing: a QR code holds a few hundred bytes; nothing legitimate is longer.
MAX_TOKEN_LENGTH = 8192

CREDENTIAL_TYP = "socpass+jwt"
STATUS_LIST_TYP = "statuslist+jwt"

# Header members we produce and accept. Anything else (jwk, jku, x5u, x5c, crit, b64, zip...)
# would let the token choose its own key or change how it is read: refused as malformed.
_ALLOWED_HEADER = frozenset({"alg", "kid", "typ"})
_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_SIGNERS = {"ES256": ECAlgorithm(ECAlgorithm.SHA256), "EdDSA": OKPAlgorithm()}
# Verification calls `cryptography` directly with one prebuilt ECDSA-SHA256 object: PyJWT's
# wrapper re-splits the signature and builds two objects per call, ~10% of a whole verification.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


# Not frozen: a frozen dataclass costs ~4x as much to build and a scan builds eight of these
# (docs/benchmarks.md, figure 1). Treated as immutable all the same.
@dataclass(slots=True)
class ParsedToken:
    """A token split and decoded, NOT verified."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def unverified_issuer(self) -> str:
        return self.claims["iss"]


@dataclass(slots=True)
class VerifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    key: VerificationKey


def canonical_header(alg: str, kid: str, typ: str) -> bytes:
    return dumps_canonical({"alg": alg, "kid": kid, "typ": typ})


def sign(claims: dict[str, Any], key: PrivateKey, kid: str, typ: str) -> str:
    alg = algorithm_for_key(key)
    signing_input = (b64url_encode(canonical_header(alg, kid, typ)) + "."
                     + b64url_encode(dumps_canonical(claims)))
    signature = _SIGNERS[alg].sign(signing_input.encode("ascii"), key)
    if alg == "ES256":
        signature = _low_s(signature)
    return signing_input + "." + b64url_encode(signature)


def _low_s(signature: bytes) -> bytes:
    """ECDSA (r, s) and (r, n-s) both verify; issuing only low-S keeps one valid spelling."""
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if s > _P256_ORDER // 2:
        s = _P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _malformed(why: str) -> TokenError:
    return TokenError(Code.MALFORMED, why)


def parse(token: str | bytes, *, max_length: int = MAX_TOKEN_LENGTH) -> ParsedToken:
    """Split a compact JWS and decode its parts strictly (the "extract" step)."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as err:
            raise _malformed("token is not ASCII") from err
    if not isinstance(token, str):
        raise _malformed("token must be a string")
    if len(token) > max_length:
        raise _malformed("token too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise _malformed("not a compact JWS (three parts expected)")
    try:
        header_bytes, payload_bytes, signature = (b64url_decode(p) for p in parts)
    except ValueError as err:
        raise _malformed(f"bad base64url: {err}") from err
    return parse_parts(header_bytes, payload_bytes, signature,
                       signing_input=(parts[0] + "." + parts[1]).encode("ascii"))


def parse_parts(header_bytes: bytes, payload_bytes: bytes, signature: bytes, *,
                signing_input: bytes | None = None) -> ParsedToken:
    header, header_b64 = _parse_header(header_bytes)
    try:
        claims = loads_strict(payload_bytes)
    except JSONFormatError as err:
        raise _malformed(str(err)) from err
    if not isinstance(claims, dict):
        raise _malformed("header and payload must be JSON objects")
    if not isinstance(claims.get("iss"), str) or not claims["iss"]:
        raise _malformed("claim 'iss' missing")
    for name in ("iat", "nbf", "exp"):
        if name in claims:
            value = claims[name]
            if type(value) is not int or not 0 <= value < 2**53:
                raise _malformed(f"claim {name!r} must be a whole NumericDate")
    if signing_input is None:
        signing_input = header_b64 + b"." + b64url_encode_bytes(payload_bytes)
    return ParsedToken(header=header, claims=claims, signing_input=signing_input, signature=signature)


# Headers that passed the checks below, by their exact bytes: an issuer has one per key, so a
# queue of scans parses the same few again and again. Bounded, so hostile input cannot grow it.
_HEADERS_SEEN: dict[bytes, tuple[dict[str, Any], bytes]] = {}
_HEADERS_SEEN_MAX = 256


def _parse_header(header_bytes: bytes) -> tuple[dict[str, Any], bytes]:
    """The checked header and its base64url (for the signing input)."""
    seen = _HEADERS_SEEN.get(header_bytes)
    if seen is not None:
        # a copy: a caller changing its header cannot change the next one's
        return seen[0].copy(), seen[1]
    try:
        header = loads_strict(header_bytes)
    except JSONFormatError as err:
        raise _malformed(str(err)) from err
    if not isinstance(header, dict):
        raise _malformed("header and payload must be JSON objects")
    extra = set(header) - _ALLOWED_HEADER
    if extra:
        raise _malformed(f"forbidden header parameter(s): {', '.join(sorted(extra))}")
    for member in ("alg", "kid", "typ"):
        if not isinstance(header.get(member), str):
            raise _malformed(f"header member {member!r} missing or not a string")
    if not _KID.fullmatch(header["kid"]):
        raise _malformed("kid has forbidden characters")
    header_b64 = b64url_encode_bytes(header_bytes)
    if len(_HEADERS_SEEN) < _HEADERS_SEEN_MAX:
        _HEADERS_SEEN[header_bytes] = (header.copy(), header_b64)
    return header, header_b64


def verify(token: str | ParsedToken, resolver: KeyResolver, *, typ: str) -> VerifiedToken:
    """Verify signature and type; time claims are checked by `check_times` with a given `now`."""
    parsed = token if isinstance(token, ParsedToken) else parse(token)
    header, claims = parsed.header, parsed.claims
    alg = header["alg"]
    if alg not in ALGORITHMS:
        raise TokenError(Code.UNSUPPORTED_ALGORITHM, f"algorithm {alg!r} is not allowed")
    iss = claims["iss"]
    if not resolver.has_issuer(iss):
        raise TokenError(Code.UNTRUSTED_ISSUER, "issuer is not trusted")
    vk = resolver.key(iss, header["kid"])
    if vk is None:
        raise TokenError(Code.UNKNOWN_KEY, "no key with this kid for this issuer")
    if vk.alg != alg:
        raise TokenError(Code.UNSUPPORTED_ALGORITHM, f"key {vk.kid} only verifies {vk.alg}")
    if not _signature_ok(alg, vk, parsed.signing_input, parsed.signature):
        raise TokenError(Code.BAD_SIGNATURE, "signature does not verify")
    if header["typ"] != typ:
        raise TokenError(Code.WRONG_TYPE, f"typ is {header['typ']!r}, expected {typ!r}")
    return VerifiedToken(header=header, claims=claims, key=vk)


def _signature_ok(alg: str, vk: VerificationKey, signing_input: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    key = vk.key
    try:
        if alg == "ES256":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            # Range checks refuse the "psychic" (0, 0) signature; high S is the second spelling.
            if not (0 < r < _P256_ORDER and 0 < s <= _P256_ORDER // 2):
                return False
            key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
        elif alg == "EdDSA":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return False
            key.verify(signature, signing_input)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def check_times(claims: dict[str, Any], now: int, leeway: int) -> None:
    """`exp` (required) and `nbf` with a small leeway for clocks that drift."""
    exp = claims.get("exp")
    if type(exp) is not int:
        raise _malformed("claim 'exp' missing")
    if now >= exp + leeway:
        raise TokenError(Code.EXPIRED, "credential expired")
    nbf = claims.get("nbf", claims.get("iat"))
    if type(nbf) is int and now + leeway < nbf:
        raise TokenError(Code.NOT_YET_VALID, "credential not valid yet")
