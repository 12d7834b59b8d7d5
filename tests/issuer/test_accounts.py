"""Accounts: argon2id hashes, the sign-in limit shared by every worker, roles; API tokens."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from issuer.accounts import LoginRefused, TooManyAttempts, Unauthorized, can
from issuer.errors import InvalidState
from issuer.models import ApiToken, User
from issuer.service import IssuerService
from shared.errors import InputError


def test_passwords_are_stored_as_argon2id(service: IssuerService) -> None:
    created = service.accounts.add_user("olga", "operator")
    assert len(created["password"]) >= 20  # generated, returned once
    with service.store.read() as session:
        row = session.scalars(select(User).where(User.name == "olga")).one()
        assert row.password_hash.startswith("$argon2id$") and created["password"] not in row.password_hash
    info = service.accounts.authenticate("olga", created["password"], "10.0.0.1")
    assert (info.name, info.role, info.active) == ("olga", "operator", True)


@pytest.mark.parametrize("name,role,password,code", [
    ("", "operator", None, "invalid_user_name"), ("имя", "operator", None, "invalid_user_name"),
    ("olga", "root", None, "invalid_role"), ("olga", "operator", "short", "invalid_password")])
def test_bad_accounts_are_refused(service: IssuerService, name, role, password, code) -> None:
    with pytest.raises(InputError) as err:
        service.accounts.add_user(name, role, password)
    assert err.value.code == code


def test_duplicate_user(service: IssuerService) -> None:
    service.accounts.add_user("olga", "operator")
    with pytest.raises(InvalidState):
        service.accounts.add_user("olga", "auditor")


def test_sign_in_limit_per_user_and_address(service: IssuerService, clock) -> None:
    password = service.accounts.add_user("olga", "operator")["password"]
    for _ in range(5):
        with pytest.raises(LoginRefused):
            service.accounts.authenticate("olga", "wrong", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        service.accounts.authenticate("olga", password, "10.0.0.1")
    assert service.accounts.authenticate("olga", password, "10.0.0.2").name == "olga"
    clock.advance(minutes=6)
    assert service.accounts.authenticate("olga", password, "10.0.0.1").name == "olga"


def test_unknown_user_and_disabled_user_are_refused_alike(service: IssuerService) -> None:
    password = service.accounts.add_user("olga", "operator")["password"]
    service.accounts.add_user("boss", "admin")
    service.accounts.update("olga", active=False)
    for name, pw in (("nobody", password), ("olga", password)):
        with pytest.raises(LoginRefused):
            service.accounts.authenticate(name, pw, "10.0.0.1")


def test_password_reset_ends_old_sessions(service: IssuerService) -> None:
    service.accounts.add_user("olga", "operator")
    before = service.accounts.get(1)
    new = service.accounts.update("olga", reset_password=True)["password"]
    after = service.accounts.get(1)
    assert before is not None and after is not None and before.session_key != after.session_key
    assert service.accounts.authenticate("olga", new, "x").name == "olga"


def test_the_last_admin_stays(service: IssuerService) -> None:
    service.accounts.add_user("boss", "admin")
    with pytest.raises(InvalidState):
        service.accounts.update("boss", active=False)
    with pytest.raises(InvalidState):
        service.accounts.update("boss", role="auditor")
    service.accounts.add_user("boss2", "admin")
    assert service.accounts.update("boss", role="auditor")["role"] == "auditor"


def test_permissions() -> None:
    assert can("admin", "admin") and can("admin", "issue") and can("admin", "read")
    assert can("operator", "issue") and not can("operator", "admin")
    assert can("auditor", "read") and not can("auditor", "issue")
    assert not can(None, "read")


def test_api_tokens_hashed_and_revocable(service: IssuerService) -> None:
    created = service.api_tokens.create("Региональный реестр")
    token = created["token"]
    assert service.api_tokens.authenticate(token) == "Региональный реестр"
    with service.store.read() as session:
        row = session.get(ApiToken, created["id"])
        assert row is not None and token not in row.token_hash and len(row.token_hash) == 64
    listed = service.api_tokens.list()
    assert listed[0]["last_used_at"] is not None and "token" not in listed[0]
    service.api_tokens.revoke(created["id"])
    for bad in (token, token + "x", "spt_nothing", "Bearer"):
        with pytest.raises(Unauthorized):
            service.api_tokens.authenticate(bad)
