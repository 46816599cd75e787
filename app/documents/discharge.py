"""Reading a 退院時サマリー received from the 電子カルテ情報共有サービス (JP_Bundle_eDischargeSummary, a FHIR document):
admission and discharge dates, diagnoses, course, discharge prescriptions, follow-up and attachments.

The reading is strict and whole: every check runs first and the summary is built only when none failed, so a
bundle that does not validate is shown as unreadable with every reason and nothing of it is shown as if it were
the summary (never half-read). The section codes are those of the JAMI eDischargeSummary document-section
CodeSystem (docs/standards/jp-clins.md)."""

from __future__ import annotations

import base64
import binascii
import html
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

BUNDLE_PROFILE = "http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Bundle_eDischargeSummary"
DISCHARGE_TYPE = "18842-5"
#: What an attachment may be to be shown in the browser; anything else is offered as a download only.
SHOWN_TYPES = ("text/plain", "application/pdf", "image/png", "image/jpeg")
_TAGS = re.compile(r"<[^>]+>")


class UnreadableDocument(Exception):
    """The bundle is not a discharge summary we can read; `reasons` says why, in Japanese, each on its own."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("、".join(reasons))
        self.reasons = reasons


@dataclass
class Attachment:
    """One attached file: its title, media type and bytes."""

    title: str
    content_type: str
    data: bytes

    @property
    def is_shown(self) -> bool:
        """Whether the browser may show it inline (else it is only downloaded)."""
        return self.content_type.split(";")[0].strip().lower() in SHOWN_TYPES


@dataclass
class Medication:
    """One discharge prescription line."""

    name: str
    dosage: str
    days: str


@dataclass
class DischargeSummary:
    """What the screen shows of a discharge summary."""

    title: str
    written_on: str
    institution: str
    author: str
    admitted_on: date
    discharged_on: date
    admission_diagnoses: list[str]
    discharge_diagnoses: list[str]
    complaint: str
    course: str
    disposition: str
    medications: list[Medication]
    follow_up: str
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def days(self) -> int:
        """Days in hospital, the day of admission counted."""
        return (self.discharged_on - self.admitted_on).days + 1


def is_document_of(bundle: dict[str, Any], profile: str, type_code: str) -> bool:
    """Whether a received document says it is of one kind: by its Bundle's profile or by its Composition's type
    (the first entry); shared by the discharge summary and the health-check report."""
    profiles = [str(p).split("|")[0] for p in (bundle.get("meta") or {}).get("profile") or []]
    first = ((bundle.get("entry") or [{}])[0] or {}).get("resource") or {}
    codes = [c.get("code") for c in (first.get("type") or {}).get("coding") or [] if isinstance(c, dict)]
    return profile in profiles or type_code in codes


def is_discharge_summary(bundle: dict[str, Any]) -> bool:
    """Whether a received document says it is a discharge summary (by profile or by its Composition's type)."""
    return is_document_of(bundle, BUNDLE_PROFILE, DISCHARGE_TYPE)


def _text(section: dict[str, Any]) -> str:
    div = ((section.get("text") or {}).get("div") or "").replace("<br/>", "\n").replace("<br>", "\n")
    return html.unescape(_TAGS.sub("", div)).strip()


def _sections(sections: list[Any]) -> dict[str, dict[str, Any]]:
    """Every section (subsections flattened) by its document-section code; the first of a code wins."""
    found: dict[str, dict[str, Any]] = {}
    for section in sections or []:
        if not isinstance(section, dict):
            continue
        for coding in (section.get("code") or {}).get("coding") or []:
            found.setdefault(str(coding.get("code", "")), section)
        found.update({k: v for k, v in _sections(section.get("section") or []).items() if k not in found})
    return found


def _date(value: Any, label: str, problems: list[str]) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        problems.append(f"{label}が日付として読めません（{str(value)[:20]}）")
        return None


def _name(resource: dict[str, Any]) -> str:
    code = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return str(code.get("text") or next((c.get("display") for c in code.get("coding") or [] if c.get("display")),
                                        "")).strip()


def read_discharge_summary(bundle: dict[str, Any], member: str) -> DischargeSummary:
    """The summary, or UnreadableDocument with every reason it cannot be read."""
    problems: list[str] = []
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "document":
        raise UnreadableDocument(["FHIR の document 形式の Bundle ではありません"])
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    by_url = {str(e.get("fullUrl", "")): e["resource"] for e in entries}
    by_url.update({f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}": e["resource"] for e in entries})
    composition = entries[0]["resource"] if entries else {}
    if composition.get("resourceType") != "Composition":
        raise UnreadableDocument(["最初の entry が Composition ではありません"])

    def resolve(reference: Any, kind: str, where: str) -> dict[str, Any] | None:
        target = by_url.get(str((reference or {}).get("reference", "")))
        if target is None or target.get("resourceType") != kind:
            problems.append(f"{where}の参照先（{kind}）が文書の中にありません")
            return None
        return target

    patient = resolve(composition.get("subject"), "Patient", "患者")
    if patient is not None and not any(i.get("value") == member for i in patient.get("identifier") or []):
        problems.append("文書の患者がこの患者ではありません")
    encounter = resolve(composition.get("encounter"), "Encounter", "入院（Encounter）") or {}
    period = encounter.get("period") or {}
    admitted = _date(period.get("start"), "入院日", problems) if period.get("start") else None
    discharged = _date(period.get("end"), "退院日", problems) if period.get("end") else None
    if encounter and (admitted is None or discharged is None):
        problems.append("入院日と退院日（Encounter.period）がそろっていません")
    if admitted and discharged and discharged < admitted:
        problems.append("退院日が入院日より前になっています")
    sections = _sections(composition.get("section") or [])

    def resources(code: str, kind: str, label: str, required: bool) -> list[dict[str, Any]]:
        section = sections.get(code)
        if section is None:
            if required:
                problems.append(f"{label}のセクション（{code}）がありません")
            return []
        return [r for ref in section.get("entry") or [] if (r := resolve(ref, kind, label)) is not None]

    admission = [_name(r) for r in resources("342", "Condition", "入院時診断", False)]
    discharge = [_name(r) for r in resources("344", "Condition", "退院時診断", True)]
    if "344" in sections and not discharge:
        problems.append("退院時診断がありません")
    if any(not n for n in admission + discharge):
        problems.append("名称のない診断があります")
    course = _text(sections.get("333") or {})
    if not course:
        problems.append("入院中経過（セクション 333）の記載がありません")
    medications = []
    for request in resources("444", "MedicationRequest", "退院時投薬指示", False):
        supply = (request.get("dispenseRequest") or {}).get("expectedSupplyDuration") or {}
        dosage = "、".join(str(d.get("text", "")) for d in request.get("dosageInstruction") or [] if d.get("text"))
        medications.append(Medication(_name(request) or "（薬剤名なし）", dosage,
                                      f"{supply['value']}{supply.get('unit', '日')}" if "value" in supply else ""))
    attachments = [attachment for index, resource in enumerate(resources("210", "DocumentReference", "添付情報",
                                                                        False))
                   if (attachment := _attachment(resource, index + 1, problems)) is not None]
    if problems or admitted is None or discharged is None:
        raise UnreadableDocument(problems or ["入院日と退院日が読めません"])
    organization = by_url.get(str((composition.get("custodian") or {}).get("reference", ""))) or {}
    author = next((by_url.get(str(a.get("reference", ""))) for a in composition.get("author") or []
                   if str(a.get("reference", "")) in by_url
                   and by_url[str(a.get("reference", ""))].get("resourceType") == "Practitioner"), None) or {}
    return DischargeSummary(
        title=str(composition.get("title") or "退院時サマリー"), written_on=str(composition.get("date", ""))[:10],
        institution=str(organization.get("name") or (composition.get("custodian") or {}).get("display") or ""),
        author=next((str(n.get("text", "")) for n in author.get("name") or [] if n.get("text")), ""),
        admitted_on=admitted, discharged_on=discharged, admission_diagnoses=admission,
        discharge_diagnoses=discharge, complaint=_text(sections.get("352") or {}), course=course,
        disposition=_text(sections.get("324") or {}), medications=medications,
        follow_up=_text(sections.get("424") or {}), attachments=attachments)


def _attachment(resource: dict[str, Any], number: int, problems: list[str]) -> Attachment | None:
    content = next((c.get("attachment") for c in resource.get("content") or [] if c.get("attachment")), None) or {}
    content_type = str(content.get("contentType") or "")
    if not content_type or not content.get("data"):
        problems.append(f"添付{number}にファイルの種類かデータがありません（URL参照の添付は読めません）")
        return None
    try:
        data = base64.b64decode(content["data"], validate=True)
    except (binascii.Error, ValueError):
        problems.append(f"添付{number}のデータが base64 として読めません")
        return None
    return Attachment(str(content.get("title") or resource.get("description") or f"添付{number}"), content_type, data)
