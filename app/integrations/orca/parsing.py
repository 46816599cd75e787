"""Strict reading of ORCA's reply records into the values of models.py (each field through reader.Reader).

Every problem raises OrcaProtocolError naming the record and the field (and the bad value); a record is used
whole or not at all. Facts: docs/standards/orca.md (§2a patientgetv2, §2c/§2e lists, §3 受付, §6 PUSH).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any

from app.integrations.orca.errors import OrcaProtocolError
from app.integrations.orca.models import (
    PAID,
    WAITING,
    OrcaCombination,
    OrcaHistoryConsent,
    OrcaInsurance,
    OrcaPatient,
    OrcaPublicExpense,
    OrcaPushEvent,
    OrcaReception,
    OrcaSharingConsent,
)
from app.integrations.orca.reader import Reader

JST = timezone(timedelta(hours=9), "JST")
#: The 6 information's 閲覧同意 as オンライン資格確認 gives them and ORCA relays them in patientgetv2's
#: ResultOfQualificationConfirmation (ORCA API 患者基本情報, レスポンス一覧 6-52-13 … 6-52-30, added 2025-01-28,
#: https://www.orca.med.or.jp/receipt/tec/api/patientget.html): <prefix>ConsFlg (同意フラグ), <prefix>ConsTime
#: (同意日時), <prefix>AvailableTime (閲覧有効期限). The 2024 items (6-52-5 … 6-52-12: 特定健診・薬剤・診療・手術
#: 情報, SpecificHealthCheckupsInfo…, PharmacistsInfo…, DiagnosisInfo…, OperationInfo…) are online
#: eligibility's own records (レセプト-based), not the 電子カルテ情報共有サービス's, and are not read as its consent.
SIX_INFORMATION_CONSENTS = (("DiagnosisName", "傷病名"), ("InfectiousInfo", "感染症情報"),
                            ("AllergyInfo", "その他アレルギー等情報"), ("ContraindicationInfo", "薬剤アレルギー等情報"),
                            ("TestInfo", "検査情報"), ("PrescriptionInfo", "処方情報"))
#: The 2024 items (6-52-5 … 6-52-12): consent to online eligibility's own 特定健診・薬剤・診療・手術情報, each
#: <prefix>ConsFlg / ConsTime / AvailableTime; read per kind as given (docs/standards/onshi.md §2).
HISTORY_CONSENTS = (("PharmacistsInfo", "drug", "薬剤情報"), ("DiagnosisInfo", "diagnosis", "診療情報"),
                    ("SpecificHealthCheckupsInfo", "checkup", "特定健診情報"),
                    ("OperationInfo", "operation", "手術情報"))
#: Consent flag values (code table OQSCD016): 同意なし, 同意あり, 同意有効期限切れ, 同意取得困難.
CONSENT_FLAGS = ("0", "1", "2", "3")
#: A consent flag's value for 同意あり, as online eligibility writes it.
CONSENTED = "1"
SEXES = {"1": "M", "2": "F"}
RELATIONS = {"": "", "1": "本人", "2": "家族"}
#: 法別番号 (first two digits of an 8-digit 保険者番号) → the insurance as staff call it. 6 digits: 国保.
HOUBETSU_NAMES = {
    "01": "協会けんぽ", "02": "船員保険", "03": "日雇特例（一般）", "04": "日雇特例（特別）", "06": "組合健保",
    "07": "自衛官等", "31": "国家公務員共済", "32": "地方公務員共済", "33": "警察共済", "34": "公立学校・私学共済",
    "39": "後期高齢者医療", "63": "特定健保退職", "72": "国家公務員共済（特例退職）",
    "73": "地方公務員共済（特例退職）", "74": "警察共済（特例退職）", "75": "公立学校・私学共済（特例退職）",
}
#: ORCA 保険の種類 without a 保険者番号 that are still what a visit is billed to.
NON_HEALTH_CLASSES = {"971": "労災保険", "973": "自賠責保険"}
SELF_PAY_CLASS = "980"


def luhn_valid(digits: str) -> bool:
    """The MHLW check digit of 保険者番号 / 公費負担者番号 (×2, ×1 from the right, digit sums): the Luhn method."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return digits.isdigit() and digits.isascii() and total % 10 == 0


