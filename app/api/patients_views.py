"""API: patients (search and one patient), the profile and the diagnoses — read through the same services as the
patient screens."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.api import bp
from app.api.common import api_patient, api_query, iso, listing
from app.api.spec import documented, list_of, ref
from app.core.audit import log_access
from app.db import db_session
from app.diagnoses.models import Diagnosis
from app.diagnoses.services import current_diagnoses
from app.partners.auth import partner, partner_actor, require_scope
from app.patients.models import Patient
from app.patients.profile import profile_overview, snapshot
from app.patients.profile_forms import KINDS
from app.patients.services import search_patients


def patient_json(patient: Any) -> dict[str, Any]:
    """A patient (or a search hit) as the API shows it."""
    return {"id": patient.id, "orca_patient_id": patient.orca_patient_id, "name": patient.name,
            "kana": patient.kana, "sex": patient.sex, "birth_date": iso(patient.birth_date)}


@bp.get("/patients")
@require_scope("patient.read")
@documented("患者の検索（氏名・カナ・患者番号・生年月日、受付画面と同じ検索）", ref("PatientSearch"),
            query={"q": {"type": "string", "minLength": 1, "maxLength": 100, "description": "検索語"}},
            required=("q",))
def patients() -> Any:
    """Search the clinic's patients as the reception screen does; each hit's look is access-logged. What the
    search could not do (too many hits, an impossible date) is said in `message`."""
    session = db_session()
    hits, message = search_patients(session, partner().clinic_id, api_query()["q"])
    for hit in hits:
        log_access(session, partner_actor(), patient_id=hit.id, action="search", resource="api:patients.search")
    return jsonify({"items": [patient_json(hit) for hit in hits], "count": len(hits), "message": message})


@bp.get("/patients/<int:patient_id>")
@require_scope("patient.read")
@documented("患者の基本情報", ref("Patient"))
def patient(patient_id: int) -> Any:
    """One patient of the clinic."""
    return jsonify(patient_json(api_patient(patient_id, "patient")))


def _profile_item(kind: Any, item: Any) -> dict[str, Any]:
    values = snapshot(kind, item)
    values.update(id=item.id, lineage_id=item.lineage_id, version=item.version, recorded_at=iso(item.recorded_at))
    return {key: (str(value) if not isinstance(value, str | int | float | bool | type(None)) else value)
            for key, value in values.items()}


@bp.get("/patients/<int:patient_id>/profile")
@require_scope("profile.read")
@documented("プロフィール（アレルギー・薬剤禁忌・既往歴・感染症・予防接種・バイタルなど、現在の版）", ref("Profile"))
def profile(patient_id: int) -> Any:
    """The patient's current profile items, by kind."""
    found: Patient = api_patient(patient_id, "profile")
    overview = profile_overview(db_session(), partner().clinic_id, found.id)
    return jsonify({slug: [_profile_item(KINDS[slug], item) for item in items] for slug, items in overview.items()})


def diagnosis_json(item: Diagnosis) -> dict[str, Any]:
    """A diagnosis as the API shows it (MEDIS 傷病名コード, ICD-10)."""
    return {"id": item.id, "lineage_id": item.lineage_id, "version": item.version, "disease_code": item.disease_code,
            "name": item.display_name, "icd10": item.icd10, "is_suspected": item.is_suspected,
            "is_main": item.is_main, "started_on": iso(item.started_on), "outcome": item.outcome,
            "ended_on": iso(item.ended_on)}


@bp.get("/patients/<int:patient_id>/diagnoses")
@require_scope("diagnosis.read")
@documented("病名（現在の版）", list_of("Diagnosis"))
def diagnoses(patient_id: int) -> Any:
    """The patient's current diagnoses."""
    found = api_patient(patient_id, "diagnoses")
    return listing([diagnosis_json(d) for d in current_diagnoses(db_session(), partner().clinic_id, found.id)])
