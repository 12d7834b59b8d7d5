"""Decoding QR codes from images: degraded photos, size caps, hostile bytes.

Fixtures are shaped like production codes: numeric mode, ~530 digits, error correction M
(QR version 11, 61x61 modules). Camera-like cases put the code on a cluttered 1280x720 frame.

Measured limits of verifier.imaging (8 seeds each, code 500 px wide = ~7 px per module, unless
stated), kept here so the thresholds below stay honest:
- Gaussian blur: sigma 4.5 px (0.6 module) decodes via the sharpening retry; sigma 5 fails.
- Motion blur: 15 px (2 modules) decodes; 17 px fails. No deconvolution is attempted.
- Small codes: down to 80 px wide (~1.2 px per module) when axis-aligned; 100 px rotated 20
  degrees decodes via the upscale retry; 150 px plus blur sigma 1.2 decodes via upscale+sharpen.
- A 200 px code, perspective-warped, blurred (1.5) and JPEG 30 at once: ~7 of 8 seeds.
- Contrast: a 6-grey-level range (127..133) decodes via the contrast stretch.
- Noise sigma 130, JPEG quality 5, full-white glare spots: all decode.
"""
from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from verifier import imaging
from shared.errors import AmbiguousQRCode, ImageError, ImageTooLarge, NoQRCode
from verifier.imaging import (
    MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, decode_qr_array, decode_qr_image, decoding_bytes, read_image,
)
from tests import imaging as im

FRAME_W, FRAME_H = 1280, 720


def _digits(seed: int) -> str:
    return im.random_digits(np.random.default_rng(seed))


def _code(seed: int, box_size: int = 4) -> tuple[str, np.ndarray]:
    digits = _digits(seed)
    return digits, im.make_qr(digits, box_size=box_size)


def _frame(seed: int, *, width: int = 400, x: int = 300, y: int = 150) -> tuple[str, np.ndarray]:
    """A camera frame: the code ``width`` px wide on a cluttered 1280x720 background."""
    digits, code = _code(seed)
    bg = im.background(FRAME_W, FRAME_H, np.random.default_rng(1000 + seed))
    return digits, im.place(code, bg, width=width, x=x, y=y)


# --- decoding: clean and degraded ------------------------------------------------------------


def test_fixture_is_shaped_like_a_production_code() -> None:
    digits, code = _code(0, box_size=1)
    assert 400 <= len(digits) <= 700 and digits.isdigit()
    modules = code.shape[0] - 2 * 4  # border of 4 modules each side
    assert 53 <= modules <= 65  # versions 9..12


def test_clean_png() -> None:
    digits, code = _code(1)
    assert decode_qr_image(im.encode_bytes(code, ".png")) == digits


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp", ".tiff"])
def test_containers(ext: str) -> None:
    digits, frame = _frame(2)
    assert decode_qr_image(im.encode_bytes(frame, ext)) == digits


def test_jpeg_quality_30() -> None:
    digits, frame = _frame(3)
    assert decode_qr_image(im.encode_bytes(frame, ".jpg", quality=30)) == digits


@pytest.mark.parametrize("sigma", [2.0, 4.0])
def test_gaussian_blur(sigma: float) -> None:
    # sigma 4 on ~7 px modules defeats zxing on its own; the sharpening retry recovers it.
    digits, frame = _frame(4, width=500, y=100)
    assert decode_qr_array(im.gaussian_blur(frame, sigma)) == digits


def test_motion_blur() -> None:
    digits, frame = _frame(5, width=500, y=100)
    assert decode_qr_array(im.motion_blur(frame, 13, angle_deg=30)) == digits


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_perspective_warp(seed: int) -> None:
    """A photo taken at an angle, saved as a phone would (JPEG)."""
    digits, code = _code(seed)
    rng = np.random.default_rng(seed)
    bg = im.background(FRAME_W, FRAME_H, rng)
    corners = im.random_tilt_corners(640, 360, 420, jitter=0.18, rng=rng)
    photo = im.perspective(code, bg, corners)
    assert decode_qr_image(im.encode_bytes(photo, ".jpg", quality=80)) == digits