def insurance_type_name(insurer_number: str) -> str:
    """What staff call an insurance, from its 保険者番号; an unknown kind is an error, not a guess."""
    if insurer_number.isascii() and insurer_number.isdigit():
        if len(insurer_number) == 6:
            return "国保組合" if insurer_number[2] == "3" else "国民健康保険"
        if len(insurer_number) == 8 and insurer_number[:2] in HOUBETSU_NAMES:
            return HOUBETSU_NAMES[insurer_number[:2]]
    raise OrcaProtocolError(f"未対応の保険種別です（保険者番号 {insurer_number or '空欄'}）。"
                            "ORCAの保険登録を確認してください")


def _card_burden(r: Reader) -> int | None:
    """The insurance's own 負担割合 from its "３割" name; None when the reply does not carry it."""
    name = unicodedata.normalize("NFKC", r.text("HealthInsuredPerson_Assistance_Name", "負担割合"))
    match = re.fullmatch(r"(\d)割", name)
    return int(match.group(1)) * 10 if match else None


def read_public_expense(r: Reader) -> OrcaPublicExpense:
    """One 公費 record (PublicInsurance_Information)."""
    payer = r.text("PublicInsurer_Number", "公費負担者番号")
    if payer and not (len(payer) == 8 and luhn_valid(payer)):
        raise r.fail(f"公費負担者番号（PublicInsurer_Number={payer}）が8桁でないか検証番号が一致しません")
    return OrcaPublicExpense(
        class_code=r.text("PublicInsurance_Class", "公費の種類", required=True),
        name=r.text("PublicInsurance_Name", "公費の名称"), payer_number=payer,
        recipient_number=r.text("PublicInsuredPerson_Number", "公費受給者番号"),
        burden_percent=r.rate("Rate_Outpatient", "公費の負担率"),
        monthly_cap_yen=r.money("Money_Outpatient", "公費の固定額"),
        valid_from=r.day("Certificate_IssuedDate", "公費の適用開始日"),
        valid_to=r.day("Certificate_ExpiredDate", "公費の適用終了日"))


def read_insurance(r: Reader, burden: int | None) -> OrcaInsurance | None:
    """The health insurance of a record; None when it has none (公費単独, 自費)."""
    insurer = r.text("InsuranceProvider_Number", "保険者番号")
    provider_class = r.text("InsuranceProvider_Class", "保険の種類")
    relation = r.text("RelationToInsuredPerson", "本人家族区分")
    if relation not in RELATIONS:
        raise r.fail(f"本人家族区分（RelationToInsuredPerson={relation}）が1（本人）・2（家族）ではありません")
    if insurer:
        name = insurance_type_name(insurer)
        if not luhn_valid(insurer):
            raise r.fail(f"保険者番号 {insurer} の検証番号が一致しません。ORCAの保険登録を確認してください")
    elif provider_class in NON_HEALTH_CLASSES:
        name, burden = NON_HEALTH_CLASSES[provider_class], None
    else:
        return None
    return OrcaInsurance(
        name=name, provider_class=provider_class, insurer_number=insurer,
        symbol=r.text("HealthInsuredPerson_Symbol", "記号"), number=r.text("HealthInsuredPerson_Number", "番号"),
        branch=r.text("HealthInsuredPerson_Branch_Number", "枝番"), relation=RELATIONS[relation],
        burden_percent=burden, valid_from=r.day("Certificate_StartDate", "保険の適用開始日"),
        valid_to=r.day("Certificate_ExpiredDate", "保険の適用終了日"))


