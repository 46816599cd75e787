"""Visits (受付): the day's reception list, mirrored from ORCA or registered here and sent to ORCA."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ClinicScoped, StatusLabelled, UTCDateTime, utcnow
from app.patients.models import Patient

ACCEPTED = "accepted"
IN_EXAM = "in_exam"
EXAMINED = "examined"
PAID = "paid"
CANCELLED = "cancelled"

#: 受付済 → 診察中 → 診察済 → 会計済, or 取消.
STATUS_LABELS = {ACCEPTED: "受付済", IN_EXAM: "診察中", EXAMINED: "診察済", PAID: "会計済", CANCELLED: "取消"}
STATUS_ORDER = [ACCEPTED, IN_EXAM, EXAMINED, PAID, CANCELLED]


class Visit(StatusLabelled, ClinicScoped, Base):
    """One reception of a patient on a day."""

    __tablename__ = "visit"
    status_labels = STATUS_LABELS

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    #: The clinic's day in Japan time.
    visit_date: Mapped[date] = mapped_column(Date)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ORCA's Acceptance_Id (受付番号 of the day); None until ORCA has confirmed a registration made here.
    orca_acceptance_id: Mapped[str | None] = mapped_column(String(20))
    department_code: Mapped[str] = mapped_column(String(4), default="")
    department_name: Mapped[str] = mapped_column(String(40), default="")
    physician_code: Mapped[str] = mapped_column(String(20), default="")
    physician_name: Mapped[str] = mapped_column(String(60), default="")
    #: e.g. "協会けんぽ 本人 3割" — as ORCA's insurance combination reads.
    insurance_summary: Mapped[str] = mapped_column(String(120), default="")
    insurance_combination: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(16), default=ACCEPTED)
    #: Where the visit was registered: "orca" (pulled) or "kamikarte" (sent to ORCA through the outbox).
    source: Mapped[str] = mapped_column(String(16), default="orca")
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)
    #: Bumped on every change, so that other tablets can tell the list changed.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    patient: Mapped[Patient] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("clinic_id", "visit_date", "orca_acceptance_id", name="uq_visit_orca_acceptance"),
        Index("ix_visit_clinic_date", "clinic_id", "visit_date"),
    )

    def __repr__(self) -> str:
        return f"<Visit {self.id} {self.visit_date} patient={self.patient_id} {self.status}>"


class SyncState(ClinicScoped, Base):
    """When a clinic last synced with ORCA, and how it went (shown on the reception list)."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "orca.reception", "orca.patients", "orca.push"
    kind: Mapped[str] = mapped_column(String(40))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: Opaque position for incremental pulls (e.g. the last PUSH event id).
    cursor: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("clinic_id", "kind", name="uq_sync_state_kind"),)

    def __repr__(self) -> str:
        return f"<SyncState {self.clinic_id} {self.kind}>"
