"""Find and decode the one QR code in an image: a phone photo, a camera frame, a scanned card.

Loading is capped before any pixel is decoded (bytes, then the dimensions read from the header),
so a small file that claims huge dimensions costs nothing. What decoding will hold in memory is
estimated from the header too (decoding_bytes), so a caller can budget it before it starts; a
large JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself, so a 48 Mpx phone photo
costs what a 12 Mpx one does. Decoding tries zxing-cpp on the image
as given first (fast: a few ms for a 1280x720 frame), then a few cheap preprocessing retries,
then OpenCV's detectors. Two different codes in one image are refused rather than guessed
between, so a venue never verifies a code other than the one the holder meant to show.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp
from PIL import Image, UnidentifiedImageError

from shared.errors import AmbiguousQRCode, ImageError, ImageTooLarge, NoQRCode

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# The most pixels decoded. A QR photo needs ~2-4 Mpx: a JPEG over it is decoded at 1/2, 1/4 or
# 1/8 scale, so a 12 Mpx phone photo and a 48 Mpx one are both read at 3 Mpx; other formats
# cannot be decoded smaller, so over it (a phone's screenshot is ~3 Mpx) they are refused.
MAX_IMAGE_PIXELS = 4_000_000
# What decoding a gray image costs at its peak, measured (docs/benchmarks.md, figure 8): the gray
# image and zxing's binarized copies, 2 bytes a pixel; then the retries' copies, no longer than
# _RETRY_MAX_SIDE (2 bytes a pixel of theirs), and OpenCV's detectors on a copy no longer than
# _OPENCV_MAX_SIDE (up to 17 bytes a pixel of theirs, on noise).
BYTES_PER_PIXEL = 2
RETRY_BYTES_PER_PIXEL = 2
OPENCV_BYTES_PER_PIXEL = 17
# Each side and the shape are capped too: a 76 KB PNG of 1x39,000,000 pixels (under the pixel
# cap) cost 2.3 GB in the decoders, which keep per-row and per-column buffers. A phone's 50 Mpx
# photo is 8,160 px on its long side; a QR photo is never a strip.
MAX_IMAGE_SIDE = 10_000
MAX_ASPECT_RATIO = 8

# Decoding runs in its caller's thread: a server's threads are the parallelism. OpenCV's own pool
# of workers kept ~8 MB more at the peak of a verifier with images in flight (figure 8).
cv2.setNumThreads(1)

# libjpeg decodes a JPEG at these fractions of its size directly (DCT scaling): only the smaller
# image is ever allocated. OpenCV's reduced flags use it for JPEG; for other formats they would
# decode in full and resize.
_JPEG_SCALES = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
                4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
# Formats OpenCV decodes for us; its decoders are fast and match what Pillow saw in the header.
# Anything else Pillow identified (TGA, ICO, PCX, JPEG 2000...) is decoded by Pillow itself.
_OPENCV_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "BMP", "TIFF", "GIF", "PPM", "AVIF"})
# Retries work on a copy no longer than this: the full-resolution image already had its
# zxing pass, and sharpening or upscaling all of a large one would cost time and memory.
_RETRY_MAX_SIDE = 2048
# OpenCV's detectors, the last try, take up to ~17 bytes a pixel of their input (on noise): they
# get a copy no longer than this (the 240 frames of figure 3: 236 read at 1024, 235 at 1280).
_OPENCV_MAX_SIDE = 1024
# Upscaling only pays off for codes a few pixels per module wide, which means a modest frame.
_UPSCALE_MAX_SIDE = 1600


# --- loading ---------------------------------------------------------------------------------


def read_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, WebP, BMP, TIFF, GIF...) to a gray uint8 array.

    A JPEG with more than ``max_pixels`` is decoded at 1/2, 1/4 or 1/8 of each side. Raises
    ImageTooLarge before decoding any pixel if the data is over ``max_bytes``, a side is over
    MAX_IMAGE_SIDE, the image is a strip (MAX_ASPECT_RATIO), or decoding it would hold more than
    a gray image of ``max_pixels`` would; ImageError if the data is empty or not a readable image.
    """
    data, plan = _planned(data, max_bytes, max_pixels)
    try:
        img = _decode_opencv(data, plan) if plan.header.format in _OPENCV_FORMATS else None
        if img is None:
            img = _decode_pillow(plan)
    finally:
        plan.header.close()
    if img.shape[0] * img.shape[1] > plan.pixels:
        # The header and the decoder disagreed; never hand on more than was allowed.
        raise ImageTooLarge(f"the image decoded to {img.shape[1]}x{img.shape[0]} pixels")
    return img