def read_combination(r: Reader) -> OrcaCombination:
    """One 保険組合せ (HealthInsurance_Information with an Insurance_Combination_Number)."""
    number = r.text("Insurance_Combination_Number", "保険組合せ番号", required=True)
    r.where = f"{r.where} {number}"
    publics = tuple(read_public_expense(p) for p in r.records("PublicInsurance_Information", "公費"))
    burden = r.rate("InsuranceCombination_Rate_Outpatient", "保険組合せの負担割合")
    if r.text("InsuranceProvider_Class", "保険の種類") == SELF_PAY_CLASS:
        return OrcaCombination(number, None, publics, burden, self_pay=True)
    own = _card_burden(r)  # with a 公費 the combination's rate is not the insurance's own
    insurance = read_insurance(r, own if own is not None or publics else burden)
    if insurance is None and not publics:
        raise r.fail("保険者番号（InsuranceProvider_Number）も公費もありません")
    return OrcaCombination(number, insurance, publics, burden)


def _add(items: list[Any], item: Any) -> None:
    if item is not None and item not in items:
        items.append(item)


def _add_insurance(items: list[OrcaInsurance], item: OrcaInsurance | None) -> None:
    """Each insurance once (it appears in several 保険組合せ); the entry that knows its 負担割合 wins."""
    if item is None:
        return
    key = (item.name, item.insurer_number, item.symbol, item.number, item.branch)
    for index, known in enumerate(items):
        if (known.name, known.insurer_number, known.symbol, known.number, known.branch) == key:
            if known.burden_percent is None and item.burden_percent is not None:
                items[index] = item
            return
    items.append(item)


def read_patient(record: Any) -> OrcaPatient:
    """A patient from Patient_Information (patientgetv2) or a list entry (patientlst2v2/3v2), checked whole."""
    r = Reader(record, "患者情報")
    patient_id = r.text("Patient_ID", "患者番号", required=True)
    if not (patient_id.isascii() and patient_id.isalnum()):
        raise r.fail(f"患者番号（Patient_ID={patient_id}）が英数字ではありません")
    r.where = f"患者 {patient_id}"
    birth = r.required_day("BirthDate", "生年月日")
    if birth > datetime.now(JST).date():
        raise r.fail(f"生年月日（BirthDate={birth.isoformat()}）が未来の日付です")
    sex = r.text("Sex", "性別", required=True)
    if sex not in SEXES:
        raise r.fail(f"性別（Sex={sex}）が1（男）・2（女）ではありません")
    name, kana = r.text("WholeName", "氏名", required=True), r.text("WholeName_inKana", "カナ氏名", required=True)
    insurances: list[OrcaInsurance] = []
    publics: list[OrcaPublicExpense] = []
    combinations: list[OrcaCombination] = []
    for item in r.records("HealthInsurance_Information", "保険"):
        if item.has("Insurance_Combination_Number"):
            combo = read_combination(item)
            combinations.append(combo)
            if combo.insurance is None and not combo.self_pay:  # 公費単独: shown as such beside the 公費
                _add_insurance(insurances, OrcaInsurance("公費単独", "", "", "", "", "", "", combo.burden_percent))
            _add_insurance(insurances, combo.insurance)
            for public in combo.public_expenses:
                _add(publics, public)
        else:  # the list APIs give insurances, not combinations
            _add_insurance(insurances, read_insurance(item, _card_burden(item)))
            for public in item.records("PublicInsurance_Information", "公費"):
                _add(publics, read_public_expense(public))
    for public in r.records("PublicInsurance_Information", "公費"):
        _add(publics, read_public_expense(public))
    address = r.sub("Home_Address_Information", "住所")
    qualification = r.sub("ResultOfQualificationConfirmation", "資格確認結果")
    consent = read_sharing_consent(qualification) if qualification is not None else None
    history = read_history_consents(qualification) if qualification is not None else None
    issue_select = qualification.text("PrescriptionIssueSelect", "処方箋発行形態") if qualification is not None else ""
    return OrcaPatient(
        patient_id=patient_id, name=name, kana=kana, sex=SEXES[sex], birth_date=birth,
        postal_code=address.text("Address_ZipCode", "郵便番号") if address else "",
        address=(address.text("WholeAddress1", "住所") + address.text("WholeAddress2", "住所")
                 or address.text("WholeAddress", "住所")) if address else "",
        phone=(address.text("PhoneNumber1", "電話番号") if address else "") or r.text("CellularNumber", "携帯電話"),
        occupation=r.text("Occupation", "職業"),
        insurances=tuple(insurances), public_expenses=tuple(publics), combinations=tuple(combinations),
        sharing_consent=consent, history_consents=history,
        prescription_issue_select=issue_select if issue_select in ("1", "2") else "")


