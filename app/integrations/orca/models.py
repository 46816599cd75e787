"""ORCA's patients, insurances, receptions and notifications as typed, immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class OrcaPublicExpense:
    """One 公費 of a patient (e.g. 法別 54 難病, 12 生活保護, 15 更生医療)."""

    class_code: str  # ORCA's 公費の種類, e.g. "054"
    name: str  # ORCA's 公費の制度名称, e.g. "難病"
    payer_number: str  # 公費負担者番号 (8 digits: 法別番号 2 + 都道府県 2 + 実施機関 3 + 検証番号)
    recipient_number: str  # 公費受給者番号
    burden_percent: int | None = None  # 外来の負担率 (Rate_Outpatient), when ORCA gives it
    monthly_cap_yen: int | None = None  # 外来の固定額・上限 (Money_Outpatient), when ORCA gives it
    valid_from: date | None = None
    valid_to: date | None = None  # None: open-ended (9999-12-31)

    @property
    def houbetsu(self) -> str:
        """法別番号: the first two digits of the 公費負担者番号."""
        return self.payer_number[:2]


@dataclass(frozen=True)
class OrcaInsurance:
    """One health insurance (医療保険) of a patient, as on the card."""

    name: str  # the kind as staff call it: 協会けんぽ, 組合健保, 国民健康保険, 後期高齢者医療, 公費単独 …
    provider_class: str  # ORCA's 保険の種類, e.g. "009"
    insurer_number: str  # 保険者番号: 8 digits (6 for 国保), check digit verified
    symbol: str  # 記号
    number: str  # 番号
    branch: str  # 枝番
    relation: str  # 本人 / 家族 ("" when ORCA does not say)
    burden_percent: int | None  # 負担割合 in percent (30 = 3割); None when the reply does not carry it
    valid_from: date | None = None
    valid_to: date | None = None  # None: open-ended (9999-12-31)

    @property
    def burden_ratio(self) -> int | None:
        """Same as burden_percent (負担割合 as an int percent)."""
        return self.burden_percent


@dataclass(frozen=True)
class OrcaCombination:
    """One 保険組合せ: what a visit is billed to (an insurance, its 公費, or 自費)."""

    number: str  # Insurance_Combination_Number, e.g. "0001"
    insurance: OrcaInsurance | None  # None: 公費単独 or 自費
    public_expenses: tuple[OrcaPublicExpense, ...] = ()
    burden_percent: int | None = None  # the combination's 外来負担割合
    self_pay: bool = False  # 自費

    def summary(self) -> str:
        """One line for lists: "協会けんぽ 本人 3割 ＋難病", "公費単独 生保", "自費"."""
        if self.self_pay:
            return "自費"
        parts = [self.insurance.name, self.insurance.relation] if self.insurance else ["公費単独"]
        if self.burden_percent is not None and self.insurance:
            parts.append(f"{self.burden_percent // 10}割" if self.burden_percent % 10 == 0
                         else f"{self.burden_percent}%")
        if self.public_expenses:
            names = "・".join(p.name or p.houbetsu for p in self.public_expenses)
            parts.append(names if not self.insurance else f"＋{names}")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class OrcaSharingConsent:
    """The patient's consent to the 電子カルテ情報共有サービス, from オンライン資格確認 (with the My Number card)."""

    given_on: date
    valid_until: date
    #: The 6-information items consented to (傷病名, 感染症情報, …), as the eligibility result lists them.
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrcaHistoryConsent:
    """The patient's answer at the card reader to one kind of online eligibility's own history (薬剤・診療・
    特定健診・手術情報): the flag as given (0 同意なし, 1 同意あり, 2 期限切れ, 3 取得困難), when, and until when."""

    kind: str  # drug, diagnosis, checkup, operation
    flag: str
    given_at: datetime | None
    available_until: datetime | None


@dataclass(frozen=True)
class OrcaPatient:
    """A patient as ORCA knows it. Insurances and 公費 are listed once each; `combinations` pairs them."""

    patient_id: str
    name: str  # family and given name separated by U+3000, as ORCA writes it
    kana: str
    sex: str  # "M" / "F"
    birth_date: date
    postal_code: str = ""
    address: str = ""
    phone: str = ""
    #: 職業 (Occupation) as registered at ORCA's 患者登録; only patientgetv2 carries it, not the list APIs.
    occupation: str = ""
    insurances: tuple[OrcaInsurance, ...] = ()
    public_expenses: tuple[OrcaPublicExpense, ...] = ()
    combinations: tuple[OrcaCombination, ...] = ()
    #: From ResultOfQualificationConfirmation, when the patient consented at reception (None otherwise).
    sharing_consent: OrcaSharingConsent | None = None
    #: The 2024 items of the same result (one per kind answered); None when the reply carries no eligibility result.
    history_consents: tuple[OrcaHistoryConsent, ...] | None = None
    #: The patient's choice at the card reader (PrescriptionIssueSelect): "1" 電子処方箋, "2" 紙, "" none given.
    prescription_issue_select: str = ""


