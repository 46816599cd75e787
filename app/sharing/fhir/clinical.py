"""Our records as JP Core resources with ids and references, for the /fhir facade and the bulk export: the
6-information resources of mapping.py made addressable (`rest`), and the kinds the 6 information does not carry —
Encounter (受付), vital signs, the other profile items, Immunization, ServiceRequest and DiagnosticReport (検体検査の
依頼と報告), DocumentReference (progress notes, referral letters, key images) and ImagingStudy. One mapping of our
models: the facade and the export both call these (docs/standards/fhir-facade.md).

Inputs are our models (or anything with the same attributes); nothing here reads the database."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from app.core.timeutil import JST
from app.sharing.fhir import systems as S

#: Our visit states → Encounter.status.
ENCOUNTER_STATUS = {"accepted": "arrived", "in_exam": "in-progress", "examined": "finished", "paid": "finished",
                    "cancelled": "cancelled"}
#: Our lab order states → ServiceRequest.status (and whether its report is final).
ORDER_STATUS = {"queued": "active", "sent": "active", "accepted": "active", "partial": "active",
                "complete": "completed", "cancelled": "revoked", "rejected": "revoked"}
#: One vital sign: our column → LOINC code, display, UCUM unit (FHIR R4 vital signs value set; see
#: app/sharing/data/SOURCES.md).
VITAL_SIGNS = (("height_cm", "8302-2", "Body height", "cm"), ("weight_kg", "29463-7", "Body weight", "kg"),
               ("systolic", "8480-6", "Systolic blood pressure", "mm[Hg]"),
               ("diastolic", "8462-4", "Diastolic blood pressure", "mm[Hg]"),
               ("pulse", "8867-4", "Heart rate", "/min"), ("temperature_c", "8310-5", "Body temperature", "Cel"),
               ("spo2", "2708-6", "Oxygen saturation in Arterial blood", "%"))
VITAL_PANEL = ("85353-1", "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel")
#: The referral letter's document type (JP-CLINS doc-typecodes, as app/documents/fhir.py sends it).
REFERRAL_TYPE = ("57133-1", "診療情報提供書")


def instant(value: datetime | None) -> str | None:
    """A moment in Japan time with its offset (FHIR instant)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(JST).isoformat(timespec="seconds")


def day(value: date | None) -> str | None:
    """A FHIR date."""
    return value.isoformat() if value else None


