"""ORCA's PUSH notifications (pusheventgetv2) in the sync pass: a patient changed in ORCA is fetched at once,
events are handled once (by uuid), and an ORCA that cannot give them does not stop the pass."""

from __future__ import annotations

import json

import requests
from sqlalchemy import select

from app.clinics.models import Clinic
from app.patients.models import Patient
from app.reception.models import SyncState, Visit
from app.reception.orca_sync import orca_client_for, sync_all_clinics, sync_push_events
from tests.reception.test_reception import orca_clinic  # noqa: F401 — the fixture

CODE = "1310123458"


def _sync(app):
    sync_all_clinics(app.extensions["db_sessionmaker"])


def _push_pass(session, clinic_id):
    """Only the PUSH part of a pass (so that nothing else can explain a change)."""
    clinic = session.get(Clinic, clinic_id)
    days = sync_push_events(session, clinic, orca_client_for(clinic))
    session.commit()
    return days


def test_a_patient_changed_in_orca_is_fetched_from_its_push_event(app, orca, orca_clinic, session):  # noqa: F811
    clinic, _ = orca_clinic
    _sync(app)
    requests.post(f"{orca.root}/_sim/clinic/{CODE}/patients/00003", json={"WholeName": "佐々木　一朗"}, timeout=5)
    _push_pass(session, clinic.id)
    session.expire_all()
    patient = session.scalars(select(Patient).where(Patient.orca_patient_id == "00003")).one()
    assert patient.name == "佐々木　一朗"
    state = session.scalars(select(SyncState).where(SyncState.kind == "orca.push")).one()
    assert state.last_error is None and len(json.loads(state.cursor)["seen"]) >= 1


def test_each_event_is_handled_once(app, orca, orca_clinic, session):  # noqa: F811
    clinic, _ = orca_clinic
    _sync(app)
    requests.post(f"{orca.root}/_sim/clinic/{CODE}/patients/00003", json={"WholeName": "佐々木　一朗"}, timeout=5)
    _push_pass(session, clinic.id)
    session.expire_all()
    seen = json.loads(session.scalars(select(SyncState).where(SyncState.kind == "orca.push")).one().cursor)["seen"]
    # The next pass asks from the same minute again (ORCA's resolution): the event comes back and is skipped.
    patient = session.scalars(select(Patient).where(Patient.orca_patient_id == "00003")).one()
    patient.name = "手で直した名前"  # a marker: a replayed event would fetch ORCA's name over it
    session.commit()
    _push_pass(session, clinic.id)
    session.expire_all()
    cursor = json.loads(session.scalars(select(SyncState).where(SyncState.kind == "orca.push")).one().cursor)
    assert cursor["seen"] == seen
    assert session.scalars(select(Patient.name).where(Patient.orca_patient_id == "00003")).one() == "手で直した名前"


def test_push_api_failing_does_not_stop_the_reception_pull(app, orca, orca_clinic, session):  # noqa: F811
    clinic, _ = orca_clinic
    orca.set_fault("error_code", api="pusheventgetv2", code="99", message="PUSH通知は利用できません")
    _sync(app)
    session.expire_all()
    visits = session.scalars(select(Visit).where(Visit.clinic_id == clinic.id)).all()
    assert len(visits) >= 5  # today's list arrived anyway
    push = session.scalars(select(SyncState).where(SyncState.kind == "orca.push")).one()
    assert "PUSH通知を取得できません" in push.last_error and "retry_at" in json.loads(push.cursor)
    main = session.scalars(select(SyncState).where(SyncState.kind == "orca.reception")).one()
    assert main.last_error is None
