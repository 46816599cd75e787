"""シェーマ (schema drawings): a drawing over one of the project's base drawings, kept as vector strokes (checked
JSON, never markup) with the PNG the server rendered from them. Every edit is a new version (真正性)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.versioning import PatientRecordVersion
from app.db import Base


class SchemaDrawing(PatientRecordVersion, Base):
    """One version of a schema drawing of a patient, shown in the note of its day."""

    __tablename__ = "schema_drawing"

    #: The day of the note the drawing belongs to (Japan time).
    note_date: Mapped[date] = mapped_column(Date)
    #: The note (its lineage) the drawing was drawn from, shown in that note only; None: drawn for the day (from
    #: the schema list, or before the note was first confirmed), shown in each note of the day.
    note_lineage_id: Mapped[int | None] = mapped_column(Integer)
    #: Which base drawing it is drawn over (a key of app.notes.schema_bases.BASES).
    base: Mapped[str] = mapped_column(String(32))
    #: A short title (部位・所見), shown in the list.
    title: Mapped[str] = mapped_column(String(100), default="")
    #: The drawing as checked vector items (app.notes.schema_strokes): pen and eraser strokes, text labels.
    strokes: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: How many items the drawing holds (for the list, without reading the strokes).
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The PNG rendered on the server from base + strokes (the client's picture is never trusted).
    png: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<SchemaDrawing {self.id} patient={self.patient_id} {self.base} v{self.version}>"
