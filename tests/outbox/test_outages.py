"""Outages lose nothing: with ORCA, the lab company, the 電子カルテ情報共有サービス or Orthanc down for an hour, staff
keep working over HTTP, every outgoing message waits in the outbox and goes once when the service returns; and when a
service did the work but its reply was lost, the worker's retry leaves the receiver holding exactly one.

"An hour" is simulated by moving the outbox's clock: every simulated minute the due times move a minute closer and
the worker makes one pass (the production back-off, no real waiting)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.db import utcnow
from app.integrations.pacs.orthanc_process import free_port, orthanc_missing_reason, start_orthanc
from app.outbox import services as outbox
from app.outbox.models import DELIVERED, PENDING, OutboxMessage
from app.prescriptions.billing import SEND
from app.prescriptions.models import Prescription
from app.reception.models import Visit
from app.reception.orca_sync import orca_client_for, sync_all_clinics, sync_patient
from app.sharing.models import REGISTERED, RETRYING, SharingRegistration
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.pacs_data import new_patient_id, upload_study
from tests.imaging.world import configure
from tests.labs.helpers import CLINIC, latest_order, make_desk, place_order
from tests.prescriptions import test_orca_billing as orca_billing
from tests.prescriptions.test_orca_billing import CODE, _issued
from tests.sharing.records import MEMBER, arrange, connect
from tests.sharing.test_registration import _add_diagnosis

#: The ORCA clinic of the billing tests (a fixture): ORCA configured, today's list synced, a doctor, the drugs.
orca_desk = orca_billing.desk
#: The production back-off base (Config.OUTBOX_BASE_DELAY_SECONDS).
BASE_DELAY = 5.0


def minutes_pass(app, minutes: int) -> None:
    """Move the outbox's clock `minutes` forward, one minute at a time, the worker passing once a minute."""
    factory = app.extensions["db_sessionmaker"]
    for _ in range(minutes):
        with factory() as session:
            for message in session.scalars(select(OutboxMessage).where(OutboxMessage.status == PENDING)):
                message.next_attempt_at -= timedelta(minutes=1)
            session.commit()
        outbox.run_once(factory, base_delay=BASE_DELAY)


def the_message(session, kind: str) -> OutboxMessage:
    session.expire_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).one()


def assert_waited_an_hour(message: OutboxMessage) -> None:
    """Tried all through the hour (back-off capped at five minutes), still waiting, never given up."""
    assert message.status == PENDING and message.delivered_at is None
    assert 12 <= message.attempts < message.max_attempts


# --- ORCA ---------------------------------------------------------------------------------------------------------

def test_orca_down_for_an_hour_the_doctor_keeps_working_and_the_billing_goes_once(app, client, orca_desk, session,
                                                                                 orca):
    orca.set_fault("down")
    rx, page = _issued(client, orca_desk, session)  # the prescription is issued while ORCA is down
    minutes_pass(app, 60)
    message = the_message(session, SEND)
    assert_waited_an_hour(message)
    html = client.get(page).get_data(as_text=True)
    assert "ORCAへ送信待ち" in html and "ORCAでエラーが発生しました" in html and "DeliveryError" not in html
    sync_all_clinics(app.extensions["db_sessionmaker"])  # the poller meets the outage too
    assert "ORCAと通信できません" in client.get("/reception").get_data(as_text=True)
    assert client.get(f"/patients/{orca_desk['patient'].id}").status_code == 200
    assert orca.medical(CODE) == []
    orca.clear_faults()
    minutes_pass(app, 5)  # within five minutes of ORCA's return
    assert the_message(session, SEND).status == DELIVERED
    assert [m["Medical_Uid"] for m in orca.medical(CODE)] == [session.get(Prescription, rx.id).orca_medical_uid]
    assert "ORCAへ送信済（会計待ち）" in client.get(page).get_data(as_text=True)


def test_orca_did_the_work_but_the_reply_was_lost_the_retry_sends_nothing_twice(app, client, orca_desk, session,
                                                                                orca):
    rx, page = _issued(client, orca_desk, session)
    orca.set_fault("lost_reply", api="medicalmodv2", times=1)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    message = the_message(session, SEND)
    assert message.status == PENDING and "HTTP 504" in message.last_error
    [held] = orca.medical(CODE)  # ORCA has it although we never heard
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert the_message(session, SEND).status == DELIVERED
    assert orca.medical(CODE) == [held]  # the retry looked (tmedicalgetv2) and did not send again
    session.expire_all()
    rx = session.get(Prescription, rx.id)
    assert rx.orca_billing_status == "sent" and rx.orca_medical_uid == held["Medical_Uid"]
    assert "前回の送信はORCAに届いていたため、再送しませんでした" in rx.orca_billing_warnings


