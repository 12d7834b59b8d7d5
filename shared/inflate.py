"""Decompression with a hard cap, for data that arrives from outside (QR codes, status lists)."""
from __future__ import annotations

import zlib

from shared.codes import Code
from shared.errors import TokenError


def inflate_capped(data: bytes, *, limit: int, wbits: int = zlib.MAX_WBITS, zdict: bytes = b"",
                   what: str = "compressed data") -> bytes:
    """Inflate at most `limit` bytes; a bomb, a truncated stream or trailing bytes are malformed."""
    do = zlib.decompressobj(wbits, zdict) if zdict else zlib.decompressobj(wbits)
    try:
        out = do.decompress(data, limit + 1)
    except zlib.error as err:
        raise TokenError(Code.MALFORMED, f"{what} is not valid: {err}") from err
    if len(out) > limit or do.unconsumed_tail:
        raise TokenError(Code.MALFORMED, f"{what} too large when inflated")
    if not do.eof or do.unused_data:
        raise TokenError(Code.MALFORMED, f"{what} truncated or followed by extra bytes")
    return out
