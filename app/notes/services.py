"""The progress note (SOAP) of a visit in full-chart mode: read, confirm (確定) as a new version, copy lab results
into O, attach key images. A note belongs to a visit (受付) and takes its department, doctor and insurance; a note
without a reception (電話再診, 訪問) names its own. Every confirmed save keeps the earlier version (真正性) and
writes an audit entry."""

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
from app.notes.models import ENCOUNTER_LABELS, OTHER, VISIT, NoteDraft, ProgressNote
from app.patients.models import Patient
from app.reception import services as reception
from app.reception.models import CANCELLED, Visit

#: Longest text one SOAP part may hold (a long note is a few thousand characters; this only stops accidents).
MAX_PART = 20_000
#: Longest note as a whole (the four parts together).
MAX_NOTE = 40_000
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
    def of(cls, note: ProgressNote | NoteDraft | None) -> NoteContent:
        """The content of a saved version (empty for a day without a note)."""
        if note is None:
            return cls()
        return cls(note.subjective, note.objective, note.assessment, note.plan, list(note.key_image_ids or []))


@dataclass(frozen=True)
class NoteHeader:
    """Which encounter a note records: its day, the visit (None without a reception), how the patient was seen,
    and the department, doctor and insurance."""

    note_date: date
    visit_id: int | None = None
    encounter_kind: str = OTHER
    department_name: str = ""
    doctor_name: str = ""
    insurance_summary: str = ""

    @classmethod
    def of_visit(cls, visit: Visit) -> NoteHeader:
        """The header of a visit's note: its day, department, doctor and insurance as the reception says."""
        return cls(visit.visit_date, visit.id, VISIT, visit.department_name, visit.physician_name,
                   visit.insurance_summary)

    @classmethod
    def of_note(cls, note: ProgressNote) -> NoteHeader:
        """The header a saved note has."""
        return cls(note.note_date, note.visit_id, note.encounter_kind, note.department_name, note.doctor_name,
                   note.insurance_summary)


def require_full_chart(clinic: Clinic) -> None:
    """Progress notes exist only in full-chart mode; a paper-chart clinic writes them on paper."""
    if not clinic.is_full_chart_mode:
        raise ValidationError("このクリニックは紙カルテ併用モードです。経過記録は紙カルテに記載してください"
                              "（電子カルテモードは管理者がクリニック設定で切り替えます）", field="_form")


def _current(clinic_id: int, patient_id: int):
    return scoped(ProgressNote, clinic_id).where(ProgressNote.patient_id == patient_id,
                                                 ProgressNote.superseded_at.is_(None),
                                                 ProgressNote.retracted.is_(False))


def current_note(session: Session, clinic_id: int, patient_id: int, day: date) -> ProgressNote | None:
    """The current version of the patient's latest note of that day (None when nothing was written)."""
    return session.scalar(_current(clinic_id, patient_id).where(ProgressNote.note_date == day)
                          .order_by(ProgressNote.lineage_id.desc()).limit(1))


def notes_of_day(session: Session, clinic_id: int, patient_id: int, day: date) -> list[ProgressNote]:
    """The current versions of the patient's notes of that day, in the order they were begun."""
    return list(session.scalars(_current(clinic_id, patient_id).where(ProgressNote.note_date == day)
                                .order_by(ProgressNote.lineage_id)))


def note_of_visit(session: Session, clinic_id: int, patient_id: int, visit_id: int) -> ProgressNote | None:
    """The current version of a visit's note (None when nothing was written for it)."""
    return session.scalar(_current(clinic_id, patient_id).where(ProgressNote.visit_id == visit_id)
                          .order_by(ProgressNote.lineage_id).limit(1))


def note_of_lineage(session: Session, clinic_id: int, patient_id: int, lineage_id: int) -> ProgressNote | None:
    """The current version of one note (None when it was withdrawn or is not this patient's)."""
    return session.scalar(_current(clinic_id, patient_id).where(ProgressNote.lineage_id == lineage_id))


