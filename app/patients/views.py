"""Patient search and the patient's page."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_login import current_user

from app.core.audit import log_access
from app.core.security import requires, role_may
from app.core.timeutil import japan_today
from app.core.web import current_actor, patient_view
from app.db import db_session
from app.patients import bp
from app.patients import services as patients
from app.patients.models import Patient
from app.patients.safety import SafetyBanner, read_banner
from app.patients.summary import build_summary
from app.reception.models import STATUS_LABELS
from app.reception.orca_sync import refresh_patient_if_stale
from app.reception.services import orca_choices

#: How long opening a patient waits for ORCA's newer details before showing what we have.
ORCA_WAIT_SECONDS = 1.0


@bp.app_template_global()
def safety_banner(patient: Patient) -> SafetyBanner:
    """The safety banner of a patient screen (templates/_safety_banner.html): the logged-in clinic's records only;
    other institutions' entries only for the roles that may read the 6 information."""
    return read_banner(db_session(), current_user.clinic_id, patient.id,
                       with_other_institutions=role_may(current_user.role, "sharing.read"))


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
@patient_view("patient.read")
def show(patient: Patient):
    """The patient summary: the patient's home, with the reception and insurance part for every role and, for
    doctors and nurses, what to glance at before the patient sits down (app/patients/summary.py)."""
    db = db_session()
    log_access(db, current_actor(), patient_id=patient.id, action="view", resource="patient.page")
    db.commit()

    # ORCA's newer details (insurance) when ours are old; a slow ORCA costs the summary a second at most, and the
    # summary itself reads only our database.
    warning = refresh_patient_if_stale(db, current_user.clinic, patient, timeout=ORCA_WAIT_SECONDS)
    if warning:
        flash(warning, "warning")
    today = japan_today()
    summary = build_summary(db, current_user.clinic, current_user.role, patient, today)
    departments, physicians = orca_choices(current_user.clinic.integrations)
    return render_template("patients/show.html", patient=patient, today=today, summary=summary,
                           departments=departments, physicians=physicians, status_labels=STATUS_LABELS)