def test_orca_down_before_it_did_anything_the_retry_sends(app, client, orca_desk, session, orca):
    _issued(client, orca_desk, session)
    orca.set_fault("down", api="medicalmodv2", times=1)  # the look-up answers, the send itself fails
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert orca.medical(CODE) == []
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert the_message(session, SEND).status == DELIVERED
    assert len(orca.medical(CODE)) == 1


def test_a_worker_killed_after_sending_the_billing_does_not_bill_twice(app, client, orca_desk, session, orca):
    _issued(client, orca_desk, session)
    factory = app.extensions["db_sessionmaker"]
    with factory() as dying:  # claimed and sent to ORCA, then the worker dies before it can commit
        [message_id] = outbox.claim_due(dying)
        outbox.handler_for(SEND)(dying, dying.get(OutboxMessage, message_id))
        dying.rollback()
    [held] = orca.medical(CODE)
    with factory() as later:
        later.get(OutboxMessage, message_id).lease_until = utcnow() - timedelta(seconds=1)
        later.commit()
    outbox.run_once(factory, base_delay=0)
    assert the_message(session, SEND).status == DELIVERED
    assert orca.medical(CODE) == [held]


def _register_reception_of_hino(app, client, orca_desk, session):
    """The doctor registers a reception for 日野 (not in today's list) over HTTP; the patient and the day."""
    clinic = orca_desk["clinic"]
    hino = sync_patient(session, clinic, orca_client_for(clinic), "00006")
    session.commit()
    client.login(orca_desk["doctor"].login_id, orca_desk["doctor"].totp_secret)
    response = client.post(f"/patients/{hino.id}/visits", {"department_code": "01", "physician_code": "10002"},
                           form_page=f"/patients/{hino.id}")
    assert response.status_code == 302
    return hino


def _receptions_in_orca(orca_desk, patient) -> list:
    return [r for r in orca_client_for(orca_desk["clinic"]).list_receptions(japan_today())
            if r.patient_id == patient.orca_patient_id]


def test_orca_took_the_reception_but_the_reply_was_lost_the_retry_registers_nothing_twice(app, client, orca_desk,
                                                                                          session, orca):
    hino = _register_reception_of_hino(app, client, orca_desk, session)
    orca.set_fault("lost_reply", api="acceptmodv2", times=1)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert the_message(session, "orca.reception").status == PENDING
    [held] = _receptions_in_orca(orca_desk, hino)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    message = the_message(session, "orca.reception")
    assert message.status == DELIVERED and message.response["found_in_orca"] is True
    assert [r.reception_id for r in _receptions_in_orca(orca_desk, hino)] == [held.reception_id]
    [visit] = session.scalars(select(Visit).where(Visit.patient_id == hino.id)).all()
    assert visit.orca_acceptance_id == held.reception_id


def test_the_poller_finds_our_reception_in_orca_before_the_retry_and_keeps_one_visit(app, client, orca_desk,
                                                                                    session, orca):
    hino = _register_reception_of_hino(app, client, orca_desk, session)
    orca.set_fault("lost_reply", api="acceptmodv2", times=1)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    sync_all_clinics(app.extensions["db_sessionmaker"])  # ORCA's list holds a reception we have no number for
    session.expire_all()
    [visit] = session.scalars(select(Visit).where(Visit.patient_id == hino.id)).all()
    [held] = _receptions_in_orca(orca_desk, hino)
    assert visit.source == "kamikarte" and visit.orca_acceptance_id == held.reception_id
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert the_message(session, "orca.reception").status == DELIVERED
    assert len(_receptions_in_orca(orca_desk, hino)) == 1


# --- the lab company ----------------------------------------------------------------------------------------------

def test_lab_down_for_an_hour_orders_are_placed_and_go_once(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    lab_center.set_fault("down", times=10_000)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["K0161"])  # the doctor orders while the lab is down
    minutes_pass(app, 60)
    assert_waited_an_hour(the_message(session, "lab.order"))
    order = latest_order(session)
    assert order.status == "queued"
    page = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}").get_data(as_text=True)
    assert "検査会社が応答しません（HTTP 503）。検査会社が復旧すると自動で送られます" in page
    assert client.get(f"/patients/{desk['patient'].id}/labs").status_code == 200
    assert lab_center.orders() == {}
    lab_center.set_fault("")  # the lab is back
    minutes_pass(app, 5)
    assert the_message(session, "lab.order").status == DELIVERED
    assert latest_order(session).status == "accepted"
    assert list(lab_center.orders()) == [f"{CLINIC}:{order.order_number}"]
    assert [r["repeat"] for r in lab_center.received()] == [False]


