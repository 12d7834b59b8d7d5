"""Another JOSE library against ours, both ways, so a bug shared by our encoder and decoder
cannot hide: PyJWT signs with the vectors' test keys and our verifier accepts; our tokens and
QR texts, decoded by the few lines of docs/spec/README.md (stdlib zlib with the published
dictionary file, no project code), verify under PyJWT with the keys PyJWT reads from the
published JWKS."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from shared import keys, qrtext, token
from shared.credential import Credential, Holder, StatusRef
from tests.spec.conformance import SPEC_DIR, load, run
from tests.vectors import spec as generator
from tests.vectors.build import load_key

DOC = load()
DICTIONARY = (SPEC_DIR / "dictionary-v1.bin").read_bytes()
NO_TIME_CHECKS = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def spec_decode(text: str) -> str:
    """QR text -> compact JWS, written from the spec alone (section "The QR text")."""
    import zlib

    text = text.strip(" \t\r\n")
    if not text.isdigit():
        return text
    number = int(text)
    binary = number.to_bytes((number.bit_length() + 7) // 8, "big")
    assert binary[0] == 1
    sig = binary[2:2 + binary[1]]
    inflater = zlib.decompressobj(-15, zdict=DICTIONARY)
    content = inflater.decompress(binary[2 + binary[1]:])
    assert inflater.eof and not inflater.unused_data
    header, payload = content.split(b"\n", 1)
    return ".".join(_b64(p) for p in (header, payload, sig))


def _jwks(publication: str) -> dict[str, jwt.PyJWK]:
    doc = json.loads((SPEC_DIR / "vectors" / publication / ".well-known/jwks.json").read_text())
    return {k["kid"]: jwt.PyJWK(k) for k in doc["keys"]}


def _vector(text: str, **over) -> dict:
    return {"id": "interop", "input_kind": "qr" if text.isdigit() else "jws", "input": text,
            "now": generator.T, "publications": ["ru27", "ru25"], **over}


def _is_low_s(tok: str) -> bool:
    sig = base64.urlsafe_b64decode(tok.rsplit(".", 1)[1] + "==")
    return int.from_bytes(sig[32:], "big") <= generator.N // 2


@pytest.mark.parametrize("form", ["jws", "qr"])
def test_pyjwt_es256_token_passes_ours(form, tmp_path):
    ru27, _ = generator.spec_issuers()
    # PyJWT does not normalise S; the spec allows low S only, so an issuer built on it must pick
    # (or fold) low-S signatures. Both halves are checked: low S accepted, high S refused.
    made = {}
    while len(made) < 2:
        tok = jwt.encode(ru27.claims(500), ru27.key, algorithm="ES256",
                         headers={"kid": ru27.kid, "typ": "socpass+jwt"})
        made.setdefault(_is_low_s(tok), tok)
    for low, tok in made.items():
        text = qrtext.encode(tok) if form == "qr" else tok
        result = run(_vector(text), DOC, tmp_path / str(low))
        assert (result.verdict, result.code) == (("accept", "valid") if low else ("reject", "bad_signature"))


def test_pyjwt_eddsa_token_passes_ours(tmp_path):
    _, ru25 = generator.spec_issuers()
    tok = jwt.encode(ru25.claims(501, "beneficiary", c="pensioner"), ru25.key, algorithm="EdDSA",
                     headers={"kid": ru25.kid, "typ": "socpass+jwt"})
    for i, text in enumerate((tok, qrtext.encode(tok))):
        result = run(_vector(text), DOC, tmp_path / str(i))
        assert (result.verdict, result.code) == ("accept", "valid")


@pytest.mark.parametrize("name,alg", [("ec-p256-issuer-1", "ES256"), ("ed25519-issuer-1", "EdDSA")])
def test_our_token_and_qr_pass_pyjwt(name, alg):
    key = load_key(name)
    now = int(time.time())
    cred = Credential("large_family", Holder("Иванова", "Мария", "Петровна", "1988-04-12"), "27", "RU-27",
                      now - 60, now + 86400, "interop-0001", StatusRef(1, "https://szn.example/ru27/status/1"), 4)
    ours = token.sign(cred.to_claims(), key, keys.kid_for(key), token.CREDENTIAL_TYP)
    for tok in (ours, spec_decode(qrtext.encode(ours))):
        assert tok == ours
        header = jwt.get_unverified_header(tok)
        assert header == {"alg": alg, "kid": keys.kid_for(key), "typ": "socpass+jwt"}
        claims = jwt.decode(tok, key.public_key(), algorithms=[alg])
        assert claims == cred.to_claims()


def test_every_valid_vector_verifies_under_pyjwt():
    """Each accepted text input of vectors.json, decoded from the spec alone, verifies under
    PyJWT with the key PyJWT itself reads from the vector's published JWKS."""
    jwks = {"RU-27": _jwks("ru27"), "RU-25": _jwks("ru25")}
    checked = 0
    for vector in DOC["vectors"]:
        if vector["expect"]["verdict"] != "accept" or vector["input_kind"] not in ("qr", "jws"):
            continue
        tok = spec_decode(vector["input"])
        header = jwt.get_unverified_header(tok)
        iss = jwt.decode(tok, options={"verify_signature": False})["iss"]
        key = jwks[iss][header["kid"]]
        jwt.decode(tok, key, algorithms=[header["alg"]], options=NO_TIME_CHECKS)
        checked += 1
    assert checked >= 40