def read_reception(record: Any, day: date) -> OrcaReception:
    """One reception: a row of acceptlstv2's Acceptlst_Information, or acceptmodv2's reply record."""
    r = Reader(record, "受付")
    reception_id = r.text("Acceptance_Id", "受付番号", required=True)
    r.where = f"受付 {reception_id}"
    accepted = r.required_clock("Acceptance_Time", "受付時刻")
    patient = r.required_sub("Patient_Information", "患者情報")
    patient_id = patient.text("Patient_ID", "患者番号", required=True)
    birth = patient.required_day("BirthDate", "生年月日")
    sex = patient.text("Sex", "性別", required=True)
    if sex not in SEXES:
        raise patient.fail(f"性別（Sex={sex}）が1（男）・2（女）ではありません")
    insurance = r.sub("HealthInsurance_Information", "保険組合せ")
    if insurance is None:  # acceptmodv2: the accepted combination is the first of the patient's
        listed = patient.records("HealthInsurance_Information", "保険組合せ")
        insurance = listed[0] if listed else None
    combo = read_combination(insurance) if insurance and insurance.has("Insurance_Combination_Number") else None
    paid = r.clock("Account_Time", "会計時刻")
    return OrcaReception(
        reception_id=reception_id, patient_id=patient_id,
        patient_name=patient.text("WholeName", "氏名", required=True),
        kana=patient.text("WholeName_inKana", "カナ氏名"), sex=SEXES[sex], birth_date=birth,
        department_code=r.text("Department_Code", "診療科コード", required=True),
        department_name=r.text("Department_WholeName", "診療科名"),
        physician_code=r.text("Physician_Code", "ドクターコード", required=True),
        physician_name=r.text("Physician_WholeName", "ドクター名"),
        accepted_at=datetime.combine(day, accepted, tzinfo=JST),
        insurance_summary=combo.summary() if combo else "", insurance_combination=combo.number if combo else "",
        insurance=combo, medical_information=r.text("Medical_Information", "診療内容区分"),
        status=PAID if paid else WAITING, paid_at=datetime.combine(day, paid, tzinfo=JST) if paid else None)


def read_push_event(item: Any) -> OrcaPushEvent:
    """One element of pusheventgetv2's array: {"data": {id, uuid, event, user, body, time}}."""
    if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
        raise OrcaProtocolError("ORCAのPUSH通知に data がありません")
    data = item["data"]
    r = Reader(data, "PUSH通知")
    event_id = data.get("id")
    if not isinstance(event_id, int) or isinstance(event_id, bool) or not 1 <= event_id <= 65535:
        raise r.fail(f"通知ID（id={event_id!r}）が1〜65535の数値ではありません")
    r.where = f"PUSH通知 {event_id}"
    stamp = r.text("time", "通知時刻", required=True)
    try:
        at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        raise r.fail(f"通知時刻（time={stamp}）が正しい日時ではありません") from None
    body = data.get("body", {})
    if not isinstance(body, dict):
        raise r.fail("本文（body）がレコードの形ではありません")
    return OrcaPushEvent(event_id, r.text("uuid", "UUID", required=True), r.text("event", "イベント名", required=True),
                         r.text("user", "ユーザー"), at, dict(body))


