"""Patient search and the patient's page."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_login import current_user

from app.core.audit import log_access
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import current_actor
from app.db import db_session
from app.patients import bp
from app.patients import services as patients
from app.reception.models import STATUS_LABELS
from app.reception.orca_sync import refresh_patient_if_stale
from app.reception.services import orca_choices, patient_visits_on


@bp.get("/patients")
@requires("patient.read")
def search():
    """Search patients by name (kanji or kana), number, birth date, sex."""
    text = request.args.get("q", "")
    db = db_session()
    results, message = patients.search_patients(db, current_user.clinic_id, text)
    if text.strip():
        log_access(db, current_actor(), patient_id=None, action="search", resource=f"patients?q={text[:100]}")
        db.commit()
    template = "patients/_results.html" if request.args.get("partial") else "patients/search.html"
    return render_template(template, results=results, message=message, q=text, today=japan_today())


@bp.get("/patients/<int:patient_id>")
@requires("patient.read")
def show(patient_id: int):
    """The patient's page: header (name, kana, sex, age, birth date in 和暦 and 西暦, insurance)."""
    db = db_session()
    patient = patients.get_patient(db, current_user.clinic_id, patient_id)
    if patient is None:
        abort(404)
    log_access(db, current_actor(), patient_id=patient.id, action="view", resource="patient.page")
    db.commit()

    warning = refresh_patient_if_stale(db, current_user.clinic, patient)
    if warning:
        flash(warning, "warning")
    departments, physicians = orca_choices(current_user.clinic.integrations)
    return render_template("patients/show.html", patient=patient, today=japan_today(), departments=departments,
                           physicians=physicians,
                           todays_visits=patient_visits_on(db, current_user.clinic_id, patient.id, japan_today()),
                           status_labels=STATUS_LABELS)