def decoding_bytes(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES,
                   max_pixels: int = MAX_IMAGE_PIXELS) -> int:
    """The bytes decoding ``data`` will hold at its peak (an estimate from the header alone), after
    the same caps as read_image: what a caller needs to budget the memory before it starts."""
    plan = _planned(data, max_bytes, max_pixels)[1]
    plan.header.close()
    return plan.cost


@dataclass(frozen=True)
class _Plan:
    header: Image.Image  # lazily opened: no pixel decoded yet
    scale: int  # each side is decoded at 1/scale (JPEG only; 1 for every other format)
    pixels: int  # of the decoded image
    cost: int  # bytes held at the peak, estimated
    allowed: int  # bytes the caller allowed (a Pillow fallback must fit them too)


def _planned(data: bytes, max_bytes: int, max_pixels: int) -> tuple[bytes, _Plan]:
    """The data as bytes and how it will be decoded, after every cap (bytes, sides, shape,
    memory): nothing is decoded before these pass."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"image data must be bytes, not {type(data).__name__}")
    size = memoryview(data).nbytes  # checked before any copy
    if size == 0:
        raise ImageError("the image is empty (0 bytes)")
    if size > max_bytes:
        raise ImageTooLarge(f"the image is {size} bytes; at most {max_bytes} are allowed")
    data = bytes(data)
    header = _open_header(data)
    try:
        _check_dimensions(header)
        return data, _plan(header, gray_decoding_bytes(max_pixels), max_pixels)
    except BaseException:
        header.close()
        raise


def gray_decoding_bytes(pixels: int) -> int:
    """The estimated peak of decoding a gray image of ``pixels``; other images add to it."""
    return (BYTES_PER_PIXEL * pixels + RETRY_BYTES_PER_PIXEL * min(pixels, _RETRY_MAX_SIDE ** 2)
            + OPENCV_BYTES_PER_PIXEL * min(pixels, _OPENCV_MAX_SIDE ** 2))


def _check_dimensions(header: Image.Image) -> None:
    width, height = header.size
    if width <= 0 or height <= 0:
        raise ImageError(f"the image header gives an empty size {width}x{height}")
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; each side may be at most "
                            f"{MAX_IMAGE_SIDE}")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageTooLarge(f"the image is {width}x{height} pixels; a side may be at most "
                            f"{MAX_ASPECT_RATIO} times the other")


def _plan(header: Image.Image, allowed: int, max_pixels: int) -> _Plan:
    """The largest scale whose decoding fits ``allowed`` bytes: full size when it fits, else
    (JPEG only) the first of 1/2, 1/4, 1/8 that does."""
    width, height = header.size
    for scale in sorted(_JPEG_SCALES) if header.format in _JPEG_FORMATS else (1,):
        pixels = -(-width // scale) * -(-height // scale)
        cost = gray_decoding_bytes(pixels) + _extra_bytes(header, pixels)
        if cost <= allowed:
            return _Plan(header, scale, pixels, cost, allowed)
    raise ImageTooLarge(f"the image is {width}x{height} pixels; at most {max_pixels} are allowed"
                        + (" (in this format)" if width * height <= max_pixels else ""))


def _extra_bytes(header: Image.Image, pixels: int) -> int:
    """What the decoder holds besides the gray image, measured (docs/benchmarks.md, figure 8)."""
    if header.format in _JPEG_FORMATS:
        # A progressive JPEG keeps every DCT coefficient of the whole image (2 bytes a sample)
        # until its last scan, whatever the scale it is decoded at.
        progressive = header.info.get("progressive") or header.info.get("progression")
        return 2 * _jpeg_samples(header) if progressive else 0
    if header.format not in _OPENCV_FORMATS:
        return _pillow_extra_bytes(header, pixels)
    if _has_alpha(header):
        # BGRA decoded (with 16 bits a sample, its 8-bit copy too), then the alpha plane.
        return (12 if _sixteen_bit(header) else 4) * pixels + pixels
    return 0


def _pillow_extra_bytes(header: Image.Image, pixels: int) -> int:
    # Pillow's own pixels (up to 4 bytes each), its converted copy and numpy's copy of that.
    return (4 + 4 + 4 + 1 if _has_alpha(header) else 4 + 1 + 1) * pixels


def _jpeg_samples(header: Image.Image) -> int:
    width, height = header.size
    layers = getattr(header, "layer", None) or [(None, 1, 1, None)] * 3
    h_max = max(h for _, h, _, _ in layers)
    v_max = max(v for _, _, v, _ in layers)
    return sum(-(-width * h // h_max) * -(-height * v // v_max) for _, h, v, _ in layers)


def _has_alpha(header: Image.Image) -> bool:
    return "A" in header.mode or "transparency" in header.info


def _sixteen_bit(header: Image.Image) -> bool:
    return any("16" in str(tile[3]) for tile in header.tile) or header.mode.startswith("I")


def _open_header(data: bytes) -> Image.Image:
    """Pillow's lazy open: parses the header only, so ``.size`` costs no pixel decoding."""
    try:
        # Pillow warns (or with pytest's filterwarnings=error, raises) for big images; we apply
        # our own, lower caps right after, so its warning would only add noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image has too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("the data is not an image in a known format") from exc
    except Exception as exc:  # Pillow plugins raise many types on a malformed header
        raise ImageError(f"the image header cannot be read: {exc!r}") from exc


