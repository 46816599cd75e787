"""The 処方箋CSV of the 電子処方箋管理サービス, record by record against docs/standards/eprescription.md §2.1: the
same records as the paper form's JAHIS 2D symbol (one source), `SJ1` first, LF line ends, 用法コード種別 3."""

from __future__ import annotations

from app.printing.prescription import build_check_csv, build_service_csv, jahis_symbol_text
from tests.printing.rx_factory import BREAKFAST, make_prescription_print


def _lines(csv: str) -> list[str]:
    assert csv.endswith("\n") and "\r" not in csv  # LF only: a CR is refused by the service (EPSB0052E)
    return csv[:-1].split("\n")


def test_first_line_is_sj1_and_every_line_ends_with_lf():
    csv = build_service_csv(make_prescription_print())
    assert csv.startswith("SJ1\n1,1,0123458,13,かみかるて内科クリニック\n")
    assert all(line and "," in line for line in _lines(csv)[1:])


def test_clinic_doctor_patient_and_insurance_records_as_the_doc_lists_them():
    lines = _lines(build_service_csv(make_prescription_print()))
    assert lines[1:15] == [
        "1,1,0123458,13,かみかるて内科クリニック",  # 点数表, 医療機関コード (7), 都道府県, 名称
        "2,101-0052,東京都千代田区神田小川町１−２−３",  # 郵便番号, 所在地
        "3,03-1234-5678,,",  # 電話, FAX, その他
        "4,2,01,内科",  # 診療科コード種別 2, 内科 01
        "5,,ｶﾐｶﾙ ｲﾁﾛｳ,神軽 一郎",  # 医師コード, half-width kana, kanji
        "11,00001,山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ",  # 患者コード, kanji (full-width space), kana (half-width space)
        "12,1",  # 男
        "13,19580302",  # 西暦 YYYYMMDD
        "21,1",  # 医保
        "22,06132013",
        "23,１２３４５,６７８９,1,01",  # 記号, 番号, 被保険者 1, 枝番 2 digits
        "24,30,70",
        "27,54136015,1234566",  # 第一公費
        "51,20260313",
    ]


def test_rp_groups_in_symbol_order_with_the_eprescription_usage_master():
    lines = _lines(build_service_csv(make_prescription_print()))
    rp1 = lines[lines.index("51,20260313") + 1:][:5]
    assert rp1 == [
        "101,1,1,,28",  # 剤形: Rp 1, 内服, 28 days
        f"111,1,3,{BREAKFAST},１日１回朝食後,1",  # 用法コード種別 3 = 電子処方箋用法マスタ
        "201,1,1,1,7,2171022F3ZZZ,【般】アムロジピン口腔内崩壊錠２．５ｍｇ,1,1,錠",  # 一般名コード (7)
        rp1[3],
        "281,1,2,1,3,後発品変更不可,",  # 薬品補足: 後発品変更不可
    ]
    assert rp1[3].startswith("201,1,2,1,2,620256101,")  # レセ電コード (2)
    assert "111,3,1,,疼痛時," in lines  # uncoded usage: kind 1, no code
    assert "281,4,1,1,8,先発医薬品患者希望," in lines


def test_same_records_as_the_paper_symbol_apart_from_the_encoding():
    doc = make_prescription_print(refill_count=2, remarks="一包化してください", exchange_number="123456")
    csv = _lines(build_service_csv(doc))
    symbol = jahis_symbol_text(doc).split("\r\n")[:-1]
    assert symbol[0] == "JAHIS10" and csv[0] == "SJ1"
    to_symbol = [line.replace(f",3,{BREAKFAST},", f",2,{BREAKFAST},").replace(",3,1013044400000000,",
                                                                            ",2,1013044400000000,")
                 for line in csv[1:]]
    assert to_symbol == symbol[1:]
    assert "64,2" in csv and "81,1,,一包化してください" in csv and "82,1,123456" in csv


def test_the_check_csv_carries_only_records_101_111_201():
    lines = _lines(build_check_csv(make_prescription_print().rps))
    assert lines[0] == "SJ1" and {line.split(",")[0] for line in lines[1:]} == {"101", "111", "201"}
    assert len([line for line in lines if line.startswith("201,")]) == 5
