import pytest

from shared import keys, trustlist
from shared.errors import TokenError
from shared.trustlist import Bundle, TrustedIssuer, TrustList

ROOT = keys.generate_private_key()
ROOT_KID = keys.kid_for(ROOT)
REGION_KEY = keys.generate_private_key("EdDSA")


def _roots(*pairs):
    r = keys.StaticKeyResolver({"RU-FED": []})
    for key in pairs:
        r.add(keys.VerificationKey("RU-FED", keys.kid_for(key), keys.algorithm_for_key(key), key.public_key()))
    return r


def _entry(iss="RU-27", region="27", status="active", key=REGION_KEY):
    return TrustedIssuer(iss, "Минсоцзащиты Хабаровского края", region, f"https://szn.test/{iss}",
                         (keys.jwk_thumbprint(keys.public_jwk(key)),), status)


def _list(*entries, seq=1, exp=2_000_000_000):
    return TrustList("RU-FED", 1_800_000_000, exp, seq, entries or (_entry(),),
                     {"museum": {"visitors": "free_entry"}})


def test_round_trip():
    tok = trustlist.sign_trust_list(_list(_entry(), _entry("RU-25", "25", "suspended")), ROOT, ROOT_KID)
    got = trustlist.verify_trust_list(tok, _roots(ROOT), now=1_900_000_000)
    assert [e.iss for e in got.active()] == ["RU-27"]
    assert got.entry("RU-25").status == "suspended" and got.sequence == 1
    assert got.entry("RU-27").allows(keys.public_jwk(REGION_KEY))
    assert not got.entry("RU-27").allows(keys.public_jwk(keys.generate_private_key()))


def test_second_pinned_root_for_rotation():
    new_root = keys.generate_private_key()
    tok = trustlist.sign_trust_list(_list(), new_root, keys.kid_for(new_root))
    assert trustlist.verify_trust_list(tok, _roots(ROOT, new_root)).issuers


def test_unpinned_root_refused():
    other = keys.generate_private_key()
    tok = trustlist.sign_trust_list(_list(), other, keys.kid_for(other))
    with pytest.raises(TokenError) as err:
        trustlist.verify_trust_list(tok, _roots(ROOT))
    assert err.value.code == "unknown_key"


def test_expired_list():
    tok = trustlist.sign_trust_list(_list(exp=1_900_000_000), ROOT, ROOT_KID)
    with pytest.raises(TokenError) as err:
        trustlist.verify_trust_list(tok, _roots(ROOT), now=1_900_000_001)
    assert err.value.code == "expired"


def test_credential_typ_is_not_a_trust_list():
    from shared import token

    tok = token.sign(_list().claims(), ROOT, ROOT_KID, token.CREDENTIAL_TYP)
    with pytest.raises(TokenError) as err:
        trustlist.verify_trust_list(tok, _roots(ROOT))
    assert err.value.code == "wrong_type"


@pytest.mark.parametrize("mutate", [
    lambda e: e.update(keys=["short"]), lambda e: e.update(keys=[]), lambda e: e.update(status="maybe"),
    lambda e: e.update(region="Хабаровск"), lambda e: e.pop("url"), lambda e: e.update(iss="../x"),
])
def test_bad_entries(mutate):
    claims = _list().claims()
    mutate(claims["issuers"][0])
    from shared import token

    tok = token.sign(claims, ROOT, ROOT_KID, trustlist.TRUST_LIST_TYP)
    with pytest.raises(TokenError) as err:
        trustlist.verify_trust_list(tok, _roots(ROOT))
    assert err.value.code == "malformed"


def test_duplicate_issuer_refused():
    with pytest.raises(ValueError):
        trustlist.sign_trust_list(_list(_entry(), _entry()), ROOT, ROOT_KID)


def test_bundle_round_trip():
    tl = trustlist.sign_trust_list(_list(), ROOT, ROOT_KID)
    b = Bundle(1_800_000_000, 1_800_086_400, tl, {"RU-27": {"metadata": {"iss": "RU-27"}, "jwks": {"keys": []},
                                                             "status_lists": {}}}, {"rules": 1})
    tok = trustlist.sign_bundle(b, issuer="RU-FED", key=ROOT, kid=ROOT_KID)
    got = trustlist.verify_bundle(tok, _roots(ROOT))
    assert got.trust_list == tl and got.regions["RU-27"]["metadata"] == {"iss": "RU-27"}
    with pytest.raises(TokenError):
        trustlist.verify_bundle(tl, _roots(ROOT))
