"""The ministry's console through Flask's test client: sign-in, roles, CSRF, issue, revoke, search."""
from __future__ import annotations

import json

import pytest

from issuer.service import IssuerService
from tests.issuer.helpers import PASSWORD, make_data
from tests.issuer.web import csrf_from, form_post, sign_in, text


def issue_form(**overrides: str) -> dict[str, str]:
    data = {"type": "large_family", "registry_id": "KHV-LF-000123", "family_name": "Иванова",
            "given_name": "Мария", "patronymic": "Петровна", "birth_date": "1988-04-12",
            "children": "4", "category": "", "region": "27", "valid_until": "2030-05-31"}
    data.update(overrides)
    return data


def test_anonymous_gets_the_sign_in_page(console_app) -> None:
    client = console_app.test_client()
    for path in ("/admin/", "/admin/credentials", "/admin/issue", "/admin/audit", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    page = client.get("/admin/login")
    assert page.status_code == 200 and "Вход в консоль" in text(page)


def test_sign_in_session_cookie_and_headers(console_app) -> None:
    client = console_app.test_client()
    response = sign_in(client, "olga", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/credentials"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("socpass_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/admin/credentials")
    assert page.status_code == 200 and "olga" in text(page)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # Over HTTPS (or behind a proxy that says so) the cookie is Secure.
    https = console_app.test_client()
    response = form_post(https, "https://localhost/admin/login",
                         data={"name": "olga", "password": PASSWORD},
                         headers={"Referer": "https://localhost/admin/login"})  # checked on HTTPS
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("socpass_session="))
    assert "Secure" in cookie


def test_wrong_password_is_refused_in_russian_then_rate_limited(console_app) -> None:
    client = console_app.test_client()
    for _ in range(5):
        response = sign_in(client, "olga", "wrong-password-123")
        assert response.status_code == 401 and "Неверное имя пользователя или пароль" in text(response)
    response = sign_in(client, "olga", PASSWORD)  # right password, but too many failures
    assert response.status_code == 429 and "Слишком много неудачных попыток" in text(response)
    other = console_app.test_client()  # another account from the same address is not locked
    assert sign_in(other, "anna", PASSWORD).status_code == 302


def test_failed_sign_ins_are_in_the_audit_log(console_app, service: IssuerService, login) -> None:
    client = console_app.test_client()
    sign_in(client, "olga", "wrong-password-123")
    sign_in(client, "wrong-password-123", "olga")  # the fields swapped
    page = text(login("anna").get("/admin/audit?action=login_failed"))
    assert "неудачный вход" in page and "user:olga" in page and "user:?" in page
    assert "wrong-password-123" not in page
    events = service.audit.events(action="login_failed")
    assert {e["reason"] for e in events} == {"wrong_password", "unknown_user"}
    assert all(e["detail"]["client"] == "127.0.0.0/24" for e in events)
    assert "wrong-password-123" not in json.dumps(events)


def test_post_without_csrf_token_is_refused(console_app, login) -> None:
    client = console_app.test_client()
    response = client.post("/admin/login", data={"name": "olga", "password": PASSWORD})
    assert response.status_code == 400 and "Форма устарела" in text(response)
    signed_in = login("olga")
    response = signed_in.post("/admin/issue", data=issue_form())
    assert response.status_code == 400 and "Форма устарела" in text(response)


def test_issue_form_shows_russian_errors_then_issues(login, service: IssuerService) -> None:
    client = login("olga")
    response = form_post(client, "/admin/issue", data=issue_form(children="2", family_name=""))
    assert response.status_code == 400
    page = text(response)
    assert "Обязательное поле" in page  # family name
    response = form_post(client, "/admin/issue", data=issue_form(children="2"))
    assert response.status_code == 400 and "целое число от 3 до 30" in text(response)
    response = form_post(client, "/admin/issue", data=issue_form(birth_date="12.04.1988"))
    assert response.status_code == 302
    cid = response.headers["Location"].rsplit("/", 1)[1]
    page = text(client.get(f"/admin/credentials/{cid}"))
    assert "Иванова" in page and "действует" in page
    cred = service.credential(cid)
    assert cred["data"]["holder"]["birth_date"] == "1988-04-12"
    events = service.audit.events(credential_id=cid)
    assert events[0]["action"] == "issue" and events[0]["actor"] == "user:olga"


def test_revoke_needs_a_reason_and_a_confirmation(login, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    client = login("olga")
    page = f"/admin/credentials/{cid}/revoke"
    response = form_post(client, page, data={"reason": "  "})
    assert response.status_code == 400 and "Обязательное поле" in text(response)
    response = form_post(client, page, data={"reason": "семья переехала"})
    assert response.status_code == 200 and "Подтвердите" in text(response)
    assert service.credential(cid)["state"] == "valid"  # not yet
    confirm = text(response)
    response = client.post(page, data={"csrf_token": csrf_from(confirm), "reason": "семья переехала",
                                       "confirm": "yes"})
    assert response.status_code == 302
    cred = service.credential(cid)
    assert (cred["state"], cred["reason"]) == ("revoked", "семья переехала")
    audit_page = text(client.get("/admin/audit"))
    assert "семья переехала" in audit_page and "user:olga" in audit_page


def test_suspend_and_reinstate(login, service: IssuerService) -> None:
    cid = service.issue("beneficiary", make_data("beneficiary"))["id"]
    client = login("olga")
    page = f"/admin/credentials/{cid}/suspend"
    form_post(client, page, data={"reason": "проверка", "confirm": "yes"})
    assert service.credential(cid)["state"] == "suspended"
    response = form_post(client, f"/admin/credentials/{cid}", f"/admin/credentials/{cid}/reinstate")
    assert response.status_code == 302 and service.credential(cid)["state"] == "valid"


def test_reissue_revokes_and_issues_new(login, service: IssuerService) -> None:
    data = make_data(children=3)
    cid = service.issue("large_family", data)["id"]
    client = login("olga")
    form = issue_form(registry_id=data["registry_id"], children="5")
    response = form_post(client, f"/admin/credentials/{cid}/reissue", data=form)
    assert response.status_code == 302
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    assert new_id != cid
    old = service.credential(cid)
    assert (old["state"], old["replaced_by"]) == ("revoked", new_id)
    assert service.credential(new_id)["data"]["children"] == 5


def test_auditor_reads_but_cannot_change(login, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    client = login("anna")
    page = client.get(f"/admin/credentials/{cid}")
    assert page.status_code == 200 and "Отозвать" not in text(page) and "Только просмотр" in text(page)
    token = csrf_from(text(page))
    for path in (f"/admin/credentials/{cid}/revoke", f"/admin/credentials/{cid}/suspend",
                 f"/admin/credentials/{cid}/reinstate", f"/admin/credentials/{cid}/link",
                 "/admin/issue", "/admin/keys/rotate", "/admin/users", "/admin/tokens"):
        response = client.post(path, data={"csrf_token": token, "reason": "x", "confirm": "yes"})
        assert response.status_code == 403, path
        assert "Недостаточно прав" in text(response)
    assert service.credential(cid)["state"] == "valid"
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/users").status_code == 403


def test_operator_cannot_manage_users_or_keys(login) -> None:
    client = login("olga")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/tokens").status_code == 403
    response = form_post(client, "/admin/keys", "/admin/keys/rotate")
    assert response.status_code == 403


def test_admin_rotates_keys_and_manages_users(login, service: IssuerService) -> None:
    client = login("boss")
    before = service.keys()["keys"][0]["kid"]
    assert form_post(client, "/admin/keys", "/admin/keys/rotate").status_code == 302
    states = {k["kid"]: k["state"] for k in service.keys()["keys"]}
    assert states[before] == "retired" and list(states.values()).count("active") == 1
    response = form_post(client, "/admin/users", data={"name": "pavel", "role": "operator"})
    assert response.status_code == 200 and "показывается один раз" in text(response)
    assert any(u["name"] == "pavel" for u in service.accounts.users())
    response = form_post(client, "/admin/users", "/admin/users/pavel", data={"action": "disable"})
    assert response.status_code == 200
    assert not next(u for u in service.accounts.users() if u["name"] == "pavel")["active"]


def test_a_disabled_user_is_signed_out(login, service: IssuerService) -> None:
    client = login("olga")
    service.accounts.update("olga", active=False)
    response = client.get("/admin/credentials")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_search_by_name_registry_id_and_status(login, service: IssuerService) -> None:
    a = service.issue("large_family", make_data(holder={"family_name": "Ёлкина", "given_name": "Анна",
                                                        "birth_date": "1990-01-01"}))
    b = service.issue("large_family", make_data(registry_id="KHV-LF-777001"))
    service.revoke(b["id"], "x")
    client = login("anna")
    assert a["id"] in text(client.get("/admin/credentials?q=елкина"))
    found = text(client.get("/admin/credentials?q=KHV-LF-777"))
    assert b["id"] in found and a["id"] not in found
    revoked = text(client.get("/admin/credentials?state=revoked"))
    assert b["id"] in revoked and a["id"] not in revoked
    assert text(client.get("/admin/credentials?q=%25")).count("/admin/credentials/") == 0


def test_card_and_qr_downloads(login, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    client = login("anna")
    for layout in ("card", "a4"):
        response = client.get(f"/admin/credentials/{cid}/card.pdf?layout={layout}")
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
    png = client.get(f"/admin/credentials/{cid}/qr.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


def test_logout(login) -> None:
    client = login("olga")
    response = form_post(client, "/admin/credentials", "/admin/logout")
    assert response.status_code == 302
    assert client.get("/admin/credentials").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/status/1"])
def test_no_open_redirect_after_sign_in(console_app, target: str) -> None:
    client = console_app.test_client()
    token = csrf_from(text(client.get("/admin/login")))
    response = client.post(f"/admin/login?next={target}",
                           data={"csrf_token": token, "name": "olga", "password": PASSWORD})
    assert response.headers["Location"] == "/admin/credentials"
