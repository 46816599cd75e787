"""What the chart tests share: a full-chart clinic with a doctor, a nurse and a patient, and notes written straight
into the database (as saved versions: the search text is written by the same flush)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.core.timeutil import japan_today
from app.labs.models import LabResult
from app.notes.models import ProgressNote
from tests.factories import make_clinic, make_patient, make_user


@dataclass
class ChartWorld:
    """The clinic, its staff and a patient."""

    clinic: Any
    doctor: Any
    nurse: Any
    patient: Any


def make_chart_world(session, *, full_chart: bool = True) -> ChartWorld:
    """A clinic (full-chart mode unless asked otherwise) with a doctor, a nurse and a patient."""
    clinic = make_clinic(session, is_full_chart_mode=full_chart)
    doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
    nurse = make_user(session, clinic, role="nurse", display_name="看護 花")
    patient = make_patient(session, clinic)
    session.commit()
    return ChartWorld(clinic, doctor, nurse, patient)


def add_note(session, clinic, patient, day: date, *, author=None, subjective: str = "", objective: str = "",
             assessment: str = "", plan: str = "", commit: bool = True, department: str = "",
             insurance: str = "", kind: str = "visit") -> ProgressNote:
    """A saved first version of a day's note (of a visit's department and insurance, or an encounter's kind)."""
    note = ProgressNote(clinic_id=clinic.id, patient_id=patient.id, note_date=day, subjective=subjective,
                        objective=objective, assessment=assessment, plan=plan, key_image_ids=[], version=1,
                        department_name=department, insurance_summary=insurance, encounter_kind=kind,
                        recorded_by_id=author.id if author else None,
                        recorded_by_name=author.display_name if author else "")
    session.add(note)
    session.flush()
    note.lineage_id = note.id
    if commit:
        session.commit()
    return note


def add_history(session, clinic, patient, count: int, *, author=None, start: date | None = None) -> list:
    """`count` notes, one every 3 days back from `start` (today), each saying which it is."""
    start = start or japan_today()
    notes = [add_note(session, clinic, patient, start - timedelta(days=3 * i), author=author,
                      subjective=f"記録{i:04d} 咳と発熱", assessment="急性上気道炎", commit=False)
             for i in range(count)]
    session.commit()
    return notes


def lab_result(world: ChartWorld, day: date, lab_code: str, name: str, value: str, unit: str, flag: str = "",
               status: str = "F") -> LabResult:
    """A current lab result of the patient collected on `day` (items and units of the shipped lab master), not yet
    added to the session."""
    return LabResult(clinic_id=world.clinic.id, patient_id=world.patient.id, lab_code=lab_code, name=name,
                     value=value, numeric_value=float(value) if value else None, unit=unit, flag=flag,
                     result_status=status, collected_on=day, version=1)
