"""The access log and the audit trail: append-only, the audit trail hash-chained."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One write (or security event): who did what to which record, with a before/after summary."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The clinic the event belongs to; None for events without one (an unknown login ID).
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: Login ID as typed at the time (kept even if the account is renamed later).
    actor_login: Mapped[str | None] = mapped_column(String(64))
    #: Verb of the event, e.g. "staff.create", "auth.login_failed".
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: {"before": {...}, "after": {...}} or other details; never a password or secret.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    entry_hash: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_audit_entry_clinic_chain", "clinic_id", "id"),)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action}>"


class AccessLogEntry(Base):
    """One look at a patient's record: who, which patient, what, when, from where."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    accessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: The staff member who looked; None when a partner application did (partner_app_id).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    #: The partner application that looked through the API (app/partners), else None.
    partner_app_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: The login as it was: a staff login ID or "app:<name>" of a partner application.
    actor_login: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: view, print, export, patient_view, search
    action: Mapped[str] = mapped_column(String(32))
    #: What was looked at: the screen or document, e.g. "patient.profile", "/patients/3".
    resource: Mapped[str] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    def __repr__(self) -> str:
        return f"<AccessLogEntry {self.id} user={self.user_id} patient={self.patient_id}>"
