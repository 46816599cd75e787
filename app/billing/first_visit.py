"""初診 or 再診 of a visit from ORCA's own 初診算定日 (medicalmodv23 検索, orca.md §4e), never from our receptions:
ORCA computes the 初診料 from that date, so the picker's rules and the visit summary read the same date."""

from __future__ import annotations

from dataclasses import dataclass

from app.billing import orca_interim
from app.clinics.models import Clinic
from app.integrations.orca import OrcaError
from app.reception.models import Visit


@dataclass(frozen=True)
class FirstVisit:
    """`first`: True 初診, False 再診, None when ORCA could not say; `note` says how it was decided."""

    first: bool | None
    note: str


def first_visit(clinic: Clinic | None, visit: Visit) -> FirstVisit:
    """Ask ORCA for the patient's 初診算定日: none, or not before the visit's day, is a 初診; earlier is a 再診."""
    client = orca_interim.orca_client_for(clinic) if clinic is not None and orca_interim.is_available(clinic) \
        else None
    patient_id = visit.patient.orca_patient_id if visit.patient is not None else ""
    if client is None or not patient_id:
        return FirstVisit(None, "ORCAと連携していないため、初診・再診はORCAでの確認が必要です")
    try:
        day = client.first_calculation_date(patient_id)
    except OrcaError as exc:
        return FirstVisit(None, f"ORCAの初診算定日を確認できません（{exc.message_ja}）")
    if day is None:
        return FirstVisit(True, "初診（ORCAに初診算定日がありません）")
    if day >= visit.visit_date:
        return FirstVisit(True, f"初診（ORCAの初診算定日 {day:%Y-%m-%d}）")
    return FirstVisit(False, f"再診（ORCAの初診算定日 {day:%Y-%m-%d}）")
