"""The load test's data set, written straight into the database: many clinics of many patients (500 × 2,000 =
a million patients by default), a doctor in each of the clinics whose staff the load test logs in, today's visits,
and in each of those clinics one patient with a full record (bench/seed.py `seed_record`) whose pages are loaded.

The accounts and ids the load generator needs are written to a JSON file beside the database."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic, StaffUser
from app.core.checkdigit import luhn_valid
from app.core.timeutil import JST, japan_today
from app.diagnoses.masters import load_shipped_subsets
from app.patients.models import Patient
from app.reception.models import Visit
from bench import seed as bench_seed

BATCH = 10_000


def institution_code(number: int) -> str:
    """A well-formed 医療機関コード (Tokyo, 医科, Luhn check digit) for load-test clinic `number` — the prescription
    PDF refuses a malformed one, so a code the printing cannot take would time a refusal, not a PDF."""
    stem = f"1319{number:05d}"
    return next(stem + digit for digit in "0123456789" if luhn_valid(stem + digit))


def _clinic_rows(n_clinics: int) -> list[dict]:
    return [{"name": f"負荷試験クリニック{i:03d}", "institution_code": institution_code(i), "postal_code": "",
             "address": "", "phone": "", "departments": [{"code": "01", "name": "内科"}], "is_full_chart_mode": False,
             "idle_lock_minutes": 10, "integrations": {}} for i in range(1, n_clinics + 1)]


def seed_load(url: str, accounts_path: Path, n_clinics: int, patients_per_clinic: int, active_clinics: int,
              visits_per_clinic: int = 40, progress=print) -> None:
    """Write the data set into an empty, migrated database at `url` and the accounts file."""
    rng = random.Random(2026)
    families, givens = bench_seed.names()
    engine = create_engine(url)
    today = japan_today()
    start = datetime.combine(today, datetime.min.time(), tzinfo=JST).replace(hour=9)
    now = datetime.now(UTC)
    accounts = []
    with engine.begin() as conn:
        clinic_ids = list(conn.execute(insert(Clinic).returning(Clinic.id), _clinic_rows(n_clinics)).scalars())
        rows: list[dict] = []
        for number, clinic_id in enumerate(clinic_ids, start=1):
            rows += [bench_seed.patient_row(rng, clinic_id, i, families, givens)
                     for i in range(1, patients_per_clinic + 1)]
            if len(rows) >= BATCH:
                conn.execute(insert(Patient), rows)
                rows = []
            if number % 50 == 0:
                progress(f"patients of {number} clinics")
        if rows:
            conn.execute(insert(Patient), rows)
        first_patient = dict(conn.execute(select(Patient.clinic_id, Patient.id).where(
            Patient.orca_patient_id == "000001")).all())
        staff, visits = [], []
        for clinic_id in clinic_ids[:active_clinics]:
            doctor = bench_seed.Doctor(f"load{clinic_id}", f"load-{rng.random()}", pyotp.random_base32())
            staff.append(bench_seed.doctor_row(clinic_id, doctor, now))
            accounts.append({"clinic_id": clinic_id, **asdict(doctor)})
            base = first_patient[clinic_id]
            visits += [{"clinic_id": clinic_id, "patient_id": base + rng.randrange(0, patients_per_clinic),
                        "visit_date": today, "accepted_at": (start + timedelta(minutes=i)).astimezone(UTC),
                        "orca_acceptance_id": f"{i:05d}", "department_code": "01", "department_name": "内科",
                        "physician_code": "10001", "physician_name": "医師1",
                        "status": rng.choice(["accepted", "in_exam", "paid"]), "source": "orca", "revision": 1}
                       for i in range(1, visits_per_clinic + 1)]
        conn.execute(insert(StaffUser), staff)
        conn.execute(insert(Visit), visits)
    progress("records of the active clinics")
    with Session(engine) as session:
        load_shipped_subsets(session)
        bench_seed.seed_drugs(session, 0)
        for account in accounts:
            patient_id = first_patient[account["clinic_id"]]
            record = bench_seed.seed_record(session, account["clinic_id"], patient_id)
            account["record"] = asdict(record)
    engine.dispose()
    bench_seed.analyze(url)
    accounts_path.write_text(json.dumps(accounts, ensure_ascii=False), encoding="utf-8")
