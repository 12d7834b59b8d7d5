"""Render QR text to a QR symbol (numeric mode, error correction M) as PNG: the issuer's cards,
citizens' pages and `issue --qr`. The verifier only reads QR codes (verifier/imaging.py)."""
from __future__ import annotations

import functools
import io
from typing import Any

import numpy as np
import qrcode
from qrcode.util import MODE_NUMBER, QRData

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def _symbol(text: str, box_size: int = 8, border: int = 4) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=border)
    # Our text is digits: numeric mode packs 3 digits in 10 bits. Anything else (a plain JWS)
    # goes in byte mode.
    mode = MODE_NUMBER if text.isascii() and text.isdigit() else None
    qr.add_data(QRData(text, mode=mode) if mode else text)
    qr.best_fit(start=None)
    # qrcode's own mask choice scores each of the 8 masks in pure Python (~70% of a render);
    # the same scores in numpy choose the same mask (tests/issuer/test_qrrender.py).
    qr.mask_pattern = best_mask(qr)
    qr.makeImpl(False, qr.mask_pattern)
    return qr


def best_mask(qr: qrcode.QRCode) -> int:
    """The mask qrcode.QRCode.best_mask_pattern would choose: the lowest penalty, first on ties.

    qrcode lays the data out 8 times, once per mask; here it is laid out once, and the other
    masks are XORed over the data modules (the format and version areas are blank in these
    trial layouts, whatever the mask)."""
    free: dict[str, np.ndarray] = {}
    lay_out = qr.map_data

    def capture(data: Any, mask_pattern: int) -> None:  # which modules the data goes into
        free["data"] = np.array([[c is None for c in row] for row in qr.modules], dtype=bool)
        lay_out(data, mask_pattern)

    qr.map_data = capture  # type: ignore[method-assign]
    try:
        qr.makeImpl(True, 0)
    finally:
        del qr.map_data
    data = free["data"]
    masks = _masks(data.shape[0])
    unmasked = np.array(qr.modules, dtype=bool) ^ (data & masks[0])
    best, best_score = 0, None
    for mask in range(8):
        score = penalty(unmasked ^ (data & masks[mask]))
        if best_score is None or score < best_score:
            best, best_score = mask, score
    return best


@functools.lru_cache(maxsize=64)
def _masks(n: int) -> tuple[np.ndarray, ...]:
    """The 8 mask patterns of ISO/IEC 18004 (where a module is inverted), for an n x n symbol."""
    i, j = np.indices((n, n))
    return ((i + j) % 2 == 0, i % 2 == 0, j % 3 == 0, (i + j) % 3 == 0,
            (i // 2 + j // 3) % 2 == 0, (i * j) % 2 + (i * j) % 3 == 0,
            ((i * j) % 2 + (i * j) % 3) % 2 == 0, ((i * j) % 3 + (i + j) % 2) % 2 == 0)


_FINDER_LIKE = (np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
                np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool))


def penalty(m: np.ndarray) -> int:
    """ISO/IEC 18004 mask penalty, as qrcode.util.lost_point scores it: runs of 5 or more
    (length - 2 each), 2x2 blocks of one colour (3), finder-like 1:1:3:1:1 with 4 light (40),
    and 10 per 5% of dark modules away from half."""
    n = m.shape[0]
    score = 0
    for lines in (m, m.T):
        starts = np.ones(lines.shape, dtype=bool)
        starts[:, 1:] = lines[:, 1:] != lines[:, :-1]
        first = np.flatnonzero(starts.ravel())
        lengths = np.diff(np.append(first, starts.size))
        score += int((lengths[lengths >= 5] - 2).sum())
        windows = np.lib.stride_tricks.sliding_window_view(lines, 11, axis=1)
        found = ((windows == _FINDER_LIKE[0]).all(axis=-1) | (windows == _FINDER_LIKE[1]).all(axis=-1))
        score += 40 * int(found.sum())
    a = m[:-1, :-1]
    score += 3 * int(((a == m[:-1, 1:]) & (a == m[1:, :-1]) & (a == m[1:, 1:])).sum())
    percent = float(int(m.sum())) / (n ** 2)
    score += int(abs(percent * 100 - 50) / 5) * 10
    return score


def qr_version(text: str) -> int:
    return _symbol(text).version


def render_png(text: str, *, box_size: int = 8, border: int = 4) -> bytes:
    img = _symbol(text, box_size, border).make_image()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
