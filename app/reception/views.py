"""The reception list page, its live-refresh feed and one-touch status changes."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import current_actor, current_clinic
from app.db import db_session, utcnow
from app.patients.services import get_patient
from app.reception import bp
from app.reception import services as reception
from app.reception.models import STATUS_LABELS, STATUS_ORDER
from app.reception.rows import render_rows


def _filter_from_args() -> tuple[reception.VisitFilter, list[str]]:
    errors: list[str] = []
    day = japan_today()
    raw_date = request.args.get("date", "").strip()
    if raw_date:
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            errors.append("日付は YYYY-MM-DD の形式で指定してください。今日の受付を表示しています")
    sort = request.args.get("sort", "time")
    if sort not in reception.SORTS:
        sort = "time"
    status = request.args.get("status") or None
    flt = reception.VisitFilter(
        day=day, sort=sort, descending=request.args.get("order") == "desc",
        department_code=(request.args.get("department") or None),
        physician_code=(request.args.get("doctor") or None),
        status=status if status in STATUS_LABELS else None,
    )
    return flt, errors


@bp.get("/reception")
@requires("reception.read")
def index():
    """Today's (or a chosen day's) 受付一覧."""
    flt, errors = _filter_from_args()
    db = db_session()
    visits = reception.list_visits(db, current_user.clinic_id, flt)
    sync = reception.sync_state(db, current_user.clinic_id, "orca.reception")
    revision = reception.list_revision(db, current_user.clinic_id, flt.day)
    db.commit()  # last: every read above shares one connection checkout (on PostgreSQL a ping and a BEGIN each)
    physicians = sorted({(v.physician_code, v.physician_name) for v in visits if v.physician_code})
    return render_template("reception/index.html", visits=visits, flt=flt, errors=errors, sync=sync,
                           status_labels=STATUS_LABELS, status_order=STATUS_ORDER, physicians=physicians,
                           revision=revision, today=japan_today(), render_rows=render_rows)


@bp.get("/reception/revision")
@requires("reception.read")
def revision():
    """A fingerprint of the day's list: the page polls it and reloads its table when it changes. The fingerprint is
    also the ETag, so a tablet polling with If-None-Match gets an empty 304 while nothing changed."""
    flt, _errors = _filter_from_args()
    value = reception.list_revision(db_session(), current_user.clinic_id, flt.day)
    response = jsonify({"revision": value})
    response.set_etag(value)
    return response.make_conditional(request)


@bp.post("/reception/visits/<int:visit_id>/status")
@requires("reception.write")
def change_status(visit_id: int):
    """Move a visit to a given state (API-style: the visit in the URL, the state in the form)."""
    return _apply_status(visit_id, request.form.get("status", ""))


@bp.post("/reception/status")
@requires("reception.write")
def step_status():
    """One touch in the list: the pressed button says which visit moves to which state ("12:in_exam")."""
    visit_id, _, status = (request.form.get("transition") or "").partition(":")
    if not visit_id.isdigit():
        abort(400)
    return _apply_status(int(visit_id), status)


def _apply_status(visit_id: int, status: str):
    db = db_session()
    visit = reception.get_visit(db, current_user.clinic_id, visit_id)
    if visit is None:
        abort(404)
    try:
        reception.change_status(db, visit, status, current_actor())
    except ValidationError as exc:
        db.rollback()
        flash(exc.message, "error")
    else:
        db.commit()
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/reception") and not back.startswith("//") else url_for("reception.index"))


@bp.post("/patients/<int:patient_id>/visits")
@requires("reception.write")
def register(patient_id: int):
    """A clerk registers today's reception for a patient; ORCA hears of it through the outbox."""

    db = db_session()
    patient = get_patient(db, current_user.clinic_id, patient_id)
    if patient is None:
        abort(404)
    clinic = current_clinic()
    try:
        department, physician = reception.chosen_department_and_physician(
            clinic.integrations if clinic else {}, request.form.get("department_code"),
            request.form.get("physician_code"))
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("patients.show", patient_id=patient_id))

    reception.register_visit(db, current_user.clinic_id, patient, current_actor(),
                             department_code=department["code"], department_name=department["name"],
                             physician_code=physician["code"], physician_name=physician["name"],
                             at=utcnow(), day=japan_today())
    db.commit()
    flash(f"{patient.name} さんを受付しました（ORCAへ送信します）", "success")
    return redirect(url_for("reception.index"))
