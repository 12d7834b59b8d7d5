"""IETF OAuth Token Status List (draft-ietf-oauth-status-list-20).

A list is `bits` per entry, entry 0 in the least significant bits of byte 0, zlib-compressed and
base64url-encoded as `lst`. The list token is a JWT of type `statuslist+jwt` whose `sub` is the
URI that credentials reference.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from shared.b64 import b64url_decode, b64url_encode
from shared.codes import Code
from shared.errors import TokenError
from shared.inflate import inflate_capped
from shared.keys import KeyResolver, PrivateKey
from shared.token import STATUS_LIST_TYP, parse, sign, verify

VALID, REVOKED, SUSPENDED = 0, 1, 2
ALLOWED_BITS = (1, 2, 4, 8)
MAX_LIST_BYTES = 16 * 1024 * 1024    # 64 million entries at 2 bits; caps a zlib bomb
MAX_STATUS_TOKEN = 24 * 1024 * 1024  # base64url of a worst-case (incompressible) list


def _bad(why: str) -> TokenError:
    return TokenError(Code.MALFORMED, why)


class StatusList:
    def __init__(self, size: int, bits: int = 2, *, data: bytes | bytearray | None = None) -> None:
        if bits not in ALLOWED_BITS:
            raise ValueError(f"bits must be one of {ALLOWED_BITS}")
        if size < 0:
            raise ValueError("size must not be negative")
        self.bits = bits
        self._per_byte = 8 // bits
        self._mask = (1 << bits) - 1
        nbytes = -(-size // self._per_byte)
        if data is None:
            self._data = bytearray(nbytes)
        else:
            if len(data) != nbytes:
                raise ValueError("data length does not match size")
            self._data = bytearray(data)
        self.size = size

    def _check(self, idx: int) -> None:
        if type(idx) is not int or not 0 <= idx < self.size:
            raise IndexError(f"status index {idx!r} out of range 0..{self.size - 1}")

    def get(self, idx: int) -> int:
        self._check(idx)
        shift = (idx % self._per_byte) * self.bits
        return (self._data[idx // self._per_byte] >> shift) & self._mask

    def set(self, idx: int, value: int) -> None:
        self._check(idx)
        if not 0 <= value <= self._mask:
            raise ValueError(f"status value {value} does not fit in {self.bits} bits")
        pos, shift = idx // self._per_byte, (idx % self._per_byte) * self.bits
        self._data[pos] = (self._data[pos] & ~(self._mask << shift)) | (value << shift)

    def to_json(self) -> dict[str, Any]:
        return {"bits": self.bits, "lst": b64url_encode(zlib.compress(bytes(self._data), 9))}

    @classmethod
    def from_json(cls, obj: Any, *, max_bytes: int = MAX_LIST_BYTES) -> "StatusList":
        if not isinstance(obj, dict):
            raise _bad("status_list must be an object")
        bits, lst = obj.get("bits"), obj.get("lst")
        if type(bits) is not int or bits not in ALLOWED_BITS:
            raise _bad(f"status_list.bits must be one of {ALLOWED_BITS}")
        if not isinstance(lst, str) or not lst:
            raise _bad("status_list.lst missing")
        try:
            compressed = b64url_decode(lst)
        except ValueError as err:
            raise _bad(f"status_list.lst: {err}") from err
        data = inflate_capped(compressed, limit=max_bytes, what="status list")
        return cls(len(data) * (8 // bits), bits, data=data)


@dataclass(frozen=True)
class StatusListToken:
    uri: str
    issuer: str
    issued_at: int
    expires_at: int | None
    ttl: int | None
    status_list: StatusList
    token: str


def sign_status_list(status_list: StatusList, *, uri: str, issuer: str, issued_at: int,
                     expires_at: int, ttl: int, key: PrivateKey, kid: str) -> str:
    claims = {"iss": issuer, "sub": uri, "iat": issued_at, "exp": expires_at, "ttl": ttl,
              "status_list": status_list.to_json()}
    return sign(claims, key, kid, STATUS_LIST_TYP)


def verify_status_list(token: str, resolver: KeyResolver, *, uri: str | None = None) -> StatusListToken:
    """Signature, type, `sub` binding and list decoding. Freshness is judged by the caller."""
    verified = verify(parse(token, max_length=MAX_STATUS_TOKEN), resolver, typ=STATUS_LIST_TYP)
    claims = verified.claims
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise _bad("status list token has no sub")
    if uri is not None and sub != uri:
        raise _bad(f"status list sub {sub!r} is not the expected {uri!r}")
    if type(claims.get("iat")) is not int:
        raise _bad("status list token has no iat")
    ttl = claims.get("ttl")
    if ttl is not None and (type(ttl) is not int or ttl <= 0):
        raise _bad("status list ttl must be a positive whole number")
    return StatusListToken(uri=sub, issuer=claims["iss"], issued_at=claims["iat"],
                           expires_at=claims.get("exp"), ttl=ttl,
                           status_list=StatusList.from_json(claims.get("status_list")), token=token)
