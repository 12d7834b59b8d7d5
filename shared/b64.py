"""Strict base64url without padding (RFC 7515 section 2): one spelling per byte string."""
from __future__ import annotations

import base64
import binascii
import re

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url (trailing bits)")
    return data
