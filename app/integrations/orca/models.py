"""ORCA's patients, insurances and receptions as typed values, parsed strictly from API replies."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from app.core.checkdigit import luhn_valid
from app.core.timeutil import JST
from app.integrations.orca.errors import OrcaProtocolError

#: 法別番号 (first two digits of an 8-digit 保険者番号) → the insurance as staff call it.
#: A 6-digit 保険者番号 is 国民健康保険 (its third digit 3: a 国保組合).
HOUBETSU_NAMES = {
    "01": "協会けんぽ", "02": "船員保険", "03": "日雇特例（一般）", "04": "日雇特例（特別）", "06": "組合健保",
    "07": "自衛官等", "31": "国家公務員共済", "32": "地方公務員共済", "33": "警察共済", "34": "公立学校共済",
    "39": "後期高齢者医療",
}
RELATIONS = {"1": "本人", "2": "家族"}
SEXES = {"1": "M", "2": "F"}
OPEN_END = "9999-12-31"


@dataclass(frozen=True)
class OrcaPublicExpense:
    """One 公費 (public expense) of a patient."""

    class_code: str
    name: str
    payer_number: str
    recipient_number: str
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class OrcaInsurance:
    """One health insurance (保険組合せ as ORCA lists it)."""

    combination_number: str
    provider_class: str
    name: str
    insurer_number: str
    symbol: str
    number: str
    branch: str
    relation: str
    burden_percent: int | None
    valid_from: date | None = None
    valid_to: date | None = None
    public_expenses: tuple[OrcaPublicExpense, ...] = ()


@dataclass(frozen=True)
class OrcaPatient:
    """A patient as ORCA knows it."""

    patient_id: str
    name: str
    kana: str
    sex: str
    birth_date: date
    postal_code: str = ""
    address: str = ""
    phone: str = ""
    insurances: tuple[OrcaInsurance, ...] = ()
    public_expenses: tuple[OrcaPublicExpense, ...] = ()


@dataclass(frozen=True)
class OrcaReception:
    """One line of ORCA's 受付一覧."""

    reception_id: str
    patient_id: str
    patient_name: str
    kana: str
    sex: str
    birth_date: date
    department_code: str
    department_name: str
    physician_code: str
    physician_name: str
    accepted_at: datetime
    insurance_summary: str = ""
    insurance_combination: str = ""
    is_paid: bool = False


@dataclass(frozen=True)
class OrcaPushEvent:
    """A PUSH notification fetched with pusheventgetv2."""

    event_id: int
    uuid: str
    event: str
    time: str
    body: dict[str, Any] = field(default_factory=dict)


# --- strict field readers ----------------------------------------------------------------------------

def _text(record: dict[str, Any], key: str, what: str, *, required: bool = False) -> str:
    value = record.get(key, "")
    if not isinstance(value, str):
        raise OrcaProtocolError(f"ORCAの応答の{what}（{key}）が文字列ではありません")
    value = value.strip()
    if required and not value:
        raise OrcaProtocolError(f"ORCAの応答に{what}（{key}）がありません")
    if "\ufffd" in value or any(unicodedata.category(ch) == "Cc" for ch in value):
        raise OrcaProtocolError(f"ORCAの応答の{what}（{key}）に読み取れない文字が含まれています")
    return value


def _date(value: str, key: str, what: str, *, required: bool = False) -> date | None:
    value = (value or "").strip()
    if not value or value == OPEN_END:
        if required:
            raise OrcaProtocolError(f"ORCAの応答に{what}（{key}）がありません")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise OrcaProtocolError(f"ORCAの応答の{what}（{key}={value}）が正しい日付ではありません") from exc


def _time(value: str, key: str) -> time:
    try:
        return time.fromisoformat(value.strip())
    except ValueError as exc:
        raise OrcaProtocolError(f"ORCAの応答の時刻（{key}={value}）が正しくありません") from exc