def visits_of_day(session: Session, clinic_id: int, patient_id: int, day: date) -> list[Visit]:
    """The patient's receptions of a day that were not cancelled: each may have its note."""
    return [v for v in reception.patient_visits_on(session, clinic_id, patient_id, day) if v.status != CANCELLED]


def patient_visit(session: Session, clinic_id: int, patient_id: int, visit_id: int) -> Visit | None:
    """A visit of this clinic's patient that was not cancelled (None otherwise)."""
    visit = reception.get_visit(session, clinic_id, visit_id)
    return visit if visit is not None and visit.patient_id == patient_id and visit.status != CANCELLED else None


def previous_note(session: Session, clinic_id: int, patient_id: int, before: ProgressNote | None,
                  day: date) -> ProgressNote | None:
    """The patient's latest note before this one (before `day` for a note not written yet): what Do copies."""
    query = _current(clinic_id, patient_id)
    if before is not None:
        query = query.where(ProgressNote.lineage_id != before.lineage_id, ProgressNote.note_date <= day)
    else:
        query = query.where(ProgressNote.note_date <= day)
    return session.scalar(query.order_by(ProgressNote.note_date.desc(), ProgressNote.lineage_id.desc()).limit(1))


def chart(session: Session, clinic_id: int, patient_id: int, *, limit: int = 30) -> list[ProgressNote]:
    """The patient's notes as they stand, newest day first (the 経過記録 a doctor scrolls through)."""
    return list(session.scalars(scoped(ProgressNote, clinic_id).where(
        ProgressNote.patient_id == patient_id, ProgressNote.superseded_at.is_(None),
        ProgressNote.retracted.is_(False)).order_by(ProgressNote.note_date.desc(), ProgressNote.lineage_id.desc())
        .limit(limit)))


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
              *, base_version: int, today: date, reason: str = "", lineage_id: int | None = None,
              header: NoteHeader | None = None) -> ProgressNote:
    """Confirm (確定) a note as a new version: the note `lineage_id` when given, else a new note with `header`
    (its visit's note when the visit has one already), else — for callers that know only a day — the day's latest
    note or a new one for the day's only visit. `base_version` is the version the writer started from (0 for a
    new note): when someone saved in between, nothing is overwritten and the writer is told. An unchanged note
    adds no version; changing a note of an earlier day needs a reason (後日修正)."""
    require_full_chart(clinic)
    refuse_future_date(day, "note", "経過記録の日付", field="_form", today=today)
    content = clean_content(content)
    current, header = _target(session, clinic.id, patient.id, day, lineage_id, header)
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
        head = {"note_date": day, "visit_id": header.visit_id, "encounter_kind": header.encounter_kind,
                "department_name": header.department_name, "doctor_name": header.doctor_name,
                "insurance_summary": header.insurance_summary}
        extra |= {"visit_id": header.visit_id, "encounter_kind": header.encounter_kind}
        return record_first_version(session, actor, ProgressNote(clinic_id=clinic.id, patient_id=patient.id,
                                                                 **head, **values),
                                    action="note.create", extra=extra)
    return record_new_version(session, actor, current, values, action="note.revise", reason=reason,
                              reason_required=current.note_date < today,
                              missing_reason="過去の日付の経過記録を修正するときは修正理由を入力してください",
                              extra=extra)