def clean(value: Any) -> Any:
    """The resource without empty elements (FHIR forbids nulls, empty strings, lists and objects)."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if isinstance(item, dict | list):
                item = clean(item)
            if item is not None and item != "" and item != [] and item != {}:
                kept[key] = item
        return kept
    if isinstance(value, list):
        items = [clean(item) if isinstance(item, dict | list) else item for item in value]
        return [item for item in items if item is not None and item != "" and item != [] and item != {}]
    return value


def reference(kind: str, rid: str) -> dict[str, str]:
    """A literal reference inside the server (or the export): Kind/id."""
    return {"reference": f"{kind}/{rid}"}


def rest(resource: dict[str, Any], rid: str, patient_rid: str | None, core_profile: str,
         updated: datetime | None = None) -> dict[str, Any]:
    """A resource of mapping.py as the facade serves it: its id, its JP Core profile first, the patient as a
    reference (the insurance member ID stays as the reference's identifier when there is one)."""
    resource = dict(resource)
    resource["id"] = rid
    meta = dict(resource.get("meta") or {})
    meta["profile"] = [core_profile, *[p for p in meta.get("profile", []) if p != core_profile]]
    if updated is not None:
        meta["lastUpdated"] = instant(updated)
    resource["meta"] = meta
    for key in ("subject", "patient"):
        if key in resource and patient_rid is not None:
            identifier = (resource[key] or {}).get("identifier") or {}
            resource[key] = {**reference("Patient", patient_rid),
                             **({"identifier": identifier} if identifier.get("value") else {})}
    if "identifier" in resource:
        resource["identifier"] = [i for i in resource["identifier"] if i.get("value")]
    # The mapping's resources are clean already; only what this function touched may be empty.
    return {k: v for k, v in resource.items() if v is not None and v != "" and v != []}


def _base(kind: str, rid: str, profile: str, updated: datetime | None) -> dict[str, Any]:
    return {"resourceType": kind, "id": rid, "meta": {"lastUpdated": instant(updated), "profile": [profile]},
            "language": "ja"}


def encounter_resource(visit: Any, rid: str, patient_rid: str) -> dict[str, Any]:
    """JP_Encounter from a visit (受付): ambulatory, its state, department and doctor."""
    return clean({**_base("Encounter", rid, S.CORE_ENCOUNTER, visit.updated_at),
                  "status": ENCOUNTER_STATUS.get(visit.status, "unknown"),
                  "class": {"system": S.ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
                  "serviceType": {"text": visit.department_name},
                  "subject": reference("Patient", patient_rid),
                  "participant": [{"individual": {"display": visit.physician_name}}] if visit.physician_name else [],
                  "period": {"start": instant(visit.accepted_at)}})


def vital_signs_resource(vital: Any, rid: str, patient_rid: str) -> dict[str, Any]:
    """JP_Observation_VitalSigns: one set of measurements as the vital-signs panel with a component each."""
    components = []
    for column, code, display, unit in VITAL_SIGNS:
        value = getattr(vital, column)
        if value is not None:
            components.append({"code": {"coding": [{"system": S.LOINC, "code": code, "display": display}]},
                               "valueQuantity": {"value": value, "unit": unit, "system": S.UCUM, "code": unit}})
    return clean({**_base("Observation", rid, S.CORE_VITAL_SIGNS, vital.recorded_at),
                  "status": "final",
                  "category": [{"coding": [{"system": S.OBSERVATION_CATEGORY_HL7, "code": "vital-signs"}]}],
                  "code": {"coding": [{"system": S.LOINC, "code": VITAL_PANEL[0], "display": VITAL_PANEL[1]}],
                           "text": "バイタルサイン"},
                  "subject": reference("Patient", patient_rid), "effectiveDateTime": instant(vital.measured_at),
                  "component": components})


def profile_observation(kind: str, label: str, value: str, rid: str, patient_rid: str, recorded: datetime | None,
                        effective: date | None = None, note: str = "") -> dict[str, Any]:
    """JP_Observation_Common for a profile item no standard code names (血液型, 障害, 要介護度, 妊娠・授乳):
    our own kind code (listed in an export's manifest) and the value as recorded."""
    return clean({**_base("Observation", rid, S.CORE_OBSERVATION, recorded), "status": "final",
                  "code": {"coding": [{"system": S.PROFILE_ITEM, "code": kind, "display": label}], "text": label},
                  "subject": reference("Patient", patient_rid), "effectiveDateTime": day(effective),
                  "valueString": value, "note": [{"text": note}] if note else []})


def past_history_resource(item: Any, rid: str, patient_rid: str) -> dict[str, Any]:
    """JP_Condition for a 既往歴 entry: the illness as told, its period as the onset text."""
    return clean({**_base("Condition", rid, S.CORE_CONDITION, item.recorded_at),
                  "category": [{"coding": [{"system": S.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
                  "code": {"coding": [{"system": S.PROFILE_ITEM, "code": "past-history", "display": "既往歴"}],
                           "text": item.disease},
                  "subject": reference("Patient", patient_rid), "onsetString": item.period,
                  "note": [{"text": item.notes}] if item.notes else []})


def immunization_resource(item: Any, rid: str, patient_rid: str) -> dict[str, Any]:
    """JP_Immunization for a vaccination given (the vaccine by name: no vaccine code is recorded)."""
    return clean({**_base("Immunization", rid, S.CORE_IMMUNIZATION, item.recorded_at), "status": "completed",
                  "vaccineCode": {"text": item.vaccine}, "patient": reference("Patient", patient_rid),
                  "occurrenceDateTime": day(item.administered_on), "lotNumber": item.lot_number,
                  "site": {"text": item.site},
                  "protocolApplied": [{"doseNumberPositiveInt": item.dose_number}] if item.dose_number else [],
                  "note": [{"text": item.notes}] if item.notes else []})


def service_request_resource(order: Any, rid: str, patient_rid: str, tests: Iterable[str]) -> dict[str, Any]:
    """JP_ServiceRequest_Common for a lab order: its number, state, the tests by name, who ordered it when."""
    names = "、".join(tests)
    return clean({**_base("ServiceRequest", rid, S.CORE_SERVICE_REQUEST, order.ordered_at),
                  "identifier": [{"value": order.order_number}],
                  "status": ORDER_STATUS.get(order.status, "unknown"), "intent": "order",
                  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                            "code": "LAB"}], "text": "検体検査"}],
                  "code": {"text": f"検体検査 {names}".strip()}, "subject": reference("Patient", patient_rid),
                  "authoredOn": instant(order.ordered_at),
                  "requester": {"display": order.ordered_by_name} if order.ordered_by_name else {},
                  "note": [{"text": order.comment}] if order.comment else []})


def diagnostic_report_resource(order: Any, rid: str, order_rid: str, patient_rid: str,
                               result_rids: list[str], updated: datetime | None) -> dict[str, Any]:
    """JP_DiagnosticReport_LabResult: the results of one lab order, pointing at the order and its Observations."""
    final = ORDER_STATUS.get(order.status) == "completed"
    return clean({**_base("DiagnosticReport", rid, S.CORE_LAB_REPORT, updated or order.ordered_at),
                  "basedOn": [reference("ServiceRequest", order_rid)],
                  "status": "final" if final else "partial",
                  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                            "code": "LAB"}]}],
                  "code": {"text": "検体検査結果"}, "subject": reference("Patient", patient_rid),
                  "effectiveDateTime": day(order.ordered_on), "issued": instant(updated),
                  "result": [reference("Observation", r) for r in result_rids]})


