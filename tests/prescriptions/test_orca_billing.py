"""Billing an issued prescription in ORCA: the 中途データ reaches the ORCA simulator (medicalmodv2 over real HTTP)
through the outbox under the day's reception, a cancellation deletes it, and every failure keeps the message and
says why on the prescription page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.outbox import services as outbox
from app.outbox.models import DEAD, DELIVERED, OutboxMessage
from app.patients.models import Patient
from app.prescriptions.billing import DELETE, SEND
from app.prescriptions.drug_master import load_shipped_subset
from app.prescriptions.models import Prescription
from app.reception.models import Visit
from app.reception.orca_sync import orca_client_for, sync_all_clinics, sync_patient
from tests.factories import make_clinic, make_user
from tests.prescriptions.test_prescriptions import AFTER_MEALS_3, AMLODIPINE, LOXONIN, MUCOSTA, _issue

CODE = "1310123458"
RPS = [("1", AFTER_MEALS_3, "", "14", [(LOXONIN, "3", True, False), (MUCOSTA, "3", False, True)]),
       ("2", "", "疼痛時", "5", [(AMLODIPINE, "1", False, False)])]


@pytest.fixture
def desk(app, session, orca):
    """Clinic A with its ORCA, today's list synced, a doctor, the shipped drug master."""
    clinic = make_clinic(session, institution_code=CODE, integrations={"orca": {
        "base_url": orca.base_url(CODE), "user": "ormaster-a", "password": "orca-demo-a"}})
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    load_shipped_subset(session)
    session.commit()
    sync_all_clinics(app.extensions["db_sessionmaker"])
    session.expire_all()
    yamada = session.scalars(select(Patient).where(Patient.orca_patient_id == "00001")).one()
    return {"clinic": clinic, "doctor": doctor, "patient": yamada}


def _deliver(app):
    return outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _issued(client, desk, session, patient=None):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, issued = _issue(client, patient or desk["patient"], RPS)
    assert issued.status_code == 302
    return session.scalars(select(Prescription).order_by(Prescription.id.desc())).first(), issued.location


def test_issued_prescription_reaches_orca_under_the_days_reception(app, client, desk, session, orca):
    rx, page = _issued(client, desk, session)
    assert rx.orca_billing_status == "sending"
    assert "ORCAへ送信待ち" in client.get(page).get_data(as_text=True)
    _deliver(app)
    session.expire_all()
    rx = session.get(Prescription, rx.id)
    assert rx.orca_billing_status == "sent" and rx.orca_medical_uid
    [kept] = orca.medical(CODE)
    visit = session.scalars(select(Visit).where(Visit.patient_id == desk["patient"].id)).one()
    assert kept["Medical_Uid"] == rx.orca_medical_uid and kept["Patient_ID"] == "00001"
    assert (kept["Department_Code"], kept["Physician_Code"]) == (visit.department_code, visit.physician_code)
    assert kept["Insurance_Combination_Number"] == visit.insurance_combination != "0000"
    internal, as_needed = kept["Medical_Information"]
    # 院外 内服 14 日分 and 院外 頓服 5 回, each drug with its レセ電 code, 1日量 / 1回量 and 一般名 flag.
    assert (internal["Medical_Class"], internal["Medical_Class_Number"]) == ("212", "14")
    assert [(m["Medication_Code"], m["Medication_Number"], m["Medication_Generic_Flg"])
            for m in internal["Medication_info"]] == [(LOXONIN, "3", "yes"), (MUCOSTA, "3", "no")]
    assert (as_needed["Medical_Class"], as_needed["Medical_Class_Number"]) == ("222", "5")
    assert as_needed["Medication_info"][0]["Medication_Code"] == AMLODIPINE
    assert "ORCAへ送信済（会計待ち）" in client.get(page).get_data(as_text=True)


def test_cancelling_deletes_the_orca_data(app, client, desk, session, orca):
    rx, page = _issued(client, desk, session)
    _deliver(app)
    client.post(f"{page}/cancel", {"reason": "用量の誤り", "then": ""}, form_page=page)
    _deliver(app)
    session.expire_all()
    assert session.get(Prescription, rx.id).orca_billing_status == "deleted"
    assert orca.medical(CODE) == []
    assert "ORCAの中途データを削除済" in client.get(page).get_data(as_text=True)


def test_cancelled_before_it_was_sent_sends_nothing(app, client, desk, session, orca):
    rx, page = _issued(client, desk, session)
    client.post(f"{page}/cancel", {"reason": "患者の希望", "then": ""}, form_page=page)
    _deliver(app)
    _deliver(app)
    session.expire_all()
    assert session.get(Prescription, rx.id).orca_billing_status == "deleted"
    assert orca.medical(CODE) == []


def test_orca_down_keeps_the_billing_and_sends_it_later(app, client, desk, session, orca):
    rx, page = _issued(client, desk, session)
    orca.set_fault("down")
    _deliver(app)
    session.expire_all()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == SEND)).one()
    assert message.status == "pending" and "HTTP 503" in message.last_error
    assert "HTTP 503" in client.get(page).get_data(as_text=True)
    orca.clear_faults()
    _deliver(app)
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == DELIVERED
    assert [m["Medical_Uid"] for m in orca.medical(CODE)] == [session.get(Prescription, rx.id).orca_medical_uid]


def test_without_a_reception_that_day_it_waits_and_says_why(app, client, desk, session, orca):
    hino = sync_patient(session, desk["clinic"], orca_client_for(desk["clinic"]), "00006")  # not in today's list
    session.commit()
    rx, page = _issued(client, desk, session, hino)
    _deliver(app)
    session.expire_all()
    assert session.get(Prescription, rx.id).orca_billing_status == "sending"
    html = client.get(page).get_data(as_text=True)
    assert "の受付（診療科・医師）がないため、ORCAへ送れません" in html
    assert orca.medical(CODE) == []


def test_data_the_clerk_opened_cannot_be_deleted_and_the_page_says_so(app, client, desk, session, orca):
    rx, page = _issued(client, desk, session)
    _deliver(app)
    session.expire_all()
    orca.open_medical(CODE, session.get(Prescription, rx.id).orca_medical_uid)
    client.post(f"{page}/cancel", {"reason": "用量の誤り", "then": ""}, form_page=page)
    _deliver(app)
    session.expire_all()
    rx = session.get(Prescription, rx.id)
    assert rx.orca_billing_status == "delete_failed"
    assert "ORCAの「21 診療行為」で取り消してください" in rx.orca_billing_error
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == DELETE)).one().status == DEAD
    assert len(orca.medical(CODE)) == 1  # still in ORCA: the clerk removes it there
    assert "ORCAの中途データを削除できませんでした" in client.get(page).get_data(as_text=True)


def test_without_orca_nothing_is_queued(client, session):
    from tests.prescriptions.test_prescriptions import THREE_LINES

    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    from tests.factories import make_patient

    patient = make_patient(session, clinic)
    load_shipped_subset(session)
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    _, issued = _issue(client, patient, THREE_LINES)
    assert issued.status_code == 302
    rx = session.scalars(select(Prescription)).one()
    assert rx.orca_billing_status == "" and session.scalar(select(OutboxMessage.id)) is None
    assert "ORCA（会計）" not in client.get(issued.location).get_data(as_text=True)
