"""Lab-item master, orders with their specimens, incoming result messages (stored raw first) and results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.master_rows import SearchKeys, prefix_indexes
from app.core.versioning import PatientRecordVersion, version_indexes
from app.db import Base, ClinicScoped, PatientScoped, StatusLabelled, UTCDateTime, utcnow

#: Order states as staff see them.
ORDER_STATES = {"queued": "送信待ち", "sent": "送信済み", "accepted": "受付済み", "rejected": "受付拒否",
                "partial": "結果一部到着", "complete": "結果到着（完了）", "cancelled": "取消"}
#: OBX-11 result status (HL7 table 0085) as stored.
RESULT_STATES = {"F": "確定", "C": "訂正", "P": "仮報告", "X": "検査不能"}


class LabItem(SearchKeys, Base):
    """One test of the lab company's menu (検査項目マスター)."""

    __tablename__ = "lab_item"
    __table_args__ = prefix_indexes("lab_item", "kana_key", "name_key")

    #: The lab company's own item code (what its order and result messages carry as a local code).
    lab_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: JLAC10 (17 characters) and JLAC11 (17 characters, may be empty): both kept, they do not map one to one.
    jlac10: Mapped[str] = mapped_column(String(17), index=True)
    jlac11: Mapped[str] = mapped_column(String(17), default="")
    #: Name, the abbreviation printed on labels, and kana for search.
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(30), default="")
    kana: Mapped[str] = mapped_column(String(100), default="")
    #: Specimen (材料) and its JLAC10 material code (023 血清, 022 血漿, 019 全血(添加物入り), 001 尿).
    specimen: Mapped[str] = mapped_column(String(40))
    specimen_code: Mapped[str] = mapped_column(String(3))
    #: The container (採取容器) the lab asks for: tests sharing specimen and container share one tube.
    container: Mapped[str] = mapped_column(String(60))
    #: Display unit and its ASCII (ISO+) form for OBX-6.
    unit: Mapped[str] = mapped_column(String(30), default="")
    unit_ascii: Mapped[str] = mapped_column(String(30), default="")
    #: HL7 value type of the result: NM (number) or ST (text).
    value_type: Mapped[str] = mapped_column(String(2), default="NM")
    #: Reference range by sex, "low-high" (a qualitative item holds its normal text, e.g. (−)).
    ref_male: Mapped[str] = mapped_column(String(40), default="")
    ref_female: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    #: レセ電算 診療行為コード (9 digits) ORCA bills the test under; empty when unknown (shown as 請求コード未設定).
    #: Several items may share one (the 血算 items are one 末梢血液一般検査).
    receipt_code: Mapped[str] = mapped_column(String(9), default="")

    def reference_for(self, sex: str) -> str:
        """The reference range for a patient's sex (M/F)."""
        return self.ref_female if sex == "F" else self.ref_male


class LabSet(SearchKeys, Base):
    """A set of tests ordered together (e.g. 生活習慣病セット)."""

    __tablename__ = "lab_set"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(100), default="")
    #: The lab codes of the set, in order.
    lab_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class LabOrder(StatusLabelled, PatientScoped, Base):
    """An order to the outside lab: tests grouped into specimens, sent as OML^O33."""

    __tablename__ = "lab_order"
    status_labels = ORDER_STATES
    __table_args__ = (UniqueConstraint("clinic_id", "order_number", name="uq_lab_order_number"),
                      # A patient's orders, and what a result's composite foreign key refers to (LabResult). The
                      # id comes last: an index on (clinic_id, patient_id) beside it would tempt the planner to
                      # check each result's key by scanning all of the patient's orders.
                      Index("ux_lab_order_patient", "clinic_id", "patient_id", "id", unique=True))

    #: Placer order number (ORC-2 / OBR-2).
    order_number: Mapped[str] = mapped_column(String(20))
    #: The day the specimens are taken (採取日) in Japan.
    ordered_on: Mapped[date] = mapped_column(Date)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ordered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    ordered_by_name: Mapped[str] = mapped_column(String(100), default="")
    #: queued, sent, accepted, rejected, partial, complete (ORDER_STATES) and the lab's words on the last change.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    status_detail: Mapped[str] = mapped_column(String(500), default="")
    #: MSH-10 of the OML^O33 sent.
    message_control_id: Mapped[str] = mapped_column(String(40), default="")
    comment: Mapped[str] = mapped_column(String(200), default="")
    #: A cancelled order keeps its row: when and why (the lab and ORCA are told through the outbox).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    #: Billing to ORCA (中途データ, medicalmodv2; app/billing/orca_interim.py): "" not sent (no ORCA, or nothing
    #: with a billing code), sending, sent, rejected, deleting, deleted, delete_failed; ORCA's Medical_Uid.
    orca_billing_status: Mapped[str] = mapped_column(String(16), default="")
    orca_medical_uid: Mapped[str] = mapped_column(String(64), default="")
    #: Lines ORCA dropped (M01 …) or its notice, and the reason of a refusal.
    orca_billing_warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    orca_billing_error: Mapped[str] = mapped_column(String(500), default="")

    specimens: Mapped[list[LabSpecimen]] = relationship(back_populates="order", order_by="LabSpecimen.seq",
                                                        cascade="all, delete-orphan")


