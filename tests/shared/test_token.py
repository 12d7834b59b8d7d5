import jwt
import pytest

from shared import keys, token
from shared.codes import Code
from shared.errors import TokenError

CLAIMS = {"iss": "RU-27", "iat": 1_700_000_000, "exp": 1_900_000_000, "jti": "abcdefgh12345678",
          "h": {"f": "Иванова"}}


def _resolver(key, iss="RU-27"):
    r = keys.StaticKeyResolver({iss: []})
    r.add(keys.VerificationKey(iss, keys.kid_for(key), keys.algorithm_for_key(key), key.public_key()))
    return r


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_sign_verify_round_trip(alg):
    key = keys.generate_private_key(alg)
    tok = token.sign(CLAIMS, key, keys.kid_for(key), token.CREDENTIAL_TYP)
    v = token.verify(tok, _resolver(key), typ=token.CREDENTIAL_TYP)
    assert v.claims == CLAIMS and v.header == {"alg": alg, "kid": keys.kid_for(key), "typ": "socpass+jwt"}


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_pyjwt_reads_our_tokens(alg):
    # Control: another implementation accepts what we produce, so a bug shared by our encoder
    # and decoder cannot hide.
    key = keys.generate_private_key(alg)
    tok = token.sign(CLAIMS, key, "k", token.CREDENTIAL_TYP)
    assert jwt.decode(tok, key.public_key(), algorithms=[alg], options={"verify_exp": False}) == CLAIMS
    assert jwt.get_unverified_header(tok)["typ"] == token.CREDENTIAL_TYP


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_we_read_pyjwt_tokens(alg):
    key = keys.generate_private_key(alg)
    kid = keys.kid_for(key)
    for _ in range(8):  # PyJWT does not normalise S: retry until a low-S signature comes out
        tok = jwt.encode(CLAIMS, key, algorithm=alg, headers={"kid": kid, "typ": token.CREDENTIAL_TYP})
        try:
            assert token.verify(tok, _resolver(key), typ=token.CREDENTIAL_TYP).claims == CLAIMS
            return
        except TokenError as err:
            assert alg == "ES256" and err.code == "bad_signature"
    pytest.fail("no low-S signature in 8 tries")


def test_es256_signatures_are_low_s():
    key = keys.generate_private_key("ES256")
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    from shared.b64 import b64url_decode
    for i in range(40):
        sig = b64url_decode(token.sign(dict(CLAIMS, i=i), key, "k", "x").split(".")[2])
        assert int.from_bytes(sig[32:], "big") <= n // 2


def test_algorithm_bound_to_key_type():
    ec_key, ed_key = keys.generate_private_key("ES256"), keys.generate_private_key("EdDSA")
    tok = token.sign(CLAIMS, ed_key, "k1", token.CREDENTIAL_TYP)
    r = keys.StaticKeyResolver({"RU-27": []})
    # The resolver says kid k1 is an ES256 key; an EdDSA token under that kid must not pass.
    r.add(keys.VerificationKey("RU-27", "k1", "ES256", ec_key.public_key()))
    with pytest.raises(TokenError) as err:
        token.verify(tok, r, typ=token.CREDENTIAL_TYP)
    assert err.value.verification_code is Code.UNSUPPORTED_ALGORITHM


def test_wrong_typ_only_after_signature():
    key = keys.generate_private_key()
    tok = token.sign(CLAIMS, key, keys.kid_for(key), "JWT")
    with pytest.raises(TokenError) as err:
        token.verify(tok, _resolver(key), typ=token.CREDENTIAL_TYP)
    assert err.value.code == "wrong_type"


@pytest.mark.parametrize("now,code", [(1_900_000_000 + 61, "expired"), (1_700_000_000 - 61, "not_yet_valid")])
def test_times_with_leeway(now, code):
    with pytest.raises(TokenError) as err:
        token.check_times(CLAIMS, now, 60)
    assert err.value.code == code
    token.check_times(CLAIMS, now - 2 if code == "expired" else now + 2, 60)


def test_missing_exp_is_malformed():
    with pytest.raises(TokenError) as err:
        token.check_times({"iss": "x"}, 0, 60)
    assert err.value.code == "malformed"


@pytest.mark.parametrize("value", [True, 1.5, "1", -1, 2**60, None])
def test_numeric_dates_must_be_whole(value):
    from shared.b64 import b64url_encode
    from shared.jsonstrict import dumps_canonical
    tok = ".".join([b64url_encode(b'{"alg":"ES256","kid":"k","typ":"x"}'),
                    b64url_encode(dumps_canonical({"iss": "a", "exp": value})), "AA"])
    with pytest.raises(TokenError) as err:
        token.parse(tok)
    assert err.value.code == "malformed"


def test_length_cap_before_parsing():
    with pytest.raises(TokenError, match="too long"):
        token.parse("a" * (token.MAX_TOKEN_LENGTH + 1))
