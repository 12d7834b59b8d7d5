"""Every Result code, reached from real tokens, and the precedence between them."""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import importlib.util
import io
import json
import logging
import socket

import pytest
from PIL import Image

from issuer import qrrender
from shared import keys, qrtext
from shared.codes import Warning_, message
from shared.b64 import b64url_decode, b64url_encode
from shared.credential import StatusRef
from shared.statuslist import REVOKED, SUSPENDED
from shared.token import STATUS_LIST_TYP
from tests.verifier.fakeissuer import DAY, NOW, FakeIssuer, b64json
from verifier.devicestatus import device_status
from verifier import service
from verifier.cache import TrustCache
from verifier.config import Settings
from verifier.service import Verifier


def code(v: Verifier, text: str, now: int = NOW) -> str:
    return v.verify_text(text, now).code


def hand_made(header: dict, claims: dict, signature: bytes = b"\x01" * 64) -> str:
    return b64json(header) + "." + b64json(claims) + "." + b64url_encode(signature)


# --- accept -------------------------------------------------------------------------------------


def test_valid_large_family(verifier, issuer):
    result = verifier.verify_text(issuer.qr(), NOW)
    out = result.to_json()
    assert result.accepted and out["verdict"] == "accept" and out["code"] == "valid"
    assert out["warnings"] == [] and out["checked_at"] == NOW
    assert out["message"].startswith("Удостоверение действительно")
    cred = out["credential"]
    assert cred["holder"] == {"family_name": "Иванова", "given_name": "Мария",
                              "patronymic": "Петровна", "birth_date": "1988-04-12"}
    assert cred["issuer_name"] == issuer.name and cred["children"] == 4
    assert out["entitlement"]["kind"] == "free_entry" and out["entitlement"]["persons"] == 6
    assert out["entitlement"]["text_ru"] == "Бесплатный вход для семьи: до 6 чел."
    assert out["entitlement"]["source"] == "builtin"  # this issuer publishes no rules
    assert (cred["type_label"], cred["type_label_en"]) == ("Многодетная семья", "Large family")
    assert out["warning_messages"] == []
    json.dumps(out)  # serialisable as is


def test_beneficiary_labels_in_both_languages(verifier, issuer):
    cred = verifier.verify_text(issuer.qr(category="disability_1"), NOW).to_json()["credential"]
    assert cred["type_label"] == "Льготник: Инвалид I группы"
    assert cred["type_label_en"] == "Beneficiary: Disability group I"
    assert (cred["category_label"], cred["category_label_en"]) == ("Инвалид I группы",
                                                                   "Disability group I")


def test_every_warning_has_messages_in_both_languages():
    for w in Warning_:
        assert message(w.value, "ru") and message(w.value, "en")


def test_qr_digits_and_plain_compact_jws_both_accepted(verifier, issuer):
    cred = issuer.credential()
    token = issuer.sign(cred)
    digits = qrtext.encode(token)
    assert digits.isdigit() and code(verifier, digits) == "valid"
    assert code(verifier, token) == "valid"
    assert code(verifier, f"  {digits}\r\n") == "valid"  # a handheld scanner ends with Enter


@pytest.mark.parametrize("tz, exp, expected", [
    # Valid until the end of 2026-05-31 in Khabarovsk (UTC+10): exp is midnight there.
    ("Asia/Vladivostok", 1_780_236_000, "2026-05-31"),
    (None, 1_780_272_000, "2026-05-31"),           # no zone: UTC midnight
    ("No/Such_Zone", 1_780_272_000, "2026-05-31"),  # a bad zone name falls back to UTC
])
def test_valid_until_is_the_last_day_in_the_issuers_zone(build, tz, exp, expected):
    issuer = FakeIssuer(timezone=tz)
    out = build(issuer).verify_text(issuer.qr(expires_at=exp), NOW).to_json()
    assert out["code"] == "valid" and out["credential"]["valid_until"] == expected


def test_ed25519_issuer(build):
    issuer = FakeIssuer(alg="EdDSA")
    assert code(build(issuer), issuer.qr()) == "valid"


def test_two_regions_in_one_trust_store(build):
    khv = FakeIssuer()
    prim = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    v = build(khv, prim)
    assert code(v, khv.qr()) == "valid" and code(v, prim.qr()) == "valid"
    # A key of one region never verifies the other's credentials (keys are per (iss, kid)).
    forged = prim.sign(prim.credential(issuer=khv.iss), key=prim.key)
    assert code(v, forged) == "unknown_key"


