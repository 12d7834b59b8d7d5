"""The citizen's page in Russian (the default) or English: which language, and the page's words.

A dictionary on purpose, not Flask-Babel: two languages and one page of some thirty phrases.
Babel would add a dependency, .po files and a compile step for .mo files (or binaries in the
repository), and a missing translation there falls back silently; here a test checks that every
phrase exists in both languages, and the phrases sit side by side for review.

Which language, first match wins:
1. `?lang=ru|en` (then remembered in a cookie, for the `/w/` pages only);
2. that cookie;
3. the browser's Accept-Language, only to choose English, and only when it names no language
   whose readers read Russian: a Russian (or Belarusian, Kazakh...) browser gets Russian even
   when it lists English first, as a phone bought abroad or set to English often does;
4. Russian.
"""
from __future__ import annotations

from collections.abc import Iterable

LANGS = ("ru", "en")
DEFAULT = "ru"
COOKIE = "socpass_lang"
COOKIE_MAX_AGE = 365 * 86400
# Languages whose speakers in Russia read Russian: with any of them listed, the page is Russian.
READS_RUSSIAN = ("ru", "be", "uk", "kk", "ky", "tt", "ba", "cv", "sah", "os", "ce")


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


WALLET: dict[str, dict[str, str]] = {
    "title": {"ru": "Удостоверение", "en": "Credential"},
    "language": {"ru": "Язык", "en": "Language"},
    "qr_alt": {"ru": "QR-код удостоверения", "en": "QR code of the credential"},
    "qr_caption": {"ru": "Покажите этот QR-код на кассе или на входе вместе с документом, "
                         "удостоверяющим личность.",
                   "en": "Show this QR code at the ticket office or the entrance together with an "
                         "identity document."},
    "what_to_do": {"ru": "Что делать:", "en": "What to do:"},
    "holder": {"ru": "Владелец", "en": "Holder"},
    "birth_date": {"ru": "Дата рождения", "en": "Date of birth"},
    "children": {"ru": "Детей в семье", "en": "Children in the family"},
    "valid_until": {"ru": "Действует до", "en": "Valid until"},
    "inclusive": {"ru": "включительно", "en": "inclusive"},
    "region": {"ru": "Регион", "en": "Region"},
    "where": {"ru": "Где и как можно использовать", "en": "Where and how it can be used"},
    "how": {"ru": "Покажите QR-код на кассе или на входе вместе с документом, удостоверяющим "
                  "личность (паспорт; для детей — свидетельство о рождении). Интернет на телефоне "
                  "не нужен: QR-код проверяется без связи. Можно распечатать карточку или лист A4 — "
                  "ниже.",
            "en": "Show the QR code at the ticket office or the entrance together with an identity "
                  "document (a passport; for children, the birth certificate). The phone needs no "
                  "internet: the QR code is checked offline. You can also print the card or the A4 "
                  "sheet below."},
    "download": {"ru": "Скачать", "en": "Download"},
    "download_png": {"ru": "QR-код (PNG)", "en": "QR code (PNG)"},
    "download_card": {"ru": "Карточка для кошелька (PDF)", "en": "Wallet card (PDF)"},
    "download_a4": {"ru": "Лист A4 для печати (PDF)", "en": "A4 sheet to print (PDF)"},
    "print_note": {"ru": "Карточка и лист A4 печатаются на русском языке.",
                   "en": "The card and the A4 sheet are printed in Russian."},
    "private": {"ru": "Это ваша личная ссылка: не публикуйте её. Если её узнали посторонние, "
                      "попросите новую в центре социальной поддержки населения — старая перестанет "
                      "работать.",
                "en": "This is your private link: do not publish it. If strangers learned it, ask "
                      "your social support centre for a new one; the old one will stop working."},
}


def texts(lang: str) -> dict[str, str]:
    """The page's phrases in `lang`."""
    return {key: phrase[lang] for key, phrase in WALLET.items()}
