"""The citizen's page: private links (hashed, revocable, following reissues), what it shows,
notices when the credential is not valid, and the PNG and PDF downloads."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from issuer.errors import NotFound
from issuer.service import IssuerService
from issuer.storage.models import WalletLink
from verifier.imaging import decode_qr_image

from tests.issuer.helpers import ISSUER_URL, make_data
from tests.issuer.web import csrf_from, form_post, text


@pytest.fixture
def client(console_app):
    return console_app.test_client()


def new_link(service: IssuerService, ctype: str = "large_family", **data) -> tuple[dict, str]:
    issued = service.issue(ctype, make_data(ctype, **data))
    link = service.links.new_link(issued["id"])
    return issued, link["path"]


def test_link_is_hashed_absolute_and_replaced_by_a_new_one(service: IssuerService) -> None:
    issued, path = new_link(service)
    secret = path.removeprefix("/w/")
    assert len(secret) == 22  # 128 bits in base64url
    with service.store.read() as session:
        stored = session.scalars(select(WalletLink).where(WalletLink.revoked_at.is_(None))).one()
        assert secret not in stored.secret_hash and len(stored.secret_hash) == 64
        assert stored.generation == 2  # the first came with the credential
    link = service.links.new_link(issued["id"])
    assert link["url"] == ISSUER_URL + link["path"] and link["generation"] == 3
    with pytest.raises(NotFound):  # the previous link stopped working
        service.wallet.page(secret)


def test_page_shows_the_qr_data_and_where_to_use_it(client, service: IssuerService) -> None:
    issued, path = new_link(service, children=5)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store, private"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    page = text(response)
    assert "Иванова Мария Петровна" in page and "12.04.1988" in page and "31.05.2030" in page
    assert "Многодетная семья" in page and "Действует" in page
    assert "Музей, парк, зоосад" in page and "до 7 чел." in page and "Скидка 50% на проезд" in page
    assert "<script" not in page and "http://" not in page.replace(ISSUER_URL, "")
    png = client.get(path + "/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode_qr_image(png.data) == issued["qr_text"]
    for layout in ("card", "a4"):
        pdf = client.get(f"{path}/card.pdf?layout={layout}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        assert "attachment" in pdf.headers["Content-Disposition"]


def test_beneficiary_entitlements(client, service: IssuerService) -> None:
    _, path = new_link(service, "beneficiary", category="combat_veteran")
    page = text(client.get(path))
    assert "Ветеран боевых действий" in page and "Бесплатный вход" in page
    assert "Транспорт" not in page  # the catalogue grants nothing there for this category


@pytest.mark.parametrize("change,words", [("revoke", "отозвано"), ("suspend", "приостановлено")])
def test_notice_when_not_valid(client, service: IssuerService, change: str, words: str) -> None:
    issued, path = new_link(service)
    getattr(service, change)(issued["id"], "проверка")
    response = client.get(path)
    page = text(response)
    assert response.status_code == 200 and words in page.lower()
    assert "Что делать" in page and "центр социальной поддержки" in page
    assert "qr.png" not in page and "проверка" not in page  # no QR; the internal reason stays internal
    assert client.get(path + "/qr.png").status_code == 404
    assert client.get(path + "/card.pdf").status_code == 404


def test_expired(client, service: IssuerService, clock) -> None:
    _, path = new_link(service, valid_until="2025-03-20")
    clock.advance(days=30)
    assert "Срок действия удостоверения истёк" in text(client.get(path))


def test_link_follows_the_reissued_credential(client, service: IssuerService) -> None:
    issued, path = new_link(service)
    data = service.credential(issued["id"])["data"]
    new = service.reissue(issued["id"], {**data, "children": 6})
    page = text(client.get(path))
    assert "Действует" in page and "до 8 чел." in page
    assert service.wallet.credential_id(path.removeprefix("/w/")) == new["id"]


def test_unknown_and_revoked_links_are_a_friendly_404(client, service: IssuerService) -> None:
    issued, path = new_link(service)
    service.links.revoke_links(issued["id"])
    for url in (path, "/w/" + "A" * 22, "/w/x" * 30):
        response = client.get(url)
        assert response.status_code == 404 and "Ссылка не работает" in text(response)


def test_operator_makes_a_new_link_in_the_console(login, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    first = service.links.url_of(cid)
    client = login("olga")
    response = form_post(client, f"/admin/credentials/{cid}", f"/admin/credentials/{cid}/link")
    page = text(response)
    assert response.status_code == 200 and "Новая ссылка, прежняя больше не работает" in page
    url = page.split('class="secret-link">')[1].split("<")[0]
    assert url.startswith(ISSUER_URL + "/w/") and url != first
    assert client.get(url.removeprefix(ISSUER_URL)).status_code == 200
    assert client.get(first.removeprefix(ISSUER_URL)).status_code == 404
    event = service.audit.events(action="wallet_link")[0]
    assert event["actor"] == "user:olga" and url.rsplit("/", 1)[1] not in json.dumps(event)
    assert event["detail"]["generation"] == 2
    assert "Действующая ссылка создана" in text(client.get(f"/admin/credentials/{cid}"))


def test_operator_shows_the_live_link_again_and_it_is_audited(login, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    client = login("olga")
    response = form_post(client, f"/admin/credentials/{cid}", f"/admin/credentials/{cid}/link/show")
    page = text(response)
    assert response.status_code == 200 and "Действующая ссылка." in page
    url = page.split('class="secret-link">')[1].split("<")[0]
    assert url == service.links.url_of(cid)  # the same link: nothing was revoked
    event = service.audit.events(action="wallet_link_show")[0]
    assert event["actor"] == "user:olga" and event["credential_id"] == cid
    assert url.rsplit("/", 1)[1] not in json.dumps(event)


def test_an_auditor_cannot_see_or_make_links(login, service: IssuerService) -> None:
    cid = service.issue("large_family", make_data())["id"]
    client = login("anna")
    page = client.get(f"/admin/credentials/{cid}")
    assert "Показать ссылку" not in text(page) and "/w/" not in text(page)
    token = csrf_from(text(page))
    for action in ("link", "link/show", "link/revoke"):
        response = client.post(f"/admin/credentials/{cid}/{action}", data={"csrf_token": token})
        assert response.status_code == 403, action
    assert service.audit.events(action="wallet_link_show") == []


def test_access_log_lines_hide_the_secret() -> None:
    from issuer.server import redact

    assert redact('"GET /w/AbC-_12/card.pdf?layout=a4 HTTP/1.1" 200') == \
        '"GET /w/***/card.pdf?layout=a4 HTTP/1.1" 200'
    assert redact('"GET /admin/credentials HTTP/1.1"') == '"GET /admin/credentials HTTP/1.1"'


# --- the page's language -----------------------------------------------------------------------


def test_russian_by_default_with_a_visible_switch(client, service: IssuerService) -> None:
    _, path = new_link(service)
    page = text(client.get(path))
    assert '<html lang="ru">' in page and "Где и как можно использовать" in page
    assert "Where and how" not in page and "Holder" not in page  # one language at a time
    assert 'href="?lang=en"' in page and 'href="?lang=ru"' in page
    assert 'lang="ru" hreflang="ru" aria-current="page"' in page


def test_english_on_request_remembered_in_a_cookie(client, service: IssuerService) -> None:
    _, path = new_link(service, children=5)
    response = client.get(path + "?lang=en")
    page = text(response)
    assert '<html lang="en">' in page and "Where and how it can be used" in page
    assert "Large family" in page and "Valid" in page and "Holder" in page
    assert "Иванова Мария Петровна" in page  # the holder's name as in the documents
    assert "Где и как" not in page
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("socpass_lang=en;") and "Path=/w/" in cookie and "HttpOnly" in cookie
    assert "Cookie" in response.headers["Vary"] and response.headers["Cache-Control"] == "no-store, private"
    assert "Where and how" in text(client.get(path))  # remembered
    back = client.get(path + "?lang=ru")
    assert "Где и как" in text(back) and back.headers["Set-Cookie"].startswith("socpass_lang=ru;")


@pytest.mark.parametrize("accept,lang", [
    ("en-US,en;q=0.9", "en"), ("en-GB", "en"),
    ("en-US,en;q=0.9,ru;q=0.8", "ru"),  # a Russian reader with an English phone: Russian
    ("ru-RU,ru;q=0.9,en-US;q=0.8", "ru"), ("kk-KZ,en;q=0.5", "ru"), ("de-DE,de", "ru"),
    ("en;q=0", "ru"), ("", "ru")])
def test_accept_language_never_makes_russian_readers_get_english(client, service: IssuerService,
                                                                 accept: str, lang: str) -> None:
    _, path = new_link(service)
    page = text(client.get(path, headers={"Accept-Language": accept}))
    assert f'<html lang="{lang}">' in page


def test_a_notice_in_english(client, service: IssuerService) -> None:
    issued, path = new_link(service)
    service.suspend(issued["id"], "проверка")
    page = text(client.get(path + "?lang=en"))
    assert "temporarily suspended" in page and "What to do:" in page and "social support centre" in page


def test_the_card_stays_russian_in_english_mode(client, service: IssuerService) -> None:
    import pypdfium2 as pdfium

    _, path = new_link(service)
    client.get(path + "?lang=en")
    pdf = pdfium.PdfDocument(client.get(path + "/card.pdf?layout=a4").data)
    try:
        words = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    assert "Многодетная семья" in words and "Дата рождения" in words and "Large family" not in words
