"""Shared vectors: two test issuers, their published data, and valid and hostile QR texts."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization

from shared import keys, qrtext, statuslist, token
from shared.credential import BENEFICIARY, LARGE_FAMILY, Credential, Holder, StatusRef
from shared.publication import JWKS_PATH, METADATA_PATH, IssuerMetadata, relative_path

KEYS_DIR = Path(__file__).parent / "keys"
DAY = 86400
LIST_SIZE = 1024


def load_key(name: str) -> keys.PrivateKey:
    return keys.load_private_key_pem((KEYS_DIR / f"{name}.pem").read_bytes(), None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass
class Vector:
    name: str
    text: str
    code: str
    warnings: tuple[str, ...] = ()
    holder_name: str | None = None

    @property
    def verdict(self) -> str:
        return "accept" if self.code == "valid" else "reject"


@dataclass
class TestIssuer:
    iss: str
    name: str
    url: str
    key: keys.PrivateKey
    region: str
    revoked: list[int] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)

    @property
    def kid(self) -> str:
        return keys.kid_for(self.key)

    @property
    def list_uri(self) -> str:
        return self.url + "/status/1"

    def credential(self, now: int, idx: int, *, ctype: str = LARGE_FAMILY, **over) -> Credential:
        fields = dict(type=ctype, holder=Holder("Иванова", "Мария", "Петровна", "1988-04-12"),
                      region=self.region, issuer=self.iss, issued_at=now - DAY,
                      expires_at=now + 365 * DAY, jti=f"test-{self.region}-{idx:06d}",
                      status=StatusRef(idx, self.list_uri))
        if ctype == LARGE_FAMILY:
            fields["children"] = 4
        else:
            fields["category"] = "disability_1"
        fields.update(over)
        return Credential(**fields)

    def sign(self, cred: Credential) -> str:
        return token.sign(cred.to_claims(), self.key, self.kid, token.CREDENTIAL_TYP)

    def status_token(self, now: int) -> str:
        sl = statuslist.StatusList(LIST_SIZE, 2)
        for i in self.revoked:
            sl.set(i, statuslist.REVOKED)
        for i in self.suspended:
            sl.set(i, statuslist.SUSPENDED)
        return statuslist.sign_status_list(sl, uri=self.list_uri, issuer=self.iss, issued_at=now - 60,
                                           expires_at=now + 7 * DAY, ttl=DAY, key=self.key, kid=self.kid)

    def publish(self, out: Path, now: int) -> Path:
        meta = IssuerMetadata(iss=self.iss, name=self.name, url=self.url, region=self.region,
                              timezone="Asia/Vladivostok", status_lists=(self.list_uri,))
        jwk = dict(keys.public_jwk(self.key), kid=self.kid, alg=keys.algorithm_for_key(self.key), use="sig")
        files = {METADATA_PATH: json.dumps(meta.to_json(), ensure_ascii=False),
                 JWKS_PATH: json.dumps({"keys": [jwk]}),
                 relative_path(self.url, self.list_uri): self.status_token(now)}
        for rel, text in files.items():
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return out


def issuers() -> tuple[TestIssuer, TestIssuer]:
    khv = TestIssuer("RU-27", "Министерство социальной защиты Хабаровского края",
                     "https://szn.test/ru27", load_key("ec-p256-issuer-1"), "27",
                     revoked=[7], suspended=[8])
    prim = TestIssuer("RU-25", "Министерство труда и социальной политики Приморского края",
                      "https://szn.test/ru25", load_key("ed25519-issuer-1"), "25")
    return khv, prim


def raw_token(header: dict, claims: dict, key=None, *, signature: bytes | None = None) -> str:
    """A token assembled by hand, so hostile headers are not filtered by any encoder."""
    signing_input = b64json(header) + "." + b64json(claims)
    if signature is None:
        alg = header.get("alg")
        if alg == "ES256":
            signature = token._low_s(jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
                signing_input.encode(), key))
        elif alg == "EdDSA":
            signature = key.sign(signing_input.encode())
        else:
            signature = b""
    return signing_input + "." + b64(signature)


def _qr_binary(signature: bytes, inflated: bytes, *, zdict: bytes = qrtext.PRESET_DICTIONARY) -> str:
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    body = co.compress(inflated) + co.flush()
    return str(int.from_bytes(bytes([1, len(signature)]) + signature + body, "big"))


def publish(out: Path, now: int) -> list[Path]:
    """Publish both test issuers under `out`; returns the directories to sync from."""
    khv, prim = issuers()
    return [khv.publish(out / "ru27", now), prim.publish(out / "ru25", now)]


def build(out: Path, now: int) -> tuple[list[Path], list[Vector]]:
    return publish(out, now), vectors(now)


def vectors(now: int) -> list[Vector]:
    """Valid and hostile QR texts with the code a verifier synced from `publish` must give."""
    khv, prim = issuers()
    attacker = load_key("ec-p256-attacker")
    base = khv.credential(now, 1)
    claims = base.to_claims()
    good = khv.sign(base)
    hdr = {"alg": "ES256", "kid": khv.kid, "typ": token.CREDENTIAL_TYP}
    h_b64, p_b64, s_b64 = good.split(".")
    sig = base64.urlsafe_b64decode(s_b64 + "==")
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    high_s = sig[:32] + (n - int.from_bytes(sig[32:], "big")).to_bytes(32, "big")
    tampered = dict(claims, n=9)
    public_pem = khv.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_input = b64json({"alg": "HS256", "kid": khv.kid, "typ": token.CREDENTIAL_TYP}) + "." + b64json(claims)
    hs256 = hs_input + "." + b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())
    expired = khv.credential(now, 2, issued_at=now - 400 * DAY, expires_at=now - DAY)
    v: list[Vector] = [
        Vector("valid_large_family_qr", qrtext.encode(good), "valid", holder_name="Иванова Мария Петровна"),
        Vector("valid_large_family_compact", good, "valid", holder_name="Иванова Мария Петровна"),
        Vector("valid_beneficiary_eddsa", qrtext.encode(prim.sign(prim.credential(
            now, 3, ctype=BENEFICIARY, holder=Holder("Ким", "Ли", None, "1950-02-03")))), "valid",
            holder_name="Ким Ли"),
        Vector("revoked", qrtext.encode(khv.sign(khv.credential(now, 7))), "revoked"),
        Vector("suspended", qrtext.encode(khv.sign(khv.credential(now, 8))), "suspended"),
        Vector("expired", qrtext.encode(khv.sign(expired)), "expired"),
        Vector("not_yet_valid", qrtext.encode(khv.sign(khv.credential(now, 4, not_before=now + 2 * DAY))),
               "not_yet_valid"),
        Vector("unknown_issuer", qrtext.encode(token.sign(dict(claims, iss="RU-99"), attacker,
                                                          keys.kid_for(attacker), token.CREDENTIAL_TYP)),
               "untrusted_issuer"),
        Vector("unknown_kid", qrtext.encode(token.sign(claims, attacker, "AAAAAAAA", token.CREDENTIAL_TYP)),
               "unknown_key"),
        Vector("other_issuers_key", qrtext.encode(token.sign(claims, prim.key, prim.kid, token.CREDENTIAL_TYP)),
               "unknown_key"),
        Vector("attacker_key_with_real_kid", qrtext.encode(token.sign(claims, attacker, khv.kid,
                                                                      token.CREDENTIAL_TYP)), "bad_signature"),
        Vector("tampered_payload", h_b64 + "." + b64json(tampered) + "." + s_b64, "bad_signature"),
        Vector("tampered_expired_forgery", h_b64 + "." + b64json(dict(claims, exp=now - DAY)) + "." + s_b64,
               "bad_signature"),
        Vector("psychic_signature", h_b64 + "." + p_b64 + "." + b64(bytes(64)), "bad_signature"),
        Vector("high_s_malleable", h_b64 + "." + p_b64 + "." + b64(high_s), "bad_signature"),
        Vector("der_signature", h_b64 + "." + p_b64 + "." + b64(b"\x30\x44" + sig[:32] + sig[32:]),
               "bad_signature"),
        Vector("wrong_typ_jwt", raw_token(dict(hdr, typ="JWT"), claims, khv.key), "wrong_type"),
        Vector("status_list_as_credential", khv.status_token(now), "wrong_type"),
        Vector("alg_none", raw_token({"alg": "none", "kid": khv.kid, "typ": token.CREDENTIAL_TYP}, claims),
               "unsupported_algorithm"),
        Vector("alg_None", raw_token({"alg": "None", "kid": khv.kid, "typ": token.CREDENTIAL_TYP}, claims),
               "unsupported_algorithm"),
        Vector("alg_nOnE", raw_token({"alg": "nOnE", "kid": khv.kid, "typ": token.CREDENTIAL_TYP}, claims),
               "unsupported_algorithm"),
        Vector("alg_RS256", raw_token({"alg": "RS256", "kid": khv.kid, "typ": token.CREDENTIAL_TYP}, claims,
                                      signature=bytes(256)), "unsupported_algorithm"),
        Vector("hs256_with_public_key", hs256, "unsupported_algorithm"),
        Vector("pyjwt_hs256", jwt.encode(claims, "secret-secret-secret-secret-32by", algorithm="HS256",
                                         headers={"kid": khv.kid, "typ": token.CREDENTIAL_TYP}),
               "unsupported_algorithm"),
        Vector("embedded_jwk", raw_token(dict(hdr, jwk=dict(keys.public_jwk(attacker))), claims, attacker),
               "malformed"),
        Vector("jku", raw_token(dict(hdr, jku="https://evil.test/jwks.json"), claims, attacker), "malformed"),
        Vector("x5u", raw_token(dict(hdr, x5u="https://evil.test/cert.pem"), claims, attacker), "malformed"),
        Vector("crit_b64_false", raw_token(dict(hdr, crit=["b64"], b64=False), claims, khv.key), "malformed"),
        Vector("kid_path_injection", raw_token(dict(hdr, kid="../../../../dev/null"), claims, khv.key),
               "malformed"),
        Vector("kid_sql_injection", raw_token(dict(hdr, kid="x' OR '1'='1"), claims, khv.key), "malformed"),
        Vector("duplicate_member", h_b64 + "." + b64(b'{"iss":"RU-27","iss":"RU-99"}') + "." + s_b64,
               "malformed"),
        Vector("utf16_payload", h_b64 + "." + b64(json.dumps(claims).encode("utf-16")) + "." + s_b64,
               "malformed"),
        Vector("bom_payload", h_b64 + "." + b64(b"\xef\xbb\xbf" + json.dumps(claims).encode()) + "." + s_b64,
               "malformed"),
        Vector("float_exp", raw_token(hdr, dict(claims, exp=1e300), khv.key), "malformed"),
        Vector("nan_exp", h_b64 + "." + b64(json.dumps(claims).replace(str(claims["exp"]), "NaN").encode())
               + "." + s_b64, "malformed"),
        Vector("padded_base64", good + "==", "malformed"),
        Vector("whitespace_inside", h_b64 + " ." + p_b64 + "." + s_b64, "malformed"),
        Vector("jwe_five_parts", good + ".AAAA.BBBB", "malformed"),
        Vector("nested_jws", h_b64 + "." + b64(good.encode()) + "." + s_b64, "malformed"),
        Vector("json_serialisation", json.dumps({"payload": p_b64, "protected": h_b64, "signature": s_b64}),
               "malformed"),
        Vector("deflate_bomb", _qr_binary(b"\x00" * 64, b"{" * 200_000), "malformed"),
        Vector("deep_nesting", raw_token(hdr, {"iss": "RU-27", "x": json.loads("[" * 900 + "]" * 900)},
                                         khv.key), "malformed"),
        Vector("oversize_token", "A" * 20_000 + ".e30.AA", "malformed"),
        Vector("garbage", "hello, world", "malformed"),
        Vector("empty", "", "malformed"),
        Vector("leading_zero_digits", "0" + qrtext.encode(good), "malformed"),
        Vector("cyrillic_layout_garbage", "ыфвфыв.ывфыв.ывфы", "malformed"),
    ]
    return v
