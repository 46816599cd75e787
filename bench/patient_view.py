"""The patient screen figure (issue 25: p95 ≤ 150 ms): the screen a patient is handed, every section chosen, for
the patient of ten years (bench/summary.py: 1,000 lab results, 300 prescriptions, 50 letters) with an allergy
added. A nurse of the bench clinic hands the tablet over in a session of her own (the figures of the logged-in
doctor go on in theirs), then the locked screen is loaded as the patient reads it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pyotp
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.clinics.models import StaffUser
from app.documents.models import ReferralLetter
from app.patients.profile_models import Allergy
from bench import summary
from bench.seed import Doctor, doctor_row
from bench.server import Browser, measure

NAME = "patient_screen"
TARGET_MS = 150


def seed(session: Session, clinic_id: int) -> tuple[Doctor, int]:
    """A nurse account and the patient of ten years; (the nurse's credentials, the patient's id)."""
    nurse = Doctor("bench-nurse", f"bench-{random.Random(25).random()}", pyotp.random_base32())
    now = datetime.now(UTC)
    session.execute(insert(StaffUser), [{**doctor_row(clinic_id, nurse, now), "role": "nurse",
                                         "display_name": "看護　花子", "display_kana": "カンゴ ハナコ"}])
    patient_id = summary.seed_history(session, clinic_id, summary.History(), orca_id="PV000001")
    allergy = Allergy(clinic_id=clinic_id, patient_id=patient_id, category="food", substance="えび",
                      reaction="蕁麻疹", severity="moderate", version=1, recorded_at=now, recorded_by_name="bench")
    session.add(allergy)
    session.flush()
    allergy.lineage_id = allergy.id
    session.commit()
    return nurse, patient_id


def figures(base_url: str, nurse: Doctor, patient_id: int, samples: int, session: Session
            ) -> list[tuple[str, int, tuple[float, float], int]]:
    """(name, n, p50/p95, target) of the handed-over screen; n is the patient's number of lab results."""
    letter_id = session.scalar(select(ReferralLetter.id).where(ReferralLetter.patient_id == patient_id,
                                                               ReferralLetter.status == "final")
                               .order_by(ReferralLetter.written_on.desc()).limit(1))
    browser = Browser(base_url)
    browser.login(nurse.login_id, nurse.password, nurse.totp_secret)
    browser.get(f"/patients/{patient_id}/patient-view")
    browser.post_form(f"/patients/{patient_id}/patient-view", {
        "sections": ["diagnoses", "allergies", "medicines", "labs", "tests", "letter"],
        "letter_id": str(letter_id)}, expect=302)
    page = browser.get("/patient-view").text
    for expected in ("えび", "検査の結果", "pv-trend", "みなと総合病院", "picto"):
        if expected not in page:
            raise SystemExit(f"the patient screen shows no 「{expected}」: the bench data are wrong")
    return [(NAME, summary.History().results, measure(lambda: browser.get("/patient-view"), samples), TARGET_MS)]