def _records(value: Any) -> list[dict[str, Any]]:
    """A list from ORCA: drop the empty padding records of its fixed-size tables; a lone record is a list of one."""
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise OrcaProtocolError("ORCAの応答の一覧の形が正しくありません")
    return [v for v in value if isinstance(v, dict) and any(str(x).strip() for x in v.values())]


def _sex(value: str) -> str:
    if value not in SEXES:
        raise OrcaProtocolError(f"ORCAの応答の性別（Sex={value}）が1（男）・2（女）ではありません")
    return SEXES[value]


def insurance_type_name(insurer_number: str) -> str:
    """What staff call an insurance, from its 保険者番号; unknown numbers are an error, not a guess."""
    number = insurer_number.strip()
    if len(number) == 6 and number.isdigit():
        return "国保組合" if number[2] == "3" else "国民健康保険"
    if len(number) == 8 and number.isdigit() and number[:2] in HOUBETSU_NAMES:
        return HOUBETSU_NAMES[number[:2]]
    raise OrcaProtocolError(f"未対応の保険種別です（保険者番号 {number or '空欄'}）。ORCAの保険登録を確認してください")


def _burden(record: dict[str, Any]) -> int | None:
    rate = str(record.get("InsuranceCombination_Rate_Outpatient", "")).strip()
    if rate:
        try:
            return round(float(rate) * 100)
        except ValueError as exc:
            raise OrcaProtocolError(f"ORCAの応答の負担割合（{rate}）が数値ではありません") from exc
    name = unicodedata.normalize("NFKC", str(record.get("HealthInsuredPerson_Assistance_Name", "")))
    match = re.fullmatch(r"(\d)割", name.strip())
    return int(match.group(1)) * 10 if match else None


def parse_public_expense(record: dict[str, Any]) -> OrcaPublicExpense:
    """One 公費 record."""
    return OrcaPublicExpense(
        class_code=_text(record, "PublicInsurance_Class", "公費の種類", required=True),
        name=_text(record, "PublicInsurance_Name", "公費の名称"),
        payer_number=_text(record, "PublicInsurer_Number", "公費負担者番号"),
        recipient_number=_text(record, "PublicInsuredPerson_Number", "公費受給者番号"),
        valid_from=_date(record.get("Certificate_IssuedDate", ""), "Certificate_IssuedDate", "公費の開始日"),
        valid_to=_date(record.get("Certificate_ExpiredDate", ""), "Certificate_ExpiredDate", "公費の終了日"),
    )


def parse_insurance(record: dict[str, Any]) -> OrcaInsurance | None:
    """One insurance record; None for 自費 (no insurer)."""
    insurer = _text(record, "InsuranceProvider_Number", "保険者番号")
    publics = tuple(parse_public_expense(p) for p in _records(record.get("PublicInsurance_Information")))
    if not insurer:
        if publics:  # 公費単独
            return OrcaInsurance(_text(record, "Insurance_Combination_Number", "保険組合せ番号"), "", "公費単独", "",
                                 "", "", "", "", _burden(record), public_expenses=publics)
        return None
    type_name = insurance_type_name(insurer)
    if not luhn_valid(insurer):
        raise OrcaProtocolError(f"保険者番号 {insurer} の検証番号が一致しません。ORCAの保険登録を確認してください")
    relation = _text(record, "RelationToInsuredPerson", "本人家族区分")
    return OrcaInsurance(
        combination_number=_text(record, "Insurance_Combination_Number", "保険組合せ番号"),
        provider_class=_text(record, "InsuranceProvider_Class", "保険の種類"),
        name=type_name,
        insurer_number=insurer,
        symbol=_text(record, "HealthInsuredPerson_Symbol", "記号"),
        number=_text(record, "HealthInsuredPerson_Number", "番号"),
        branch=_text(record, "HealthInsuredPerson_Branch_Number", "枝番"),
        relation=RELATIONS.get(relation, ""),
        burden_percent=_burden(record),
        valid_from=_date(record.get("Certificate_StartDate", ""), "Certificate_StartDate", "保険の開始日"),
        valid_to=_date(record.get("Certificate_ExpiredDate", ""), "Certificate_ExpiredDate", "保険の終了日"),
        public_expenses=publics,
    )


