"""A 退院時サマリー (JP_Bundle_eDischargeSummary document) a fictitious hospital registered about a patient, for the
demo and the tests. Its shape follows the JAMI eDischargeSummary definitions (jami-fhir-jp-wg/JPFHIRExampleCreation,
fshegg/eDisSummary: Composition type 18842-5, document-section codes 322 入院詳細, 342 入院時診断, 352 主訴,
333 入院中経過, 324 退院時詳細, 344 退院時診断, 444 退院時投薬指示, 424 退院時方針指示, 210 添付情報); the course text
is shortened from its example document ccourseExampleDoc.txt (Apache-2.0). Codes are real: MEDIS disease numbers and
ICD-10 from app/diagnoses/data/diseases.csv, YJ codes from app/prescriptions/data/drugs.csv."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from simulators.sharing_service.demo_data import HOSPITAL, INSTITUTION_NO, MEMBER

BUNDLE_PROFILE = "http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Bundle_eDischargeSummary"
COMPOSITION_PROFILE = "http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Composition_eDischargeSummary"
DOC_TYPES = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes"
SECTIONS = "http://jpfhir.jp/fhir/eDischargeSummary/CodeSystem/document-section"
MEDIS = "http://medis.or.jp/CodeSystem/master-disease-keyNumber"
ICD10 = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
YJ = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
COURSE = ("#1 小球性低色素性貧血（鉄欠乏性貧血）\n#1-1 胃潰瘍（stage H1）\n"
          "入院時 Hb 4.4 g/dL、フェリチン 6 ng/mL と鉄欠乏が持続していた。濃厚赤血球を計4単位輸血し、鉄剤を点滴で補充、"
          "Hb 8.3 g/dL まで上昇し息切れ・疲労感は著明に改善した。上部消化管内視鏡で活動性出血のない H1 stage の胃潰瘍を"
          "複数認め、ヘリコバクター・ピロリ抗体陽性のため除菌を行い、有害事象なく内服を終了した。")
ATTACHMENT_TEXT = "退院時検査結果一覧\nHb 10.2 g/dL\nフェリチン 28 ng/mL\n"


def _condition(key: str, medis: str, icd10: str, name: str) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{key}", "resource": {
        "resourceType": "Condition", "id": key,
        "code": {"coding": [{"system": MEDIS, "code": medis, "display": name},
                            {"system": ICD10, "code": icd10}], "text": name}}}


def _medication(key: str, yj: str, name: str, dosage: str, days: int) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{key}", "resource": {
        "resourceType": "MedicationRequest", "id": key, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": YJ, "code": yj, "display": name}], "text": name},
        "dosageInstruction": [{"text": dosage}],
        "dispenseRequest": {"expectedSupplyDuration": {"value": days, "unit": "日", "system":
                                                       "http://unitsofmeasure.org", "code": "d"}}}}


def _section(code: str, title: str, text: str = "", refs: list[str] = ()) -> dict[str, Any]:
    section: dict[str, Any] = {"title": title, "code": {"coding": [{"system": SECTIONS, "code": code}]}}
    if text:
        section["text"] = {"status": "additional",
                           "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'}
    if refs:
        section["entry"] = [{"reference": f"urn:uuid:{ref}"} for ref in refs]
    return section


def discharge_summary(member: str, name: str, kana: str, today: date, document_id: str) -> dict[str, Any]:
    """A discharge summary of a stay that ended a week ago (admitted 20 days before that)."""
    discharged = today - timedelta(days=7)
    admitted = discharged - timedelta(days=20)
    attachment = base64.b64encode(ATTACHMENT_TEXT.encode("utf-8")).decode("ascii")
    composition = {
        "resourceType": "Composition", "id": "composition", "meta": {"profile": [COMPOSITION_PROFILE]},
        "language": "ja", "status": "final", "title": "退院時サマリー",
        "identifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier",
                       "value": document_id},
        "type": {"coding": [{"system": DOC_TYPES, "code": "18842-5", "display": "退院時サマリー"}]},
        "subject": {"reference": "urn:uuid:patient"}, "encounter": {"reference": "urn:uuid:encounter"},
        "date": f"{discharged.isoformat()}T17:00:00+09:00",
        "author": [{"reference": "urn:uuid:practitioner"}, {"reference": "urn:uuid:hospital"}],
        "custodian": {"reference": "urn:uuid:hospital", "display": HOSPITAL[0]},
        "event": [{"code": [{"text": "退院時サマリー期間"}],
                   "period": {"start": admitted.isoformat(), "end": discharged.isoformat()}}],
        "section": [
            {**_section("300", "構造情報"), "section": [
                _section("322", "入院詳細", "主訴の精査加療目的", ["encounter"]),
                _section("342", "入院時診断", "鉄欠乏性貧血", ["dx-admission"]),
                _section("352", "入院時主訴", "体動時の息切れ、疲労感"),
                _section("333", "入院中経過", COURSE.replace("\n", "<br/>")),
                _section("324", "退院時詳細", "自宅退院", ["encounter"]),
                _section("344", "退院時診断", "鉄欠乏性貧血、胃潰瘍", ["dx-anaemia", "dx-ulcer"]),
                _section("444", "退院時投薬指示", "", ["rx-ppi", "rx-iron"]),
                _section("424", "退院時方針指示",
                         "かかりつけ医にて2週間後に血液検査（Hb・フェリチン）をお願いします。"
                         "3か月後に当院消化器内科で上部消化管内視鏡を予定しています。")]},
            _section("210", "添付情報", "", ["attachment"])]}
    entries = [
        {"fullUrl": "urn:uuid:composition", "resource": composition},
        {"fullUrl": "urn:uuid:patient", "resource": {
            "resourceType": "Patient", "id": "patient", "identifier": [{"system": MEMBER, "value": member}],
            "name": [{"text": name}, {"text": kana, "extension": [{
                "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}]}]}},
        {"fullUrl": "urn:uuid:encounter", "resource": {
            "resourceType": "Encounter", "id": "encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP",
                      "display": "inpatient encounter"},
            "period": {"start": admitted.isoformat(), "end": discharged.isoformat()},
            "length": {"value": 20, "unit": "日"},
            "hospitalization": {"dischargeDisposition": {"text": "自宅退院"}}}},
        {"fullUrl": "urn:uuid:practitioner", "resource": {
            "resourceType": "Practitioner", "id": "practitioner", "name": [{"text": "港 一郎"}]}},
        {"fullUrl": "urn:uuid:hospital", "resource": {
            "resourceType": "Organization", "id": "hospital", "name": HOSPITAL[0],
            "identifier": [{"system": INSTITUTION_NO, "value": HOSPITAL[1]}]}},
        _condition("dx-admission", "20071355", "D509", "鉄欠乏性貧血"),
        _condition("dx-anaemia", "20071355", "D509", "鉄欠乏性貧血"),
        _condition("dx-ulcer", "20054276", "K259", "胃潰瘍"),
        _medication("rx-ppi", "2329030F2027", "タケキャブ錠２０ｍｇ", "1回1錠 1日1回 朝食後", 28),
        _medication("rx-iron", "3222013F1157", "クエン酸第一鉄Ｎａ錠５０ｍｇ「サワイ」", "1回2錠 1日1回 夕食後", 28),
        {"fullUrl": "urn:uuid:attachment", "resource": {
            "resourceType": "DocumentReference", "id": "attachment", "status": "current",
            "description": "退院時検査結果一覧",
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": attachment,
                                        "title": "退院時検査結果一覧.txt"}}]}},
    ]
    return {"resourceType": "Bundle", "meta": {"profile": [BUNDLE_PROFILE]}, "type": "document",
            "identifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier",
                           "value": document_id},
            "timestamp": f"{discharged.isoformat()}T17:00:00+09:00", "entry": entries}
