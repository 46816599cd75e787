"""Versioned patient records: never updated in place. A correction adds a new version with the same
`lineage_id` and marks the old one superseded; a withdrawal (取消) adds a version with `retracted` set.
The current state of an item is its one version with `superseded_at` empty. Used by the profile and the
diagnoses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db import ClinicScoped, UTCDateTime, utcnow


class PatientRecordVersion(ClinicScoped):
    """Columns every versioned patient record has: the patient, its lineage and who recorded this version when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The patient the item is about.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    #: The id of the item's first version: every version of one item shares it.
    lineage_id: Mapped[int | None] = mapped_column(Integer)
    #: 1 for the first entry, then 2, 3 … for each correction.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: When this version was recorded and by whom (the name as it was then, for the history).
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(100), default="")
    #: Set when a later version replaced this one: only versions without it are current.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: This version withdraws the item (入力誤り等で取消); it stays in the history.
    retracted: Mapped[bool] = mapped_column(default=False)
    #: Why a correction or withdrawal was made (required for both).
    change_reason: Mapped[str] = mapped_column(String(200), default="")

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805 — SQLAlchemy's declared_attr convention
        return version_indexes(cls.__tablename__)  # type: ignore[attr-defined]


def version_indexes(table_name: str) -> tuple[Index, Index]:
    """The indexes every versioned table has: its current versions per patient, and each item's lineage (for a
    model that declares table arguments of its own)."""
    return (Index(f"ix_{table_name}_current", "clinic_id", "patient_id", "superseded_at"),
            Index(f"ix_{table_name}_lineage", "lineage_id"))
