"""The demo as docs/demo.md describes it: seeded clinics, the fixed patients pulled from the ORCA simulator,
and 山田 太郎 / 髙橋 美咲 with their clinical records (added once)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.demo.runtime import prepare_demo
from app.diagnoses import services as diagnoses
from app.notes.models import NotePhrase, NoteTemplate, ProgressNote
from app.patients import profile as profiles
from app.patients.models import Patient
from app.patients.profile_forms import KINDS
from app.patients.profile_models import Allergy, VitalSign
from app.prescriptions.models import Prescription

pytestmark = pytest.mark.backends("sqlite")  # the demo as it is started: see tests/conftest.py


def _patient(session, orca_id: str) -> Patient:
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == "1310123458"))
    return session.scalar(select(Patient).where(Patient.clinic_id == clinic.id, Patient.orca_patient_id == orca_id))


def test_demo_gives_yamada_every_profile_item_and_takahashi_a_drug_allergy(app, orca, session):
    prepare_demo(app, orca.root)
    yamada = _patient(session, "00001")
    assert yamada.name == "山田　太郎"
    overview = profiles.profile_overview(session, yamada.clinic_id, yamada.id)
    expected = [slug for slug, kind in KINDS.items() if not kind.female_only]  # 妊娠・授乳: female patients only
    assert all(overview[slug] for slug in expected), [slug for slug in expected if not overview[slug]]
    assert not overview["pregnancy"]
    assert len(overview["vitals"]) == 13  # a year of monthly visits
    names = [d.display_name for d in diagnoses.current_diagnoses(session, yamada.clinic_id, yamada.id)]
    assert names[0] == "高血圧症" and "労作性狭心症の疑い" in names and len(names) == 5
    prescription = session.scalars(select(Prescription).where(Prescription.patient_id == yamada.id)).one()
    lines = [line for rp in prescription.rps for line in rp.lines]
    assert prescription.status == "issued" and len(lines) >= 3 and any(line.by_generic_name for line in lines)
    assert prescription.orca_billing_status in ("sending", "sent")  # queued for ORCA's 会計 like any other
    takahashi = _patient(session, "00002")
    allergy = session.scalars(select(Allergy).where(Allergy.patient_id == takahashi.id)).one()
    assert allergy.category == "drug" and allergy.drug_match_code and allergy.drug_scope == "ingredient"
    assert profiles.active_pregnancy(session, takahashi.clinic_id, takahashi.id).status == "lactating"
    # Clinic B (full-chart mode): its own 山田 太郎 has three days' SOAP notes, one corrected with a reason.
    notes = session.scalars(select(ProgressNote).order_by(ProgressNote.note_date, ProgressNote.version)).all()
    b_yamada = session.get(Patient, notes[0].patient_id)
    assert b_yamada.birth_date.isoformat() == "1972-08-15" and b_yamada.clinic_id != yamada.clinic_id
    today = japan_today()
    assert [((today - n.note_date).days, n.version, n.superseded_at is None) for n in notes] == [
        (28, 1, True), (14, 1, False), (14, 2, True), (0, 1, True)]
    assert [n.change_reason for n in notes if n.version == 2] == ["評価の追記"]
    # Clinic B's templates (one taking in another) and phrases, the clinic's own (kept by its administrator).
    templates = session.scalars(select(NoteTemplate).where(NoteTemplate.clinic_id == b_yamada.clinic_id)).all()
    assert {"再診 高血圧", "初診 内科", "小児 発熱", "電話再診"} <= {t.name for t in templates}
    assert all(t.owner_id is None and t.version == 1 for t in templates)
    assert session.scalar(select(func.count()).select_from(NotePhrase)) == 8
    # A second start adds nothing.
    prepare_demo(app, orca.root)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(VitalSign)) == 13
    assert session.scalar(select(func.count()).select_from(ProgressNote)) == 4
    assert session.scalar(select(func.count()).select_from(NoteTemplate)) == len(templates)


def test_demo_gives_yamada_a_lab_order_with_labels_and_a_year_of_monthly_results(app, orca, session, client):
    from app.labs.models import LabOrder, LabResult

    prepare_demo(app, orca.root)
    yamada = _patient(session, "00001")
    orders = session.scalars(select(LabOrder).where(LabOrder.patient_id == yamada.id).order_by(LabOrder.id)).all()
    assert len(orders) == 13 and orders[-1].status == "queued" and len(orders[-1].specimens) == 3
    days = session.scalars(select(LabResult.collected_on).where(LabResult.patient_id == yamada.id,
                                                                LabResult.is_in_house.is_(False)).distinct()).all()
    assert len(days) == 12
    in_house = session.scalars(select(LabResult).where(LabResult.patient_id == yamada.id,
                                                       LabResult.is_in_house.is_(True))).all()
    assert {r.collected_on for r in in_house} == {japan_today()}
    assert {"IH-U-TP", "IH-U-GLU", "IH-BG"} <= {r.lab_code for r in in_house}
    corrected = session.scalars(select(LabResult).where(LabResult.patient_id == yamada.id,
                                                        LabResult.result_status == "C")).one()
    assert corrected.version == 2 and corrected.lab_code == "K0144"
    client.login("doctor", "IA6YOND7VRBS563LAATXBI6DNXZI4KME", password="kamikarte-demo-2026")
    page = client.get(f"/patients/{yamada.id}/labs").get_data(as_text=True)
    assert "LDL-コレステロール" in page and "本検体は乳びを認めます" in page
    labels = client.get(f"/patients/{yamada.id}/labs/orders/{orders[-1].id}/labels.pdf")
    assert labels.status_code == 200 and labels.mimetype == "application/pdf"
    assert "院内" in page and "尿蛋白（定性）" in page
    prepare_demo(app, orca.root)  # a second start adds nothing
    assert session.scalar(select(func.count()).select_from(LabOrder)) == 13
    assert session.scalar(select(func.count()).select_from(LabResult).where(LabResult.is_in_house.is_(True))) == 7


def test_the_demo_leaves_a_clinic_alone_once_an_administrator_entered_a_real_orca(app, orca, session):
    prepare_demo(app, orca.root)
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == "1310123458"))
    assert clinic.integrations["orca"]["base_url"] == f"{orca.root}/clinic/1310123458/api"
    assert "demo_simulator" not in clinic.integrations["orca"]  # no demo flag in a clinic's settings
    real = "https://weborca.example.jp/api"
    clinic.integrations = {**clinic.integrations, "orca": {**clinic.integrations["orca"], "base_url": real}}
    session.commit()
    prepare_demo(app, orca.root)  # the next start must not point it back at the simulator
    session.expire_all()
    assert session.get(Clinic, clinic.id).integrations["orca"]["base_url"] == real


def test_is_demo_connection_accepts_only_unset_or_a_loopback_simulator_of_that_clinic():
    from app.demo.runtime import is_demo_connection

    assert is_demo_connection("", "1310123458")
    assert is_demo_connection("http://127.0.0.1:40123/clinic/1310123458/api", "1310123458")
    assert not is_demo_connection("http://127.0.0.1:40123/clinic/1310156789/api", "1310123458")
    assert not is_demo_connection("https://weborca.cloud.orcamo.jp/api", "1310123458")
    assert not is_demo_connection("http://127.0.0.1:40123/clinic/1310123458/api/../x", "1310123458")


def test_demo_registers_yamadas_prescription_as_paper_with_an_exchange_number(app, orca, session, eprescription):
    prepare_demo(app, orca.root, eprescription.url)
    yamada = _patient(session, "00001")
    prescription = session.scalars(select(Prescription).where(Prescription.patient_id == yamada.id)).one()
    assert (prescription.mode, prescription.consent, prescription.eprescription_status) == (
        "paper_exchange", "card", "registered")
    assert len(prescription.exchange_number) == 6
    held = eprescription.prescriptions()[prescription.eprescription_id]
    assert held["issue_type"] == "2" and held["access_code"] == prescription.exchange_number
