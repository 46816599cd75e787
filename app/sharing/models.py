"""The patient's consent to the 電子カルテ情報共有サービス, and the registration state of each of our records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ClinicScoped, UTCDateTime, utcnow

CONSENT_SOURCE = "オンライン資格確認"
#: Registration states: waiting for the outbox, delivered, refused for good by the service, to be retried.
QUEUED, REGISTERED, REFUSED, RETRYING = "queued", "registered", "refused", "retrying"
WITHDRAWN = "withdrawn"  # a withdrawn (取消) item taken back from the service
REPLACED = "replaced"  # taken back from the service because a corrected version was registered in its place
STATUS_LABELS = {QUEUED: "送信待ち", REGISTERED: "登録済", REFUSED: "登録拒否", RETRYING: "再送待ち",
                 WITHDRAWN: "取下げ済", REPLACED: "訂正で置換済"}
#: States in which the item is (or is about to be) held at the service.
LIVE = (QUEUED, REGISTERED, RETRYING)


class SharingConsent(ClinicScoped, Base):
    """A consent as read from the online eligibility data (one row each time it is recorded or changes)."""

    __tablename__ = "sharing_consent"
    __table_args__ = (Index("ix_sharing_consent_patient", "clinic_id", "patient_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    #: 同意日 and the last day the consent is valid (有効期限), as the eligibility data gives them.
    given_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    #: Where it was read from (オンライン資格確認 via ORCA).
    source: Mapped[str] = mapped_column(String(40), default=CONSENT_SOURCE)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_name: Mapped[str] = mapped_column(String(100), default="")


class SharingRegistration(ClinicScoped, Base):
    """One of our records (a version) registered to the service through the outbox, with its state."""

    __tablename__ = "sharing_registration"
    __table_args__ = (Index("ix_sharing_registration_subject", "clinic_id", "subject_type", "subject_id"),
                      Index("ix_sharing_registration_patient", "clinic_id", "patient_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    #: The record: its table and row id (a version of a versioned record), and the 6-information kind.
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    #: queued / registered / refused / retrying / withdrawn / replaced, and the service's reason when it refused or
    #: failed (or what was done, for a change).
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    reason: Mapped[str] = mapped_column(Text, default="")
    outbox_message_id: Mapped[int | None] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def status_label(self) -> str:
        """送信待ち / 登録済 / 登録拒否 / 再送待ち / 取下げ済 / 訂正で置換済."""
        return STATUS_LABELS.get(self.status, self.status)
