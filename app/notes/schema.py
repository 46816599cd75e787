"""シェーマ (schema drawings) of full-chart mode: draw over a base drawing, save as a new version (the strokes checked
and the PNG rendered here), list a patient's drawings, and find the drawings of the days a chart page shows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, defer

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.dates import refuse_future_date
from app.core.errors import ValidationError
from app.core.jp import strip_control_chars
from app.core.versioning import record_first_version, record_new_version
from app.db import scoped
from app.notes.schema_bases import BASES
from app.notes.schema_models import SchemaDrawing
from app.notes.schema_render import render_png
from app.notes.schema_strokes import check_strokes
from app.notes.services import note_of_lineage, require_full_chart
from app.patients.models import Patient

MAX_TITLE = 100


@dataclass(frozen=True)
class SchemaInput:
    """What the editor sends: the base drawing, a title, the note's day and the strokes as read from its JSON
    (not yet checked)."""

    base: str
    title: str
    note_date: date
    strokes: Any
    #: The note (lineage) it is drawn from, when opened from the note editor.
    note_lineage_id: int | None = None


def _title(raw: str) -> str:
    title = " ".join(strip_control_chars(raw or "").split())
    if len(title) > MAX_TITLE:
        raise ValidationError(f"表題は{MAX_TITLE}文字以内で入力してください", field="title")
    return title


def save_schema(session: Session, clinic: Clinic, actor: Actor, patient: Patient, data: SchemaInput, *,
                today: date, current: SchemaDrawing | None = None, base_version: int = 0,
                reason: str = "") -> SchemaDrawing:
    """Save a drawing: a new one, or a new version of `current` (the version the editor opened must still be the
    current one; a drawing of an earlier day needs a reason to change). Strokes are checked and the PNG rendered
    before anything is written."""
    require_full_chart(clinic)
    if data.base not in BASES:
        raise ValidationError("シェーマの下絵を選んでください", field="base")
    refuse_future_date(data.note_date, "note", "シェーマの日付", field="note_date", today=today)
    title = _title(data.title)
    if current is not None and data.note_lineage_id is None:  # a new version stays in its note
        data = replace(data, note_lineage_id=current.note_lineage_id)
    if data.note_lineage_id is not None:
        note = note_of_lineage(session, clinic.id, patient.id, data.note_lineage_id)
        if note is None or note.note_date != data.note_date:
            raise ValidationError("シェーマを描く経過記録が見つからないか、日付が違います。"
                                  "経過記録を開き直してください", field="_form")
    strokes = check_strokes(data.strokes)
    values = {"base": data.base, "title": title, "note_date": data.note_date, "strokes": strokes,
              "item_count": len(strokes["items"]), "png": render_png(data.base, strokes),
              "note_lineage_id": data.note_lineage_id}
    extra = {"base": data.base, "items": len(strokes["items"]), "note_date": data.note_date.isoformat()}
    if current is None:
        return record_first_version(session, actor, SchemaDrawing(clinic_id=clinic.id, patient_id=patient.id,
                                                                  **values), action="schema.create", extra=extra)
    if current.version != base_version or current.superseded_at is not None:
        raise ValidationError("このシェーマは他の職員が先に保存しています。開き直してから描き直してください",
                              field="_form")
    return record_new_version(session, actor, current, values, action="schema.revise", reason=reason,
                              reason_required=current.note_date < today,
                              missing_reason="過去の日付のシェーマを修正するときは修正理由を入力してください",
                              extra=extra)


def get_schema(session: Session, clinic_id: int, patient_id: int, schema_id: int) -> SchemaDrawing | None:
    """One version of a drawing of this clinic's patient (None for another's)."""
    return session.scalar(scoped(SchemaDrawing, clinic_id).where(SchemaDrawing.id == schema_id,
                                                                 SchemaDrawing.patient_id == patient_id))


def _listing(clinic_id: int, patient_id: int):
    # Lists never need the strokes or the picture's bytes: those are read when one drawing is opened.
    return scoped(SchemaDrawing, clinic_id).options(defer(SchemaDrawing.strokes), defer(SchemaDrawing.png)).where(
        SchemaDrawing.patient_id == patient_id, SchemaDrawing.superseded_at.is_(None),
        SchemaDrawing.retracted.is_(False))


def patient_schemas(session: Session, clinic_id: int, patient_id: int) -> list[SchemaDrawing]:
    """The patient's drawings as they stand, newest day first (the schema list)."""
    return list(session.scalars(_listing(clinic_id, patient_id).order_by(SchemaDrawing.note_date.desc(),
                                                                         SchemaDrawing.id.desc())))


def schemas_by_day(session: Session, clinic_id: int, patient_id: int, days: list[date]) -> dict[date, list]:
    """The patient's current drawings of these days, by day (one query: a chart page shows them in its notes;
    `of_note` picks a note's own)."""
    found: dict[date, list[SchemaDrawing]] = {}
    if not days:
        return found
    for item in session.scalars(_listing(clinic_id, patient_id).where(SchemaDrawing.note_date.in_(set(days)))
                                .order_by(SchemaDrawing.id)):
        found.setdefault(item.note_date, []).append(item)
    return found


def history(session: Session, clinic_id: int, patient_id: int, lineage_id: int) -> list[SchemaDrawing]:
    """Every version of one drawing, oldest first."""
    return list(session.scalars(scoped(SchemaDrawing, clinic_id).options(defer(SchemaDrawing.strokes)).where(
        SchemaDrawing.patient_id == patient_id, SchemaDrawing.lineage_id == lineage_id)
        .order_by(SchemaDrawing.version)))


def of_note(drawings: list[SchemaDrawing], lineage_id: int | None) -> list[SchemaDrawing]:
    """Of a day's drawings, those a note shows: drawn from it, or for the day."""
    return [d for d in drawings if d.note_lineage_id is None or d.note_lineage_id == lineage_id]
