"""The load test against the demo itself (`python -m bench.load.run --demo`): scripts/run_demo.py on a fresh SQLite
file — its own seed, simulators, the production server (gunicorn, several workers) and the outbox worker and
pollers as processes — and an accounts file of the demo's two doctors (README "Demo accounts") with, for each,
the patient whose prescription PDF, letter PDF and pages the mix loads.

The demo has eight accounts and each logs in once per TOTP time step, so its users share the doctors' logins
(KAMIKARTE_LOAD_SHARED_SESSIONS in bench/load/locustfile.py): each doctor logs in once, through the form.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.clinics.models import StaffUser
from app.demo.seed import ACCOUNTS, DEMO_PASSWORD
from app.documents.models import ReferralLetter
from app.prescriptions.models import ISSUED, Drug, Prescription
from bench.load.process import start_answering
from bench.seed import check_form

#: Prescriptions printed as the 院外処方箋 (a 電子処方箋 prints the service's 控え instead).
PRINTED_MODES = ("paper", "paper_exchange")
DOCTORS = [(login_id, secret) for login_id, _clinic, role, _name, _kana, secret in ACCOUNTS if role == "doctor"]


def start_demo(database: Path, port: int, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    """scripts/run_demo.py on `database` (seeded on first start), serving on `port`; (process, base URL) once
    it answers."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PORT": str(port),
           "KAMIKARTE_WEB_WORKERS": str(workers)}
    base = f"http://127.0.0.1:{port}"
    # The first start seeds the demo (masters, records, images): minutes on a busy machine.
    return start_answering([sys.executable, "-m", "scripts.run_demo"], env, log, base, timeout=600), base


def demo_accounts(database: Path, path: Path) -> None:
    """Write the accounts file: each demo doctor whose clinic has an issued printed prescription and a referral
    letter (today clinic A's), with the newest of each (the prescription's patient is the one whose pages are
    loaded)."""
    engine = create_engine(f"sqlite:///{database}")
    accounts = []
    with Session(engine) as session:
        drugs = list(session.scalars(select(Drug).where(Drug.dosage_form == 1).order_by(Drug.receipt_code)
                                     .limit(10)))
        for login_id, secret in DOCTORS:
            clinic_id = session.scalar(select(StaffUser.clinic_id).where(StaffUser.login_id == login_id))
            prescription = session.scalar(select(Prescription).where(
                Prescription.clinic_id == clinic_id, Prescription.status == ISSUED,
                Prescription.mode.in_(PRINTED_MODES))
                .order_by(Prescription.id.desc()).limit(1))
            letter = session.scalar(select(ReferralLetter).where(ReferralLetter.clinic_id == clinic_id)
                                    .order_by(ReferralLetter.id.desc()).limit(1))
            if prescription is None or letter is None:
                continue  # its clinic has none to print: the mix needs both
            accounts.append({"clinic_id": clinic_id, "login_id": login_id, "password": DEMO_PASSWORD,
                             "totp_secret": secret, "record": {
                                 "patient_id": prescription.patient_id, "prescription_id": prescription.id,
                                 "letter_patient_id": letter.patient_id, "letter_id": letter.id,
                                 "check_form": check_form(drugs)}})
    engine.dispose()
    if not accounts:
        raise SystemExit("no demo clinic has both an issued printed prescription and a referral letter")
    path.write_text(json.dumps(accounts, ensure_ascii=False), encoding="utf-8")
