"""The day's progress note (SOAP) in full-chart mode: read, save as a new version, copy lab results into O,
attach key images. Every save keeps the earlier version (真正性) and writes an audit entry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.dates import refuse_future_date
from app.core.errors import ValidationError
from app.core.jp import strip_control_chars
from app.core.timeutil import JST
from app.core.versioning import record_first_version, record_new_version
from app.db import scoped
from app.imaging import services as imaging
from app.notes.models import ProgressNote
from app.patients.models import Patient

#: Longest text one SOAP part may hold (a long note is a few thousand characters; this only stops accidents).
MAX_PART = 20_000
PARTS = (("subjective", "S（主訴・自覚症状）"), ("objective", "O（客観的所見）"), ("assessment", "A（評価）"),
         ("plan", "P（計画）"))


@dataclass(frozen=True)
class NoteContent:
    """What the doctor wrote: the four SOAP parts and the attached key images (version ids, in order)."""

    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""
    key_image_ids: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, note: ProgressNote | None) -> NoteContent:
        """The content of a saved version (empty for a day without a note)."""
        if note is None:
            return cls()
        return cls(note.subjective, note.objective, note.assessment, note.plan, list(note.key_image_ids or []))


def require_full_chart(clinic: Clinic) -> None:
    """Progress notes exist only in full-chart mode; a paper-chart clinic writes them on paper."""
    if not clinic.is_full_chart_mode:
        raise ValidationError("このクリニックは紙カルテ併用モードです。経過記録は紙カルテに記載してください"
                              "（電子カルテモードは管理者がクリニック設定で切り替えます）", field="_form")


def current_note(session: Session, clinic_id: int, patient_id: int, day: date) -> ProgressNote | None:
    """The current version of the patient's note of that day (None when nothing was written)."""
    return session.scalar(scoped(ProgressNote, clinic_id).where(
        ProgressNote.patient_id == patient_id, ProgressNote.note_date == day, ProgressNote.superseded_at.is_(None),
        ProgressNote.retracted.is_(False)))


def chart(session: Session, clinic_id: int, patient_id: int, *, limit: int = 30) -> list[ProgressNote]:
    """The patient's notes as they stand, newest day first (the 経過記録 a doctor scrolls through)."""
    return list(session.scalars(scoped(ProgressNote, clinic_id).where(
        ProgressNote.patient_id == patient_id, ProgressNote.superseded_at.is_(None),
        ProgressNote.retracted.is_(False)).order_by(ProgressNote.note_date.desc()).limit(limit)))


def get_note(session: Session, clinic_id: int, patient_id: int, note_id: int) -> ProgressNote | None:
    """One version of a note of this clinic's patient (None for another clinic's or patient's)."""
    return session.scalar(scoped(ProgressNote, clinic_id).where(ProgressNote.id == note_id,
                                                                ProgressNote.patient_id == patient_id))


def history(session: Session, clinic_id: int, patient_id: int, lineage_id: int) -> list[ProgressNote]:
    """Every version of one day's note, oldest first."""
    return list(session.scalars(scoped(ProgressNote, clinic_id).where(
        ProgressNote.patient_id == patient_id, ProgressNote.lineage_id == lineage_id)
        .order_by(ProgressNote.version)))


def save_note(session: Session, clinic: Clinic, actor: Actor, patient: Patient, day: date, content: NoteContent,
              *, base_version: int, today: date, reason: str = "") -> ProgressNote:
    """Save the day's note as a new version. `base_version` is the version the writer started from (0 for a new
    note): when someone saved in between, nothing is overwritten and the writer is told. An unchanged note adds no
    version; changing a note of an earlier day needs a reason (後日修正)."""
    require_full_chart(clinic)
    refuse_future_date(day, "note", "経過記録の日付", field="_form", today=today)
    content = _clean(content)
    current = current_note(session, clinic.id, patient.id, day)
    _check_key_images(session, clinic.id, patient.id, content.key_image_ids, NoteContent.of(current).key_image_ids)
    if (current.version if current else 0) != base_version:
        raise ValidationError(_conflict_message(current), field="_form")
    if current is not None and NoteContent.of(current) == content:
        return current
    if current is None and content == NoteContent():
        raise ValidationError("経過記録が空です。S・O・A・P のいずれかを入力してください", field="_form")
    values = {name: getattr(content, name) for name, _label in PARTS} | {"key_image_ids": content.key_image_ids}
    # The versions are the note's history; the audit trail says who changed which parts, not the text again.
    extra = {"note_date": day.isoformat(), "changed": _changed(NoteContent.of(current), content)}
    if current is None:
        return record_first_version(session, actor, ProgressNote(clinic_id=clinic.id, patient_id=patient.id,
                                                                 note_date=day, **values),
                                    action="note.create", extra=extra)
    return record_new_version(session, actor, current, values, action="note.revise", reason=reason,
                              reason_required=day < today,
                              missing_reason="過去の日付の経過記録を修正するときは修正理由を入力してください",
                              extra=extra)


