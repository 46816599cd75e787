"""経過記録 screens (full-chart mode): the chart of day notes, writing today's SOAP note, its history, and the
two ways other screens feed it (lab results copied into O, key images attached)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.timeutil import JST, japan_today
from app.core.web import committed, current_actor, current_clinic, flashed, found, log_look, patient_view
from app.db import db_session
from app.imaging import services as imaging
from app.labs import results as lab_results
from app.notes import bp, carry, drafts, library, schema, services
from app.notes.chart_views import full_chart_clinic
from app.notes.models import ENCOUNTER_LABELS, VISIT
from app.notes.schema_bases import BASES
from app.patients.models import Patient


def _day_or_404(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(404)



@bp.get("/patients/<int:patient_id>/notes")
@patient_view("note.read")
def index(patient: Patient):
    """The patient's day notes, newest first, with the key images each attached."""
    clinic = full_chart_clinic()
    db = db_session()
    notes = services.chart(db, clinic.id, patient.id)
    images = {note.id: services.attached_images(db, clinic.id, note) for note in notes}
    open_drafts = drafts.drafts_of(db, clinic.id, patient.id)
    log_look(patient.id, "patient.notes")
    return render_template("notes/index.html", patient=patient, today=japan_today(), notes=notes, images=images,
                           full_chart=clinic.is_full_chart_mode, parts=services.PARTS, drafts=open_drafts,
                           saved=request.args.get("saved", ""))


@bp.get("/patients/<int:patient_id>/notes/new")
@patient_view("note.write")
def new(patient: Patient):
    """Start a note: one of today's visits (受付), or a note without a reception (電話再診, 訪問) of a chosen day."""
    clinic = full_chart_clinic()
    db = db_session()
    today = japan_today()
    visits = services.visits_of_day(db, clinic.id, patient.id, today)
    written = {v.id: services.note_of_visit(db, clinic.id, patient.id, v.id) for v in visits}
    log_look(patient.id, "patient.notes.new")
    return render_template("notes/new.html", patient=patient, today=today, visits=visits, written=written,
                           kinds=[(k, label) for k, label in ENCOUNTER_LABELS.items() if k != VISIT])


@bp.get("/patients/<int:patient_id>/notes/start")
@patient_view("note.write")
def new_without_visit(patient: Patient):
    """The chooser's form for a note without a reception: opens the editor of that day with its header."""
    when = _day_or_404(request.args.get("day", ""))
    args = {k: request.args.get(k, "")[:120] for k in ("encounter_kind", "department_name", "insurance_summary",
                                                         "do_from")}
    return redirect(url_for("notes.edit", patient_id=patient.id, day=when.isoformat(), **args))


