"""The billing tests' desk: clinic A with its ORCA simulator, today's list synced, 山田 太郎 (00001) with a main
特定疾患 and today's visit, a doctor and a clerk."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.audit import Actor
from app.core.timeutil import japan_today
from app.patients.models import Patient
from app.reception.models import Visit
from app.reception.orca_sync import sync_all_clinics
from tests.billing.helpers import BASEDOW, CODE, add_diagnosis, earlier_visit, load_masters
from tests.factories import make_clinic, make_user


@pytest.fixture
def desk(app, session, orca):
    clinic = make_clinic(session, institution_code=CODE, integrations={"orca": {
        "base_url": orca.base_url(CODE), "user": "ormaster-a", "password": "orca-demo-a"}})
    doctor = make_user(session, clinic, role="doctor")
    clerk = make_user(session, clinic, role="clerk")
    load_masters(session)
    session.commit()
    sync_all_clinics(app.extensions["db_sessionmaker"])
    session.expire_all()
    patient = session.scalars(select(Patient).where(Patient.orca_patient_id == "00001")).one()
    add_diagnosis(session, patient, *BASEDOW)
    earlier_visit(session, clinic, patient, japan_today())
    visit = session.scalars(select(Visit).where(Visit.patient_id == patient.id)
                            .order_by(Visit.visit_date.desc())).first()
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "clerk": clerk, "visit": visit, "patient": patient,
            "actor": Actor(user_id=doctor.id, login_id=doctor.login_id, clinic_id=clinic.id, role="doctor")}
