"""Find and decode the one QR code in an image: a phone photo, a camera frame, a scanned card.

Loading is capped before any pixel is decoded (bytes, then width*height read from the header),
so a small file that claims huge dimensions costs nothing. Decoding tries zxing-cpp on the image
as given first (fast: a few ms for a 1280x720 frame), then a few cheap preprocessing retries,
then OpenCV's detectors. Two different codes in one image are refused rather than guessed
between, so a venue never verifies a code other than the one the holder meant to show.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import zxingcpp
from PIL import Image, UnidentifiedImageError

from shared.errors import AmbiguousQRCode, ImageError, ImageTooLarge, NoQRCode

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
# Each side and the shape are capped too: a 76 KB PNG of 1x39,000,000 pixels (under the pixel
# cap) cost 2.3 GB in the decoders, which keep per-row and per-column buffers. A phone's 50 Mpx
# photo is 8,160 px on its long side; a QR photo is never a strip.
MAX_IMAGE_SIDE = 10_000
MAX_ASPECT_RATIO = 8

# Formats OpenCV decodes for us; its decoders are fast and match what Pillow saw in the header.
# Anything else Pillow identified (TGA, ICO, PCX, JPEG 2000...) is decoded by Pillow itself.
_OPENCV_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "BMP", "TIFF", "GIF", "PPM", "AVIF"})
# Retries work on a copy no longer than this: the full-resolution image already had its
# zxing pass, and sharpening or upscaling a 40 Mpx photo would take seconds.
_RETRY_MAX_SIDE = 2048
# Upscaling only pays off for codes a few pixels per module wide, which means a modest frame.
_UPSCALE_MAX_SIDE = 1600


# --- loading ---------------------------------------------------------------------------------


def read_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, WebP, BMP, TIFF, GIF...) to a gray uint8 array.

    Raises ImageTooLarge before decoding any pixel if the data is over ``max_bytes`` or the header
    claims more than ``max_pixels``, a side over MAX_IMAGE_SIDE or a strip (MAX_ASPECT_RATIO); ImageError if the data is empty or not a readable image.
    """
    data, header = _checked_header(data, max_bytes, max_pixels)
    try:
        img = _decode_opencv(data, header) if header.format in _OPENCV_FORMATS else None
        if img is None:
            img = _decode_pillow(header)
    finally:
        header.close()
    if img.shape[0] * img.shape[1] > max_pixels:
        # The header and the decoder disagreed; never hand on more than was allowed.
        raise ImageTooLarge(f"the image decoded to {img.shape[1]}x{img.shape[0]} pixels")
    return img


def image_size(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES,
               max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """(width, height) from the header alone, after the same caps as read_image: what a caller
    needs to budget the decoding's memory before it starts."""
    header = _checked_header(data, max_bytes, max_pixels)[1]
    header.close()
    return header.size


def _checked_header(data: bytes, max_bytes: int, max_pixels: int) -> tuple[bytes, Image.Image]:
    """The data as bytes and its lazily opened header, after every cap (bytes, pixels, sides,
    shape): nothing is decoded before these pass."""
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
        _check_dimensions(header, max_pixels)
    except BaseException:
        header.close()
        raise
    return data, header


def _check_dimensions(header: Image.Image, max_pixels: int) -> None:
    width, height = header.size
    if width <= 0 or height <= 0:
        raise ImageError(f"the image header gives an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; at most {max_pixels} are allowed")
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; each side may be at most "
                            f"{MAX_IMAGE_SIDE}")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageTooLarge(f"the image is {width}x{height} pixels; a side may be at most "
                            f"{MAX_ASPECT_RATIO} times the other")


def _open_header(data: bytes) -> Image.Image:
    """Pillow's lazy open: parses the header only, so ``.size`` costs no pixel decoding."""
    try:
        # Pillow warns (or with pytest's filterwarnings=error, raises) for big images; we apply
        # our own, lower pixel cap right after, so its warning would only add noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image has too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("the data is not an image in a known format") from exc
    except Exception as exc:  # Pillow plugins raise many types on a malformed header
        raise ImageError(f"the image header cannot be read: {exc!r}") from exc


def _decode_opencv(data: bytes, header: Image.Image) -> np.ndarray | None:
    """OpenCV decode to gray, or None if it cannot (Pillow then gets a try)."""
    has_alpha = "A" in header.mode or "transparency" in header.info
    # Decoding straight to gray is cheaper (libjpeg skips chroma); transparency needs the alpha
    # channel so that a code drawn on a transparent ground is composited onto white, not black.
    flags = cv2.IMREAD_UNCHANGED if has_alpha else cv2.IMREAD_GRAYSCALE
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error:
        return None
    if img is None or img.size == 0:
        return None
    if img.dtype != np.uint8:
        img = _to_uint8(img)
    if img.ndim == 3 and img.shape[2] == 4:
        return _composite_on_white(img)
    return _to_gray(img) if img.ndim == 3 else img


def _decode_pillow(header: Image.Image) -> np.ndarray:
    """Pillow decode for what OpenCV cannot read (palette GIF frames, TGA, ICO, JPEG 2000...)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            rgba = header.convert("RGBA")
    except Exception as exc:  # truncated or corrupt pixel data, unsupported mode...
        raise ImageError(f"the image pixels cannot be decoded: {exc!r}") from exc
    return _composite_on_white(cv2.cvtColor(np.asarray(rgba), cv2.COLOR_RGBA2BGRA))


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    bgr = bgra[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return _to_gray(bgr.astype(np.uint8))


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
    return decode_qr_array(read_image(data, max_bytes=max_bytes, max_pixels=max_pixels))


def decode_qr_array(img: np.ndarray) -> str:
    """Return the text of the single QR code in a decoded gray (HxW) or BGR/BGRA (HxWxC) array."""
    gray = _as_gray(img)
    for texts in _attempts(gray):
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


def _attempts(gray: np.ndarray) -> Iterator[set[str]]:
    """Decoders from cheapest to costliest; the caller stops at the first that finds anything."""
    # zxing already tries rotations, inversion and downscaled copies internally.
    yield _zxing(gray)
    work = _cap_size(gray, _RETRY_MAX_SIDE)
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
    yield _opencv(work)


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
