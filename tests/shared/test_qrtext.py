import hashlib
import re
import zlib

import jwt
import pytest
import qrcode
from hypothesis import given, settings, strategies as st

from issuer import qrrender
from shared import keys, qrtext, token
from shared.b64 import b64url_decode
from shared.errors import TokenError
from tests.vectors.reference import REFERENCE_BENEFICIARY, REFERENCE_LARGE_FAMILY

KEY = keys.generate_private_key("ES256")


def _qr_text(cred, key=KEY):
    return qrtext.encode(token.sign(cred.to_claims(), key, keys.kid_for(key), token.CREDENTIAL_TYP))


def test_dictionary_is_frozen():
    # Every printed card depends on these exact bytes; a new dictionary needs a new VERSION.
    assert hashlib.sha256(qrtext.PRESET_DICTIONARY).hexdigest()[:16] == "6ce78b86201983de"


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_round_trip_exact_token(alg):
    key = keys.generate_private_key(alg)
    tok = token.sign(REFERENCE_LARGE_FAMILY.to_claims(), key, keys.kid_for(key), token.CREDENTIAL_TYP)
    text = qrtext.encode(tok)
    assert re.fullmatch(r"[1-9][0-9]+", text)
    assert qrtext.decode(text) == tok
    assert qrtext.decode("  " + text + "\r\n") == tok  # a handheld scanner ends with Enter


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
@pytest.mark.parametrize("cred,max_version", [(REFERENCE_LARGE_FAMILY, 10), (REFERENCE_BENEFICIARY, 12)])
def test_reference_credentials_fit_small_qr(cred, max_version, alg):
    assert qrrender.qr_version(_qr_text(cred, keys.generate_private_key(alg))) <= max_version


def test_naive_pyjwt_token_is_much_larger():
    # The baseline the format is measured against: same data, long claim names, PyJWT, byte mode.
    c = REFERENCE_LARGE_FAMILY
    naive = jwt.encode({"iss": "https://szn.khabkrai.ru", "iat": c.issued_at, "exp": c.expires_at,
                        "jti": c.jti, "type": c.type, "holder": c.holder.to_dict(), "children": c.children,
                        "region": c.region, "status": {"status_list": {"idx": c.status.idx,
                                                                       "uri": c.status.uri}}},
                       KEY, algorithm="ES256", headers={"kid": keys.kid_for(KEY)})
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(naive)
    q.make(fit=True)
    assert q.version >= 18 > qrrender.qr_version(_qr_text(c)) + 7


def test_plain_compact_passes_through():
    tok = token.sign({"iss": "a"}, KEY, "k", "x")
    assert qrtext.decode(tok) == tok


@pytest.mark.parametrize("text", ["", "0123", "12a4", "١٢٣", "9" * (qrtext.MAX_QR_DIGITS + 1),
                                  str(int.from_bytes(b"\x02\x40" + b"\x00" * 70, "big")),
                                  str(int.from_bytes(b"\x01\x40" + b"\x00" * 10, "big"))])
def test_bad_digits_are_malformed(text):
    with pytest.raises(TokenError) as err:
        qrtext.decode(text)
    assert err.value.code == "malformed"


def _binary(sig: bytes, body: bytes) -> str:
    return str(int.from_bytes(bytes([1, len(sig)]) + sig + body, "big"))


def _deflate(data: bytes) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, qrtext.PRESET_DICTIONARY)
    return co.compress(data) + co.flush()


def test_deflate_bomb_capped():
    with pytest.raises(TokenError, match="too large"):
        qrtext.decode(_binary(b"\x00" * 64, _deflate(b"a" * 200_000)))


def test_trailing_garbage_after_deflate_refused():
    with pytest.raises(TokenError):
        qrtext.decode(_binary(b"\x00" * 64, _deflate(b'{}\n{}') + b"xx"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"[1-9][0-9]{0,700}", fullmatch=True))
def test_decode_never_crashes(text):
    try:
        out = qrtext.decode(text)
    except TokenError as err:
        assert err.code == "malformed"
    else:
        assert out.count(".") == 2


# What a USB handheld scanner's key presses become under the Russian (ЙЦУКЕН) layout: the keys
# it presses for a Latin text produce these characters instead.
_LATIN = "qwertyuiop[]asdfghjkl;'zxcvbnm,./QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>?`~@#$^&"
_RUSSIAN = "йцукенгшщзхъфывапролджэячсмитьбю.ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,ёЁ\"№;:?"
RUSSIAN_LAYOUT = str.maketrans(_LATIN, _RUSSIAN)


def test_qr_text_survives_russian_keyboard_layout():
    tok = token.sign(REFERENCE_LARGE_FAMILY.to_claims(), KEY, keys.kid_for(KEY), token.CREDENTIAL_TYP)
    text = qrtext.encode(tok)
    typed = text.translate(RUSSIAN_LAYOUT) + "\n"
    assert qrtext.decode(typed) == tok
    # The plain compact JWS would not survive: its letters turn Cyrillic.
    assert tok.translate(RUSSIAN_LAYOUT) != tok


def test_parse_shortcut_equals_decode_then_parse():
    from tests.vectors.build import vectors

    for vector in vectors(1_800_000_000):
        try:
            expected = token.parse(qrtext.decode(vector.text))
        except TokenError as err:
            with pytest.raises(TokenError) as got:
                qrtext.parse(vector.text)
            assert got.value.code == err.code, vector.name
        else:
            assert qrtext.parse(vector.text) == expected, vector.name