def _target(session: Session, clinic_id: int, patient_id: int, day: date, lineage_id: int | None,
            header: NoteHeader | None) -> tuple[ProgressNote | None, NoteHeader]:
    """The note a save continues (None for a new one) and the header of a new one."""
    if lineage_id:
        current = note_of_lineage(session, clinic_id, patient_id, lineage_id)
        if current is None or current.note_date != day:
            raise ValidationError("この経過記録は見つからないか取り消されています。画面を開き直してください",
                                  field="_form")
        return current, NoteHeader.of_note(current)
    if header is not None:
        header = clean_header(session, clinic_id, patient_id, header)
        if header.note_date != day:
            raise ValidationError("受付の日付と経過記録の日付が違います。画面を開き直してください", field="_form")
        if header.visit_id is not None:
            return note_of_visit(session, clinic_id, patient_id, header.visit_id), header
        return None, header
    current = current_note(session, clinic_id, patient_id, day)
    if current is not None:
        return current, NoteHeader.of_note(current)
    visits = visits_of_day(session, clinic_id, patient_id, day)
    return None, NoteHeader.of_visit(visits[-1]) if visits else NoteHeader(day)


def clean_header(session: Session, clinic_id: int, patient_id: int, header: NoteHeader) -> NoteHeader:
    """A header as it is stored: a visit's note takes the visit's own day, department, doctor and insurance; a
    note without a reception must say how the patient was seen and its department."""
    if header.visit_id is not None:
        visit = patient_visit(session, clinic_id, patient_id, header.visit_id)
        if visit is None:
            raise ValidationError("受付が見つからないか取り消されています。受付一覧を確認してください", field="_form")
        return NoteHeader.of_visit(visit)
    if header.encounter_kind not in ENCOUNTER_LABELS or header.encounter_kind == VISIT:
        raise ValidationError("受付のない記録は、電話再診・訪問診療・その他のどれかを選んでください",
                              field="encounter_kind")
    department = strip_control_chars(header.department_name).strip()
    if not department or len(department) > 40:
        raise ValidationError("診療科を40文字以内で入力してください", field="department_name")
    insurance = strip_control_chars(header.insurance_summary).strip()
    if len(insurance) > 120:
        raise ValidationError("保険は120文字以内で入力してください", field="insurance_summary")
    return replace(header, department_name=department, insurance_summary=insurance,
                   doctor_name=strip_control_chars(header.doctor_name).strip()[:60])


def changed_parts(before: ProgressNote | None, after: ProgressNote) -> list[str]:
    """The SOAP parts (and "key_image_ids") a version changed from the one before it (all that it holds, for a
    first version)."""
    return _changed(NoteContent.of(before), NoteContent.of(after))


def _changed(old: NoteContent, new: NoteContent) -> list[str]:
    changed = [name for name, _label in PARTS if getattr(old, name) != getattr(new, name)]
    return changed + (["key_image_ids"] if old.key_image_ids != new.key_image_ids else [])


#: What a copy or an attachment asks when the day has more than one note (or visit) it could go to.
CHOOSE_NOTE = "本日の経過記録が複数あります。転記・添付する経過記録（受付）を選んでください"


@dataclass(frozen=True)
class NoteTarget:
    """A note that lab results or a key image can go to: one of the day's notes (`note`), or one of its visits
    that has no note yet (`visit`, the note begun on saving). `key` is what a form sends back."""

    key: str
    label: str
    note: ProgressNote | None = None
    visit: Visit | None = None


def note_targets(session: Session, clinic_id: int, patient_id: int, day: date) -> list[NoteTarget]:
    """The day's notes, then its visits without a note: where a copy or an attachment may go."""
    notes = notes_of_day(session, clinic_id, patient_id, day)
    targets = [NoteTarget(f"note:{n.lineage_id}", _label(n.department_name, n.doctor_name, n.encounter_label
                                                          if n.encounter_kind != VISIT else "")
                          + f"（{n.recorded_by_name} 記載・第{n.version}版）", note=n) for n in notes]
    written = {n.visit_id for n in notes if n.visit_id is not None}
    targets += [NoteTarget(f"visit:{v.id}", _label(v.department_name, v.physician_name) + "（受付・まだ記載なし）",
                           visit=v) for v in visits_of_day(session, clinic_id, patient_id, day) if v.id not in written]
    return targets


def _label(*parts: str) -> str:
    return " ".join(p for p in parts if p) or "診療科なし"


