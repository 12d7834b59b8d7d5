"""What an operator met in the console: a trustworthy audit log (new users, failed imports, reasons
in words, a plain-name actor filter), import reports that say what is wrong with a file or a
date, the issue form's every error at once, and registry ids of one documented pattern."""
from __future__ import annotations

import json

from issuer.service import IssuerService
from tests.issuer.helpers import make_data
from tests.issuer.test_cli import Runner, run  # noqa: F401 - the fixture
from tests.issuer.test_jobs import HEADER, upload
from tests.issuer.web import form_post, sign_in, text

BAD_ID = "=HYPERLINK(1)"


def _audit_rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr>") if row.strip()]


def test_a_new_user_is_not_shown_as_disabled(login, service: IssuerService) -> None:
    boss = login("boss")
    form_post(boss, "/admin/users", data={"name": "nina", "role": "operator"})
    service.accounts.update("nina", active=False)
    rows = _audit_rows(text(boss.get("/admin/audit")))
    added = next(r for r in rows if "новый пользователь" in r and "nina" in r)
    disabled = next(r for r in rows if "пользователь отключён" in r and "nina" in r)
    assert "отключён" not in added.split("новый пользователь", 1)[1]
    assert "оператор → оператор, отключён" in disabled


def test_refusals_read_as_words_and_the_actor_filter_takes_a_plain_name(console_app, login) -> None:
    sign_in(console_app.test_client(), "olga", "not-her-password")
    page = text(login("anna").get("/admin/audit?actor=olga"))
    rows = _audit_rows(page)
    assert rows and all("user:olga" in r for r in rows)
    refused = next(r for r in rows if "неудачный вход" in r)
    assert "неверный пароль" in refused and "wrong_password" not in page


def test_a_file_that_is_not_a_csv_says_so_and_is_in_the_audit_log(login,
                                                                   service: IssuerService) -> None:
    olga = login("olga")
    assert upload(olga, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "реестр.pdf").status_code == 302
    service.jobs.run_pending()
    job = service.jobs.recent()[0]
    assert job["state"] == "failed" and job["error"].startswith("это не CSV-файл")
    failed = next(e for e in service.audit.events() if e["action"] == "import_failed")
    assert failed["actor"] == "user:olga" and failed["detail"] == {"file": "реестр.pdf",
                                                                  "error": "not_csv"}
    page = text(olga.get("/admin/audit"))
    assert "загрузка реестра не удалась" in page and "реестр.pdf" in page
    assert "файл не принят" in text(olga.get("/admin/import"))


def test_a_date_that_does_not_exist_is_named_and_rejected_rows_are_counted(
        login, service: IssuerService) -> None:
    olga = login("olga")
    rows = ("large_family;KHV-LF-000001;Иванова;Мария;Петровна;31.02.1950;4;;27;31.05.2030\n"
            "large_family;KHV-LF-000002;Иванова;Мария;Петровна;12.04.1988;4;;27;31.05.2030\n"
            f"large_family;{BAD_ID};Иванова;Мария;Петровна;12.04.1988;4;;27;31.05.2030\n")
    upload(olga, (HEADER + rows).encode())
    service.jobs.run_pending()
    job = service.jobs.recent()[0]
    errors = {e["line"]: e["message"] for e in job["result"]["errors"]}
    assert "даты 31.02.1950 не существует" in errors[2] and "ГГГГ-ММ-ДД" not in errors[2]
    assert "1-64 letters" in errors[4]
    listing = text(olga.get("/admin/import"))
    assert '<strong class="bad">2</strong>' in listing


def test_the_issue_form_reports_every_error_on_the_first_submit(login) -> None:
    olga = login("olga")
    response = form_post(olga, "/admin/issue", data={
        "type": "large_family", "registry_id": BAD_ID, "family_name": "", "given_name": "Мария",
        "birth_date": "31.02.1950", "children": "2", "category": "", "region": "x",
        "valid_until": "2030-05-31"})
    assert response.status_code == 400
    page = text(response)
    errors = page.count('<p class="error" role="alert">')
    assert "Обязательное поле" in page  # family name
    assert "даты 31.02.1950 не существует" in page
    assert "от 3 до 30" in page and "из 2–3 цифр" in page and "1-64 letters" in page
    assert errors == 5, page


def test_registry_ids_follow_one_pattern_in_the_api_and_the_cli(console_app, service: IssuerService,
                                                                 run: Runner) -> None:
    token = service.api_tokens.create("registry")["token"]
    response = console_app.test_client().post(
        "/api/v1/credentials", headers={"Authorization": f"Bearer {token}"},
        json={"type": "large_family", "data": make_data(registry_id="KHV LF 1")})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_registry_id"
    # Cyrillic, slashes and dots are registry ids too.
    assert service.issue("large_family", make_data(registry_id="ХБР/2024.МС-17"))["id"]
    code, out, err = run("issue", "--type", "large_family",
                                 "--data", json.dumps(make_data(registry_id="-rf")))
    assert code == 1 and "invalid_registry_id" in err and "1-64 letters" in err
