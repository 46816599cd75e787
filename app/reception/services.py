"""The day's reception list: listing, sorting, filtering, status changes, registration sent to ORCA."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from app.core.audit import Actor, record_audit
from app.core.dates import refuse_future_date
from app.core.errors import ValidationError
from app.core.jp import format_age
from app.core.timeutil import JST
from app.db import get_scoped, scoped, utcnow
from app.outbox.services import enqueue
from app.patients.models import SEX_LABELS, Patient
from app.reception.models import (
    ACCEPTED,
    CANCELLED,
    EXAMINED,
    IN_EXAM,
    PAID,
    STATUS_LABELS,
    STATUS_ORDER,
    SyncState,
    Visit,
)

SORTS = ("time", "kana", "doctor", "status")

VISIT_CREATED = "reception.created"
VISIT_STATUS_CHANGED = "reception.status_changed"
#: Told of each reception added (here or pulled from ORCA) or moved to another state, as listener(session, visit,
#: event) in the change's transaction: partner applications' webhooks listen (app.partners.webhooks).
VisitListener = Callable[[Session, Visit, str], None]
_VISIT_LISTENERS: list[VisitListener] = []


def on_visit_event(listener: VisitListener) -> None:
    """Have `listener` told of every reception added or changed in state (once, however often registered)."""
    if listener not in _VISIT_LISTENERS:
        _VISIT_LISTENERS.append(listener)


def tell_visit_event(session: Session, visit: Visit, event: str) -> None:
    """Tell every listener of a reception added (VISIT_CREATED) or changed in state (VISIT_STATUS_CHANGED)."""
    for listener in _VISIT_LISTENERS:
        listener(session, visit, event)


@dataclass(frozen=True)
class VisitFilter:
    """Filters of the reception list."""

    day: date
    sort: str = "time"
    descending: bool = False
    department_code: str | None = None
    physician_code: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One line of the reception list, ready to show (the list has hundreds of lines and renders often)."""

    id: int
    patient_id: int
    time_text: str
    acceptance_id: str | None
    name: str
    kana: str
    sex_label: str
    age_text: str
    department_name: str
    physician_code: str
    physician_name: str
    insurance_summary: str
    status: str
    status_label: str
    next_status: str | None


#: The one-touch step of each state: 受付済 → 診察中 → 診察済 → 会計済.
NEXT_STATUS = {ACCEPTED: IN_EXAM, IN_EXAM: EXAMINED, EXAMINED: PAID}


def list_visits(session: Session, clinic_id: int, flt: VisitFilter) -> list[VisitRow]:
    """Visits of one day, sorted and filtered as the clerk asked, as display rows (no ORM objects: speed)."""
    stmt = _DAY_LIST[(flt.sort if flt.sort in SORTS else "time", flt.descending)]
    for column, wanted in ((Visit.department_code, flt.department_code), (Visit.physician_code, flt.physician_code),
                           (Visit.status, flt.status)):
        if wanted:
            stmt = stmt.where(column == wanted)
    # Per-row work is kept to plain lookups: this list is the busiest page of the day (300 rows in ≤ 30 ms).
    # Core execution on the session's connection (nothing for the ORM to load), all rows fetched at once (row by
    # row, psycopg's fetchone cost ~2.5 ms for 300 rows) and unpacked as tuples (Row attribute access ~3 ms).
    ages: dict[date, str] = {}
    rows = []
    append = rows.append
    for (visit_id, patient_id, accepted_at, acceptance_id, department_name, physician_code, physician_name,
         insurance_summary, status, name, kana, sex, birth_date) in session.connection().execute(
            stmt, {"clinic_id": clinic_id, "day": flt.day}).all():
        age = ages.get(birth_date)
        if age is None:
            age = ages[birth_date] = format_age(birth_date, flt.day) if birth_date <= flt.day else ""
        local = accepted_at.astimezone(JST)
        append(VisitRow(
            id=visit_id, patient_id=patient_id, time_text=f"{local.hour:02d}:{local.minute:02d}",
            acceptance_id=acceptance_id, name=name, kana=kana, sex_label=SEX_LABELS.get(sex, ""), age_text=age,
            department_name=department_name, physician_code=physician_code, physician_name=physician_name,
            insurance_summary=insurance_summary, status=status, status_label=STATUS_LABELS.get(status, status),
            next_status=NEXT_STATUS.get(status)))
    return rows


def _day_list(sort: str, descending: bool) -> Select:
    """A day's visits with their patients, in one of the list's orders (clinic and day bound)."""
    columns = (Visit.id, Visit.patient_id, Visit.accepted_at, Visit.orca_acceptance_id, Visit.department_name,
               Visit.physician_code, Visit.physician_name, Visit.insurance_summary, Visit.status, Patient.name,
               Patient.kana, Patient.sex, Patient.birth_date)
    status_rank = case({s: i for i, s in enumerate(STATUS_ORDER)}, value=Visit.status, else_=99)
    keys = {
        "time": [Visit.accepted_at, Visit.id],
        "kana": [Patient.kana_key, Visit.accepted_at],
        "doctor": [Visit.physician_name, Visit.accepted_at],
        "status": [status_rank, Visit.accepted_at],
    }[sort]
    return (select(*columns).where(Visit.clinic_id == bindparam("clinic_id"), Visit.visit_date == bindparam("day"))
            .join(Patient, Visit.patient_id == Patient.id)
            .order_by(*[k.desc() for k in keys] if descending else keys))


#: Built once, each order either way: the list is the busiest page of the day (a filter, rarer, is added to it).
_DAY_LIST = {(sort, descending): _day_list(sort, descending) for sort in SORTS for descending in (False, True)}