def _decode_opencv(data: bytes, plan: _Plan) -> np.ndarray | None:
    """OpenCV decode to gray, or None if it cannot (Pillow then gets a try)."""
    # Decoding straight to gray is cheaper (libjpeg skips chroma, libpng converts row by row);
    # transparency needs the alpha channel so that a code drawn on a transparent ground is
    # composited onto white, not black. JPEG has no alpha.
    if plan.header.format in _JPEG_FORMATS:
        flags = _JPEG_SCALES[plan.scale]
    else:
        flags = cv2.IMREAD_UNCHANGED if _has_alpha(plan.header) else cv2.IMREAD_GRAYSCALE
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error:
        return None
    if img is None or img.size == 0:
        return None
    if img.dtype != np.uint8:
        img = _to_uint8(img)
    if img.ndim == 3 and img.shape[2] == 4:
        return _composite_on_white(img, cv2.COLOR_BGRA2GRAY)
    return _to_gray(img) if img.ndim == 3 else img


def _decode_pillow(plan: _Plan) -> np.ndarray:
    """Pillow decode for what OpenCV cannot read (palette GIF frames, TGA, ICO, JPEG 2000...)."""
    header = plan.header
    pixels = header.size[0] * header.size[1] // (plan.scale * plan.scale)
    if gray_decoding_bytes(pixels) + _pillow_extra_bytes(header, pixels) > plan.allowed:
        # OpenCV's estimate let it in; Pillow's copies would cost more than was allowed.
        raise ImageTooLarge(f"the image is {header.size[0]}x{header.size[1]} pixels; too many "
                            f"to decode in this form")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if plan.scale > 1:  # JPEG: libjpeg's DCT scaling, as in OpenCV
                width, height = header.size
                header.draft("L", (-(-width // plan.scale), -(-height // plan.scale)))
            if not _has_alpha(header):
                return np.asarray(header.convert("L"))
            rgba = header.convert("RGBA")
    except Exception as exc:  # truncated or corrupt pixel data, unsupported mode...
        raise ImageError(f"the image pixels cannot be decoded: {exc!r}") from exc
    return _composite_on_white(np.asarray(rgba), cv2.COLOR_RGBA2GRAY)


def _composite_on_white(four: np.ndarray, to_gray: int) -> np.ndarray:
    """Gray of the image over white: 255 - (255 - gray) * alpha / 255, in place on one uint8
    plane (float copies of the colour planes had cost 16 bytes a pixel)."""
    gray = cv2.cvtColor(four, to_gray)
    alpha = np.ascontiguousarray(four[:, :, 3])
    cv2.bitwise_not(gray, dst=gray)
    cv2.multiply(gray, alpha, dst=gray, scale=1 / 255)
    cv2.bitwise_not(gray, dst=gray)
    return gray


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.floating):
        scale = 255.0 if float(np.nanmax(img, initial=0.0)) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(img) * scale, 0, 255).astype(np.uint8)
    return np.clip(img, 0, 255).astype(np.uint8)


def _to_gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    channels = img.shape[2]
    if channels == 1:
        return img[:, :, 0]
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    raise ImageError(f"an image with {channels} channels is not supported")


# --- decoding --------------------------------------------------------------------------------


def decode_qr_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> str:
    """Return the text of the single QR code in an encoded image (JPEG, PNG, WebP, BMP...).

    Raises ImageError/ImageTooLarge (see :func:`read_image`), NoQRCode, or AmbiguousQRCode when
    two or more codes with different texts are visible.
    """
    return _decode([read_image(data, max_bytes=max_bytes, max_pixels=max_pixels)])


def decode_qr_array(img: np.ndarray) -> str:
    """Return the text of the single QR code in a decoded gray (HxW) or BGR/BGRA (HxWxC) array."""
    return _decode([_as_gray(img)])


def _decode(held: list[np.ndarray]) -> str:
    """``held`` is the only reference to the gray image, so that the attempts can let the
    full-size image go after its first pass (when it is larger than their copy)."""
    for texts in _attempts(held):
        if texts:
            return _single(texts)
    raise NoQRCode("no readable QR code was found in the image")


def _as_gray(img: np.ndarray) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise ImageError(f"expected a numpy array, not {type(img).__name__}")
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ImageError(f"an array of shape {img.shape} is not an image")
    if img.dtype != np.uint8:
        img = _to_uint8(img)
    # zxing-cpp and OpenCV both need a plain row-major buffer.
    return np.ascontiguousarray(_to_gray(img))


def _single(texts: set[str]) -> str:
    if len(texts) > 1:
        raise AmbiguousQRCode(f"the image holds {len(texts)} different QR codes; show only one")
    return next(iter(texts))


def _attempts(held: list[np.ndarray]) -> Iterator[set[str]]:
    """Decoders from cheapest to costliest; the caller stops at the first that finds anything."""
    gray = held.pop()
    # zxing already tries rotations, inversion and downscaled copies internally.
    yield _zxing(gray)
    work = _cap_size(gray, _RETRY_MAX_SIDE)
    del gray  # the retries work on `work`
    stretched = _stretch(work)
    retries: list[Callable[[], np.ndarray]] = [
        # Faded prints and dim screens fall below zxing's minimum local contrast.
        lambda: stretched,
        # Out of focus: an unsharp mask restores module edges; a stronger one for heavier blur.
        lambda: _sharpen(work, sigma=2.0, amount=1.5),
        lambda: _sharpen(work, sigma=3.0, amount=3.0),
        # Very low contrast on an uneven background: one global Otsu threshold.
        lambda: _otsu(stretched),
    ]
    if max(work.shape) <= _UPSCALE_MAX_SIDE:
        # Tiny codes (2-3 px per module): a 2x upscale gives zxing's detector more pixels per
        # module, and sharpening restores the edges the interpolation softened. Not on the
        # stretched copy: its clipping costs the few grey levels a tiny code has.
        retries.append(lambda: _sharpen(_upscale(work), sigma=3.0, amount=1.0))
        retries.append(lambda: _upscale(_sharpen(work, sigma=1.5, amount=2.0)))
    for make in retries:
        yield _zxing(make())
    # OpenCV's detectors are the peak (up to ~17 bytes a pixel of their copy on a noisy image):
    # only their copy stays alive.
    del stretched, retries
    small = _cap_size(work, _OPENCV_MAX_SIDE)
    del work
    yield _opencv(small)


def _zxing(gray: np.ndarray) -> set[str]:
    try:
        found = zxingcpp.read_barcodes(
            gray,
            formats=zxingcpp.BarcodeFormat.QRCode,
            try_rotate=True,
            try_downscale=True,
            try_invert=True,
            text_mode=zxingcpp.TextMode.Plain,
        )
    except (ValueError, RuntimeError):  # an array zxing cannot take: let the next try run
        return set()
    return {b.text for b in found if b.valid and b.text}


def _opencv(gray: np.ndarray) -> set[str]:
    """OpenCV's detectors: a different finder-pattern search that sometimes wins on odd photos."""
    detectors: list[Callable[[], object]] = [cv2.QRCodeDetector]
    if hasattr(cv2, "QRCodeDetectorAruco"):
        detectors.append(cv2.QRCodeDetectorAruco)
    for make in detectors:
        for img in (gray, 255 - gray):  # OpenCV has no built-in inverted-code search
            try:
                ok, texts, _points, _straight = make().detectAndDecodeMulti(img)
            except cv2.error:
                continue
            found = {t for t in texts if t} if ok else set()
            if found:
                return found
    return set()


# --- preprocessing ---------------------------------------------------------------------------


def _cap_size(gray: np.ndarray, max_side: int) -> np.ndarray:
    side = max(gray.shape)
    if side <= max_side:
        return gray
    f = max_side / side
    return cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)


def _stretch(gray: np.ndarray) -> np.ndarray:
    """Linear contrast stretch between the 1st and 99th percentile (robust to a few outliers)."""
    lo, hi = np.percentile(gray, (1, 99))
    if hi - lo < 1:
        return gray
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255)
    return cv2.LUT(gray, lut.astype(np.uint8))


def _sharpen(gray: np.ndarray, *, sigma: float, amount: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(gray, (0, 0), sigma)
    return cv2.addWeighted(gray, 1.0 + amount, blurred, -amount, 0)


def _otsu(gray: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(gray, (5, 5), 0)
    return cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _upscale(gray: np.ndarray) -> np.ndarray:
    return cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
