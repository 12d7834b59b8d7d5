"""Statistics from the scan log: labels for people, and the CSV for the venue's report.

The CSV opens in a spreadsheet, so a cell that starts like a formula (= + - @, or a tab or
carriage return) is prefixed with an apostrophe: a venue name from a local policy file can never
run as a formula on the ministry's computer.
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from shared.credential import CATEGORIES, TYPES

MAX_REPORT_DAYS = 400
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

VERDICT_LABELS = {"accept": {"ru": "принято", "en": "accepted"},
                  "reject": {"ru": "отказ", "en": "rejected"}}

CODE_LABELS: dict[str, dict[str, str]] = {
    "valid": {"ru": "действительно", "en": "valid"},
    "malformed": {"ru": "не удостоверение / повреждён", "en": "not a credential / damaged"},
    "unsupported_algorithm": {"ru": "недопустимая подпись", "en": "algorithm not allowed"},
    "untrusted_issuer": {"ru": "неизвестный издатель", "en": "unknown issuer"},
    "unknown_key": {"ru": "неизвестный ключ", "en": "unknown key"},
    "bad_signature": {"ru": "подделка или изменение", "en": "forged or altered"},
    "wrong_type": {"ru": "другой документ", "en": "another kind of document"},
    "clock_invalid": {"ru": "неверное время устройства", "en": "device clock wrong"},
    "expired": {"ru": "срок действия истёк", "en": "expired"},
    "not_yet_valid": {"ru": "ещё не действует", "en": "not yet valid"},
    "revoked": {"ru": "отозвано", "en": "revoked"},
    "suspended": {"ru": "приостановлено", "en": "suspended"},
    "status_unavailable": {"ru": "нет данных об отзыве", "en": "no revocation data"},
    "not_entitled": {"ru": "льгот нет", "en": "not entitled"},
    "no_qr": {"ru": "QR-код не найден", "en": "no QR code"},
}
WARNING_LABELS = {"status_stale": {"ru": "данные об отзыве устарели", "en": "revocation data stale"},
                  "recently_used": {"ru": "повторное предъявление", "en": "used again"}}


PAGE_TEXT = {
    "ru": {"title": "Статистика проверок", "day": "День", "show": "Показать", "today": "сегодня",
           "scans": "Проверок", "accepted": "Принято", "of_them_warned": "из них с предупреждением",
           "counts_note": "«Принято» — все допущенные, включая принятые с предупреждением "
                          "(например, повторное предъявление); «из них с предупреждением» — их "
                          "часть. Так же считает таблица по категориям.",
           "rejected": "Отказ", "persons": "Человек по льготе", "category": "Категория",
           "by_code": "По результатам", "by_warning": "Предупреждения", "code": "Код",
           "count": "Число", "nothing": "За этот день проверок нет.",
           "export": "Выгрузка для отчёта (CSV)", "export_day": "за этот день",
           "export_week": "за 7 дней", "export_month": "с начала месяца",
           "back": "К проверке", "other_lang": "English",
           "zone": "Время объекта ({zone}): сейчас {time}; «сегодня» — день по этому времени.",
           "privacy": "Журнал не содержит ФИО, дат рождения и самих удостоверений: только время, "
                      "результат, тип и категорию."},
    "en": {"title": "Scan statistics", "day": "Day", "show": "Show", "today": "today",
           "scans": "Scans", "accepted": "Accepted", "of_them_warned": "of them with a warning",
           "counts_note": "\"Accepted\" counts every admission, those accepted with a warning "
                          "(e.g. used again) included; \"of them with a warning\" is their part. "
                          "The table by category counts the same way.",
           "rejected": "Rejected", "persons": "Persons admitted", "category": "Category",
           "by_code": "By result", "by_warning": "Warnings", "code": "Code", "count": "Count",
           "nothing": "No scans on this day.", "export": "Export for the report (CSV)",
           "export_day": "this day", "export_week": "last 7 days",
           "export_month": "this month so far", "back": "Back to scanning",
           "zone": "Venue time ({zone}): now {time}; \"today\" is the day by this clock.",
           "other_lang": "Русский",
           "privacy": "The log holds no names, birth dates or credentials: only the time, the "
                      "result, the type and the category."},
}


def parse_day(value: str) -> str:
    """A YYYY-MM-DD day (ValueError otherwise)."""
    if len(value) != 10:
        raise ValueError("a day YYYY-MM-DD is expected")
    return date.fromisoformat(value).isoformat()


def day_range(first: str, last: str) -> tuple[str, str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    if b < a:
        raise ValueError("the end of the period is before its start")
    if (b - a).days >= MAX_REPORT_DAYS:
        raise ValueError(f"at most {MAX_REPORT_DAYS} days at once")
    return first, last


def previous_day(day: str, days: int = 1) -> str:
    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


def category_label(ctype: str | None, category: str | None, lang: str) -> str:
    """"Многодетная семья", "Инвалид I группы", or "—" for a code that was no credential."""
    if category in CATEGORIES:
        return CATEGORIES[category][lang]
    if ctype in TYPES:
        return TYPES[ctype][lang]
    return {"ru": "не удостоверение или не проверено", "en": "no verified credential"}[lang]


def labelled(summary: dict[str, Any], lang: str) -> dict[str, Any]:
    """The summary with labels in `lang` (for /api/stats and the page)."""
    out = dict(summary)
    out["by_category"] = [dict(g, label=category_label(g["type"], g["category"], lang))
                          for g in summary["by_category"]]
    out["by_code"] = [{"code": c, "label": CODE_LABELS.get(c, {}).get(lang, c), "count": n}
                      for c, n in summary["by_code"].items()]
    out["by_warning"] = [{"code": w, "label": WARNING_LABELS.get(w, {}).get(lang, w), "count": n}
                         for w, n in summary["by_warning"].items()]
    return out


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_HEADERS = {
    "ru": ["Дата", "Профиль объекта", "Тип", "Категория", "Название категории", "Решение", "Код",
           "Предупреждения", "Проверок", "Человек"],
    "en": ["day", "profile", "type", "category", "category_label", "verdict", "code", "warnings",
           "scans", "persons"],
}


def report_csv(rows: list[dict[str, Any]], lang: str) -> str:
    """`;`-separated, with a BOM: a Russian spreadsheet opens it as UTF-8 columns."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS[lang])
    for row in rows:
        writer.writerow([safe_cell(v) for v in (
            row["day"], row["profile"], row["type"], row["category"],
            category_label(row["type"], row["category"], lang),
            VERDICT_LABELS.get(row["verdict"], {}).get(lang, row["verdict"]), row["code"],
            row["warnings"], row["scans"], row["persons"])])
    return "\ufeff" + buf.getvalue()
