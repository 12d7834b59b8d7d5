"""The printable card: a credit-card-size PDF page (85.6 x 54 mm) with the QR and the holder data.

The QR is 34 mm wide (at least 30 mm, so an ordinary phone camera reads it at arm's length) and
is drawn from the same `qr_text` the holder would show on a screen.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from fpdf import FPDF

from issuer.qrrender import render_png
from shared.credential import CATEGORIES, LARGE_FAMILY, TYPES
from shared.errors import ConfigError

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FAMILY = "DejaVuSans"
CARD_W, CARD_H = 85.6, 54.0
QR_SIZE = 34.0
MARGIN = 3.0


def _font_files(font_dir: Path) -> tuple[Path, Path]:
    regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    if not regular.is_file():
        raise ConfigError(f"нет шрифта с кириллицей {regular}: установите пакет fonts-dejavu-core "
                          f"/ Cyrillic font missing: install the Debian package fonts-dejavu-core",
                          code="font_missing")
    return regular, bold if bold.is_file() else regular


def _ru_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


def _fit_font(pdf: FPDF, text: str, width: float, style: str, size: float, smallest: float) -> None:
    """The largest size down to `smallest` at which `text` fits on one line (else it wraps)."""
    while True:
        pdf.set_font(FONT_FAMILY, style, size)
        if size <= smallest or pdf.get_string_width(text) <= width - 1:
            return
        size -= 0.5


def render_card_pdf(*, qr_text: str, data: dict[str, Any], issuer_name: str, credential_id: str,
                    font_dir: Path = FONT_DIR) -> bytes:
    """`data` is the normalised registry data stored with the credential."""
    regular, bold = _font_files(font_dir)
    holder = data["holder"]
    pdf = FPDF(orientation="L", unit="mm", format=(CARD_H, CARD_W))
    pdf.set_title("Удостоверение")
    pdf.set_author(issuer_name)
    pdf.set_creator("socpass")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_font(FONT_FAMILY, "", str(regular))
    pdf.add_font(FONT_FAMILY, "B", str(bold))
    pdf.add_page()

    pdf.set_draw_color(120, 120, 120)
    pdf.rect(0.5, 0.5, CARD_W - 1, CARD_H - 1)  # cutting outline

    text_w = CARD_W - 2 * MARGIN
    pdf.set_xy(MARGIN, MARGIN)
    pdf.set_font(FONT_FAMILY, "", 5.5)
    pdf.multi_cell(text_w, 2.4, issuer_name, align="C", new_x="LMARGIN", new_y="NEXT")
    title = TYPES[data["type"]]["ru"]
    if data.get("category"):
        title = CATEGORIES[data["category"]]["ru"]
    pdf.set_font(FONT_FAMILY, "B", 8)
    pdf.cell(text_w, 4, title, align="C", new_x="LMARGIN", new_y="NEXT")

    top = pdf.get_y() + 1
    qr_top = min(top, CARD_H - MARGIN - QR_SIZE)
    pdf.image(io.BytesIO(render_png(qr_text, box_size=10, border=2)), x=MARGIN, y=qr_top,
              w=QR_SIZE, h=QR_SIZE)

    x = MARGIN + QR_SIZE + 2
    w = CARD_W - x - MARGIN
    pdf.set_xy(x, top)
    for part in (holder["family_name"], " ".join(p for p in (holder["given_name"], holder.get("patronymic")) if p)):
        _fit_font(pdf, part, w, "B", 7.5, 5.0)
        pdf.set_x(x)
        pdf.multi_cell(w, 3.4, part, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 6.5)
    lines = [f"Дата рождения: {_ru_date(holder['birth_date'])}"]
    if data["type"] == LARGE_FAMILY:
        lines.append(f"Детей: {data['children']}")
    else:
        lines.append(TYPES[data["type"]]["ru"])
    lines += [f"Регион: {data['region']}", f"Действительно до: {_ru_date(data['valid_until'])}"]
    pdf.set_y(pdf.get_y() + 1)
    for line in lines:
        pdf.set_x(x)
        pdf.multi_cell(w, 3, line, new_x="LMARGIN", new_y="NEXT")

    pdf.set_font(FONT_FAMILY, "", 4.5)
    pdf.set_xy(x, CARD_H - MARGIN - 5)
    pdf.multi_cell(w, 2.2, f"№ {credential_id}\nПредъявляется с документом, удостоверяющим личность",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


A4_W, A4_H = 210.0, 297.0
A4_QR = 80.0
A4_MARGIN = 18.0


def render_a4_pdf(*, qr_text: str, data: dict[str, Any], issuer_name: str, credential_id: str,
                  uses: list[dict[str, str]], font_dir: Path = FONT_DIR) -> bytes:
    """A printable A4 sheet for a citizen without a smartphone: a large QR (80 mm), the data,
    and where the credential can be used. `uses` comes from issuer.wallet.where_to_use."""
    regular, bold = _font_files(font_dir)
    holder = data["holder"]
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title("Удостоверение")
    pdf.set_author(issuer_name)
    pdf.set_creator("socpass")
    pdf.set_auto_page_break(True, margin=A4_MARGIN)
    pdf.set_margins(A4_MARGIN, A4_MARGIN, A4_MARGIN)
    pdf.add_font(FONT_FAMILY, "", str(regular))
    pdf.add_font(FONT_FAMILY, "B", str(bold))
    pdf.add_page()
    width = A4_W - 2 * A4_MARGIN

    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.multi_cell(width, 5, issuer_name, align="C", new_x="LMARGIN", new_y="NEXT")
    title = TYPES[data["type"]]["ru"]
    if data.get("category"):
        title = f"{title}: {CATEGORIES[data['category']]['ru']}"
    pdf.set_font(FONT_FAMILY, "B", 18)
    pdf.multi_cell(width, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")

    top = pdf.get_y() + 4
    pdf.image(io.BytesIO(render_png(qr_text, box_size=10, border=2)), x=(A4_W - A4_QR) / 2, y=top,
              w=A4_QR, h=A4_QR)
    pdf.set_y(top + A4_QR + 4)

    name = " ".join(p for p in (holder["family_name"], holder["given_name"], holder.get("patronymic")) if p)
    pdf.set_font(FONT_FAMILY, "B", 16)
    pdf.multi_cell(width, 8, name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 12)
    first = [f"Дата рождения: {_ru_date(holder['birth_date'])}"]
    if data["type"] == LARGE_FAMILY:
        first.append(f"Детей в семье: {data['children']}")
    second = [f"Регион: {data['region']}",
              f"Действительно до: {_ru_date(data['valid_until'])} включительно"]
    for facts in (first, second):
        pdf.multi_cell(width, 6, "   ·   ".join(facts), align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(pdf.get_y() + 6)
    pdf.set_font(FONT_FAMILY, "B", 13)
    pdf.cell(width, 7, "Где можно использовать", new_x="LMARGIN", new_y="NEXT")
    for use in uses:
        pdf.set_font(FONT_FAMILY, "B", 11)
        pdf.multi_cell(width, 6, use["place_ru"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "", 11)
        pdf.set_x(A4_MARGIN + 6)
        pdf.multi_cell(width - 6, 6, use["text_ru"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(pdf.get_y() + 1.5)
    pdf.set_y(pdf.get_y() + 4)
    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.multi_cell(width, 5, "Покажите QR-код на кассе или на входе вместе с документом, удостоверяющим "
                   "личность. QR-код проверяется без интернета. Лист можно сложить или вырезать "
                   "QR-код; не закрывайте и не мните его.", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 8)
    pdf.set_y(A4_H - A4_MARGIN - 6)
    pdf.cell(width, 4, f"№ {credential_id}", align="R")
    return bytes(pdf.output())
