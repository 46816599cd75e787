"""Patients: demographics and insurance synced from ORCA, with Kamikarte's own ID."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ClinicScoped, PostalContact, Timestamps, UTCDateTime

SEX_LABELS = {"M": "男", "F": "女", "U": "不明"}


class Patient(ClinicScoped, PostalContact, Timestamps, Base):
    """A patient of one clinic. ORCA is the source of demographics and insurance; the id is Kamikarte's."""

    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ORCA's 患者番号 (zero-padded as ORCA gives it, e.g. "00001").
    orca_patient_id: Mapped[str] = mapped_column(String(20))
    #: 氏名 in kanji, family and given name separated by a full-width or ASCII space as ORCA gives it.
    name: Mapped[str] = mapped_column(String(100))
    #: 氏名カナ (full-width katakana).
    kana: Mapped[str] = mapped_column(String(100))
    #: Search keys: variants and surname spellings folded, kana folded, no spaces (app.core.jp.name_search_key).
    name_key: Mapped[str] = mapped_column(String(100))
    kana_key: Mapped[str] = mapped_column(String(100))
    #: M / F (ORCA's 1 / 2).
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    #: 職業 as ORCA's patient registration holds it (printed on referral letters).
    occupation: Mapped[str] = mapped_column(String(100), default="")
    #: What the patient chose at the card reader for the prescription (オンライン資格確認 via ORCA): "1" 電子処方箋,
    #: "2" 紙, "" not known — the order form's default.
    prescription_issue_choice: Mapped[str] = mapped_column(String(1), default="")
    #: Health insurances as synced from ORCA: [{insurer_number, symbol, number, branch, relation, burden_percent, ...}].
    insurances: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: 公費 as synced from ORCA: [{law_number, payer_number, recipient_number, name, ...}].
    public_expenses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    orca_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("clinic_id", "orca_patient_id", name="uq_patient_clinic_orca"),
        # id is part of the key so that "ORDER BY kana_key, id LIMIT n" is read in index order on PostgreSQL
        # (SQLite appends the rowid to every index by itself).
        Index("ix_patient_clinic_kana_key_id", "clinic_id", "kana_key", "id"),
        Index("ix_patient_clinic_name_key_id", "clinic_id", "name_key", "id"),
        Index("ix_patient_clinic_birth", "clinic_id", "birth_date"),
    )

    def __repr__(self) -> str:
        return f"<Patient {self.id} orca={self.orca_patient_id}>"

    @property
    def sex_label(self) -> str:
        """男 / 女."""
        return SEX_LABELS.get(self.sex, "")
