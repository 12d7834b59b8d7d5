"""Which language a page is in, and gettext (Flask-Babel) to write it in.

The words are in catalogues, one per language: `issuer/translations/<lang>/LC_MESSAGES/
messages.po` (English message ids; Russian is the full translation, English only what differs
from the id, such as plural forms), compiled to `.mo` next to them and committed, so that an
install needs no compile step; tests check that every message has its Russian translation and
that the `.mo` files match the `.po` files (docs/console.md says how to update them). gettext
brings the plural rules of each language: `ngettext` gives 1 ребёнок, 3 ребёнка, 5 детей.

Which language, first match wins:
1. `?lang=ru|en` (then remembered in a cookie, for the part of the site asked: the citizen's
   page `/w/` or the console `/admin/`);
2. that cookie;
3. on the citizen's page only, the browser's Accept-Language, only to choose English, and only
   when it names no language whose readers read Russian: a Russian (or Belarusian, Kazakh...)
   browser gets Russian even when it lists English first, as a phone bought abroad or set to
   English often does. The console is Russian unless English is asked for;
4. Russian.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, g, request
from flask_babel import Babel

LANGS = ("ru", "en")
DEFAULT = "ru"
COOKIE = "socpass_lang"
COOKIE_MAX_AGE = 365 * 86400
# Languages whose speakers in Russia read Russian: with any of them listed, the page is Russian.
READS_RUSSIAN = ("ru", "be", "uk", "kk", "ky", "tt", "ba", "cv", "sah", "os", "ce")
# The parts of the site with a language switch, each remembering its own choice.
SWITCHED = {"/w/": True, "/admin/": False}  # path prefix -> whether Accept-Language may choose


def choose(asked: str | None, remembered: str | None,
           accept_language: Iterable[tuple[str, float]]) -> tuple[str, bool]:
    """(language, whether to remember it in the cookie)."""
    if asked in LANGS:
        return asked, True
    if remembered in LANGS:
        return remembered, False
    wanted = [tag.lower().split("-")[0] for tag, quality in accept_language if quality > 0]
    if "en" in wanted and not any(tag in READS_RUSSIAN for tag in wanted):
        return "en", False
    return DEFAULT, False


def data_lang() -> str:
    """The key of the format's own names in both languages (shared.credential's "ru" and "en"
    of types and categories) for this page's language."""
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "ru"


def _section() -> str | None:
    path = request.path if request.path.endswith("/") else request.path + "/"
    return next((prefix for prefix in SWITCHED if path.startswith(prefix)), None)


def init_babel(app: Flask) -> None:
    Babel(app, locale_selector=lambda: g.get("lang", DEFAULT), default_locale=DEFAULT,
          default_translation_directories="translations")

    @app.before_request
    def _language() -> None:
        section = _section()
        if section is None:
            g.lang, g.remember_lang = DEFAULT, False
            return
        g.lang, g.remember_lang = choose(
            request.args.get("lang"), request.cookies.get(COOKIE),
            request.accept_languages if SWITCHED[section] else ())

    @app.after_request
    def _remember_language(response: Response) -> Response:
        section = _section()
        if section is None:
            return response
        if g.get("remember_lang"):
            response.set_cookie(COOKIE, g.lang, max_age=COOKIE_MAX_AGE, path=section,
                                secure=request.is_secure, httponly=True, samesite="Lax")
        response.vary.update(("Cookie", "Accept-Language") if SWITCHED[section] else ("Cookie",))
        return response

    @app.context_processor
    def _lang() -> dict[str, str]:
        return {"lang": g.get("lang", DEFAULT)}
