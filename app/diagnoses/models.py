"""The disease and modifier masters (支払基金 傷病名マスター b / 修飾語マスター z: national) and the patient's
diagnoses (versioned: a correction never overwrites a confirmed record)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.master_rows import SearchKeys, prefix_indexes
from app.core.versioning import PatientRecordVersion
from app.db import Base

UNCODED = "0000999"  # ＊＊ 未コード化傷病名 ＊＊
SUSPECTED_SUFFIX = "8002"  # の疑い
OUTCOMES = {"continuing": "継続", "cured": "治癒", "died": "死亡", "discontinued": "中止", "transferred": "転医"}


class Disease(SearchKeys, Base):
    """One disease of the master."""

    __tablename__ = "disease"
    __table_args__ = prefix_indexes("disease", "kana_key", "name_key")

    #: レセ電 傷病名コード (7 digits).
    code: Mapped[str] = mapped_column(String(7), primary_key=True)
    #: 傷病名基本名称 and 省略名称.
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(200), default="")
    kana: Mapped[str] = mapped_column(String(200), default="")
    #: MEDIS 病名管理番号 and 病名交換用コード (the code JP-CLINS and referral letters carry).
    medis_key: Mapped[str] = mapped_column(String(8), default="")
    exchange_code: Mapped[str] = mapped_column(String(4), default="")
    #: ICD-10 (2013) codes.
    icd10: Mapped[str] = mapped_column(String(8), default="")
    icd10_2: Mapped[str] = mapped_column(String(8), default="")
    #: 単独使用禁止: only with a modifier. 保険請求外: not for billing.
    standalone_prohibited: Mapped[bool] = mapped_column(default=False)
    non_billable: Mapped[bool] = mapped_column(default=False)
    #: 特定疾患等対象区分 and 難病外来対象区分 as the master gives them ("00" none).
    specific_disease: Mapped[str] = mapped_column(String(2), default="00")
    nanbyo: Mapped[str] = mapped_column(String(2), default="00")
    #: 廃止年月日 (None while in use).
    end_date: Mapped[date | None] = mapped_column(Date)


class Modifier(Base):
    """One modifier (修飾語): a prefix (急性, 右 …) or a suffix (の疑い, の術後 …)."""

    __tablename__ = "modifier"
    __table_args__ = prefix_indexes("modifier", "kana_key")

    #: 修飾語コード (4 digits; 8xxx are suffixes).
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(100), default="")
    name_key: Mapped[str] = mapped_column(String(100))
    kana_key: Mapped[str] = mapped_column(String(100))
    #: 接頭語 / 接尾語.
    kind: Mapped[str] = mapped_column(String(8))
    #: 修飾語交換用コード, and the 修飾語管理番号 (what JP-CLINS' modifier extension carries).
    exchange_code: Mapped[str] = mapped_column(String(4), default="")
    medis_key: Mapped[str] = mapped_column(String(8), default="")
    end_date: Mapped[date | None] = mapped_column(Date)

    @property
    def is_suffix(self) -> bool:
        """Whether it follows the disease name."""
        return self.kind == "接尾語"


class Diagnosis(PatientRecordVersion, Base):
    """A patient's diagnosis (傷病名) with its modifiers, flags, dates and outcome."""

    __tablename__ = "patient_diagnosis"

    #: The disease code and the name as composed with its modifiers (「急性」気管支炎「の疑い」).
    disease_code: Mapped[str] = mapped_column(String(7))
    display_name: Mapped[str] = mapped_column(String(300))
    #: ICD-10 of the disease at the time.
    icd10: Mapped[str] = mapped_column(String(8), default="")
    #: Modifier codes in order: prefixes before the disease, suffixes after.
    prefix_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    suffix_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: 疑い病名 (the suffix の疑い 8002 is part of suffix_codes when set).
    is_suspected: Mapped[bool] = mapped_column(default=False)
    #: 主病.
    is_main: Mapped[bool] = mapped_column(default=False)
    #: 診療開始日.
    started_on: Mapped[date] = mapped_column(Date)
    #: 転帰: continuing, cured, died, discontinued, transferred; and the 転帰日.
    outcome: Mapped[str] = mapped_column(String(16), default="continuing")
    ended_on: Mapped[date | None] = mapped_column(Date)

    @property
    def icd10_display(self) -> str:
        """ICD-10 as printed, with its dot: I10, I20.8, M54.56."""
        code = self.icd10 or ""
        return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code

    @property
    def outcome_label(self) -> str:
        """継続 / 治癒 / 死亡 / 中止 / 転医."""
        return OUTCOMES.get(self.outcome, self.outcome)
