"""Referral letter screens: list (ours and received), write with 自動引用, edit a draft, confirm, print (PDF),
mark sent, share electronically, download the FHIR document, read a received letter."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.paging import page_number
from app.core.timeutil import japan_today
from app.core.web import committed, current_actor, current_clinic, flashed, found, log_look, patient_view, record_file
from app.db import db_session
from app.documents import addressing, bp, checkup, checkup_trends, discharge, printing, services
from app.documents.models import DRAFT, HONORIFICS
from app.patients.models import Patient
from app.sharing import sources
from app.sharing.fhir.mapping import MappingError, member_id
from app.sharing.fhir.validation import FhirValidationError


def _letter_or_404(patient, letter_id: int):
    return found(services.get_letter(db_session(), current_user.clinic_id, patient.id, letter_id))



@bp.get("/patients/<int:patient_id>/letters")
@patient_view("letter.read", look="patient.letters")
def index(patient: Patient):
    """The patient's referral letters with their states, and letters received from other institutions."""
    db = db_session()
    clinic = current_clinic()
    received, problem = services.received_documents(db, clinic, patient)
    letters, page = services.list_letters(db, clinic.id, patient.id, page_number(request.args.get("page")))
    return render_template("documents/index.html", patient=patient, letters=letters, page=page, received=received,
                           received_problem=problem, today=japan_today())


@bp.get("/patients/<int:patient_id>/letters/new")
@patient_view("letter.write", look="patient.letters.new")
def new(patient: Patient):
    """A new letter with the record pulled in (自動引用), ready to edit."""
    db = db_session()
    values = services.quoted_from_record(db, current_user.clinic_id, patient.id)
    images = sources.key_images_for(db, current_user.clinic_id, patient.id)
    return _form(patient, values, {}, None, images, [i.id for i in images])


def _form(patient, values, errors, letter, images, chosen, status: int = 200):
    """The letter form; `images` are the patient's key images to choose from, `chosen` the ticked ids; the address
    book's entries in use (and the letter's own entry, even if retired since) to fill the 紹介先 from."""
    destinations = addressing.offered_destinations(db_session(), current_user.clinic_id,
                                                   letter.destination_id if letter else None)
    return render_template("documents/form.html", patient=patient, values=values, errors=errors, letter=letter,
                           fields=services.FIELDS, today=japan_today(), key_images=images,
                           chosen_images=set(chosen), destinations=destinations,
                           honorifics=HONORIFICS), status


@bp.post("/patients/<int:patient_id>/letters")
@patient_view("letter.write")
def create(patient: Patient):
    """Save a new draft."""
    return _save(patient, None)


def _save(patient, letter):
    """Create (`letter` None) or change a draft from the posted form; on refusal the form again with its messages
    (the patient's key images are read only then: on success read_key_image_ids has checked the choice)."""
    db = db_session()
    values = services.read_form(request.form)
    chosen: list[int] = []

    def save_it() -> str:
        nonlocal values, chosen, letter
        values = services.with_destination(db, current_user.clinic_id, values, request.form.get("destination_id"),
                                           letter)
        chosen = services.read_key_image_ids(db, current_user.clinic_id, patient.id, request.form)
        if letter is None:
            letter = services.create_letter(db, current_user.clinic_id, current_actor(), patient.id, values, chosen)
            return "紹介状を下書き保存しました。内容を確認して確定してください"
        services.update_letter(db, current_actor(), letter, values, chosen)
        return "紹介状を保存しました"

    def refused(exc: services.LetterError):
        images = sources.key_images_for(db, current_user.clinic_id, patient.id)
        return _form(patient, values, exc.errors, letter, images, chosen, 422)

    flash(committed(save_it, refused, services.LetterError), "success")
    return redirect(url_for("documents.show", patient_id=patient.id, letter_id=letter.id))


@bp.get("/patients/<int:patient_id>/letters/<int:letter_id>")
@patient_view("letter.read")
def show(patient: Patient, letter_id: int):
    """One letter with its states (sent, printed, shared, read)."""
    letter = _letter_or_404(patient, letter_id)
    db = db_session()
    note = services.refresh_read_state(db, letter)
    log_look(patient.id, f"letter:{letter.id}")
    attached = sources.key_images_by_id(db, current_user.clinic_id, patient.id, letter.key_image_ids or [])
    return render_template("documents/show.html", patient=patient, letter=letter, note=note, today=japan_today(),
                           attached_images=attached, addressee=addressing.addressee(letter.to_doctor, letter.honorific))


@bp.route("/patients/<int:patient_id>/letters/<int:letter_id>/edit", methods=["GET", "POST"])
@patient_view("letter.write")
def edit(patient: Patient, letter_id: int):
    """Edit a draft."""
    letter = _letter_or_404(patient, letter_id)
    if request.method == "POST":
        return _save(patient, letter)
    log_look(patient.id, f"letter:{letter.id}")
    values = {name: getattr(letter, name) for name in (*services.FIELDS, "honorific", "destination_id")}
    images = sources.key_images_for(db_session(), current_user.clinic_id, patient.id)
    return _form(patient, values, {}, letter, images, letter.key_image_ids or [])


