"""What the history simulator holds for the demo and the benchmark: 山田 太郎 of clinic A (his identity, and his
card-reader consent, as the ORCA simulator's eligibility result gives them) with a year of history from three
other institutions and two pharmacies — one of the drugs the same as his own current prescription (アムロジピン) — and
five yearly 特定健診; and a bulk history of any size for the benchmark.

Codes are real rows: drugs from app/prescriptions/data/drugs.csv (レセ電 医薬品マスター), procedures from the
診療行為マスター subset (shared data masters/procedures.csv), checkup item codes from the 特定健診 sample of the
JAMI eCheckupReport IG (Bundle-eCheckupReport-Sample-01). Institutions are fictional; their codes are not real ones."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from simulators.onshi import JST, OnshiState
from simulators.orca.data import DEFAULT_CLINICS, make_patients

CLINIC_A = ("かみかるて内科クリニック", "1310123458")
HOSPITAL = ("みなと総合病院", "1310000009")
ORTHO = ("しんじゅく整形外科", "1310000025")
ENT = ("にしぐち耳鼻咽喉科", "1310000033")
SAKURA = ("さくら薬局 新宿店", "1340000011")
HIMAWARI = ("ひまわり薬局", "1340000029")
#: (レセ電コード, name, ingredient, quantity, unit, usage).
AMLODIPINE = ("620007817", "アムロジピンＯＤ錠２．５ｍｇ「トーワ」", "アムロジピンベシル酸塩", "1", "錠",
              "1日1回朝食後")
ROSUVASTATIN = ("622537301", "ロスバスタチン錠２．５ｍｇ「杏林」", "ロスバスタチンカルシウム", "1", "錠",
                "1日1回夕食後")
CELECOXIB = ("620004857", "セレコックス錠１００ｍｇ", "セレコキシブ", "2", "錠", "1日2回朝夕食後")
REBAMIPIDE = ("620009460", "レバミピド錠１００ｍｇ「あすか」", "レバミピド", "2", "錠", "1日2回朝夕食後")
ALLEGRA = ("610443040", "アレグラ錠６０ｍｇ", "フェキソフェナジン塩酸塩", "2", "錠", "1日2回朝夕食後")
MAGNESIUM = ("620476901", "酸化マグネシウム錠２５０ｍｇ「ヨシダ」", "酸化マグネシウム", "3", "錠", "1日3回毎食後")
#: 診療行為: 再診料, 外来管理加算, ＨｂＡ１ｃ, 末梢血液一般検査, 初診料.
REVISIT, MANAGEMENT, HBA1C, BLOOD, FIRST_VISIT = (("112007410", "再診料"), ("112011010", "外来管理加算"),
                                                   ("160010010", "ＨｂＡ１ｃ"), ("160008010", "末梢血液一般検査"),
                                                   ("111000110", "初診料"))
#: 特定健診項目コード (OID 1.2.392.200119.6.1005): code, name, unit, value this year, change per year back.
CHECKUP_ITEMS = (("9N001000000000001", "身長", "cm", 168.2, 0.0), ("9N006000000000001", "体重", "kg", 71.4, -0.8),
                 ("9N011000000000001", "BMI", "kg/m2", 25.2, -0.3),
                 ("9N016160100000001", "腹囲", "cm", 88.0, -1.0),
                 ("9A751000000000001", "収縮期血圧（１回目）", "mmHg", 136.0, 3.0),
                 ("9A761000000000001", "拡張期血圧（１回目）", "mmHg", 84.0, 1.0),
                 ("3F015000002327101", "空腹時中性脂肪", "mg/dl", 142.0, -6.0),
                 ("3F070000002327101", "ＨＤＬコレステロール", "mg/dl", 48.0, 1.0),
                 ("3F077000002327101", "ＬＤＬコレステロール", "mg/dl", 128.0, 4.0),
                 ("3B035000002327201", "ＡＳＴ（ＧＯＴ）", "U/l", 26.0, 0.0),
                 ("3B045000002327201", "ＡＬＴ（ＧＰＴ）", "U/l", 30.0, 1.0),
                 ("3B090000002327101", "γ－ＧＴ（γ－ＧＴＰ）", "U/l", 52.0, 2.0),
                 ("3D046000001906202", "ＨｂＡ１ｃ（ＮＧＳＰ）", "%", 6.1, -0.1))


def _drug(source: str, day: date, where: tuple[str, str], prescriber: tuple[str, str], drug: tuple[str, ...],
          days: int, own: bool = False) -> dict[str, Any]:
    code, name, ingredient, quantity, unit, usage = drug
    return {"source": source, "day": day, "institution_code": where[1], "institution_name": where[0],
            "prescriber_code": prescriber[1], "prescriber_name": prescriber[0], "own": own, "drug_code": code,
            "drug_name": name, "ingredient": ingredient, "quantity": quantity, "unit": unit, "usage": usage,
            "instruction": "", "times": str(days)}


def _visit(out: dict[str, list], day: date, today: date, institution: tuple[str, str], pharmacy: tuple[str, str],
           drugs: tuple[tuple[str, ...], ...], days: int, acts: tuple[tuple[str, str], ...]) -> None:
    """One visit: the pharmacy's receipt for the drugs, the institution's receipt for the acts, and — within the
    e-prescription window — the e-prescription and its dispensing."""
    for drug in drugs:
        out["dispensings"].append(_drug("receipt", day, pharmacy, institution, drug, days))
        if (today - day).days <= 100:
            out["dispensings"].append(_drug("eprescription", day, institution, institution, drug, days))
            out["dispensings"].append(_drug("dispensed", day, pharmacy, institution, drug, days))
    for code, name in acts:
        out["procedures"].append({"day": day, "institution_code": institution[1], "institution_name": institution[0],
                                  "code": code, "name": name, "quantity": "1", "times": "1", "unit": ""})


def yamada_history(today: date) -> dict[str, list]:
    """A year of 山田 太郎's history: the hospital every four weeks (アムロジピン, ロスバスタチン), the orthopaedist
    three times, the ENT clinic in spring, two pharmacies, our own clinic twice; five yearly checkups."""
    out: dict[str, list] = {"dispensings": [], "procedures": [], "checkups": []}
    for n in range(13):
        day = today - timedelta(days=10 + 28 * n)
        acts = (REVISIT, MANAGEMENT) + ((HBA1C, BLOOD) if n % 3 == 0 else ())
        _visit(out, day, today, HOSPITAL, SAKURA, (AMLODIPINE, ROSUVASTATIN), 28, acts)
    for n, ago in enumerate((40, 75, 200)):
        acts = ((FIRST_VISIT,) if n == 2 else (REVISIT, MANAGEMENT))
        _visit(out, today - timedelta(days=ago), today, ORTHO, HIMAWARI, (CELECOXIB, REBAMIPIDE), 14, acts)
    for ago in (240, 255):
        _visit(out, today - timedelta(days=ago), today, ENT, HIMAWARI, (ALLEGRA,), 14, (REVISIT,))
    for ago in (120, 180):
        out["dispensings"].append(_drug("receipt", today - timedelta(days=ago), CLINIC_A, CLINIC_A, MAGNESIUM, 14,
                                        own=True))
    for years in range(5):
        day = date(today.year - years, 6, 12) if date(today.year - years, 6, 12) <= today else None
        if day is None:
            continue
        items = [{"code": code, "name": name, "data_type": "PQ", "value": f"{value - change * years:g}", "unit": unit,
                  "value_name": ""} for code, name, unit, value, change in CHECKUP_ITEMS]
        judged = ("2", "予備群該当") if years < 2 else ("3", "非該当")
        items.append({"code": "9N501000000000011", "name": "メタボリックシンドローム判定", "data_type": "CD",
                      "value": judged[0], "unit": "", "value_name": judged[1]})
        out["checkups"].append({"day": day, "items": items})
    return out


def bulk_history(today: date, count: int = 1000, seed: int = 7) -> dict[str, list]:
    """`count` dispensings the service gives (receipts of three years, e-prescriptions of 100 days), for the bench."""
    rng = random.Random(seed)
    out: dict[str, list] = {"dispensings": [], "procedures": [], "checkups": []}
    drugs = (AMLODIPINE, ROSUVASTATIN, CELECOXIB, REBAMIPIDE, ALLEGRA, MAGNESIUM)
    places = ((HOSPITAL, SAKURA), (ORTHO, HIMAWARI), (ENT, HIMAWARI))
    oldest = (today - date(today.year - 3, today.month, 1)).days - 1
    while len(out["dispensings"]) < count:
        institution, pharmacy = rng.choice(places)
        recent = rng.random() < 0.1
        day = today - timedelta(days=rng.randrange(1, 100) if recent else rng.randrange(46, oldest))
        source = rng.choice(("eprescription", "dispensed")) if recent else "receipt"
        where = institution if source == "eprescription" else pharmacy
        out["dispensings"].append(_drug(source, day, where, institution, rng.choice(drugs), rng.choice((7, 14, 28))))
        if source == "receipt" and rng.random() < 0.5:
            out["procedures"].append({"day": day, "institution_code": institution[1],
                                      "institution_name": institution[0], "code": REVISIT[0], "name": REVISIT[1],
                                      "quantity": "1", "times": "1", "unit": ""})
    return out


def _consent_until(qualification: dict[str, str], prefix: str) -> datetime | None:
    if qualification.get(f"{prefix}ConsFlg") != "1":
        return None
    return datetime.strptime(qualification[f"{prefix}AvailableTime"], "%Y%m%d%H%M%S").replace(tzinfo=JST)


def demo_state(today: date | None = None) -> OnshiState:
    """The demo's people: clinic A's 山田 太郎 as the ORCA simulator knows him, with his consent and history."""
    today = today or datetime.now(JST).date()
    state = OnshiState()
    record = make_patients(DEFAULT_CLINICS[0], today)["00001"]
    insurance = record["HealthInsurance_Information"][0]
    identity = (insurance["InsuranceProvider_Number"], insurance["HealthInsuredPerson_Symbol"],
                insurance["HealthInsuredPerson_Number"], insurance["HealthInsuredPerson_Branch_Number"])
    qualification = record.get("ResultOfQualificationConfirmation", {})
    consent = {kind: _consent_until(qualification, prefix) for kind, prefix in (
        ("drug", "PharmacistsInfo"), ("diagnosis", "DiagnosisInfo"), ("checkup", "SpecificHealthCheckupsInfo"))}
    state.add_person(identity, name=record["WholeName"], kana=record["WholeName_inKana"],
                     birth=date.fromisoformat(record["BirthDate"]), sex=record["Sex"],
                     consent_until={k: v for k, v in consent.items() if v}, **yamada_history(today))
    return state