def parse_patient(record: dict[str, Any]) -> OrcaPatient:
    """A patient from Patient_Information; every required field checked, nothing half-parsed."""
    if not isinstance(record, dict):
        raise OrcaProtocolError("ORCAの応答に患者情報（Patient_Information）がありません")
    address = record.get("Home_Address_Information") or {}
    insurances = [parse_insurance(r) for r in _records(record.get("HealthInsurance_Information"))]
    public_expenses = [parse_public_expense(r) for r in _records(record.get("PublicInsurance_Information"))]
    for insurance in insurances:
        if insurance:
            public_expenses.extend(p for p in insurance.public_expenses if p not in public_expenses)
    return OrcaPatient(
        patient_id=_text(record, "Patient_ID", "患者番号", required=True),
        name=_text(record, "WholeName", "氏名", required=True),
        kana=_text(record, "WholeName_inKana", "カナ氏名", required=True),
        sex=_sex(_text(record, "Sex", "性別", required=True)),
        birth_date=_date(record.get("BirthDate", ""), "BirthDate", "生年月日", required=True),  # type: ignore[arg-type]
        postal_code=_text(address, "Address_ZipCode", "郵便番号"),
        address=(_text(address, "WholeAddress1", "住所") + _text(address, "WholeAddress2", "住所")).strip(),
        phone=_text(address, "PhoneNumber1", "電話番号"),
        insurances=tuple(i for i in insurances if i is not None),
        public_expenses=tuple(public_expenses),
    )


def summarize_insurance(insurance: OrcaInsurance | None) -> str:
    """One line for the reception list: 協会けんぽ 本人 3割 ＋公費."""
    if insurance is None:
        return "自費"
    parts = [insurance.name, insurance.relation]
    if insurance.burden_percent is not None:
        parts.append(f"{insurance.burden_percent // 10}割")
    if insurance.public_expenses:
        parts.append("＋公費")
    return " ".join(p for p in parts if p)


def parse_reception(record: dict[str, Any], day: date) -> OrcaReception:
    """One line of acceptlstv2's Acceptlst_Information."""
    patient = record.get("Patient_Information") or {}
    accepted = _time(_text(record, "Acceptance_Time", "受付時刻", required=True), "Acceptance_Time")
    insurance_record = record.get("HealthInsurance_Information") or {}
    insurance = parse_insurance(insurance_record) if isinstance(insurance_record, dict) and insurance_record else None
    return OrcaReception(
        reception_id=_text(record, "Acceptance_Id", "受付番号", required=True),
        patient_id=_text(patient, "Patient_ID", "患者番号", required=True),
        patient_name=_text(patient, "WholeName", "氏名", required=True),
        kana=_text(patient, "WholeName_inKana", "カナ氏名"),
        sex=_sex(_text(patient, "Sex", "性別", required=True)),
        birth_date=_date(patient.get("BirthDate", ""), "BirthDate", "生年月日", required=True),  # type: ignore[arg-type]
        department_code=_text(record, "Department_Code", "診療科コード"),
        department_name=_text(record, "Department_WholeName", "診療科名"),
        physician_code=_text(record, "Physician_Code", "医師コード"),
        physician_name=_text(record, "Physician_WholeName", "医師名"),
        accepted_at=datetime.combine(day, accepted, tzinfo=JST),
        insurance_summary=summarize_insurance(insurance),
        insurance_combination=_text(insurance_record, "Insurance_Combination_Number", "保険組合せ番号")
        if isinstance(insurance_record, dict) else "",
        is_paid=bool(_text(record, "Account_Time", "会計時刻")),
    )