def read_code_list(record: dict[str, Any], key: str, what: str) -> list[dict[str, str]]:
    """Codes and names of a system01lstv2 list (Department_Information / Physician_Information)."""
    items = []
    for item in Reader(record, what).records(key, what):
        code = item.text("Code", "コード", required=True)
        item.where = f"{what} {code}"
        items.append({"code": code, "name": item.text("WholeName", "名称", required=True)})
    return items


def _moment_day(reader: Reader, key: str, what: str) -> date:
    """The date of a consent time. ORCA's page does not show how it formats these; online eligibility writes
    YYYYMMDDHHMMSS, so that, YYYYMMDD and the ISO forms ORCA uses elsewhere are all read."""
    value = reader.text(key, what, required=True)
    digits = value.replace("-", "").replace("/", "").replace(":", "").replace("T", "").replace(" ", "")
    try:
        if not digits.isdigit() or len(digits) not in (8, 12, 14):
            raise ValueError(value)
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise reader.fail(f"{what}（{key}={value}）が正しい日時ではありません") from None


def read_sharing_consent(qualification: Reader) -> OrcaSharingConsent | None:
    """The patient's consent to the 電子カルテ情報共有サービス from the eligibility result: the 6-information items
    consented to (flag "1"), given on the latest consent date, valid until the earliest end among them (so the
    consent we record never outlives one of its parts); None when none is consented."""
    given, until, kinds = [], [], []
    for prefix, what in SIX_INFORMATION_CONSENTS:
        if qualification.text(f"{prefix}ConsFlg", f"{what}閲覧同意フラグ") != CONSENTED:
            continue
        given.append(_moment_day(qualification, f"{prefix}ConsTime", f"{what}閲覧同意日時"))
        until.append(_moment_day(qualification, f"{prefix}AvailableTime", f"{what}閲覧有効期限"))
        kinds.append(what)
    if not kinds:
        return None
    return OrcaSharingConsent(max(given), min(until), tuple(kinds))


def _moment(reader: Reader, key: str, what: str, end_of_day: bool) -> datetime | None:
    """A consent time in Japan time (YYYYMMDDHHMMSS as online eligibility writes it, or the shorter and ISO forms
    `_moment_day` reads); a bare day is its start, or its end for a deadline. None when empty."""
    value = reader.text(key, what)
    if not value:
        return None
    digits = value.replace("-", "").replace("/", "").replace(":", "").replace("T", "").replace(" ", "")
    try:
        if not digits.isdigit() or len(digits) not in (8, 12, 14):
            raise ValueError(value)
        digits += ("235959" if end_of_day else "000000")[6 - (14 - len(digits)):]
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=JST)
    except ValueError:
        raise reader.fail(f"{what}（{key}={value}）が正しい日時ではありません") from None


def read_history_consents(qualification: Reader) -> tuple[OrcaHistoryConsent, ...]:
    """The answers to the 2024 items, one per kind the result mentions (a kind the clinic does not use is absent).
    A consent given (flag 1) must say until when; an unknown flag or time makes the whole reply unreadable."""
    found = []
    for prefix, kind, what in HISTORY_CONSENTS:
        flag = qualification.text(f"{prefix}ConsFlg", f"{what}閲覧同意フラグ")
        if not flag:
            continue
        if flag not in CONSENT_FLAGS:
            raise qualification.fail(f"{what}閲覧同意フラグ（{prefix}ConsFlg={flag}）が0〜3ではありません")
        given = _moment(qualification, f"{prefix}ConsTime", f"{what}閲覧同意日時", end_of_day=False)
        until = _moment(qualification, f"{prefix}AvailableTime", f"{what}閲覧有効期限", end_of_day=True)
        if flag == CONSENTED and until is None:
            raise qualification.fail(f"{what}閲覧有効期限（{prefix}AvailableTime）がありません")
        found.append(OrcaHistoryConsent(kind, flag, given, until))
    return tuple(found)
