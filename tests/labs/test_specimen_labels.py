"""Specimen labels carry two identifiers on every size a clinic can choose (kana name; patient number with birth
date; the kanji name where a line is left), the barcode still scans, identifiers are never cut, and a character
the font cannot draw is refused by name rather than printed as another."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.core.models import AccessLogEntry
from app.labs.labels import MAX_SIZE_MM, MIN_SIZE_MM, Label, render_labels
from app.printing.pen import UnprintableTextError
from tests.labs.helpers import latest_order, make_desk, place_order
from tests.labs.test_labels_and_table import _scan
from tests.printing.pdf_tools import page_images, pdf_fonts, pdf_text


def _label(**changes) -> Label:
    values = {"specimen_number": "2603130001", "kana": "ヤマダ タロウ", "name": "山田 太郎", "patient_number": "00012",
              "birth_date": date(1958, 3, 2), "sex": "男", "age": "68歳", "container": "血清（茶）",
              "tests": "TP ALB AST ALT", "day": date(2026, 3, 13)}
    return Label(**{**values, **changes})


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("size, with_kanji", [
    (MIN_SIZE_MM, False), ((50, 25), True), (MAX_SIZE_MM, True), ((MIN_SIZE_MM[0], MAX_SIZE_MM[1]), True),
    ((MAX_SIZE_MM[0], MIN_SIZE_MM[1]), False),
])
@pytest.mark.parametrize("symbology, kind", [("codabar", "Codabar"), ("code128", "CODE-128")])
def test_every_size_carries_both_identifiers_and_a_barcode_that_scans(tmp_path, size, with_kanji, symbology, kind):
    pdf = render_labels([_label()], width_mm=size[0], height_mm=size[1], symbology=symbology)
    text = _flat(pdf_text(pdf, tmp_path, layout=False))
    assert "ヤマダタロウ" in text and "男68歳" in text
    assert "ID00012" in text and "1958/03/02生" in text
    assert ("山田太郎" in text) is with_kanji
    assert "血清（茶）" in text and "2026/03/13" in text
    assert all(embedded and name.endswith("+IPAexGothic") for name, embedded in pdf_fonts(pdf, tmp_path))
    (image,) = page_images(pdf, tmp_path, dpi=300)
    (code,) = _scan(image)
    assert code.partition(":")[0] == kind and code.partition(":")[2].strip("A") == "2603130001"


def test_a_long_name_on_the_smallest_label_is_narrowed_never_cut(tmp_path):
    label = _label(kana="サンユウテイ エンチョウマルノスケ", patient_number="1234567890", age="2歳3か月",
                   tests="TP ALB AST ALT γ-GT LDL-C HDL-C TG HbA1c Glu UA BUN Cre")
    text = _flat(pdf_text(render_labels([label], width_mm=30, height_mm=15), tmp_path, layout=False))
    assert "サンユウテイエンチョウマルノスケ" in text and "ID1234567890" in text and "2歳3か月" in text
    assert "…" in text and "Cre" not in text  # the tests, not an identifier, end in …


def test_a_character_the_font_cannot_draw_is_refused_by_name():
    with pytest.raises(UnprintableTextError, match=r"「𠮷」\(U\+20BB7\)"):
        render_labels([_label(name="𠮷田 太郎")])
    # A label too small for the kanji name does not print it, so it has nothing to refuse.
    assert render_labels([_label(name="𠮷田 太郎")], width_mm=MIN_SIZE_MM[0], height_mm=MIN_SIZE_MM[1])


def test_the_labels_page_says_why_it_cannot_print_a_name(client, session):
    desk = make_desk(session, patient_name="吉田 太郎", patient_kana="ヨシダ タロウ")
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    place_order(client, desk["patient"], sets=["S001"])
    order = latest_order(session)
    # The name corrected to its registered form after the order went out (the lab's HL7 cannot carry 𠮷).
    desk["patient"].name = "𠮷田 太郎"
    session.commit()
    response = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}/labels.pdf")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ラベルを印刷できません" in page and "𠮷" in page and "U+20BB7" in page
    assert not session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "print")).all()
