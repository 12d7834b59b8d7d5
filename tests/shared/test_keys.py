import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared import keys
from shared.errors import KeyError_


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_generate_and_bind_algorithm(alg):
    key = keys.generate_private_key(alg)
    assert keys.algorithm_for_key(key) == alg
    assert keys.algorithm_for_key(key.public_key()) == alg


def test_a_new_kid_never_starts_with_a_dash(monkeypatch):
    """A kid is typed on the command line (`keys retire KID`): "-…" would read as an option."""
    dashed = next(k for k in iter(lambda: ec.generate_private_key(ec.SECP256R1()), None)
                  if keys.kid_for(k).startswith("-"))
    plain = next(k for k in iter(lambda: ec.generate_private_key(ec.SECP256R1()), None)
                 if not keys.kid_for(k).startswith("-"))
    offered = iter([dashed, plain])
    monkeypatch.setattr(keys.ec, "generate_private_key", lambda curve: next(offered))
    assert keys.generate_private_key("ES256") is plain


def test_unknown_algorithm():
    with pytest.raises(KeyError_):
        keys.generate_private_key("HS256")


@pytest.mark.parametrize("key", [ec.generate_private_key(ec.SECP384R1()),
                                 rsa.generate_private_key(public_exponent=65537, key_size=2048)])
def test_other_key_types_refused(key):
    with pytest.raises(KeyError_):
        keys.algorithm_for_key(key)


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_pem_encrypted_round_trip(alg):
    key = keys.generate_private_key(alg)
    pem = keys.private_key_to_pem(key, b"s3cret")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert keys.kid_for(keys.load_private_key_pem(pem, b"s3cret")) == keys.kid_for(key)
    with pytest.raises(KeyError_):
        keys.load_private_key_pem(pem, b"wrong")
    with pytest.raises(KeyError_):
        keys.load_private_key_pem(pem, None)


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_jwk_round_trip_and_thumbprint(alg):
    key = keys.generate_private_key(alg)
    jwk = keys.public_jwk(key)
    pub, got_alg = keys.public_key_from_jwk(jwk)
    assert got_alg == alg
    assert keys.public_jwk(pub) == jwk
    assert len(keys.kid_for(key)) == keys.KID_LENGTH


def test_thumbprint_rfc7638_example():
    # RFC 7638 section 3.1 uses RSA; RFC 8037 appendix A.3 gives the Ed25519 thumbprint.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert keys.jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize("jwk", [
    {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
    {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
    {"kty": "oct", "k": "c2VjcmV0"},
    {"kty": "OKP", "crv": "Ed25519"},
    {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "alg": "ES256"},
    {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "AA"},
    "not a dict",
])
def test_bad_jwks_refused(jwk):
    with pytest.raises(KeyError_):
        keys.public_key_from_jwk(jwk)


def test_point_not_on_curve_refused():
    jwk = keys.public_jwk(keys.generate_private_key("ES256"))
    jwk["y"] = jwk["x"]
    with pytest.raises(KeyError_):
        keys.public_key_from_jwk(jwk)


def test_resolver_by_issuer_and_kid():
    a, b = keys.generate_private_key(), keys.generate_private_key("EdDSA")
    jwks = {"keys": [dict(keys.public_jwk(a), kid="k1"), dict(keys.public_jwk(b), kid="k2")]}
    r = keys.StaticKeyResolver.from_jwks("RU-27", jwks)
    assert r.has_issuer("RU-27") and not r.has_issuer("RU-25")
    assert r.key("RU-27", "k2").alg == "EdDSA"
    assert r.key("RU-25", "k1") is None
    with pytest.raises(KeyError_):
        keys.keys_from_jwks("RU-27", {"keys": [keys.public_jwk(a)]})
