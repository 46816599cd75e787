"""The drug master: the 支払基金 医薬品マスター (y), one row per レセ電 医薬品コード. National, not per clinic."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

#: 麻薬・毒薬・覚醒剤原料・向精神薬 (y master column 13).
NARCOTIC_CLASSES = {0: "", 1: "麻薬", 2: "毒薬", 3: "覚醒剤原料", 5: "向精神薬"}
#: 剤形 (y master column 27).
DOSAGE_FORMS = {1: "内用", 3: "その他", 4: "注射", 6: "外用", 8: "歯科用"}


class Drug(Base):
    """One product of the drug master."""

    __tablename__ = "drug"
    __table_args__ = (
        Index("ix_drug_kana_key", "kana_key"),
        Index("ix_drug_name_key", "name_key"),
        Index("ix_drug_yj_code", "yj_code"),
    )

    #: レセ電 医薬品コード (9 digits): what ORCA and receipts use.
    receipt_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    #: 医薬品名・規格名 as the master writes it (full-width), e.g. ロキソニン錠６０ｍｇ.
    name: Mapped[str] = mapped_column(String(200))
    #: カナ名称 as given (half-width katakana).
    kana: Mapped[str] = mapped_column(String(200))
    #: Search keys (app.core.jp.search_key): width, kana and variants folded.
    name_key: Mapped[str] = mapped_column(String(200))
    kana_key: Mapped[str] = mapped_column(String(200))
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
