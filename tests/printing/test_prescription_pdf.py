"""The printed 院外処方箋: what a pharmacist reads on it and what the pharmacy's scanner decodes from it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from app.core.errors import ValidationError
from app.printing.prescription import (
    PublicExpensePrint,
    jahis_symbol_text,
    prescription_symbols,
    render_prescription_pdf,
)
from app.printing.rx_symbol import ENCODING
from tests.printing import jahis_spec
from tests.printing.pdf_tools import decode_symbols, page_images, pdf_info, pdf_text, scan_side_by_side
from tests.printing.rx_factory import drug_rows, long_rps, make_prescription_print, with_patient


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _digits_in_boxes(digits: str) -> str:
    return r"\s*".join(digits)


def test_pdf_shows_the_forms_fields(tmp_path):
    doc = make_prescription_print()
    text = pdf_text(render_prescription_pdf(doc), tmp_path)
    flat = _squeezed(text)
    labels = ("処方箋", "公費負担者番号", "公費負担医療の", "受給者番号", "保険者番号", "被保険者証・被保険者",
              "手帳の記号・番号", "氏名", "生年月日", "区分", "被保険者", "被扶養者", "保険医療機関の",
              "所在地及び名称", "電話番号", "保険医氏名", "都道府県番号", "点数表番号", "医療機関コード",
              "交付年月日", "処方箋の", "使用期間", "変更不可", "患者希望", "リフィル可", "保険医署名",
              "調剤実施回数", "調剤済年月日", "保険薬局の所在", "保険薬剤師氏名", "以下余白")
    for label in labels:
        assert _squeezed(label) in flat, label
    assert "山田太郎" in flat
    assert "令和8年3月13日" in flat  # 交付年月日 in 和暦
    assert "昭和33年3月2日" in flat  # 生年月日
    assert "かみかるて内科クリニック" in flat and "03-1234-5678" in flat and "神軽一郎" in flat
    for line in doc.lines:
        assert _squeezed(line.name) in flat, line.name
    assert "【般】アムロジピン口腔内崩壊錠２．５ｍｇ" in flat  # 一般名処方 printed as the 一般名
    assert "１回１錠" in flat and "１０回分" in flat  # 頓用: dose per time, number of times
    assert "１日３錠" in flat and "１４日分" in flat  # 内服: daily dose, days


def test_code_boxes_hold_the_numbers(tmp_path):
    text = pdf_text(render_prescription_pdf(make_prescription_print()), tmp_path)
    assert re.search(r"都道府県番号\s*" + _digits_in_boxes("13") + r"\s*点数表番号\s*1\s*医療機関コード\s*"
                     + _digits_in_boxes("0123458"), text)
    assert re.search(r"保険者番号\s*" + _digits_in_boxes("06132013"), text)
    assert re.search(r"公費負担者番号\s*" + _digits_in_boxes("54136015"), text)
    assert re.search(_digits_in_boxes("1234566"), text)
    assert "１２３４５・６７８９" in text and "（枝番）０１" in text


def test_second_public_expense_goes_to_the_bottom_boxes(tmp_path):
    doc = make_prescription_print(public_expenses=(PublicExpensePrint("54136015", "1234566"),
                                                   PublicExpensePrint("21136018", "7654321")))
    text = pdf_text(render_prescription_pdf(doc), tmp_path)
    top, bottom = text.index("調剤実施回数"), len(text)
    assert re.search(_digits_in_boxes("21136018"), text[top:bottom])
    assert re.search(_digits_in_boxes("7654321"), text[top:bottom])


def test_every_symbol_decodes_to_the_symbol_text(tmp_path):
    doc = make_prescription_print()
    images = page_images(render_prescription_pdf(doc), tmp_path)
    decoded = b"".join(decode_symbols(image) for image in images)
    assert decoded == jahis_symbol_text(doc).encode(ENCODING)
    records = jahis_spec.check(decoded)
    numbers = [int(r[0]) for r in records]
    assert numbers.count(101) == 4 and numbers.count(201) == 5 and numbers.count(281) == 2


def test_a4_is_the_same_form_scaled_up(tmp_path):
    doc = make_prescription_print()
    pdf = render_prescription_pdf(doc, paper="A4")
    assert pdf_info(pdf, tmp_path)["Page size"].startswith("595.276 x 841.89")
    assert "令和8年3月13日" in _squeezed(pdf_text(pdf, tmp_path))
    decoded = b"".join(decode_symbols(image) for image in page_images(pdf, tmp_path, dpi=200))
    assert decoded == jahis_symbol_text(doc).encode(ENCODING)


def test_a5_is_the_default_paper(tmp_path):
    info = pdf_info(render_prescription_pdf(make_prescription_print()), tmp_path)
    assert info["Page size"].startswith("419.528 x 595.276") and info["Pages"] == "1"


def test_long_prescription_splits_into_symbols_that_reassemble(tmp_path):
    doc = make_prescription_print(rps=long_rps(12), remarks="一包化")
    symbols = prescription_symbols(doc)
    assert 2 <= len(symbols.symbols) <= 16
    data = jahis_symbol_text(doc).encode(ENCODING)
    assert len({symbol.version for symbol in symbols.symbols}) == 1
    pdf = render_prescription_pdf(doc)
    decoded = b"".join(decode_symbols(image) for image in page_images(pdf, tmp_path, dpi=300))
    assert decoded == data
    jahis_spec.check(decoded)
    text = _squeezed(pdf_text(pdf, tmp_path))
    assert "続紙" in text
    for line in doc.lines:
        assert _squeezed(line.name) in text, line.name


def test_structured_append_headers_put_the_symbols_back_in_order(tmp_path):
    doc = make_prescription_print(rps=long_rps(12))
    symbols = prescription_symbols(doc)
    shown = list(reversed(symbols.symbols))  # to the reader in the wrong order
    assert scan_side_by_side(shown, tmp_path) == jahis_symbol_text(doc).encode(ENCODING)


def test_default_validity_leaves_the_box_empty_and_sends_no_record_52(tmp_path):
    doc = make_prescription_print()
    assert "\r\n52," not in jahis_symbol_text(doc)
    text = pdf_text(render_prescription_pdf(doc), tmp_path)
    line = next(line for line in text.splitlines() if "交付年月日" in line)
    assert "令和8年3月13日" in line and line.count("令和") == 1


def test_a_written_validity_is_printed_and_sent(tmp_path):
    doc = make_prescription_print(valid_until=date(2026, 3, 20))
    assert "\r\n52,20260320\r\n" in jahis_symbol_text(doc)
    assert "令和8年3月20日" in _squeezed(pdf_text(render_prescription_pdf(doc), tmp_path))


def test_refill_prints_the_count_and_sends_record_64(tmp_path):
    doc = make_prescription_print(refill_count=3)
    assert "\r\n64,3\r\n" in jahis_symbol_text(doc)
    assert "リフィル可□（３回）" in _squeezed(pdf_text(render_prescription_pdf(doc), tmp_path))


def test_a_paper_prescription_registered_with_the_service_prints_its_exchange_number(tmp_path):
    doc = make_prescription_print(exchange_number="123456")
    pdf = render_prescription_pdf(doc)
    text = _squeezed(pdf_text(pdf, tmp_path))
    assert "電子処方箋対応" in text and "引換番号123456" in text and "処方箋" in text
    assert b"\r\n82,1,123456\r\n" in decode_symbols(page_images(pdf, tmp_path, dpi=150)[0])
    with pytest.raises(ValidationError, match="引換番号は6桁"):
        make_prescription_print(exchange_number="12345678")


def test_narcotic_prescription_prints_the_licence_and_the_patients_address(tmp_path):
    with pytest.raises(ValidationError, match="麻薬施用者免許証番号"):
        make_prescription_print(has_narcotic=True)
    doc = make_prescription_print()
    doc = replace(with_patient(doc, address="東京都千代田区神田１－１", phone="03-0000-0000"),
                  doctor=replace(doc.doctor, narcotic_licence_number="12345"), has_narcotic=True)
    text = _squeezed(pdf_text(render_prescription_pdf(doc), tmp_path))
    assert "麻薬施用者免許証番号12345" in text and "東京都千代田区神田１－１" in text
    assert "\r\n61,12345,東京都千代田区神田１−１,03-0000-0000\r\n" in jahis_symbol_text(doc)


def test_remarks_too_long_for_the_box_are_refused():
    doc = make_prescription_print(remarks="\n".join(["朝食後の分は一包化し、昼食後の分は別包にしてください"] * 12))
    with pytest.raises(ValidationError, match="備考が長すぎ"):
        render_prescription_pdf(doc)


def test_unknown_paper_is_refused():
    with pytest.raises(ValueError, match="A5 or A4"):
        render_prescription_pdf(make_prescription_print(), paper="B5")


def test_drug_codes_come_from_the_master():
    master = drug_rows()
    for line in make_prescription_print().lines:
        row = master[line.receipt_code]
        assert (line.yj_code, line.generic_code) == (row["yj_code"], row["generic_code"])
