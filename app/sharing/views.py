"""The 6-information screen: the service's entries beside ours, health checks with trends, the consent."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.clinics.models import Clinic
from app.core.audit import log_access
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import current_actor, patient_or_404
from app.db import db_session
from app.patients.profile_views import sparkline
from app.sharing import bp, records, registration, services
from app.sharing.fhir.mapping import KINDS, MappingError, member_id


@bp.get("/patients/<int:patient_id>/sharing")
@requires("sharing.read")
def index(patient_id: int):
    """The national service's 6 information and health checks beside the clinic's own (with consent only)."""
    patient = patient_or_404(patient_id)
    db = db_session()
    clinic = db.get(Clinic, current_user.clinic_id)
    log_access(db, current_actor(), patient_id=patient.id, action="view", resource="patient.sharing")
    db.commit()
    consent = services.current_consent(db, clinic.id, patient.id)
    view = services.national_view(db, clinic, patient)
    own = {kind: [] for kind in services.ORDER}
    for item in records.own_items(db, clinic, patient, with_resources=False):
        own[item.kind].append(item)
    states = registration.latest_by_subject(db, clinic.id, patient.id)
    changed = registration.changed_registrations(db, clinic.id, patient.id)
    charts = [(series, sparkline([(day, value) for day, value in series.points], min_span=0.1))
              for series in view.checkups]
    try:
        member = member_id(patient)
    except MappingError:
        member = None  # the screen shows the patient cannot be identified at the service
    return render_template("sharing/index.html", patient=patient, consent=consent, view=view, own=own,
                           kinds=KINDS, order=services.ORDER, states=states, changed=changed, charts=charts,
                           member=member,
                           connected=bool(services.settings_of(clinic)), today=japan_today())


@bp.post("/patients/<int:patient_id>/sharing/consent")
@requires("sharing.consent")
def refresh_consent(patient_id: int):
    """Record the consent from the online eligibility result ORCA holds."""
    patient = patient_or_404(patient_id)
    db = db_session()
    clinic = db.get(Clinic, current_user.clinic_id)
    _, message = services.refresh_consent_from_orca(db, clinic, current_actor(), patient,
                                                    recorded_by=current_user.display_name)
    db.commit()
    ok = (message.startswith("同意を記録") or "記録済み" in message) and "過ぎています" not in message
    flash(message, "success" if ok else "warning")
    target = "sharing.index" if current_user.role in ("doctor", "nurse") else "patients.show"
    return redirect(url_for(target, patient_id=patient.id))