def changed_parts(before: ProgressNote | None, after: ProgressNote) -> list[str]:
    """The SOAP parts (and "key_image_ids") a version changed from the one before it (all that it holds, for a
    first version)."""
    return _changed(NoteContent.of(before), NoteContent.of(after))


def _changed(old: NoteContent, new: NoteContent) -> list[str]:
    changed = [name for name, _label in PARTS if getattr(old, name) != getattr(new, name)]
    return changed + (["key_image_ids"] if old.key_image_ids != new.key_image_ids else [])


def append_to_objective(session: Session, clinic: Clinic, actor: Actor, patient: Patient, text: str, *,
                        today: date) -> ProgressNote:
    """Add text (copied lab results) to the end of O in today's note, creating the note if there is none."""
    require_full_chart(clinic)
    text = text.strip()
    if not text:
        raise ValidationError("転記する内容がありません。日付か項目を選んでください", field="_form")
    current = current_note(session, clinic.id, patient.id, today)
    content = NoteContent.of(current)
    objective = f"{content.objective.rstrip()}\n\n{text}" if content.objective.strip() else text
    return save_note(session, clinic, actor, patient, today, replace(content, objective=objective),
                     base_version=current.version if current else 0, today=today)


def attach_key_image(session: Session, clinic: Clinic, actor: Actor, patient: Patient, key_image_id: int, *,
                     today: date) -> ProgressNote:
    """Attach a current key image to today's note (creating the note if there is none); attaching it twice is
    the same as once."""
    require_full_chart(clinic)
    current = current_note(session, clinic.id, patient.id, today)
    content = NoteContent.of(current)
    if key_image_id not in content.key_image_ids:
        content = replace(content, key_image_ids=[*content.key_image_ids, key_image_id])
    return save_note(session, clinic, actor, patient, today, content,
                     base_version=current.version if current else 0, today=today)


def attached_images(session: Session, clinic_id: int, note: ProgressNote) -> list:
    """The key images a note version shows, as they were attached."""
    return imaging.key_image_versions(session, clinic_id, note.patient_id, list(note.key_image_ids or []))


def _clean(content: NoteContent) -> NoteContent:
    parts = {}
    for name, label in PARTS:
        value = strip_control_chars(getattr(content, name) or "", multiline=True).rstrip()
        if len(value) > MAX_PART:
            raise ValidationError(f"{label}は{MAX_PART:,}文字以内で入力してください", field=name)
        parts[name] = value
    ids = list(dict.fromkeys(int(i) for i in content.key_image_ids))
    return NoteContent(**parts, key_image_ids=ids)


def _check_key_images(session: Session, clinic_id: int, patient_id: int, ids: list[int], kept: list[int]) -> None:
    """Every id is this patient's key image; one newly attached must be a current version (one already attached
    stays as it was attached, even if it was corrected since)."""
    found = {k.id: k for k in imaging.key_image_versions(session, clinic_id, patient_id, ids)}
    if any(i not in found or (i not in kept and (found[i].superseded_at is not None or found[i].retracted))
           for i in ids):
        raise ValidationError("添付しようとしたキー画像が見つかりません。画像の画面を開き直してください",
                              field="key_image_ids")


def _conflict_message(current: ProgressNote | None) -> str:
    if current is None:
        return "この経過記録は取り消されています。画面を開き直してください"
    when = current.recorded_at.astimezone(JST).strftime("%H:%M")
    return (f"{current.recorded_by_name or '他の職員'}さんが {when} に経過記録を保存しています。"
            "あなたの入力はそのまま残しています。最新の内容を確認して、もう一度保存してください")

