"""Decompression with a hard cap, for data that arrives from outside (QR codes, status lists)."""
from __future__ import annotations

import zlib
from typing import Any

from shared.codes import Code
from shared.errors import TokenError


def _bad(why: str) -> TokenError:
    return TokenError(Code.MALFORMED, why)


def inflate_capped(data: bytes, *, limit: int, wbits: int = zlib.MAX_WBITS, zdict: bytes = b"",
                   what: str = "compressed data", zero_padding: bool = False) -> bytes:
    """Inflate at most `limit` bytes; a bomb, a truncated stream or trailing bytes are malformed.

    With `zero_padding`, the unused high bits of the last byte must be zero too (one spelling
    of a raw DEFLATE stream's end, docs/spec/README.md section 15). A stock inflater does not
    tell which bits it used, so this asks it: the stream must NOT also end, with the same
    output, once the last byte's highest set bit is cleared. If that bit was padding, it would.
    """
    if not data:
        raise _bad(f"{what} is empty")
    do = zlib.decompressobj(wbits, zdict) if zdict else zlib.decompressobj(wbits)
    head, probe = b"", None
    try:
        if zero_padding:
            # All but the last byte first, so the probe re-inflates one byte, not the stream.
            head = do.decompress(data[:-1], limit + 1)
            if len(head) > limit or do.unconsumed_tail:
                raise _bad(f"{what} too large when inflated")
            if do.eof:
                raise _bad(f"{what} truncated or followed by extra bytes")
            probe = do.copy() if data[-1] else None
            data = data[-1:]
        out = do.decompress(data, limit + 1 - len(head))
    except zlib.error as err:
        raise _bad(f"{what} is not valid: {err}") from err
    if len(head) + len(out) > limit or do.unconsumed_tail:
        raise _bad(f"{what} too large when inflated")
    if not do.eof or do.unused_data:
        raise _bad(f"{what} truncated or followed by extra bytes")
    if probe is not None and _ends_alike(probe, data[0], out, limit + 1 - len(head)):
        raise _bad(f"{what} is not in canonical form (unused bits of its last byte are set)")
    return head + out if head else out


def _ends_alike(probe: Any, last: int, tail: bytes, room: int) -> bool:
    """Whether the inflater state `probe` also ends, giving `tail`, from `last` with its highest
    set bit cleared."""
    try:
        got = probe.decompress(bytes([last & ~(1 << (last.bit_length() - 1))]), room)
    except zlib.error:
        return False
    return got == tail and probe.eof and not probe.unused_data
