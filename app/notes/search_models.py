"""The search text of every note version (notes are append-only, so an entry is written once and never changed):
the four SOAP parts folded for search (width, kana, 異体字) into one column, indexed by pg_trgm on PostgreSQL and by
an FTS5 trigram table on SQLite (both made by migration chartb_0001)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ClinicScoped


class NoteSearchEntry(ClinicScoped, Base):
    """The folded text of one note version."""

    __tablename__ = "note_search_entry"

    #: The note version the text was taken from.
    note_id: Mapped[int] = mapped_column(ForeignKey("progress_note.id"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    note_date: Mapped[date] = mapped_column(Date)
    #: S, O, A and P folded by app.notes.search.fold, one line break between parts.
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_note_search_entry_patient", "clinic_id", "patient_id", "note_date", "note_id"),
                      Index("ix_note_search_entry_clinic_date", "clinic_id", "note_date", "note_id"))

    def __repr__(self) -> str:
        return f"<NoteSearchEntry note={self.note_id}>"
