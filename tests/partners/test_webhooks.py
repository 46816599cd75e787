"""Signed webhooks through the outbox: a web booking's reception and arrived lab results reach the subscribed
application, signed with HMAC-SHA256 over "<timestamp>.<body>"; a receiver that fails gets the event again; an
application without the event's scope or subscription is not told."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from sqlalchemy import select

from app.core.timeutil import japan_today
from app.db import utcnow
from app.labs.import_writing import tell_results_written
from app.labs.models import LabMessage, LabResult
from app.outbox import services as outbox
from app.outbox.models import DELIVERED, PENDING, OutboxMessage
from app.reception.models import Visit
from tests.factories import make_user
from tests.outbox.test_outbox import Receiver
from tests.partners.helpers import bearer, register_partner, token_for


def _verify(secret: str, headers: dict[str, str], raw: bytes) -> bool:
    timestamp = headers["Kamikarte-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["Kamikarte-Signature"], "v1=" + expected)


def test_reception_event_is_signed_and_retried(app, client, session, partner_clinic):
    clinic, patient = partner_clinic
    receiver = Receiver(failures=1, status_on_failure=503)
    try:
        subscriber = register_partner(client, clinic.institution_code, ["reception.read", "reception.write"],
                                      name="予約連携", webhook_url=receiver.url,
                                      webhook_events=["reception.created"])
        register_partner(client, clinic.institution_code, ["patient.read"], name="スコープなし",
                         webhook_url=receiver.url, webhook_events=[])  # not subscribed: never told
        token = token_for(client, subscriber)
        booked = client.raw.post("/api/reception", headers=bearer(token),
                                 json={"patient_id": patient.id, "department_code": "01", "physician_code": "10001"})
        assert booked.status_code == 201
        message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "partner.webhook"))
        assert message.payload["app_id"] == subscriber.app.id
        factory = app.extensions["db_sessionmaker"]
        outbox.run_once(factory, base_delay=0)
        session.refresh(message)
        assert message.status == PENDING and message.attempts == 1  # the 503 is retried
        outbox.run_once(factory, base_delay=0)
        session.refresh(message)
        assert message.status == DELIVERED
    finally:
        receiver.close()
    assert len(receiver.raw_requests) == 2
    headers, raw = receiver.raw_requests[-1]
    assert _verify(subscriber.webhook_secret, headers, raw)
    assert not _verify("another-secret", headers, raw)
    assert abs(int(headers["Kamikarte-Timestamp"]) - time.time()) < 60
    event = json.loads(raw)
    assert event["type"] == "reception.created" and headers["Kamikarte-Event"] == "reception.created"
    assert event["data"] == {"visit_id": booked.json["id"], "patient_id": patient.id,
                             "visit_date": booked.json["visit_date"], "status": "accepted"}
    assert receiver.raw_requests[0][0]["Idempotency-Key"] == headers["Idempotency-Key"]  # the same event again


def test_lab_results_event_goes_to_apps_holding_the_lab_scope(app, client, session, partner_clinic):
    clinic, patient = partner_clinic
    receiver = Receiver()
    try:
        lab_app = register_partner(client, clinic.institution_code, ["lab.read"], name="検査連携",
                                   webhook_url=receiver.url, webhook_events=["lab.results"])
        message = LabMessage(clinic_id=clinic.id, source="file", raw=b"MSH|", sha256="0" * 64, status="imported",
                             patient_id=patient.id)
        session.add(message)
        session.flush()
        result = LabResult(clinic_id=clinic.id, patient_id=patient.id, message_id=message.id, lab_code="K0111",
                           name="AST", value="25", collected_on=utcnow().date(), recorded_at=utcnow())
        session.add(result)
        session.flush()
        tell_results_written(session, clinic.id, [result.id], [])  # what a lab import tells its listeners
        session.commit()
        outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    finally:
        receiver.close()
    headers, raw = receiver.raw_requests[0]
    assert _verify(lab_app.webhook_secret, headers, raw)
    assert json.loads(raw)["data"] == {"patient_id": patient.id, "result_ids": [result.id]}


def test_a_clerks_status_change_on_the_screen_is_told_to_subscribers(app, client, session, partner_clinic):
    clinic, patient = partner_clinic
    clerk = make_user(session, clinic, role="clerk")
    visit = Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=japan_today(), accepted_at=utcnow(),
                  department_code="01", department_name="内科")
    session.add(visit)
    session.commit()
    subscriber = register_partner(client, clinic.institution_code, ["reception.read"], name="待ち状況表示",
                                  webhook_url="https://partner.example/hook",
                                  webhook_events=["reception.status_changed"])
    client.login(clerk.login_id, clerk.totp_secret)
    client.get("/reception")
    assert client.post("/reception/status", {"transition": f"{visit.id}:in_exam"}).status_code == 302
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "partner.webhook"))
    assert message.payload["app_id"] == subscriber.app.id
    assert message.payload["event"]["type"] == "reception.status_changed"
    assert message.payload["event"]["data"]["status"] == "in_exam"
