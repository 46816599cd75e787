"""健康診断結果報告書 (JP_Bundle_eCheckupGeneral documents) of a patient's yearly 特定健診, for the demo and the tests.
Their shape, item codes (特定健診項目コード, urn:oid:1.2.392.200119.6.1005), answer code systems and section codes
follow the JAMI sample Bundle-Bundle-eCheckupReport-Sample-01.json (jami-fhir-jp-wg/eCheckupReport; a copy is in
tests/samples/onshi/); the values are made up for a fictitious patient and drift from year to year."""

from __future__ import annotations

from datetime import date
from typing import Any

from simulators.sharing_service.demo_data import HOSPITAL, INSTITUTION_NO, MEMBER

BUNDLE_PROFILE = "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Bundle_eCheckupGeneral"
ITEM_CODES = "urn:oid:1.2.392.200119.6.1005"
SECTIONS = "http://jpfhir.jp/fhir/eCheckup/CodeSystem/section-code"
UCUM = "http://unitsofmeasure.org"
#: (section, code, name, unit or answer code system, value in the first year, yearly change / answers by year).
CHECKUP_ITEMS: list[tuple[str, str, str, str, Any, Any]] = [
    ("01011", "9N001000000000001", "身長", "cm", 168.2, 0.0),
    ("01011", "9N006000000000001", "体重", "kg", 71.0, 0.8),
    ("01011", "9N011000000000001", "BMI", "kg/m2", 25.1, 0.3),
    ("01011", "9N016160100000001", "腹囲", "cm", 86.0, 0.9),
    ("01011", "9A751000000000001", "収縮期血圧（１回目）", "mm[Hg]", 138, 3),
    ("01011", "9A761000000000001", "拡張期血圧（１回目）", "mm[Hg]", 86, 1),
    ("01011", "3F015000002327101", "空腹時中性脂肪", "mg/dL", 150, 8),
    ("01011", "3F070000002327101", "ＨＤＬコレステロール", "mg/dL", 48, -1),
    ("01011", "3F077000002327101", "ＬＤＬコレステロール", "mg/dL", 146, 6),
    ("01011", "3B035000002327201", "ＡＳＴ（ＧＯＴ）", "U/L", 28, 2),
    ("01011", "3B045000002327201", "ＡＬＴ（ＧＰＴ）", "U/L", 30, 3),
    ("01011", "3B090000002327101", "γ－ＧＴ（γ－ＧＴＰ）", "U/L", 48, 6),
    ("01011", "3D046000001906202", "ＨｂＡ１ｃ（ＮＧＳＰ）", "%", 6.0, 0.2),
    ("01011", "1A020000000191111", "尿糖", "urn:oid:1.2.392.200119.6.2102", None, ("1", "1", "1", "2", "3")),
    ("01011", "1A010000000191111", "尿蛋白", "urn:oid:1.2.392.200119.6.2102", None, ("1", "1", "2", "3", "3")),
    ("01011", "9N501000000000011", "メタボリックシンドローム判定", "urn:oid:1.2.392.200119.6.1008", None,
     ("3", "3", "2", "1", "1")),
    ("01011", "9N506000000000011", "保健指導レベル", "urn:oid:1.2.392.200119.6.3001", None, ("3", "3", "2", "1", "1")),
    ("01011", "9N511000000000049", "医師の診断（判定）", "", None,
     ("異常を認めません。", "異常を認めません。", "脂質がやや高値です。食事に注意してください。",
      "血糖・脂質が高値です。医療機関を受診してください。",
      "血糖・脂質・尿蛋白が要医療です。かかりつけ医を受診してください。")),
    ("01012", "9N701000000000011", "服薬１（血圧）", "urn:oid:1.2.392.200119.6.2003", None, ("2", "2", "2", "2", "1")),
    ("01012", "9N736000000000011", "喫煙", "urn:oid:1.2.392.200119.6.24060", None, ("3", "3", "3", "3", "3")),
    ("01012", "9N786000000000011", "飲酒", "urn:oid:1.2.392.200119.6.24040", None, ("4", "4", "4", "4", "4")),
]
#: The answers' names, as the sample's codings give them.
ANSWERS = {("urn:oid:1.2.392.200119.6.2102", "1"): "－", ("urn:oid:1.2.392.200119.6.2102", "2"): "±",
           ("urn:oid:1.2.392.200119.6.2102", "3"): "＋",
           ("urn:oid:1.2.392.200119.6.1008", "1"): "基準該当", ("urn:oid:1.2.392.200119.6.1008", "2"): "予備群該当",
           ("urn:oid:1.2.392.200119.6.1008", "3"): "非該当",
           ("urn:oid:1.2.392.200119.6.3001", "1"): "積極的支援", ("urn:oid:1.2.392.200119.6.3001", "2"): "動機付け支援",
           ("urn:oid:1.2.392.200119.6.3001", "3"): "なし",
           ("urn:oid:1.2.392.200119.6.2003", "1"): "はい", ("urn:oid:1.2.392.200119.6.2003", "2"): "いいえ",
           ("urn:oid:1.2.392.200119.6.24060", "3"): "いいえ", ("urn:oid:1.2.392.200119.6.24040", "4"): "週1～2日"}
