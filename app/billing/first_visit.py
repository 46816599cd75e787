"""初診 or 再診 of a visit from ORCA's own 初診算定日 (medicalmodv23 検索, orca.md §4e), never from our receptions:
ORCA computes the 初診料 from that date, so the picker's rules and the visit summary read the same date.

ORCA's answer is kept for the visit in the database (first_visit_answer), so that every render of the fee list and
the summary — in any of the app's processes — reuses it instead of asking ORCA again (the question cost the fee
list a fifth of its time). It is asked again when the visit changes (its revision, bumped by every change of the
reception, e.g. the 会計 that makes ORCA record a 初診算定日) or the day changes; when ORCA cannot be asked, the last
answer is shown with a note saying when ORCA gave it, as the reception list shows its last sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.billing import orca_interim
from app.billing.models import FirstVisitAnswer
from app.clinics.models import Clinic
from app.core.timeutil import japan_today, to_japan_time
from app.db import utcnow
from app.integrations.orca import OrcaError
from app.reception.models import Visit


@dataclass(frozen=True)
class FirstVisit:
    """`first`: True 初診, False 再診, None when ORCA could not say; `note` says how it was decided."""

    first: bool | None
    note: str


def _judged(day: date | None, visit: Visit) -> FirstVisit:
    """None, or a 初診算定日 not before the visit's day, is a 初診; an earlier one is a 再診."""
    if day is None:
        return FirstVisit(True, "初診（ORCAに初診算定日がありません）")
    if day >= visit.visit_date:
        return FirstVisit(True, f"初診（ORCAの初診算定日 {day:%Y-%m-%d}）")
    return FirstVisit(False, f"再診（ORCAの初診算定日 {day:%Y-%m-%d}）")


def _kept(session: Session, visit: Visit) -> FirstVisitAnswer | None:
    return session.scalars(select(FirstVisitAnswer).where(FirstVisitAnswer.clinic_id == visit.clinic_id,
                                                          FirstVisitAnswer.visit_id == visit.id)).first()


def _keep(session: Session, visit: Visit, kept: FirstVisitAnswer | None, patient_id: str, today: date,
          day: date | None) -> None:
    """Store ORCA's answer for the visit (in the caller's transaction)."""
    values = {"visit_revision": visit.revision, "orca_patient_id": patient_id, "asked_on": today,
              "first_calculation_date": day, "answered_at": utcnow()}
    if kept is not None:
        for name, value in values.items():
            setattr(kept, name, value)
        return
    try:
        with session.begin_nested():
            session.add(FirstVisitAnswer(clinic_id=visit.clinic_id, patient_id=visit.patient_id, visit_id=visit.id,
                                         **values))
    except IntegrityError:
        pass  # another process stored its answer for the visit at the same moment: as fresh as ours


def first_visit(session: Session, clinic: Clinic | None, visit: Visit) -> FirstVisit:
    """初診 or 再診 of the visit by ORCA's 初診算定日: the answer kept for the visit when it was given today for the
    visit as it is, otherwise ORCA's answer now (kept in the caller's transaction, which commits it)."""
    client = orca_interim.orca_client_for(clinic) if clinic is not None and orca_interim.is_available(clinic) \
        else None
    patient_id = visit.patient.orca_patient_id if visit.patient is not None else ""
    if client is None or not patient_id:
        return FirstVisit(None, "ORCAと連携していないため、初診・再診はORCAでの確認が必要です")
    today = japan_today()
    kept = _kept(session, visit)
    last = kept if kept is not None and kept.orca_patient_id == patient_id else None  # an answer for this patient
    if last is not None and last.visit_revision == visit.revision and last.asked_on == today:
        return _judged(last.first_calculation_date, visit)
    try:
        day = client.first_calculation_date(patient_id)
    except OrcaError as exc:
        if last is None:
            return FirstVisit(None, f"ORCAの初診算定日を確認できません（{exc.message_ja}）")
        judged = _judged(last.first_calculation_date, visit)
        return FirstVisit(judged.first, f"{judged.note}。ORCAに確認できないため、"
                                        f"{to_japan_time(last.answered_at):%Y-%m-%d %H:%M}時点のORCAの答えです"
                                        f"（{exc.message_ja}）")
    _keep(session, visit, kept, patient_id, today, day)
    return _judged(day, visit)
