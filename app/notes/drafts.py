"""Server-side drafts of a note: the editor saves what the writer typed every few seconds, rewriting the writer's
one draft of that note in place (a draft is not a version and is not in the 記載履歴); 確定 turns it into a
version of the note and removes it. Only a draft's author may change or confirm it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.clinics.services import get_staff
from app.core.audit import Actor
from app.core.errors import ValidationError
from app.db import scoped, utcnow
from app.notes import services
from app.notes.models import NoteDraft, ProgressNote
from app.patients.models import Patient

NOT_YOURS = "この下書きは他の職員のものです。確定や変更はその職員だけができます"


def get_draft(session: Session, clinic_id: int, patient_id: int, draft_id: int) -> NoteDraft | None:
    """A draft of this clinic's patient (None for another clinic's or patient's)."""
    return session.scalar(scoped(NoteDraft, clinic_id).where(NoteDraft.id == draft_id,
                                                             NoteDraft.patient_id == patient_id))


def drafts_of(session: Session, clinic_id: int, patient_id: int) -> list[NoteDraft]:
    """The patient's open drafts, newest first (shown on the chart, each with its author)."""
    return list(session.scalars(scoped(NoteDraft, clinic_id).where(NoteDraft.patient_id == patient_id)
                                .order_by(NoteDraft.updated_at.desc())))


def own_draft(session: Session, clinic_id: int, patient_id: int, author_id: int, *, lineage_id: int | None,
              header: services.NoteHeader) -> NoteDraft | None:
    """The writer's open draft of this note (of the lineage, or of the visit, or of a new note of the day without
    a reception), to continue where the writer left off."""
    query = scoped(NoteDraft, clinic_id).where(NoteDraft.patient_id == patient_id, NoteDraft.author_id == author_id)
    if lineage_id:
        query = query.where(NoteDraft.lineage_id == lineage_id)
    elif header.visit_id is not None:
        query = query.where(NoteDraft.visit_id == header.visit_id, NoteDraft.lineage_id.is_(None))
    else:
        query = query.where(NoteDraft.lineage_id.is_(None), NoteDraft.visit_id.is_(None),
                            NoteDraft.note_date == header.note_date,
                            NoteDraft.encounter_kind == header.encounter_kind)
    return session.scalar(query.order_by(NoteDraft.id.desc()).limit(1))


def save_draft(session: Session, clinic: Clinic, actor: Actor, patient: Patient, content: services.NoteContent, *,
               draft_id: int | None, lineage_id: int | None, base_version: int,
               header: services.NoteHeader) -> NoteDraft:
    """Keep what the writer typed: their draft rewritten in place, or a new draft of the note. The same limits as
    a confirmed note; nothing is kept when the text is refused."""
    services.require_full_chart(clinic)
    content = services.clean_content(content)
    if draft_id:
        draft = get_draft(session, clinic.id, patient.id, draft_id)
        if draft is None:
            raise ValidationError("下書きが見つかりません。すでに確定されたか削除されています", field="_form")
        if draft.author_id != actor.user_id:
            raise ValidationError(NOT_YOURS, field="_form")
    else:
        header = _header_of(session, clinic.id, patient.id, lineage_id, header)
        staff = get_staff(session, clinic.id, actor.user_id)
        draft = NoteDraft(clinic_id=clinic.id, patient_id=patient.id, author_id=actor.user_id,
                          author_name=staff.display_name if staff else (actor.login_id or ""),
                          lineage_id=lineage_id or None,
                          base_version=base_version, **asdict(header))
        session.add(draft)
    for name, value in asdict(content).items():
        setattr(draft, name, value)
    draft.updated_at = utcnow()
    session.flush()
    return draft


def _header_of(session: Session, clinic_id: int, patient_id: int, lineage_id: int | None,
               header: services.NoteHeader) -> services.NoteHeader:
    if lineage_id:
        note = services.note_of_lineage(session, clinic_id, patient_id, lineage_id)
        if note is None:
            raise ValidationError("この経過記録は見つからないか取り消されています。画面を開き直してください",
                                  field="_form")
        return services.NoteHeader.of_note(note)
    return services.clean_header(session, clinic_id, patient_id, header)


def confirm(session: Session, clinic: Clinic, actor: Actor, patient: Patient, content: services.NoteContent, *,
            draft_id: int | None, lineage_id: int | None, base_version: int, header: services.NoteHeader | None,
            day: date, today: date, reason: str) -> ProgressNote:
    """確定: the text becomes a new version of the note (see services.save_note) and the writer's draft of it is
    removed. Confirming another writer's draft is refused, and nothing is saved."""
    draft = get_draft(session, clinic.id, patient.id, draft_id) if draft_id else None
    if draft is not None and draft.author_id != actor.user_id:
        raise ValidationError(NOT_YOURS, field="_form")
    note = services.save_note(session, clinic, actor, patient, day, content, base_version=base_version,
                              today=today, reason=reason, lineage_id=lineage_id, header=header)
    if draft is not None:
        session.delete(draft)
    session.flush()
    return note


def discard(session: Session, clinic_id: int, actor: Actor, patient_id: int, draft_id: int) -> None:
    """Throw away the writer's own draft (someone else's is refused)."""
    draft = get_draft(session, clinic_id, patient_id, draft_id)
    if draft is None:
        return
    if draft.author_id != actor.user_id:
        raise ValidationError(NOT_YOURS, field="_form")
    session.delete(draft)
    session.flush()

