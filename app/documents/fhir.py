"""A referral letter as the JP-CLINS 診療情報提供書 document: Bundle (type document, JP_Bundle_eReferral) starting
with its Composition (type 57133-1, category OUTPATIENT), sections as the public eReferral example has them
(920 紹介元, 910 紹介先, 300 構造情報 with 950 紹介目的, 340 傷病名, 360 現病歴, 370 既往歴, 510 アレルギー,
330 臨床経過). Prescriptions and lab results travel as text in 臨床経過 (330).
The letter's coded diagnoses and allergies travel as JP-CLINS resources referenced from their sections.

Key images go in the 添付情報 section (210, a top-level section beside 920/910/300), as JP-CLINS
JP_Composition_eReferral defines it (jami-fhir-jp-wg/clinical-core input/fsh/profiles/CLINS/
JP_Composition_eReferral.fsh: title 添付情報 fixed, code 210 of the clins document-section system, text.status
additional, entry 1..* Reference(DocumentReference or Bundle)). A Binary is not allowed there since eReferral IG
1.2.0-rc1 (2024-06-23: 添付情報セクション…でbinaryリソースへの参照を禁止し、DocumentReferenceリソースへの参照
だけ), so each image is a DocumentReference (JP_DocumentReference_eCS, status current; description = the
caption; content.attachment with the stored bytes embedded in data, as the IG's DocumentReference table
recommends, contentType, title, creation = the study date, size and hash). FHIR R4 defines Attachment.hash as
the SHA-1 of the data (base64), so hash is the SHA-1 of the bytes; our SHA-256 cannot go there and is checked
before (a copy whose bytes no longer match its SHA-256 is never attached — sources.key_images_by_id)."""

from __future__ import annotations

import base64
import hashlib
import html
import uuid
from datetime import datetime
from typing import Any