def test_expiry_within_leeway_still_accepted(verifier, issuer):
    assert code(verifier, issuer.qr(expires_at=NOW - 30)) == "valid"
    assert code(verifier, issuer.qr(expires_at=NOW - 60)) == "expired"


# --- reject, one code at a time -----------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(REVOKED, "revoked"), (SUSPENDED, "suspended"),
                                             (3, "status_unavailable")])
def test_status_values(build, issuer, value, expected):
    cred = issuer.credential()
    issuer.set_status(cred, value)
    out = build(issuer).verify_text(issuer.qr(cred), NOW).to_json()
    assert out["verdict"] == "reject" and out["code"] == expected
    assert out["credential"]["holder"]["family_name"] == "Иванова"  # signature verified
    assert out["entitlement"] is None


def test_one_bit_list_revocation(build):
    issuer = FakeIssuer(bits=1)
    cred = issuer.credential()
    issuer.set_status(cred, 1)
    assert code(build(issuer), issuer.qr(cred)) == "revoked"


def test_expired(verifier, issuer):
    out = verifier.verify_text(issuer.qr(expires_at=NOW - DAY), NOW).to_json()
    assert out["code"] == "expired" and out["credential"] is not None


@pytest.mark.parametrize("overrides", [{"not_before": NOW + 3600}, {"issued_at": NOW + 3600}])
def test_not_yet_valid(verifier, issuer, overrides):
    assert code(verifier, issuer.qr(**overrides)) == "not_yet_valid"


def test_untrusted_issuer(verifier):
    stranger = FakeIssuer(iss="RU-77-DSZN", url="https://dszn.moscow.example", region="77")
    out = verifier.verify_text(stranger.qr(), NOW).to_json()
    assert out["code"] == "untrusted_issuer" and out["credential"] is None


def test_unknown_key(verifier, issuer):
    key, kid = keys.generate_private_key(), None  # the issuer's new key, not synced yet
    assert code(verifier, issuer.qr(key=key, kid=kid)) == "unknown_key"


def test_rotated_key_known_after_sync(build, issuer):
    key, kid = issuer.add_key("EdDSA")
    assert code(build(issuer), issuer.qr(key=key)) == "valid"


def test_bad_signature_tampered_payload(verifier, issuer):
    token = issuer.sign(issuer.credential())
    header, payload, sig = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["n"] = 9  # "more children, more free tickets"
    tampered = f"{header}.{b64json(claims)}.{sig}"
    assert code(verifier, tampered) == "bad_signature"
    assert code(verifier, qrtext.encode(tampered)) == "bad_signature"


def test_bad_signature_forged_with_another_key(verifier, issuer):
    attacker = keys.generate_private_key()
    out = verifier.verify_text(issuer.qr(key=attacker, kid=issuer.kid), NOW).to_json()
    assert out["code"] == "bad_signature" and out["credential"] is None


def test_wrong_type_status_list_presented_as_credential(verifier, issuer):
    assert code(verifier, issuer.status_token()) == "wrong_type"


def test_wrong_type_other_typ(verifier, issuer):
    assert code(verifier, issuer.qr(typ="JWT")) == "wrong_type"
    assert code(verifier, issuer.qr(typ=STATUS_LIST_TYP)) == "wrong_type"


def test_unsupported_algorithm_none(verifier, issuer):
    claims = issuer.credential().to_claims()
    token = hand_made({"alg": "none", "kid": issuer.kid, "typ": "socpass+jwt"}, claims)
    assert code(verifier, token) == "unsupported_algorithm"
    assert code(verifier, qrtext.encode(token)) == "unsupported_algorithm"
    # The unsigned form with an empty signature is not even a well-formed compact JWS here.
    empty_sig = token.rsplit(".", 1)[0] + "."
    assert verifier.verify_text(empty_sig, NOW).verdict == "reject"


def test_unsupported_algorithm_hs256_with_the_public_key_as_secret(verifier, issuer):
    # The classic key-confusion forgery: HMAC keyed with the issuer's public key.
    claims = issuer.credential().to_claims()
    header = {"alg": "HS256", "kid": issuer.kid, "typ": "socpass+jwt"}
    signing_input = (b64json(header) + "." + b64json(claims)).encode()
    secret = json.dumps(keys.public_jwk(issuer.key)).encode()
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    assert code(verifier, signing_input.decode() + "." + b64url_encode(mac)) == "unsupported_algorithm"


