"""A reception registered here reaches ORCA once, although acceptmodv2 takes no idempotency key: when ORCA took it
but its reply was lost, the reception ORCA lists — same patient, 診療科 and time to the second, a number no visit
of ours holds — is recognised as ours, by the outbox's retry (which then sends nothing) or by the poller (which
then gives our visit ORCA's number instead of adding a second visit)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.timeutil import JST
from app.db import scoped
from app.integrations.orca import OrcaClient
from app.reception.models import Visit


def _second(moment: datetime) -> datetime:
    """A time in Japan, to the second (what acceptmodv2 carries)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=JST)
    return moment.astimezone(JST).replace(microsecond=0)


def waiting_visit(session: Session, clinic_id: int, day: date, patient_id: int, department_code: str,
                  accepted_at: datetime) -> Visit | None:
    """Our visit, sent to ORCA and not yet given ORCA's number, that a reception ORCA lists is."""
    at = _second(accepted_at)
    return next((v for v in session.scalars(scoped(Visit, clinic_id).where(
        Visit.visit_date == day, Visit.patient_id == patient_id, Visit.source == "kamikarte",
        Visit.orca_acceptance_id.is_(None), Visit.department_code == department_code))
        if _second(v.accepted_at) == at), None)


def landed_reception(session: Session, client: OrcaClient, visit: Visit, orca_patient_id: str) -> str | None:
    """ORCA's number of the reception an earlier try of `visit` registered although its reply was lost; None when
    ORCA holds no such reception (it must be sent)."""
    at = _second(visit.accepted_at)
    held = set(session.scalars(select(Visit.orca_acceptance_id).where(
        Visit.clinic_id == visit.clinic_id, Visit.visit_date == visit.visit_date,
        Visit.orca_acceptance_id.is_not(None))))
    return next((r.reception_id for r in client.list_receptions(at.date())
                 if r.patient_id.lstrip("0") == orca_patient_id.lstrip("0")
                 and r.department_code == visit.department_code and _second(r.accepted_at) == at
                 and r.reception_id not in held), None)
