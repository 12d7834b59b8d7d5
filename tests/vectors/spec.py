"""The conformance vectors of docs/spec/ (section "Conformance vectors" there says how to run them).

    python -m tests.vectors.spec docs/spec

writes `vectors.json`, the publications the vectors are checked against (`vectors/<name>/`,
laid out as `socpass-issuer publish --out DIR` lays them out), the images of the image vectors
and `dictionary-v1.bin`. Every credential and status list token is assembled here by hand (JSON
bytes, base64url, raw signatures), not by shared/token.py, so the vectors also test our own
encoder; the QR digits of well-formed tokens come from shared/qrtext.py (tests/shared/
test_qrtext.py and the independent decoder of tests/spec/ hold it to the spec), and the federal
trust lists and bundles from shared/trustlist.py. ES256 signatures are random, so a regeneration
differs in bytes but not in ids and expectations; EdDSA ones, and so every vector built only
from EdDSA tokens, are reproduced exactly.
"""
from __future__ import annotations

import base64
import json
import shutil
import sys
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from shared import keys, qrtext
from shared.publication import (BUNDLE_PATH, ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH,
                                ROOTS_PATH, TRUST_LIST_PATH)
from shared.trustlist import Bundle, TrustedIssuer, TrustList, sign_bundle, sign_trust_list
from tests.vectors.build import load_key

