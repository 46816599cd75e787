"""The demo with the 資格確認端末: 山田 太郎's card-reader consent of today is recorded from ORCA's eligibility
result, his history (three other institutions, two pharmacies, a year) is fetched once and reused at the next
start, and the prescription check names the hospital's アムロジピン that duplicates his own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clinics.models import Clinic
from app.demo.runtime import prepare_demo
from app.onshi.models import HistoryConsent, HistoryFetch
from app.patients.models import Patient
from simulators.onshi.demo_data import demo_state
from simulators.onshi.testing import start_onshi
from tests.prescriptions.test_prescriptions import AMLODIPINE, _form
from tests.prescriptions.test_rx_safety import AFTER_BREAKFAST

pytestmark = pytest.mark.backends("sqlite")  # the demo as it is started: see tests/conftest.py


def test_demo_yamada_has_consent_history_and_a_named_duplicate(app, client, orca, session):
    service = start_onshi(demo_state())
    try:
        prepare_demo(app, orca.root, oqs_root=service.terminal.url)
        clinic = session.scalar(select(Clinic).where(Clinic.institution_code == "1310123458"))
        yamada = session.scalar(select(Patient).where(Patient.clinic_id == clinic.id,
                                                      Patient.orca_patient_id == "00001"))
        kinds = {c.kind: c.flag for c in session.scalars(select(HistoryConsent).where(
            HistoryConsent.patient_id == yamada.id))}
        assert kinds == {"drug": "1", "diagnosis": "1", "checkup": "1", "operation": "0"}
        fetches = session.scalars(select(HistoryFetch).where(HistoryFetch.patient_id == yamada.id)).all()
        assert sorted((f.kind, f.status) for f in fetches) == [("checkup", "received"), ("medication", "received")]
        medication = next(f for f in fetches if f.kind == "medication")
        places = {d["institution_name"] for d in medication.content["dispensings"] if not d["own"]}
        assert {"みなと総合病院", "しんじゅく整形外科", "さくら薬局 新宿店", "ひまわり薬局"} <= places
        prescribers = {d["prescriber_name"] for d in medication.content["dispensings"] if not d["own"]}
        assert {"みなと総合病院", "しんじゅく整形外科", "にしぐち耳鼻咽喉科"} <= prescribers
        prepare_demo(app, orca.root, oqs_root=service.terminal.url)  # a second start reuses today's replies
        session.expire_all()
        assert len(session.scalars(select(HistoryFetch)).all()) == 2
        client.login("doctor", "IA6YOND7VRBS563LAATXBI6DNXZI4KME", password="kamikarte-demo-2026")
        page = f"/patients/{yamada.id}/prescriptions/new"
        html = client.post(page, _form([("1", AFTER_BREAKFAST, "", "28", [(AMLODIPINE, "1", False, False)])],
                                       action="check"), form_page=page).get_data(as_text=True)
        assert "重複投与（同一成分）" in html and "（処方 みなと総合病院）" in html
        history = client.get(f"/patients/{yamada.id}/onshi").get_data(as_text=True)
        assert "さくら薬局 新宿店" in history and "自院" in history
    finally:
        service.stop()
