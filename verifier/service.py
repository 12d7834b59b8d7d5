"""The one accept/reject decision, from the local cache only: never the network.

Pipeline, each step's failures in the contract's precedence order:
QR text -> compact JWS -> parse (malformed) -> signature, issuer, key and type (unsupported_algorithm,
untrusted_issuer, unknown_key, bad_signature, wrong_type) -> claims (malformed) -> device clock
(clock_invalid) -> exp/nbf (expired, not_yet_valid) -> status list (revoked, suspended,
status_unavailable; warning status_stale) -> venue policy (not_entitled).
Nothing is read from a token before its signature verifies, so a forgery is never reported as
merely expired.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from shared import qrtext
from shared.codes import Code, Warning_, message
from shared.credential import Credential
from shared.errors import AmbiguousQRCode, ImageError, NoQRCode, SocpassError, TokenError
from shared.statuslist import REVOKED, SUSPENDED, VALID
from shared.token import CREDENTIAL_TYP, check_times, parse, verify
from verifier import freshness
from verifier.cache import TrustCache
from verifier.config import Settings
from verifier.policy import Profile, entitlement_for, load_profile

log = logging.getLogger("socpass.verifier")

ACCEPT, REJECT = "accept", "reject"

AMBIGUOUS_RU = ("В кадре два разных QR-кода. Закройте лишний и отсканируйте только QR-код "
                "удостоверения.")
AMBIGUOUS_EN = "Two different QR codes are in view. Cover the other one and scan only the credential."


class ScannerUnavailable(SocpassError):
    """Image scanning is not installed on this device (the text field still works)."""

    code = "scanner_unavailable"


@dataclass(frozen=True)
class Result:
    verdict: str
    code: str
    checked_at: int
    warnings: tuple[str, ...] = ()
    credential: dict[str, Any] | None = None  # only when the signature verified
    entitlement: dict[str, Any] | None = None
    message_ru: str | None = None  # replaces the code's standard message when set
    message_en: str | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPT

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "code": self.code,
                "message": self.message_ru or message(self.code, "ru"),
                "message_en": self.message_en or message(self.code, "en"),
                "warnings": list(self.warnings), "credential": self.credential,
                "entitlement": self.entitlement, "checked_at": self.checked_at}


def where_raised(err: BaseException) -> str:
    """Exception type and innermost file:line, without its message (which may quote a name)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    return type(err).__name__ + where


def valid_until(expires_at: int, tz_name: str | None) -> str | None:
    """The last day of validity: the date of exp - 1 s in the issuer's time zone (else UTC)."""
    tz: Any = timezone.utc
    if tz_name:
        try:
            tz = ZoneInfo(tz_name)
        except Exception:  # unknown or malformed zone name in metadata: fall back to UTC
            tz = timezone.utc
    try:
        return datetime.fromtimestamp(expires_at - 1, tz).date().isoformat()
    except (OverflowError, ValueError, OSError):
        return None


