"""The one accept/reject decision, from the local cache only: never the network.

Pipeline, each step's failures in the contract's precedence order:
QR text -> compact JWS -> parse (malformed) -> signature, issuer, key and type (unsupported_algorithm,
untrusted_issuer, unknown_key, bad_signature, wrong_type) -> claims (malformed) -> device clock
(clock_invalid) -> exp/nbf (expired, not_yet_valid) -> status list (revoked, suspended,
status_unavailable; warning status_stale) -> venue policy (not_entitled) -> repeated use at
this device (warning recently_used, or not_entitled when the venue rejects a second use).
Nothing is read from a token before its signature verifies, so a forgery is never reported as
merely expired. Every verdict is written to the scan log when one is given (never a no_qr frame).
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from shared import qrtext
from shared.codes import Code, Warning_
from shared.credential import CATEGORIES, Credential
from shared.errors import AmbiguousQRCode, ImageError, NoQRCode, SocpassError, TokenError
from shared.statuslist import REVOKED, SUSPENDED, VALID
from shared.token import CREDENTIAL_TYP, check_times, verify
from verifier import freshness
from verifier.cache import TrustCache
from verifier.config import Settings
from shared.publication import PublicationError, parse_profiles
from shared.messages import (CACHE_REFUSED_EN, CACHE_REFUSED_RU, REGION_NAMES, TRUST_LIST_STALE_EN,
                             TRUST_LIST_STALE_RU)
from verifier.policy import FEDERAL, Profile, VenuePolicy, entitlement_for, load_policy
from verifier.imagebudget import DECODING
from verifier.repeated import recently_used
from verifier.result import ACCEPT, REJECT, Result, Shown
from verifier.scanlog import Entry, ScanLog, ScanLogError

log = logging.getLogger("socpass.verifier")

AMBIGUOUS_RU = ("В кадре два разных QR-кода. Закройте лишний и отсканируйте только QR-код "
                "удостоверения.")
AMBIGUOUS_EN = "Two different QR codes are in view. Cover the other one and scan only the credential."


class ScannerUnavailable(SocpassError):
    """Image scanning is not installed on this device (the text field still works)."""

    code = "scanner_unavailable"


def where_raised(err: BaseException) -> str:
    """Exception type and innermost file:line, without its message (which may quote a name)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    return type(err).__name__ + where


