"""Shared set-up of the billing tests: the shipped masters, a patient with a visit and main diagnoses."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.billing.procedures import load_shipped_subset
from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.db import utcnow
from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.patients.models import Patient
from app.reception.models import Visit
from tests.factories import make_patient

#: バセドウ病 (特定疾患等対象区分 05) and 本態性高血圧症-free rows of the shipped 傷病名マスター.
#: The ORCA simulator's clinic A.
CODE = "1310123458"
BASEDOW = ("2420002", "バセドウ病", "E050")


def load_masters(session: Session) -> None:
    """The shipped 医科診療行為 and 傷病名 subsets."""
    load_shipped_subset(session)
    load_shipped_subsets(session)


def add_diagnosis(session: Session, patient: Patient, code: str, name: str, icd10: str, *, main: bool = True,
                  started: date | None = None) -> Diagnosis:
    """A current diagnosis of the patient."""
    item = Diagnosis(clinic_id=patient.clinic_id, patient_id=patient.id, disease_code=code, display_name=name,
                     icd10=icd10, is_main=main, started_on=started or date(2020, 1, 1), prefix_codes=[],
                     suffix_codes=[])
    session.add(item)
    session.flush()
    item.lineage_id = item.id
    return item


def make_visit(session: Session, clinic: Clinic, patient: Patient | None = None, *, day: date | None = None,
               **overrides: Any) -> Visit:
    """Today's reception of a patient (診療科 01, 医師 10001)."""
    patient = patient or make_patient(session, clinic)
    values: dict[str, Any] = {"clinic_id": clinic.id, "patient_id": patient.id, "visit_date": day or japan_today(),
                              "accepted_at": utcnow(), "department_code": "01", "physician_code": "10001",
                              "source": "kamikarte"}
    values.update(overrides)
    visit = Visit(**values)
    session.add(visit)
    session.flush()
    return visit


def earlier_visit(session: Session, clinic: Clinic, patient: Patient, before: date) -> Visit:
    """A paid visit 40 days before a day: the patient is no longer on a first visit (初診)."""
    return make_visit(session, clinic, patient, day=before - timedelta(days=40), status="paid")
