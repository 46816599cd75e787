"""シェーマ screens (full-chart mode): the patient's drawings, the editor (new, or a new version of one), the
rendered picture and a drawing's versions. A paper-chart clinic has none of it: 404."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Response, abort, flash, jsonify, render_template, request, url_for

from app.core.errors import ValidationError
from app.core.timeutil import japan_today
from app.core.web import current_actor, log_look, patient_view
from app.db import db_session
from app.notes import bp, schema
from app.notes.chart_views import full_chart_clinic
from app.notes.schema_bases import BASES, HEIGHT, WIDTH, base_svg
from app.notes.schema_strokes import ERASER_WIDTHS, PALETTE, PEN_WIDTHS, read_json
from app.patients.models import Patient


def _schema_or_404(patient_id: int, schema_id: int):
    item = schema.get_schema(db_session(), full_chart_clinic().id, patient_id, schema_id)
    if item is None:
        abort(404)
    return item


@bp.get("/patients/<int:patient_id>/schemas")
@patient_view("note.read")
def schema_list(patient: Patient):
    """The patient's schema drawings as they stand, newest day first."""
    clinic = full_chart_clinic()
    items = schema.patient_schemas(db_session(), clinic.id, patient.id)
    log_look(patient.id, "patient.schemas")
    return render_template("chart/schema_list.html", patient=patient, today=japan_today(), items=items, bases=BASES)


def _note_context() -> dict[str, int | None]:
    """The note editor the schema editor was opened from (?from_note=1 with its lineage_id or visit_id): where
    saving returns to, and the note the drawing belongs to."""
    if not request.args.get("from_note"):
        return {}
    context = {}
    for name in ("lineage_id", "visit_id"):
        raw = request.args.get(name, "")
        context[name] = int(raw) if raw.isdigit() and len(raw) < 10 else None
    return context


def _return_url(patient_id: int, body: dict, day: date, lineage_id: int | None) -> str:
    """Back to the note editor the drawing was opened from, or to the schema list."""
    if body.get("return_to_note") is not True:
        return url_for("notes.schema_list", patient_id=patient_id)
    visit_id = body.get("visit_id") if type(body.get("visit_id")) is int else None
    return url_for("notes.edit", patient_id=patient_id, day=day.isoformat(), lineage_id=lineage_id,
                   visit_id=None if lineage_id else visit_id) + "#tool-schema"


def _editor(patient, *, item=None, base: str, title: str, day: date, strokes: str):
    return render_template("chart/schema_edit.html", patient=patient, today=japan_today(), item=item, base=base,
                           title=title, day=day, strokes=strokes, bases=BASES, base_svg=base_svg, palette=PALETTE,
                           pen_widths=PEN_WIDTHS, eraser_widths=ERASER_WIDTHS, width=WIDTH, height=HEIGHT,
                           note=_note_context())


@bp.get("/patients/<int:patient_id>/schemas/new")
@patient_view("note.write")
def schema_new(patient: Patient):
    """The editor over a chosen base drawing (body front unless another is asked for)."""
    full_chart_clinic()
    base = request.args.get("base", "body_front")
    if base not in BASES:
        abort(404)
    try:
        day = date.fromisoformat(request.args.get("day") or japan_today().isoformat())
    except ValueError:
        abort(404)
    log_look(patient.id, "patient.schemas.new")
    return _editor(patient, base=base, title="", day=min(day, japan_today()), strokes='{"items": []}')


@bp.get("/patients/<int:patient_id>/schemas/<int:schema_id>/edit")
@patient_view("note.write")
def schema_edit(patient: Patient, schema_id: int):
    """A drawing opened again in the editor: saving makes its next version."""
    item = _schema_or_404(patient.id, schema_id)
    log_look(patient.id, "patient.schemas.edit")
    return _editor(patient, item=item, base=item.base, title=item.title, day=item.note_date,
                   strokes=json.dumps(item.strokes, ensure_ascii=False))


def _schema_input(body: Any) -> tuple[schema.SchemaInput, int, str]:
    """The drawing, the version the editor started from and the reason, from the editor's JSON."""
    if not isinstance(body, dict):
        raise ValidationError("シェーマのデータが読めません。描き直して保存してください", field="strokes")
    texts = {name: body.get(name) if isinstance(body.get(name), str) else "" for name in
             ("base", "title", "note_date", "change_reason")}
    try:
        day = date.fromisoformat(texts["note_date"])
    except ValueError:
        raise ValidationError("日付は 2026-12-07 の形で入力してください", field="note_date") from None
    base_version, lineage_id = body.get("base_version", 0), body.get("note_lineage_id")
    if type(base_version) is not int or not 0 <= base_version < 1_000_000:
        raise ValidationError("版の指定が読めません。画面を開き直してください", field="_form")
    if lineage_id is not None and type(lineage_id) is not int:
        raise ValidationError("経過記録の指定が読めません。画面を開き直してください", field="_form")
    return (schema.SchemaInput(base=texts["base"], title=texts["title"], note_date=day, strokes=body.get("strokes"),
                               note_lineage_id=lineage_id), base_version, texts["change_reason"])


@bp.post("/patients/<int:patient_id>/schemas", defaults={"schema_id": None})
@bp.post("/patients/<int:patient_id>/schemas/<int:schema_id>")
@patient_view("note.write")
def schema_save(patient: Patient, schema_id: int | None):
    """Save a new drawing, or a new version of one. The editor posts JSON (its CSRF token in the header) —
    {base, title, note_date, strokes, base_version, change_reason, and from a note's editor note_lineage_id,
    visit_id, return_to_note} — and is answered where to go next, or the errors in Japanese (422, nothing
    written)."""
    clinic = full_chart_clinic()
    current = _schema_or_404(patient.id, schema_id) if schema_id else None
    db = db_session()
    try:
        body = read_json(request.get_data())
        data, base_version, reason = _schema_input(body)
        item = schema.save_schema(db, clinic, current_actor(), patient, data, today=japan_today(), current=current,
                                  base_version=base_version, reason=reason)
    except ValidationError as exc:
        db.rollback()
        return jsonify(errors=exc.errors), 422
    db.commit()
    flash(f"シェーマを保存しました（第{item.version}版）", "success")
    back = _return_url(patient.id, body, item.note_date, item.note_lineage_id)
    return jsonify(redirect=back if "#" in back else f"{back}#schema-{item.id}")


@bp.get("/patients/<int:patient_id>/schemas/<int:schema_id>.png")
@patient_view("note.read")
def schema_png(patient: Patient, schema_id: int):
    """The picture the server rendered for one version of a drawing."""
    item = _schema_or_404(patient.id, schema_id)
    log_look(patient.id, f"patient.schema:{item.id}")
    return Response(item.png, mimetype="image/png")


@bp.get("/patients/<int:patient_id>/schemas/<int:schema_id>/history")
@patient_view("note.read")
def schema_history(patient: Patient, schema_id: int):
    """Every version of one drawing with who, when and why."""
    item = _schema_or_404(patient.id, schema_id)
    versions = schema.history(db_session(), item.clinic_id, patient.id, item.lineage_id or item.id)
    log_look(patient.id, "patient.schemas.history")
    return render_template("chart/schema_history.html", patient=patient, today=japan_today(), versions=versions,
                           bases=BASES)
