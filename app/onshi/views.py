"""The history screen 「薬剤情報（オンライン資格確認）」 with its 診療情報 and 特定健診 tabs, the reply files as
received, reading the consent again from ORCA, and the consent block of the patient page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.paging import page_number
from app.core.timeutil import japan_today
from app.core.web import current_actor, current_clinic, log_look, patient_view, record_file
from app.db import db_session, get_scoped
from app.documents import checkup_trends
from app.onshi import bp, consent, fetching, history
from app.onshi.models import CHECKUP, MEDICATION, HistoryFetch
from app.patients.models import Patient

TABS = {"medication": "薬剤情報", "procedures": "診療情報", "checkups": "特定健診情報"}


@bp.app_template_global()
def onshi_consent_states(patient: Patient) -> list[consent.ConsentState]:
    """The consent block (templates/onshi/_consent.html) of a patient of the logged-in clinic."""
    return consent.consent_states(db_session(), current_user.clinic_id, patient.id)


@bp.get("/patients/<int:patient_id>/onshi")
@patient_view("onshi.read")
def index(patient: Patient):
    """One tab of the history for a period, filtered by institution and drug; fetched or reused as the consent
    allows."""
    tab = request.args.get("tab", "medication")
    if tab not in TABS:
        tab = "medication"
    log_look(patient.id, f"patient.onshi.{tab}")
    db = db_session()
    clinic = current_clinic()
    kind = CHECKUP if tab == "checkups" else MEDICATION
    fetch, problem = fetching.fetch_history(db, clinic, current_actor(), current_user.display_name, patient, kind)
    shown = fetch if fetch is not None and fetch.content else fetching.latest_received(db, clinic.id, patient.id,
                                                                                       kind)
    content = shown.content if shown else None
    today = japan_today()
    months = history.period_of(request.args.get("months"))
    institution = request.args.get("institution", "")[:10]
    drug = request.args.get("drug", "")[:40]
    context = {"patient": patient, "tab": tab, "tabs": TABS, "problem": problem, "fetch": fetch, "shown": shown,
               "pdfs": fetching.pdf_fetches(db, clinic.id, patient.id, kind),
               "months": months, "periods": history.PERIODS, "institution": institution, "drug": drug,
               "institutions": history.institutions(content), "today": today}
    page = page_number(request.args.get("page"))
    if tab == "medication":
        context["groups"], context["page"] = history.medication_months(content, today, months, institution, drug,
                                                                       page)
    elif tab == "procedures":
        context["procedures"], context["page"] = history.procedures(content, today, months, institution, page)
    else:
        context["checkups"] = history.checkups(content, today)
        context["series"] = checkup_trends.charted(context["checkups"])
    return render_template("onshi/index.html", **context)


def _ask_now(patient: Patient, *, pdf: bool):
    """Ask the service now for the history of the form's tab (XML, or the PDF kind) and go back to that tab."""
    tab = request.form.get("tab", "medication")
    tab = tab if tab in TABS else "medication"
    _, problem = fetching.fetch_history(db_session(), current_clinic(), current_actor(), current_user.display_name,
                                        patient, CHECKUP if tab == "checkups" else MEDICATION, again=True, pdf=pdf)
    done = "PDFを受け取りました（受け取ったまま保存しています）" if pdf else "最新の情報を取得しました"
    flash(problem or done, "warning" if problem else "success")
    return redirect(url_for("onshi.index", patient_id=patient.id, tab=tab, _anchor="onshi-pdf" if pdf else None))


@bp.post("/patients/<int:patient_id>/onshi/fetch")
@patient_view("onshi.read")
def fetch_again(patient: Patient):
    """Ask the service again now (the doctor's 再取得), not reusing the reply of this consent window."""
    return _ask_now(patient, pdf=False)


@bp.post("/patients/<int:patient_id>/onshi/pdf")
@patient_view("onshi.read")
def fetch_pdf(patient: Patient):
    """Ask the service now for the PDF of a history (薬剤情報 or 特定健診情報), kept as received and listed."""
    return _ask_now(patient, pdf=True)


@bp.get("/patients/<int:patient_id>/onshi/files/<int:fetch_id>")
@patient_view("onshi.read")
def reply_file(patient: Patient, fetch_id: int):
    """A reply file exactly as received (for the chart's 真正性, and to read an unreadable one); a PDF opens in the
    browser's viewer, an XML is downloaded."""
    fetch = get_scoped(db_session(), HistoryFetch, current_user.clinic_id, fetch_id)
    if fetch is None or fetch.patient_id != patient.id or fetch.reply_body is None:
        abort(404)
    is_pdf = fetch.reply_name.endswith(".pdf") and fetch.reply_body.startswith(b"%PDF-")
    log_look(patient.id, f"patient.onshi.file {fetch.request_id}", action="view" if is_pdf else "export")
    return record_file(fetch.reply_body, "application/pdf" if is_pdf else "application/octet-stream",
                       fetch.reply_name, inline=is_pdf)


@bp.post("/patients/<int:patient_id>/onshi/consent")
@patient_view("onshi.consent")
def refresh_consent(patient: Patient):
    """Read the eligibility result from ORCA again (the card-reader consent is recorded on the way)."""
    db = db_session()
    message = consent.refresh_from_orca(db, current_clinic(), patient)
    db.commit()
    flash(message, "success" if message.endswith("読み直しました") else "warning")
    return redirect(url_for("patients.show", patient_id=patient.id) + "#onshi-consent")
