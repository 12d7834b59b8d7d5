"""Render QR text to a QR symbol (numeric mode, error correction M) as PNG."""
from __future__ import annotations

import io

import qrcode
from qrcode.util import MODE_NUMBER, QRData

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def _symbol(text: str, box_size: int = 8, border: int = 4) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=border)
    # Our text is digits: numeric mode packs 3 digits in 10 bits. Anything else (a plain JWS)
    # goes in byte mode.
    mode = MODE_NUMBER if text.isascii() and text.isdigit() else None
    qr.add_data(QRData(text, mode=mode) if mode else text)
    qr.make(fit=True)
    return qr


def qr_version(text: str) -> int:
    return _symbol(text).version


def render_png(text: str, *, box_size: int = 8, border: int = 4) -> bytes:
    img = _symbol(text, box_size, border).make_image()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
