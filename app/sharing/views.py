"""The 6-information screen: the service's entries beside ours, health checks with trends, the consent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.audit import log_access
from app.core.paging import Page, page_number, page_of_two
from app.core.timeutil import japan_today
from app.core.web import current_actor, current_clinic, patient_view
from app.db import db_session
from app.patients.models import Patient
from app.patients.profile_views import sparkline
from app.sharing import adoption, bp, records, services, withholding
from app.sharing.fhir.mapping import KINDS, MappingError, member_id

#: Rows of one 6情報 section on one page (a year of lab results is hundreds).
SECTION_ROWS = 20


@bp.get("/patients/<int:patient_id>/sharing")
@patient_view("sharing.read")
def index(patient: Patient):
    """The national service's 6 information and health checks beside the clinic's own (with consent only)."""
    db = db_session()
    clinic = current_clinic()
    log_access(db, current_actor(), patient_id=patient.id, action="view", resource="patient.sharing")
    db.commit()
    consent = services.current_consent(db, clinic.id, patient.id)
    view = services.national_view(db, clinic, patient)
    db.commit()  # the copy of other institutions' entries the safety banner reads
    own = {kind: [] for kind in services.ORDER}
    for item in records.own_items(db, clinic, patient, with_resources=False):
        own[item.kind].append(item)
    # Each section is paged (its count always shown); the section whose page was asked for opens at that page.
    opened = request.args.get("section", "")
    pages, shown = {}, {}
    for kind in services.ORDER:
        national = view.entries.get(kind, [])
        pages[kind] = Page(page_number(request.args.get("page")) if kind == opened else 1,
                           len(national) + len(own[kind]), SECTION_ROWS)
        shown[kind] = page_of_two(national, own[kind], pages[kind])
    states = records.latest_by_subject(db, clinic.id, patient.id)
    changed = records.changed_registrations(db, clinic.id, patient.id)
    charts = [(series, sparkline([(day, value) for day, value in series.points], min_span=0.1))
              for series in view.checkups]
    try:
        member = member_id(patient)
    except MappingError:
        member = None  # the screen shows the patient cannot be identified at the service
    return render_template("sharing/index.html", patient=patient, consent=consent, view=view, own=own,
                           kinds=KINDS, order=services.ORDER, states=states, changed=changed, charts=charts,
                           pages=pages, shown=shown, opened=opened,
                           member=member, connected=bool(services.settings_of(clinic)), today=japan_today(),
                           copies={(c.entry_key): c for c in services.national_copies(db, clinic.id, patient.id)},
                           decisions=adoption.decisions_by_key(db, clinic.id, patient.id),
                           withheld=withholding.withheld_lineages(db, clinic.id, patient.id))


@bp.post("/patients/<int:patient_id>/sharing/consent")
@patient_view("sharing.consent")
def refresh_consent(patient: Patient):
    """Record the consent from the online eligibility result ORCA holds."""
    db = db_session()
    clinic = current_clinic()
    _, message = services.refresh_consent_from_orca(db, clinic, current_actor(), patient,
                                                    recorded_by=current_user.display_name)
    db.commit()
    ok = (message.startswith("同意を記録") or "記録済み" in message) and "過ぎています" not in message
    flash(message, "success" if ok else "warning")
    target = "sharing.index" if current_user.role in ("doctor", "nurse") else "patients.show"
    return redirect(url_for(target, patient_id=patient.id))


def _back(patient_id: int) -> str:
    """Where to return after a decision: the patient screen it was made on (only a path of this patient)."""
    target, base = request.form.get("next", ""), f"/patients/{patient_id}"
    if (target == base or target.startswith(base + "/")) and "//" not in target and "\\" not in target:
        return target
    return url_for("sharing.index", patient_id=patient_id)


def _entry_or_404(patient: Patient, entry_id: int) -> Any:
    """One stored entry of another institution about the patient (404 otherwise)."""
    entry = adoption.get_entry(db_session(), current_user.clinic_id, patient.id, entry_id)
    if entry is None:
        abort(404)
    return entry


def _own_or_404(patient: Patient, subject_type: str, item_id: int) -> Any:
    """One of the patient's records that can be marked 共有しない (404 otherwise)."""
    record = withholding.get_withholdable(db_session(), current_user.clinic_id, patient.id, subject_type, item_id)
    if record is None:
        abort(404)
    return record


def _decided(patient_id: int, action: Callable[[], object], done: str) -> Any:
    """Run a doctor's decision in the request's transaction: commit and say `done`, or roll back and say why."""
    db = db_session()
    try:
        action()
    except (adoption.AdoptionError, withholding.WithholdingError) as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        db.commit()
        flash(done, "success")
    return redirect(_back(patient_id))


@bp.post("/patients/<int:patient_id>/sharing/entries/<int:entry_id>/adopt")
@patient_view("sharing.adopt")
def adopt(patient: Patient, entry_id: int):
    """Take another institution's allergy, 薬剤禁忌 or diagnosis into our record."""
    entry = _entry_or_404(patient, entry_id)
    return _decided(patient.id, lambda: adoption.adopt_entry(db_session(), current_actor(), patient, entry),
                    f"他院の情報「{entry.title}」を当院の記録に取り込みました")


@bp.post("/patients/<int:patient_id>/sharing/entries/<int:entry_id>/dismiss")
@patient_view("sharing.adopt")
def dismiss(patient: Patient, entry_id: int):
    """Decide not to take another institution's entry into our record (with a reason)."""
    entry = _entry_or_404(patient, entry_id)
    reason = request.form.get("reason", "")
    return _decided(patient.id, lambda: adoption.dismiss_entry(db_session(), current_actor(), entry, reason),
                    f"他院の情報「{entry.title}」は取り込まないことにしました")


@bp.post("/patients/<int:patient_id>/sharing/own/<subject_type>/<int:item_id>/withhold")
@patient_view("sharing.withhold")
def withhold(patient: Patient, subject_type: str, item_id: int):
    """Mark one of our records 共有しない (and take it back from the service if it is held there)."""
    record = _own_or_404(patient, subject_type, item_id)
    reason = request.form.get("reason", "")
    return _decided(patient.id, lambda: withholding.withhold_record(db_session(), current_actor(), record, reason),
                    "「共有しない」にしました。電子カルテ情報共有サービスには登録されません")


@bp.post("/patients/<int:patient_id>/sharing/own/<subject_type>/<int:item_id>/share")
@patient_view("sharing.withhold")
def share_again(patient: Patient, subject_type: str, item_id: int):
    """Set a record marked 共有しない back to 共有する (it is then registered with the service as any record)."""
    record = _own_or_404(patient, subject_type, item_id)
    return _decided(patient.id, lambda: withholding.share_again(db_session(), current_actor(), record),
                    "「共有する」に戻しました。電子カルテ情報共有サービスに登録します")
