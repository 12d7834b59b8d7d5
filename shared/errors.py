"""Typed errors with stable codes.

One root; token errors (a presented credential is bad) and configuration or input errors (our
own side is wrong) are siblings, not parent and child.
"""
from __future__ import annotations

from shared.codes import Code


class SocpassError(Exception):
    """Root of every error this project raises on purpose."""

    code: str = "error"

    def __init__(self, description: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.description = description or self.__class__.__doc__ or self.code
        super().__init__(self.description)

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class TokenError(SocpassError):
    """A presented credential or status list is not acceptable."""

    def __init__(self, code: Code, description: str = "") -> None:
        super().__init__(description or code.value, code=code.value)
        self.verification_code = code


class ImageError(SocpassError):
    """An image cannot be used to look for a QR code (empty, undecodable or too large)."""

    code = "bad_image"


class ImageTooLarge(ImageError):
    """The image is larger than allowed (bytes or pixels)."""

    code = "image_too_large"


class NoQRCode(SocpassError):
    """The image holds no readable QR code."""

    code = Code.NO_QR.value


class AmbiguousQRCode(SocpassError):
    """The image holds more than one different QR code."""

    code = "ambiguous_qr"


class ConfigError(SocpassError):
    """A setting or a key file is wrong."""

    code = "config"


class InputError(SocpassError):
    """Data given to the issuer (a form, a CSV row, CLI arguments) is invalid."""

    code = "invalid_input"


class KeyError_(SocpassError):
    """A key cannot be loaded, decrypted or used."""

    code = "key"
