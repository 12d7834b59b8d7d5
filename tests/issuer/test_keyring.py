"""Key lifecycle: encrypted at rest, import, rotate, retire, withdraw, and what the JWKS holds."""
from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from issuer.config import Settings
from issuer.errors import InvalidState, NotFound, NotInitialized
from issuer.keyring import ENCRYPTED_PEM_HEADER
from issuer.service import IssuerService
from issuer.storage import queries
from issuer.storage.models import SigningKey
from shared.errors import ConfigError, InputError, KeyError_
from shared.keys import generate_private_key, kid_for, private_key_to_pem
from shared.token import CREDENTIAL_TYP, parse, verify

from tests.issuer.helpers import ISSUER_NAME, ISSUER_URL, PASSPHRASE, FakeClock, make_data, resolver_for


def stored_keys(svc: IssuerService) -> list[SigningKey]:
    with svc.store.read() as session:
        return list(session.scalars(select(SigningKey)))


def jwks_kids(svc: IssuerService) -> set[str]:
    return {k["kid"] for k in svc.jwks()["keys"]}


def test_init_refuses_without_passphrase_outside_demo(settings: Settings, clock: FakeClock) -> None:
    no_secret = replace(settings, key_passphrase=None, demo=False)
    with IssuerService.open(no_secret, clock=clock) as svc:
        with pytest.raises(ConfigError) as info:
            svc.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL)
        assert info.value.code == "no_passphrase"
        assert "SOCPASS_KEY_PASSPHRASE" in info.value.description
        with pytest.raises(NotInitialized):
            svc.issuer_info()  # nothing was written


def test_demo_mode_uses_the_demo_passphrase(settings: Settings, clock: FakeClock) -> None:
    demo = replace(settings, key_passphrase=None, demo=True)
    with IssuerService.open(demo, clock=clock) as svc:
        svc.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL)
        assert stored_keys(svc)[0].private_pem_encrypted.startswith(ENCRYPTED_PEM_HEADER)
        svc.issue("large_family", make_data())


def test_private_key_is_stored_encrypted(service: IssuerService) -> None:
    (row,) = stored_keys(service)
    assert row.private_pem_encrypted.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert row.state == "active" and row.alg == "ES256"
    with pytest.raises(TypeError):  # unusable without the passphrase
        serialization.load_pem_private_key(row.private_pem_encrypted.encode(), password=None)
    key = serialization.load_pem_private_key(row.private_pem_encrypted.encode(), PASSPHRASE.encode())
    assert kid_for(key) == row.kid  # type: ignore[arg-type]


def test_wrong_passphrase_is_a_clear_error(service: IssuerService, settings: Settings, clock: FakeClock) -> None:
    with IssuerService.open(replace(settings, key_passphrase="wrong"), clock=clock) as other:
        with pytest.raises(KeyError_) as info:
            other.issue("large_family", make_data())
        assert info.value.code == "bad_passphrase"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
@pytest.mark.parametrize("encrypted", [False, True])
def test_init_with_an_existing_key(bare_service: IssuerService, alg: str, encrypted: bool) -> None:
    key = generate_private_key(alg)
    pem = private_key_to_pem(key, PASSPHRASE.encode() if encrypted else None)
    info = bare_service.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL, key_pem=pem)
    assert (info["kid"], info["alg"]) == (kid_for(key), alg)
    (row,) = stored_keys(bare_service)
    assert row.private_pem_encrypted.startswith(ENCRYPTED_PEM_HEADER)
    result = bare_service.issue("large_family", make_data())
    verified = verify(result["token"], resolver_for(bare_service), typ=CREDENTIAL_TYP)
    assert verified.header == {"alg": alg, "kid": kid_for(key), "typ": CREDENTIAL_TYP}


def test_init_with_eddsa(bare_service: IssuerService) -> None:
    assert bare_service.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL, alg="EdDSA")["alg"] == "EdDSA"
    assert [k["kty"] for k in bare_service.jwks()["keys"]] == ["OKP"]


