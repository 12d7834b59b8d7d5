"""Fuzz targets: each takes arbitrary bytes and must end in a typed error or a valid result.

Run them with atheris (`make fuzz`), or call them directly (the tests feed each a corpus).
Anything other than the listed exceptions escaping a target is a bug.
"""
from __future__ import annotations

import io
import json

from shared import keys, qrtext, statuslist, token
from shared.errors import AmbiguousQRCode, ImageError, InputError, NoQRCode, TokenError
from tests.vectors.build import issuers


def _resolver() -> keys.StaticKeyResolver:
    r = keys.StaticKeyResolver()
    for iss in issuers():
        r.add(keys.VerificationKey(iss.iss, iss.kid, keys.algorithm_for_key(iss.key), iss.key.public_key()))
    return r


RESOLVER = _resolver()


def qr_text(data: bytes) -> None:
    """The QR text decoder and the token parser/verifier behind it."""
    try:
        parsed = qrtext.parse(data.decode("utf-8", "replace"))
        token.verify(parsed, RESOLVER, typ=token.CREDENTIAL_TYP)
    except TokenError:
        pass


def compact_token(data: bytes) -> None:
    try:
        token.verify(token.parse(data), RESOLVER, typ=token.CREDENTIAL_TYP)
    except TokenError:
        pass


def status_list(data: bytes) -> None:
    """A status list object as JSON, and the same bytes as a status list token."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        obj = {"bits": 2, "lst": data.decode("ascii", "replace")}
    try:
        sl = statuslist.StatusList.from_json(obj)
        if sl.size:
            sl.get(sl.size - 1)
    except TokenError:
        pass
    try:
        statuslist.verify_status_list(data.decode("ascii", "replace"), RESOLVER)
    except TokenError:
        pass


_SERVICE = None


def _issuer_service():
    """A real issuer on a throw-away SQLite file: the CSV reader validates rows through it."""
    global _SERVICE
    if _SERVICE is None:
        import tempfile

        from issuer.config import Settings
        from issuer.service import IssuerService

        home = tempfile.mkdtemp(prefix="socpass-fuzz-")
        _SERVICE = IssuerService.open(Settings.from_env({"SOCPASS_HOME": home, "SOCPASS_DEMO": "true",
                                                         "SOCPASS_STATUS_LIST_SIZE": "1024"}))
        _SERVICE.init_issuer("RU-27", "Fuzz", "https://szn.test")
    return _SERVICE


def registry_csv(data: bytes) -> None:
    """The CSV reader: every row becomes validated data or a line-numbered error."""
    from issuer import registrycsv

    try:
        for line, item in registrycsv.parsed_rows(io.BytesIO(data), _issuer_service().today):
            assert line >= 2 and (isinstance(item, str) or item.registry_id)
    except InputError:
        pass


def image(data: bytes) -> None:
    from verifier.imaging import decode_qr_image

    try:
        decode_qr_image(data, max_pixels=4_000_000)
    except (ImageError, NoQRCode, AmbiguousQRCode):
        pass


TARGETS = {"qr_text": qr_text, "compact_token": compact_token, "status_list": status_list,
           "registry_csv": registry_csv, "image": image}
