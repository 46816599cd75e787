"""Drug master search for every screen that picks a drug, and a patient's prescriptions: write with checks,
issue, show, cancel."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.paging import page_number
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import committed, current_actor, flashed, log_look, patient_view, record_file
from app.db import db_session
from app.integrations.eprescription.client import EPrescriptionError
from app.integrations.eprescription.signing import SigningError
from app.patients.models import Patient
from app.prescriptions import billing, bp, checking, checks, eprescription, services
from app.prescriptions.drug_master import search_drugs
from app.prescriptions.models import ISSUE_MODES
from app.prescriptions.printing import prescription_pdf, symbol_notices
from app.prescriptions.usage import DOSE_BASIS, coded_usages, dose_words, times_a_day
from app.printing.rx_lines import quantity_words
from app.printing.rx_symbol import SymbolTextError
from app.sharing import withholding

MAX_QUERY = 100
# Every prescription screen says the dose as the printed form does (1日1錠 / 1回1錠), never a bare number.
bp.add_app_template_global(dose_words, "dose_words")
bp.add_app_template_global(times_a_day, "times_a_day")
bp.add_app_template_global(quantity_words, "quantity_words")


@bp.get("/masters/drugs")
@requires("masters.read")
def drugs():
    """JSON: products matching ?q= (name, kana in any form, or 一般名), in use only."""
    text = request.args.get("q", "")[:MAX_QUERY]
    hits = search_drugs(db_session(), text, limit=20)
    return jsonify({"q": text, "items": [asdict(h) for h in hits]})


# --- prescriptions of a patient ------------------------------------------------------------------------



def _render_order(patient, draft: services.Draft, report: checking.CheckReport | None = None, status: int = 200):
    return render_template("prescriptions/order.html", patient=patient, draft=draft, report=report,
                           usages=coded_usages(), forms=services.FORM_LABELS, dose_basis=DOSE_BASIS,
                           today=japan_today(),
                           electronic_available=eprescription.is_available(current_user.clinic),
                           issue_modes=ISSUE_MODES, consents=eprescription.CONSENT_LABELS,
                           remote_signing=eprescription.remote_signing_state(db_session(), current_user.clinic,
                                                                             current_user.id),
                           max_lines=services.MAX_LINES, max_rps=services.MAX_RPS), status


def _prescription_or_404(patient: Patient, prescription_id: int):
    """One of the patient's prescriptions in this clinic, or 404."""
    prescription = services.get_prescription(db_session(), current_user.clinic_id, patient.id, prescription_id)
    if prescription is None:
        abort(404)
    return prescription


def _shown(prescription) -> str:
    """The page of one prescription (where its buttons come back to)."""
    return url_for("prescriptions.show", patient_id=prescription.patient_id, prescription_id=prescription.id)


def _acknowledgements(form) -> dict[str, str]:
    """Ticked findings (ack) and the reason typed for each (ack_reason_<key>)."""
    return {key: form.get(f"ack_reason_{key}", "") for key in form.getlist("ack")}


@bp.get("/patients/<int:patient_id>/prescriptions")
@patient_view("patient.read", look="patient.prescriptions")
def index(patient: Patient):
    """The patient's prescriptions, newest first and paged with their count, with Do処方 and new."""
    items, page = services.list_prescriptions(db_session(), current_user.clinic_id, patient.id,
                                              page_number(request.args.get("page")))
    return render_template("prescriptions/index.html", patient=patient, prescriptions=items, today=japan_today(),
                           page=page,
                           withheld=withholding.withheld_lineages(db_session(), current_user.clinic_id, patient.id))


@bp.get("/patients/<int:patient_id>/prescriptions/new")
@patient_view("prescription.write", look="patient.prescriptions.new")
def new(patient: Patient):
    """An empty order form, or a copy of an earlier prescription (?from=ID: Do処方)."""
    source_id = request.args.get("from", type=int)
    draft = services.Draft(mode=eprescription.default_mode(current_user.clinic, patient))
    if source_id:
        source = services.get_prescription(db_session(), current_user.clinic_id, patient.id, source_id)
        if source is None:
            abort(404)
        draft = services.draft_from_prescription(source)
        if request.args.get("replace") and source.status == "cancelled":
            draft.replaces_id = source.id
    return _render_order(patient, draft)


@bp.post("/patients/<int:patient_id>/prescriptions/new")
@patient_view("prescription.write")
def order(patient: Patient):
    """The order form's buttons: add an Rp or a line, run the checks, or issue (after acknowledging them)."""
    draft = services.draft_from_form(request.form)
    action = request.form.get("action", "check")
    if action == "add_rp" and len(draft.rps) < services.MAX_RPS:
        draft.rps.append(services.DraftRp())
        return _render_order(patient, draft)
    if action.startswith("add_line_"):
        index = int(action.removeprefix("add_line_")) if action.removeprefix("add_line_").isdigit() else -1
        if 0 <= index < len(draft.rps) and len(draft.rps[index].lines) < services.MAX_LINES:
            draft.rps[index].lines.append(services.DraftLine())
        return _render_order(patient, draft)
    db = db_session()
    services.validate_draft(db, draft)
    if draft.mode in eprescription.ISSUE_TYPES and not eprescription.is_available(current_user.clinic):
        draft.errors.append("電子処方箋管理サービスの接続が設定されていないため、登録する発行方法は選べません")
    if draft.has_errors:
        return _render_order(patient, draft, status=422)
    if action != "issue":
        return _render_order(patient, draft, checking.check_prescription(db, current_user.clinic, patient, draft))
    try:
        prescription = checking.issue_prescription(db, current_user.clinic, current_actor(), patient, draft,
                                                   _acknowledgements(request.form))
    except checking.ChecksNotAcknowledged as exc:
        db.rollback()
        draft.errors.append(str(exc))
        return _render_order(patient, draft, exc.report, status=422)
    except services.PrescriptionError as exc:
        db.rollback()
        draft.errors.append(str(exc))
        return _render_order(patient, draft, status=422)
    try:
        signer = (eprescription.signer_for(db, current_user.clinic, current_user.id, current_app.instance_path)
                  if draft.mode == "electronic" else None)
        eprescription.register(db, current_user.clinic, prescription, patient, signer)
    except (SigningError, ValidationError, EPrescriptionError) as exc:  # nothing issued, nothing registered
        db.rollback()
        reason = getattr(exc, "message_ja", str(exc))
        draft.errors.append(f"電子処方箋管理サービスに登録できないため、発行していません: {reason}")
        return _render_order(patient, draft, status=422)
    billing.queue_billing(db, current_user.clinic, prescription)
    db.commit()
    flash(f"処方箋を発行しました（引換番号 {prescription.exchange_number}）" if prescription.exchange_number else
          "処方箋を発行しました。引換番号は電子処方箋管理サービスへの登録が済みしだい表示されます"
          if draft.mode in eprescription.ISSUE_TYPES else "処方箋を発行しました", "success")
    return redirect(_shown(prescription))