def _chosen_note(session: Session, clinic_id: int, patient_id: int, day: date,
                 key: str) -> tuple[ProgressNote | None, NoteHeader | None]:
    """The note a copy or an attachment goes to (None: a new one, of the visit's header when one was chosen):
    the one chosen, or the day's only one; with several and none chosen the writer is asked to choose."""
    targets = note_targets(session, clinic_id, patient_id, day)
    if key:
        chosen = next((t for t in targets if t.key == key), None)
        if chosen is None:
            raise ValidationError("選んだ経過記録が見つからないか取り消されています。もう一度選んでください",
                                  field="note_target")
    elif len(targets) > 1:
        raise ValidationError(CHOOSE_NOTE, field="note_target")
    else:
        chosen = targets[0] if targets else None
    if chosen is None:
        return None, None
    return chosen.note, NoteHeader.of_visit(chosen.visit) if chosen.visit is not None else None


def _save_into(session: Session, clinic: Clinic, actor: Actor, patient: Patient, current: ProgressNote | None,
               header: NoteHeader | None, content: NoteContent, today: date) -> ProgressNote:
    return save_note(session, clinic, actor, patient, today, content,
                     base_version=current.version if current else 0, today=today,
                     lineage_id=current.lineage_id if current else None, header=header)


def append_to_objective(session: Session, clinic: Clinic, actor: Actor, patient: Patient, text: str, *,
                        today: date, target: str = "") -> ProgressNote:
    """Add text (copied lab results) to the end of O in one of today's notes (`target`, a NoteTarget key; the
    day's only note or visit when empty), creating the note if there is none."""
    require_full_chart(clinic)
    text = text.strip()
    if not text:
        raise ValidationError("転記する内容がありません。日付か項目を選んでください", field="_form")
    current, header = _chosen_note(session, clinic.id, patient.id, today, target)
    content = NoteContent.of(current)
    objective = f"{content.objective.rstrip()}\n\n{text}" if content.objective.strip() else text
    return _save_into(session, clinic, actor, patient, current, header, replace(content, objective=objective), today)


def attach_key_image(session: Session, clinic: Clinic, actor: Actor, patient: Patient, key_image_id: int, *,
                     today: date, target: str = "") -> ProgressNote:
    """Attach a current key image to one of today's notes (`target` as for append_to_objective), creating the
    note if there is none; attaching it twice is the same as once."""
    require_full_chart(clinic)
    current, header = _chosen_note(session, clinic.id, patient.id, today, target)
    content = NoteContent.of(current)
    if key_image_id not in content.key_image_ids:
        content = replace(content, key_image_ids=[*content.key_image_ids, key_image_id])
    return _save_into(session, clinic, actor, patient, current, header, content, today)


def key_images_in_notes(session: Session, clinic_id: int, patient_id: int, day: date) -> set[int]:
    """Ids of the key images the day's notes show."""
    return {i for n in notes_of_day(session, clinic_id, patient_id, day) for i in n.key_image_ids or []}


def attached_images(session: Session, clinic_id: int, note: ProgressNote) -> list:
    """The key images a note version shows, as they were attached."""
    return imaging.key_image_versions(session, clinic_id, note.patient_id, list(note.key_image_ids or []))


def clean_content(content: NoteContent) -> NoteContent:
    """The parts as stored: invisible characters removed; a part or the whole over its limit refused."""
    parts = {}
    for name, label in PARTS:
        value = strip_control_chars(getattr(content, name) or "", multiline=True).rstrip()
        if len(value) > MAX_PART:
            raise ValidationError(f"{label}は{MAX_PART:,}文字以内で入力してください", field=name)
        parts[name] = value
    if sum(len(v) for v in parts.values()) > MAX_NOTE:
        raise ValidationError(f"経過記録は全体で{MAX_NOTE:,}文字以内にしてください"
                              "（長い検査結果などは分けて記載してください）", field="_form")
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

