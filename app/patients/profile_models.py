"""The patient profile: vitals, blood type, allergies, 薬剤禁忌, 既往歴, 感染症, 予防接種, 障害, 要介護度.

Every item is versioned, never updated in place: a correction adds a new version with the same
`lineage_id` and marks the old one superseded; a withdrawal (取消) adds a version with `retracted` set.
The current state of an item is its one version with `superseded_at` empty.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.versioning import PatientRecordVersion
from app.db import Base, UTCDateTime

ProfileVersion = PatientRecordVersion


class VitalSign(ProfileVersion, Base):
    """One set of measurements taken together (at intake or during the visit)."""

    __tablename__ = "patient_vital_sign"

    #: When the measurements were taken.
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: 身長 cm, 体重 kg (BMI is computed, never stored).
    height_cm: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    #: 血圧 mmHg.
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    #: 脈拍 /分.
    pulse: Mapped[int | None] = mapped_column(Integer)
    #: 体温 °C.
    temperature_c: Mapped[float | None] = mapped_column(Float)
    #: SpO2 %.
    spo2: Mapped[int | None] = mapped_column(Integer)


class BloodType(ProfileVersion, Base):
    """ABO and Rh blood type, with who confirmed it and when (one current item per patient)."""

    __tablename__ = "patient_blood_type"

    #: A / B / O / AB / unknown.
    abo: Mapped[str] = mapped_column(String(8))
    #: + / - / unknown.
    rh: Mapped[str] = mapped_column(String(8))
    #: Who confirmed it (検査者・確認者) and on which day, e.g. 当院検査, 献血カード.
    confirmed_by: Mapped[str] = mapped_column(String(100), default="")
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")


class DrugReference:
    """Columns naming a drug at the chosen scope: one product, its ingredient, or its 薬効分類."""

    #: product / ingredient / class.
    drug_scope: Mapped[str | None] = mapped_column(String(12))
    #: The product picked from the drug master (レセ電 code and 薬価基準 code at the time).
    drug_receipt_code: Mapped[str | None] = mapped_column(String(9))
    drug_yj_code: Mapped[str | None] = mapped_column(String(12))
    #: The code matched by the checks: the whole YJ code, its first 7 (ingredient) or first 4 (薬効分類).
    drug_match_code: Mapped[str | None] = mapped_column(String(12))


class Allergy(ProfileVersion, DrugReference, Base):
    """An allergy: to a drug (product, ingredient or class), a food (allergen) or something else."""

    __tablename__ = "patient_allergy"

    #: drug / food / other.
    category: Mapped[str] = mapped_column(String(8))
    #: What the patient reacts to, as shown: the drug, 一般名 or class name, the allergen, ラテックス …
    substance: Mapped[str] = mapped_column(String(200))
    #: 症状, e.g. 蕁麻疹, 呼吸困難.
    reaction: Mapped[str] = mapped_column(String(200), default="")
    #: mild / moderate / severe / anaphylaxis / unknown.
    severity: Mapped[str] = mapped_column(String(12), default="unknown")
    #: 発現日 (the day or the first of the month/year when only that is known).
    onset_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")


class Contraindication(ProfileVersion, DrugReference, Base):
    """A drug the patient must not be given (薬剤禁忌), with the reason."""

    __tablename__ = "patient_contraindication"

    #: The drug, ingredient or class as shown.
    substance: Mapped[str] = mapped_column(String(200))
    #: 理由, e.g. 妊娠中, 腎機能低下, 重症筋無力症.
    reason: Mapped[str] = mapped_column(String(200))


class PastHistory(ProfileVersion, Base):
    """A past illness or operation (既往歴)."""

    __tablename__ = "patient_past_history"

    disease: Mapped[str] = mapped_column(String(200))
    #: When, as the patient tells it: 2015年, 2010年〜2012年, 小児期.
    period: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class Infection(ProfileVersion, Base):
    """A test for an infection and its result (感染症)."""

    __tablename__ = "patient_infection"

    #: hbs_ag / hcv_ab / tpha / rpr / hiv_ab / htlv1_ab / other.
    kind: Mapped[str] = mapped_column(String(12))
    #: The test's name when kind is other (e.g. MRSA).
    kind_other: Mapped[str] = mapped_column(String(100), default="")
    #: positive / negative / equivocal.
    result: Mapped[str] = mapped_column(String(12))
    tested_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")


class Vaccination(ProfileVersion, Base):
    """A vaccination given (予防接種歴)."""

    __tablename__ = "patient_vaccination"

    vaccine: Mapped[str] = mapped_column(String(100))
    administered_on: Mapped[date] = mapped_column(Date)
    #: Which dose of the series (1回目, 2回目 …).
    dose_number: Mapped[int | None] = mapped_column(Integer)
    lot_number: Mapped[str] = mapped_column(String(50), default="")
    #: 接種部位, e.g. 左上腕.
    site: Mapped[str] = mapped_column(String(50), default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class Disability(ProfileVersion, Base):
    """A certified disability (障害) and its 手帳."""

    __tablename__ = "patient_disability"

    #: physical (身体障害者手帳) / mental (精神障害者保健福祉手帳) / intellectual (療育手帳).
    kind: Mapped[str] = mapped_column(String(12))
    #: 等級 as on the 手帳: 1級–6級, 1級–3級, A1/A2/B1/B2 …
    grade: Mapped[str] = mapped_column(String(20))
    certificate_number: Mapped[str] = mapped_column(String(50), default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class CareLevel(ProfileVersion, Base):
    """要介護度 with its certification period (one current item per patient)."""

    __tablename__ = "patient_care_level"

    #: support1, support2, care1 … care5, not_applicable.
    level: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class Pregnancy(ProfileVersion, Base):
    """妊娠・授乳: pregnant (with the expected delivery date), breast-feeding, or possibly pregnant, from when and
    until when (one current item per patient; a later state is a new version of it). Female patients only."""

    __tablename__ = "patient_pregnancy"

    #: pregnant (妊娠中) / lactating (授乳中) / possible (妊娠の可能性あり).
    status: Mapped[str] = mapped_column(String(12))
    #: Since when (確認日 or 開始日).
    since: Mapped[date] = mapped_column(Date)
    #: 分娩予定日: required while pregnant, empty otherwise.
    due_on: Mapped[date | None] = mapped_column(Date)
    #: The day it ended (分娩・授乳終了 …); from that day on it is no longer shown as a warning.
    ended_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
