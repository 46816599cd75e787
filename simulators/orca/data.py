"""The simulated clinics' ORCA data: 200 patients each (the fixed demo patients first), and receptions."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

JST = timezone(timedelta(hours=9))
DATA = Path(__file__).parent / "data"


def check_digit(body: str) -> str:
    """The 検証番号 of a 保険者番号 / 公費番号 body (weights 2,1,… from its last digit, mod 10)."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


@dataclass
class ClinicConfig:
    """One simulated ORCA: the clinic's code, its API user, departments and doctors."""

    institution_code: str
    user: str
    password: str
    departments: dict[str, str]
    physicians: dict[str, tuple[str, str, str]]  # code → (name, kana, department)
    fixed_patients: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 1
    patient_count: int = 200


FIXED_A = [
    {"id": "00001", "name": "山田　太郎", "kana": "ヤマダ　タロウ", "sex": "1", "birth": "1958-03-02",
     "insurance": ("01", "本人"), "visit": ("09:02:11", "10001")},
    {"id": "00002", "name": "髙橋　美咲", "kana": "タカハシ　ミサキ", "sex": "2", "birth": "1990-11-20",
     "insurance": ("06", "本人"), "visit": ("09:10:45", "10001")},
    {"id": "00003", "name": "佐々木　一郎", "kana": "ササキ　イチロウ", "sex": "1", "birth": "1945-01-05",
     "insurance": ("39", "本人"), "visit": ("09:18:30", "10002")},
    {"id": "00004", "name": "渡邉　さくら", "kana": "ワタナベ　サクラ", "sex": "2", "birth": "2019-05-01",
     "insurance": ("kokuho", "家族"), "visit": ("09:31:02", "10001")},
    {"id": "00005", "name": "齋藤　健", "kana": "サイトウ　ケン", "sex": "1", "birth": "1989-01-07",
     "insurance": ("kokuho", "本人"), "visit": ("09:44:17", "10002")},
    {"id": "00006", "name": "日野　ちよ", "kana": "ヒノ　チヨ", "sex": "2", "birth": "1925-02-11",
     "insurance": ("39", "本人"), "public": True},
]
FIXED_B = [
    {"id": "00001", "name": "山田　太郎", "kana": "ヤマダ　タロウ", "sex": "1", "birth": "1972-08-15",
     "insurance": ("01", "本人"), "visit": ("09:05:00", "10001")},
]

DEFAULT_CLINICS = [
    ClinicConfig("1310123458", "ormaster-a", "orca-demo-a", {"01": "内科"},
                 {"10001": ("上野　誠", "ウエノ　マコト", "01"), "10002": ("田端　直子", "タバタ　ナオコ", "01")},
                 FIXED_A, seed=11),
    ClinicConfig("1310156789", "ormaster-b", "orca-demo-b", {"01": "内科", "09": "小児科"},
                 {"10001": ("芝　健一", "シバ　ケンイチ", "01"), "10002": ("浜松　陽子", "ハママツ　ヨウコ", "09")},
                 FIXED_B, seed=23),
]

INSURER_NAMES = {"01": "協会", "06": "組合", "31": "国共済", "32": "地共済", "34": "学校共済", "39": "後期高齢",
                 "kokuho": "国保"}
INSURER_CLASS = {"01": "009", "06": "006", "31": "031", "32": "032", "34": "034", "39": "039", "kokuho": "060"}


