"""The simulated clinics' ORCA data: configuration and 200 seeded patients each (the fixed demo patients first).

Patients are kept as ORCA writes them (Patient_Information records, docs/standards/orca.md §2a), with
their 保険組合せ already made the way ORCA makes them: one per insurance alone, one per insurance + 公費.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

JST = timezone(timedelta(hours=9), "JST")
DATA = Path(__file__).parent / "data"
OPEN_END = "9999-12-31"
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def check_digit(body: str) -> str:
    """The 検証番号 of a 保険者番号 / 公費負担者番号 / 受給者番号 body (×2, ×1 … from its last digit, digit sum)."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Physician:
    """A doctor in ORCA's system settings (1010 職員情報)."""

    code: str
    name: str
    kana: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class FixedPatient:
    """A patient whose number, name, sex and birth date are fixed (docs/demo.md "Fixed patients")."""

    patient_id: str
    name: str
    kana: str
    sex: str  # 1 男 / 2 女
    birth: str
    plan: str  # a key of PLANS
    relation: str = "1"  # 1 本人 / 2 家族
    burden: int | None = None  # percent; None: by age
    publics: tuple[str, ...] = ()  # 法別番号 of PUBLIC_EXPENSES
    visit: tuple[str, str] | None = None  # today's reception: (time, physician code)
    #: オンライン資格確認 consent to 電子カルテ情報共有サービス: (given so many days ago, valid for so many days).
    sharing_consent: tuple[int, int] | None = None


@dataclass
class ClinicConfig:
    """One simulated ORCA server: the clinic, its API user, departments, doctors and data sizes."""

    institution_code: str  # 医療機関コード, 10 digits (都道府県 2 + 点数表 1 + 7)
    name: str
    user: str
    password: str
    departments: dict[str, str]
    physicians: dict[str, Physician]
    fixed_patients: tuple[FixedPatient, ...] = ()
    seed: int = 1
    patient_count: int = 200
    visits_today: int = 25
    api_prefix: str = "/api"  # WebORCA serves the API under /api; a classic on-premises ORCA under ""
    zip_code: str = ""
    address: str = ""
    phone: str = ""
    clerks: tuple[tuple[str, str, str], ...] = ()  # (code, name, kana) of staff other than doctors


@dataclass(frozen=True)
class Plan:
    """A kind of health insurance: 法別番号 (None: 国保), ORCA's 保険の種類 and its short name."""

    houbetsu: str | None
    provider_class: str
    short_name: str


PLANS = {
    "kyokai": Plan("01", "009", "協会"), "kumiai": Plan("06", "006", "組合"), "kokkyo": Plan("31", "031", "国共済"),
    "chikyo": Plan("32", "032", "地共済"), "gakko": Plan("34", "034", "学校共済"), "kokuho": Plan(None, "060", "国保"),
    "kouki": Plan("39", "039", "後期高齢"),
}
#: 公費 by 法別番号 → (ORCA 公費の種類 = "0" + 法別番号 as in the 010/015/019 samples, name, 負担割合 %, 月額上限 円).
PUBLIC_EXPENSES = {
    "15": ("015", "更生", 10, 5000), "21": ("021", "精神通院", 10, 5000), "54": ("054", "難病", 20, 10000),
    "12": ("012", "生保", 0, 0),
}
ADDRESSES = [
    ("1600023", "東京都新宿区西新宿"), ("1600022", "東京都新宿区新宿"), ("1690075", "東京都新宿区高田馬場"),
    ("1050011", "東京都港区芝公園"), ("1080074", "東京都港区高輪"), ("1080072", "東京都港区白金"),
    ("1510053", "東京都渋谷区代々木"), ("1130021", "東京都文京区本駒込"),
]
#: 職業 as clinics register it at ORCA (free text; the one example in ORCA's API documentation is 会社員).
OCCUPATIONS = ["会社員", "会社員", "会社員", "公務員", "自営業", "パート", "主婦", "教員", "看護師", "農業"]


def occupation_for(birth: date, today: date, rng: random.Random) -> str:
    """A plausible 職業 for the patient's age ("" for a small child, as clinics leave it empty)."""
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < 6:
        return ""
    if age < 23:
        return "学生"
    if age >= 70:
        return rng.choice(["無職", "無職", "自営業"])
    return rng.choice(OCCUPATIONS)