def test_unsupported_algorithm_when_alg_does_not_match_the_key(verifier, issuer):
    claims = issuer.credential().to_claims()
    token = hand_made({"alg": "EdDSA", "kid": issuer.kid, "typ": "socpass+jwt"}, claims)
    assert code(verifier, token) == "unsupported_algorithm"


@pytest.mark.parametrize("text", [
    "", "   \n", "hello", "12345", "a.b.c", "0" * 50, "9" * 5000, "Иванова", "aGVsbG8.d29ybGQ.Zm9v",
    "https://example.org/?q=1",
])
def test_malformed_garbage(verifier, text):
    out = verifier.verify_text(text, NOW).to_json()
    assert out["code"] == "malformed" and out["verdict"] == "reject" and out["credential"] is None


@pytest.mark.parametrize("value", [None, 12, b"bytes", ["list"]])
def test_malformed_non_string_input(verifier, value):
    assert verifier.verify_text(value, NOW).code == "malformed"  # type: ignore[arg-type]


def test_malformed_embedded_jwk_header(verifier, issuer):
    # A token that brings its own key must never verify against it.
    attacker = keys.generate_private_key()
    claims = issuer.credential().to_claims()
    header = {"alg": "ES256", "kid": issuer.kid, "typ": "socpass+jwt", "jwk": keys.public_jwk(attacker)}
    signing_input = b64json(header) + "." + b64json(claims)
    from jwt.algorithms import ECAlgorithm
    sig = ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), attacker)
    assert code(verifier, signing_input + "." + b64url_encode(sig)) == "malformed"