class Verifier:
    def __init__(self, cache: TrustCache, settings: Settings, profile: Profile | None = None) -> None:
        self.cache = cache
        self.settings = settings
        self.profile = profile or load_profile(settings.venue_profile, settings.venue_policy)

    # --- decisions ------------------------------------------------------------------------------
    def verify_text(self, text: str, now: int | float) -> Result:
        """Decide on the text read from a QR code (digits form or a plain compact JWS)."""
        now = int(now)
        credential: Credential | None = None
        try:
            result, credential = self._decide(text, now)
        except Exception as err:  # a bug or an input nobody foresaw: refuse, never crash
            log.error("unexpected %s while verifying; answered malformed", where_raised(err))
            result = Result(REJECT, Code.MALFORMED.value, now)
        # No personal data in logs: the outcome, the credential type and category only.
        log.info("verify code=%s verdict=%s type=%s category=%s warnings=%s", result.code,
                 result.verdict, credential.type if credential else "-",
                 (credential.category or "-") if credential else "-",
                 ",".join(result.warnings) or "-")
        return result

    def verify_image(self, data: bytes, now: int | float) -> Result:
        """Find the one QR code in an image and verify it.

        Raises ImageError (ImageTooLarge included) when the image cannot be used at all, and
        ScannerUnavailable when image decoding is not installed.
        """
        now = int(now)
        try:
            from shared.qrimage import decode_qr_image  # heavy (OpenCV); only when scanning
        except ImportError as err:
            raise ScannerUnavailable("image scanning is not available on this device") from err
        try:
            text = decode_qr_image(data, max_bytes=self.settings.max_body,
                                   max_pixels=self.settings.max_image_pixels)
        except NoQRCode:
            log.info("scan code=no_qr")
            return Result(REJECT, Code.NO_QR.value, now)
        except AmbiguousQRCode:
            log.info("scan code=malformed reason=two_codes")
            return Result(REJECT, Code.MALFORMED.value, now, message_ru=AMBIGUOUS_RU,
                          message_en=AMBIGUOUS_EN)
        except ImageError:
            raise
        except Exception as err:  # a decoder failure on odd input is a bad image, not a 500
            log.error("unexpected %s while decoding an image", where_raised(err))
            raise ImageError("the image could not be read") from err
        return self.verify_text(text, now)

    def _decide(self, text: str, now: int) -> tuple[Result, Credential | None]:
        try:
            parsed = parse(qrtext.decode(text))
            verified = verify(parsed, self.cache, typ=CREDENTIAL_TYP)
            credential = Credential.from_claims(verified.claims)
        except TokenError as err:
            return Result(REJECT, err.verification_code.value, now), None
        shown = self._public(credential)

        def reject(code: Code, warnings: tuple[str, ...] = ()) -> tuple[Result, Credential]:
            return Result(REJECT, code.value, now, warnings, credential=shown), credential

        newest = self.cache.newest_iat
        if newest is not None and now < newest - self.settings.clock_tolerance:
            return reject(Code.CLOCK_INVALID)
        try:
            check_times(verified.claims, now, self.settings.leeway)
        except TokenError as err:
            return reject(err.verification_code)
        status_code, warnings = self._status(credential, now)
        if status_code is not None:
            return reject(status_code, warnings)
        entitlement = entitlement_for(credential, self.profile)
        if entitlement is None:
            return reject(Code.NOT_ENTITLED, warnings)
        return Result(ACCEPT, Code.VALID.value, now, warnings, shown, entitlement), credential

    def _status(self, credential: Credential, now: int) -> tuple[Code | None, tuple[str, ...]]:
        entry = self.cache.status(credential.status.uri, credential.status.idx)
        if entry is None or entry.status_list.issuer != credential.issuer:
            return Code.STATUS_UNAVAILABLE, ()
        # A revocation is believed however old the list: it can only become "less revoked" by
        # a newer list, which a sync would bring.
        if entry.value == REVOKED:
            return Code.REVOKED, ()
        if entry.value == SUSPENDED:
            return Code.SUSPENDED, ()
        if entry.value != VALID:
            return Code.STATUS_UNAVAILABLE, ()
        judged = freshness.judge(entry.status_list, now, self.settings.status_grace)
        if judged.state == freshness.UNUSABLE:
            return Code.STATUS_UNAVAILABLE, ()
        if judged.state == freshness.STALE:
            return None, (Warning_.STATUS_STALE.value,)
        return None, ()

    def _public(self, credential: Credential) -> dict[str, Any]:
        out = credential.to_public_dict()
        issuer = self.cache.issuer(credential.issuer)
        out["issuer_name"] = issuer.metadata.name if issuer else None
        out["valid_until"] = valid_until(credential.expires_at,
                                         issuer.metadata.timezone if issuer else None)
        return out

    # --- device state ---------------------------------------------------------------------------
    def clock_ok(self, now: int) -> bool:
        newest = self.cache.newest_iat
        return newest is None or now >= newest - self.settings.clock_tolerance

    def status_report(self, now: int | float) -> dict[str, Any]:
        """What /api/status and `socpass-verifier status` show: sync age, issuers, staleness."""
        now = int(now)
        grace = self.settings.status_grace
        issuers, stale = [], not self.cache.issuers
        for issuer in self.cache.issuers.values():
            lists = []
            for uri, slt in issuer.status_lists.items():
                judged = freshness.judge(slt, now, grace)
                stale = stale or judged.stale
                lists.append({"uri": uri, "iat": slt.issued_at, "exp": slt.expires_at,
                              "ttl": slt.ttl, "age_seconds": judged.age, "stale": judged.stale,
                              "state": judged.state, "stale_at": judged.stale_at})
            issuers.append({"iss": issuer.iss, "name": issuer.metadata.name,
                            "region": issuer.metadata.region, "source": issuer.source,
                            "keys": len(issuer.keys), "kids": [k.kid for k in issuer.keys],
                            "status_lists": lists})
        synced_at = self.cache.synced_at
        clock_ok = self.clock_ok(now)
        return {"ok": self.cache.error is None and not stale and clock_ok,
                "cache_error": self.cache.error, "synced_at": synced_at,
                "sync_age_seconds": None if synced_at is None else now - synced_at,
                "venue_profile": self.profile.name, "venue_name": self.profile.name_ru,
                "issuers": issuers, "stale": stale, "clock_ok": clock_ok, "now": now}
