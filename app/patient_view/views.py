"""The patient screen's routes: staff choose and hand over (or print); the locked screen, its ping, its lock page
and the way out with the staff member's password. What a handed-over session may reach is decided in one place,
handover.enforce_handover."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import flow
from app.core.errors import ValidationError
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import current_actor, log_look, patient_or_404
from app.db import db_session
from app.patient_view import bp, handover, services
from app.patient_view.choice import DEFAULT_SECTIONS, SECTIONS, Choice
from app.patient_view.medicines import MEAL_LABELS, TIMES
from app.patient_view.pictograms import pictogram
from app.patient_view.printout import summary_pdf
from app.patient_view.screen import build_screen, offered_letters
from app.patient_view.wording import ruby


def _setup_page(patient, error: ValidationError | None = None, chosen: list[str] | None = None):
    letters = offered_letters(db_session(), current_user.clinic_id, patient.id)
    return render_template("patient_view/setup.html", patient=patient, today=japan_today(), sections=SECTIONS,
                           chosen=chosen if chosen is not None else list(DEFAULT_SECTIONS), letters=letters,
                           error=error), 200 if error is None else 422


def _chosen(patient) -> Choice:
    """The posted choice, checked (a refusal answers the setup page again with its message, 422)."""
    sections = request.form.getlist("sections")
    try:
        return services.choose(db_session(), current_user.clinic_id, patient.id, sections,
                               request.form.get("letter_id"))
    except ValidationError as exc:
        abort(make_response(_setup_page(patient, exc, sections)))


@bp.get("/patients/<int:patient_id>/patient-view")
@requires("patient_view.show")
def setup(patient_id: int):
    """Choose what the patient is shown, then hand the tablet over (or print the same summary)."""
    patient = patient_or_404(patient_id)
    log_look(patient.id, "patient_view.setup")
    return _setup_page(patient)


def _shown(patient_id: int, action: str, resource: str) -> tuple[Any, Choice]:
    """The patient and the posted choice, checked, with the showing (or print-out) in the access log."""
    patient = patient_or_404(patient_id)
    choice = _chosen(patient)
    db = db_session()
    services.record_showing(db, current_actor(), patient.id, choice, action, resource)
    db.commit()
    return patient, choice


@bp.post("/patients/<int:patient_id>/patient-view")
@requires("patient_view.show")
def start(patient_id: int):
    """Hand the tablet over: the showing is logged and the session locked to this patient's screen."""
    patient, choice = _shown(patient_id, "patient_view", "patient_view")
    handover.start(patient.id, choice)
    return redirect(url_for("patient_view.screen"))


@bp.post("/patients/<int:patient_id>/patient-view/print")
@requires("patient_view.show")
def print_summary(patient_id: int):
    """The same summary for the patient on paper (A4, large type)."""
    patient, choice = _shown(patient_id, "print", "patient_view.print")
    screen = build_screen(db_session(), current_user.clinic_id, patient.id, choice, japan_today())
    return Response(summary_pdf(screen, patient, current_user.clinic), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="patient-summary-{patient.id}.pdf"',
                             "Cache-Control": "no-store"})


def _handed_over() -> dict[str, Any]:
    """This session's handover; a session not handed over is sent to the reception list."""
    state = handover.current()
    if state is None:
        abort(redirect(url_for("reception.index")))
    return state


@bp.get("/patient-view")
@requires("patient_view.show")
def screen():
    """The locked patient screen: only the handed-over patient's chosen sections."""
    state = _handed_over()
    patient = patient_or_404(state["patient_id"])
    log_look(patient.id, "patient_view.screen", "patient_view")
    today = japan_today()
    content = build_screen(db_session(), current_user.clinic_id, patient.id, Choice.from_state(state), today)
    return render_template("patient_view/screen.html", patient=patient, today=today, screen=content,
                           sections=SECTIONS, pictogram=pictogram, ruby=ruby, times=TIMES, meals=MEAL_LABELS,
                           idle_seconds=handover.idle_seconds())


@bp.post("/patient-view/ping")
@requires("patient_view.show")
def ping():
    """The patient is still reading (the rule has restarted the screen's clock)."""
    if handover.current() is None:
        return jsonify({"error": "not_handed_over"}), 409
    return jsonify({"status": "ok"})


@bp.get("/patient-view/locked")
@requires("patient_view.show")
def locked():
    """The lock page: nothing of the patient, the staff member's password to end the showing."""
    state = _handed_over()
    return render_template("patient_view/locked.html", timed_out=state.get("timed_out", False))


@bp.post("/patient-view/leave")
@requires("patient_view.show")
def leave():
    """End the showing with the staff member's password (a wrong one counts toward the account's lockout)."""
    _handed_over()
    refused = flow.unlock_with_password(request.form.get("password") or "")
    if refused is not None:
        flash(refused.message, "error")
        return redirect(url_for("auth.login" if refused.account_locked else "patient_view.locked"))
    patient_id = handover.end()
    flash("患者さん用の画面を終了しました", "success")
    return redirect(url_for("patients.show", patient_id=patient_id))
