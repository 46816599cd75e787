"""The simulated clinics' 受付 (receptions): today's list with the fixed demo patients first, and past days."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from simulators.orca.data import ClinicConfig, age_on

#: Past days with receptions (older days answer 21 対象の受付はありませんでした).
HISTORY_DAYS = 60
#: 診療内容区分 (system01lstv2 class=06): code → (name, name2).
MEDICAL_INFORMATION = {
    "01": ("診察", "診察１"), "02": ("薬のみ", "診察２"), "03": ("注射のみ", "診察３"), "04": ("検査のみ", "検査"),
    "05": ("リハビリテーション", "リハビリ"), "06": ("健康診断", "健康診断"), "07": ("予防注射", "予防注射"),
    "99": ("該当なし", "（該当なし）"),
}


@dataclass
class Reception:
    """One 受付 in the simulated ORCA (ORCA has 受付中 and 会計済 — Account_Time — and deletes cancelled ones)."""

    acceptance_id: str
    patient_id: str
    day: date
    at: time
    department_code: str
    physician_code: str
    combination: str = "0001"
    medical_information: str = "01"
    account_time: str = ""
    appointment_time: str = ""
    appointment_id: str = ""


def usual_combination(patient: dict[str, Any], rng: random.Random | None = None) -> str:
    """The 保険組合せ a visit uses: the one with a 公費 when there is one (mostly), else the first; never 自費."""
    combos = [c for c in patient["HealthInsurance_Information"] if c.get("InsuranceProvider_Class") != "980"]
    with_public = [c for c in combos if c.get("PublicInsurance_Information")]
    if with_public and (rng is None or rng.random() < 0.7):
        return with_public[0]["Insurance_Combination_Number"]
    return combos[0]["Insurance_Combination_Number"] if combos else "0001"


def _department_and_doctor(clinic: ClinicConfig, patient: dict[str, Any], day: date,
                           rng: random.Random) -> tuple[str, str]:
    young = age_on(date.fromisoformat(patient["BirthDate"]), day) < 15
    department = "09" if young and "09" in clinic.departments else next(iter(clinic.departments))
    doctors = [p.code for p in clinic.physicians.values() if department in p.departments]
    return department, rng.choice(doctors)


def _at(minutes: int, seconds: int) -> time:
    return time(minutes // 60, minutes % 60, seconds)


def _hhmmss(t: time, plus_minutes: int = 0) -> str:
    return (datetime.combine(date.min, t) + timedelta(minutes=plus_minutes)).strftime("%H:%M:%S")


def make_receptions(clinic: ClinicConfig, patients: dict[str, dict[str, Any]], day: date,
                    today: date) -> list[Reception]:
    """A day's receptions, seeded by clinic and date: today the fixed patients' morning visits and a busy
    morning after them; past days (not Sundays, Saturday mornings only) all paid; nothing in the future."""
    if day > today or day < today - timedelta(days=HISTORY_DAYS) or (day != today and day.weekday() == 6):
        return []
    rng = random.Random(f"{clinic.seed}-{day.isoformat()}")
    receptions: list[Reception] = []
    fixed_ids = {p.patient_id for p in clinic.fixed_patients}
    if day == today:
        for spec in clinic.fixed_patients:
            if spec.visit and spec.patient_id in patients:
                at, doctor = spec.visit
                receptions.append(Reception("", spec.patient_id, day, time.fromisoformat(at),
                                            clinic.physicians[doctor].departments[0], doctor,
                                            usual_combination(patients[spec.patient_id])))
        count = max(clinic.visits_today - len(receptions), 0)
        minutes = [9 * 60 + 47 + i * 7 + rng.randrange(0, 5) for i in range(count)]  # after the fixed ones
    else:
        morning = rng.randrange(8, 16)
        afternoon = 0 if day.weekday() == 5 else rng.randrange(6, 16)
        minutes = sorted([rng.randrange(9 * 60, 12 * 60 + 30) for _ in range(morning)]
                         + [rng.randrange(15 * 60, 18 * 60 + 30) for _ in range(afternoon)])
    others = [pid for pid in patients if pid not in fixed_ids]
    for index, (pid, minute) in enumerate(zip(rng.sample(others, len(minutes)), minutes, strict=True)):
        at = _at(minute, rng.randrange(60))
        department, doctor = _department_and_doctor(clinic, patients[pid], day, rng)
        reception = Reception("", pid, day, at, department, doctor, usual_combination(patients[pid], rng),
                              rng.choices(["01", "02", "04"], [80, 12, 8])[0])
        if day < today or (index < 8 and rng.random() < 0.5):
            reception.account_time = _hhmmss(at, rng.randrange(20, 50))
        if rng.random() < 0.2:
            slot = max(9 * 60, minute - minute % 15)
            reception.appointment_time = _hhmmss(_at(slot, 0))
            reception.appointment_id = f"{rng.randrange(1, 500):02d}"
        receptions.append(reception)
    receptions.sort(key=lambda r: r.at)
    for number, reception in enumerate(receptions, start=1):
        reception.acceptance_id = f"{number:05d}"
    return receptions
