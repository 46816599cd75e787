"""Shared arrangements for the sharing tests: a clinic with one patient holding one record of each kind."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.patients.profile_models import Allergy, Contraindication, Infection
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from tests.factories import make_clinic, make_patient, make_user

CLINIC_A = "1310123458"
MEMBER = "01130012:７５１３１３７８:7812312:00"
INSURANCE = [{"name": "協会けんぽ", "insurer_number": "01130012", "symbol": "７５１３１３７８", "number": "7812312",
              "branch": "00", "relation": "本人", "burden_percent": 30}]
WHEN = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _versioned(model, clinic, patient, **values):
    return model(clinic_id=clinic.id, patient_id=patient.id, version=1, recorded_at=WHEN, recorded_by_name="医師 一郎",
                 **values)


def connect(orca=None, sharing=None, institution_code: str = CLINIC_A) -> dict:
    """The clinic's integrations with the simulators (ORCA for the eligibility result, the sharing service)."""
    found = {}
    if orca is not None:
        found["orca"] = {"base_url": orca.base_url(institution_code), "user": "ormaster-a", "password": "orca-demo-a"}
    if sharing is not None:
        found["sharing"] = {"base_url": sharing.base_url(institution_code), "token": sharing.token(institution_code)}
    return found


def arrange(session, *, institution_code: str = CLINIC_A, insurances=None, integrations=None,
            orca_patient_id: str = "00001", records: bool = True) -> dict:
    """A clinic, a doctor, a nurse, a clerk and 山田 太郎 with a diagnosis, two allergies, a 薬剤禁忌, an infection
    and an issued prescription of two drugs (one 一般名処方)."""
    load_shipped_subsets(session)
    clinic = make_clinic(session, institution_code=institution_code, integrations=integrations or {})
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    nurse = make_user(session, clinic, role="nurse")
    clerk = make_user(session, clinic, role="clerk")
    patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", birth_date=date(1958, 3, 2),
                           insurances=INSURANCE if insurances is None else insurances,
                           orca_patient_id=orca_patient_id)
    if not records:
        session.commit()
        return {"clinic": clinic, "doctor": doctor, "nurse": nurse, "clerk": clerk, "patient": patient}
    rows = [
        _versioned(Diagnosis, clinic, patient, disease_code="8833421", display_name="高血圧症", icd10="I10",
                   started_on=date(2020, 4, 1), is_main=True),
        _versioned(Allergy, clinic, patient, category="drug", substance="ロキソニン錠６０ｍｇ", reaction="蕁麻疹",
                   severity="severe", drug_scope="product", drug_receipt_code="620098801", drug_yj_code="1149019F1560"),
        _versioned(Allergy, clinic, patient, category="food", substance="さば", reaction="全身の発疹", severity="mild"),
        _versioned(Contraindication, clinic, patient, substance="ワルファリンカリウム", reason="出血傾向"),
        _versioned(Infection, clinic, patient, kind="hbs_ag", result="negative", tested_on=date(2025, 6, 1)),
    ]
    session.add_all(rows)
    session.flush()
    for row in rows:
        row.lineage_id = row.id
    rx = Prescription(clinic_id=clinic.id, patient_id=patient.id, doctor_id=doctor.id, doctor_name="医師 一郎",
                      issued_on=date(2026, 11, 20), valid_until=date(2026, 11, 23), issued_at=WHEN)
    rp = PrescriptionRp(number=1, form=1, usage_code="1013044400000000", usage_text="１日３回朝昼夕食後",
                        times_per_day=3, quantity=7)
    rp.lines = [PrescriptionLine(seq=1, drug_receipt_code="620098801", drug_name="ロキソニン錠６０ｍｇ",
                                 yj_code="1149019F1560", by_generic_name=True, generic_code="1149019F1ZZZ",
                                 generic_name="【般】ロキソプロフェンＮａ錠６０ｍｇ", dose=3, unit="錠"),
                PrescriptionLine(seq=2, drug_receipt_code="620452801", drug_name="ムコスタ錠１００ｍｇ",
                                 yj_code="2329021F1102", dose=3, unit="錠")]
    rx.rps = [rp]
    session.add(rx)
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "nurse": nurse, "clerk": clerk, "patient": patient,
            "prescription": rx}