class LabSpecimen(PatientScoped, Base):
    """One container of an order, with its specimen number (the barcode on the label)."""

    __tablename__ = "lab_specimen"
    __table_args__ = (UniqueConstraint("clinic_id", "specimen_number", name="uq_lab_specimen_number"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("lab_order.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    #: 検体番号: digits with a check digit (SPM-2).
    specimen_number: Mapped[str] = mapped_column(String(20))
    specimen: Mapped[str] = mapped_column(String(40))
    specimen_code: Mapped[str] = mapped_column(String(3))
    container: Mapped[str] = mapped_column(String(60))
    #: The tests in this container: [{lab_code, jlac10, name, short_name, receipt_code}] as the master had them.
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)

    order: Mapped[LabOrder] = relationship(back_populates="specimens")


class LabMessage(ClinicScoped, Base):
    """An incoming result message, stored raw before anything else; imported once, or failed with the reason."""

    __tablename__ = "lab_message"
    __table_args__ = (UniqueConstraint("clinic_id", "sha256", name="uq_lab_message_sha256"),
                      # A control id imported before (the same message delivered again).
                      Index("ix_lab_message_control_key", "clinic_id", "control_key"),
                      # The failed messages shown to staff.
                      Index("ix_lab_message_status", "clinic_id", "status"),
                      # A patient's messages, and what a result's composite foreign key refers to (LabResult).
                      Index("ux_lab_message_patient", "clinic_id", "patient_id", "id", unique=True))

    #: No index of its own: every index of the table starts with it.
    clinic_id: Mapped[int] = mapped_column(Integer, ForeignKey("clinic.id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: push (the lab posted it), poll (we fetched it), file (lab import CLI).
    source: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(255), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    #: The codec the bytes were read with (iso2022_jp, …, cp932, utf-8).
    codec: Mapped[str] = mapped_column(String(20), default="")
    message_type: Mapped[str] = mapped_column(String(20), default="")
    #: MSH-3/MSH-4/MSH-10: the same control id from the same sender is the same message delivered again.
    control_key: Mapped[str] = mapped_column(String(120), default="")
    #: received, imported, failed, duplicate.
    status: Mapped[str] = mapped_column(String(12), default="received")
    error: Mapped[str] = mapped_column(Text, default="")
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LabResult(PatientRecordVersion, Base):
    """One test result; a corrected result (OBX-11 C) is a new version and the old one stays in the history.

    Every result comes from a stored message about one of the clinic's orders. Its clinic, patient, message and
    order are tied together by two composite foreign keys (to the message's and the order's own clinic and
    patient) instead of one key per column: the database checks each key for every row of an import, and two
    checks instead of five roughly halve what PostgreSQL spends storing an imported result. The patient and the
    clinic exist because the message refers to them. Noticed while measuring: on an order table that has never
    been analysed, PostgreSQL may plan the order-key check as a scan of the clinic's orders (60–90 µs a row
    instead of ~9); autovacuum analyses a live table within minutes, and bench/labs.py analyses its fresh orders.

    Every index is paid for by every imported row (~2 µs each on PostgreSQL), so the table has only those a query
    uses: the patient's current results (result table, trend), a lineage (history), and the current results of a
    specimen (what an import compares a new report with, and reads to work out an order's state). Nothing looks
    results up by message or order."""

    __tablename__ = "lab_result"
    __table_args__ = (*version_indexes("lab_result"),
                      Index("ix_lab_result_specimen_current", "clinic_id", "specimen_number",
                            postgresql_where=text("superseded_at IS NULL"), sqlite_where=text("superseded_at IS NULL")),
                      ForeignKeyConstraint(["message_id", "clinic_id", "patient_id"],
                                           ["lab_message.id", "lab_message.clinic_id", "lab_message.patient_id"],
                                           name="fk_lab_result_message"),
                      ForeignKeyConstraint(["order_id", "clinic_id", "patient_id"],
                                           ["lab_order.id", "lab_order.clinic_id", "lab_order.patient_id"],
                                           name="fk_lab_result_order"))

    clinic_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(Integer)
    #: The lab's message and the order it reports on; both empty for a test done in the clinic (院内検査).
    message_id: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(Integer)
    #: Measured in the clinic (尿定性, 迅速検査, CRP, 血糖 at the desk), recorded by a nurse or doctor: shown as 院内.
    is_in_house: Mapped[bool] = mapped_column(default=False)
    #: The specimen the result belongs to: a correction finds the version it replaces by it.
    specimen_number: Mapped[str] = mapped_column(String(20), default="")
    #: The master item, and the codes the lab reported.
    lab_code: Mapped[str] = mapped_column(String(16))
    jlac10: Mapped[str] = mapped_column(String(17), default="")
    name: Mapped[str] = mapped_column(String(100))
    #: OBX-4 sub-ID: tells apart several results of one item (e.g. two organisms of one culture).
    sub_id: Mapped[str] = mapped_column(String(20), default="")
    #: OBX-2 and OBX-5: the value as reported, and as a number when it is one.
    value_type: Mapped[str] = mapped_column(String(3), default="NM")
    value: Mapped[str] = mapped_column(String(200), default="")
    numeric_value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(30), default="")
    reference_range: Mapped[str] = mapped_column(String(60), default="")
    #: OBX-8 abnormal flag (H, L, HH, LL, A …), empty when normal.
    flag: Mapped[str] = mapped_column(String(4), default="")
    #: OBX-11: F final, C corrected, P preliminary, X no result.
    result_status: Mapped[str] = mapped_column(String(1), default="F")
    #: The lab's comments (NTE after the OBX).
    comment: Mapped[str] = mapped_column(String(500), default="")
    #: When the specimen was taken (OBX-14 / SPM-17) and that day in Japan: the column of the result table.
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    collected_on: Mapped[date] = mapped_column(Date)
