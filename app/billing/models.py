"""The 医科診療行為マスター (支払基金 s, national) with the edition it was loaded from, the 指導料・管理料 chosen
for a visit, a visit's own 中途データ (its fees sent to ORCA as one data, re-sent as a change), and ORCA's answer
about the patient's 初診算定日 kept for the visit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.master_rows import SearchKeys, prefix_indexes
from app.db import Base, PatientScoped, UTCDateTime, utcnow


class Procedure(SearchKeys, Base):
    """One 診療行為 of the master (レセ電算 code, points)."""

    __tablename__ = "procedure"
    __table_args__ = prefix_indexes("procedure", "kana_key", "name_key")

    #: 診療行為コード (9 digits).
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kana: Mapped[str] = mapped_column(String(200), default="")
    #: 点数識別 (3 = 点数) and the points.
    points_kind: Mapped[str] = mapped_column(String(1), default="3")
    points: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    #: 告示 chapter letter (A 基本診療料, B 医学管理等, C 在宅 …) and 区分番号 ("000" of B000).
    chapter: Mapped[str] = mapped_column(String(1), default="")
    section_no: Mapped[str] = mapped_column(String(3), default="")
    basic_name: Mapped[str] = mapped_column(String(200), default="")
    changed_on: Mapped[date | None] = mapped_column(Date)
    #: 廃止年月日 (None while in use).
    end_date: Mapped[date | None] = mapped_column(Date)
    #: The edition (file) the row was loaded from.
    master_version: Mapped[str] = mapped_column(String(60), default="")

    @property
    def section(self) -> str:
        """B000, A001 …"""
        return f"{self.chapter}{self.section_no}"


class ProcedureMasterVersion(Base):
    """Each load of the master: which file, when, how many rows (the newest is in force)."""

    __tablename__ = "procedure_master_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(60))
    source_name: Mapped[str] = mapped_column(String(200))
    row_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VisitFee(PatientScoped, Base):
    """A 指導料・管理料 the doctor chose for a visit (removed ones stay, marked)."""

    __tablename__ = "visit_fee"
    __table_args__ = (Index("ix_visit_fee_patient_month", "clinic_id", "patient_id", "visit_date"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    #: The rule's group when chosen (exclusive pairs, monthly counts).
    group: Mapped[str] = mapped_column(String(40), default="")
    chosen_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VisitBill(PatientScoped, Base):
    """A visit's own 中途データ: its fees, sent once (class 01) and re-sent as a change (class 03) per revision."""

    __tablename__ = "visit_bill"
    __table_args__ = (UniqueConstraint("clinic_id", "visit_id", name="uq_visit_bill_visit"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    #: 情報通信機器を用いた診療 (telephone / online): the fees' online variants apply.
    online: Mapped[bool] = mapped_column(default=False)
    #: Bumped at each change of the fees; sent_revision is the one ORCA holds.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    sent_revision: Mapped[int] = mapped_column(Integer, default=0)
    orca_billing_status: Mapped[str] = mapped_column(String(16), default="")
    orca_medical_uid: Mapped[str | None] = mapped_column(String(64))
    orca_billing_warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    orca_billing_error: Mapped[str] = mapped_column(String(500), default="")


class FirstVisitAnswer(PatientScoped, Base):
    """ORCA's answer about the patient's 初診算定日 (medicalmodv23), kept for one visit so that every render of the
    picker and the summary (in any app process) reads it instead of asking ORCA again: reused while the visit's
    revision and the day it was asked on stay the same, and shown with a note when ORCA cannot be asked."""

    __tablename__ = "first_visit_answer"
    __table_args__ = (UniqueConstraint("clinic_id", "visit_id", name="uq_first_visit_answer_visit"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"))
    #: What was asked: the visit's revision and ORCA's patient number at the time, and the day (Japan time).
    visit_revision: Mapped[int] = mapped_column(Integer)
    orca_patient_id: Mapped[str] = mapped_column(String(20))
    asked_on: Mapped[date] = mapped_column(Date)
    #: ORCA's 初診算定日 (None: ORCA holds none for the patient).
    first_calculation_date: Mapped[date | None] = mapped_column(Date)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