@pytest.mark.parametrize("width", [200, 120])
def test_small_code_in_frame(width: int) -> None:
    digits, frame = _frame(9, width=width, x=700, y=400)
    assert decode_qr_image(im.encode_bytes(frame, ".png")) == digits


def test_small_rotated_code_needs_upscaling() -> None:
    # ~1.6 px per module at 20 degrees: only the 2x upscale retry reads it.
    digits, frame = _frame(10, width=100)
    assert decode_qr_array(im.rotate(frame, 20)) == digits


def test_small_blurred_code() -> None:
    digits, frame = _frame(11, width=150)
    assert decode_qr_array(im.gaussian_blur(frame, 1.2)) == digits


def test_phone_photo_combined() -> None:
    """Small, tilted, slightly out of focus and JPEG-compressed at once."""
    digits, code = _code(12)
    rng = np.random.default_rng(12)
    bg = im.background(FRAME_W, FRAME_H, rng)
    photo = im.perspective(code, bg, im.random_tilt_corners(640, 360, 250, jitter=0.15, rng=rng))
    photo = im.gaussian_blur(photo, 1.5)
    assert decode_qr_image(im.encode_bytes(photo, ".jpg", quality=30)) == digits


@pytest.mark.parametrize("degrees", [90, 180, 20, 45])
def test_rotated(degrees: float) -> None:
    digits, frame = _frame(13)
    assert decode_qr_array(im.rotate(frame, degrees)) == digits


def test_rotated_90_bare_code() -> None:
    digits, code = _code(14)
    assert decode_qr_image(im.encode_bytes(np.rot90(code).copy(), ".png")) == digits


def test_inverted() -> None:
    digits, frame = _frame(15)
    assert decode_qr_image(im.encode_bytes(im.invert(frame), ".png")) == digits


def test_inverted_low_contrast() -> None:
    digits, frame = _frame(16)
    assert decode_qr_array(im.invert(im.low_contrast(frame, 120, 140))) == digits


@pytest.mark.parametrize("sigma", [40.0, 90.0])
def test_noise(sigma: float) -> None:
    digits, frame = _frame(17)
    noisy = im.gaussian_noise(frame, sigma, np.random.default_rng(17))
    assert decode_qr_array(noisy) == digits


def test_salt_and_pepper() -> None:
    digits, frame = _frame(18)
    assert decode_qr_array(im.salt_and_pepper(frame, 0.05, np.random.default_rng(18))) == digits


@pytest.mark.parametrize(("lo", "hi"), [(100, 160), (120, 140), (125, 135)])
def test_low_contrast(lo: int, hi: int) -> None:
    # Ranges of 20 and 10 grey levels are below zxing's own threshold; the stretch retry reads them.
    digits, frame = _frame(19)
    assert decode_qr_array(im.low_contrast(frame, lo, hi)) == digits


def test_low_contrast_and_blur() -> None:
    digits, frame = _frame(20)
    assert decode_qr_array(im.gaussian_blur(im.low_contrast(frame, 120, 140), 2.0)) == digits


def test_glare() -> None:
    digits, frame = _frame(21)
    shiny = im.glare(frame, center=(500, 350), radius=80, strength=1.0)
    assert decode_qr_image(im.encode_bytes(shiny, ".jpg", quality=70)) == digits


def test_shadow() -> None:
    digits, frame = _frame(22)
    assert decode_qr_array(im.uneven_light(frame, darkest=0.1)) == digits


def test_large_photo() -> None:
    digits, code = _code(23)
    bg = cv2.resize(im.background(FRAME_W, FRAME_H, np.random.default_rng(23)), (4000, 3000))
    photo = im.place(code, bg, width=700, x=1500, y=1100)
    assert decode_qr_image(im.encode_bytes(photo, ".jpg", quality=85)) == digits


def test_array_inputs_gray_bgr_bgra() -> None:
    digits, frame = _frame(24)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    assert decode_qr_array(gray) == decode_qr_array(frame) == decode_qr_array(bgra) == digits