FORMAT = 1
T = 1_800_000_000            # 2027-01-15T08:00:00Z: the `now` most vectors are checked at
DAY = 86400
LIST_IAT = T - 60            # every good status list was signed a minute before T
LIST_TTL = DAY
LIST_EXP = T + 7 * DAY
SETTINGS = {"leeway": 60, "clock_tolerance": 300, "status_grace": 3 * DAY}
DEFAULT_VENUE = "museum"
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # the P-256 order
CRED_TYP, LIST_TYP = "socpass+jwt", "statuslist+jwt"
GOOD = ("ru27", "ru25")      # the publications of the two good test issuers


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jbytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON, the spelling every issuer writes."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def pretty(obj: Any) -> bytes:
    """JSON as `socpass-issuer publish` writes its files (issuer/publishing.json_bytes)."""
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def raw_sign(key: Any, signing_input: bytes) -> bytes:
    """The JWS signature: EdDSA as is; ES256 as r || s, 32 bytes each, low S."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(signing_input)
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    s = min(s, N - s)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jws(header: Any, claims: Any, key: Any = None, *, signature: bytes | None = None,
        header_bytes: bytes | None = None, payload_bytes: bytes | None = None) -> str:
    h = header_bytes if header_bytes is not None else jbytes(header)
    p = payload_bytes if payload_bytes is not None else jbytes(claims)
    signing_input = (b64(h) + "." + b64(p)).encode("ascii")
    if signature is None:
        signature = raw_sign(key, signing_input)
    return signing_input.decode("ascii") + "." + b64(signature)


def parts(token: str) -> tuple[bytes, bytes, bytes]:
    return tuple(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in token.split("."))  # type: ignore[return-value]


def deflate(data: bytes, zdict: bytes = qrtext.PRESET_DICTIONARY,
            strategy: int = zlib.Z_DEFAULT_STRATEGY) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9, strategy, zdict)
    return co.compress(data) + co.flush()


def digits(binary: bytes) -> str:
    return str(int.from_bytes(binary, "big"))


def qr_binary(token: str) -> bytes:
    number = int(qrtext.encode(token))
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def qr_of(signature: bytes, inflated: bytes, *, compressed: bytes | None = None) -> str:
    """A version-1 QR text assembled by hand (no canonical check: hostile ones are wanted)."""
    body = deflate(inflated) if compressed is None else compressed
    return digits(bytes([1, len(signature)]) + signature + body)


# --- the test issuers and their publications ------------------------------------------------------

@dataclass
class Issuer:
    iss: str
    name: str
    url: str
    region: str
    keys: list[Any]                      # the first signs; all are published
    ttl: int | None = LIST_TTL
    list_exp: int | None = LIST_EXP
    rules: dict[str, Any] | None = None

    @property
    def key(self) -> Any:
        return self.keys[0]

    @property
    def kid(self) -> str:
        return keys.kid_for(self.key)

    def uri(self, list_id: str = "1") -> str:
        return f"{self.url}/status/{list_id}"

    def header(self, **over: Any) -> dict[str, Any]:
        return {"alg": keys.algorithm_for_key(self.key), "kid": self.kid, "typ": CRED_TYP, **over}

    def claims(self, idx: int = 1, ctype: str = "large_family", **over: Any) -> dict[str, Any]:
        c: dict[str, Any] = {"iss": self.iss, "iat": T - DAY, "exp": T + 365 * DAY,
                             "jti": f"spec-{self.region}-{idx:06d}", "t": ctype,
                             "h": {"f": "Иванова", "g": "Мария", "p": "Петровна", "b": "1988-04-12"}}
        if ctype == "large_family":
            c["n"] = 4
        else:
            c["c"] = "disability_1"
        c["r"] = self.region
        c["status"] = {"status_list": {"idx": idx, "uri": self.uri()}}
        for name, value in over.items():
            if value is _DROP:
                c.pop(name, None)
            else:
                c[name] = value
        return c

    def token(self, claims: dict[str, Any] | None = None, **header_over: Any) -> str:
        return jws(self.header(**header_over), claims if claims is not None else self.claims(), self.key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(keys.public_jwk(k), kid=keys.kid_for(k), alg=keys.algorithm_for_key(k),
                              use="sig") for k in self.keys]}

    def metadata(self, lists: list[str]) -> dict[str, Any]:
        return {"iss": self.iss, "name": self.name, "url": self.url, "region": self.region,
                "timezone": "Asia/Vladivostok", "jwks_uri": self.url + "/" + JWKS_PATH,
                "status_lists": [self.uri(i) for i in lists]}

    def status_token(self, list_id: str = "1", *, bits: int = 2, size: int = 1024,
                     values: dict[int, int] | None = None, header: dict[str, Any] | None = None,
                     key: Any = None, **over: Any) -> str:
        per_byte = 8 // bits
        data = bytearray(-(-size // per_byte))
        for idx, value in (values or {}).items():
            data[idx // per_byte] |= value << ((idx % per_byte) * bits)
        claims: dict[str, Any] = {"iss": self.iss, "sub": self.uri(list_id), "iat": LIST_IAT}
        if self.list_exp is not None:
            claims["exp"] = self.list_exp
        if self.ttl is not None:
            claims["ttl"] = self.ttl
        claims["status_list"] = {"bits": bits, "lst": b64(zlib.compress(bytes(data), 9))}
        for name, value in over.items():
            if value is _DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jws(header or {"alg": keys.algorithm_for_key(key or self.key),
                              "kid": keys.kid_for(key or self.key), "typ": LIST_TYP},
                   claims, key or self.key)


_DROP = object()


def _entry(persons: Any, text_ru: str, text_en: str, kind: str = "free_entry") -> dict[str, Any]:
    return {"kind": kind, "persons": persons, "text_ru": text_ru, "text_en": text_en}


RU27_RULES = {
    "museum": {"name_ru": "Музей", "name_en": "Museum", "rules": [
        {"type": "large_family", "entitlement": _entry("family", "Бесплатный вход для семьи: до {persons} чел.",
                                                       "Free entry for the family: up to {persons} persons")},
        {"type": "beneficiary", "categories": ["disability_1", "disabled_child"],
         "entitlement": _entry(2, "Бесплатный вход владельцу и 1 сопровождающему",
                               "Free entry for the holder and 1 companion")},
        {"type": "beneficiary", "categories": ["disability_2", "disability_3", "combat_veteran",
                                               "svo_family", "pensioner"],
         "entitlement": _entry(1, "Бесплатный вход", "Free entry")}]},
    "transport": {"name_ru": "Транспорт", "name_en": "Transport", "rules": [
        {"type": "large_family", "entitlement": {"kind": "fare_discount", "percent": 50, "persons": 1,
                                                 "text_ru": "Скидка 50% на проезд", "text_en": "50% fare discount"}}]},
    "sport": {"name_ru": "Спортивный объект", "name_en": "Sport venue", "rules": []},
}
RU25_RULES = {
    "museum": {"name_ru": "Музей", "name_en": "Museum", "rules": [
        {"type": "large_family", "entitlement": _entry("family", "Вход для семьи: до {persons} чел.",
                                                       "Entry for the family: up to {persons} persons")},
        {"type": "beneficiary", "entitlement": _entry(1, "Бесплатный вход", "Free entry")}]},
}


def spec_issuers() -> tuple[Issuer, Issuer]:
    ru27 = Issuer("RU-27", "Министерство социальной защиты Хабаровского края",
                  "https://szn.example/ru27", "27",
                  [load_key("ec-p256-issuer-1"), load_key("ec-p256-issuer-2")], rules=RU27_RULES)
    # A base URL two segments deep: status list paths are relative to it, not to the host.
    ru25 = Issuer("RU-25", "Министерство труда и социальной политики Приморского края",
                  "https://gov.example/pk/szn", "25", [load_key("ed25519-issuer-1")], rules=RU25_RULES)
    return ru27, ru25


RU27_VALUES = {1: {7: 1, 8: 2, 9: 3}, 2: {5: 1}}  # list 1 (2 bits): 7 revoked, 8 suspended, 9 value 3
RU25_VALUES = {3: 1}


def publication(issuer: Issuer, *, lists: dict[str, str] | None = None, metadata: dict[str, Any] | None = None,
                jwks: dict[str, Any] | None = None, rules: Any = None) -> dict[str, bytes]:
    """The files of `publish --out DIR`, by their path relative to DIR (= relative to `url`)."""
    if lists is None:
        lists = {"1": issuer.status_token("1", values=RU27_VALUES[1] if issuer.iss == "RU-27" else RU25_VALUES)}
        if issuer.iss == "RU-27":
            lists["2"] = issuer.status_token("2", bits=1, size=64, values=RU27_VALUES[2])
    files = {f"status/{i}": tok.encode("ascii") for i, tok in lists.items()}
    files[JWKS_PATH] = pretty(jwks if jwks is not None else issuer.jwks())
    if rules is None:
        rules = {"format": 1, "iss": issuer.iss, "profiles": issuer.rules}
    if rules is not False:
        files[ENTITLEMENTS_PATH] = pretty(rules)
    files[METADATA_PATH] = pretty(metadata if metadata is not None else issuer.metadata(sorted(lists)))
    return files


# --- vectors ---------------------------------------------------------------------------------------

@dataclass
class Vector:
    id: str
    description: str
    input: str
    expect_code: str
    rule: str | None = None       # the spec's requirement this vector breaks (None: a valid case)
    now: int = T
    publications: tuple[str, ...] = GOOD
    venue: str | None = None
    warnings: tuple[str, ...] = ()
    kind: str = ""                # "qr", "jws", "text" or "image"; guessed from the input if empty
    federation: str | None = None  # a federal publication (directory) to sync from instead
    sync_at: int | None = None    # when the device synced, if not at `now`

    def to_json(self) -> dict[str, Any]:
        kind = self.kind or ("qr" if self.input.isdigit() and self.input[:1] != "0" else
                             "jws" if self.input.count(".") == 2 else "text")
        out: dict[str, Any] = {"id": self.id, "description": self.description, "rule": self.rule,
                               "input_kind": kind, "input": self.input, "now": self.now}
        if self.sync_at is not None:
            out["sync_at"] = self.sync_at
        out["publications"] = list(self.publications)
        if self.federation is not None:
            out["federation"] = {"roots": f"{self.federation}/{ROOTS_PATH}",
                                 "bundle": f"{self.federation}/{BUNDLE_PATH}"}
        if self.venue is not None:
            out["venue"] = self.venue
        out["expect"] = {"verdict": "accept" if self.expect_code == "valid" else "reject",
                         "code": self.expect_code, "warnings": list(self.warnings)}
        return out


def _png_blank() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (200, 200), 255).save(buf, format="PNG")
    return buf.getvalue()


def generate() -> tuple[dict[str, dict[str, bytes]], list[Vector]]:
    """(publications by directory name, vectors)."""
    from issuer.qrrender import render_png

    ru27, ru25 = spec_issuers()
    attacker = load_key("ec-p256-attacker")
    key2 = ru27.keys[1]
    pubs: dict[str, dict[str, bytes]] = {"ru27": publication(ru27), "ru25": publication(ru25)}
    images: dict[str, bytes] = {}
    v: list[Vector] = []

    def add(*args: Any, **kw: Any) -> None:
        v.append(Vector(*args, **kw))

    good = ru27.token()
    good_qr = qrtext.encode(good)
    h, p, s = good.split(".")
    sig = parts(good)[2]
    ed_good = ru25.token(ru25.claims(1, "beneficiary", c="pensioner"))
    ed_qr = qrtext.encode(ed_good)

    # valid credentials -------------------------------------------------------------------------
    add("valid_large_family_qr", "A large-family credential, ES256, in QR digits.", good_qr, "valid")
    add("valid_large_family_jws", "The same token as a plain compact JWS.", good, "valid")
    add("valid_beneficiary_eddsa_qr", "A beneficiary credential (pensioner), EdDSA, in QR digits; its "
        "issuer's url has a two-segment path.", ed_qr, "valid")
    add("valid_beneficiary_eddsa_jws", "The EdDSA token as a plain compact JWS.", ed_good, "valid")
    add("valid_second_key", "Signed by the issuer's second published key (a key rotation).",
        qrtext.encode(jws(dict(ru27.header(), kid=keys.kid_for(key2)), ru27.claims(2), key2)), "valid")
    add("valid_qr_with_whitespace", "QR digits with a leading space and a trailing CR LF (a handheld "
        "scanner's Enter): trimmed.", " " + good_qr + "\r\n", "valid", kind="qr")
    add("valid_no_patronymic", "A holder without a patronymic (`p` absent).",
        qrtext.encode(ru27.token(ru27.claims(3, h={"f": "Ким", "g": "Ли", "b": "1950-02-03"}))), "valid")
    add("valid_unknown_claim_ignored", "A claim the spec does not define is ignored.",
        qrtext.encode(ru27.token(ru27.claims(4, x_note="ignored"))), "valid")
    add("valid_header_other_member_order", "Header members in another order and with spaces: the JWS is "
        "rebuilt from the exact bytes, so the signature still verifies.",
        qrtext.encode(jws(None, ru27.claims(5), ru27.key, header_bytes=(
            '{"typ": "socpass+jwt", "kid": "%s", "alg": "ES256"}' % ru27.kid).encode())), "valid")
    for i, cat in enumerate(["disability_1", "disability_2", "disability_3", "disabled_child",
                             "combat_veteran", "svo_family", "pensioner", "low_income"]):
        add(f"valid_category_{cat}", f"A beneficiary of category {cat} (RU-25 grants every beneficiary entry).",
            qrtext.encode(ru25.token(ru25.claims(20 + i, "beneficiary", c=cat))), "valid")
    for n in (1, 30):
        add(f"valid_children_{n}", f"`n` = {n}: the verifier's range is 1..30.",
            qrtext.encode(ru27.token(ru27.claims(30 + n, n=n))), "valid")
    add("valid_region_three_digits", "`r` of three digits.", qrtext.encode(ru27.token(ru27.claims(40, r="027"))),
        "valid")
    add("valid_jti_8", "`jti` of 8 characters (the shortest allowed).",
        qrtext.encode(ru27.token(ru27.claims(41, jti="abcdefgh"))), "valid")
    add("valid_jti_64", "`jti` of 64 characters (the longest allowed).",
        qrtext.encode(ru27.token(ru27.claims(42, jti="j" * 64))), "valid")
    add("valid_name_64", "A family name of 64 letters (the longest allowed).",
        qrtext.encode(ru27.token(ru27.claims(43, h={"f": "Щ" * 64, "g": "Мария", "b": "1988-04-12"}))), "valid")
    add("valid_name_punctuation", "Names may hold spaces, hyphens, apostrophes and dots between letters.",
        qrtext.encode(ru27.token(ru27.claims(44, h={"f": "Петрова-Водкина", "g": "Анна Мария",
                                                     "p": "д'Артаньян", "b": "1988-04-12"}))), "valid")
    add("valid_exp_max", "`exp` = 2^53 - 1, the largest NumericDate.",
        qrtext.encode(ru27.token(ru27.claims(45, exp=2**53 - 1))), "valid")
    add("valid_index_last", "Status index 1023, the last entry of a 1,024-entry list.",
        qrtext.encode(ru27.token(ru27.claims(1023))), "valid")
    add("valid_one_bit_list", "A credential on a 1-bit status list, entry 0.",
        qrtext.encode(ru27.token(ru27.claims(0, status={"status_list": {"idx": 0, "uri": ru27.uri("2")}}))),
        "valid")
    add("valid_pyjwt_style_header", "A header as PyJWT writes it ({\"alg\",\"kid\",\"typ\"} in its own order).",
        qrtext.encode(jws(None, ru27.claims(46), ru27.key, header_bytes=jbytes(
            {"alg": "ES256", "typ": CRED_TYP, "kid": ru27.kid}))), "valid")

    # T: the input text -------------------------------------------------------------------------
    add("text_too_long", "2,465 characters: longer than any input a verifier reads.", "1" * 2465, "malformed", "T1")
    add("text_garbage", "Text that is neither digits nor a compact JWS.", "hello, world", "malformed", "T3")
    add("text_empty", "The empty text.", "", "malformed", "T3")
    add("text_cyrillic_layout", "A JWS typed under a Russian keyboard layout.", "ыфвфыв.ывфыв.ывфы", "malformed", "T3")
    add("text_json_serialisation", "The JWS JSON serialisation.",
        json.dumps({"payload": p, "protected": h, "signature": s}), "malformed", "T3")
    add("text_digits_then_letters", "Digits followed by a letter.", good_qr[:-1] + "a", "malformed", "T3")
    add("text_arabic_indic_digits", "Digits of another script.", "١٢٣٤٥", "malformed", "T3")
    add("text_plus_sign", "A sign before the digits.", "+" + good_qr, "malformed", "T3")
    add("text_inner_space", "A space inside the digits.", good_qr[:100] + " " + good_qr[100:], "malformed", "T3")

    # Q: the QR text ----------------------------------------------------------------------------
    add("qr_leading_zero", "A leading zero digit: a second spelling of the same number.", "0" + good_qr,
        "malformed", "Q2")
    # 2,399 digits is the longest a version-1 text can be under the cap: 997 bytes starting with 0x01
    # make 2,399 digits, 998 bytes 2,402.
    big = _padded_to_digits(ru25, 2399)
    add("qr_2399_digits", "A valid credential whose QR text is 2,399 digits, the most that the 2,400-digit "
        "cap allows (an extra claim).",
        big, "valid")
    add("qr_2401_digits", "2,401 digits: over the cap, refused before conversion.", "1" + "0" * 2400,
        "malformed", "Q1")
    add("qr_version_2", "Version byte 2 (a future version): a version-1 verifier answers malformed.",
        digits(b"\x02" + qr_binary(ed_good)[1:]), "malformed", "X1")
    add("qr_version_3", "Version byte 3.",
        digits(b"\x03" + qr_binary(ed_good)[1:]), "malformed", "X1")
    ed_bin = qr_binary(ed_good)
    add("qr_too_short", "Two bytes only.", digits(b"\x01\x40"), "malformed", "Q4")
    add("qr_signature_truncated", "The signature length byte says more than there is.",
        digits(ed_bin[:40]), "malformed", "Q4")
    add("qr_no_compressed_part", "A signature and nothing after it.", digits(ed_bin[:66]), "malformed", "Q4")
    add("qr_deflate_truncated", "The DEFLATE stream cut short by one byte.", digits(ed_bin[:-1]),
        "malformed", "Q5")
    add("qr_deflate_trailing_byte", "A byte after the end of the DEFLATE stream.", digits(ed_bin + b"\x00"),
        "malformed", "Q5")
    add("qr_deflate_invalid", "Bytes that are no DEFLATE stream (block type 3).",
        digits(ed_bin[:66] + b"\xff\xff\xff"), "malformed", "Q5")
    hdr_b, pay_b, ed_sig = parts(ed_good)
    add("qr_wrong_dictionary", "Compressed with another dictionary (the content itself), which the "
        "stream refers to: inflated with the preset dictionary, it is not the token.",
        qr_of(ed_sig, b"", compressed=deflate(hdr_b + b"\n" + pay_b, zdict=hdr_b + b"\n" + pay_b)),
        "malformed", "Q5")
    add("qr_zlib_wrapper", "A zlib stream (with header and Adler-32) instead of raw DEFLATE.",
        qr_of(ed_sig, b"", compressed=zlib.compress(hdr_b + b"\n" + pay_b, 9)), "malformed", "Q5")
    add("qr_stored_block", "The same bytes in a stored (uncompressed) DEFLATE block: another valid "
        "DEFLATE spelling, accepted (the QR text is a transport encoding; see Canonical form).",
        qr_of(ed_sig, b"", compressed=_stored(hdr_b + b"\n" + pay_b)), "valid")
    add("qr_fixed_huffman", "The same bytes compressed with fixed Huffman codes: accepted.",
        qr_of(ed_sig, b"", compressed=deflate(hdr_b + b"\n" + pay_b, strategy=zlib.Z_FIXED)), "valid")
    add("qr_deflate_bomb", "Inflates to 200,000 bytes: refused at 4,096.",
        qr_of(bytes(64), b"{" * 200_000), "malformed", "Q6")
    add("qr_inflated_4096", "A valid credential whose inflated content is exactly 4,096 bytes.",
        _inflated_exactly(ru25, 4096), "valid")
    add("qr_inflated_4097", "The same with 4,097 inflated bytes: over the cap.",
        _inflated_exactly(ru25, 4097), "malformed", "Q6")
    padded, changed = _padding_set(ed_bin)
    assert padded is not None, "the valid EdDSA text has no padding bit to set"
    add("qr_padding_bit_set", "The valid EdDSA QR text with an unused (padding) bit of the last DEFLATE "
        "byte set: it inflates to the same token, but is not canonical.", padded, "malformed", "Q7")
    idx = 100
    while len(changed) < 5:  # more EdDSA credentials (deterministic) until five such changes
        idx += 1
        changed += _padding_set(qr_binary(ru25.token(ru25.claims(idx, "beneficiary", c="pensioner"))))[1]
    for i, text in enumerate(changed[:5]):
        add(f"qr_one_digit_change_{i + 1}", "A one-digit change near the end of a valid QR text that only "
            "sets padding bits of the last DEFLATE byte (it inflates to the same token).", text, "malformed", "Q7")
    add("qr_no_newline", "The inflated content has no newline between header and payload.",
        qr_of(ed_sig, hdr_b + pay_b), "malformed", "Q8")
    add("qr_signature_empty", "A QR text with a signature length of 0: the rebuilt JWS has an empty "
        "signature part.", qr_of(b"", hdr_b + b"\n" + pay_b), "bad_signature", "S1")
    add("qr_tampered_payload", "QR content with the children count changed and the original signature.",
        qr_of(ed_sig, hdr_b + b"\n" + pay_b.replace(b'"c":"pensioner"', b'"c":"low_income"')),
        "bad_signature", "S3")

    # J: the compact JWS --------------------------------------------------------------------------
    add("jws_two_parts", "Two parts only.", h + "." + p, "malformed", "T3")
    add("jws_four_parts", "Four parts.", good + ".AAAA", "malformed", "J1")
    add("jws_five_parts_jwe", "A JWE-shaped five-part text.", good + ".AAAA.BBBB", "malformed", "J1")
    add("jws_padding", "Base64url padding `=` after the signature.", good + "==", "malformed", "J2")
    add("jws_standard_alphabet", "`+` and `/` of standard base64 in the payload.",
        h + "." + p[:10] + "+/" + p[12:] + "." + s, "malformed", "J2")
    add("jws_trailing_bits", "The signature's last character carries non-zero unused bits.",
        h + "." + p + "." + s[:-1] + _bump(s[-1]), "malformed", "J2")
    add("jws_length_mod4_1", "A part whose length is 1 modulo 4.", h + "." + p + "A." + s, "malformed", "J2")
    add("jws_whitespace", "A space inside the token.", h + " ." + p + "." + s, "malformed", "T3")

    # H: the header -------------------------------------------------------------------------------
    for member, value in (("jwk", keys.public_jwk(attacker)), ("jku", "https://evil.example/jwks.json"),
                          ("x5u", "https://evil.example/cert.pem"), ("x5c", ["MIIB"]), ("crit", ["b64"]),
                          ("b64", False), ("zip", "DEF"), ("cty", "JWT")):
        add(f"header_{member}", f"A header member `{member}` besides alg, kid and typ.",
            ru27.token(**{member: value}), "malformed", "H2")
    add("header_missing_typ", "No `typ` in the header.", jws({"alg": "ES256", "kid": ru27.kid}, ru27.claims(), ru27.key),
        "malformed", "H3")
    add("header_missing_kid", "No `kid` in the header.", jws({"alg": "ES256", "typ": CRED_TYP}, ru27.claims(), ru27.key),
        "malformed", "H3")
    add("header_alg_not_string", "`alg` is a number.", ru27.token(alg=256), "malformed", "H3")
    add("header_not_object", "The header is a JSON array.", jws(["ES256"], ru27.claims(), ru27.key), "malformed", "H1")
    add("header_duplicate_member", "The header names `alg` twice.",
        jws(None, ru27.claims(), ru27.key, header_bytes=(
            '{"alg":"none","alg":"ES256","kid":"%s","typ":"socpass+jwt"}' % ru27.kid).encode()), "malformed", "P1")
    add("header_kid_path", "`kid` with a path.", ru27.token(kid="../../etc/passwd"), "malformed", "H4")
    add("header_kid_sql", "`kid` with quotes.", ru27.token(kid="x' OR '1'='1"), "malformed", "H4")
    add("header_kid_empty", "An empty `kid`.", ru27.token(kid=""), "malformed", "H4")
    add("header_kid_65", "A `kid` of 65 characters.", ru27.token(kid="k" * 65), "malformed", "H4")
    add("header_kid_64_unknown", "A well-formed `kid` of 64 characters that names no key.",
        ru27.token(kid="k" * 64), "unknown_key", "A3")

    # P: the payload --------------------------------------------------------------------------------
    claims = ru27.claims()
    add("payload_duplicate_member", "The payload names `iss` twice.",
        jws(ru27.header(), None, ru27.key, payload_bytes=b'{"iss":"RU-27","iss":"RU-99",'
            + jbytes(claims)[1:]), "malformed", "P1")
    add("payload_bom", "A UTF-8 byte order mark before the payload.",
        jws(ru27.header(), None, ru27.key, payload_bytes=b"\xef\xbb\xbf" + jbytes(claims)), "malformed", "P1")
    add("payload_utf16", "The payload in UTF-16.",
        jws(ru27.header(), None, ru27.key, payload_bytes=json.dumps(claims).encode("utf-16")), "malformed", "P1")
    add("payload_invalid_utf8", "A byte that is not UTF-8 in a name.",
        jws(ru27.header(), None, ru27.key, payload_bytes=jbytes(claims).replace("Мария".encode(), b"\xff\xfe")),
        "malformed", "P1")
    add("payload_nan", "`exp` spelled NaN.",
        jws(ru27.header(), None, ru27.key, payload_bytes=jbytes(claims).replace(
            str(claims["exp"]).encode(), b"NaN")), "malformed", "P1")
    add("payload_trailing_garbage", "Bytes after the JSON object.",
        jws(ru27.header(), None, ru27.key, payload_bytes=jbytes(claims) + b"x"), "malformed", "P1")
    add("payload_deep_nesting", "Arrays nested 900 deep.",
        jws(ru27.header(), None, ru27.key, payload_bytes=b'{"iss":"RU-27","x":' + b"[" * 900 + b"]" * 900 + b"}"),
        "malformed", "P1")
    add("payload_array", "The payload is a JSON array.", jws(ru27.header(), [claims], ru27.key), "malformed", "P2")
    add("payload_nested_jws", "The payload is a JWS (a string), not an object.", jws(ru27.header(), good, ru27.key),
        "malformed", "P2")
    add("iss_missing", "No `iss`.", ru27.token(ru27.claims(iss=_DROP)), "malformed", "P3")
    add("iss_empty", "An empty `iss`.", ru27.token(ru27.claims(iss="")), "malformed", "P3")
    add("iss_number", "`iss` is a number.", ru27.token(ru27.claims(iss=27)), "malformed", "P3")
    for name, value, why in (("exp", 2**53, "2^53, past the NumericDate range"),
                             ("exp", -1, "negative"),
                             ("exp", 1800000000.0, "a number with a fraction part `.0`"),
                             ("exp", "1831536000", "a string"), ("exp", True, "a boolean"),
                             ("iat", -5, "negative"), ("nbf", 1.5, "not whole"), ("nbf", None, "null")):
        add(f"numericdate_{name}_{_slug(repr(value))}", f"`{name}` is {why}: malformed, even before the "
            "signature is checked.", ru27.token(ru27.claims(**{name: value})), "malformed", "P4")

    add("numericdate_exp_exponent", "`exp` spelled 1.8e9 (a JSON number with an exponent): malformed.",
        jws(ru27.header(), None, ru27.key, payload_bytes=jbytes(claims).replace(
            str(claims["exp"]).encode(), b"1.8e9")), "malformed", "P4")

    # A: algorithm, issuer, key -----------------------------------------------------------------
    for alg in ("none", "None", "nOnE", "HS256", "RS256", "ES384", "ES512", "es256", "Ed25519", "EdDSA "):
        add(f"alg_{_slug(alg)}", f"`alg` {alg!r}: not on the allow-list.",
            jws(ru27.header(alg=alg), ru27.claims(), signature=bytes(64 if alg != "none" else 0)),
            "unsupported_algorithm", "A1")
    add("alg_eddsa_with_ec_key", "`alg` EdDSA with the `kid` of a P-256 key (signed with an Ed25519 key).",
        jws(ru27.header(alg="EdDSA"), ru27.claims(), ru25.key), "unsupported_algorithm", "A4")
    add("alg_es256_with_ed_key", "`alg` ES256 with the `kid` of the Ed25519 key.",
        jws(ru25.header(alg="ES256"), ru25.claims(), attacker), "unsupported_algorithm", "A4")
    add("alg_none_forged_expired", "`alg` none on an expired credential: the algorithm is reported.",
        jws(ru27.header(alg="none"), ru27.claims(exp=T - DAY), signature=b""), "unsupported_algorithm", "A1")
    add("issuer_untrusted", "An issuer this verifier has no publication of.",
        jws({"alg": "ES256", "kid": keys.kid_for(attacker), "typ": CRED_TYP}, ru27.claims(iss="RU-99"), attacker),
        "untrusted_issuer", "A2")
    add("issuer_case", "`iss` compared exactly: `ru-27` is another issuer.",
        ru27.token(ru27.claims(iss="ru-27")), "untrusted_issuer", "A2")
    add("key_unknown_kid", "A `kid` the issuer does not publish.",
        jws(ru27.header(kid="AAAAAAAA"), ru27.claims(), attacker), "unknown_key", "A3")
    add("key_other_issuers", "RU-25's `kid` (and key) on a RU-27 credential: keys are looked up by (iss, kid).",
        jws(ru25.header(), ru27.claims(), ru25.key), "unknown_key", "A3")
    add("key_untrusted_expired", "An unknown issuer's credential that is also expired: untrusted_issuer first.",
        jws({"alg": "ES256", "kid": keys.kid_for(attacker), "typ": CRED_TYP},
            ru27.claims(iss="RU-99", exp=T - DAY), attacker), "untrusted_issuer", "A2")

    # S: signatures -------------------------------------------------------------------------------
    r_int, s_int = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    high = sig[:32] + (N - s_int).to_bytes(32, "big")
    add("sig_high_s", "The valid signature with s replaced by n - s (it verifies mathematically; high S is "
        "refused).", h + "." + p + "." + b64(high), "bad_signature", "S2")
    add("sig_high_s_qr", "The same high-S signature in QR form.", qr_of(high, parts(good)[0] + b"\n" + parts(good)[1]),
        "bad_signature", "S2")
    add("sig_psychic", "r = s = 0 (CVE-2022-21449).", h + "." + p + "." + b64(bytes(64)), "bad_signature", "S2")
    add("sig_r_zero", "r = 0.", h + "." + p + "." + b64(bytes(32) + sig[32:]), "bad_signature", "S2")
    add("sig_s_zero", "s = 0.", h + "." + p + "." + b64(sig[:32] + bytes(32)), "bad_signature", "S2")
    add("sig_r_n", "r = n.", h + "." + p + "." + b64(N.to_bytes(32, "big") + sig[32:]), "bad_signature", "S2")
    add("sig_r_plus_n", "r + n, which still fits 32 bytes when r is small: here r = 1.",
        h + "." + p + "." + b64((1 + N).to_bytes(32, "big")[-32:] + sig[32:]), "bad_signature", "S2")
    add("sig_short_63", "A 63-byte signature.", h + "." + p + "." + b64(sig[:63]), "bad_signature", "S1")
    add("sig_long_65", "A 65-byte signature.", h + "." + p + "." + b64(sig + b"\x00"), "bad_signature", "S1")
    add("sig_empty", "An empty signature part with alg ES256.", h + "." + p + ".", "bad_signature", "S1")
    add("sig_der", "The signature DER-encoded instead of r || s.",
        h + "." + p + "." + b64(_der(r_int, s_int)), "bad_signature", "S1")
    add("sig_attacker_real_kid", "Signed by an attacker's key under the issuer's real `kid`.",
        jws(ru27.header(), ru27.claims(), attacker), "bad_signature", "S3")
    add("sig_tampered_payload", "The payload changed (children 9) under the original signature.",
        h + "." + b64(jbytes(ru27.claims(n=9))) + "." + s, "bad_signature", "S3")
    add("sig_tampered_expired", "A tampered payload that is also expired: bad_signature, never expired.",
        h + "." + b64(jbytes(ru27.claims(exp=T - DAY))) + "." + s, "bad_signature", "S3")
    add("sig_tampered_bad_claims", "A tampered payload whose claims are also out of shape (type unknown): "
        "the signature is checked first.", h + "." + b64(jbytes(ru27.claims(t="pass"))) + "." + s,
        "bad_signature", "S3")
    ed_h, ed_p, ed_s = ed_good.split(".")
    add("sig_eddsa_tampered", "An EdDSA payload changed under its signature.",
        ed_h + "." + b64(jbytes(ru25.claims(1, "beneficiary", c="disability_1"))) + "." + ed_s, "bad_signature", "S3")
    add("sig_eddsa_short", "A 32-byte EdDSA signature.", ed_h + "." + ed_p + "." + b64(parts(ed_good)[2][:32]),
        "bad_signature", "S1")
    add("sig_hs256_public_key", "HS256 keyed with the issuer's public key: the algorithm is refused first.",
        _hs256(ru27), "unsupported_algorithm", "A1")

    # Y: typ --------------------------------------------------------------------------------------
    for typ, why in (("JWT", "JWT"), ("statuslist+jwt", "a status list's type"),
                     ("SOCPASS+JWT", "the right type in capitals"),
                     ("application/socpass+jwt", "the media type spelling")):
        add(f"typ_{_slug(typ)}", f"`typ` {typ!r} ({why}), correctly signed.", ru27.token(typ=typ), "wrong_type", "Y1")
    add("typ_status_list_token", "The issuer's own status list token presented as a credential.",
        ru27.status_token("1", values=RU27_VALUES[1]), "wrong_type", "Y1")
    add("version_2_jws", "A version-2 credential as a JWS (`typ` socpass-v2+jwt, correctly signed): a "
        "version-1 verifier answers wrong_type.", ru27.token(typ="socpass-v2+jwt"), "wrong_type", "X1")

    # C: claims (checked after the signature) ------------------------------------------------------
    def bad_claims(name: str, why: str, rule: str, **over: Any) -> None:
        add(f"claims_{name}", f"{why} (correctly signed).", qrtext.encode(ru27.token(ru27.claims(50, **over))),
            "malformed", rule)

    bad_claims("type_unknown", "`t` is not a credential type", "C1", t="pass")
    bad_claims("type_missing", "No `t`", "C1", t=_DROP)
    bad_claims("holder_missing", "No `h`", "C2", h=_DROP)
    bad_claims("name_bidi", "A bidi override in the family name", "C2",
               h={"f": "Иванова\u202e", "g": "Мария", "b": "1988-04-12"})
    bad_claims("name_double_space", "Two spaces inside the given name", "C2",
               h={"f": "Иванова", "g": "Анна  Мария", "b": "1988-04-12"})
    bad_claims("name_edge_space", "A trailing space in the family name", "C2",
               h={"f": "Иванова ", "g": "Мария", "b": "1988-04-12"})
    bad_claims("name_not_nfc", "A given name in decomposed form (NFD)", "C2",
               h={"f": "Иванова", "g": unicodedata.normalize("NFD", "Йоко"), "b": "1988-04-12"})
    bad_claims("name_65", "A family name of 65 letters", "C2", h={"f": "Щ" * 65, "g": "Мария", "b": "1988-04-12"})
    bad_claims("name_digit", "A digit in the given name", "C2", h={"f": "Иванова", "g": "Мария2", "b": "1988-04-12"})
    bad_claims("patronymic_empty", "An empty patronymic (absent is the spelling)", "C2",
               h={"f": "Иванова", "g": "Мария", "p": "", "b": "1988-04-12"})
    bad_claims("birth_date_impossible", "Birth date 1988-02-30", "C3",
               h={"f": "Иванова", "g": "Мария", "b": "1988-02-30"})
    bad_claims("birth_date_compact", "Birth date 19880412", "C3", h={"f": "Иванова", "g": "Мария", "b": "19880412"})
    bad_claims("status_missing", "No `status`", "C4", status=_DROP)
    bad_claims("status_idx_negative", "A negative status index", "C4",
               status={"status_list": {"idx": -1, "uri": ru27.uri()}})
    bad_claims("status_idx_string", "A status index as a string", "C4",
               status={"status_list": {"idx": "7", "uri": ru27.uri()}})
    bad_claims("status_uri_empty", "An empty status URI", "C4", status={"status_list": {"idx": 1, "uri": ""}})
    bad_claims("children_zero", "`n` = 0", "C5", n=0)
    bad_claims("children_31", "`n` = 31", "C5", n=31)
    bad_claims("children_bool", "`n` = true", "C5", n=True)
    bad_claims("children_missing", "A large family without `n`", "C5", n=_DROP)
    bad_claims("category_unknown", "A beneficiary of an unknown category", "C6", t="beneficiary", n=_DROP, c="veteran")
    bad_claims("category_missing", "A beneficiary without `c`", "C6", t="beneficiary", n=_DROP)
    bad_claims("region_one_digit", "`r` = \"7\"", "C7", r="7")
    bad_claims("region_number", "`r` as a number", "C7", r=27)
    bad_claims("jti_7", "`jti` of 7 characters", "C8", jti="abcdefg")
    bad_claims("jti_65", "`jti` of 65 characters", "C8", jti="j" * 65)
    bad_claims("iat_missing", "No `iat`", "C9", iat=_DROP)
    bad_claims("exp_missing", "No `exp`", "C9", exp=_DROP)

    # K, V: clock and validity period ---------------------------------------------------------------
    add("clock_invalid", "The device clock is an hour behind the newest status list it synced.", good_qr,
        "clock_invalid", "K1", now=T - 3600)
    add("clock_tolerance_edge", "The clock exactly 300 s behind the newest list's iat: still accepted.",
        good_qr, "valid", now=LIST_IAT - 300)
    add("clock_tolerance_past", "301 s behind: clock_invalid.", good_qr, "clock_invalid", "K1", now=LIST_IAT - 301)
    add("clock_invalid_before_expired", "An expired credential on a device whose clock is wrong: "
        "clock_invalid comes first.", qrtext.encode(ru27.token(ru27.claims(60, iat=T - 400 * DAY, exp=T - 300 * DAY))),
        "clock_invalid", "K1", now=T - 3600)
    add("forged_on_bad_clock", "A forged credential on a device whose clock is wrong: bad_signature first.",
        h + "." + b64(jbytes(ru27.claims(n=9))) + "." + s, "bad_signature", "S3", now=T - 3600)
    exp = T + 3600
    soon = qrtext.encode(ru27.token(ru27.claims(61, exp=exp)))
    add("exp_leeway_last_second", "now = exp + 59: within the 60 s leeway.", soon, "valid", now=exp + 59)
    add("exp_leeway_reached", "now = exp + 60: expired.", soon, "expired", "V1", now=exp + 60)
    add("expired_long_ago", "Expired a day ago.", qrtext.encode(ru27.token(ru27.claims(62, iat=T - 400 * DAY,
                                                                                    exp=T - DAY))), "expired", "V1")
    add("expired_and_revoked", "Expired and revoked: expired comes first.",
        qrtext.encode(ru27.token(ru27.claims(7, iat=T - 400 * DAY, exp=T - DAY))), "expired", "V1")
    nbf = T + 3600
    later = qrtext.encode(ru27.token(ru27.claims(63, nbf=nbf)))
    add("nbf_leeway_before", "now = nbf - 61: not yet valid.", later, "not_yet_valid", "V2", now=nbf - 61)
    add("nbf_leeway_edge", "now = nbf - 60: valid (leeway).", later, "valid", now=nbf - 60)
    add("iat_in_future", "No `nbf`, `iat` two days ahead: `iat` stands for `nbf`.",
        qrtext.encode(ru27.token(ru27.claims(64, iat=T + 2 * DAY))), "not_yet_valid", "V2")
    add("nbf_before_iat", "`nbf` in the past and `iat` in the future: `nbf` decides.",
        qrtext.encode(ru27.token(ru27.claims(65, iat=T + 2 * DAY, nbf=T - DAY))), "valid")

    # L: status -----------------------------------------------------------------------------------
    add("status_revoked", "Entry 7 of list 1 is 1: revoked.", qrtext.encode(ru27.token(ru27.claims(7))), "revoked", "L2")
    add("status_suspended", "Entry 8 is 2: suspended.", qrtext.encode(ru27.token(ru27.claims(8))), "suspended", "L2")
    add("status_value_3", "Entry 9 is 3 (no meaning in version 1): status_unavailable.",
        qrtext.encode(ru27.token(ru27.claims(9))), "status_unavailable", "L2")
    add("status_revoked_eddsa", "A revoked EdDSA credential.",
        qrtext.encode(ru25.token(ru25.claims(3, "beneficiary"))), "revoked", "L2")
    add("status_one_bit_revoked", "Entry 5 of the 1-bit list 2 is 1: revoked.",
        qrtext.encode(ru27.token(ru27.claims(5, status={"status_list": {"idx": 5, "uri": ru27.uri("2")}}))),
        "revoked", "L2")
    add("status_index_out_of_range", "Index 1024 of a 1,024-entry list.",
        qrtext.encode(ru27.token(ru27.claims(1024))), "status_unavailable", "L1")
    add("status_uri_unknown", "A status list URI no synced issuer lists.",
        qrtext.encode(ru27.token(ru27.claims(70, status={"status_list": {"idx": 70, "uri": ru27.uri("3")}}))),
        "status_unavailable", "L1")
    add("status_uri_trailing_slash", "The URI with a trailing slash: compared exactly.",
        qrtext.encode(ru27.token(ru27.claims(71, status={"status_list": {"idx": 71, "uri": ru27.uri() + "/"}}))),
        "status_unavailable", "L1")
    add("status_list_of_other_issuer", "A RU-27 credential pointing at RU-25's list (entry valid there).",
        qrtext.encode(ru27.token(ru27.claims(72, status={"status_list": {"idx": 72, "uri": ru25.uri()}}))),
        "status_unavailable", "L1")
    stale_at = LIST_IAT + LIST_TTL
    add("status_fresh_last_second", "now = iat + ttl: the list is still current.", good_qr, "valid", now=stale_at)
    add("status_stale", "now = iat + ttl + 1: accepted with status_stale.", good_qr, "valid",
        now=stale_at + 1, warnings=("status_stale",))
    add("status_stale_grace_end", "now = iat + ttl + grace: still accepted with status_stale.", good_qr,
        "valid", now=stale_at + 3 * DAY, warnings=("status_stale",))
    add("status_unusable_after_grace", "now = iat + ttl + grace + 1: status_unavailable.", good_qr,
        "status_unavailable", "L4", now=stale_at + 3 * DAY + 1)
    add("status_revoked_on_unusable_list", "A revocation is believed however old the list.",
        qrtext.encode(ru27.token(ru27.claims(7))), "revoked", "L2", now=LIST_EXP + DAY)
    add("status_stale_not_entitled", "A stale list at a venue that grants nothing: not_entitled keeps "
        "the warning.", good_qr, "not_entitled", "E1", now=stale_at + 1, venue="sport", warnings=("status_stale",))

    nottl = Issuer(**{**ru27.__dict__, "ttl": None, "list_exp": None})
    pubs["ru27-no-ttl-no-exp"] = publication(nottl)
    default_stale = LIST_IAT + DAY
    add("status_default_ttl_fresh", "A list with neither ttl nor exp is current for one day: now = iat + 86400.",
        good_qr, "valid", now=default_stale, publications=("ru27-no-ttl-no-exp",))
    add("status_default_ttl_stale", "The same at iat + 86401: stale.", good_qr, "valid",
        now=default_stale + 1, publications=("ru27-no-ttl-no-exp",), warnings=("status_stale",))
    add("status_default_ttl_unusable", "The same after the grace period.", good_qr, "status_unavailable", "L5",
        now=default_stale + 3 * DAY + 1, publications=("ru27-no-ttl-no-exp",))
    exponly = Issuer(**{**ru27.__dict__, "ttl": None, "list_exp": T + 3600})
    pubs["ru27-exp-no-ttl"] = publication(exponly)
    add("status_exp_only_fresh", "A list with exp and no ttl is current until exp: now = exp - 1.",
        good_qr, "valid", now=T + 3599, publications=("ru27-exp-no-ttl",))
    add("status_exp_reached", "now = the list's exp: unusable at once (no grace past exp).", good_qr,
        "status_unavailable", "L4", now=T + 3600, publications=("ru27-exp-no-ttl",))
    pubs["ru27-ttl-past-exp"] = publication(Issuer(**{**ru27.__dict__, "ttl": 30 * DAY, "list_exp": T + DAY}))
    add("status_ttl_beyond_exp", "ttl reaches past exp: exp still ends the list (now = exp).", good_qr,
        "status_unavailable", "L4", now=T + DAY, publications=("ru27-ttl-past-exp",))

    # E: entitlement ----------------------------------------------------------------------------
    add("venue_transport_large_family", "RU-27's transport rules grant large families a fare discount.",
        good_qr, "valid", venue="transport")
    add("venue_sport_empty_rules", "RU-27 publishes a sport profile with no rules: nothing granted.",
        good_qr, "not_entitled", "E1", venue="sport")
    add("venue_profile_not_published", "RU-27 publishes rules but no zoo profile: nothing granted at a zoo.",
        good_qr, "not_entitled", "E1", venue="zoo")
    add("venue_category_not_listed", "A low-income beneficiary at a RU-27 museum: no rule matches.",
        qrtext.encode(ru27.token(ru27.claims(80, "beneficiary", c="low_income"))), "not_entitled", "E1")
    add("venue_transport_beneficiary", "A RU-27 beneficiary on transport: RU-27 grants transport to "
        "large families only.", qrtext.encode(ru27.token(ru27.claims(81, "beneficiary"))), "not_entitled", "E1",
        venue="transport")
    add("venue_revoked_not_entitled", "Revoked at a venue that grants nothing: revoked comes first.",
        qrtext.encode(ru27.token(ru27.claims(7))), "revoked", "L2", venue="sport")

    # PB: publications a verifier must refuse (then it knows no issuer) ---------------------------
    def bad_pub(name: str, why: str, rule: str, files: dict[str, bytes]) -> None:
        pubs[f"bad-{name}"] = files
        add(f"publication_{name.replace('-', '_')}", f"{why}: the publication is refused, so the issuer is "
            "unknown.", good_qr, "untrusted_issuer", rule, publications=(f"bad-{name}",))

    lists_ok = {"1": ru27.status_token("1", values=RU27_VALUES[1])}
    bad_pub("list-sub", "The status list's `sub` is not the URI the metadata lists", "PB5",
            publication(ru27, lists={"1": ru27.status_token("1", sub=ru27.uri("9"))}))
    bad_pub("list-iss", "The status list claims another issuer", "PB4",
            publication(ru27, lists={"1": ru27.status_token("1", iss="RU-25")}))
    bad_pub("list-typ", "The status list's `typ` is socpass+jwt", "PB4",
            publication(ru27, lists={"1": ru27.status_token("1", header=ru27.header())}))
    bad_pub("list-header-member", "The status list's header carries `jku`", "PB4",
            publication(ru27, lists={"1": ru27.status_token("1", header={**ru27.header(typ=LIST_TYP),
                                                                         "jku": "https://evil.example/"})}))
    bad_pub("list-signature", "The status list is signed by an attacker under the issuer's kid", "PB4",
            publication(ru27, lists={"1": ru27.status_token("1", header=ru27.header(typ=LIST_TYP), key=attacker)}))
    bad_pub("list-no-iat", "The status list has no `iat`", "PB6",
            publication(ru27, lists={"1": ru27.status_token("1", iat=_DROP)}))
    bad_pub("list-ttl-zero", "The status list's `ttl` is 0", "PB6",
            publication(ru27, lists={"1": ru27.status_token("1", ttl=0)}))
    bad_pub("list-bits-3", "`bits` = 3", "PB7",
            publication(ru27, lists={"1": ru27.status_token("1", status_list={"bits": 3, "lst": b64(zlib.compress(bytes(8)))})}))
    bad_pub("list-raw-deflate", "`lst` is raw DEFLATE, not zlib", "PB7",
            publication(ru27, lists={"1": ru27.status_token("1", status_list={
                "bits": 2, "lst": b64(zlib.compress(bytes(256))[2:-4])})}))
    bad_pub("list-bomb", "`lst` inflates past 16 MiB", "PB7",
            publication(ru27, lists={"1": ru27.status_token("1", status_list={
                "bits": 2, "lst": b64(zlib.compress(bytes(16 * 1024 * 1024 + 1), 9))})}))
    bad_pub("list-path-outside", "The metadata lists a status URI that is not below its `url`", "PB2",
            publication(ru27, lists=lists_ok, metadata={**ru27.metadata(["1"]),
                                                         "status_lists": ["https://szn.example/other/status/1"]}))
    bad_pub("list-path-dotdot", "The metadata lists a status URI with `..`", "PB2",
            publication(ru27, lists=lists_ok, metadata={**ru27.metadata(["1"]),
                                                         "status_lists": [ru27.url + "/../ru27/status/1"]}))
    bad_pub("metadata-no-name", "The metadata has no `name`", "PB1",
            publication(ru27, lists=lists_ok, metadata={k: val for k, val in ru27.metadata(["1"]).items()
                                                         if k != "name"}))
    jwks = ru27.jwks()
    bad_pub("jwk-private", "A JWK carries the private key `d`", "PB3",
            publication(ru27, lists=lists_ok, jwks={"keys": [dict(jwks["keys"][0], d="AAAA"), jwks["keys"][1]]}))
    bad_pub("jwk-alg-mismatch", "A P-256 JWK says `alg` EdDSA", "PB3",
            publication(ru27, lists=lists_ok, jwks={"keys": [dict(jwks["keys"][0], alg="EdDSA"), jwks["keys"][1]]}))
    bad_pub("jwk-duplicate-kid", "Two JWKs with one `kid`", "PB3",
            publication(ru27, lists=lists_ok, jwks={"keys": [jwks["keys"][0], dict(jwks["keys"][1],
                                                                                    kid=jwks["keys"][0]["kid"])]}))
    bad_pub("jwk-off-curve", "A P-256 JWK whose point is not on the curve", "PB3",
            publication(ru27, lists=lists_ok, jwks={"keys": [dict(jwks["keys"][0], y=b64(bytes(31) + b"\x01"))]}))
    bad_pub("entitlements-iss", "The entitlement rules name another issuer", "PB8",
            publication(ru27, lists=lists_ok, rules={"format": 1, "iss": "RU-25", "profiles": RU27_RULES}))
    bad_pub("entitlements-format", "The entitlement rules are of format 2", "PB8",
            publication(ru27, lists=lists_ok, rules={"format": 2, "iss": "RU-27", "profiles": RU27_RULES}))

    # F: federation (a trust list and bundle signed by a pinned root) ------------------------------
    root = load_key("ec-p256-federal-root")

    def fed(name: str, *, entries: list[TrustedIssuer] | None = None, exp: int = T + 30 * DAY,
            signer: Any = None, regions: tuple[Issuer, ...] = (ru27, ru25)) -> str:
        entries = entries if entries is not None else [_entry_of(i) for i in (ru27, ru25)]
        tl = TrustList(issuer="RU-FED", issued_at=T - 3600, expires_at=exp, sequence=1, issuers=tuple(entries))
        key = signer or root
        tl_token = sign_trust_list(tl, key, keys.kid_for(key))
        data: dict[str, Any] = {}
        rules: dict[str, Any] = {}
        for i in regions:
            files = pubs["ru27" if i is ru27 else "ru25"]
            meta = json.loads(files[METADATA_PATH])
            data[i.iss] = {"metadata": meta, "jwks": json.loads(files[JWKS_PATH]),
                           "status_lists": {uri: files[f"status/{uri.rsplit('/', 1)[1]}"].decode("ascii")
                                            for uri in meta["status_lists"]}}
            rules[i.iss] = json.loads(files[ENTITLEMENTS_PATH])
        bundle = Bundle(issued_at=T - 3600, expires_at=exp, trust_list=tl_token, regions=data, entitlements=rules)
        pubs[name] = {TRUST_LIST_PATH: tl_token.encode("ascii"),
                      BUNDLE_PATH: sign_bundle(bundle, issuer="RU-FED", key=key, kid=keys.kid_for(key)).encode("ascii"),
                      ROOTS_PATH: pretty({"iss": "RU-FED", "keys": [dict(keys.public_jwk(root), kid=keys.kid_for(root),
                                                                          alg="ES256", use="sig")]})}
        return name

    add("federation_valid", "Synced from a federal bundle naming both regions: valid.", good_qr, "valid",
        federation=fed("fed-ok"), publications=())
    add("federation_valid_eddsa", "RU-25's credential through the same bundle.", ed_qr, "valid",
        federation="fed-ok", publications=())
    add("federation_region_not_listed", "The trust list names RU-25 only: RU-27 is untrusted.", good_qr,
        "untrusted_issuer", "F2", federation=fed("fed-only-ru25", entries=[_entry_of(ru25)]), publications=())
    add("federation_region_suspended", "RU-27 is listed as suspended: untrusted, not `suspended`.", good_qr,
        "untrusted_issuer", "F2", publications=(),
        federation=fed("fed-ru27-suspended", entries=[_entry_of(ru27, status="suspended"), _entry_of(ru25)]))
    add("federation_key_not_named", "The list names only RU-27's second key, its JWKS holds two: the region "
        "is refused.", good_qr, "untrusted_issuer", "F3", publications=(),
        federation=fed("fed-key-not-named", entries=[_entry_of(ru27, keys_=[ru27.keys[1]]), _entry_of(ru25)]))
    add("federation_not_root_signed", "The bundle and list are signed by a key that is not the pinned root.",
        good_qr, "untrusted_issuer", "F1", publications=(), federation=fed("fed-not-root", signer=attacker))
    add("federation_expired_at_sync", "The list expired before the sync: nothing is synced.", good_qr,
        "untrusted_issuer", "F1", publications=(), federation=fed("fed-expired", exp=T - 1))
    add("federation_expired_at_check", "Synced while the list was valid, checked after its exp.", good_qr,
        "status_unavailable", "F4", publications=(), federation=fed("fed-short", exp=T + 3600),
        now=T + 3600, sync_at=T)
    add("federation_valid_before_exp", "The same a second before the list's exp.", good_qr, "valid",
        publications=(), federation="fed-short", now=T + 3599, sync_at=T)

    # N: images -----------------------------------------------------------------------------------
    images["images/blank.png"] = _png_blank()
    images["images/valid.png"] = render_png(good_qr)
    add("image_no_qr", "An image with no QR code in it (only for verifiers that take images).",
        "images/blank.png", "no_qr", "N1", kind="image")
    add("image_valid", "The valid large-family QR text rendered as an image.", "images/valid.png", "valid",
        kind="image")

    for name, data in images.items():
        pubs.setdefault("", {})[name] = data
    return pubs, v


def _entry_of(issuer: Issuer, *, status: str = "active", keys_: list[Any] | None = None) -> TrustedIssuer:
    return TrustedIssuer(iss=issuer.iss, name=issuer.name, region=issuer.region, url=issuer.url,
                         key_thumbprints=tuple(keys.jwk_thumbprint(keys.public_jwk(k))
                                               for k in (keys_ or issuer.keys)), status=status)


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")
    return out or "empty"


def _bump(ch: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return alphabet[alphabet.index(ch) + 1]


def _der(r: int, s: int) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return encode_dss_signature(r, s)


def _hs256(issuer: Issuer) -> str:
    """HS256 keyed with the issuer's public key in PEM (the CVE-2015-9235 confusion)."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = issuer.key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = b64(jbytes(issuer.header(alg="HS256"))) + "." + b64(jbytes(issuer.claims()))
    return signing_input + "." + b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def _stored(data: bytes) -> bytes:
    """One final stored DEFLATE block (RFC 1951 3.2.4)."""
    n = len(data)
    return b"\x01" + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little") + data


