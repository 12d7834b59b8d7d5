"""The use cases: issue, replace, status changes, status lists, metadata and publication."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from issuer.errors import AlreadyInitialized, AlreadyIssued, InvalidState, NoActiveKey, NotFound, NotInitialized
from issuer.registry import end_of_day
from issuer.service import IssuerService
from issuer.storage import queries
from shared.credential import Credential
from shared.errors import InputError
from shared.publication import ENTITLEMENTS_PATH, JWKS_PATH, METADATA_PATH, IssuerMetadata, relative_path
from shared.qrtext import decode as qr_decode
from shared.statuslist import REVOKED, SUSPENDED, VALID, verify_status_list
from shared.token import CREDENTIAL_TYP, check_times, verify

from tests.issuer.helpers import ISSUER_ID, ISSUER_URL, FakeClock, holder, make_data, resolver_for

KHABAROVSK = ZoneInfo("Asia/Vladivostok")


def status_of(svc: IssuerService, result: dict) -> int:
    uri = result["status"]["uri"]
    list_id = uri.rsplit("/", 1)[1]
    token = verify_status_list(svc.status_list_token(list_id), resolver_for(svc), uri=uri)
    return token.status_list.get(result["status"]["idx"])


@pytest.mark.parametrize("ctype,extra", [("large_family", {"children": 5}),
                                         ("beneficiary", {"category": "combat_veteran"})])
def test_issue_signs_a_verifiable_credential(service: IssuerService, clock: FakeClock,
                                             ctype: str, extra: dict) -> None:
    result = service.issue(ctype, make_data(ctype, **extra))
    assert set(result) == {"id", "token", "qr_text", "status", "expires_at"}
    assert set(result["status"]) == {"idx", "uri"}
    verified = verify(result["token"], resolver_for(service), typ=CREDENTIAL_TYP)
    claims = verified.claims
    assert claims["iss"] == ISSUER_ID and claims["jti"] == result["id"]
    assert claims["iat"] == int(clock.now.timestamp())
    assert "registry_id" not in json.dumps(claims) and "KHV-" not in json.dumps(claims)
    cred = Credential.from_claims(claims)
    assert cred.type == ctype and cred.holder.full_name == "Иванова Мария Петровна"
    assert (cred.children, cred.category) == (extra.get("children"), extra.get("category"))
    assert cred.status.uri == f"{ISSUER_URL}/status/1" == result["status"]["uri"]
    assert cred.status.idx == result["status"]["idx"]
    assert qr_decode(result["qr_text"]) == result["token"]
    assert result["qr_text"].isdigit()
    assert len(result["id"]) == 16
    check_times(claims, int(clock.now.timestamp()), 0)


def test_validity_ends_at_the_end_of_the_day_in_the_issuer_time_zone(service: IssuerService) -> None:
    result = service.issue("large_family", make_data(valid_until="2030-05-31"))
    assert result["expires_at"] == "2030-06-01T00:00:00+10:00"
    claims = verify(result["token"], resolver_for(service), typ=CREDENTIAL_TYP).claims
    exp = datetime(2030, 5, 31, 14, 0, tzinfo=timezone.utc)  # midnight in Khabarovsk
    assert claims["exp"] == int(exp.timestamp())
    with pytest.raises(Exception):
        check_times(claims, claims["exp"], 0)
    check_times(claims, claims["exp"] - 1, 0)


def test_end_of_day_follows_the_zone() -> None:
    assert end_of_day(datetime(2030, 12, 31).date(), ZoneInfo("Europe/Moscow")).isoformat() == \
        "2031-01-01T00:00:00+03:00"


def test_today_is_taken_in_the_issuer_time_zone(service: IssuerService, clock: FakeClock) -> None:
    clock.now = datetime(2025, 3, 10, 15, 0, tzinfo=timezone.utc)  # already 11 March in Khabarovsk
    assert service.today() == datetime(2025, 3, 11).date()
    with pytest.raises(InputError) as info:
        service.issue("large_family", make_data(valid_until="2025-03-10"))
    assert info.value.code == "invalid_valid_until"
    service.issue("large_family", make_data(valid_until="2025-03-11"))


@pytest.mark.parametrize("ctype,overrides,code", [
    ("large_family", {"children": 2}, "invalid_children"),
    ("beneficiary", {"category": "astronaut"}, "invalid_category"),
    ("large_family", {"holder": holder(birth_date="12.04.1988")}, "invalid_birth_date"),
    ("large_family", {"holder": holder(family_name="")}, "invalid_family_name"),
    ("large_family", {"region": "Хабаровск"}, "invalid_region"),
    ("large_family", {"registry_id": ""}, "invalid_registry_id"),
    ("pilot", {}, "invalid_type"),
])
def test_invalid_data_is_refused_with_a_field_code(service: IssuerService, ctype: str, overrides: dict,
                                                   code: str) -> None:
    with pytest.raises(InputError) as info:
        service.issue(ctype, make_data("beneficiary" if ctype == "beneficiary" else "large_family", **overrides))
    assert info.value.code == code
    assert " / " in info.value.description  # Russian / English


def test_issue_before_init_is_refused(bare_service: IssuerService) -> None:
    with pytest.raises(NotInitialized):
        bare_service.issue("large_family", make_data())


def test_init_twice_is_refused(service: IssuerService) -> None:
    with pytest.raises(AlreadyInitialized):
        service.init_issuer("RU-27", "x", "https://x.example")


@pytest.mark.parametrize("args,code", [
    (("RU 27", "name", "https://x.example"), "invalid_issuer_id"),
    (("RU-27", " ", "https://x.example"), "invalid_name"),
    (("RU-27", "name", "ftp://x.example"), "invalid_url"),
])
def test_init_validates_its_arguments(bare_service: IssuerService, args: tuple, code: str) -> None:
    with pytest.raises(InputError) as info:
        bare_service.init_issuer(*args)
    assert info.value.code == code


def test_second_live_credential_for_a_registry_id_is_refused(service: IssuerService) -> None:
    data = make_data()
    first = service.issue("large_family", data)
    with pytest.raises(AlreadyIssued) as info:
        service.issue("large_family", data)
    assert info.value.code == "already_issued"
    assert first["id"] in info.value.description and "--replace" in info.value.description


def test_replace_revokes_the_old_credential_and_links_it(service: IssuerService) -> None:
    data = make_data()
    first = service.issue("large_family", data)
    second = service.issue("large_family", {**data, "children": 5}, replace=True)
    old = service.credential(first["id"])
    assert (old["state"], old["reason"], old["replaced_by"]) == ("revoked", "replaced", second["id"])
    assert service.credential(second["id"])["state"] == "valid"
    assert status_of(service, first) == REVOKED and status_of(service, second) == VALID


def test_an_expired_credential_does_not_block_a_new_one(service: IssuerService, clock: FakeClock) -> None:
    data = make_data(valid_until="2025-03-20")
    first = service.issue("large_family", data)
    clock.advance(days=30)
    second = service.issue("large_family", {**data, "valid_until": "2026-03-20"})
    assert service.credential(first["id"])["replaced_by"] == second["id"]


def test_revoke_suspend_reinstate_show_in_the_signed_list(service: IssuerService, clock: FakeClock) -> None:
    a = service.issue("large_family", make_data())
    b = service.issue("beneficiary", make_data("beneficiary"))
    assert status_of(service, a) == VALID and status_of(service, b) == VALID
    assert service.suspend(a["id"], "проверка документов")["state"] == "suspended"
    assert status_of(service, a) == SUSPENDED
    assert service.revoke(b["id"], "умер / deceased")["state"] == "revoked"
    assert status_of(service, b) == REVOKED
    reinstated = service.reinstate(a["id"])
    assert (reinstated["state"], reinstated["reason"]) == ("valid", None)
    assert status_of(service, a) == VALID
    with pytest.raises(InvalidState) as info:
        service.reinstate(b["id"])
    assert info.value.code == "cannot_reinstate"
    with pytest.raises(InvalidState):
        service.suspend(b["id"], "x")
    assert service.revoke(b["id"], "again")["reason"] == "умер / deceased"  # idempotent
    assert event_actions(service, a["id"]) == ["issue", "suspend", "reinstate"]
    assert event_actions(service, b["id"]) == ["issue", "revoke"]


def event_actions(svc: IssuerService, credential_id: str) -> list[str]:
    with svc.store.read() as session:
        return [e.action for e in queries.events(session, credential_id=credential_id)]


def test_state_changes_need_a_known_id_and_a_reason(service: IssuerService) -> None:
    a = service.issue("large_family", make_data())
    with pytest.raises(NotFound):
        service.revoke("does-not-exist", "x")
    with pytest.raises(InputError) as info:
        service.revoke(a["id"], "   ")
    assert info.value.code == "invalid_reason"


def test_status_list_token_claims(service: IssuerService, clock: FakeClock, settings) -> None:
    a = service.issue("large_family", make_data())
    token = verify_status_list(service.status_list_token("1"), resolver_for(service), uri=a["status"]["uri"])
    assert token.issuer == ISSUER_ID
    assert token.issued_at == int(clock.now.timestamp())
    assert token.expires_at == token.issued_at + settings.status_lifetime
    assert token.ttl == settings.status_ttl
    assert token.status_list.bits == 2 and token.status_list.size == settings.status_list_size


def test_status_list_token_is_reused_until_a_change(service: IssuerService, clock: FakeClock) -> None:
    a = service.issue("large_family", make_data())
    first = service.status_list_token("1")
    clock.advance(seconds=5)
    assert service.status_list_token("1") == first
    service.suspend(a["id"], "x")
    changed = service.status_list_token("1")
    assert changed != first
    clock.advance(seconds=3600)
    assert service.status_list_token("1") != changed  # too old to serve again: re-signed


def test_unknown_status_list(service: IssuerService) -> None:
    with pytest.raises(NotFound):
        service.status_list_token("99")


def test_status_list_needs_an_active_key(service: IssuerService) -> None:
    kid = service.keys()["keys"][0]["kid"]
    service.withdraw_key(kid)
    with pytest.raises(NoActiveKey):
        service.status_list_token("1")
    with pytest.raises(NoActiveKey):
        service.issue("large_family", make_data())


def test_metadata(service: IssuerService) -> None:
    meta = service.metadata()
    assert isinstance(meta, IssuerMetadata)
    assert (meta.iss, meta.url, meta.region, meta.timezone) == (ISSUER_ID, ISSUER_URL, "27", "Asia/Vladivostok")
    assert meta.status_lists == (f"{ISSUER_URL}/status/1",)
    assert IssuerMetadata.from_json(meta.to_json()) == meta


def test_publish_writes_what_a_verifier_syncs(service: IssuerService, tmp_path: Path) -> None:
    a = service.issue("large_family", make_data())
    service.revoke(a["id"], "x")
    out = tmp_path / "pub"
    result = service.publish(out)
    assert sorted(result["files"]) == sorted([METADATA_PATH, JWKS_PATH, ENTITLEMENTS_PATH, "status/1"])
    meta = IssuerMetadata.from_json(json.loads((out / METADATA_PATH).read_text("utf-8")))
    jwks = json.loads((out / JWKS_PATH).read_text("utf-8"))
    assert jwks == service.jwks()
    for uri in meta.status_lists:
        token = (out / relative_path(meta.url, uri)).read_text("ascii")
        listed = verify_status_list(token, resolver_for(service), uri=uri)
        assert listed.status_list.get(a["status"]["idx"]) == REVOKED
    assert not [p for p in out.rglob(".*.tmp")]  # no temporary files left behind
    service.publish(out)  # publishing again replaces the files in place


def test_credential_detail_has_no_surprises(service: IssuerService, clock: FakeClock) -> None:
    data = make_data(holder=holder(patronymic=None))
    a = service.issue("large_family", data)
    shown = service.credential(a["id"])
    assert shown["data"]["holder"] == {"family_name": "Иванова", "given_name": "Мария",
                                       "birth_date": "1988-04-12"}
    assert shown["registry_id"] == data["registry_id"]
    assert shown["issued_at"] == clock.now.astimezone(KHABAROVSK).isoformat()


def test_credential_ids_never_start_with_a_dash(monkeypatch) -> None:
    """An id is a CLI argument (`revoke ID`): a leading "-" would read as an option."""
    import issuer.registry

    draws = iter([b"\xfb" + bytes(11), b"\x00" * 12])  # the first encodes to "-w...", the second not
    monkeypatch.setattr(issuer.registry.secrets, "token_bytes", lambda n: next(draws))
    assert issuer.registry.new_credential_ids(1) == ["A" * 16]
