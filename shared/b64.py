"""Strict base64url without padding (RFC 7515 section 2): one spelling per byte string."""
from __future__ import annotations

import base64
import binascii
import re

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_LAST_OF_2 = frozenset(_ALPHABET[::16])  # 2 chars = 12 bits for 8: low 4 bits zero
_LAST_OF_3 = frozenset(_ALPHABET[::4])   # 3 chars = 18 bits for 16: low 2 bits zero


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url_encode_bytes(data: bytes) -> bytes:
    """As b64url_encode, as ASCII bytes (a JWS signing input is bytes); binascii directly,
    without base64's two Python layers (it runs on every scan)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode, refusing padding, whitespace, foreign characters and non-zero trailing bits.

    Refusing the non-canonical spellings means a token has exactly one valid string form.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as err:
            raise ValueError("base64url must be ASCII") from err
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as err:
        raise ValueError("not canonical base64url") from err
    # The last character of a partial group must not carry bits beyond the data (RFC 4648 3.5):
    # otherwise two strings would decode to the same bytes.
    rem = len(text) % 4
    if (rem == 2 and text[-1] not in _LAST_OF_2) or (rem == 3 and text[-1] not in _LAST_OF_3):
        raise ValueError("not canonical base64url (trailing bits)")
    return data