def test_lab_did_the_work_but_the_reply_was_lost_the_repeat_is_answered_as_the_first(app, client, session,
                                                                                    lab_center):
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["K0161"])
    lab_center.set_fault("lost_reply", times=1)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert the_message(session, "lab.order").status == PENDING
    assert len(lab_center.orders()) == 1  # the lab took it; we never heard
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert the_message(session, "lab.order").status == DELIVERED
    order = latest_order(session)
    assert order.status == "accepted"
    received = lab_center.received()
    # The same MSH-10 twice: the lab applied the first and answered the repeat with the first ACK.
    assert [r["control"] for r in received] == [order.message_control_id] * 2
    assert [r["repeat"] for r in received] == [False, True]
    assert len(lab_center.orders()) == 1


def test_a_worker_killed_in_the_middle_of_a_delivery_does_not_order_twice(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["K0161"])
    factory = app.extensions["db_sessionmaker"]
    with factory() as dying:  # a worker claims the message and sends it, then dies before it can commit
        [message_id] = outbox.claim_due(dying)
        outbox.handler_for("lab.order")(dying, dying.get(OutboxMessage, message_id))
        dying.rollback()
    assert len(lab_center.orders()) == 1
    outbox.run_once(factory, base_delay=0)  # its lease still runs: nobody else takes the message yet
    assert the_message(session, "lab.order").attempts == 0
    with factory() as later:  # the lease has run out
        later.get(OutboxMessage, message_id).lease_until = utcnow() - timedelta(seconds=1)
        later.commit()
    outbox.run_once(factory, base_delay=0)
    assert the_message(session, "lab.order").status == DELIVERED
    assert latest_order(session).status == "accepted"
    assert [r["repeat"] for r in lab_center.received()] == [False, True] and len(lab_center.orders()) == 1


# --- the 電子カルテ情報共有サービス ----------------------------------------------------------------------------------

def test_sharing_service_down_for_an_hour_the_registration_goes_once(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    sharing.set_fault("down", times=10_000)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    assert _add_diagnosis(client, desk["patient"]).status_code == 302
    minutes_pass(app, 60)
    assert_waited_an_hour(the_message(session, "sharing.register"))
    page = client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    assert "再送待ち" in page and "サービス停止中" in page
    sharing.set_fault("")
    minutes_pass(app, 5)
    assert the_message(session, "sharing.register").status == DELIVERED
    assert sharing.registered()["registrations"] == 1
    assert len(sharing.registered()["patients"][MEMBER]["resources"]) == 1


def test_sharing_service_did_the_work_but_the_reply_was_lost_the_retry_creates_nothing(app, client, session,
                                                                                      sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add_diagnosis(client, desk["patient"])
    sharing.set_fault("lost_reply")
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    registration = session.scalars(select(SharingRegistration)).one()
    assert registration.status == RETRYING and sharing.registered()["registrations"] == 1
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    assert session.get(SharingRegistration, registration.id).status == REGISTERED
    # The retry was a conditional create (If-None-Exist on the Bundle identifier): answered 200, nothing new.
    assert sharing.registered()["registrations"] == 1
    assert len(sharing.registered()["patients"][MEMBER]["resources"]) == 1


# --- Orthanc (the PACS) -------------------------------------------------------------------------------------------

@pytest.fixture
def own_orthanc(tmp_path):
    """An Orthanc of this test alone (it is stopped and started again), on its own port and storage."""
    if orthanc_missing_reason():
        pytest.skip(orthanc_missing_reason())
    port = free_port()

    def start():
        return start_orthanc(tmp_path, password="outage-test", port=port)

    server = start()
    yield server, start
    server.stop()


def test_orthanc_stopped_for_an_hour_the_chart_works_and_the_images_come_back(client, session, own_orthanc):
    orthanc, start = own_orthanc
    clinic = make_clinic(session)
    patient = make_patient(session, clinic, orca_patient_id=new_patient_id())
    study_uid, _ = upload_study(orthanc, patient.orca_patient_id, study_date=date(2026, 10, 1),
                                description="胸部単純")
    doctor = make_user(session, clinic, role="doctor")
    configure(session, session.get(Clinic, clinic.id), orthanc)
    client.login(doctor.login_id, doctor.totp_secret)
    assert "胸部単純" in client.get(f"/patients/{patient.id}/images").get_data(as_text=True)
    orthanc.stop()
    page = client.get(f"/patients/{patient.id}/images")
    assert page.status_code == 200 and "接続できません" in page.get_data(as_text=True)
    viewer = client.get(f"/patients/{patient.id}/images/{study_uid}")
    assert viewer.status_code == 503 and "接続できません" in viewer.get_data(as_text=True)
    for working in ("", "/diagnoses", "/labs", "/prescriptions"):
        assert client.get(f"/patients/{patient.id}{working}").status_code == 200, working
    orthanc = start()  # back, on the same storage
    assert "胸部単純" in client.get(f"/patients/{patient.id}/images").get_data(as_text=True)
    orthanc.stop()