SECTION_TITLES = {"01011": ("健診セクション", "特定健診検査結果セクション"),
                  "01012": ("問診結果セクション", "特定健診問診結果セクション")}


def _value(unit: str, first: Any, change: Any, year: int) -> dict[str, Any]:
    if first is not None:
        return {"valueQuantity": {"value": round(first + change * year, 1), "unit": unit, "system": UCUM,
                                  "code": unit}}
    answer = change[min(year, len(change) - 1)]
    if not unit:
        return {"valueString": answer}
    return {"valueCodeableConcept": {"coding": [{"system": unit, "code": answer,
                                                 "display": ANSWERS.get((unit, answer), answer)}]}}


def checkup_report(member: str, name: str, day: date, year: int, document_id: str) -> dict[str, Any]:
    """The report of one yearly 特定健診 (`year` 0 the first of the series)."""
    entries: list[dict[str, Any]] = []
    sections: dict[str, list[dict[str, str]]] = {code: [] for code in SECTION_TITLES}
    for n, (section, code, item, unit, first, change) in enumerate(CHECKUP_ITEMS):
        key = f"obs-{n}"
        entries.append({"fullUrl": f"urn:uuid:{key}", "resource": {
            "resourceType": "Observation", "id": key, "status": "final",
            "code": {"coding": [{"system": ITEM_CODES, "code": code, "display": item}]},
            "subject": {"reference": "urn:uuid:patient"}, "effectiveDateTime": day.isoformat(),
            **_value(unit, first, change, year)}})
        sections[section].append({"reference": f"urn:uuid:{key}"})
    composition = {
        "resourceType": "Composition", "id": "composition", "language": "ja", "status": "final",
        "meta": {"profile": ["http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Composition_eCheckupGeneral"]},
        "identifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier",
                       "value": document_id},
        "type": {"coding": [{"code": "53576-5", "system": "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes",
                             "display": "検診・健診報告書"}]},
        "category": [{"coding": [{"system": "urn:oid:2.16.840.1.113883.2.2.1.6.1001", "code": "10",
                                  "display": "特定健診"}]}],
        "subject": {"reference": "urn:uuid:patient"}, "date": f"{day.isoformat()}T10:00:00+09:00",
        "title": "健康診断結果のお知らせ", "custodian": {"reference": "urn:uuid:hospital", "display": HOSPITAL[0]},
        "event": [{"period": {"start": day.isoformat(), "end": day.isoformat()}}],
        "section": [{"title": title, "code": {"coding": [{"system": SECTIONS, "code": code, "display": display}]},
                     "entry": sections[code]} for code, (title, display) in SECTION_TITLES.items()]}
    return {"resourceType": "Bundle", "type": "document", "meta": {"profile": [BUNDLE_PROFILE]},
            "identifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier",
                           "value": document_id},
            "entry": [{"fullUrl": "urn:uuid:composition", "resource": composition},
                      {"fullUrl": "urn:uuid:patient", "resource": {
                          "resourceType": "Patient", "id": "patient", "name": [{"text": name}],
                          "identifier": [{"system": MEMBER, "value": member}]}},
                      {"fullUrl": "urn:uuid:hospital", "resource": {
                          "resourceType": "Organization", "id": "hospital", "name": HOSPITAL[0],
                          "identifier": [{"system": INSTITUTION_NO, "value": HOSPITAL[1]}]}},
                      *entries]}
