"""経過記録 screens (full-chart mode): the chart of day notes, writing today's SOAP note, its history, and the
two ways other screens feed it (lab results copied into O, key images attached)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import committed, current_actor, current_clinic, flashed, found, log_look, patient_or_404
from app.db import db_session
from app.imaging import services as imaging
from app.labs import results as lab_results
from app.notes import bp, services


def _day_or_404(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(404)



@bp.get("/patients/<int:patient_id>/notes")
@requires("note.read")
def index(patient_id: int):
    """The patient's day notes, newest first, with the key images each attached."""
    patient = patient_or_404(patient_id)
    clinic = current_clinic()
    db = db_session()
    notes = services.chart(db, clinic.id, patient.id) if clinic.is_full_chart_mode else []
    images = {note.id: services.attached_images(db, clinic.id, note) for note in notes}
    log_look(patient.id, "patient.notes")
    return render_template("notes/index.html", patient=patient, today=japan_today(), notes=notes, images=images,
                           full_chart=clinic.is_full_chart_mode, parts=services.PARTS)


@bp.get("/patients/<int:patient_id>/notes/<day>/edit")
@requires("note.write")
def edit(patient_id: int, day: str):
    """Write or continue the note of a day (today unless the doctor opened an earlier day)."""
    patient = patient_or_404(patient_id)
    clinic = current_clinic()
    if not clinic.is_full_chart_mode:
        return redirect(url_for("notes.index", patient_id=patient.id))
    when = _day_or_404(day)
    db = db_session()
    note = services.current_note(db, clinic.id, patient.id, when)
    log_look(patient.id, "patient.notes.edit")
    return _render_form(patient, when, note, services.NoteContent.of(note), reason="", errors={})


def _render_form(patient, when: date, note, content: services.NoteContent, *, reason: str,
                 errors: dict[str, str], status: int = 200):
    db = db_session()
    attached = imaging.key_image_versions(db, current_user.clinic_id, patient.id, content.key_image_ids)
    attached_ids = {k.id for k in attached}
    available = [k for k in imaging.current_key_images(db, current_user.clinic_id, patient.id)
                 if k.id not in attached_ids]
    return render_template("notes/edit.html", patient=patient, today=japan_today(), day=when, note=note,
                           content=content, attached=attached, available=available, reason=reason, errors=errors,
                           parts=services.PARTS), status


@bp.post("/patients/<int:patient_id>/notes/<day>")
@requires("note.write")
def save(patient_id: int, day: str):
    """Save the day's note as a new version (the earlier one stays in the history)."""
    patient = patient_or_404(patient_id)
    when = _day_or_404(day)
    form = request.form
    try:
        base_version = int(form.get("base_version") or "0")
        image_ids = [int(i) for i in form.getlist("key_image_ids")]
    except ValueError:
        abort(400)
    content = services.NoteContent(*(form.get(name, "") for name, _label in services.PARTS),
                                   key_image_ids=image_ids)
    db = db_session()
    note = committed(lambda: services.save_note(db, current_clinic(), current_actor(), patient, when, content,
                                                base_version=base_version, today=japan_today(),
                                                reason=form.get("change_reason", "")),
                     lambda exc: _render_form(patient, when,
                                              services.current_note(db, current_user.clinic_id, patient.id, when),
                                              content, reason=form.get("change_reason", ""), errors=exc.errors,
                                              status=422))
    flash(f"{when:%Y/%m/%d} の経過記録を保存しました（第{note.version}版）", "success")
    return redirect(url_for("notes.index", patient_id=patient.id) + f"#note-{note.note_date.isoformat()}")


@bp.get("/patients/<int:patient_id>/notes/versions/<int:note_id>")
@requires("note.read")
def history(patient_id: int, note_id: int):
    """Every version of one day's note: who saved it when, why, and what it said."""
    patient = patient_or_404(patient_id)
    db = db_session()
    note = found(services.get_note(db, current_user.clinic_id, patient.id, note_id))
    versions = services.history(db, current_user.clinic_id, patient.id, note.lineage_id or note.id)
    images = {v.id: services.attached_images(db, current_user.clinic_id, v) for v in versions}
    previous = [None, *versions[:-1]]
    changed = {v.id: services.changed_parts(before, v) for before, v in zip(previous, versions, strict=True)}
    log_look(patient.id, "patient.notes.history")
    return render_template("notes/history.html", patient=patient, today=japan_today(), versions=versions,
                           images=images, changed=changed, parts=services.PARTS, day=note.note_date)


@bp.post("/patients/<int:patient_id>/notes/today/lab-results")
@requires("note.write")
def copy_lab_results(patient_id: int):
    """Copy the chosen results (days, and tests when any are chosen) to the end of O in today's note."""
    patient = patient_or_404(patient_id)
    days = []
    for raw in request.form.getlist("days"):
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            abort(400)
    codes = [code[:16] for code in request.form.getlist("lab_codes")]
    db = db_session()
    text = lab_results.results_as_text(db, current_user.clinic_id, patient.id, days, codes)
    note = committed(lambda: services.append_to_objective(db, current_clinic(), current_actor(), patient, text,
                                                          today=japan_today()),
                     lambda exc: flashed(exc.message, url_for("labs.index", patient_id=patient.id)))
    flash("検査結果を本日の経過記録（O）に転記しました", "success")
    return redirect(url_for("notes.edit", patient_id=patient.id, day=note.note_date.isoformat()))


@bp.post("/patients/<int:patient_id>/notes/today/key-images/<int:key_image_id>")
@requires("note.write")
def attach_key_image(patient_id: int, key_image_id: int):
    """Attach a key image (its current version) to today's note."""
    patient = patient_or_404(patient_id)
    db = db_session()
    item = imaging.get_key_image(db, current_user.clinic_id, patient.id, key_image_id)
    if item is None or item.superseded_at is not None or item.retracted:
        abort(404)
    committed(lambda: services.attach_key_image(db, current_clinic(), current_actor(), patient, item.id,
                                                today=japan_today()),
              lambda exc: flashed(exc.message, url_for("imaging.index", patient_id=patient.id) + "#key-images"))
    flash(f"キー画像「{item.caption}」を本日の経過記録に添付しました", "success")
    return redirect(url_for("imaging.index", patient_id=patient.id) + "#key-images")
