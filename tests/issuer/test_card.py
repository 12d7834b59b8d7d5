"""The printable card."""
from __future__ import annotations

from pathlib import Path

import pytest

from issuer.card import render_card_pdf
from issuer.service import IssuerService
from shared.errors import ConfigError

from tests.issuer.helpers import holder, make_data

DATA = {"type": "large_family", "registry_id": "LF-1", "region": "27", "valid_until": "2031-05-31",
        "children": 4, "holder": holder()}


def test_card_is_a_pdf_with_the_embedded_cyrillic_font() -> None:
    pdf = render_card_pdf(qr_text="1" * 450, data=DATA, issuer_name="Министерство", credential_id="abc")
    assert pdf.startswith(b"%PDF-")
    assert b"DejaVuSans" in pdf and b"/FontFile2" in pdf  # the TrueType font is embedded
    assert pdf.rstrip().endswith(b"%%EOF")


def test_card_page_is_credit_card_size() -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(render_card_pdf(qr_text="12345", data=DATA, issuer_name="М", credential_id="x"))
    try:
        width, height = pdf[0].get_size()
        assert (round(width / 72 * 25.4, 1), round(height / 72 * 25.4, 1)) == (85.6, 54.0)
        text = pdf[0].get_textpage().get_text_range()
        assert "Иванова" in text and "Мария Петровна" in text and "12.04.1988" in text
        assert "Детей: 4" in text and "31.05.2031" in text and "Многодетная семья" in text
    finally:
        pdf.close()


def test_beneficiary_card_names_the_category(service: IssuerService) -> None:
    import pypdfium2 as pdfium

    result = service.issue("beneficiary", make_data("beneficiary", category="combat_veteran"))
    pdf = pdfium.PdfDocument(service.card_pdf(result["id"]))
    try:
        # PDFium reports a hyphen that ends a text line as U+FFFE; the id may end with "-".
        text = pdf[0].get_textpage().get_text_range().replace("\ufffe", "-")
    finally:
        pdf.close()
    assert "Ветеран боевых действий" in text and "Министерство социальной защиты" in text
    assert result["id"] in text


def test_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        render_card_pdf(qr_text="1", data=DATA, issuer_name="М", credential_id="x", font_dir=tmp_path)
    assert "fonts-dejavu-core" in info.value.description


def test_a4_sheet_has_a_large_qr_and_where_to_use_it(service: IssuerService) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    from verifier.imaging import decode_qr_image

    result = service.issue("large_family", make_data(children=5))
    pdf = pdfium.PdfDocument(service.card_pdf(result["id"], layout="a4"))
    try:
        page = pdf[0]
        width, height = page.get_size()
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
        text = page.get_textpage().get_text_range().replace("\ufffe", "-")
        assert "Иванова Мария Петровна" in text and "Где можно использовать" in text
        assert "до 7 чел." in text and "Скидка 50% на проезд" in text
        scale = 200 / 72
        image = page.render(scale=scale).to_pil().convert("L")
    finally:
        pdf.close()
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    assert decode_qr_image(buf.getvalue()) == result["qr_text"]
    # The QR's dark modules span at least 30 mm (it is drawn 80 mm wide with its quiet zone).
    dark = np.argwhere(np.asarray(image)[: int(image.height * 0.45)] < 128)
    span_mm = (dark[:, 1].max() - dark[:, 1].min()) / 200 * 25.4
    assert span_mm >= 30
