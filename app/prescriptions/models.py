"""The drug master (支払基金 医薬品マスター y: national, not per clinic) and the clinic's prescriptions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.master_rows import SearchKeys, prefix_indexes
from app.db import Base, ClinicScoped, PatientScoped, UTCDateTime, utcnow

#: 麻薬・毒薬・覚醒剤原料・向精神薬 (y master column 13).
NARCOTIC_CLASSES = {0: "", 1: "麻薬", 2: "毒薬", 3: "覚醒剤原料", 5: "向精神薬"}
#: 剤形 (y master column 27).
DOSAGE_FORMS = {1: "内用", 3: "その他", 4: "注射", 6: "外用", 8: "歯科用"}


class Drug(SearchKeys, Base):
    """One product of the drug master."""

    __tablename__ = "drug"
    __table_args__ = (
        *prefix_indexes("drug", "kana_key", "name_key", "generic_key"),
        Index("ix_drug_yj_code", "yj_code"),
        # Other institutions' prescriptions name a drug by its 一般名 code (one of dozens of products).
        Index("ix_drug_generic_code", "generic_code"),
    )

    #: レセ電 医薬品コード (9 digits): what ORCA and receipts use.
    receipt_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    #: 医薬品名・規格名 as the master writes it (full-width), e.g. ロキソニン錠６０ｍｇ.
    name: Mapped[str] = mapped_column(String(200))
    #: カナ名称 as given (half-width katakana).
    kana: Mapped[str] = mapped_column(String(200))
    #: 単位 (錠, ｇ, ｍＬ, 枚 …).
    unit: Mapped[str] = mapped_column(String(20))
    #: 薬価基準収載医薬品コード (12 chars). First 4 = 薬効分類, first 7 = ingredient and route, 8th = form.
    yj_code: Mapped[str] = mapped_column(String(12), default="")
    #: 一般名コード (12 chars, ends in ZZZ) and 一般名処方の標準的な記載 (【般】…), empty when none.
    generic_code: Mapped[str] = mapped_column(String(12), default="")
    generic_name: Mapped[str] = mapped_column(String(200), default="")
    #: Search key of the 一般名 (so an ingredient typed in any kana finds every product of it).
    generic_key: Mapped[str] = mapped_column(String(200), default="")
    #: 薬価 in yen.
    price: Mapped[float | None] = mapped_column(Numeric(12, 2))
    #: 0 none, 1 麻薬, 2 毒薬, 3 覚醒剤原料, 5 向精神薬.
    narcotic_class: Mapped[int] = mapped_column(Integer, default=0)
    #: 後発品.
    is_generic: Mapped[bool] = mapped_column(default=False)
    #: 剤形 class: 1 内用, 4 注射, 6 外用 …
    dosage_form: Mapped[int] = mapped_column(Integer, default=0)
    #: 廃止年月日: None while the product is in use (the master writes 99999999).
    end_date: Mapped[date | None] = mapped_column(Date)
    #: 経過措置年月日: the last day it may be prescribed under its old listing, None when none.
    transitional_deadline: Mapped[date | None] = mapped_column(Date)
    #: 薬価基準収載年月日: a new drug may be prescribed for at most 14 days in its first year (投与期間制限).
    listing_date: Mapped[date | None] = mapped_column(Date)
    #: Which master file the row came from (yyyymmdd).
    master_version: Mapped[str] = mapped_column(String(8), default="")

    @property
    def ingredient_code(self) -> str:
        """The first 7 characters of the 薬価基準 code: same ingredient and route (masters.md)."""
        return self.yj_code[:7]

    @property
    def class_code(self) -> str:
        """The first 4 characters of the 薬価基準 code: the 薬効分類."""
        return self.yj_code[:4]

    @property
    def narcotic_label(self) -> str:
        """麻薬 / 向精神薬 … or empty."""
        return NARCOTIC_CLASSES.get(self.narcotic_class, "")


# --- prescriptions --------------------------------------------------------------------------------------

#: Rp kinds as the JAHIS 2D symbol numbers them (record 101 剤形区分).
RP_FORMS = {1: "内服", 2: "頓服", 3: "外用"}
ISSUED, CANCELLED = "issued", "cancelled"
#: How a prescription is issued (docs/standards/eprescription.md §6).
ISSUE_MODES = {"paper": "紙の処方箋（登録なし）", "paper_exchange": "紙の処方箋（引換番号あり）",
               "electronic": "電子処方箋"}


class Prescription(PatientScoped, Base):
    """An outpatient prescription (院外処方箋). Immutable once issued: a change is a cancellation plus a new one."""

    __tablename__ = "prescription"
    __table_args__ = (Index("ix_prescription_patient", "clinic_id", "patient_id", "issued_on"),)

    #: The prescribing doctor, and the name as printed.
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    doctor_name: Mapped[str] = mapped_column(String(100))
    #: 交付年月日 and the last day of 処方箋の使用期間 (default: 4 days including the issue date).
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: issued / cancelled.
    status: Mapped[str] = mapped_column(String(12), default=ISSUED)
    #: paper (printed, not registered), paper_exchange (printed, registered with the 電子処方箋管理サービス: 引換番号)
    #: or electronic (電子処方箋, signed; the patient gets the service's 控え).
    mode: Mapped[str] = mapped_column(String(16), default="paper")
    #: The patient's consent to the service's duplicate check seeing other institutions' medicines: card (at the
    #: 顔認証付きカードリーダー), oral (口頭同意), or "" none.
    consent: Mapped[str] = mapped_column(String(8), default="")
    #: リフィル: total number of uses (2 or 3); 0 for an ordinary prescription.
    refill_count: Mapped[int] = mapped_column(Integer, default=0)
    #: 備考.
    remarks: Mapped[str] = mapped_column(Text, default="")
    #: The check results the doctor saw and acknowledged before issuing (kept with the prescription).
    acknowledged_checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: A prescription this one replaces (after cancelling it), and why it was cancelled.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("prescription.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    #: 電子処方箋管理サービス: "" (not registered), sending, registered, rejected, cancelling, cancelled,
    #: cancel_failed — delivery state, not content.
    eprescription_status: Mapped[str] = mapped_column(String(16), default="")
    #: The service's id, the 引換番号 the patient takes to the pharmacy, and the service's check warnings.
    eprescription_id: Mapped[str] = mapped_column(String(64), default="")
    exchange_number: Mapped[str] = mapped_column(String(20), default="")
    eprescription_warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    eprescription_error: Mapped[str] = mapped_column(String(500), default="")
    #: Our identifier of the registration (request file and ArbitraryFileIdentifier): a retry sends the same one.
    eprescription_request: Mapped[str] = mapped_column(String(40), default="")
    #: At the pharmacy, as last read from the service: 未受付, 受付済, 調剤中, 調剤済, 回収済, 取消済; the pharmacy's
    #: name and what it dispensed ({code, name, quantity, unit}).
    pharmacy_state: Mapped[str] = mapped_column(String(12), default="")
    pharmacy_name: Mapped[str] = mapped_column(String(120), default="")
    dispensed: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    state_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Billing to ORCA (中途データ, medicalmodv2): "" not sent (no ORCA), sending, sent, rejected, deleting,
    #: deleted, delete_failed. ORCA's Medical_Uid is the key to delete it when the prescription is cancelled.
    orca_billing_status: Mapped[str] = mapped_column(String(16), default="")
    orca_medical_uid: Mapped[str] = mapped_column(String(64), default="")
    #: Lines ORCA dropped (M01 …) or its notice (既に同日の診療データ…), and the reason of a refusal.
    orca_billing_warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    orca_billing_error: Mapped[str] = mapped_column(String(500), default="")
    #: The 支払基金 チェックマスタ edition the checks ran on when it was issued ("" when none was loaded).
    check_master_version: Mapped[str] = mapped_column(String(60), default="")

    rps: Mapped[list[PrescriptionRp]] = relationship(back_populates="prescription", order_by="PrescriptionRp.number",
                                                     cascade="all, delete-orphan")


class PrescriptionRp(Base):
    """One Rp (剤): lines taken together with one usage for the same days."""

    __tablename__ = "prescription_rp"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescription.id"), index=True)
    #: Rp number (1, 2, …).
    number: Mapped[int] = mapped_column(Integer)
    #: 1 内服, 2 頓服, 3 外用.
    form: Mapped[int] = mapped_column(Integer)
    #: JAMI 16-digit 用法コード when the usage comes from the master; empty for a free-text usage (頓用 …).
    usage_code: Mapped[str] = mapped_column(String(16), default="")
    #: 用法 as printed, e.g. １日３回朝昼夕食後, 疼痛時.
    usage_text: Mapped[str] = mapped_column(String(100))
    times_per_day: Mapped[int | None] = mapped_column(Integer)
    #: Days (内服) or times (頓服), or 1 for a 外用 supply.
    quantity: Mapped[int] = mapped_column(Integer)

    prescription: Mapped[Prescription] = relationship(back_populates="rps")
    lines: Mapped[list[PrescriptionLine]] = relationship(back_populates="rp", order_by="PrescriptionLine.seq",
                                                         cascade="all, delete-orphan")


class PrescriptionLine(Base):
    """One drug of an Rp."""

    __tablename__ = "prescription_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    rp_id: Mapped[int] = mapped_column(ForeignKey("prescription_rp.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    #: The product picked from the drug master (kept as it was at the time).
    drug_receipt_code: Mapped[str] = mapped_column(String(9))
    drug_name: Mapped[str] = mapped_column(String(200))
    yj_code: Mapped[str] = mapped_column(String(12), default="")
    #: 一般名処方: printed and sent as the 一般名 (code and 【般】 name) instead of the product.
    by_generic_name: Mapped[bool] = mapped_column(default=False)
    generic_code: Mapped[str] = mapped_column(String(12), default="")
    generic_name: Mapped[str] = mapped_column(String(200), default="")
    #: 変更不可 (医療上必要): the pharmacy may not substitute a generic.
    no_substitution: Mapped[bool] = mapped_column(default=False)
    #: 用量: per day for 内服, per time for 頓服, the total for 外用.
    dose: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))

    rp: Mapped[PrescriptionRp] = relationship(back_populates="lines")

    @property
    def printed_name(self) -> str:
        """The name as printed: the 一般名 for 一般名処方, else the product."""
        return self.generic_name if self.by_generic_name and self.generic_name else self.drug_name


class RemoteSigningSession(ClinicScoped, Base):
    """A doctor's authentication of the day with the HPKIセカンド電子証明書 remote signing service: its token (sealed
    at rest) signs that doctor's electronic prescriptions until the day ends (Japan time)."""

    __tablename__ = "remote_signing_session"
    __table_args__ = (Index("ix_remote_signing_session_user", "clinic_id", "user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    day: Mapped[date] = mapped_column(Date)
    token: Mapped[str] = mapped_column(Text)
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- the 支払基金 チェックマスタ (national, not per clinic; one edition loaded at a time) -----------------------

class CheckMasterVersion(Base):
    """An edition of the check master that was loaded; the current one is what the checks read."""

    __tablename__ = "check_master_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The edition as named on every finding (yyyymmdd of the published ZIP, or as given when loading).
    version: Mapped[str] = mapped_column(String(60))
    #: The ZIP or directory it was read from (its name only).
    source_name: Mapped[str] = mapped_column(String(200), default="")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pair_count: Mapped[int] = mapped_column(Integer, default=0)
    disease_rule_count: Mapped[int] = mapped_column(Integer, default=0)
    dose_rule_count: Mapped[int] = mapped_column(Integer, default=0)
    is_current: Mapped[bool] = mapped_column(default=False)


class CheckMasterDrug(Base):
    """A drug the loaded check master names, and in which of its tables: a drug not here has no row at all
    (its checks are 未確認), while a drug here without pairs simply has no 併用禁忌 in the master."""

    __tablename__ = "check_master_drug"

    drug_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    has_pairs: Mapped[bool] = mapped_column(default=False)
    has_disease_rules: Mapped[bool] = mapped_column(default=False)
    has_dose_rules: Mapped[bool] = mapped_column(default=False)


class CheckInteraction(Base):
    """医薬品併用禁忌 (IY_HeiyoKinki): kept in both directions, so one drug's pairs are one index range."""

    __tablename__ = "check_interaction"
    __table_args__ = (Index("ix_check_interaction_pair", "drug_code", "other_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drug_code: Mapped[str] = mapped_column(String(9))
    other_code: Mapped[str] = mapped_column(String(9))
    #: 参照範囲 (e.g. R08) and, for the rows shipped for the demo, where the fact was read.
    ref_range: Mapped[str] = mapped_column(String(10), default="")
    source: Mapped[str] = mapped_column(String(300), default="")


class CheckDiseaseRule(Base):
    """傷病名禁忌 (IY_ShobyoKinki): the drug must not be given to a patient with the disease."""

    __tablename__ = "check_disease_rule"
    __table_args__ = (Index("ix_check_disease_rule_drug", "drug_code", "disease_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drug_code: Mapped[str] = mapped_column(String(9))
    disease_code: Mapped[str] = mapped_column(String(7))
    ref_range: Mapped[str] = mapped_column(String(10), default="")
    source: Mapped[str] = mapped_column(String(300), default="")


#: IY_Tekio's disease code of a row that holds whatever the diagnosis (無条件).
ANY_DISEASE = "0000000"


class CheckDoseRule(Base):
    """医薬品適応・投与量 (IY_Tekio): an indication of a drug, with its maximum daily dose and days when the row
    defines them; one drug has a few dozen rows, read by (drug_code, disease_code)."""

    __tablename__ = "check_dose_rule"
    __table_args__ = (Index("ix_check_dose_rule_drug", "drug_code", "disease_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drug_code: Mapped[str] = mapped_column(String(9))
    #: 傷病名コード of the indication, ANY_DISEASE for a row without one.
    disease_code: Mapped[str] = mapped_column(String(7))
    #: "" any, "1" male, "2" female; ages in years (inclusive).
    sex: Mapped[str] = mapped_column(String(1), default="")
    age_min: Mapped[int] = mapped_column(Integer, default=0)
    age_max: Mapped[int] = mapped_column(Integer, default=999)
    #: 最大投与量 per day in the drug's unit, 最長投与日数; None when the row does not define them.
    max_dose: Mapped[float | None] = mapped_column(Float)
    max_days: Mapped[int | None] = mapped_column(Integer)
    #: 適宜増減: the dose may be adjusted to the patient (a higher dose is a warning, not an error).
    is_adjustable: Mapped[bool] = mapped_column(default=False)
    ref_range: Mapped[str] = mapped_column(String(10), default="")
    source: Mapped[str] = mapped_column(String(300), default="")