# --- canonical form (docs/spec/README.md, "Canonical form") ---------------------------------------

def _bytes_of(text: str) -> bytes:
    number = int(text)
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def _padding_bits(compressed: bytes) -> list[int]:
    """The bits of the last byte that a stock inflater ignores (setting one changes nothing)."""
    content = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY).decompress(compressed)
    out = []
    for bit in range(8):
        if compressed[-1] >> bit & 1:
            continue
        do = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY)
        try:
            if do.decompress(compressed[:-1] + bytes([compressed[-1] | 1 << bit])) == content and do.eof:
                out.append(bit)
        except zlib.error:
            pass
    return out


def _one_digit_changes_that_only_set_padding(text: str) -> list[str]:
    binary = _bytes_of(text)
    sig_len = binary[1]
    content = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY).decompress(binary[2 + sig_len:])
    found = []
    for pos in range(len(text) - 5, len(text)):
        for digit in "0123456789":
            mutated = text[:pos] + digit + text[pos + 1:]
            changed = _bytes_of(mutated)
            if mutated == text or changed[:2 + sig_len] != binary[:2 + sig_len]:
                continue
            do = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY)
            try:
                if do.decompress(changed[2 + sig_len:]) == content and do.eof and not do.unused_data:
                    found.append(mutated)
            except zlib.error:
                pass
    return found


def test_five_one_digit_changes_that_inflate_to_the_same_token_are_refused():
    """The issue's finding: one-digit changes in the last digits that only touch the unused bits
    of the last DEFLATE byte inflated to the same token and verified. Five such changes, found
    on EdDSA credentials (deterministic), must all be malformed now."""
    key = keys.generate_private_key("EdDSA")
    found: list[tuple[str, str]] = []
    idx = 0
    while len(found) < 5:
        idx += 1
        tok = token.sign(dict(REFERENCE_LARGE_FAMILY.to_claims(), jti=f"canonical-{idx:04d}"), key,
                         keys.kid_for(key), token.CREDENTIAL_TYP)
        text = qrtext.encode(tok)
        found += [(tok, m) for m in _one_digit_changes_that_only_set_padding(text)]
    for tok, mutated in found[:5]:
        with pytest.raises(TokenError, match="canonical"):
            qrtext.decode(mutated)


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_every_padding_bit_is_checked_and_the_encoder_leaves_them_zero(alg):
    key = keys.generate_private_key(alg)
    seen = 0
    # jti of 7 lengths: the stream's bit length, and so how many padding bits it has, varies with
    # the content, which one random key may otherwise hold at 0-1 padding bits for every token.
    for idx in range(40):
        jti = f"padding-{'p' * (idx % 7)}{idx:04d}"
        tok = token.sign(dict(REFERENCE_LARGE_FAMILY.to_claims(), jti=jti), key,
                         keys.kid_for(key), token.CREDENTIAL_TYP)
        binary = _bytes_of(qrtext.encode(tok))
        compressed = binary[2 + binary[1]:]
        for bit in _padding_bits(compressed):
            assert compressed[-1] >> bit == 0  # padding is the high bits, and zero
            seen += 1
            with pytest.raises(TokenError, match="canonical"):
                qrtext.decode(str(int.from_bytes(binary[:-1] + bytes([binary[-1] | 1 << bit]), "big")))
    assert seen > 20


def test_no_one_digit_change_of_a_valid_text_verifies():
    """Exhaustive over every position: a misread or altered digit never gives a valid token."""
    key = keys.generate_private_key("ES256")
    resolver = keys.StaticKeyResolver({"RU-27": [keys.VerificationKey("RU-27", keys.kid_for(key), "ES256",
                                                                      key.public_key())]})
    tok = token.sign(REFERENCE_LARGE_FAMILY.to_claims(), key, keys.kid_for(key), token.CREDENTIAL_TYP)
    text = qrtext.encode(tok)
    for pos in range(len(text)):
        for digit in "0123456789":
            if digit == text[pos]:
                continue
            with pytest.raises(TokenError):
                token.verify(qrtext.parse(text[:pos] + digit + text[pos + 1:]), resolver,
                             typ=token.CREDENTIAL_TYP)


def test_other_deflate_spellings_of_the_same_bytes_are_accepted():
    """The rule is about the end of the stream, not about how it was compressed: a stored block
    or fixed Huffman codes are DEFLATE too (the QR text is a transport encoding)."""
    tok = token.sign(REFERENCE_LARGE_FAMILY.to_claims(), KEY, keys.kid_for(KEY), token.CREDENTIAL_TYP)
    h, p, s = (b64url_decode(x) for x in tok.split("."))
    content = h + b"\n" + p
    stored = b"\x01" + len(content).to_bytes(2, "little") + (len(content) ^ 0xFFFF).to_bytes(2, "little") + content
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED, qrtext.PRESET_DICTIONARY)
    for body in (stored, co.compress(content) + co.flush()):
        assert qrtext.decode(_binary(s, body)) == tok


def test_encode_refuses_what_a_verifier_would_refuse():
    big = token.sign(dict(REFERENCE_LARGE_FAMILY.to_claims(), x="a" * 5000), KEY, keys.kid_for(KEY),
                     token.CREDENTIAL_TYP)
    with pytest.raises(ValueError, match="too large"):
        qrtext.encode(big)