def load_names() -> dict[str, list[tuple[str, str]]]:
    """Family and given names (kanji, katakana) from the shipped subset of gimei."""
    names: dict[str, list[tuple[str, str]]] = {"last": [], "male": [], "female": []}
    for line in (DATA / "names.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, kanji, kana = line.split("\t")
            names[kind].append((kanji, kana))
    return names


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def make_insurance(rng: random.Random, kind: str, relation: str, birth: date, today: date,
                   holder: str) -> dict[str, Any]:
    """One insurance (保険組合せ 0001) as ORCA lists it, with a valid 保険者番号 and 負担割合 by age."""
    pref = "13"
    if kind == "kokuho":
        body = pref + f"{rng.randrange(1, 300):03d}"
    else:
        body = kind + pref + f"{rng.randrange(1, 999):03d}"
    insurer = body + check_digit(body)
    age = _age(birth, today)
    if kind == "39":
        rate = "0.30" if rng.random() < 0.1 else "0.10"
    elif age >= 70 or age < 6:
        rate = "0.20"
    else:
        rate = "0.30"
    return {
        "Insurance_Combination_Number": "0001", "InsuranceCombination_Rate_Admission": rate,
        "InsuranceCombination_Rate_Outpatient": rate, "Insurance_Nondisplay": "N",
        "InsuranceProvider_Class": INSURER_CLASS[kind], "InsuranceProvider_Number": insurer,
        "InsuranceProvider_WholeName": INSURER_NAMES[kind],
        "HealthInsuredPerson_Symbol": "" if kind == "39" else str(rng.randrange(1, 9999)),
        "HealthInsuredPerson_Number": str(rng.randrange(10000, 99999999)),
        "HealthInsuredPerson_Branch_Number": "" if kind in ("39", "kokuho") else f"{rng.randrange(0, 4):02d}",
        "RelationToInsuredPerson": "1" if relation == "本人" else "2", "HealthInsuredPerson_WholeName": holder,
        "HealthInsuredPerson_Assistance_Name": f"{rate[2]}割".translate(str.maketrans("0123456789",
                                                                                    "０１２３４５６７８９")),
        "Certificate_StartDate": max(birth, date(2020, 4, 1)).isoformat(), "Certificate_ExpiredDate": "9999-12-31",
    }


def make_public_expense(rng: random.Random) -> dict[str, Any]:
    """A 公費 (更生医療, 法別15) with valid payer and recipient numbers."""
    payer = "1513" + f"{rng.randrange(1, 999):03d}"
    recipient = f"{rng.randrange(100000, 999999)}"
    return {"PublicInsurance_Class": "015", "PublicInsurance_Name": "更生",
            "PublicInsurer_Number": payer + check_digit(payer),
            "PublicInsuredPerson_Number": recipient + check_digit(recipient), "Rate_Outpatient": "0.10",
            "Certificate_IssuedDate": "2024-04-01", "Certificate_ExpiredDate": "9999-12-31"}


def make_patients(clinic: ClinicConfig, today: date) -> dict[str, dict[str, Any]]:
    """The clinic's patients keyed by Patient_ID, as ORCA's Patient_Information records."""
    rng = random.Random(clinic.seed)
    names = load_names()
    patients: dict[str, dict[str, Any]] = {}
    fixed = {p["id"]: p for p in clinic.fixed_patients}
    for n in range(1, clinic.patient_count + 1):
        pid = f"{n:05d}"
        if pid in fixed:
            spec = fixed[pid]
            birth = date.fromisoformat(spec["birth"])
            name, kana, sex = spec["name"], spec["kana"], spec["sex"]
            kind, relation = spec["insurance"]
        else:
            sex = rng.choice("12")
            family = rng.choice(names["last"])
            given = rng.choice(names["male" if sex == "1" else "female"])
            name, kana = f"{family[0]}　{given[0]}", f"{family[1]}　{given[1]}"
            birth = today - timedelta(days=rng.randrange(200, 95 * 365))
            age = _age(birth, today)
            kind = "39" if age >= 75 else rng.choice(["01", "01", "06", "kokuho", "kokuho", "31", "32", "34"])
            relation = "家族" if age < 20 or (kind != "39" and rng.random() < 0.3) else "本人"
        insurance = make_insurance(rng, kind, relation, birth, today, name)
        if fixed.get(pid, {}).get("public") or (pid not in fixed and rng.random() < 0.05):
            insurance["PublicInsurance_Information"] = [make_public_expense(rng)]
        phone = f"03-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
        patients[pid] = {
            "Patient_ID": pid, "WholeName": name, "WholeName_inKana": kana, "BirthDate": birth.isoformat(),
            "Sex": sex, "Home_Address_Information": {"Address_ZipCode": f"1{rng.randrange(0, 99):02d}0001",
                                                     "WholeAddress1": "東京都新宿区西新宿",
                                                     "WholeAddress2": f"{rng.randrange(1, 9)}－{rng.randrange(1, 30)}",
                                                     "PhoneNumber1": phone},
            "HealthInsurance_Information": [insurance],
            "CreateDate": "2020-04-01", "UpdateDate": "2020-04-01",
        }
    return patients


@dataclass
class Reception:
    """One reception in the simulated ORCA."""

    acceptance_id: str
    patient_id: str
    day: date
    at: time
    department_code: str
    physician_code: str
    account_time: str = ""


def make_receptions(clinic: ClinicConfig, patients: dict[str, dict[str, Any]], day: date,
                    today: date) -> list[Reception]:
    """A day's receptions: the fixed patients' visits today, and a seeded crowd (none on Sundays)."""
    rng = random.Random(f"{clinic.seed}-{day.isoformat()}")
    if day.weekday() == 6 or day > today:
        return []
    receptions: list[Reception] = []
    if day == today:
        for spec in clinic.fixed_patients:
            if "visit" in spec:
                at, doctor = spec["visit"]
                receptions.append(Reception("", spec["id"], day, time.fromisoformat(at),
                                            clinic.physicians[doctor][2], doctor))
    fixed_ids = {r.patient_id for r in receptions}
    others = [pid for pid in patients if pid not in {p["id"] for p in clinic.fixed_patients}]
    for pid in rng.sample(others, 20 if day == today else rng.randrange(12, 28)):
        if pid in fixed_ids:
            continue
        minutes = rng.choice([rng.randrange(9 * 60 + 50, 12 * 60), rng.randrange(15 * 60, 18 * 60)])
        doctor = rng.choice(list(clinic.physicians))
        paid = day < today or (minutes < 11 * 60 and rng.random() < 0.4)
        receptions.append(Reception("", pid, day, time(minutes // 60, minutes % 60, rng.randrange(60)),
                                    clinic.physicians[doctor][2], doctor,
                                    f"{minutes // 60 + 1:02d}:{minutes % 60:02d}:00" if paid else ""))
    receptions.sort(key=lambda r: r.at)
    for number, reception in enumerate(receptions, start=1):
        reception.acceptance_id = f"{number:05d}"
    return receptions


def push_event(event: str, body: dict[str, Any], event_id: int, user: str) -> dict[str, Any]:
    """A PUSH notification as pusheventgetv2 returns it."""
    return {"data": {"uuid": str(uuid.uuid4()), "id": event_id, "event": event, "user": user, "body": body,
                     "time": datetime.now(JST).strftime("%Y-%m-%dT%H:%M:%S+0900")}}
