"""Reading the chart (full-chart mode): a patient's timeline with filters and full-text search, and the search
across the clinic (doctors). A paper-chart clinic has none of it: 404."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user

from app.core.audit import log_access
from app.core.errors import ValidationError
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import current_actor, current_clinic, log_look, patient_view
from app.db import db_session
from app.imaging import services as imaging
from app.notes import bp, chart_print, schema, search, timeline
from app.notes.search_text import highlight, parse_query
from app.notes.services import PARTS
from app.patients.models import Patient
from app.patients.services import patient_labels


def full_chart_clinic():
    """The user's clinic when it is in full-chart mode; 404 otherwise (paper-chart clinics have no chart)."""
    clinic = current_clinic()
    if not clinic.is_full_chart_mode:
        abort(404)
    return clinic


def _filter_or_message() -> tuple[timeline.ChartFilter, str]:
    try:
        return timeline.read_filter(request.args), ""
    except ValidationError as exc:
        return timeline.ChartFilter(), exc.message


@bp.get("/patients/<int:patient_id>/chart")
@patient_view("note.read")
def chart(patient: Patient):
    """The patient's chart: notes newest first a page at a time, filtered, or the notes matching `q`."""
    clinic = full_chart_clinic()
    db = db_session()
    chart_filter, message = _filter_or_message()
    query = parse_query(request.args.get("q"))
    if query.is_active:
        page = search.search_notes(db, clinic.id, query, chart_filter, patient_id=patient.id)
    else:
        page = timeline.patient_timeline(db, clinic.id, patient.id, chart_filter)
    image_ids = [i for note in page.notes for i in (note.key_image_ids or [])]
    images = {k.id: k for k in imaging.key_image_versions(db, clinic.id, patient.id, image_ids)}
    drawings = schema.schemas_by_day(db, clinic.id, patient.id, [n.note_date for n in page.notes])
    orders = chart_print.orders_of_days(db, clinic.id, patient.id, {n.note_date for n in page.notes})
    log_look(patient.id, "patient.chart.search" if query.is_active else "patient.chart")
    return render_template("chart/timeline.html", patient=patient, today=japan_today(), page=page,
                           images=images, drawings=drawings, orders=orders, query=query, filter=chart_filter,
                           message=message,
                           authors=timeline.authors(db, clinic.id, patient.id), parts=PARTS, highlight=highlight,
                           choices=timeline.filter_choices(db, clinic.id, patient.id))


@bp.get("/chart/search")
@requires("note.search_clinic")
def clinic_search():
    """Every patient's notes matching `q` (doctors only); each patient shown is a logged look at their record."""
    clinic = full_chart_clinic()
    db = db_session()
    chart_filter, message = _filter_or_message()
    query = parse_query(request.args.get("q"))
    page = search.search_notes(db, clinic.id, query, chart_filter)
    patients = patient_labels(db, current_user.clinic_id, {n.patient_id for n in page.notes})
    actor = current_actor()
    for patient_id in patients:
        log_access(db, actor, patient_id=patient_id, action="search", resource="clinic.chart.search")
    db.commit()
    return render_template("chart/search.html", page=page, patients=patients, query=query, filter=chart_filter,
                           message=message, parts=PARTS, highlight=highlight)
