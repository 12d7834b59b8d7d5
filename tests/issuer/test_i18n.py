"""gettext for the issuer (Flask-Babel): complete catalogues, Russian plural forms on the pages,
and the language switch of the console and of the citizen's page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import issuer
from issuer.service import IssuerService
from tests.issuer.helpers import make_data
from tests.issuer.web import text

PACKAGE = Path(issuer.__file__).parent
CATALOGUES = PACKAGE / "translations"


def _catalogue(lang: str, kind: str = "po"):
    path = CATALOGUES / lang / "LC_MESSAGES" / f"messages.{kind}"
    with open(path, "rb") as fh:
        return read_po(fh, locale=lang) if kind == "po" else read_mo(fh)


def _extracted() -> set:
    """Every message the issuer's code and templates ask for, as `pybabel extract` finds them."""
    found = extract_from_dir(
        str(PACKAGE.parent), method_map=[("issuer/**.py", "python"),
                                         ("issuer/templates/**.html", "jinja2")],
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                  "lazy_gettext": None})
    return {message if isinstance(message, str) else tuple(message)
            for _, _, message, _, _ in found}


def test_every_message_has_its_russian_translation() -> None:
    ru = _catalogue("ru")
    asked = _extracted()
    assert len(asked) > 100
    for message in asked:
        entry = ru.get(message[0] if isinstance(message, tuple) else message)
        assert entry is not None, f"not in the Russian catalogue: {message!r}"
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(form.strip() for form in forms), f"untranslated: {message!r}"
        if isinstance(message, tuple):
            assert len(forms) == 3, f"Russian has three plural forms: {message!r}"
    english = _catalogue("en")
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in english if m.id} == \
        {m.id if isinstance(m.id, str) else m.id[0] for m in ru if m.id}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_compiled_catalogues_match_their_sources(lang: str) -> None:
    """The .mo files are committed (an install compiles nothing): they must say what the .po say."""
    source, compiled = _catalogue(lang), _catalogue(lang, "mo")
    for message in source:
        if message.id and any(message.string if isinstance(message.string, tuple) else [message.string]):
            assert compiled.get(message.id) is not None, message.id
            assert tuple(compiled.get(message.id).string) == tuple(message.string) \
                if isinstance(message.string, tuple) else \
                compiled.get(message.id).string == message.string, message.id


@pytest.mark.parametrize("children, ru, en", [(3, "3 ребёнка", "3 children"),
                                              (5, "5 детей", "5 children"),
                                              (21, "21 ребёнок", "21 children"),
                                              (24, "24 ребёнка", "24 children")])
def test_children_are_counted_in_russian_plural_forms(login, service: IssuerService, children: int,
                                                      ru: str, en: str) -> None:
    service.issue("large_family", make_data(children=children))
    olga = login("olga")
    page = text(olga.get("/admin/credentials"))
    assert f"({ru})" in page and "детей)" not in page.replace(f"({ru})", "")
    assert "Найдено 1 удостоверение" in page
    assert f"({en})" in text(olga.get("/admin/credentials?lang=en"))


def test_the_console_is_russian_first_with_english_on_request(console_app, login) -> None:
    anonymous = console_app.test_client()
    page = text(anonymous.get("/admin/login", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert '<html lang="ru">' in page and "Вход в консоль" in page and "Sign in to the console" not in page
    olga = login("olga")
    response = olga.get("/admin/audit?lang=en")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("socpass_lang=en;") and "Path=/admin/" in cookie
    english = text(olga.get("/admin/audit"))  # remembered
    assert '<html lang="en">' in english and "Audit log" in english and "Журнал аудита" not in english
    assert "sign-in" in english  # the action labels too
    russian = text(olga.get("/admin/audit?lang=ru"))
    assert "Журнал аудита" in russian and "вход" in russian and "sign-in" not in russian


def test_the_citizens_page_counts_the_children(console_app, service: IssuerService) -> None:
    from tests.issuer.test_wallet import new_link

    client = console_app.test_client()
    _, path = new_link(service)
    page = text(client.get(path))
    assert "4 ребёнка" in page
    assert "4 children" in text(client.get(path + "?lang=en"))


def test_an_invalid_link_says_where_to_go_in_one_language(console_app) -> None:
    client = console_app.test_client()
    response = client.get("/w/no-such-link-0123456789")
    page = text(response)
    assert response.status_code == 404 and '<html lang="ru">' in page
    assert "Ссылка не работает" in page and "центре социальной поддержки населения" in page
    assert "Госуслуг" in page and "паспорт" in page
    shown = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"[A-Za-z]{3,}", shown.replace("gosuslugi.ru", "")), shown  # no English
    english = text(client.get("/w/no-such-link-0123456789?lang=en"))
    assert "This link does not work" in english and "Ссылка" not in english