from app.core.timeutil import JST
from app.documents.addressing import addressee, strip_honorific
from app.sharing.fhir import mapping
from app.sharing.fhir import systems as S
from app.sharing.fhir.validation import validate_bundle


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _div(text: str) -> dict[str, str]:
    body = "<br/>".join(html.escape(line) for line in (text or "").splitlines()) or "記載なし"
    return {"status": "additional", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _section(code: str, title: str, text: str, entries: list[tuple[str, str]] = ()) -> dict[str, Any]:
    section: dict[str, Any] = {"title": title, "code": {"coding": [{"system": S.DOC_SECTION, "code": code,
                                                                    "display": f"{title}セクション"}]},
                               "text": _div(text)}
    if entries:
        section["entry"] = [{"reference": urn, "type": kind} for urn, kind in entries]
    return section


def _attachment_resource(image: Any, patient_urn: str) -> dict[str, Any]:
    """One key image as a DocumentReference carrying the stored rendered bytes (JP_DocumentReference_eCS)."""
    title = " ".join(part for part in (image.study_date, image.title) if part) or "キー画像"
    attachment: dict[str, Any] = {"contentType": image.media_type, "data": base64.b64encode(image.image_bytes).decode(),
                                  "title": title, "size": len(image.image_bytes),
                                  "hash": base64.b64encode(hashlib.sha1(image.image_bytes).digest()).decode()}  # noqa: S324 — FHIR R4 Attachment.hash is SHA-1 by definition
    if image.study_date:
        attachment["creation"] = image.study_date
    return {"resourceType": "DocumentReference", "meta": {"profile": [S.DOCUMENT_REFERENCE]}, "language": "ja",
            "status": "current", "subject": {"reference": patient_urn, "type": "Patient"},
            "description": image.title or "キー画像", "content": [{"attachment": attachment}]}


def document_id(letter: Any, clinic: Any) -> str:
    """Bundle.identifier value: 医療機関コード^年^文書ID (stable per letter, so a resend is the same document)."""
    return f"{clinic.institution_code}^{letter.written_on.year}^Referral-{letter.id}"


def referral_document(letter: Any, patient: Any, clinic: Any, *, diagnoses: list[Any] = (),
                      diseases: dict[str, Any] | None = None, allergies: list[Any] = (),
                      images: list[Any] = ()) -> dict[str, Any]:
    """The validated document Bundle of a letter (MappingError without insurance, FhirValidationError if
    invalid). `diagnoses` / `allergies` are the current records whose coded resources go along; `images` the
    letter's key images (app.sharing.sources.KeyImage, stored copies) for the 添付情報 section."""
    ctx = mapping.context_for(clinic, patient)
    now = datetime.now(JST).isoformat(timespec="seconds")
    patient_urn, our_org, our_doc, their_org, their_doc = (_urn() for _ in range(5))
    entries: list[tuple[str, dict[str, Any]]] = [(patient_urn, mapping.patient_resource(patient, ctx,
                                                                                          check=False))]
    entries.append((our_org, {"resourceType": "Organization", "meta": {"profile": [S.ORGANIZATION]},
                              "identifier": [{"system": S.INSTITUTION_NO, "value": clinic.institution_code}],
                              "name": clinic.name, **({"telecom": [{"system": "phone", "value": clinic.phone}]}
                                                      if clinic.phone else {}),
                              **({"address": [{"text": clinic.address}]} if clinic.address else {})}))
    family, _, given = letter.author_name.replace("\u3000", " ").partition(" ")
    entries.append((our_doc, {"resourceType": "Practitioner", "meta": {"profile": [S.PRACTITIONER]},
                              "identifier": [{"system": S.PRACTITIONER_ID_PREFIX + clinic.institution_code,
                                              "value": str(letter.author_id or 0)}],
                              "name": [{"text": letter.author_name, "family": family or letter.author_name,
                                        **({"given": [given]} if given else {})}]}))
    recipient: dict[str, Any] = {"resourceType": "Organization", "id": "recipient",
                                 "meta": {"profile": [S.ORGANIZATION]}, "name": letter.to_institution}
    if letter.to_institution_code:
        recipient["identifier"] = [{"system": S.INSTITUTION_NO, "value": letter.to_institution_code}]
    entries.append((their_org, recipient))
    entries.append((their_doc, {"resourceType": "Practitioner", "meta": {"profile": [S.PRACTITIONER]},
                                "name": [{"text": strip_honorific(letter.to_doctor) or "担当医"}]}))
    condition_refs, allergy_refs = [], []
    for diagnosis in diagnoses:
        urn = _urn()
        entries.append((urn, mapping.condition_resource(diagnosis, ctx, (diseases or {}).get(diagnosis.disease_code),
                                                        check=False)))
        condition_refs.append((urn, "Condition"))
    for allergy in allergies:
        urn = _urn()
        # Unchecked here: validate_bundle below checks every resource once.
        resource = (mapping.contraindication_resource(allergy, ctx, check=False) if hasattr(allergy, "reason")
                    else mapping.allergy_resource(allergy, ctx, check=False))
        entries.append((urn, resource))
        allergy_refs.append((urn, "AllergyIntolerance"))
    attachment_refs = []
    for image in images:
        urn = _urn()
        entries.append((urn, _attachment_resource(image, patient_urn)))
        attachment_refs.append((urn, "DocumentReference"))
    course = "\n".join(part for part in (
        letter.course, f"【治療経過】\n{letter.treatment}" if letter.treatment else "",
        f"【現在の処方】\n{letter.medicines}" if letter.medicines else "",
        f"【検査結果】\n{letter.lab_results}" if letter.lab_results else "",
        f"【添付画像】\n{letter.images}" if letter.images and not images else "",
        f"【備考】\n{letter.remarks}" if letter.remarks else "") if part)
    composition = {
        "resourceType": "Composition", "meta": {"profile": [S.COMPOSITION_REFERRAL]}, "language": "ja",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber",
                       "valueString": "1.0"}],
        "identifier": {"system": S.RESOURCE_INSTANCE, "value": f"{clinic.institution_code}-referral-{letter.id}"},
        "status": "final",
        "type": {"coding": [{"system": S.DOC_TYPE, "code": "57133-1", "display": "診療情報提供書"}]},
        "category": [{"coding": [{"system": S.DOC_SUBTYPE, "code": "OUTPATIENT", "display": "外来文書"}]}],
        "subject": {"reference": patient_urn, "type": "Patient"}, "date": now,
        "author": [{"reference": our_doc, "type": "Practitioner"}, {"reference": our_org, "type": "Organization"}],
        "title": "診療情報提供書", "custodian": {"reference": our_org, "type": "Organization"},
        "event": [{"code": [{"text": "診療情報提供書発行"}], "period": {"start": letter.written_on.isoformat()}}],
        "section": [
            _section("920", "紹介元情報", f"{clinic.name}\n{letter.author_name}",
                     [(our_org, "Organization"), (our_doc, "Practitioner")]),
            _section("910", "紹介先情報", " ".join(p for p in (letter.to_institution, letter.to_department,
                                                             addressee(letter.to_doctor, letter.honorific)) if p),
                     [(their_org, "Organization"), (their_doc, "Practitioner")]),
            {"title": "構造情報", "code": {"coding": [{"system": S.DOC_SECTION, "code": "300",
                                                     "display": "構造情報セクション"}]},
             "section": [_section("950", "紹介目的", letter.purpose),
                         _section("340", "傷病名・主訴", letter.diagnoses, condition_refs),
                         _section("360", "現病歴", letter.course),
                         _section("370", "既往歴", letter.history),
                         _section("510", "アレルギー・不耐性反応", letter.allergies, allergy_refs),
                         _section("330", "臨床経過", course)]}]}
    if attachment_refs:  # 添付情報 (210): entry 1..*, so only when there is an image to attach
        listed = "\n".join(" ".join(p for p in (i.study_date, i.title) if p) or "キー画像" for i in images)
        composition["section"].append(_section("210", "添付情報", "\n".join(p for p in (letter.images, listed) if p),
                                                attachment_refs))
    entries.insert(0, (_urn(), composition))
    bundle = {"resourceType": "Bundle", "meta": {"profile": [S.BUNDLE_REFERRAL]}, "language": "ja",
              "identifier": {"system": S.BUNDLE_IDENTIFIER, "value": document_id(letter, clinic)},
              "type": "document", "timestamp": now,
              "entry": [{"fullUrl": urn, "resource": resource} for urn, resource in entries]}
    validate_bundle(bundle)
    return bundle
