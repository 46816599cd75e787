"""A prescription as printed: plain frozen values, independent of any database model.

A domain service maps its records onto these; construction checks what the paper form and the JAHIS
2D symbol need (formats of numbers and codes, doses, flags) and raises ValidationError with a Japanese
message. Field meanings follow the MHLW 様式第二号 and the JAHIS 院外処方箋2次元シンボル記録条件規約
(docs/standards/prescription.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from app.core.errors import ValidationError
from app.core.jp import to_halfwidth_digits

#: 処方箋の使用期間 when no date is written: 交付の日を含めて4日以内 (the form's printed rule).
DEFAULT_VALID_DAYS = 4
#: 剤形区分 of the JAHIS record 101.
RP_FORMS = {1: "内服", 2: "頓服", 3: "外用", 4: "内服滴剤", 5: "注射", 6: "医療材料", 9: "不明"}
#: 用量 in the JAHIS record 201: up to 6 integer and 5 decimal digits.
MAX_DOSE_INT_DIGITS, MAX_DOSE_DECIMALS = 6, 5
#: The paper form has boxes for two 公費 (the first at the top, the second at the bottom right).
MAX_PUBLIC_EXPENSES = 2
#: A refill prescription may be used up to 3 times (リフィル可 欄).
REFILL_COUNTS = {0, 2, 3}


def _digits(value: str) -> str:
    return to_halfwidth_digits((value or "").strip())


def _require(condition: bool, message: str, field_name: str) -> None:
    if not condition:
        raise ValidationError(message, field=field_name)


@dataclass(frozen=True)
class ClinicPrint:
    """保険医療機関: name, address, phone and the 10-digit 医療機関コード."""

    name: str
    #: 医療機関コード: 都道府県番号 2 + 点数表番号 1 + 医療機関番号 7.
    institution_code: str
    address: str = ""
    postal_code: str = ""
    phone: str = ""
    fax: str = ""
    #: 診療科 (optional on a clinic's prescription): レセ電 code (01 内科 …) and name.
    department_code: str = ""
    department_name: str = ""

    def __post_init__(self) -> None:
        code = _digits(self.institution_code)
        _require(bool(re.fullmatch(r"[0-9]{10}", code)), "医療機関コードは10桁の数字です", "institution_code")
        _require(1 <= int(code[:2]) <= 47, "医療機関コードの都道府県番号（先頭2桁）が01〜47ではありません",
                 "institution_code")
        object.__setattr__(self, "institution_code", code)
        _require(bool(self.name.strip()), "医療機関の名称がありません", "clinic_name")

    @property
    def prefecture_code(self) -> str:
        """都道府県番号 (2 digits)."""
        return self.institution_code[:2]

    @property
    def score_table_code(self) -> str:
        """点数表番号 (1 医科)."""
        return self.institution_code[2]

    @property
    def facility_code(self) -> str:
        """医療機関コード in the narrow sense: the last 7 digits."""
        return self.institution_code[3:]


@dataclass(frozen=True)
class DoctorPrint:
    """保険医: name as printed, kana, and the 麻薬施用者免許証番号 when a 麻薬 is prescribed."""

    name: str
    kana: str = ""
    narcotic_licence_number: str = ""

    def __post_init__(self) -> None:
        _require(bool(self.name.strip()), "保険医氏名がありません", "doctor_name")


@dataclass(frozen=True)
class PatientPrint:
    """患者: name, kana, sex (M / F), birth date; address and phone are printed only for a 麻薬."""

    name: str
    kana: str
    sex: str
    birth_date: date
    #: The clinic's patient number (ORCA 患者番号), carried in the 2D symbol.
    patient_code: str = ""
    address: str = ""
    phone: str = ""

    def __post_init__(self) -> None:
        _require(bool(self.name.strip()), "患者氏名がありません", "patient_name")
        _require(bool(self.kana.strip()), "患者氏名のカナがありません", "patient_kana")
        _require(self.sex in ("M", "F"), "処方箋の性別は男・女のいずれかです", "patient_sex")


@dataclass(frozen=True)
class InsurancePrint:
    """医療保険: 保険者番号, 記号・番号・枝番, 本人 / 家族, 負担割合."""

    insurer_number: str
    symbol: str = ""
    number: str = ""
    branch: str = ""
    #: 本人 (被保険者) or 家族 (被扶養者).
    relation: str = "本人"
    #: 負担割合 in percent (30 = 3割); the 2D symbol carries it with the 給付割合 (100 − it).
    burden_percent: int | None = None
    #: JAHIS 保険種別 (record 21): 1 医保, 2 国保, 3 労災, 4 自賠, 5 公害, 6 自費, 7 後期高齢者.
    insurance_kind: str = ""
    #: JAHIS 一部負担区分 (record 14): 1 高齢者一般, 2 高齢者7割, 3 6歳未満, 5 高齢者8割.
    burden_class: str = ""

    def __post_init__(self) -> None:
        number = _digits(self.insurer_number)
        _require(bool(re.fullmatch(r"[0-9]{6}|[0-9]{8}", number)), "保険者番号は6桁か8桁の数字です",
                 "insurer_number")
        object.__setattr__(self, "insurer_number", number)
        object.__setattr__(self, "branch", _digits(self.branch))
        _require(self.branch == "" or bool(re.fullmatch(r"[0-9]{1,2}", self.branch)), "枝番は2桁までの数字です",
                 "branch")
        _require(self.relation in ("本人", "家族"), "区分は本人（被保険者）か家族（被扶養者）です", "relation")
        _require(self.burden_percent is None or 0 <= self.burden_percent <= 100, "負担割合は0〜100%です",
                 "burden_percent")
        _require(self.insurance_kind in ("", "1", "2", "3", "4", "5", "6", "7"), "保険種別のコードが正しくありません",
                 "insurance_kind")
        _require(self.burden_class in ("", "1", "2", "3", "5"), "一部負担区分のコードが正しくありません",
                 "burden_class")

    @property
    def is_insured_person(self) -> bool:
        """被保険者 (本人), else 被扶養者 (家族)."""
        return self.relation == "本人"


@dataclass(frozen=True)
class PublicExpensePrint:
    """公費: 公費負担者番号 (8 digits) and 公費負担医療の受給者番号 (7 digits, absent for some schemes)."""

    payer_number: str
    recipient_number: str = ""

    def __post_init__(self) -> None:
        payer, recipient = _digits(self.payer_number), _digits(self.recipient_number)
        _require(bool(re.fullmatch(r"[0-9]{8}", payer)), "公費負担者番号は8桁の数字です", "payer_number")
        _require(recipient == "" or bool(re.fullmatch(r"[0-9]{7}", recipient)), "公費の受給者番号は7桁の数字です",
                 "recipient_number")
        object.__setattr__(self, "payer_number", payer)
        object.__setattr__(self, "recipient_number", recipient)


def _to_dose(value: Decimal | int | float | str) -> Decimal:
    try:
        dose = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValidationError(f"用量「{value}」は数値ではありません", field="dose") from exc
    _require(dose.is_finite() and dose > 0, "用量は0より大きい数にしてください", "dose")
    dose = dose.normalize()
    sign, digits, exponent = dose.as_tuple()
    decimals = max(0, -int(exponent))
    integer_digits = max(1, len(digits) + int(exponent))
    _require(integer_digits <= MAX_DOSE_INT_DIGITS and decimals <= MAX_DOSE_DECIMALS,
             "用量は整数6桁・小数5桁までです", "dose")
    return dose


@dataclass(frozen=True)
class LinePrint:
    """One drug line of an Rp, with the codes the 2D symbol carries.

    `dose` is the JAHIS 用量: per day for 内服, per time for 頓服, the total for 外用. `name` is the
    name as printed: the 【般】 name for 一般名処方, else the product name.
    """

    name: str
    dose: Decimal
    unit: str
    receipt_code: str = ""
    yj_code: str = ""
    generic_code: str = ""
    by_generic_name: bool = False
    #: 変更不可（医療上必要）: the pharmacy may not substitute.
    no_substitution: bool = False
    #: 患者希望: the brand was prescribed at the patient's wish (先発医薬品患者希望).
    patient_request: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "dose", _to_dose(self.dose))
        _require(bool(self.name.strip()), "薬品名がありません", "drug_name")
        _require(bool(self.unit.strip()), f"{self.name}の単位がありません", "unit")
        if self.by_generic_name:
            _require(bool(re.fullmatch(r"[0-9A-Z]{12}", self.generic_code)),
                     f"{self.name}: 一般名処方には一般名コード（12桁）が要ります", "generic_code")
            _require(not (self.no_substitution or self.patient_request),
                     f"{self.name}: 一般名処方に「変更不可」「患者希望」は付けられません", "no_substitution")
        else:
            _require(bool(re.fullmatch(r"[0-9]{9}", self.receipt_code) or re.fullmatch(r"[0-9A-Z]{12}", self.yj_code)),
                     f"{self.name}: 薬品コード（レセ電コード9桁またはYJコード12桁）がありません", "receipt_code")
        _require(not (self.no_substitution and self.patient_request),
                 f"{self.name}: 「変更不可（医療上必要）」と「患者希望」は同時に付けられません", "patient_request")


@dataclass(frozen=True)
class RpPrint:
    """One Rp (剤): its lines, one usage, and the days (内服) or times (頓服) to dispense."""

    form: int
    usage_text: str
    quantity: int
    lines: tuple[LinePrint, ...]
    #: JAMI 16-digit 用法コード when the usage is coded; empty for a free-text usage.
    usage_code: str = ""
    times_per_day: int | None = None
    #: 剤形名称, only for form 9 (不明).
    form_name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        _require(self.form in RP_FORMS, "剤形区分が正しくありません", "form")
        _require(bool(self.lines), "薬品のないRpがあります", "lines")
        _require(bool(self.usage_text.strip()), "用法がありません", "usage_text")
        _require(isinstance(self.quantity, int) and 1 <= self.quantity <= 999, "日数・回数は1〜999です", "quantity")
        _require(self.usage_code == "" or bool(re.fullmatch(r"[0-9A-Z]{16}", self.usage_code)),
                 "用法コードは16桁です", "usage_code")
        _require(self.times_per_day is None or 1 <= self.times_per_day <= 24, "1日の回数が正しくありません",
                 "times_per_day")

    @property
    def form_label(self) -> str:
        """内服 / 頓服 / 外用 …"""
        return self.form_name if self.form == 9 and self.form_name else RP_FORMS[self.form]


@dataclass(frozen=True)
class PrescriptionPrint:
    """Everything the printed 院外処方箋 (様式第二号) and its JAHIS 2D symbol carry.

    `valid_until` None means the form's default (交付の日を含めて4日以内). An `exchange_number` (引換番号) is
    set when the paper prescription was registered with the 電子処方箋管理サービス: the form prints
    「電子処方箋対応」 with it and its symbol carries record 82. (An electronic prescription is not printed: the
    patient gets the service's own 処方内容（控え）.)
    """

    clinic: ClinicPrint
    doctor: DoctorPrint
    patient: PatientPrint
    issued_on: date
    rps: tuple[RpPrint, ...]
    insurance: InsurancePrint | None = None
    public_expenses: tuple[PublicExpensePrint, ...] = ()
    valid_until: date | None = None
    remarks: str = ""
    #: リフィル: total number of uses (2 or 3); 0 for an ordinary prescription.
    refill_count: int = 0
    exchange_number: str = ""
    #: A 麻薬 is prescribed: the 麻薬施用者免許証番号 and the patient's address are printed and sent.
    has_narcotic: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rps", tuple(self.rps))
        object.__setattr__(self, "public_expenses", tuple(self.public_expenses))
        _require(bool(self.rps), "処方がありません", "rps")
        _require(len(self.public_expenses) <= MAX_PUBLIC_EXPENSES, "処方箋に書ける公費は2つまでです",
                 "public_expenses")
        _require(self.valid_until is None or self.valid_until >= self.issued_on,
                 "処方箋の使用期間が交付年月日より前です", "valid_until")
        _require(self.refill_count in REFILL_COUNTS, "リフィルの回数は2回か3回です", "refill_count")
        _require(not self.has_narcotic or bool(self.doctor.narcotic_licence_number.strip()),
                 "麻薬の処方には麻薬施用者免許証番号が要ります", "narcotic_licence_number")
        _require(self.exchange_number == "" or bool(re.fullmatch(r"[0-9]{6}", self.exchange_number)),
                 "引換番号は6桁の数字です", "exchange_number")

    @property
    def last_valid_day(self) -> date:
        """The last day the pharmacy may accept it (default: the issue date plus 3 days)."""
        return self.valid_until or self.issued_on + timedelta(days=DEFAULT_VALID_DAYS - 1)

    @property
    def has_default_validity(self) -> bool:
        """Whether the validity is the form's default (then the 使用期間 box stays empty)."""
        return self.last_valid_day == self.issued_on + timedelta(days=DEFAULT_VALID_DAYS - 1)

    @property
    def is_registered_paper(self) -> bool:
        """Whether this paper prescription was registered with the 電子処方箋管理サービス (has an 引換番号)."""
        return bool(self.exchange_number)

    @property
    def lines(self) -> tuple[LinePrint, ...]:
        """All drug lines, Rp by Rp."""
        return tuple(line for rp in self.rps for line in rp.lines)