FIXED_A = (
    FixedPatient("00001", "山田　太郎", "ヤマダ　タロウ", "1", "1958-03-02", "kyokai", visit=("09:02:11", "10001"),
                 sharing_consent=(0, 365)),
    FixedPatient("00002", "髙橋　美咲", "タカハシ　ミサキ", "2", "1990-11-20", "kumiai", visit=("09:10:45", "10001"),
                 sharing_consent=(0, 365)),
    FixedPatient("00003", "佐々木　一郎", "ササキ　イチロウ", "1", "1945-01-05", "kouki", burden=10,
                 visit=("09:18:30", "10002"), sharing_consent=(400, 365)),  # expired: the screen says so
    FixedPatient("00004", "渡邉　さくら", "ワタナベ　サクラ", "2", "2019-05-01", "kokuho", relation="2",
                 visit=("09:31:02", "10001"), sharing_consent=(0, 365)),
    FixedPatient("00005", "齋藤　健", "サイトウ　ケン", "1", "1989-01-07", "kokuho", visit=("09:44:17", "10002"),
                 sharing_consent=(0, 365)),
    FixedPatient("00006", "日野　ちよ", "ヒノ　チヨ", "2", "1925-02-11", "kouki", burden=10, publics=("15",)),
)
FIXED_B = (
    FixedPatient("00001", "山田　太郎", "ヤマダ　タロウ", "1", "1972-08-15", "kyokai", visit=("09:05:40", "10001")),
)

DEFAULT_CLINICS = [
    ClinicConfig("1310123458", "かみかるて内科クリニック", "ormaster-a", "orca-demo-a", {"01": "内科"},
                 {"10001": Physician("10001", "上野　誠", "ウエノ　マコト", ("01",)),
                  "10002": Physician("10002", "田端　直子", "タバタ　ナオコ", ("01",))},
                 FIXED_A, seed=11, zip_code="1600023", address="東京都新宿区西新宿一丁目１番１号", phone="03-0000-1234",
                 clerks=(("20001", "受付　由美", "ウケツケ　ユミ"),)),
    ClinicConfig("1310156789", "みなと内科・小児科", "ormaster-b", "orca-demo-b", {"01": "内科", "09": "小児科"},
                 {"10001": Physician("10001", "芝　健一", "シバ　ケンイチ", ("01",)),
                  "10002": Physician("10002", "浜松　陽子", "ハママツ　ヨウコ", ("09", "01"))},
                 FIXED_B, seed=23, zip_code="1050011", address="東京都港区芝公園四丁目２番８号", phone="03-0000-5678",
                 clerks=(("20001", "高輪　勇", "タカナワ　イサム"),)),
]


