"""Reusable image fixtures and degradations for QR decoding tests and benchmarks.

Every degradation is a small pure function: it takes a numpy uint8 image (gray HxW or BGR HxWx3),
never modifies it, and returns a new uint8 array. Randomness only ever comes from an explicit
``numpy.random.Generator`` so that a failing case can be replayed from its seed.
"""
from __future__ import annotations

import cv2
import numpy as np
import qrcode
import qrcode.constants
import qrcode.util

# --- fixtures -------------------------------------------------------------------------------


def random_digits(rng: np.random.Generator, n_bytes: int = 220) -> str:
    """Digits shaped like a real credential: a big integer from a leading 0x01 and random bytes.

    The leading 0x01 keeps the length stable (no leading zero bytes vanish); 220 bytes give
    ~532 digits, a version 10-11 numeric QR code at error correction M.
    """
    payload = b"\x01" + rng.bytes(n_bytes)
    return str(int.from_bytes(payload, "big"))


def make_qr(digits: str, *, box_size: int = 4, border: int = 4) -> np.ndarray:
    """Render ``digits`` as a numeric-mode, error-correction-M QR code; gray uint8, black on white."""
    q = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border
    )
    q.add_data(qrcode.util.QRData(digits, mode=qrcode.util.MODE_NUMBER))
    q.make(fit=True)
    pil = q.make_image().get_image().convert("L")
    return np.asarray(pil, dtype=np.uint8).copy()


def to_bgr(img: np.ndarray) -> np.ndarray:
    """A BGR copy of a gray or BGR image."""
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A cluttered but QR-free BGR scene: a colour gradient with random rectangles and lines."""
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    base = rng.uniform(60, 200, size=3).astype(np.float32)
    tilt = rng.uniform(-50, 50, size=(2, 3)).astype(np.float32)
    img = base + xs[None, :, None] * tilt[0] + ys[:, :, None] * tilt[1]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(12):
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, size=2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, size=2))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, thickness=int(rng.integers(1, 6)))
    for _ in range(8):
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(img, p0, p1, tuple(int(c) for c in rng.integers(0, 256, size=3)), 2)
    return img


def place(code: np.ndarray, canvas: np.ndarray, *, width: int, x: int, y: int) -> np.ndarray:
    """Paste ``code`` resized to ``width`` px (square) onto a copy of ``canvas`` at (x, y)."""
    out = canvas.copy()
    small = cv2.resize(code, (width, width), interpolation=cv2.INTER_AREA)
    if out.ndim == 3:
        small = to_bgr(small)
    out[y : y + width, x : x + width] = small
    return out


def side_by_side(left: np.ndarray, right: np.ndarray, *, gap: int = 40) -> np.ndarray:
    """Two gray images next to each other on white, top-aligned."""
    h = max(left.shape[0], right.shape[0])
    out = np.full((h, left.shape[1] + gap + right.shape[1]), 255, dtype=np.uint8)
    out[: left.shape[0], : left.shape[1]] = left
    out[: right.shape[0], left.shape[1] + gap :] = right
    return out


# --- degradations ---------------------------------------------------------------------------


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Out-of-focus camera: Gaussian blur with standard deviation ``sigma`` pixels."""
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)