def _int_arg(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        abort(400)


def _header_from(values, when: date) -> services.NoteHeader | None:
    """The header a request names: a visit, or a note without a reception; None when it names neither."""
    visit_id = _int_arg(values.get("visit_id"))
    kind = values.get("encounter_kind", "")
    if visit_id is None and not kind:
        return None
    return services.NoteHeader(when, visit_id, kind or VISIT, values.get("department_name", "")[:200],
                               values.get("doctor_name", "")[:200], values.get("insurance_summary", "")[:400])


@bp.get("/patients/<int:patient_id>/notes/<day>/edit")
@patient_view("note.write")
def edit(patient: Patient, day: str):
    """Write or continue a note: of a lineage (?lineage_id=), a visit (?visit_id=), a new note without a
    reception (?encounter_kind=…), or — naming none — the day's latest note or its only visit's."""
    clinic = full_chart_clinic()
    when = _day_or_404(day)
    db = db_session()
    lineage_id = _int_arg(request.args.get("lineage_id"))
    header = _header_from(request.args, when)
    note = None
    if lineage_id:
        note = services.note_of_lineage(db, clinic.id, patient.id, lineage_id)
    elif header is not None and header.visit_id is not None:
        visit = services.patient_visit(db, clinic.id, patient.id, header.visit_id)
        if visit is None or visit.visit_date != when:
            abort(404)
        header = services.NoteHeader.of_visit(visit)
        note = services.note_of_visit(db, clinic.id, patient.id, visit.id)
    elif header is None:
        note = services.current_note(db, clinic.id, patient.id, when)
        visits = services.visits_of_day(db, clinic.id, patient.id, when)
        if note is None and len(visits) > 1:
            return redirect(url_for("notes.new", patient_id=patient.id))
        header = services.NoteHeader.of_visit(visits[0]) if visits else services.NoteHeader(when)
    if lineage_id and note is None:
        abort(404)
    header = services.NoteHeader.of_note(note) if note is not None else header
    draft = drafts.own_draft(db, clinic.id, patient.id, current_user.id, lineage_id=note.lineage_id if note else None,
                             header=header)
    content = services.NoteContent.of(draft if draft is not None else note)
    if note is None and draft is None:  # a new note: its P starts with the fees chosen for the day's visits
        content = replace(content, plan=carry.first_plan(db, clinic.id, patient.id, when))
    log_look(patient.id, "patient.notes.edit")
    return _render_form(patient, when, note, content, header=header, draft=draft, reason="", errors={})


def _render_form(patient, when: date, note, content: services.NoteContent, *, header, draft, reason: str,
                 errors: dict[str, str], status: int = 200):
    db = db_session()
    clinic_id = current_user.clinic_id
    attached = imaging.key_image_versions(db, clinic_id, patient.id, content.key_image_ids)
    attached_ids = {k.id for k in attached}
    available = [k for k in imaging.current_key_images(db, clinic_id, patient.id) if k.id not in attached_ids]
    previous = carry.do_source(db, clinic_id, patient.id, _int_arg(request.args.get("do_from")),
                               services.previous_note(db, clinic_id, patient.id, note, when))
    drawings = schema.of_note(schema.schemas_by_day(db, clinic_id, patient.id, [when]).get(when, []),
                              note.lineage_id if note else None)
    return render_template("notes/edit.html", patient=patient, today=japan_today(), day=when, note=note,
                           content=content, header=header, draft=draft, attached=attached, available=available,
                           drawings=drawings, bases=BASES,
                           reason=reason, errors=errors, parts=services.PARTS, kinds=ENCOUNTER_LABELS,
                           previous=previous, library=library.for_editor(db, clinic_id, current_user.id,
                                                                         header.department_name if header else ""),
                           transfer=carry.todays_sources(db, clinic_id, patient.id, when)), status


def _content_from(values, image_ids: list[int]) -> services.NoteContent:
    return services.NoteContent(*(str(values.get(name) or "") for name, _label in services.PARTS),
                                key_image_ids=image_ids)


@bp.post("/patients/<int:patient_id>/notes/<day>")
@patient_view("note.write")
def save(patient: Patient, day: str):
    """確定: the note becomes a new version (the earlier one stays in the 記載履歴); the writer's draft goes."""
    full_chart_clinic()
    when = _day_or_404(day)
    form = request.form
    try:
        base_version = int(form.get("base_version") or "0")
        image_ids = [int(i) for i in form.getlist("key_image_ids")]
    except ValueError:
        abort(400)
    lineage_id, draft_id = _int_arg(form.get("lineage_id")), _int_arg(form.get("draft_id"))
    header = None if lineage_id else _header_from(form, when)
    content = _content_from(form, image_ids)
    db = db_session()
    try:
        note = drafts.confirm(db, current_clinic(), current_actor(), patient, content, draft_id=draft_id,
                              lineage_id=lineage_id, base_version=base_version, header=header, day=when,
                              today=japan_today(), reason=form.get("change_reason", ""))
    except ValidationError as exc:
        db.rollback()
        if lineage_id:
            note = services.note_of_lineage(db, current_user.clinic_id, patient.id, lineage_id)
        elif header is None:
            note = services.current_note(db, current_user.clinic_id, patient.id, when)
        else:
            note = services.note_of_visit(db, current_user.clinic_id, patient.id, header.visit_id) \
                if header.visit_id else None
        draft = drafts.get_draft(db, current_user.clinic_id, patient.id, draft_id) if draft_id else None
        return _render_form(patient, when, note, content, header=header or (
            services.NoteHeader.of_note(note) if note else services.NoteHeader(when)), draft=draft,
            reason=form.get("change_reason", ""), errors=exc.errors, status=422)
    db.commit()
    flash(f"{when:%Y/%m/%d} の経過記録を確定しました（第{note.version}版）", "success")
    return redirect(url_for("notes.index", patient_id=patient.id, saved=note.lineage_id) + f"#note-{note.lineage_id}")


@bp.post("/patients/<int:patient_id>/notes/<day>/draft")
@patient_view("note.write")
def autosave(patient: Patient, day: str):
    """The editor's autosave (JSON): the writer's draft of the note rewritten in place; answers its id."""
    when = _day_or_404(day)
    full_chart_clinic()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify({"error": "bad_request", "message": "下書きの形式が正しくありません"}), 400
    try:
        base_version = int(data.get("base_version") or 0)
        lineage_id, draft_id = _int_arg(str(data.get("lineage_id") or "")), _int_arg(str(data.get("draft_id") or ""))
        header = _header_from({k: str(v or "") for k, v in data.items() if isinstance(v, str | int)}, when)
    except (TypeError, ValueError):
        return jsonify({"error": "bad_request", "message": "下書きの形式が正しくありません"}), 400
    db = db_session()
    try:
        draft = drafts.save_draft(db, current_clinic(), current_actor(), patient, _content_from(data, []),
                                  draft_id=draft_id, lineage_id=lineage_id, base_version=base_version,
                                  header=header or services.NoteHeader(when))
    except ValidationError as exc:
        db.rollback()
        return jsonify({"error": "invalid", "message": exc.message, "field": exc.field}), 422
    db.commit()
    return jsonify({"draft_id": draft.id, "saved_at": draft.updated_at.astimezone(JST).strftime("%H:%M:%S")})


@bp.post("/patients/<int:patient_id>/notes/drafts/<int:draft_id>/discard")
@patient_view("note.write")
def discard_draft(patient: Patient, draft_id: int):
    """Throw away one's own draft."""
    full_chart_clinic()
    db = db_session()
    try:
        drafts.discard(db, current_user.clinic_id, current_actor(), patient.id, draft_id)
    except ValidationError as exc:
        db.rollback()
        flash(exc.message, "error")
        return redirect(url_for("notes.index", patient_id=patient.id)), 303
    db.commit()
    flash("下書きを削除しました", "success")
    return redirect(url_for("notes.index", patient_id=patient.id))


@bp.get("/patients/<int:patient_id>/notes/versions/<int:note_id>")
@patient_view("note.read")
def history(patient: Patient, note_id: int):
    """Every version of one day's note: who saved it when, why, and what it said."""
    full_chart_clinic()
    db = db_session()
    note = found(services.get_note(db, current_user.clinic_id, patient.id, note_id))
    versions = services.history(db, current_user.clinic_id, patient.id, note.lineage_id or note.id)
    images = {v.id: services.attached_images(db, current_user.clinic_id, v) for v in versions}
    previous = [None, *versions[:-1]]
    changed = {v.id: services.changed_parts(before, v) for before, v in zip(previous, versions, strict=True)}
    log_look(patient.id, "patient.notes.history")
    return render_template("notes/history.html", patient=patient, today=japan_today(), versions=versions,
                           images=images, changed=changed, parts=services.PARTS, day=note.note_date)


def _choose_note(patient, action: str, fields: list[tuple[str, str]], what: str, back: str, exc: ValidationError):
    """Ask which of today's notes (or visits) a copy or an attachment goes to: the same form again with the
    choice (what was chosen before is carried along); any other refusal goes back with its message."""
    if exc.field != "note_target":
        return flashed(exc.message, back)
    targets = services.note_targets(db_session(), current_user.clinic_id, patient.id, japan_today())
    log_look(patient.id, "patient.notes.choose")
    return render_template("notes/choose_note.html", patient=patient, today=japan_today(), action=action,
                           fields=fields, targets=targets, what=what, back=back, message=exc.message), 422


@bp.post("/patients/<int:patient_id>/notes/today/lab-results")
@patient_view("note.write")
def copy_lab_results(patient: Patient):
    """Copy the chosen results (days, and tests when any are chosen) to the end of O in one of today's notes
    (the one chosen when the day has several)."""
    full_chart_clinic()
    days = []
    for raw in request.form.getlist("days"):
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            abort(400)
    codes = [code[:16] for code in request.form.getlist("lab_codes")]
    db = db_session()
    text = lab_results.results_as_text(db, current_user.clinic_id, patient.id, days, codes)
    fields = [("days", d.isoformat()) for d in days] + [("lab_codes", c) for c in codes]
    note = committed(lambda: services.append_to_objective(db, current_clinic(), current_actor(), patient, text,
                                                          today=japan_today(),
                                                          target=request.form.get("note_target", "")[:40]),
                     lambda exc: _choose_note(patient, url_for("notes.copy_lab_results", patient_id=patient.id),
                                              fields, "選んだ検査結果を転記", url_for("labs.index",
                                                                                   patient_id=patient.id), exc))
    flash("検査結果を本日の経過記録（O）に転記しました", "success")
    return redirect(url_for("notes.edit", patient_id=patient.id, day=note.note_date.isoformat(),
                            lineage_id=note.lineage_id))


@bp.post("/patients/<int:patient_id>/notes/today/key-images/<int:key_image_id>")
@patient_view("note.write")
def attach_key_image(patient: Patient, key_image_id: int):
    """Attach a key image (its current version) to one of today's notes (the one chosen when the day has
    several)."""
    full_chart_clinic()
    db = db_session()
    item = imaging.get_key_image(db, current_user.clinic_id, patient.id, key_image_id)
    if item is None or item.superseded_at is not None or item.retracted:
        abort(404)
    back = url_for("imaging.index", patient_id=patient.id) + "#key-images"
    committed(lambda: services.attach_key_image(db, current_clinic(), current_actor(), patient, item.id,
                                                today=japan_today(), target=request.form.get("note_target", "")[:40]),
              lambda exc: _choose_note(patient, url_for("notes.attach_key_image", patient_id=patient.id,
                                                        key_image_id=item.id), [],
                                       f"キー画像「{item.caption}」を添付", back, exc))
    flash(f"キー画像「{item.caption}」を本日の経過記録に添付しました", "success")
    return redirect(back)