def test_init_refuses_a_bad_key(bare_service: IssuerService) -> None:
    with pytest.raises(KeyError_):
        bare_service.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL, key_pem=b"-----BEGIN NOTHING-----")
    pem = private_key_to_pem(generate_private_key("EdDSA"), None)
    with pytest.raises(InputError) as info:
        bare_service.init_issuer("RU-27", ISSUER_NAME, ISSUER_URL, alg="ES256", key_pem=pem)
    assert info.value.code == "invalid_alg"


def test_jwks_members(service: IssuerService) -> None:
    (jwk,) = service.jwks()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in jwk


def test_rotation_keeps_the_old_key_published_while_its_credentials_live(
        service: IssuerService, clock: FakeClock) -> None:
    old_kid = service.keys()["keys"][0]["kid"]
    short = service.issue("large_family", make_data(valid_until="2025-04-30"))
    rotated = service.rotate_key()
    assert rotated["retired"] == old_kid and rotated["active"] != old_kid
    new = service.issue("large_family", make_data())
    assert parse(new["token"]).header["kid"] == rotated["active"]
    assert parse(short["token"]).header["kid"] == old_kid
    # Both keys published; both credentials verify.
    assert jwks_kids(service) == {old_kid, rotated["active"]}
    for result in (short, new):
        verify(result["token"], resolver_for(service), typ=CREDENTIAL_TYP)
    states = {k["kid"]: (k["state"], k["published"], k["live_credentials"]) for k in service.keys()["keys"]}
    assert states == {old_kid: ("retired", True, 1), rotated["active"]: ("active", True, 1)}
    # The old key's last credential expires: the key leaves the JWKS.
    clock.advance(days=60)
    assert jwks_kids(service) == {rotated["active"]}


def test_retired_key_leaves_the_jwks_when_its_credentials_are_revoked(service: IssuerService) -> None:
    old_kid = service.keys()["keys"][0]["kid"]
    a = service.issue("large_family", make_data())
    new_kid = service.rotate_key()["active"]
    assert jwks_kids(service) == {old_kid, new_kid}
    service.revoke(a["id"], "x")
    assert jwks_kids(service) == {new_kid}


def test_withdraw_removes_a_key_at_once(service: IssuerService) -> None:
    old_kid = service.keys()["keys"][0]["kid"]
    service.issue("large_family", make_data())
    new_kid = service.rotate_key(alg="EdDSA")["active"]
    withdrawn = service.withdraw_key(old_kid)
    assert withdrawn["state"] == "withdrawn" and withdrawn["withdrawn_at"]
    assert withdrawn["live_credentials"] == 1 and withdrawn["published"] is False
    assert jwks_kids(service) == {new_kid}
    with pytest.raises(InvalidState):
        service.retire_key(old_kid)


def test_retire(service: IssuerService) -> None:
    old_kid = service.keys()["keys"][0]["kid"]
    with pytest.raises(InvalidState) as info:
        service.retire_key(old_kid)
    assert "keys rotate" in info.value.description
    service.rotate_key()
    assert service.retire_key(old_kid)["state"] == "retired"  # already retired: no change
    with pytest.raises(NotFound):
        service.retire_key("nope")


def test_one_active_key_at_most(service: IssuerService) -> None:
    for _ in range(3):
        service.rotate_key()
    with service.store.read() as session:
        assert [k.state for k in queries.signing_keys(session)].count("active") == 1
    assert len(service.keys()["keys"]) == 4


def test_rotation_after_withdrawing_the_active_key(service: IssuerService) -> None:
    kid = service.keys()["keys"][0]["kid"]
    service.withdraw_key(kid)
    assert service.jwks() == {"keys": []}
    rotated = service.rotate_key()
    assert rotated["retired"] is None
    service.issue("large_family", make_data())