@bp.post("/patients/<int:patient_id>/letters/<int:letter_id>/<any(confirm, sent, share):action>")
@patient_view("letter.write")
def act(patient: Patient, letter_id: int, action: str):
    """Confirm a draft, mark a letter sent (handed over or posted), or share it electronically."""
    letter = _letter_or_404(patient, letter_id)
    db = db_session()
    back = url_for("documents.show", patient_id=patient.id, letter_id=letter.id)

    def do_it() -> str:
        if action == "confirm":
            services.confirm_letter(db, current_actor(), letter)
            return "紹介状を確定しました"
        if action == "sent":
            services.mark(db, current_actor(), letter, "sent")
            return "送付済みにしました"
        services.queue_share(db, current_actor(), letter)
        return "電子カルテ情報共有サービスへの共有を受け付けました（送信は自動で行われます）"

    flash(committed(do_it, lambda exc: flashed(next(iter(exc.errors.values())), back), services.LetterError),
          "success")
    return redirect(back)


@bp.get("/patients/<int:patient_id>/letters/<int:letter_id>/pdf")
@patient_view("letter.read")
def pdf(patient: Patient, letter_id: int):
    """The letter as a PDF in the MHLW layout (a confirmed letter's first print is recorded)."""
    letter = _letter_or_404(patient, letter_id)
    db = db_session()
    clinic = current_clinic()
    images = sources.key_images_by_id(db, current_user.clinic_id, patient.id, letter.key_image_ids or [])
    body = printing.kept_letter_pdf(db, letter, patient, clinic, images=images)
    if letter.status != DRAFT:
        services.mark(db, current_actor(), letter, "printed")
    log_look(patient.id, f"letter:{letter.id}", "print")
    return record_file(body, "application/pdf", f"referral-{letter.id}.pdf", inline=True)


@bp.get("/patients/<int:patient_id>/letters/<int:letter_id>/fhir")
@patient_view("letter.read")
def fhir(patient: Patient, letter_id: int):
    """The letter's FHIR document (Bundle type document) to download."""
    letter = _letter_or_404(patient, letter_id)
    db = db_session()
    try:
        bundle = services.build_document(db, letter)
    except (MappingError, FhirValidationError) as exc:
        flash(f"FHIR文書を作れません: {exc}", "error")
        return redirect(url_for("documents.show", patient_id=patient.id, letter_id=letter.id))
    log_look(patient.id, f"letter:{letter.id}:fhir", "export")
    return record_file(json.dumps(bundle, ensure_ascii=False, indent=1), "application/fhir+json",
                       f"referral-{letter.id}.json")


@bp.get("/patients/<int:patient_id>/letters/received/<document_id>")
@patient_view("letter.read")
def received(patient: Patient, document_id: str):
    """Read a document another institution sent or registered about this patient: a letter as its sections, a
    退院時サマリー read whole (or shown as unreadable with the reasons)."""
    bundle = _received_or_redirect(patient, document_id)
    if not isinstance(bundle, dict):
        return bundle
    log_look(patient.id, f"received:{document_id[:100]}")
    if discharge.is_discharge_summary(bundle):
        summary, reasons = None, []
        try:
            summary = discharge.read_discharge_summary(bundle, member_id(patient))
        except discharge.UnreadableDocument as exc:
            reasons = exc.reasons
        return render_template("documents/discharge.html", patient=patient, summary=summary, reasons=reasons,
                               document_id=document_id, today=japan_today()), 200
    if checkup.is_checkup_report(bundle):
        report, series, reasons = None, {}, []
        try:
            db = db_session()
            report, series = checkup_trends.report_with_trends(db, current_clinic(), patient,
                                                               document_id[:120], bundle)
        except discharge.UnreadableDocument as exc:
            reasons = exc.reasons
        return render_template("documents/checkup.html", patient=patient, report=report, series=series,
                               reasons=reasons, today=japan_today())
    composition = bundle["entry"][0]["resource"]
    return render_template("documents/received.html", patient=patient, composition=composition,
                           sections=services.section_texts(bundle), today=japan_today())


@bp.get("/patients/<int:patient_id>/letters/received/<document_id>/attachments/<int:number>")
@patient_view("letter.read")
def received_attachment(patient: Patient, document_id: str, number: int):
    """One attachment of a received 退院時サマリー: shown in the browser when it is text, PDF or an image, else
    downloaded."""
    bundle = _received_or_redirect(patient, document_id)
    if not isinstance(bundle, dict):
        return bundle
    try:
        summary = discharge.read_discharge_summary(bundle, member_id(patient))
    except discharge.UnreadableDocument:
        abort(404)
    if not 1 <= number <= len(summary.attachments):
        abort(404)
    attachment = summary.attachments[number - 1]
    log_look(patient.id, f"received:{document_id[:100]}:attachment:{number}", "export")
    disposition = "inline" if attachment.is_shown else "attachment"
    return Response(attachment.data, mimetype=attachment.content_type if attachment.is_shown
                    else "application/octet-stream",
                    headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.title)}",
                             "Cache-Control": "no-store", "Content-Security-Policy": "sandbox"})


def _received_or_redirect(patient, document_id: str):
    """The received document's bundle, or the response that says why it cannot be had (404 for another patient's)."""
    db = db_session()
    clinic = current_clinic()
    try:
        return services.fetch_received(db, clinic, patient, document_id[:120])
    except (services.LetterError, MappingError) as exc:
        message = next(iter(exc.errors.values())) if isinstance(exc, services.LetterError) else str(exc)
        if message == "この患者の文書ではありません":
            abort(404)
        flash(message, "error")
        return redirect(url_for("documents.index", patient_id=patient.id))