def _padding_set(binary: bytes) -> tuple[str | None, list[str]]:
    """The QR text with the highest padding bit of its last byte set, and the one-digit changes
    of its last five digits that inflate to the same content (only padding bits differ)."""
    sig_len = binary[1]
    compressed = binary[2 + sig_len:]
    content = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY).decompress(compressed)

    def same(candidate: bytes) -> bool:
        do = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY)
        try:
            return (candidate[:2 + sig_len] == binary[:2 + sig_len]
                    and do.decompress(candidate[2 + sig_len:]) == content and do.eof and not do.unused_data)
        except zlib.error:
            return False

    padded = None
    for bit in range(7, -1, -1):
        candidate = binary[:-1] + bytes([binary[-1] | (1 << bit)])
        if candidate != binary and same(candidate):
            padded = digits(candidate)
            break
    text, changed = digits(binary), []
    for pos in range(len(text) - 5, len(text)):
        for d in "0123456789":
            mutated = text[:pos] + d + text[pos + 1:]
            if mutated == text:
                continue
            number = int(mutated)
            candidate = number.to_bytes((number.bit_length() + 7) // 8, "big")
            if same(candidate):
                changed.append(mutated)
    return padded, changed


def _padded_to_digits(issuer: Issuer, target: int) -> str:
    """A valid EdDSA credential whose QR text has exactly `target` digits (an extra random claim)."""
    import random

    for seed in range(100):
        rnd = random.Random(seed)
        letters = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") for _ in range(1500))
        for length in range(900, 1500):
            text = _qr_unchecked(issuer.token(issuer.claims(90, "beneficiary", x=letters[:length])))
            if len(text) == target:
                return text
            if len(text) > target:
                break
    raise RuntimeError(f"no credential of exactly {target} digits")


def _inflated_exactly(issuer: Issuer, size: int) -> str:
    """A valid EdDSA credential whose QR content (header, newline, payload) is `size` bytes."""
    base = issuer.claims(91, "beneficiary", x="")
    header = jbytes(issuer.header())
    fill = size - len(header) - 1 - len(jbytes(base))
    token = issuer.token(issuer.claims(91, "beneficiary", x="a" * fill))
    h, p, sig = parts(token)
    assert len(h) + 1 + len(p) == size
    return qr_of(sig, h + b"\n" + p)


def _qr_unchecked(token: str) -> str:
    h, p, sig = parts(token)
    return qr_of(sig, h + b"\n" + p)


# --- output ----------------------------------------------------------------------------------------

def document(vectors: list[Vector]) -> dict[str, Any]:
    return {"format": FORMAT, "spec": "README.md",
            "about": "socpass conformance vectors, version 1: see README.md, section Conformance vectors",
            "settings": SETTINGS, "default_venue": DEFAULT_VENUE,
            "vectors": [vec.to_json() for vec in vectors]}


def write(out: Path) -> dict[str, Any]:
    pubs, vectors = generate()
    names = [vec.id for vec in vectors]
    if len(set(names)) != len(names):
        raise RuntimeError("vector ids are not unique")
    root = out / "vectors"
    if root.exists():
        shutil.rmtree(root)
    for name, files in pubs.items():
        for rel, data in files.items():
            path = root / name / rel if name else root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    doc = document(vectors)
    (out / "vectors.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "dictionary-v1.bin").write_bytes(qrtext.PRESET_DICTIONARY)
    return doc


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.vectors.spec OUT_DIR   (e.g. docs/spec)", file=sys.stderr)
        return 2
    doc = write(Path(args[0]))
    print(f"{len(doc['vectors'])} vectors written to {args[0]}/vectors.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
