"""API: the reception list of a day, a patient's visits, and registering a reception (a web booking), through the
same reception service as the clerk's screen (it goes on to ORCA through the outbox)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.api import bp
from app.api.common import api_patient, api_query, iso, listing, read_body, refused
from app.api.spec import DAY, documented, list_of, ref
from app.clinics.models import Clinic
from app.core.audit import log_access
from app.core.errors import ValidationError
from app.core.timeutil import japan_today
from app.core.web import MAX_ID
from app.db import db_session, utcnow
from app.partners.auth import partner, partner_actor, require_scope
from app.reception import services as reception
from app.reception.models import Visit


def visit_json(visit: Visit) -> dict[str, Any]:
    """A reception as the API shows it."""
    return {"id": visit.id, "patient_id": visit.patient_id, "visit_date": iso(visit.visit_date),
            "accepted_at": iso(visit.accepted_at), "acceptance_id": visit.orca_acceptance_id,
            "department_code": visit.department_code, "department_name": visit.department_name,
            "physician_code": visit.physician_code, "physician_name": visit.physician_name, "status": visit.status,
            "source": visit.source}


@bp.get("/reception")
@require_scope("reception.read")
@documented("受付一覧（1日分、受付順）", list_of("Visit"),
            query=DAY)
def reception_list() -> Any:
    """The day's receptions of the clinic, in the order they came; each patient's look is access-logged."""
    session = db_session()
    day = api_query().get("date") or japan_today()
    visits = reception.day_visits(session, partner().clinic_id, day)
    for visit in visits:
        log_access(session, partner_actor(), patient_id=visit.patient_id, action="view", resource="api:reception")
    return listing([visit_json(v) for v in visits])


@bp.get("/patients/<int:patient_id>/visits")
@require_scope("reception.read")
@documented("患者の来院（受付）", list_of("Visit"),
            query=DAY)
def patient_visits(patient_id: int) -> Any:
    """The patient's receptions on a day."""
    found = api_patient(patient_id, "visits")
    day = api_query().get("date") or japan_today()
    return listing([visit_json(v) for v in reception.patient_visits_on(db_session(), partner().clinic_id, found.id,
                                                                        day)])


BOOKING = {"type": "object", "additionalProperties": False, "required": ["patient_id", "department_code"],
           "properties": {"patient_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                          "department_code": {"type": "string", "minLength": 1, "maxLength": 4},
                          "physician_code": {"type": "string", "minLength": 1, "maxLength": 20}}}


@bp.post("/reception")
@require_scope("reception.write")
@documented("今日の受付を登録（Web予約の来院など。ORCAへは送信キュー経由で届きます）", ref("Visit"), status=201,
            body=BOOKING)
def register() -> Any:
    """Register today's reception of a patient, as the clerk's 受付 button does."""
    body = read_body(BOOKING)
    patient = api_patient(body["patient_id"], "reception.register")
    session = db_session()
    clinic = session.get(Clinic, partner().clinic_id)
    try:
        department, physician = reception.chosen_department_and_physician(
            clinic.integrations if clinic else {}, body["department_code"], body.get("physician_code"))
        visit = reception.register_visit(
            session, partner().clinic_id, patient, partner_actor(), department_code=department["code"],
            department_name=department["name"], physician_code=physician["code"], physician_name=physician["name"],
            at=utcnow(), day=japan_today())
    except ValidationError as exc:
        return refused(exc)
    session.commit()
    return jsonify(visit_json(visit)), 201

