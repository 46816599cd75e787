"""API: prescriptions, lab orders and results, documents and the key-image list of a patient — read through the
same services as the clinical screens."""

from __future__ import annotations

from typing import Any

from app.api import bp
from app.api.common import api_patient, api_query, iso, listing
from app.api.spec import LIMIT, documented, list_of
from app.db import db_session
from app.documents.services import list_letters
from app.imaging.services import current_key_images
from app.labs.results import current_results
from app.labs.services import list_orders
from app.partners.auth import partner, require_scope
from app.prescriptions.services import list_prescriptions


def prescription_json(rx: Any) -> dict[str, Any]:
    """A prescription with its Rps and lines (レセ電算 drug codes)."""
    return {"id": rx.id, "issued_on": iso(rx.issued_on), "valid_until": iso(rx.valid_until), "status": rx.status,
            "mode": rx.mode, "doctor_name": rx.doctor_name,
            "rps": [{"number": rp.number, "usage_text": rp.usage_text, "times_per_day": rp.times_per_day,
                     "quantity": rp.quantity,
                     "lines": [{"seq": line.seq, "drug_receipt_code": line.drug_receipt_code,
                                "drug_name": line.drug_name, "dose": float(line.dose), "unit": line.unit}
                               for line in rp.lines]} for rp in rx.rps]}


@bp.get("/patients/<int:patient_id>/prescriptions")
@require_scope("prescription.read")
@documented("処方（新しい順）", list_of("Prescription"), query=LIMIT)
def prescriptions(patient_id: int) -> Any:
    """The patient's prescriptions, newest first."""
    found = api_patient(patient_id, "prescriptions")
    items = list_prescriptions(db_session(), partner().clinic_id, found.id, limit=api_query().get("limit", 50))
    return listing([prescription_json(rx) for rx in items])


@bp.get("/patients/<int:patient_id>/lab-orders")
@require_scope("lab.read")
@documented("検体検査の依頼（新しい順）", list_of("LabOrder"), query=LIMIT)
def lab_orders(patient_id: int) -> Any:
    """The patient's lab orders with the item codes of their specimens."""
    found = api_patient(patient_id, "lab_orders")
    orders = list_orders(db_session(), partner().clinic_id, found.id, limit=api_query().get("limit", 50))
    return listing([{"id": o.id, "order_number": o.order_number, "ordered_on": iso(o.ordered_on), "status": o.status,
                     "item_codes": [str(item.get("lab_code", "")) for s in o.specimens for item in (s.items or [])
                                    if isinstance(item, dict)]} for o in orders])


@bp.get("/patients/<int:patient_id>/lab-results")
@require_scope("lab.read")
@documented("検体検査の結果（現在の版、採取日の新しい順。JLAC10 のあるものはそのコード付き）", list_of("LabResult"),
            query={**LIMIT, "since": {"type": "string", "format": "date", "minLength": 10, "maxLength": 10,
                                      "description": "この採取日以降（YYYY-MM-DD）"}})
def lab_results(patient_id: int) -> Any:
    """The patient's current lab results, newest first."""
    found = api_patient(patient_id, "lab_results")
    query = api_query()
    results = current_results(db_session(), partner().clinic_id, found.id, since=query.get("since"),
                              limit=query.get("limit", 100))
    return listing([{"id": r.id, "lineage_id": r.lineage_id, "order_id": r.order_id, "lab_code": r.lab_code,
                     "jlac10": r.jlac10, "name": r.name, "value": r.value, "unit": r.unit, "flag": r.flag,
                     "reference": r.reference_range, "collected_on": iso(r.collected_on),
                     "recorded_at": iso(r.recorded_at)} for r in results])


@bp.get("/patients/<int:patient_id>/documents")
@require_scope("document.read")
@documented("文書（診療情報提供書）", list_of("Document"))
def documents(patient_id: int) -> Any:
    """The referral letters written for the patient."""
    found = api_patient(patient_id, "documents")
    return listing([{"id": d.id, "kind": "referral_letter", "written_on": iso(d.written_on), "status": d.status,
                     "to_institution": d.to_institution, "to_doctor": d.to_doctor, "purpose": d.purpose}
                    for d in list_letters(db_session(), partner().clinic_id, found.id)])


@bp.get("/patients/<int:patient_id>/images")
@require_scope("image.read")
@documented("キー画像の一覧（画像そのものは含みません）", list_of("KeyImage"))
def images(patient_id: int) -> Any:
    """The patient's current key images (their PACS identifiers and captions)."""
    found = api_patient(patient_id, "images")
    return listing([{"id": k.id, "lineage_id": k.lineage_id, "study_uid": k.study_uid, "series_uid": k.series_uid,
                     "instance_uid": k.instance_uid, "frame": k.frame, "caption": k.caption,
                     "recorded_at": iso(k.recorded_at)}
                    for k in current_key_images(db_session(), partner().clinic_id, found.id)])
