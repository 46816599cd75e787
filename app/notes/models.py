"""The progress note (経過記録, SOAP) of one patient on one day, in full-chart mode. Every save is a new version
(真正性): the earlier one is kept, marked superseded, with who wrote it and when."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.versioning import PatientRecordVersion
from app.db import Base


class ProgressNote(PatientRecordVersion, Base):
    """One version of the day's SOAP note of a patient (one lineage per patient and day)."""

    __tablename__ = "progress_note"

    #: The consultation day the note records (Japan time).
    note_date: Mapped[date] = mapped_column(Date)
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

    def __repr__(self) -> str:
        return f"<ProgressNote {self.id} patient={self.patient_id} {self.note_date} v{self.version}>"