def test_non_contiguous_array() -> None:
    digits, frame = _frame(25)
    assert decode_qr_array(frame[:, ::-1][:, ::-1]) == digits  # a strided view


def test_transparent_png() -> None:
    """Black modules on a transparent ground must be read as if on white, not on black."""
    digits, code = _code(26)
    bgra = np.zeros((*code.shape, 4), dtype=np.uint8)
    bgra[:, :, 3] = np.where(code < 128, 255, 0)
    assert decode_qr_image(im.encode_bytes(bgra, ".png")) == digits


def test_palette_gif() -> None:
    digits, code = _code(27)
    buf = io.BytesIO()
    Image.fromarray(code).convert("P").save(buf, format="GIF")
    assert decode_qr_image(buf.getvalue()) == digits


def test_clean_frame_takes_the_fast_path() -> None:
    """The first zxing pass alone reads a clean frame; no retry cost on the common case."""
    digits, frame = _frame(28)
    assert imaging._zxing(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == {digits}


# --- how many codes --------------------------------------------------------------------------


def test_no_qr_code() -> None:
    bg = im.background(FRAME_W, FRAME_H, np.random.default_rng(30))
    with pytest.raises(NoQRCode):
        decode_qr_image(im.encode_bytes(bg, ".jpg"))


def test_blank_image_has_no_qr_code() -> None:
    with pytest.raises(NoQRCode):
        decode_qr_array(np.full((480, 640), 255, dtype=np.uint8))


def test_two_different_codes_are_ambiguous() -> None:
    (_, a), (_, b) = _code(31), _code(32)
    with pytest.raises(AmbiguousQRCode):
        decode_qr_image(im.encode_bytes(im.side_by_side(a, b), ".png"))


def test_two_different_codes_in_a_frame_are_ambiguous() -> None:
    (_, a), (_, b) = _code(33), _code(34)
    bg = im.background(FRAME_W, FRAME_H, np.random.default_rng(33))
    frame = im.place(b, im.place(a, bg, width=380, x=100, y=150), width=380, x=750, y=200)
    with pytest.raises(AmbiguousQRCode):
        decode_qr_image(im.encode_bytes(frame, ".jpg", quality=80))


def test_same_code_twice_decodes() -> None:
    digits, code = _code(35)
    assert decode_qr_image(im.encode_bytes(im.side_by_side(code, code), ".png")) == digits


# --- bad and oversized input -----------------------------------------------------------------


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` 1-bit pixels; only one row of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + (width + 7) // 8))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _forbid_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(imaging.cv2, "imdecode", boom)
    monkeypatch.setattr(Image.Image, "load", boom)
    monkeypatch.setattr(Image.Image, "convert", boom)


def test_empty_bytes() -> None:
    with pytest.raises(ImageError, match="empty"):
        decode_qr_image(b"")


def test_garbage_bytes() -> None:
    garbage = np.random.default_rng(40).bytes(5000)
    with pytest.raises(ImageError) as info:
        decode_qr_image(garbage)
    assert not isinstance(info.value, ImageTooLarge)


def test_truncated_png() -> None:
    _, code = _code(41)
    data = im.encode_bytes(code, ".png")
    with pytest.raises((ImageError, NoQRCode)):
        decode_qr_image(data[: len(data) // 2])


def test_not_bytes() -> None:
    with pytest.raises(ImageError):
        decode_qr_image("not bytes")  # type: ignore[arg-type]


def test_bytearray_and_memoryview() -> None:
    digits, code = _code(45)
    data = im.encode_bytes(code, ".png")
    assert decode_qr_image(bytearray(data)) == decode_qr_image(memoryview(data)) == digits


def test_pillow_only_format() -> None:
    """A format OpenCV has no decoder for (TGA) still loads, through Pillow."""
    digits, code = _code(46)
    buf = io.BytesIO()
    Image.fromarray(code).save(buf, format="TGA")
    assert decode_qr_image(buf.getvalue()) == digits


# 7000^2 = 49 Mpx passes Pillow's own checks (our cap is lower); 10000^2 makes Pillow warn
# (an error under pytest's filterwarnings); 20000^2 makes Pillow raise. All three are ours.
@pytest.mark.parametrize("side", [7000, 10000, 20000])
def test_huge_dimensions_rejected_from_header(side: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png_claiming(side, side)
    assert len(data) < 5000
    _forbid_pixel_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        decode_qr_image(data)


def test_max_pixels_override() -> None:
    _, code = _code(42)  # 276x276
    data = im.encode_bytes(code, ".png")
    with pytest.raises(ImageTooLarge):
        read_image(data, max_pixels=276 * 276 - 1)
    assert read_image(data, max_pixels=276 * 276).shape == (276, 276)


def test_too_many_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    _, code = _code(43)
    data = im.encode_bytes(code, ".png")
    _forbid_pixel_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        decode_qr_image(data, max_bytes=len(data) - 1)
    with pytest.raises(ImageTooLarge):
        decode_qr_image(b"\x89PNG" + b"\x00" * MAX_IMAGE_BYTES)


def test_read_image_gives_gray_uint8() -> None:
    _, frame = _frame(44)
    img = read_image(im.encode_bytes(frame, ".jpg"))
    assert img.shape == (FRAME_H, FRAME_W) and img.dtype == np.uint8


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 10), np.uint8), np.zeros(10, np.uint8), np.zeros((4, 4, 4, 4), np.uint8), [[0, 1]]],
)
def test_bad_arrays(bad: object) -> None:
    with pytest.raises(ImageError):
        decode_qr_array(bad)  # type: ignore[arg-type]


_DAMAGE_BASE = im.encode_bytes(im.make_qr(_digits(50), box_size=2), ".png")
_EXPECTED = (ImageError, NoQRCode, AmbiguousQRCode)
_SIGNATURES = [
    b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBP", b"II*\x00",
]


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_only_raise_expected_errors(data: bytes) -> None:
    try:
        decode_qr_image(data)
    except _EXPECTED:
        pass


@settings(max_examples=50, deadline=None)
@given(prefix=st.sampled_from(_SIGNATURES), rest=st.binary(max_size=2000))
def test_bytes_behind_an_image_signature_only_raise_expected_errors(prefix: bytes, rest: bytes) -> None:
    # A real magic number gets past format sniffing into the header parsers, where bugs live.
    try:
        decode_qr_image(prefix + rest)
    except _EXPECTED:
        pass


@settings(max_examples=30, deadline=None)
@given(cut=st.integers(min_value=1, max_value=4000), flip=st.integers(min_value=0, max_value=4000))
def test_damaged_real_image_only_raises_expected_errors(cut: int, flip: int) -> None:
    data = bytearray(_DAMAGE_BASE[:cut] if cut < len(_DAMAGE_BASE) else _DAMAGE_BASE)
    if flip < len(data):
        data[flip] ^= 0xFF
    try:
        decode_qr_image(bytes(data))
    except _EXPECTED:
        pass



# --- the degradation helpers themselves -------------------------------------------------------

_DEGRADATIONS = {
    "gaussian_blur": lambda img, rng: im.gaussian_blur(img, 2.0),
    "motion_blur": lambda img, rng: im.motion_blur(img, 9, 30),
    "jpeg": lambda img, rng: im.jpeg(img, 30),
    "scale": lambda img, rng: im.scale(img, 0.5),
    "rotate": lambda img, rng: im.rotate(img, 20),
    "invert": lambda img, rng: im.invert(img),
    "gaussian_noise": lambda img, rng: im.gaussian_noise(img, 20, rng),
    "salt_and_pepper": lambda img, rng: im.salt_and_pepper(img, 0.05, rng),
    "low_contrast": lambda img, rng: im.low_contrast(img, 100, 150),
    "glare": lambda img, rng: im.glare(img, center=(50, 50), radius=30, strength=0.8),
    "uneven_light": lambda img, rng: im.uneven_light(img, darkest=0.3),
}


@pytest.mark.parametrize("name", sorted(_DEGRADATIONS))
@pytest.mark.parametrize("colour", [False, True])
def test_degradations_are_pure_and_seeded(name: str, colour: bool) -> None:
    _, code = _code(60, box_size=2)
    img = im.to_bgr(code) if colour else code
    before = img.copy()
    first = _DEGRADATIONS[name](img, np.random.default_rng(1))
    again = _DEGRADATIONS[name](img, np.random.default_rng(1))
    assert np.array_equal(img, before)  # input untouched
    assert np.array_equal(first, again)  # same seed, same image
    assert first.dtype == np.uint8 and first.ndim == img.ndim


# --- memory: what a decoding may hold ---------------------------------------------------------


@pytest.mark.parametrize(("width", "height", "scale"),
                         [(2000, 1500, 1), (4000, 3000, 2), (8000, 6000, 4), (8160, 6120, 4)])
def test_a_large_jpeg_is_decoded_at_a_fraction_of_its_size(width: int, height: int,
                                                           scale: int) -> None:
    """12, 48 and 50 Mpx phone photos: libjpeg decodes them at 1/2 or 1/4, and the code is read."""
    digits = _digits(60)
    data = im.phone_photo(digits, width, height)
    assert read_image(data).shape == (-(-height // scale), -(-width // scale))
    assert decode_qr_image(data) == digits


def test_the_scale_follows_max_pixels() -> None:
    data = im.phone_photo(_digits(61), 4000, 3000)
    assert read_image(data, max_pixels=12_000_000).shape == (3000, 4000)
    assert read_image(data, max_pixels=750_000).shape == (750, 1000)  # 1/4
    assert read_image(data, max_pixels=200_000).shape == (375, 500)  # 1/8
    with pytest.raises(ImageTooLarge):
        read_image(data, max_pixels=100_000)  # not even 1/8 fits


def test_a_progressive_jpeg_pays_for_its_whole_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """libjpeg keeps every coefficient of a progressive JPEG at any scale (2 bytes a sample):
    a 48 Mpx one would hold ~140 MB, so it is refused from its header; a baseline one is not."""
    digits = _digits(62)
    baseline = decoding_bytes(im.phone_photo(digits, 8000, 6000))
    progressive = im.phone_photo(digits, 8000, 6000, progressive=True)
    _forbid_pixel_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        decoding_bytes(progressive)
    with pytest.raises(ImageTooLarge):
        decode_qr_image(progressive)
    assert baseline <= imaging.gray_decoding_bytes(MAX_IMAGE_PIXELS)


def test_a_small_progressive_jpeg_is_read() -> None:
    digits = _digits(63)
    assert decode_qr_image(im.phone_photo(digits, 1600, 1200, progressive=True)) == digits


def test_png_over_the_pixel_cap_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only JPEG can be decoded smaller; any other format over the cap is a 413, not a decode."""
    data = _png_claiming(2500, 2000)  # 5 Mpx, each side and the shape fine
    _forbid_pixel_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge):
        decode_qr_image(data)
    assert decoding_bytes(data, max_pixels=5_000_000) == imaging.gray_decoding_bytes(5_000_000)


def test_transparency_costs_more_than_gray() -> None:
    """A PNG with alpha is decoded as BGRA (4 bytes a pixel) before it is gray: it is budgeted
    so, and refused at a size where a gray one passes."""
    gray = np.full((1000, 1000), 255, np.uint8)
    bgra = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGRA)
    gray_png, bgra_png = im.encode_bytes(gray, ".png"), im.encode_bytes(bgra, ".png")
    assert decoding_bytes(bgra_png) > decoding_bytes(gray_png)
    limit = 1000 * 1000
    assert read_image(gray_png, max_pixels=limit).shape == (1000, 1000)
    with pytest.raises(ImageTooLarge):
        read_image(bgra_png, max_pixels=limit)


def test_compositing_on_white_matches_the_float_formula() -> None:
    rng = np.random.default_rng(64)
    bgra = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    expected = cv2.cvtColor((bgra[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8),
                            cv2.COLOR_BGR2GRAY)
    got = imaging._composite_on_white(bgra, cv2.COLOR_BGRA2GRAY)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 2
