"""共有しない from the start is the diagnosis service's rule, whoever records the diagnosis (a form, the seed, an API):
with a reason the new diagnosis is marked withheld in the same transaction; without one nothing is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.audit import Actor
from app.core.errors import ValidationError
from app.core.timeutil import japan_today
from app.diagnoses import services
from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.sharing.withholding import withheld_lineages
from tests.diagnoses.test_diagnoses import HYPERTENSION
from tests.factories import make_clinic, make_patient, make_user


def _entry(session):
    load_shipped_subsets(session)
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic)
    actor = Actor(user_id=doctor.id, login_id=doctor.login_id, clinic_id=clinic.id, role="doctor")
    return clinic, patient, actor, services.DiagnosisInput(disease_code=HYPERTENSION,
                                                           started_on=japan_today().isoformat())


def test_a_service_caller_withholds_a_new_diagnosis_with_its_reason(session):
    clinic, patient, actor, data = _entry(session)
    item = services.add_diagnosis(session, clinic.id, actor, patient.id, data, withhold_reason="未告知の病名")
    session.commit()
    assert ("patient_diagnosis", item.lineage_id) in withheld_lineages(session, clinic.id, patient.id)


def test_no_reason_refuses_the_whole_entry(session):
    clinic, patient, actor, data = _entry(session)
    with pytest.raises(ValidationError) as refused:
        services.add_diagnosis(session, clinic.id, actor, patient.id, data, withhold_reason="")
    session.rollback()
    assert refused.value.field == "withhold_reason"
    assert session.scalars(select(Diagnosis).where(Diagnosis.patient_id == patient.id)).all() == []