@functools.lru_cache(maxsize=4096)  # a day's credentials share a few dozen expiry times
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
    def __init__(self, cache: TrustCache, settings: Settings,
                 policy: VenuePolicy | Profile | None = None, *,
                 scanlog: ScanLog | None = None) -> None:
        self.cache = cache
        self.settings = settings
        if isinstance(policy, Profile):  # a fixed profile: its rules for every issuer
            policy = VenuePolicy(name=policy.name, local=policy, builtin=None)
        self.policy = policy or load_policy(settings.venue_profile, settings.venue_policy, cache)
        self.scanlog = scanlog
        self._visitors_for: Any = None
        self._visitors: dict[str, Profile] = {}
        self._freshness_memo: tuple[Any, int, str] | None = None

    # --- decisions ------------------------------------------------------------------------------
    def verify_text(self, text: str, now: int | float, *, via: str = "text") -> Result:
        """Decide on the text read from a QR code (digits form or a plain compact JWS)."""
        now = int(now)
        credential: Credential | None = None
        try:
            result, credential = self._decide(text, now)
        except Exception as err:  # a bug or an input nobody foresaw: refuse, never crash
            log.error("unexpected %s while verifying; answered malformed", where_raised(err))
            result = Result(REJECT, Code.MALFORMED.value, now)
        result = self._log(result, credential, now, via)
        if not log.isEnabledFor(logging.INFO):
            return result
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
        found = self.read_image(data, now)
        return found if isinstance(found, Result) else self.verify_text(found, now, via="image")

    def read_image(self, data: bytes, now: int | float) -> str | Result:
        """The text of the one QR code in an image, or the Result when there is none to verify
        (no_qr, or two different codes). Raises like verify_image."""
        now = int(now)
        try:
            from verifier.imaging import decode_qr_image, decoding_bytes  # heavy (OpenCV): scans only
        except ImportError as err:
            raise ScannerUnavailable("image scanning is not available on this device") from err
        limits = {"max_bytes": self.settings.max_body, "max_pixels": self.settings.max_image_pixels}
        try:
            peak = decoding_bytes(data, **limits)  # every cap, before any pixel is decoded
            with DECODING.hold(peak):
                text = decode_qr_image(data, **limits)
        except NoQRCode:
            log.info("scan code=no_qr")
            return Result(REJECT, Code.NO_QR.value, now)
        except AmbiguousQRCode:
            log.info("scan code=malformed reason=two_codes")
            return self._log(Result(REJECT, Code.MALFORMED.value, now, message_ru=AMBIGUOUS_RU,
                                    message_en=AMBIGUOUS_EN), None, now, "image")
        except ImageError:
            raise
        except Exception as err:  # a decoder failure on odd input is a bad image, not a 500
            log.error("unexpected %s while decoding an image", where_raised(err))
            raise ImageError("the image could not be read") from err
        return text

    def _decide(self, text: str, now: int) -> tuple[Result, Credential | None]:
        try:
            parsed = qrtext.parse(text)
            verified = verify(parsed, self.cache, typ=CREDENTIAL_TYP)
            credential = Credential.from_claims(verified.claims)
        except TokenError as err:
            if self.cache.error is not None and err.verification_code != Code.MALFORMED:
                # every issuer is unknown because the cache was refused: say so
                return Result(REJECT, err.verification_code.value, now,
                              message_ru=CACHE_REFUSED_RU.format(why=self.cache.error),
                              message_en=CACHE_REFUSED_EN.format(why=self.cache.error)), None
            return Result(REJECT, err.verification_code.value, now), None
        shown = Shown(credential, self._public)

        def reject(code: Code, warnings: tuple[str, ...] = ()) -> tuple[Result, Credential]:
            return Result(REJECT, code.value, now, warnings, shown=shown), credential

        newest = self.cache.newest_iat
        if newest is not None and now < newest - self.settings.clock_tolerance:
            return reject(Code.CLOCK_INVALID)
        try:
            check_times(verified.claims, now, self.settings.leeway)
        except TokenError as err:
            return reject(err.verification_code)
        if self.cache.trust_list_expired(now):
            # Federated mode: nothing the expired list vouches for is accepted (docs/federation.md).
            return Result(REJECT, Code.STATUS_UNAVAILABLE.value, now, shown=shown,
                          message_ru=TRUST_LIST_STALE_RU, message_en=TRUST_LIST_STALE_EN), credential
        status_code, warnings = self._status(credential, now)
        if status_code is not None:
            return reject(status_code, warnings)
        entitlement = self._entitlement(credential)
        if entitlement is None:
            return reject(Code.NOT_ENTITLED, warnings)
        return Result(ACCEPT, Code.VALID.value, now, warnings, shown, entitlement), credential

    def _entitlement(self, credential: Credential) -> dict[str, Any] | None:
        issuer = self.cache.issuer(credential.issuer)
        visitors = self._visitor_rules(credential)
        if visitors is not None and self.policy.local is None:
            # A visitor from another region: the federal list's visitors' rules decide.
            profile = visitors.get(self.policy.name)
            granted = entitlement_for(credential, profile) if profile is not None else None
            if granted is not None:
                granted["source"] = FEDERAL
            return granted
        return self.policy.entitlement(credential, issuer.entitlements if issuer else None)

    def _visitor_rules(self, credential: Credential) -> dict[str, Profile] | None:
        """The visitors' profiles when the credential comes from another region than this
        venue's (SOCPASS_VENUE_REGION) and the trust list carries visitors' rules; else None."""
        tl = self.cache.trust_list
        venue_region = self.settings.venue_region
        if tl is None or venue_region is None or "visitors" not in tl.rules:
            return None
        region, _name = self.cache.region_name(credential.issuer)
        if region == venue_region:
            return None
        if self._visitors_for is not tl:
            try:
                self._visitors = parse_profiles(tl.rules["visitors"], "trust list visitors' rules")
            except PublicationError as err:
                log.error("trust list visitors' rules refused, visitors get nothing: %s", err)
                self._visitors = {}
            self._visitors_for = tl
        return self._visitors

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
        state = self._freshness(entry.status_list, now)
        if state == freshness.UNUSABLE:
            return Code.STATUS_UNAVAILABLE, ()
        if state == freshness.STALE:
            return None, (Warning_.STATUS_STALE.value,)
        return None, ()

    def _freshness(self, slt: Any, now: int) -> str:
        # A queue of scans asks about the same list in the same second: judge it once.
        memo = self._freshness_memo
        if memo is not None and memo[0] is slt and memo[1] == now:
            return memo[2]
        state = freshness.judge(slt, now, self.settings.status_grace).state
        self._freshness_memo = (slt, now, state)
        return state

    # --- the scan log and repeated use -----------------------------------------------------------
    def _log(self, result: Result, credential: Credential | None, now: int, via: str) -> Result:
        """Record the verdict; a second accepted use within the window gets recently_used."""
        if self.scanlog is None:
            return result
        try:
            with self.scanlog.session() as session:
                if result.accepted and credential is not None:
                    previous = session.previous_use(credential.issuer, credential.jti, now)
                    if previous is not None:
                        result = recently_used(result, now, previous, self.settings, self.scanlog)
                entitlement = result.entitlement or {}
                persons = entitlement.get("persons") if result.accepted else None
                session.record(Entry(
                    at=now, verdict=result.verdict, code=result.code, warnings=result.warnings,
                    type=credential.type if credential else None,
                    category=credential.category if credential else None,
                    persons=persons if isinstance(persons, int) else None,
                    profile=self.policy.name, via=via),
                    (credential.issuer, credential.jti) if credential else None)
        except ScanLogError as err:
            # The verdict stands without the log; repeated use cannot be seen meanwhile.
            log.error("scan log unavailable: %s", err.description)
        return result

    def _public(self, credential: Credential) -> dict[str, Any]:
        out = credential.to_public_dict()
        out["type_label_en"] = credential.type_label("en")
        if credential.category is not None:
            out["category_label_en"] = CATEGORIES[credential.category]["en"]
        issuer = self.cache.issuer(credential.issuer)
        out["issuer_name"] = issuer.metadata.name if issuer else None
        region, region_name = self.cache.region_name(credential.issuer)
        # The issuing region (the trust list's, else the issuer's metadata); holder's "region"
        # stays as signed in the credential.
        out["issuer_region"] = region
        out["region_name"] = (region_name if self.cache.trust_list is not None
                              else REGION_NAMES.get(region or ""))
        out["valid_until"] = valid_until(credential.expires_at,
                                         issuer.metadata.timezone if issuer else None)
        return out

    # --- device state ---------------------------------------------------------------------------
    def clock_ok(self, now: int) -> bool:
        newest = self.cache.newest_iat
        return newest is None or now >= newest - self.settings.clock_tolerance
