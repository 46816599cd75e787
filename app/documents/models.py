"""Referral letters (診療情報提供書, 別紙様式11) the clinic writes: to a named institution and doctor, with the parts
pulled in from the record (自動引用) and edited by the doctor, and what has happened to each letter; the clinic's
address book of institutions it refers to (紹介先)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ClinicScoped, PatientScoped, PostalContact, Timestamps, UTCDateTime

DRAFT, FINAL = "draft", "final"
#: The one honorific printed after the addressee (敬称): 先生, or 御侍史 / 御机下 (脇付, written to the doctor's desk).
HONORIFICS = ("先生", "御侍史", "御机下")
#: Electronic sharing through the 電子カルテ情報共有サービス: not shared, queued, shared, refused, retrying.
SHARE_LABELS = {"": "未共有", "queued": "共有待ち", "shared": "共有済", "refused": "共有拒否", "retrying": "再送待ち"}


class ReferralLetter(PatientScoped, Timestamps, Base):
    """One 診療情報提供書. Editable while a draft; once confirmed it is printed, sent and shared as it stands."""

    __tablename__ = "referral_letter"
    __table_args__ = (Index("ix_referral_letter_patient", "clinic_id", "patient_id", "written_on"),)

    #: The writing doctor, and the name as printed.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    #: 紹介先: institution (name and, when known, its 医療機関コード), department and doctor.
    to_institution: Mapped[str] = mapped_column(String(200))
    to_institution_code: Mapped[str] = mapped_column(String(10), default="")
    to_department: Mapped[str] = mapped_column(String(100), default="")
    to_doctor: Mapped[str] = mapped_column(String(100), default="")
    #: The honorific chosen for the addressee (one of HONORIFICS; the name itself is stored without one).
    honorific: Mapped[str] = mapped_column(String(8), default=HONORIFICS[0])
    #: The address book entry the 紹介先 was taken from (its fields were copied and may have been edited).
    destination_id: Mapped[int | None] = mapped_column(ForeignKey("referral_destination.id"))
    #: 紹介目的, 傷病名, 既往歴及び家族歴, 症状経過及び検査結果 (現病歴), 治療経過, 現在の処方, 検査結果, アレルギー,
    #: 添付画像 (key images), 備考 — pulled in from the record, then edited.
    purpose: Mapped[str] = mapped_column(Text, default="")
    diagnoses: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[str] = mapped_column(Text, default="")
    course: Mapped[str] = mapped_column(Text, default="")
    treatment: Mapped[str] = mapped_column(Text, default="")
    medicines: Mapped[str] = mapped_column(Text, default="")
    lab_results: Mapped[str] = mapped_column(Text, default="")
    allergies: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[str] = mapped_column(Text, default="")
    #: Key images attached (app/imaging KeyImage ids): printed in the letter from their stored copies.
    key_image_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    remarks: Mapped[str] = mapped_column(Text, default="")
    #: 記載日.
    written_on: Mapped[date] = mapped_column(Date)
    #: draft / final (confirmed: no more edits).
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: 送付 (handed to the patient or posted), first print, and electronic sharing with its state and reason.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    share_status: Mapped[str] = mapped_column(String(12), default="")
    share_error: Mapped[str] = mapped_column(Text, default="")
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The document's Bundle.identifier value at the service, and when the recipient read it.
    document_id: Mapped[str] = mapped_column(String(120), default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def share_label(self) -> str:
        """未共有 / 共有待ち / 共有済 / 共有拒否 / 再送待ち."""
        return SHARE_LABELS.get(self.share_status, self.share_status)


class ReferralDestination(ClinicScoped, PostalContact, Timestamps, Base):
    """One entry of a clinic's 紹介先 address book: a hospital (or clinic), a department and a doctor, with the
    address and numbers to post or fax a letter. Retired entries stay (letters point at them) but are not offered."""

    __tablename__ = "referral_destination"
    __table_args__ = (Index("ix_referral_destination_clinic", "clinic_id", "institution", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution: Mapped[str] = mapped_column(String(200))
    #: 医療機関コード (10 digits) when known: needed to share a letter electronically.
    institution_code: Mapped[str] = mapped_column(String(10), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    #: The doctor's name without an honorific ("" when letters go to the department's 担当医).
    doctor: Mapped[str] = mapped_column(String(100), default="")
    fax: Mapped[str] = mapped_column(String(30), default="")
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def label(self) -> str:
        """One line for choosing: institution, department, doctor."""
        return " ".join(p for p in (self.institution, self.department, self.doctor and f"{self.doctor} 医師") if p)