def motion_blur(img: np.ndarray, length: int, angle_deg: float = 0.0) -> np.ndarray:
    """Shaky hand: a linear motion blur ``length`` px long in direction ``angle_deg``."""
    k = np.zeros((length, length), dtype=np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle_deg, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(img, -1, k / k.sum())


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at ``quality`` (0-100) to add block artefacts."""
    return cv2.imdecode(encode(img, ".jpg", quality=quality), cv2.IMREAD_UNCHANGED)


def encode(img: np.ndarray, ext: str = ".png", *, quality: int = 90) -> np.ndarray:
    """Encode to the container named by ``ext`` ('.png', '.jpg', '.webp', '.bmp'); a uint8 buffer."""
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, quality]
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise ValueError(f"cannot encode as {ext}")
    return buf


def encode_bytes(img: np.ndarray, ext: str = ".png", *, quality: int = 90) -> bytes:
    """Like :func:`encode` but returns ``bytes``, the shape ``decode_qr_image`` takes."""
    return encode(img, ext, quality=quality).tobytes()


def scale(img: np.ndarray, factor: float) -> np.ndarray:
    """Resize by ``factor`` (area averaging when shrinking, like a camera sensor)."""
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, None, fx=factor, fy=factor, interpolation=interp)


def rotate(img: np.ndarray, degrees: float, *, fill: int = 255) -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the centre, growing the canvas to fit."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    border = (fill,) * (img.shape[2] if img.ndim == 3 else 1)
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=border)


def invert(img: np.ndarray) -> np.ndarray:
    """Light modules on a dark ground (dark-mode screens, some printed cards)."""
    return 255 - img


def gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: add N(0, sigma^2) per pixel and channel, clipped to 0..255."""
    noise = rng.normal(0.0, sigma, size=img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def salt_and_pepper(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Dust and dead pixels: set ``fraction`` of pixels to pure black or white."""
    out = img.copy()
    mask = rng.random(img.shape[:2]) < fraction
    values = rng.choice(np.array([0, 255], dtype=np.uint8), size=int(mask.sum()))
    out[mask] = values[:, None] if out.ndim == 3 else values
    return out


def low_contrast(img: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Map 0..255 linearly onto ``lo``..``hi`` (a faded print, a dim screen)."""
    scaled = lo + img.astype(np.float32) * ((hi - lo) / 255.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def glare(img: np.ndarray, *, center: tuple[int, int], radius: float, strength: float) -> np.ndarray:
    """A specular highlight: brighten towards white with a Gaussian falloff.

    ``strength`` 1.0 saturates the centre to pure white; ``radius`` is the falloff sigma in px.
    """
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    d2 = (xs - center[0]) ** 2 + (ys - center[1]) ** 2
    a = strength * np.exp(-d2 / (2.0 * radius * radius))
    if img.ndim == 3:
        a = a[:, :, None]
    out = img.astype(np.float32) * (1.0 - a) + 255.0 * a
    return np.clip(out, 0, 255).astype(np.uint8)


def uneven_light(img: np.ndarray, *, darkest: float) -> np.ndarray:
    """A shadow across the image: brightness falls linearly from 1.0 (left) to ``darkest`` (right)."""
    w = img.shape[1]
    gain = np.linspace(1.0, darkest, w, dtype=np.float32)[None, :]
    if img.ndim == 3:
        gain = gain[:, :, None]
    return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def perspective(
    code: np.ndarray,
    canvas: np.ndarray,
    corners: tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]],
) -> np.ndarray:
    """Project ``code`` onto ``canvas`` with its corners (TL, TR, BR, BL) landing at ``corners``.

    This is a photo taken at an angle: the code becomes a general quadrilateral.
    """
    h, w = code.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(src, np.float32(corners))
    ch, cw = canvas.shape[:2]
    src_img = to_bgr(code) if canvas.ndim == 3 else code
    warped = cv2.warpPerspective(src_img, m, (cw, ch), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (cw, ch), flags=cv2.INTER_NEAREST)
    out = canvas.copy()
    out[mask > 0] = warped[mask > 0]
    return out


def random_tilt_corners(
    cx: float, cy: float, size: float, jitter: float, rng: np.random.Generator
) -> tuple[tuple[float, float], ...]:
    """Corners of a ``size`` square centred at (cx, cy), each moved up to ``jitter`` * size."""
    half = size / 2
    base = [(-half, -half), (half, -half), (half, half), (-half, half)]
    moves = rng.uniform(-jitter * size, jitter * size, size=(4, 2))
    return tuple((cx + bx + mx, cy + by + my) for (bx, by), (mx, my) in zip(base, moves))


def bilevel_png(width: int, height: int) -> bytes:
    """A white 1-bit PNG of any size, written by hand in a few KB: what an attacker sends to
    make a decoder allocate width x height (no image library would build the pixels first)."""
    import struct
    import zlib

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


def phone_photo(text: str, width: int, height: int, *, progressive: bool = False) -> bytes:
    """A phone's photo of a card at arm's length: the code a fifth of the frame wide on a lit,
    slightly noisy ground, saved as a camera saves it (baseline JPEG, quality 90), or as a
    progressive one."""
    ramp = np.linspace(150, 220, width, dtype=np.float32)
    photo = cv2.add(np.broadcast_to(ramp, (height, width)).astype(np.uint8),
                    cv2.randn(np.zeros((height, width), np.uint8), 0, 6))
    code = cv2.resize(make_qr(text), (width // 5, width // 5), interpolation=cv2.INTER_NEAREST)
    photo[height // 3:height // 3 + code.shape[0], width // 3:width // 3 + code.shape[1]] = code
    ok, enc = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90,
                                           cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])
    if not ok:
        raise ValueError("OpenCV could not encode the photo")
    return enc.tobytes()
