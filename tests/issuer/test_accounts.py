"""Accounts: argon2id hashes, the sign-in limit shared by every worker, roles; API tokens."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from issuer.accounts import LoginRefused, TooManyAttempts, Unauthorized, can
from issuer.errors import InvalidState
from issuer.service import IssuerService
from issuer.storage.models import ApiToken, User
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
    # Citizens' links are bearer secrets: admins and operators hand them out, auditors never.
    assert can("admin", "links") and can("operator", "links") and not can("auditor", "links")
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


# --- failed sign-ins in the audit log ----------------------------------------------------------


def failed(service: IssuerService) -> list[dict]:
    return list(reversed(service.audit.events(action="login_failed")))


def test_a_failed_sign_in_is_audited_without_the_password_or_the_address(service: IssuerService) -> None:
    service.accounts.add_user("olga", "operator", "right-password-123")
    with pytest.raises(LoginRefused):
        service.accounts.authenticate("olga", "Wr0ng-Secret-Pw", "203.0.113.77")
    [event] = failed(service)
    assert (event["actor"], event["reason"]) == ("user:olga", "wrong_password")
    assert event["detail"]["client"] == "203.0.113.0/24"
    assert len(event["detail"]["client_id"]) == 16
    dump = json.dumps(service.audit.events(), ensure_ascii=False)
    assert "Wr0ng-Secret-Pw" not in dump and "203.0.113.77" not in dump
    assert service.audit.verify()["ok"]


def test_an_unknown_name_is_kept_as_a_keyed_hash_only(service: IssuerService) -> None:
    """People type their password into the name field: such a "name" must not be logged."""
    service.accounts.add_user("olga", "operator", "right-password-123")
    for _ in range(2):
        with pytest.raises(LoginRefused):
            service.accounts.authenticate("right-password-123", "x", "2001:db8:1:2::5")
    service.accounts.update("olga", active=False)
    with pytest.raises(LoginRefused):
        service.accounts.authenticate("olga", "right-password-123", "2001:db8:1:2::5")
    first, second, disabled = failed(service)
    assert (first["actor"], first["reason"]) == ("user:?", "unknown_user")
    assert first["detail"]["name_id"] == second["detail"]["name_id"]  # the same text, grouped
    assert first["detail"]["client"] == "2001:db8:1::/48"
    assert first["detail"]["client_id"] == disabled["detail"]["client_id"]
    assert (disabled["actor"], disabled["reason"]) == ("user:olga", "disabled")
    dump = json.dumps(service.audit.events(), ensure_ascii=False)
    assert dump.count("right-password-123") == 0 and "2001:db8:1:2::5" not in dump


def test_rate_limited_attempts_are_audited_sparingly(service: IssuerService, clock) -> None:
    service.accounts.add_user("olga", "operator", "right-password-123")
    for _ in range(5):
        with pytest.raises(LoginRefused):
            service.accounts.authenticate("olga", "wrong", "10.0.0.1")
    for _ in range(9):
        with pytest.raises(TooManyAttempts):
            service.accounts.authenticate("olga", "right-password-123", "10.0.0.1")
    events = failed(service)
    assert [e["reason"] for e in events] == ["wrong_password"] * 5 + ["too_many_attempts"] * 4
    assert [e["detail"]["attempt"] for e in events[5:]] == [1, 2, 4, 8]  # not one row per try
    assert all(e["actor"] == "user:olga" and e["detail"]["client"] == "10.0.0.0/24" for e in events)
    # Refusals while limited do not extend the lock.
    clock.advance(minutes=6)
    assert service.accounts.authenticate("olga", "right-password-123", "10.0.0.1").name == "olga"


@pytest.mark.parametrize("address,network", [
    ("192.0.2.200", "192.0.2.0/24"), ("::ffff:192.0.2.9", "192.0.2.0/24"),
    ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"), ("-", "?"), ("not an address", "?")])
def test_client_fields(address: str, network: str) -> None:
    from issuer.loginaudit import client_fields

    fields = client_fields(address, b"k" * 32)
    assert fields["client"] == network and address not in fields["client_id"]
    assert fields["client_id"] != client_fields(address, b"other-key-0123456789abcdef012345")["client_id"]
