"""The patient's consent to the 電子カルテ情報共有サービス, and the registration state of each of our records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, PatientScoped, StatusLabelled, UTCDateTime, utcnow

CONSENT_SOURCE = "オンライン資格確認"
#: Registration states: waiting for the outbox, delivered, refused for good by the service, to be retried.
QUEUED, REGISTERED, REFUSED, RETRYING = "queued", "registered", "refused", "retrying"
WITHDRAWN = "withdrawn"  # a withdrawn (取消) item taken back from the service
REPLACED = "replaced"  # taken back from the service because a corrected version was registered in its place
STATUS_LABELS = {QUEUED: "送信待ち", REGISTERED: "登録済", REFUSED: "登録拒否", RETRYING: "再送待ち",
                 WITHDRAWN: "取下げ済", REPLACED: "訂正で置換済"}
#: States in which the item is (or is about to be) held at the service.
LIVE = (QUEUED, REGISTERED, RETRYING)


class SharingConsent(PatientScoped, Base):
    """A consent as read from the online eligibility data (one row each time it is recorded or changes)."""

    __tablename__ = "sharing_consent"
    __table_args__ = (Index("ix_sharing_consent_patient", "clinic_id", "patient_id", "recorded_at"),)

    #: 同意日 and the last day the consent is valid (有効期限), as the eligibility data gives them.
    given_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    #: Where it was read from (オンライン資格確認 via ORCA).
    source: Mapped[str] = mapped_column(String(40), default=CONSENT_SOURCE)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_name: Mapped[str] = mapped_column(String(100), default="")


class SharingRegistration(StatusLabelled, PatientScoped, Base):
    """One of our records (a version) registered to the service through the outbox, with its state."""

    __tablename__ = "sharing_registration"
    status_labels = STATUS_LABELS
    __table_args__ = (Index("ix_sharing_registration_subject", "clinic_id", "subject_type", "subject_id"),
                      Index("ix_sharing_registration_patient", "clinic_id", "patient_id"))

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


class OtherInstitutionEntry(PatientScoped):
    """Mixin of what names another institution's entry about a patient: its 6-information kind (condition,
    drug_allergy, …), its key — the source institution's resource instance identifier, stable across fetches, so
    that a decision about it outlives the next fetch — what it is and where from."""

    kind: Mapped[str] = mapped_column(String(20))
    entry_key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    institution_code: Mapped[str] = mapped_column(String(10), default="")
    institution_name: Mapped[str] = mapped_column(String(100), default="")


class NationalEntryCopy(OtherInstitutionEntry, Base):
    """An entry another institution registered at the service, as the last fetch of the 6-information screen
    found it: the safety banner reads these copies and never calls the service on a page view."""

    __tablename__ = "sharing_national_entry"
    # One row per entry and patient (it keeps its id from one fetch to the next); also the patient's lookup.
    __table_args__ = (UniqueConstraint("clinic_id", "patient_id", "entry_key", name="uq_sharing_national_entry"),)

    detail: Mapped[str] = mapped_column(Text, default="")
    #: The entry's date as the service gives it (YYYY-MM-DD, may be empty).
    day: Mapped[str] = mapped_column(String(10), default="")
    #: The entry's codes by system (MEDIS disease key, ICD-10, YJ …), for adopting it into our record.
    codes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


ADOPTED, DISMISSED = "adopted", "dismissed"
DECISION_LABELS = {ADOPTED: "当院の記録に取り込み済", DISMISSED: "取り込まない（却下）"}


class NationalEntryDecision(OtherInstitutionEntry, Base):
    """A doctor's decision about another institution's entry: adopted into our record (the record made, with the
    source institution and date) or dismissed with a reason. Dismissed entries leave the safety banner."""

    __tablename__ = "sharing_entry_decision"
    __table_args__ = (UniqueConstraint("clinic_id", "patient_id", "entry_key", name="uq_sharing_entry_decision"),)

    #: The entry's date as it was decided on.
    entry_day: Mapped[str] = mapped_column(String(10), default="")
    #: adopted / dismissed, and the reason (required to dismiss).
    decision: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200), default="")
    #: The record the adoption made (its table and first version's id).
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_by_name: Mapped[str] = mapped_column(String(100), default="")

    @property
    def decision_label(self) -> str:
        """当院の記録に取り込み済 / 取り込まない（却下）."""
        return DECISION_LABELS.get(self.decision, self.decision)


class SharingWithholding(PatientScoped, Base):
    """共有しない: one of our records (every version of it, by lineage) is kept from the service — e.g. a diagnosis
    not yet told to the patient, or at the patient's wish."""

    __tablename__ = "sharing_withholding"
    __table_args__ = (UniqueConstraint("clinic_id", "subject_type", "lineage_id", name="uq_sharing_withholding"),
                      Index("ix_sharing_withholding_patient", "clinic_id", "patient_id"))

    subject_type: Mapped[str] = mapped_column(String(40))
    lineage_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(100), default="")
