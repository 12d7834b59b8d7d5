"""The QR text form of a token: digits only, so it fits a small QR and survives a keyboard.

A USB handheld scanner "types" what it reads; under a Russian layout every Latin letter arrives
as a Cyrillic one, but the digit row is the same in every layout. So the text is decimal digits
(QR numeric mode: 3.33 bits a digit, 99.7% as dense as byte mode) of this binary:

    byte 0      format version (1)
    byte 1      signature length S
    S bytes     the JWS signature, raw (64 bytes instead of 86 base64url characters)
    the rest    raw DEFLATE, with the preset dictionary below, of: header JSON, "\\n", payload JSON

The number is big-endian in the fewest bytes, in decimal without leading zeros. The verifier
inflates (capped), requires the stream to end within the last byte with its unused bits zero,
rebuilds the exact compact JWS and verifies that: the QR is a transport encoding of the standard
token, not a second format to trust. The normative text, with the dictionary's bytes and
conformance vectors, is docs/spec/README.md.
"""
from __future__ import annotations

import re
import zlib

from shared.b64 import b64url_decode, b64url_encode
from shared.codes import Code
from shared.errors import TokenError
from shared.inflate import inflate_capped
from shared.token import ParsedToken, parse_parts
from shared.token import parse as parse_token

VERSION = 1
MAX_QR_DIGITS = 2400  # version 40-L numeric holds 7089; ours are ~500. Checked before int().
MAX_INFLATED = 4096   # a credential's header and payload are ~300 bytes; caps a DEFLATE bomb
# An empty signature part is let through so that "alg": "none" gets its own code, not malformed.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# Frozen for format version 1: changing one byte breaks every QR already printed. The most
# likely strings go last (DEFLATE finds near matches cheaper).
PRESET_DICTIONARY = (
    "Александр Алексей Андрей Анна Валентина Виктор Владимир Галина Дмитрий Евгений Екатерина "
    "Елена Иван Ирина Мария Михаил Наталья Николай Ольга Павел Светлана Сергей Татьяна Юлия "
    "ович евич ична овна евна ова ева ина ий ая енко ин ов ев "
    '"c":"disability_1""c":"disability_2""c":"disability_3""c":"disabled_child"'
    '"c":"combat_veteran""c":"svo_family""c":"pensioner""c":"low_income"'
    '"t":"beneficiary","h":{"f":"'
    '{"alg":"EdDSA","kid":"'
    '{"alg":"ES256","kid":"","typ":"socpass+jwt"}\n{"iss":"RU-","iat":17,"exp":1,"jti":"'
    '","t":"large_family","h":{"f":"","g":"","p":"","b":"19'
    '"},"n":3,"r":"27","status":{"status_list":{"idx":,"uri":"https://'
    '/status/1"}}}'
).encode("utf-8")


def _malformed(why: str) -> TokenError:
    return TokenError(Code.MALFORMED, why)


def _deflate(data: bytes, strategy: int = zlib.Z_DEFAULT_STRATEGY) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9, strategy, PRESET_DICTIONARY)
    return co.compress(data) + co.flush()


def _canonical(compressed: bytes) -> bool:
    try:
        inflate_capped(compressed, limit=MAX_INFLATED, wbits=-15, zdict=PRESET_DICTIONARY,
                       zero_padding=True)
    except TokenError:
        return False
    return True


def encode(token: str) -> str:
    """Compact JWS -> QR digits."""
    header_b64, payload_b64, sig_b64 = token.split(".")
    header, payload, signature = (b64url_decode(p) for p in (header_b64, payload_b64, sig_b64))
    if b"\n" in header or len(signature) > 255:
        raise ValueError("token cannot be put in QR form")
    inflated = header + b"\n" + payload
    if len(inflated) > MAX_INFLATED:
        raise ValueError("token cannot be put in QR form: too large")
    # zlib pads the last byte with zero bits, but the padding check cannot tell padding from a
    # cleared bit that happens to decode to the same bytes (a copy from another distance of
    # repeated text): should that ever happen, the same data compressed another way is checked.
    for strategy in (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FIXED, zlib.Z_HUFFMAN_ONLY):
        compressed = _deflate(inflated, strategy)
        if _canonical(compressed):
            break
    else:
        raise ValueError("token cannot be put in QR form: no canonical compression")
    binary = bytes([VERSION, len(signature)]) + signature + compressed
    text = str(int.from_bytes(binary, "big"))
    if len(text) > MAX_QR_DIGITS:
        raise ValueError("token cannot be put in QR form: more than the digits a verifier reads")
    return text


def decode(text: str) -> str:
    """QR text (digits, or a plain compact JWS) -> compact JWS. Surrounding whitespace ignored."""
    parts = _decode_parts(text)
    if isinstance(parts, str):
        return parts
    header, payload, signature = parts
    return ".".join((b64url_encode(header), b64url_encode(payload), b64url_encode(signature)))


def parse(text: str) -> ParsedToken:
    """QR text -> a parsed (NOT verified) token, without a detour through base64url."""
    parts = _decode_parts(text)
    if isinstance(parts, str):
        return parse_token(parts)
    header, payload, signature = parts
    return parse_parts(header, payload, signature)


def _decode_parts(text: str) -> str | tuple[bytes, bytes, bytes]:
    if not isinstance(text, str):
        raise _malformed("QR text must be a string")
    if len(text) > MAX_QR_DIGITS + 64:
        raise _malformed("QR text too long")
    text = text.strip()
    # Digits first (the common case), checked by int() itself: isascii() keeps out other
    # scripts' digits, and the first character and "_" out the signs, spaces and separators
    # int() would also take. One spelling: no leading zero.
    if not (text.isascii() and "1" <= text[:1] <= "9" and "_" not in text):
        if _COMPACT.fullmatch(text):
            return text
        raise _malformed("not a socpass QR code")
    if len(text) > MAX_QR_DIGITS:
        raise _malformed("not a socpass QR code")
    try:
        number = int(text)
    except ValueError:
        raise _malformed("not a socpass QR code") from None
    binary = number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(binary) < 3 or binary[0] != VERSION:
        raise _malformed("unknown QR format version")
    sig_len = binary[1]
    signature, compressed = binary[2:2 + sig_len], binary[2 + sig_len:]
    if len(signature) != sig_len or not compressed:
        raise _malformed("QR content truncated")
    header, sep, payload = inflate_capped(compressed, limit=MAX_INFLATED, wbits=-15, zdict=PRESET_DICTIONARY,
                                          what="QR content", zero_padding=True).partition(b"\n")
    if not sep:
        raise _malformed("QR content has no header separator")
    return header, payload, signature
