import hashlib
import re
import zlib

import jwt
import pytest
import qrcode
from hypothesis import given, settings, strategies as st

from shared import keys, qr, qrtext, token
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
    assert qr.qr_version(_qr_text(cred, keys.generate_private_key(alg))) <= max_version


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
    assert q.version >= 18 > qr.qr_version(_qr_text(c)) + 7


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
