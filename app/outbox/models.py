"""Outgoing messages, written in the same transaction as the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ClinicScoped, StatusLabelled, UTCDateTime, utcnow

PENDING = "pending"
DELIVERING = "delivering"
DELIVERED = "delivered"
DEAD = "dead"

#: Tries before a message that keeps failing is given up (shown as failed, re-queued by staff). With the back-off
#: capped at five minutes (services.MAX_BACKOFF_SECONDS) that is about a day of outage: a service down for an hour
#: or a night loses nothing, and a message goes within five minutes of its return.
DEFAULT_MAX_ATTEMPTS = 300

STATUS_LABELS = {PENDING: "送信待ち", DELIVERING: "送信中", DELIVERED: "送信済み", DEAD: "送信失敗"}


class OutboxMessage(StatusLabelled, ClinicScoped, Base):
    """One message to an outside system; delivered by a worker with retries, never lost."""

    __tablename__ = "outbox_message"
    status_labels = STATUS_LABELS

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which delivery handler sends it, e.g. "orca.reception", "lab.order", "test.http".
    kind: Mapped[str] = mapped_column(String(64))
    #: Sent with every try so the receiver can drop a repeat (idempotent delivery).
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: What the message is about, for showing its state beside the record.
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    #: The staff member whose action queued it (None for the system: pollers, imports).
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: While delivering: a worker holds the message until then; past it another worker may take it.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    #: What the receiver answered (e.g. ORCA's reception id), for the record that caused the message.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_subject", "clinic_id", "subject_type", "subject_id"),
        Index("ix_outbox_clinic_newest", "clinic_id", "id"),
    )

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
