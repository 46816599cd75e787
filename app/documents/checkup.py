"""Reading a 健康診断結果報告書 received from the 電子カルテ情報共有サービス (JP_Bundle_eCheckupGeneral): every item of
the report — numbers, coded answers (尿蛋白 ＋, メタボリックシンドローム判定, 問診) and text (医師の判断) — grouped as
the report's sections group them, and each numeric item's values over the patient's reports (the trend).

As with the discharge summary, the reading is whole or not at all: a report with an item that has no value, a
reference that goes nowhere or no section is shown as unreadable with the reasons (docs/standards/jp-clins.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from app.documents.discharge import UnreadableDocument, is_document_of

BUNDLE_PROFILE = "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Bundle_eCheckupGeneral"
REPORT_TYPE = "53576-5"
#: HL7 v3 ObservationInterpretation codes a report puts on a value, as the screen names them (the letter is kept:
#: colour is never the only signal).
INTERPRETATIONS = {"N": "基準範囲内", "H": "H 高値", "L": "L 低値", "HH": "HH 著しい高値", "LL": "LL 著しい低値",
                   "A": "異常", "AA": "著しい異常"}


@dataclass
class CheckupItem:
    """One result: its code and name, the value as the report says it, and the number when it is one."""

    code: str
    name: str
    value: str
    unit: str = ""
    number: float | None = None
    #: The report's own judgement of the value (H 高値, L 低値 …), empty when it gives none.
    judgement: str = ""


@dataclass
class CheckupReport:
    """What the screen shows of one report."""

    title: str
    kind: str
    day: str
    institution: str
    groups: list[tuple[str, list[CheckupItem]]] = field(default_factory=list)


def is_checkup_report(bundle: dict[str, Any]) -> bool:
    """Whether a received document says it is a health-check report (by profile or by its Composition's type)."""
    return is_document_of(bundle, BUNDLE_PROFILE, REPORT_TYPE)


def _judgement(resource: dict[str, Any]) -> str:
    """The value's interpretation as the screen shows it (its display when the code is not one we name)."""
    for concept in resource.get("interpretation") or []:
        for coding in (concept or {}).get("coding") or []:
            code = str(coding.get("code") or "")
            if code:
                return INTERPRETATIONS.get(code, str(coding.get("display") or code))
        if (concept or {}).get("text"):
            return str(concept["text"])
    return ""


def _item(resource: dict[str, Any], where: str, problems: list[str]) -> CheckupItem | None:
    coding = next((c for c in (resource.get("code") or {}).get("coding") or [] if c.get("code")), None)
    if coding is None:
        problems.append(f"{where}: 項目コードがありません")
        return None
    name = str(coding.get("display") or (resource.get("code") or {}).get("text") or coding["code"])
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"] or {}
        number = quantity.get("value")
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            problems.append(f"{where}（{name}）: 数値の結果が数値ではありません")
            return None
        return CheckupItem(coding["code"], name, f"{number:g}", str(quantity.get("unit") or ""), float(number),
                           _judgement(resource))
    if "valueCodeableConcept" in resource:
        answer = next((c for c in (resource["valueCodeableConcept"] or {}).get("coding") or []), {})
        text = str(answer.get("display") or (resource["valueCodeableConcept"] or {}).get("text") or "")
        if not text:
            problems.append(f"{where}（{name}）: コードの結果に表示名がありません（コード {answer.get('code', '')}）")
            return None
        return CheckupItem(coding["code"], name, text, judgement=_judgement(resource))
    if isinstance(resource.get("valueString"), str) and resource["valueString"].strip():
        return CheckupItem(coding["code"], name, resource["valueString"].strip(), judgement=_judgement(resource))
    problems.append(f"{where}（{name}）: 結果の値がありません")
    return None


def read_checkup_report(bundle: dict[str, Any], member: str) -> CheckupReport:
    """The report, or UnreadableDocument with every reason it cannot be read."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "document":
        raise UnreadableDocument(["FHIR の document 形式の Bundle ではありません"])
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    by_url = {str(e.get("fullUrl", "")): e["resource"] for e in entries}
    composition = entries[0]["resource"] if entries else {}
    if composition.get("resourceType") != "Composition":
        raise UnreadableDocument(["最初の entry が Composition ではありません"])
    problems: list[str] = []
    patient = by_url.get(str((composition.get("subject") or {}).get("reference", ""))) or {}
    if not any(i.get("value") == member for i in patient.get("identifier") or []):
        problems.append("文書の患者（Composition.subject）がこの患者ではありません")
    groups: list[tuple[str, list[CheckupItem]]] = []
    for number, section in enumerate(composition.get("section") or [], start=1):
        title = str(section.get("title") or f"セクション{number}")
        items = []
        for reference in section.get("entry") or []:
            resource = by_url.get(str(reference.get("reference", "")))
            if resource is None:
                problems.append(f"{title}: 参照先の結果（Observation）が文書の中にありません")
                continue
            if resource.get("resourceType") != "Observation":
                continue  # the section also names the check's Coverage: not a result
            if (item := _item(resource, title, problems)) is not None:
                items.append(item)
        groups.append((title, items))
    if not groups or not any(items for _title, items in groups):
        problems.append("結果のセクションがありません")
    if problems:
        raise UnreadableDocument(problems)
    category = next((c.get("display") for cat in composition.get("category") or []
                     for c in cat.get("coding") or [] if c.get("display")), "健診")
    organization = by_url.get(str((composition.get("custodian") or {}).get("reference", ""))) or {}
    period = next((e.get("period") for e in composition.get("event") or [] if e.get("period")), {}) or {}
    return CheckupReport(str(composition.get("title") or "健康診断結果報告書"), str(category),
                         str(period.get("start") or composition.get("date") or "")[:10],
                         str(organization.get("name") or (composition.get("custodian") or {}).get("display") or ""),
                         groups)


def trends(reports: list[CheckupReport]) -> dict[str, list[tuple[str, float]]]:
    """Each numeric item's values by report day (oldest first), keyed by item code."""
    series: dict[str, list[tuple[str, float]]] = {}
    for report in sorted(reports, key=lambda r: r.day):
        for _title, items in report.groups:
            for item in items:
                if item.number is not None:
                    series.setdefault(item.code, []).append((report.day, item.number))
    return series