def list_revision(session: Session, clinic_id: int, day: date) -> str:
    """A fingerprint of a day's list: changes whenever any visit of the day changes (for live refresh)."""
    row = session.connection().execute(_LIST_REVISION, {"clinic_id": clinic_id, "day": day}).one()
    return f"{row[0]}-{row[1]}-{row[2] or 0}"


def day_visits(session: Session, clinic_id: int, day: date) -> list[Visit]:
    """The clinic's receptions of a day (cancelled ones too), in reception order."""
    return list(session.scalars(scoped(Visit, clinic_id).where(Visit.visit_date == day)
                                .order_by(Visit.accepted_at, Visit.id)))
#: Built once, run as a plain (Core) statement: every open reception list polls it every few seconds.
_LIST_REVISION = (select(func.count(Visit.id), func.coalesce(func.sum(Visit.revision), 0), func.max(Visit.id))
                  .where(Visit.clinic_id == bindparam("clinic_id"), Visit.visit_date == bindparam("day")))


def patient_visits_on(session: Session, clinic_id: int, patient_id: int, day: date) -> list[Visit]:
    """One patient's receptions of a day (cancelled ones too), in reception order."""
    return list(session.scalars(_PATIENT_VISITS_ON, {"clinic_id": clinic_id, "patient_id": patient_id, "day": day}))


#: Built once: the patient page shows today's receptions on every view.
_PATIENT_VISITS_ON = (select(Visit).where(Visit.clinic_id == bindparam("clinic_id"),
                                          Visit.patient_id == bindparam("patient_id"),
                                          Visit.visit_date == bindparam("day"))
                      .order_by(Visit.accepted_at))


def get_visit(session: Session, clinic_id: int, visit_id: int) -> Visit | None:
    """One visit of this clinic."""
    return get_scoped(session, Visit, clinic_id, visit_id)


def change_status(session: Session, visit: Visit, status: str, actor: Actor) -> Visit:
    """Move a visit to a new state (one touch at the desk or in the exam room); audited."""
    if status not in STATUS_LABELS:
        raise ValidationError("受付状態の指定が正しくありません", field="status")
    if visit.status == status:
        return visit
    before = visit.status
    visit.status = status
    visit.status_changed_at = utcnow()
    visit.revision += 1
    session.flush()
    record_audit(session, actor, "visit.status", clinic_id=visit.clinic_id, entity_type="visit", entity_id=visit.id,
                 patient_id=visit.patient_id, summary={"before": {"status": before}, "after": {"status": status}})
    tell_visit_event(session, visit, VISIT_STATUS_CHANGED)
    return visit


def register_visit(
    session: Session, clinic_id: int, patient: Patient, actor: Actor, *, department_code: str,
    department_name: str, physician_code: str, physician_name: str, at: datetime, day: date,
) -> Visit:
    """Register a reception here; it is sent to ORCA through the outbox (never lost when ORCA is down)."""
    if patient.clinic_id != clinic_id:
        raise ValidationError("患者が見つかりません")
    refuse_future_date(day, "visit", "受付日", field="day")
    visit = Visit(clinic_id=clinic_id, patient_id=patient.id, visit_date=day, accepted_at=at,
                  department_code=department_code, department_name=department_name, physician_code=physician_code,
                  physician_name=physician_name, status=ACCEPTED, source="kamikarte")
    session.add(visit)
    session.flush()
    enqueue(session, clinic_id=clinic_id, kind="orca.reception", subject_type="visit", subject_id=visit.id,
            patient_id=patient.id, idempotency_key=f"orca.reception:{clinic_id}:{visit.id}",
            payload={"visit_id": visit.id, "patient_id": patient.orca_patient_id, "department_code": department_code,
                     "physician_code": physician_code, "accepted_at": at.isoformat()})
    record_audit(session, actor, "visit.register", clinic_id=clinic_id, entity_type="visit", entity_id=visit.id,
                 patient_id=patient.id, summary={"after": {"department": department_code, "physician": physician_code}})
    tell_visit_event(session, visit, VISIT_CREATED)
    return visit


def orca_choices(clinic_integrations: dict) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Departments and doctors as ORCA last told us (for the registration form)."""
    orca = (clinic_integrations or {}).get("orca") or {}
    return list(orca.get("departments") or []), list(orca.get("physicians") or [])


def chosen_department_and_physician(clinic_integrations: dict, department_code: str | None,
                                    physician_code: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The department and doctor a registration names, among those ORCA told us; ValidationError otherwise (the
    screen's form and the API's web booking alike)."""
    departments, physicians = orca_choices(clinic_integrations)
    department = next((d for d in departments if d["code"] == department_code), None)
    physician = next((p for p in physicians if p["code"] == physician_code), None)
    if department is None or physician is None:
        raise ValidationError("診療科と医師を選んでください", code="unknown_department_or_physician",
                              field="department_code" if department is None else "physician_code")
    return department, physician


def cancel_visit(session: Session, visit: Visit, actor: Actor) -> Visit:
    """Cancel a reception (取消); the row stays, marked cancelled."""
    return change_status(session, visit, CANCELLED, actor)


#: Built once: the reception list shows its sync state on every view.
_SYNC_STATE = select(SyncState).where(SyncState.clinic_id == bindparam("clinic_id"),
                                      SyncState.kind == bindparam("kind"))


def sync_state(session: Session, clinic_id: int, kind: str) -> SyncState:
    """The sync bookkeeping row of a clinic and kind (created on first use)."""
    state = session.scalar(_SYNC_STATE, {"clinic_id": clinic_id, "kind": kind})
    if state is None:
        state = SyncState(clinic_id=clinic_id, kind=kind)
        session.add(state)
        session.flush()
    return state