def test_malformed_truncated_qr_digits(verifier, issuer):
    digits = issuer.qr()
    assert code(verifier, digits[: len(digits) // 2]) == "malformed"


def test_malformed_claims_after_a_valid_signature(verifier, issuer):
    claims = issuer.credential().to_claims()
    claims["t"] = "golden_ticket"
    from shared.token import CREDENTIAL_TYP, sign
    out = verifier.verify_text(sign(claims, issuer.key, issuer.kid, CREDENTIAL_TYP), NOW).to_json()
    assert out["code"] == "malformed" and out["credential"] is None


def test_clock_invalid(verifier, issuer, synced):
    behind = synced.newest_iat - verifier.settings.clock_tolerance - 1
    assert code(verifier, issuer.qr(issued_at=behind - DAY), behind) == "clock_invalid"
    # Just within tolerance is fine.
    assert code(verifier, issuer.qr(issued_at=behind - DAY), behind + 2) == "valid"


def test_status_unavailable_list_not_cached(verifier, issuer):
    cred = issuer.credential(status=StatusRef(3, issuer.list_uri("9")))
    assert code(verifier, issuer.qr(cred)) == "status_unavailable"


def test_status_unavailable_index_out_of_range(verifier, issuer):
    cred = issuer.credential(status=StatusRef(issuer.list_size + 5, issuer.list_uri()))
    assert code(verifier, issuer.qr(cred)) == "status_unavailable"


def test_status_unavailable_list_of_another_issuer(build):
    khv = FakeIssuer()
    prim = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    cred = khv.credential(status=StatusRef(1, prim.list_uri()))
    assert code(build(khv, prim), khv.qr(cred)) == "status_unavailable"


def test_status_stale_warning_then_unavailable(verifier, issuer, settings):
    stale_at = issuer.list_iat + issuer.list_ttl
    token = issuer.qr()
    assert code(verifier, token, stale_at) == "valid"
    out = verifier.verify_text(token, stale_at + 1).to_json()
    assert out["verdict"] == "accept" and out["code"] == "valid"
    assert out["warnings"] == ["status_stale"]
    assert out["warning_messages"] == [{
        "code": "status_stale", "message": message("status_stale", "ru"),
        "message_en": message("status_stale", "en")}]
    last = stale_at + settings.status_grace
    assert verifier.verify_text(token, last).warnings == ("status_stale",)
    assert code(verifier, token, last + 1) == "status_unavailable"


def test_status_unavailable_past_the_lists_exp(build, issuer, settings):
    # exp comes before iat + ttl + grace: exp is the issuer's hard limit.
    v = build(issuer, exp=NOW + 600, ttl=DAY)
    token = issuer.qr()
    assert v.verify_text(token, NOW + 599).code == "valid"
    assert v.verify_text(token, NOW + 600).code == "status_unavailable"


def test_empty_cache_rejects_everything(issuer, settings):
    v = Verifier(TrustCache.empty(error="tampered"), settings)
    assert code(v, issuer.qr()) == "untrusted_issuer"


def test_not_entitled(build, settings):
    transport = dataclasses.replace(settings, venue_profile="transport")
    issuer = FakeIssuer()
    v = build(issuer, settings_=transport)
    assert code(v, issuer.qr(category="pensioner")) == "valid"
    out = v.verify_text(issuer.qr(category="low_income"), NOW).to_json()
    assert out["code"] == "not_entitled" and out["verdict"] == "reject"
    assert out["credential"]["category"] == "low_income" and out["entitlement"] is None


# --- precedence ---------------------------------------------------------------------------------


def test_forgery_that_is_also_expired_is_bad_signature(verifier, issuer):
    attacker = keys.generate_private_key()
    token = issuer.qr(key=attacker, kid=issuer.kid, expires_at=NOW - DAY)
    assert code(verifier, token) == "bad_signature"


def test_precedence_chain(build, settings):
    issuer = FakeIssuer()
    revoked = issuer.credential(expires_at=NOW - DAY)
    issuer.set_status(revoked, REVOKED)
    future_revoked = issuer.credential(not_before=NOW + DAY)
    issuer.set_status(future_revoked, REVOKED)
    suspended_low_income = issuer.credential(category="low_income")
    issuer.set_status(suspended_low_income, SUSPENDED)
    transport = dataclasses.replace(settings, venue_profile="transport")
    v = build(issuer, settings_=transport)
    stranger = FakeIssuer(iss="RU-77-DSZN", url="https://dszn.moscow.example")
    none_alg = hand_made({"alg": "none", "kid": "x", "typ": "socpass+jwt"},
                         stranger.credential(expires_at=NOW - DAY).to_claims())
    assert code(v, none_alg) == "unsupported_algorithm"                            # > untrusted
    assert code(v, stranger.qr(expires_at=NOW - DAY)) == "untrusted_issuer"        # > expired
    assert code(v, issuer.qr(key=keys.generate_private_key(),
                             expires_at=NOW - DAY)) == "unknown_key"               # > expired
    assert code(v, issuer.qr(revoked, key=keys.generate_private_key(),
                             kid=issuer.kid)) == "bad_signature"                   # > revoked
    assert code(v, issuer.qr(revoked, typ="JWT")) == "wrong_type"                  # > expired
    behind = NOW - 3600 - settings.clock_tolerance - 10
    assert code(v, issuer.qr(revoked), behind) == "clock_invalid"                  # > expired
    assert code(v, issuer.qr(revoked)) == "expired"                                # > revoked
    assert code(v, issuer.qr(future_revoked)) == "not_yet_valid"                   # > revoked
    assert code(v, issuer.qr(suspended_low_income)) == "suspended"                 # > not_entitled
    lost = issuer.credential(category="low_income", status=StatusRef(1, issuer.list_uri("7")))
    assert code(v, issuer.qr(lost)) == "status_unavailable"                        # > not_entitled


@pytest.mark.parametrize("value, expected", [(REVOKED, "revoked"), (SUSPENDED, "suspended")])
def test_revocation_in_an_unusable_list_is_still_reported(build, issuer, settings, value, expected):
    cred = issuer.credential()
    issuer.set_status(cred, value)
    v = build(issuer)
    far = issuer.list_iat + issuer.list_ttl + settings.status_grace + 10 * DAY  # past exp too
    assert code(v, issuer.qr(cred, expires_at=far + DAY), far) == expected


# --- robustness ---------------------------------------------------------------------------------


def test_unexpected_exception_becomes_malformed_and_logs_no_personal_data(
        verifier, issuer, monkeypatch, caplog):
    def boom(claims):
        raise RuntimeError(f"bug while reading {claims['h']['f']}")

    monkeypatch.setattr(service.Credential, "from_claims", staticmethod(boom))
    with caplog.at_level(logging.INFO, logger="socpass.verifier"):
        out = verifier.verify_text(issuer.qr(), NOW).to_json()
    assert out["code"] == "malformed" and out["verdict"] == "reject"
    assert "RuntimeError" in caplog.text and "Иванова" not in caplog.text


def test_log_lines_hold_no_personal_data(verifier, issuer, caplog):
    with caplog.at_level(logging.INFO, logger="socpass.verifier"):
        verifier.verify_text(issuer.qr(category="disability_1"), NOW)
    assert "code=valid" in caplog.text and "category=disability_1" in caplog.text
    for secret in ("Иванова", "Мария", "1988", "jti"):
        assert secret not in caplog.text


def test_verification_never_opens_a_socket(verifier, issuer, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("verification tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    stranger = FakeIssuer(iss="RU-77-DSZN", url="https://dszn.moscow.example")
    elsewhere = issuer.qr(status=StatusRef(1, "https://elsewhere.example/status/1"))
    assert code(verifier, issuer.qr()) == "valid"
    assert code(verifier, stranger.qr()) == "untrusted_issuer"
    assert code(verifier, elsewhere) == "status_unavailable"  # never fetched on demand
    assert code(verifier, "garbage") == "malformed"
    device_status(verifier, NOW)


def test_status_report(verifier, issuer, settings):
    report = device_status(verifier, NOW)
    assert report["ok"] and not report["stale"] and report["clock_ok"]
    assert report["synced_at"] == NOW and report["sync_age_seconds"] == 0
    [entry] = report["issuers"]
    assert entry["iss"] == issuer.iss and entry["keys"] == 1 and entry["kids"] == [issuer.kid]
    [lst] = entry["status_lists"]
    assert lst["iat"] == issuer.list_iat and lst["age_seconds"] == 3600 and lst["stale"] is False
    later = device_status(verifier, issuer.list_iat + issuer.list_ttl + 1)
    assert later["stale"] and not later["ok"] and later["issuers"][0]["status_lists"][0]["stale"]
    assert device_status(verifier, NOW - DAY)["clock_ok"] is False


def test_status_report_of_a_refused_cache(settings):
    report = device_status(Verifier(TrustCache.empty(error="cache.json: bad"), settings), NOW)
    assert report["cache_error"] == "cache.json: bad" and report["stale"] and not report["ok"]
    assert report["issuers"] == [] and report["synced_at"] is None


# --- images -------------------------------------------------------------------------------------

needs_qrimage = pytest.mark.skipif(importlib.util.find_spec("verifier.imaging") is None,
                                   reason="verifier.imaging (image decoding) is not written yet")


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@needs_qrimage
def test_image_with_a_credential(verifier, issuer):
    assert verifier.verify_image(qrrender.render_png(issuer.qr()), NOW).code == "valid"


@needs_qrimage
def test_image_without_a_qr_is_no_qr(verifier):
    out = verifier.verify_image(png(Image.new("L", (320, 240), 255)), NOW).to_json()
    assert out["code"] == "no_qr" and out["verdict"] == "reject"
    assert out["message"].startswith("QR-код не найден")


@needs_qrimage
def test_image_with_two_different_codes_is_malformed(verifier, issuer):
    a = Image.open(io.BytesIO(qrrender.render_png(issuer.qr(), box_size=4)))
    b = Image.open(io.BytesIO(qrrender.render_png(issuer.qr(), box_size=4)))
    both = Image.new("L", (a.width + b.width, max(a.height, b.height)), 255)
    both.paste(a.convert("L"), (0, 0))
    both.paste(b.convert("L"), (a.width, 0))
    out = verifier.verify_image(png(both), NOW).to_json()
    assert out["code"] == "malformed" and "два разных QR-кода" in out["message"]


@needs_qrimage
def test_undecodable_image_raises_image_error(verifier):
    from shared.errors import ImageError, ImageTooLarge
    with pytest.raises(ImageError):
        verifier.verify_image(b"not an image at all", NOW)
    small = Verifier(verifier.cache, dataclasses.replace(verifier.settings, max_image_pixels=1000))
    with pytest.raises(ImageTooLarge):
        small.verify_image(png(Image.new("L", (100, 100), 255)), NOW)


def test_settings_fixture_defaults(settings: Settings):
    assert settings.venue_profile == "museum" and settings.leeway == 60