@bp.get("/patients/<int:patient_id>/prescriptions/<int:prescription_id>")
@patient_view("patient.read")
def show(patient: Patient, prescription_id: int):
    """One prescription as issued, with the checks that were acknowledged, print and cancel."""
    prescription = _prescription_or_404(patient, prescription_id)
    log_look(patient.id, f"prescription:{prescription.id}")
    return render_template("prescriptions/show.html", patient=patient, prescription=prescription,
                           today=japan_today(), forms=services.FORM_LABELS, severity_labels=checks.SEVERITY_LABELS,
                           billing_labels=billing.STATUS_LABELS, issue_modes=ISSUE_MODES,
                           consents=eprescription.CONSENT_LABELS,
                           billing_waiting=billing.waiting_reason(db_session(), prescription),
                           can_print="prescriptions.print_pdf" in current_app.view_functions,
                           symbol_notices=symbol_notices(prescription, patient, current_user.clinic),
                           sharing_mark_row=withholding.mark_of(db_session(), prescription))


@bp.post("/patients/<int:patient_id>/prescriptions/<int:prescription_id>/cancel")
@patient_view("prescription.write")
def cancel(patient: Patient, prescription_id: int):
    """Cancel an issued prescription; "取り消して修正" then opens a copy to issue anew."""
    prescription = _prescription_or_404(patient, prescription_id)

    def cancel_everywhere() -> None:
        db = db_session()
        services.cancel(db, current_user.clinic_id, current_actor(), prescription, request.form.get("reason", ""))
        eprescription.queue_cancellation(db, current_user.clinic, prescription)
        billing.queue_billing_delete(db, current_user.clinic, prescription)

    committed(cancel_everywhere, lambda exc: flashed(str(exc), _shown(prescription)), services.PrescriptionError)
    flash("処方箋を取り消しました（記録は残ります）", "success")
    if request.form.get("then") == "reissue":
        return redirect(url_for("prescriptions.new", patient_id=patient.id, **{"from": prescription.id},
                                replace=1))
    return redirect(_shown(prescription))


@bp.get("/patients/<int:patient_id>/prescriptions/<int:prescription_id>/print.pdf")
@patient_view("patient.read")
def print_pdf(patient: Patient, prescription_id: int):
    """The 院外処方箋 as a PDF (?paper=A4 for A4), or the service's 処方内容（控え） of a 電子処方箋; the print is
    logged."""
    prescription = _prescription_or_404(patient, prescription_id)
    if prescription.status != "issued":
        flash("取り消した処方箋は印刷できません", "error")
        return redirect(_shown(prescription))
    if prescription.mode in eprescription.ISSUE_TYPES and not prescription.exchange_number:
        flash("引換番号がまだ届いていないため、印刷できません", "warning")
        return redirect(_shown(prescription))
    paper = "A4" if request.args.get("paper") == "A4" else "A5"
    try:
        pdf = (eprescription.reference_pdf(current_user.clinic, prescription) if prescription.mode == "electronic"
               else prescription_pdf(db_session(), prescription, patient, current_user.clinic, paper))
    except (ValidationError, SymbolTextError, EPrescriptionError) as exc:
        flash(f"印刷できません: {getattr(exc, 'message_ja', exc)}", "error")
        return redirect(_shown(prescription))
    log_look(patient.id, f"prescription:{prescription.id}", "print")
    name = f"prescription-{prescription.issued_on.isoformat()}-{prescription.id}.pdf"
    return record_file(pdf, "application/pdf", name, inline=True)


@bp.post("/patients/<int:patient_id>/prescriptions/<int:prescription_id>/service-state")
@patient_view("patient.read")
def service_state(patient: Patient, prescription_id: int):
    """Read the prescription's state at the pharmacy and its dispensing result from the 電子処方箋管理サービス."""
    prescription = _prescription_or_404(patient, prescription_id)
    db = db_session()
    try:
        eprescription.refresh_state(db, current_user.clinic, prescription)
    except EPrescriptionError as exc:
        db.rollback()
        flash(f"状況を取得できません: {exc.message_ja}", "error")
    else:
        log_look(patient.id, f"prescription:{prescription.id}:service-state")
        flash(f"電子処方箋管理サービスの状況: {prescription.pharmacy_state}", "success")
    return redirect(_shown(prescription))