def load_names() -> dict[str, list[tuple[str, str]]]:
    """Family and given names (kanji, katakana) from the shipped subset of gimei (data/SOURCE.md)."""
    names: dict[str, list[tuple[str, str]]] = {"last": [], "male": [], "female": []}
    for line in (DATA / "names.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, kanji, kana = line.split("\t")
            names[kind].append((kanji, kana))
    return names


def age_on(birth: date, on: date) -> int:
    """Age in completed years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return date(birth.year + years, 3, 1)


def is_preschool(birth: date, on: date) -> bool:
    """義務教育就学前: up to the first 31 March after the day before the 6th birthday (年齢に達する日)."""
    reached = _birthday(birth, 6) - timedelta(days=1)
    end = date(reached.year, 3, 31) if reached <= date(reached.year, 3, 31) else date(reached.year + 1, 3, 31)
    return on <= end


def is_elderly_70(birth: date, on: date) -> bool:
    """高齢受給者 (70–74): from the 1st of the month after the month of the day before the 70th birthday."""
    reached = _birthday(birth, 70) - timedelta(days=1)
    start = date(reached.year + reached.month // 12, reached.month % 12 + 1, 1)
    return on >= start and on < _birthday(birth, 75)


def burden_by_age(birth: date, on: date, rng: random.Random) -> int:
    """負担割合 (percent) for the ages under 75: 2割 before school, 3割, 2割 for 70–74 (3割 if 現役並み所得)."""
    if is_preschool(birth, on):
        return 20
    if is_elderly_70(birth, on):
        return 30 if rng.random() < 0.1 else 20
    return 30


def _insurer_number(plan: Plan, rng: random.Random) -> str:
    if plan.houbetsu is None:  # 国保: 都道府県 2 + 保険者別 3 + 検証番号
        body = "13" + f"{rng.randrange(101, 124)}"
    elif plan.houbetsu == "01":  # 協会けんぽ 東京支部
        body = "0113001"
    elif plan.houbetsu == "39":  # 東京都後期高齢者医療広域連合
        body = "3913100"
    else:
        body = plan.houbetsu + "13" + f"{rng.randrange(1, 999):03d}"
    return body + check_digit(body)


def make_insurance(rng: random.Random, plan_key: str, relation: str, burden: int, holder: str,
                   start: date) -> dict[str, Any]:
    """A health insurance in ORCA's fields, with a valid 保険者番号 and 記号・番号・枝番 as the card shows them."""
    plan = PLANS[plan_key]
    symbol, number, branch = "", "", ""
    if plan_key == "kouki":  # 後期高齢者: 8桁の被保険者番号だけ（記号・枝番なし）
        number = f"{rng.randrange(10000000, 99999999)}"
    elif plan_key == "kokuho":  # 国保の被保険者証は全角で登録されていることが多い
        symbol = f"{rng.randrange(1, 99):02d}".translate(FULL_WIDTH_DIGITS)
        number = f"{rng.randrange(100000, 9999999)}".translate(FULL_WIDTH_DIGITS)
    else:
        symbol, number = str(rng.randrange(1, 99999999)), str(rng.randrange(1, 9999999))
    if plan_key != "kouki":
        branch = "00" if relation == "1" else f"{rng.randrange(1, 4):02d}"
    return {
        "InsuranceProvider_Class": plan.provider_class, "InsuranceProvider_Number": _insurer_number(plan, rng),
        "InsuranceProvider_WholeName": plan.short_name, "HealthInsuredPerson_Symbol": symbol,
        "HealthInsuredPerson_Number": number, "HealthInsuredPerson_Branch_Number": branch,
        "HealthInsuredPerson_Assistance": str(burden // 10),
        "HealthInsuredPerson_Assistance_Name": f"{burden // 10}割".translate(FULL_WIDTH_DIGITS),
        "RelationToInsuredPerson": relation, "HealthInsuredPerson_WholeName": holder,
        "Certificate_StartDate": start.isoformat(), "Certificate_ExpiredDate": OPEN_END,
        "Insurance_CheckDate": start.isoformat(),
    }


def make_public_expense(rng: random.Random, houbetsu: str, start: date) -> dict[str, Any]:
    """A 公費: 公費負担者番号 (法別 2 + 都道府県 2 + 実施機関 3 + 検証番号), 受給者番号 (6 + 検証番号)."""
    kind, name, rate, cap = PUBLIC_EXPENSES[houbetsu]
    payer = houbetsu + "13" + f"{rng.randrange(1, 999):03d}"
    recipient = f"{rng.randrange(100000, 999999)}"
    return {"PublicInsurance_Class": kind, "PublicInsurance_Name": name,
            "PublicInsurer_Number": payer + check_digit(payer),
            "PublicInsuredPerson_Number": recipient + check_digit(recipient),
            "Rate_Admission": f"{rate / 100:.2f}", "Money_Admission": f"{cap:>6}",
            "Rate_Outpatient": f"{rate / 100:.2f}", "Money_Outpatient": f"{cap:>6}",
            "Certificate_IssuedDate": start.isoformat(), "Certificate_ExpiredDate": OPEN_END}


def make_combinations(insurance: dict[str, Any] | None, burden: int, publics: list[dict[str, Any]],
                      self_pay: bool) -> list[dict[str, Any]]:
    """保険組合せ as ORCA makes them: the insurance alone, then insurance + each 公費 (公費単独 without one)."""
    combos: list[tuple[dict[str, Any], list[dict[str, Any]], int]] = []
    if insurance is not None:
        combos.append((insurance, [], burden))
    for public in publics:
        rate = round(float(public["Rate_Outpatient"]) * 100)
        combos.append((insurance or {}, [public], min(rate, burden) if insurance else rate))
    result = []
    for number, (ins, pubs, rate) in enumerate(combos, start=1):
        combo = {"Insurance_Combination_Number": f"{number:04d}", "InsuranceCombination_Rate_Admission":
                 f"{rate / 100:.2f}", "InsuranceCombination_Rate_Outpatient": f"{rate / 100:.2f}",
                 "Insurance_Nondisplay": "N", **ins}
        if pubs:
            combo["PublicInsurance_Information"] = pubs
        result.append(combo)
    if self_pay:
        result.append({"Insurance_Combination_Number": f"{len(result) + 1:04d}",
                       "InsuranceCombination_Rate_Admission": "1.00", "InsuranceCombination_Rate_Outpatient": "1.00",
                       "Insurance_Nondisplay": "N", "InsuranceProvider_Class": "980",
                       "InsuranceProvider_WholeName": "自費", "HealthInsuredPerson_Assistance": "1",
                       "HealthInsuredPerson_Assistance_Name": "課税", "RelationToInsuredPerson": "1",
                       "Certificate_StartDate": "2024-04-01", "Certificate_ExpiredDate": OPEN_END})
    return result


def _random_person(rng: random.Random, names: dict[str, list[tuple[str, str]]], today: date):
    sex = rng.choice("12")
    family, given = rng.choice(names["last"]), rng.choice(names["male" if sex == "1" else "female"])
    birth = today - timedelta(days=rng.randrange(100, 98 * 365))
    return sex, family, given, birth


def _random_plan(rng: random.Random, sex: str, birth: date, today: date) -> tuple[str, str, tuple[str, ...]]:
    age = age_on(birth, today)
    roll = rng.random()
    if roll < 0.02 and age >= 20:
        return "", "1", ("12",)  # 生活保護: 医療扶助だけ（国保の適用除外）
    publics = ("54",) if roll > 0.96 else ("21",) if roll > 0.94 and age >= 15 else ()
    if age >= 75:
        return "kouki", "1", publics
    plan = rng.choice(["kokuho"] * (5 if age >= 65 else 3) + ["kyokai"] * 4 + ["kumiai"] * 3
                      + ["kokkyo", "chikyo", "gakko"])
    dependant = age < 20 or (plan != "kokuho" and sex == "2" and rng.random() < 0.4)
    return plan, "2" if dependant else "1", publics


def make_patients(clinic: ClinicConfig, today: date) -> dict[str, dict[str, Any]]:
    """The clinic's patients by Patient_ID, as ORCA's Patient_Information (plus CreateDate/UpdateDate/UpdateTime)."""
    rng = random.Random(clinic.seed)
    names = load_names()
    fixed = {p.patient_id: p for p in clinic.fixed_patients}
    patients: dict[str, dict[str, Any]] = {}
    for n in range(1, clinic.patient_count + 1):
        pid = f"{n:05d}"
        spec = fixed.get(pid)
        if spec is not None:
            sex, name, kana, birth = spec.sex, spec.name, spec.kana, date.fromisoformat(spec.birth)
            plan, relation, publics = spec.plan, spec.relation, spec.publics
        else:
            sex, family, given, birth = _random_person(rng, names, today)
            name, kana = f"{family[0]}　{given[0]}", f"{family[1]}　{given[1]}"
            plan, relation, publics = _random_plan(rng, sex, birth, today)
        if plan == "kouki":
            burden = spec.burden if spec and spec.burden else rng.choices([10, 20, 30], [80, 12, 8])[0]
            start = max(_birthday(birth, 75), date(2008, 4, 1))
        else:
            burden = spec.burden if spec and spec.burden else burden_by_age(birth, today, rng)
            start = max(birth, date(2018, 4, 1) + timedelta(days=rng.randrange(0, 2400)))
        start = min(start, today)
        holder = name if relation == "1" else name.split("　")[0] + "　" + rng.choice(names["male"])[0]
        insurance = make_insurance(rng, plan, relation, burden, holder, start) if plan else None
        public_records = [make_public_expense(rng, h, start) for h in publics]
        created = min(today - timedelta(days=1), max(birth, date(2016, 4, 1) + timedelta(days=rng.randrange(3600))))
        updated = today - timedelta(days=rng.randrange(0, 7)) if rng.random() < 0.05 else created
        zip_code, address = rng.choice(ADDRESSES)
        patient: dict[str, Any] = {
            "Patient_ID": pid, "WholeName": name, "WholeName_inKana": kana, "BirthDate": birth.isoformat(),
            "Sex": sex, "HouseHolder_WholeName": holder,
            "Home_Address_Information": {
                "Address_ZipCode": zip_code, "WholeAddress1": address,
                "WholeAddress2": f"{rng.randrange(1, 6)}－{rng.randrange(1, 30)}－{rng.randrange(1, 20)}".translate(
                    FULL_WIDTH_DIGITS),
                "PhoneNumber1": f"03-0000-{rng.randrange(0, 9999):04d}"},
            "TestPatient_Flag": "0", "Reduction_Reason": "00", "Reduction_Reason_Name": "該当なし",
            "Discount": "00", "Discount_Name": "該当なし", "Ic_Code": "01", "Ic_Code_Name": "現金",
            "Community_Cid_Agree": "False", "FirstVisit_Date": created.isoformat(),
            "HealthInsurance_Information": make_combinations(insurance, burden, public_records, rng.random() < 0.1),
            "CreateDate": created.isoformat(), "UpdateDate": updated.isoformat(),
            "UpdateTime": f"{rng.randrange(9, 19):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
        }
        if spec is not None and spec.sharing_consent is not None:
            patient["ResultOfQualificationConfirmation"] = qualification(today, *spec.sharing_consent)
        # Its own random sequence, so that adding the field changed none of the other generated values.
        patient["Occupation"] = occupation_for(birth, today, random.Random(f"{clinic.seed}:{pid}:occupation"))
        if rng.random() < 0.4:
            patient["CellularNumber"] = f"090-0000-{rng.randrange(0, 9999):04d}"
        patients[pid] = patient
    return patients


def qualification(today: date, given_days_ago: int, valid_days: int) -> dict[str, str]:
    """ResultOfQualificationConfirmation of patientgetv2 (オンライン資格確認) with ORCA's field names (ORCA API
    患者基本情報, レスポンス一覧 6-52): the 電子カルテ情報共有サービス's six 閲覧同意 (added 2025-01-28) given
    `given_days_ago`, valid `valid_days`, and the 2024 items. Times as online eligibility writes them
    (YYYYMMDDHHMMSS); how ORCA formats them is not shown in its documentation."""
    given = datetime.combine(today - timedelta(days=given_days_ago), time(9, 12, 30))
    now = datetime.now(JST).replace(tzinfo=None, microsecond=0)
    if given > now:  # a consent "today" is never in the future, however early the simulator is asked
        given = now - timedelta(minutes=10)
    until = (given + timedelta(days=valid_days - 1)).replace(hour=23, minute=59, second=59)
    record = {"FaceInfExistence": "True", "PrescriptionIssueSelect": "1", "QualificationValidity": "1",
              "LimitApplicationCertificateRelatedConsFlg": "1"}
    # The 2024 items (online eligibility's own histories) are readable for 24 hours after the card reader
    # (docs/standards/onshi.md §4); 手術情報 is off by default at a clinic's terminal, so it is answered 0.
    for prefix in ("SpecificHealthCheckupsInfo", "PharmacistsInfo", "DiagnosisInfo"):
        record |= {f"{prefix}ConsFlg": "1", f"{prefix}ConsTime": f"{given:%Y%m%d%H%M%S}",
                   f"{prefix}AvailableTime": f"{given + timedelta(days=1):%Y%m%d%H%M%S}"}
    record |= {"OperationInfoConsFlg": "0", "OperationInfoConsTime": "", "OperationInfoAvailableTime": ""}
    for prefix in ("DiagnosisName", "InfectiousInfo", "AllergyInfo", "ContraindicationInfo", "TestInfo",
                   "PrescriptionInfo"):
        record |= {f"{prefix}ConsFlg": "1", f"{prefix}ConsTime": f"{given:%Y%m%d%H%M%S}",
                   f"{prefix}AvailableTime": f"{until:%Y%m%d%H%M%S}"}
    return record


#: Fields of the patient record that only the list APIs show (patientlst1v2), not patientgetv2.
LIST_ONLY_FIELDS = ("CreateDate", "UpdateDate", "UpdateTime")
