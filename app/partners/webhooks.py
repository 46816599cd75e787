"""Signed webhooks to partner applications: a reception added or changed in state, lab results arrived. Each event
is an outbox message per subscribed application (retried with the outbox's back-off); the body is signed with
HMAC-SHA256 over "<timestamp>.<body>" with the application's webhook secret (docs/standards/partner_api.md).

Events carry ids, not clinical content: the application reads what it may through the API with its scopes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.core.secrets import unseal
from app.db import scoped, utcnow
from app.labs.import_writing import on_results_written
from app.labs.models import LabResult
from app.outbox.http_delivery import post_for_outbox
from app.outbox.models import OutboxMessage
from app.outbox.services import PermanentDeliveryError, enqueue, message_subject, register_handler
from app.partners.models import PartnerApp
from app.partners.webhook_hosts import RefusedAddress, guarded_session, refusal
from app.reception.models import Visit
from app.reception.services import VISIT_CREATED, VISIT_STATUS_CHANGED, on_visit_event

KIND = "partner.webhook"
LAB_RESULTS = "lab.results"
#: Event → (its Japanese name for the administrator, the scope an application needs to be told of it).
EVENTS: dict[str, tuple[str, str]] = {
    VISIT_CREATED: ("受付の登録", "reception.read"),
    VISIT_STATUS_CHANGED: ("受付状態の変更（診察中・会計済・取消など）", "reception.read"),
    LAB_RESULTS: ("検査結果の到着", "lab.read"),
}
SIGNATURE_HEADER = "Kamikarte-Signature"
TIMESTAMP_HEADER = "Kamikarte-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: "v1=" + hex HMAC-SHA256 of "<timestamp>." + body under the secret."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _subscribers(session: Session, clinic_id: int, event: str) -> list[PartnerApp]:
    scope = EVENTS[event][1]
    apps = session.scalars(scoped(PartnerApp, clinic_id).where(PartnerApp.active.is_(True),
                                                               PartnerApp.webhook_url.is_not(None)))
    return [app for app in apps if event in (app.webhook_events or []) and scope in (app.scopes or [])]


def queue_event(session: Session, clinic_id: int, event: str, data: dict[str, Any],
                patient_id: int | None = None) -> int:
    """Queue one event for every active application of the clinic that subscribed to it and holds its scope;
    how many messages were queued."""
    apps = _subscribers(session, clinic_id, event)
    for app in apps:
        event_id = str(uuid.uuid4())
        body = {"id": event_id, "type": event, "occurred_at": utcnow().isoformat(), "data": data}
        enqueue(session, clinic_id=clinic_id, kind=KIND, payload={"app_id": app.id, "event": body},
                subject_type="partner_app", subject_id=app.id, patient_id=patient_id,
                idempotency_key=f"{KIND}:{event_id}")
    return len(apps)


def _visit_event(session: Session, visit: Visit, event: str) -> None:
    queue_event(session, visit.clinic_id, event, {"visit_id": visit.id, "patient_id": visit.patient_id,
                                                  "visit_date": visit.visit_date.isoformat(),
                                                  "status": visit.status}, visit.patient_id)


def _results_event(session: Session, clinic_id: int, new_ids: list[int], _superseded: list[int]) -> None:
    if not new_ids or not _subscribers(session, clinic_id, LAB_RESULTS):
        return
    by_patient: dict[int, list[int]] = {}
    for result_id, patient_id in session.execute(
            scoped(LabResult, clinic_id).with_only_columns(LabResult.id, LabResult.patient_id)
            .where(LabResult.id.in_(new_ids)).order_by(LabResult.id)):
        by_patient.setdefault(patient_id, []).append(result_id)
    for patient_id, ids in by_patient.items():
        queue_event(session, clinic_id, LAB_RESULTS, {"patient_id": patient_id, "result_ids": ids}, patient_id)


def deliver_webhook(session: Session, message: OutboxMessage) -> dict[str, Any] | None:
    """POST the event, signed, to the application's webhook URL if the operator's hosts still allow it (refused for
    good otherwise, webhook_hosts.py); the outbox retries what fails for now."""
    app = message_subject(session, message, PartnerApp, "app_id", "連携アプリケーションが見つかりません")
    if not app.active or not app.webhook_url:
        raise PermanentDeliveryError(f"連携アプリケーション「{app.name}」は無効か、Webhookの送信先がありません")
    secret = unseal(app.webhook_secret_sealed or "")
    if not secret:
        raise PermanentDeliveryError(f"連携アプリケーション「{app.name}」のWebhook署名鍵がありません"
                                     "（管理画面で作り直してください）")
    body = json.dumps(message.payload["event"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key,
               "Kamikarte-Event": message.payload["event"]["type"], TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: signature(secret, timestamp, body)}
    refused = refusal(app.webhook_url)  # the operator's lists and DNS as they are now, not as when it was saved
    if refused:
        raise PermanentDeliveryError(f"連携アプリケーション「{app.name}」: {refused}")
    with guarded_session() as http:
        try:
            return post_for_outbox(app.webhook_url, body, headers, http)
        except RefusedAddress as exc:
            raise PermanentDeliveryError(f"連携アプリケーション「{app.name}」: {exc}") from exc


on_visit_event(_visit_event)
on_results_written(_results_event)
register_handler(KIND, deliver_webhook)