WAITING = "waiting"  # 受付中 (会計待ち)
PAID = "paid"  # 会計済


@dataclass(frozen=True)
class OrcaReception:
    """One 受付 of ORCA's 受付一覧 (ORCA knows 受付中 and 会計済; a cancelled 受付 is deleted)."""

    reception_id: str  # Acceptance_Id, e.g. "00003" (numbered per day)
    patient_id: str
    patient_name: str
    kana: str
    sex: str  # "M" / "F"
    birth_date: date
    department_code: str
    department_name: str
    physician_code: str
    physician_name: str
    accepted_at: datetime  # Japan time
    insurance_summary: str = ""
    insurance_combination: str = ""
    insurance: OrcaCombination | None = None
    medical_information: str = ""  # 診療内容区分, e.g. "01" 診察１
    status: str = WAITING
    paid_at: datetime | None = None

    @property
    def is_paid(self) -> bool:
        """会計済."""
        return self.status == PAID


@dataclass(frozen=True)
class OrcaPushEvent:
    """A PUSH notification as pusheventgetv2 returns it (ids wrap at 65535: deduplicate by uuid)."""

    event_id: int
    uuid: str
    event: str  # patient_accept, patient_information, patient_account, receive_medicalreq …
    user: str
    time: datetime
    body: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def patient_id(self) -> str:
        """The patient the notification is about ("" when none)."""
        return str(self.body.get("Patient_ID", ""))

    @property
    def mode(self) -> str:
        """Patient_Mode: add / modify / delete ("" when none)."""
        return str(self.body.get("Patient_Mode", ""))


@dataclass(frozen=True)
class OrcaMedicalResult:
    """What ORCA answered to a 中途データ send (medicalmodv2)."""

    medical_uid: str  # Medical_Uid: the key to delete or replace the data later
    perform_date: date | None
    result_code: str  # Api_Result ("00")
    message: str  # Api_Result_Message, e.g. 登録処理終了
    warnings: tuple[str, ...] = ()  # "M01 点数マスタに登録がありません (003-001 M001)": lines ORCA dropped
    notice: str = ""  # Medical_Result_Message, e.g. 既に同日の診療データが登録されています


@dataclass(frozen=True)
class OrcaBillSimulation:
    """ORCA's trial calculation of a visit (acsimulatev2 class 01)."""

    total_points: int  # Ac_Ttl_Point 保険分合計点数
    patient_money: int  # Ac_Money 請求金額 (the patient's share)
    insured_money: int  # Ai_Money 保険適用金額
    own_money: int  # Oe_Money 自費金額
    details: tuple[tuple[str, int], ...] = ()  # (AC_Point_Name, AC_Point) per part of the fee table
    #: Sent only when not zero: Pi_Smoney 公費一部負担金, Dg_Smoney 薬剤一部負担金, Om_Smoney 老人一部負担金.
    public_money: int = 0
    drug_share_money: int = 0
    elderly_share_money: int = 0


@dataclass(frozen=True)
class OrcaInstitution:
    """The clinic as ORCA's system settings describe it (system01lstv2 Request_Number 04)."""

    institution_code: str  # 10 digits: 都道府県 2 + 点数表 1 + ORCA's 7-digit 医療機関コード
    name: str
    postal_code: str = ""
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OrcaInteraction:
    """One 併用禁忌 ORCA found (contraindicationcheckv2): a drug sent, the drug it must not be given with (one of
    those sent, or one in ORCA's record of the patient's medication), and the symptom ORCA's data describes."""

    medication_code: str
    medication_name: str
    contra_code: str
    contra_name: str
    interact_code: str
    symptom: str = ""
    detail: str = ""
    context: str = ""  # Context_Class as ORCA gives it


@dataclass(frozen=True)
class OrcaContraindicationCheck:
    """ORCA's answer: the interactions found, and the drugs it could not check (code, name, ORCA's message)."""

    perform_month: str
    interactions: tuple[OrcaInteraction, ...]
    unchecked: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)
