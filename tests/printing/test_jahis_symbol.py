"""The JAHIS 院外処方箋2次元シンボル text: record layout per the spec, and characters a Shift_JIS symbol can carry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.printing.pen import UnprintableTextError
from app.printing.prescription import (
    ClinicPrint,
    DoctorPrint,
    InsurancePrint,
    LinePrint,
    PatientPrint,
    PrescriptionPrint,
    RpPrint,
    SymbolTextError,
    build_jahis_symbol,
    jahis_symbol_text,
    render_prescription_pdf,
)
from app.printing.rx_symbol import ENCODING
from tests.printing import jahis_spec
from tests.printing.pdf_tools import pdf_text
from tests.printing.rx_factory import line, make_prescription_print, with_patient

#: The record sample of prescription.md (from the spec's record samples), byte for byte.
SPEC_EXAMPLE = """JAHIS10
1,1,1234567,13,医療法人 工業会病院
5,,ｺｳｷﾞｮｳｶｲ ｼﾞﾛｳ,工業会 次郎
11,,日薬 太郎,ﾆﾁﾔｸ ﾀﾛｳ
12,1
13,19600606
22,06012345
23,０１－２３,１２３４,1,
51,20260313
101,1,1,,28
111,1,2,1013044400000000,１日３回朝昼夕食後,3
201,1,1,1,2,612170709,ノルバスク錠２．５ｍｇ,1,1,錠
"""


def _records(doc: PrescriptionPrint) -> list[list[str]]:
    return jahis_spec.check(jahis_symbol_text(doc).encode(ENCODING))


def _record(doc: PrescriptionPrint, number: int) -> list[str]:
    return next(r[1:] for r in _records(doc) if r[0] == str(number))


def test_the_specs_own_example_comes_out_byte_for_byte():
    doc = PrescriptionPrint(
        clinic=ClinicPrint("医療法人 工業会病院", "1311234567"),
        doctor=DoctorPrint("工業会 次郎", "コウギョウカイ ジロウ"),
        patient=PatientPrint("日薬 太郎", "ニチヤク タロウ", "M", date(1960, 6, 6)),
        insurance=InsurancePrint("06012345", "01-23", "1234", relation="本人"),
        issued_on=date(2026, 3, 13),
        rps=(RpPrint(1, "１日３回朝昼夕食後", 28,
                     (LinePrint("ノルバスク錠２．５ｍｇ", "1", "錠", receipt_code="612170709"),),
                     usage_code="1013044400000000", times_per_day=3),),
    )
    expected = SPEC_EXAMPLE.replace("\n", "\r\n").encode("cp932")  # the spec's bytes (－ is 817C either way)
    assert jahis_symbol_text(doc).encode(ENCODING) == expected


def test_standard_prescription_conforms_to_the_spec():
    records = _records(make_prescription_print())
    assert [r[0] for r in records[:18]] == ["1", "2", "3", "4", "5", "11", "12", "13", "21", "22", "23", "24", "27",
                                            "51", "101", "111", "201", "201"]


def test_lines_carry_their_codes_and_flags():
    records = [r for r in _records(make_prescription_print()) if r[0] in ("101", "111", "201", "281")]
    generic, brand, supplement = records[2], records[3], records[4]
    assert generic[4:7] == ["7", "2171022F3ZZZ", "【般】アムロジピン口腔内崩壊錠２．５ｍｇ"]  # 一般名処方
    assert brand[4:6] == ["2", "620256101"]  # レセ電 code
    assert supplement == ["281", "1", "2", "1", "3", "後発品変更不可", ""]  # 変更不可 on the brand line
    assert ["101", "3", "2", "", "10"] in records  # 頓服: 10 times
    assert ["111", "3", "1", "", "疼痛時", ""] in records  # free-text usage: code kind 1, no code
    assert ["111", "1", "2", "1011000400000000", "１日１回朝食後", "1"] in records  # JAMI code
    assert ["281", "4", "1", "1", "8", "先発医薬品患者希望", ""] in records  # 患者希望


def test_a_line_without_a_receipt_code_sends_its_yj_code():
    rp = RpPrint(1, "１日１回朝食後", 7, (LinePrint("ムコスタ錠１００ｍｇ", "3", "錠", yj_code="2329021F1102"),))
    assert _record(make_prescription_print(rps=(rp,)), 201)[3:5] == ["4", "2329021F1102"]


def test_doses_are_written_without_padding():
    rps = (RpPrint(1, "１日２回朝夕食後", 7, (line("620000033", "1.50"), line("620452801", "0.125"))),)
    assert [r[7] for r in _records(make_prescription_print(rps=rps)) if r[0] == "201"] == ["1.5", "0.125"]


def test_a_comma_in_a_value_becomes_full_width():
    doc = make_prescription_print(remarks="朝,夕は別包")
    assert _record(doc, 81) == ["1", "", "朝，夕は別包"]


def test_kana_names_are_half_width_and_kanji_fields_full_width():
    doc = with_patient(make_prescription_print(), kana="やまだ　たろう")
    assert _record(doc, 11) == ["00001", "山田　太郎", "ﾔﾏﾀﾞ ﾀﾛｳ"]
    doc = make_prescription_print(remarks="ｶﾞｰｾﾞ交換は不要")
    assert _record(doc, 81)[2] == "ガーゼ交換は不要"


def test_windows_code_points_are_sent_as_their_jis_characters():
    doc = make_prescription_print()  # the clinic's address is written with －, Windows' full-width minus
    data = jahis_symbol_text(doc).encode(ENCODING)
    assert "小川町１－２－３".encode("cp932") in data  # 817C: the same bytes a Windows system would send


def test_a_variant_kanji_is_folded_and_reported_and_still_printed(tmp_path):
    doc = with_patient(make_prescription_print(), name="髙橋　美咲", kana="タカハシ　ミサキ", sex="F")
    symbol = build_jahis_symbol(doc)
    assert _record(doc, 11)[1] == "高橋　美咲"
    assert [(r.field, r.original, r.replacement) for r in symbol.replacements] == [("患者氏名", "髙", "高")]
    assert symbol.replacements[0].message() == "「患者氏名」の「髙」は2次元シンボルでは「高」になります"
    assert "髙橋" in pdf_text(render_prescription_pdf(doc), tmp_path)  # the paper keeps the real name


def test_a_character_outside_jis_is_folded_to_its_everyday_form():
    doc = with_patient(make_prescription_print(), name="𠮷田　花子")
    assert _record(doc, 11)[1] == "吉田　花子"


def test_gaiji_without_an_everyday_form_becomes_the_specs_mark_in_a_name(tmp_path):
    doc = with_patient(make_prescription_print(), name="山田　𩸽子")  # ほっけ: outside JIS X 0208, no variant
    assert _record(doc, 11)[1] == "山田　■子"
    assert build_jahis_symbol(doc).replacements[0].replacement == "■"
    # The paper keeps it: IPAex has 𩸽, so the form draws it (a character it lacks is refused, see below). Text
    # extraction cannot confirm the glyph: ReportLab maps a character beyond U+FFFF as 5 hex digits in the
    # font's ToUnicode table, which readers take as U+29E3.
    assert "山田" in pdf_text(render_prescription_pdf(doc), tmp_path)


def test_a_name_the_font_cannot_print_is_refused_naming_the_character():
    doc = with_patient(make_prescription_print(), name="𠮷田　花子")
    with pytest.raises(UnprintableTextError) as caught:
        render_prescription_pdf(doc)
    assert "「𠮷」(U+20BB7)" in caught.value.message and "𠮷田　花子" in caught.value.message


@pytest.mark.parametrize("remarks, char", [("①朝食後に服用", "①"), ("痛み止め😀", "😀"), ("ﾃｽﾄ㈱", "㈱")])
def test_clinical_text_the_symbol_cannot_carry_is_refused_with_the_character(remarks, char):
    with pytest.raises(SymbolTextError) as caught:
        jahis_symbol_text(make_prescription_print(remarks=remarks))
    assert f"「備考」の「{char}」" in caught.value.message
    assert "Shift_JIS" in caught.value.message and caught.value.code == "jis_unencodable"


def test_an_unencodable_usage_is_refused_before_the_pdf_is_drawn():
    rp = RpPrint(2, "痛い時①", 5, (line("620000033", "1"),))
    with pytest.raises(SymbolTextError, match="「用法」"):
        render_prescription_pdf(make_prescription_print(rps=(rp,)))


def test_no_insurance_sends_an_empty_insurer_and_no_card_record():
    doc = make_prescription_print(insurance=None)
    assert _record(doc, 22) == [""]
    assert all(r[0] != "23" for r in _records(doc))


def test_family_member_and_branch_number():
    doc = make_prescription_print()
    doc = replace(doc, insurance=replace(doc.insurance, relation="家族", branch="2"))
    assert _record(doc, 23) == ["１２３４５", "６７８９", "2", "02"]