def _document(rid: str, patient_rid: str, updated: datetime | None, status: str, type_coding: dict[str, str],
              when: datetime | None, attachment: dict[str, Any], description: str = "") -> dict[str, Any]:
    return clean({**_base("DocumentReference", rid, S.DOCUMENT_REFERENCE, updated), "status": status,
                  "type": {"coding": [type_coding], "text": type_coding["display"]},
                  "subject": reference("Patient", patient_rid), "date": instant(when),
                  "description": description, "content": [{"attachment": attachment}]})


def version_status(record: Any) -> str:
    """DocumentReference.status of a versioned record: current, superseded by a correction, or withdrawn."""
    if getattr(record, "retracted", False):
        return "entered-in-error"
    return "superseded" if getattr(record, "superseded_at", None) else "current"


def note_text(note: Any) -> str:
    """The SOAP note as plain text (S/O/A/P headed)."""
    parts = [("S", note.subjective), ("O", note.objective), ("A", note.assessment), ("P", note.plan)]
    return "\n".join(f"({label}) {text}" for label, text in parts if text)


def note_document(note: Any, rid: str, patient_rid: str) -> dict[str, Any]:
    """DocumentReference for a progress note version, the SOAP text embedded (text/plain, UTF-8)."""
    data = note_text(note).encode()
    return _document(rid, patient_rid, note.recorded_at, version_status(note),
                     {"system": S.DOCUMENT_KIND, "code": "progress-note", "display": "経過記録"},
                     note.recorded_at, {"contentType": "text/plain; charset=utf-8",
                                        "data": base64.b64encode(data).decode(), "size": len(data),
                                        "title": f"{note.note_date:%Y-%m-%d} 経過記録"},
                     note.department_name)


def letter_document(letter: Any, rid: str, patient_rid: str, url: str, size: int | None = None) -> dict[str, Any]:
    """DocumentReference for a referral letter: its PDF at `url` (an export's file, or the facade's Binary)."""
    resource = _document(rid, patient_rid, letter.updated_at, "current",
                     {"system": S.DOC_TYPE, "code": REFERRAL_TYPE[0], "display": REFERRAL_TYPE[1]},
                     letter.confirmed_at or letter.created_at,
                     {"contentType": "application/pdf", "url": url, "size": size,
                      "title": f"診療情報提供書 {letter.to_institution}"}, letter.purpose[:200])
    resource["docStatus"] = "final" if letter.status == "final" else "preliminary"
    return resource


def key_image_document(image: Any, rid: str, patient_rid: str, url: str) -> dict[str, Any]:
    """DocumentReference for a key image: the stored rendered image at `url`, size and SHA-1 (R4 hash)."""
    return _document(rid, patient_rid, image.recorded_at, version_status(image),
                     {"system": S.DOCUMENT_KIND, "code": "key-image", "display": "キー画像"}, image.recorded_at,
                     {"contentType": image.media_type, "url": url, "size": len(image.image_bytes),
                      "hash": _sha1(image.image_bytes), "title": image.caption or "キー画像",
                      "creation": day(image.study_date)}, image.study_description)


def _sha1(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 — FHIR R4 Attachment.hash is SHA-1


def imaging_study_resource(image: Any, rid: str, patient_rid: str) -> dict[str, Any]:
    """JP_ImagingStudy_Radiology for the study a key image was kept from: its StudyInstanceUID, date, modality
    and the series of the image."""
    modality = {"system": S.DICOM, "code": image.modality} if image.modality else None
    series = {"uid": image.series_uid, "modality": modality, "numberOfInstances": 1} if modality else None
    return clean({**_base("ImagingStudy", rid, S.CORE_IMAGING_STUDY, image.recorded_at), "status": "available",
                  "identifier": [{"system": S.DICOM_UID, "value": f"urn:oid:{image.study_uid}"}],
                  "modality": [modality] if modality else [], "subject": reference("Patient", patient_rid),
                  "started": day(image.study_date), "description": image.study_description,
                  "series": [series] if series else []})
