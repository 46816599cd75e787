"""Full-chart mode's records: the progress note (経過記録, SOAP) of one visit, its server-side drafts, and the
診療録テンプレート and 定型文 a doctor writes with.

A note belongs to a visit (受付) and takes its department, doctor and insurance from it; a note written without a
reception (電話再診, 訪問) names its own date, department and insurance. Every confirmed save (確定) is a new version
(真正性): the earlier one is kept, marked superseded, with who wrote it and when. A draft is not a version: it is
rewritten in place while the doctor types and disappears when the note is confirmed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.versioning import PatientRecordVersion, RecordVersion, version_indexes
from app.db import Base, ClinicScoped, PatientScoped, UTCDateTime, utcnow

#: How the patient was seen: at a reception (受付), or without one.
VISIT = "visit"
PHONE = "phone"
HOME = "home"
OTHER = "other"
ENCOUNTER_LABELS = {VISIT: "外来（受付）", PHONE: "電話再診", HOME: "訪問診療", OTHER: "その他（受付なし）"}


class NoteFields:
    """What a note says, confirmed or draft: the encounter it records and its four SOAP parts."""

    #: The consultation day the note records (Japan time): the visit's day for a note of a visit.
    note_date: Mapped[date] = mapped_column(Date)
    #: The visit (受付) the note records; None for a note written without a reception (電話再診, 訪問).
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    #: VISIT, PHONE, HOME or OTHER (ENCOUNTER_LABELS).
    encounter_kind: Mapped[str] = mapped_column(String(16), default=VISIT)
    #: The department, doctor and insurance of the visit as they were when the note was written (or as the writer
    #: chose them for a note without a reception).
    department_name: Mapped[str] = mapped_column(String(40), default="")
    doctor_name: Mapped[str] = mapped_column(String(60), default="")
    insurance_summary: Mapped[str] = mapped_column(String(120), default="")
    #: S 主観的情報 (what the patient says).
    subjective: Mapped[str] = mapped_column(Text, default="")
    #: O 客観的情報 (findings, vitals, copied lab results).
    objective: Mapped[str] = mapped_column(Text, default="")
    #: A 評価 (assessment).
    assessment: Mapped[str] = mapped_column(Text, default="")
    #: P 計画 (plan).
    plan: Mapped[str] = mapped_column(Text, default="")
    #: Key images attached to this version: ids of the key-image versions as they were attached (their stored
    #: bytes are what the note shows, so the note stays readable whatever the PACS does later).
    key_image_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class ProgressNote(NoteFields, PatientRecordVersion, Base):
    """One version of the SOAP note of one visit (one lineage per visit, or per note written without one)."""

    __tablename__ = "progress_note"

    __table_args__ = (*version_indexes("progress_note"), Index("ix_progress_note_visit", "visit_id"))

    def __repr__(self) -> str:
        return f"<ProgressNote {self.id} patient={self.patient_id} {self.note_date} v{self.version}>"

    @property
    def encounter_label(self) -> str:
        """How the patient was seen, in Japanese."""
        return ENCOUNTER_LABELS.get(self.encounter_kind, self.encounter_kind)


class NoteDraft(NoteFields, PatientScoped, Base):
    """The unconfirmed text of one writer's note: saved every few seconds while typing, rewritten in place, gone
    when the writer confirms (確定) it. Only its author may confirm it."""

    __tablename__ = "note_draft"

    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    author_name: Mapped[str] = mapped_column(String(100), default="")
    #: The confirmed note it continues (its lineage), or None for a new note.
    lineage_id: Mapped[int | None] = mapped_column(Integer)
    #: The version the writer started from (0 for a new note): a confirm after someone else's is refused.
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_note_draft_patient", "clinic_id", "patient_id"),)

    def __repr__(self) -> str:
        return f"<NoteDraft {self.id} patient={self.patient_id} {self.note_date} by={self.author_id}>"


class NoteTemplate(RecordVersion, ClinicScoped, Base):
    """One version of a 診療録テンプレート: sections of fill-in fields that become plain SOAP text. A clinic
    template (owner_id None) is managed by the administrator; a personal one by its doctor. A change is a new
    version of the same lineage (who, when, why); the current version has superseded_at empty."""

    __tablename__ = "note_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The doctor whose personal template it is; None for the clinic's.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    name: Mapped[str] = mapped_column(String(60))
    #: The department it is for (内科, 小児科 …; empty for any) and its purpose (初診, 再診 高血圧, 発熱 …).
    department_name: Mapped[str] = mapped_column(String(40), default="")
    purpose: Mapped[str] = mapped_column(String(60), default="")
    #: The sections: [{"part": "subjective", "title": ..., "fields": [{"key", "label", "kind", ...}]}]
    #: (see app.notes.templating for what a field may say).
    body: Mapped[list] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_note_template_current", "clinic_id", "superseded_at"),
                      Index("ix_note_template_lineage", "lineage_id"))

    def __repr__(self) -> str:
        return f"<NoteTemplate {self.id} {self.name!r} v{self.version}>"


class NotePhrase(RecordVersion, ClinicScoped, Base):
    """One version of a 定型文: a phrase inserted in one touch into S, O, A or P. The clinic's (owner_id None,
    managed by the administrator) or one doctor's own. A change is a new version of the same lineage (who, when,
    why); taking it off the lists (外す) is a version with `retracted` set, so the history stays whole. The
    current version has superseded_at empty."""

    __tablename__ = "note_phrase"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    title: Mapped[str] = mapped_column(String(60))
    #: The reading in katakana, for search by kana (folded the way patient names are).
    kana: Mapped[str] = mapped_column(String(120), default="")
    kana_key: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(Text)
    #: The SOAP part it is usually for ("" for any).
    part: Mapped[str] = mapped_column(String(16), default="")

    __table_args__ = (Index("ix_note_phrase_clinic", "clinic_id", "owner_id"),
                      Index("ix_note_phrase_current", "clinic_id", "superseded_at"),
                      Index("ix_note_phrase_lineage", "lineage_id"))

    def __repr__(self) -> str:
        return f"<NotePhrase {self.id} {self.title!r} v{self.version}>"
