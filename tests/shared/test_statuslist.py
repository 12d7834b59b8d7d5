import base64
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from shared import keys, statuslist, token
from shared.b64 import b64url_encode
from shared.errors import TokenError
from shared.statuslist import StatusList

# draft-ietf-oauth-status-list-20, section 4.1: the two worked examples.
DRAFT_1BIT = ({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1])
DRAFT_2BIT = ({"bits": 2, "lst": "eNo76fITAAPfAgc"}, [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3])


@pytest.mark.parametrize("obj,values", [DRAFT_1BIT, DRAFT_2BIT])
def test_draft_examples_decode(obj, values):
    sl = StatusList.from_json(obj)
    assert [sl.get(i) for i in range(len(values))] == values


@pytest.mark.parametrize("obj,values", [DRAFT_1BIT, DRAFT_2BIT])
def test_draft_examples_encode(obj, values):
    sl = StatusList(len(values), obj["bits"])
    for i, v in enumerate(values):
        sl.set(i, v)
    # Compare the uncompressed bytes: the compressed form may differ between zlib builds.
    assert zlib.decompress(base64.urlsafe_b64decode(sl.to_json()["lst"] + "==")) == \
        zlib.decompress(base64.urlsafe_b64decode(obj["lst"] + "=="))


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([1, 2, 4, 8]), st.lists(st.tuples(st.integers(0, 999), st.integers(0, 255)), max_size=60))
def test_set_get_round_trip(bits, updates):
    sl = StatusList(1000, bits)
    model = {}
    for idx, value in updates:
        value &= (1 << bits) - 1
        sl.set(idx, value)
        model[idx] = value
    back = StatusList.from_json(sl.to_json())
    assert back.size == 1000 + (-1000 % (8 // bits))
    for idx in range(1000):
        assert back.get(idx) == model.get(idx, 0)


@pytest.mark.parametrize("idx", [-1, 16, 2**40, 1.0, True])
def test_index_out_of_range(idx):
    with pytest.raises(IndexError):
        StatusList(16, 2).get(idx)


def test_value_must_fit():
    with pytest.raises(ValueError):
        StatusList(16, 2).set(0, 4)


@pytest.mark.parametrize("obj", [
    None, [], {"bits": 3, "lst": "eNo76fITAAPfAgc"}, {"bits": "2", "lst": "eNo76fITAAPfAgc"},
    {"bits": 2}, {"bits": 2, "lst": "!!"}, {"bits": 2, "lst": b64url_encode(b"not zlib")},
    {"bits": 2, "lst": b64url_encode(zlib.compress(b"\x00" * 100)[:-3])},
    {"bits": 2, "lst": b64url_encode(zlib.compress(b"\x00" * 100) + b"x")},
])
def test_malformed_lists(obj):
    with pytest.raises(TokenError) as err:
        StatusList.from_json(obj)
    assert err.value.code == "malformed"


def test_zlib_bomb_capped():
    bomb = b64url_encode(zlib.compress(b"\x00" * (statuslist.MAX_LIST_BYTES + 1024), 9))
    with pytest.raises(TokenError, match="too large"):
        StatusList.from_json({"bits": 2, "lst": bomb})


def _resolver(key):
    r = keys.StaticKeyResolver({"RU-27": []})
    r.add(keys.VerificationKey("RU-27", keys.kid_for(key), keys.algorithm_for_key(key), key.public_key()))
    return r


def test_status_list_token_round_trip():
    key = keys.generate_private_key()
    sl = StatusList(4096, 2)
    sl.set(7, statuslist.REVOKED)
    sl.set(4095, statuslist.SUSPENDED)
    uri = "https://szn.test/status/1"
    tok = statuslist.sign_status_list(sl, uri=uri, issuer="RU-27", issued_at=100, expires_at=200, ttl=50,
                                      key=key, kid=keys.kid_for(key))
    assert token.parse(tok).header["typ"] == "statuslist+jwt"
    got = statuslist.verify_status_list(tok, _resolver(key), uri=uri)
    assert (got.issued_at, got.expires_at, got.ttl, got.uri, got.issuer) == (100, 200, 50, uri, "RU-27")
    assert got.status_list.get(7) == 1 and got.status_list.get(4095) == 2 and got.status_list.get(8) == 0


def test_sub_must_match_uri():
    key = keys.generate_private_key()
    tok = statuslist.sign_status_list(StatusList(8), uri="https://a/status/1", issuer="RU-27", issued_at=1,
                                      expires_at=2, ttl=1, key=key, kid=keys.kid_for(key))
    with pytest.raises(TokenError, match="sub"):
        statuslist.verify_status_list(tok, _resolver(key), uri="https://a/status/2")


def test_credential_is_not_a_status_list():
    key = keys.generate_private_key()
    tok = token.sign({"iss": "RU-27", "sub": "x", "iat": 1}, key, keys.kid_for(key), token.CREDENTIAL_TYP)
    with pytest.raises(TokenError) as err:
        statuslist.verify_status_list(tok, _resolver(key))
    assert err.value.code == "wrong_type"


def test_untrusted_list_refused():
    key, other = keys.generate_private_key(), keys.generate_private_key()
    tok = statuslist.sign_status_list(StatusList(8), uri="u", issuer="RU-27", issued_at=1, expires_at=2,
                                      ttl=1, key=other, kid=keys.kid_for(key))
    with pytest.raises(TokenError) as err:
        statuslist.verify_status_list(tok, _resolver(key))
    assert err.value.code == "bad_signature"
