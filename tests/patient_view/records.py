"""A patient with something in every section of the patient screen, written straight into the tables (the HTTP
tests and the browser test share it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.core.timeutil import japan_today
from app.db import utcnow
from app.diagnoses.models import Diagnosis
from app.documents.models import ReferralLetter
from app.labs.models import LabOrder, LabResult, LabSpecimen
from app.patients.profile_models import Allergy
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from tests.factories import make_clinic, make_lab_source, make_patient, make_user


def _versioned(model: Any, session: Session, **values: Any) -> Any:
    record = model(recorded_at=utcnow(), **values)
    session.add(record)
    session.flush()
    record.lineage_id = record.id
    return record


def seed_patient_records(session: Session, clinic: Any, **patient: Any) -> dict[str, Any]:
    """The patient and the ids a test needs: two diagnoses (one with our wording, one without, one suspected), an
    allergy, today's prescription (朝昼夕食後) and an older 頓服, AST on three days (the last one high), tomorrow's
    order, a confirmed letter and a draft."""
    today = japan_today()
    person = make_patient(session, clinic, **patient)
    own = {"clinic_id": clinic.id, "patient_id": person.id}
    _versioned(Diagnosis, session, **own, disease_code="8833421", display_name="高血圧症", is_main=True,
               started_on=today - timedelta(days=400))
    _versioned(Diagnosis, session, **own, disease_code="0085004", display_name="細菌性腸炎", is_suspected=True,
               started_on=today - timedelta(days=3))
    _versioned(Diagnosis, session, **own, disease_code="4659007", display_name="急性上気道炎", outcome="cured",
               started_on=today - timedelta(days=90), ended_on=today - timedelta(days=80))
    _versioned(Allergy, session, **own, category="food", substance="えび", reaction="蕁麻疹", severity="moderate")
    for issued_on, form, usage, quantity, drug, name in (
            # Rows of the shipped drug master (app/prescriptions/data/drugs.csv).
            (today, 1, "１日３回朝昼夕食後", 14, "620007817", "アムロジピンＯＤ錠２．５ｍｇ「トーワ」"),
            (today - timedelta(days=10), 2, "疼痛時", 5, "620000033", "カロナール錠３００　３００ｍｇ")):
        rx = Prescription(**own, doctor_name="医師 一郎", issued_on=issued_on,
                          valid_until=issued_on + timedelta(days=3))
        rx.rps.append(PrescriptionRp(number=1, form=form, usage_text=usage, quantity=quantity, times_per_day=3 if
                                     form == 1 else None, lines=[PrescriptionLine(seq=1, drug_receipt_code=drug,
                                                                                  drug_name=name, dose=3 if form == 1
                                                                                  else 1, unit="錠")]))
        session.add(rx)
    for days_ago, value, flag in ((200, 25.0, ""), (100, 28.0, ""), (1, 45.0, "H")):
        keys = make_lab_source(session, clinic, person)
        _versioned(LabResult, session, **keys, lab_code="K0111", jlac10="3B035000002327201", name="AST(GOT)",
                   value=f"{value:g}", numeric_value=value, unit="U/L", reference_range="13-30", flag=flag,
                   collected_on=today - timedelta(days=days_ago))
    order = LabOrder(**own, order_number="UP00000001", ordered_on=today + timedelta(days=7), status="queued")
    order.specimens.append(LabSpecimen(**own, seq=1, specimen_number="0000009015", specimen="血清",
                                       specimen_code="023", container="生化学",
                                       items=[{"lab_code": "K0152", "jlac10": "3D046000001906202",
                                               "name": "HbA1c(NGSP)", "short_name": "HbA1c"}]))
    session.add(order)
    letter = ReferralLetter(**own, author_name="医師 一郎", to_institution="みなと総合病院", to_department="循環器内科",
                            to_doctor="港 次郎", written_on=today, status="final", purpose="狭心症の精査をお願いします")
    draft = ReferralLetter(**own, author_name="医師 一郎", to_institution="下書き病院", written_on=today)
    session.add_all([letter, draft])
    session.flush()
    return {"patient": person, "letter_id": letter.id, "draft_id": draft.id, "today": today}



def seed_ward(app: Any) -> dict[str, Any]:
    """For a browser test: a clinic, its doctor (login ID and TOTP secret) and the patient of seed_patient_records,
    written through the app's own session."""
    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        clinic = make_clinic(session, name="ブラウザ内科")
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
        records = seed_patient_records(session, clinic)
        session.commit()
        return {"doctor": (doctor.login_id, doctor.totp_secret), "patient_id": records["patient"].id}
