"""The link to the lab company: orders go out through the outbox (never lost while the lab is down), the lab's
acknowledgement sets the order's state, and results are fetched by polling and acknowledged."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.db import utcnow
from app.integrations.lab_center import LabCenterClient, LabCenterError
from app.labs.hl7 import HL7EncodingError
from app.labs.models import LabOrder
from app.labs.oml import OrderMessageError, build_oml, validate_oml
from app.outbox.models import DELIVERED, DELIVERING, PENDING, OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, register_handler
from app.patients.models import Patient

log = logging.getLogger(__name__)
SEND_ORDER = "lab.order"
CANCEL_ORDER = "lab.order_cancel"
LABEL_DEFAULTS = {"label_width_mm": 50, "label_height_mm": 25, "barcode": "codabar"}


def settings_of(clinic: Clinic) -> dict[str, Any]:
    """The clinic's lab link and label settings (defaults filled in)."""
    return {**LABEL_DEFAULTS, **((clinic.integrations or {}).get("lab_center") or {})}


def is_connected(clinic: Clinic) -> bool:
    """Whether orders can go to a lab's Web API."""
    settings = settings_of(clinic)
    return bool(settings.get("base_url") and settings.get("token"))


def queue_order(session: Session, clinic: Clinic, order: LabOrder, patient: Any) -> OutboxMessage:
    """Build and validate the OML^O33 now (so a wrong order is refused while the doctor is still there) and queue
    it. Raises LabOrderError naming the problem."""
    control_id, text = _checked_message(order, patient, clinic, "NW")
    order.message_control_id = control_id
    return enqueue(session, clinic_id=clinic.id, kind=SEND_ORDER, payload={"order_id": order.id, "hl7": text},
                   subject_type="lab_order", subject_id=order.id, patient_id=order.patient_id,
                   idempotency_key=f"{SEND_ORDER}:{control_id}")


def _checked_message(order: LabOrder, patient: Any, clinic: Clinic, order_control: str) -> tuple[str, str]:
    from app.labs.hl7 import encode_message
    from app.labs.services import LabOrderError

    control_id = f"KMK{uuid.uuid4().hex[:16].upper()}"
    try:
        text = build_oml(order, patient, clinic, control_id=control_id, now=utcnow(), order_control=order_control)
        validate_oml(text)
        encode_message(text)  # refuse now a character the lab could not receive
    except (HL7EncodingError, OrderMessageError) as exc:
        raise LabOrderError({"items": str(exc)}) from exc
    return control_id, text


def queue_cancellation(session: Session, clinic: Clinic, order: LabOrder, before: str) -> OutboxMessage | None:
    """Queue the lab's cancel request (OML^O33 with ORC-1 CA) for an order the lab may hold; None when the lab
    refused it anyway. An order whose send had not gone out yet is simply never sent (deliver_order skips it)."""
    if before == "rejected":
        return None
    patient = session.get(Patient, order.patient_id)
    _, text = _checked_message(order, patient, clinic, "CA")
    return enqueue(session, clinic_id=clinic.id, kind=CANCEL_ORDER, payload={"order_id": order.id, "hl7": text},
                   subject_type="lab_order", subject_id=order.id, patient_id=order.patient_id)


def _client(clinic: Clinic | None) -> LabCenterClient:
    settings = settings_of(clinic) if clinic else {}
    if not settings.get("base_url") or not settings.get("token"):
        raise DeliveryError("検査会社の接続先が設定されていません")
    return LabCenterClient(settings["base_url"], settings["token"])


def deliver_order(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: send the OML^O33; the lab's ACK decides accepted or rejected (with its reason)."""
    from app.labs.hl7 import encode_message

    order = _order(session, message)
    if order.status == "cancelled":  # cancelled before it went out: the lab never hears of it
        return {"skipped": "cancelled"}
    clinic = session.get(Clinic, message.clinic_id)
    try:
        ack = _client(clinic).send_order(encode_message(message.payload["hl7"]))
    except LabCenterError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        order.status, order.status_detail = "rejected", exc.message_ja[:500]
        session.commit()  # keep the reason on the order although the message fails for good
        raise PermanentDeliveryError(exc.message_ja) from exc
    session.refresh(order)  # staff may have cancelled it while we waited for the lab: keep that state
    if order.status == "cancelled":
        return {"ack": ack.code, "text": ack.text}
    if not ack.accepted:
        order.status = "rejected"
        order.status_detail = f"検査会社が受け付けませんでした（{ack.code}）: {ack.text}"[:500]
        record_audit(session, SYSTEM, "lab.order_rejected", clinic_id=order.clinic_id, entity_type="lab_order",
                     entity_id=order.id, patient_id=order.patient_id, summary={"after": {"ack": ack.code,
                                                                                          "text": ack.text}})
        session.commit()
        raise PermanentDeliveryError(order.status_detail)
    if order.status in ("queued", "sent", "rejected"):
        order.status = "accepted"
    order.status_detail = ack.text[:500]
    record_audit(session, SYSTEM, "lab.order_accepted", clinic_id=order.clinic_id, entity_type="lab_order",
                 entity_id=order.id, patient_id=order.patient_id, summary={"after": {"ack": ack.code}})
    return {"ack": ack.code, "text": ack.text}


def _order(session: Session, message: OutboxMessage) -> LabOrder:
    order = session.get(LabOrder, message.payload["order_id"])
    if order is None or order.clinic_id != message.clinic_id:
        raise PermanentDeliveryError("検査依頼が見つかりません")
    return order


def deliver_cancellation(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: ask the lab to cancel an order it received (after the order's own send has settled)."""
    from app.labs.hl7 import encode_message

    order = _order(session, message)
    send = session.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == order.clinic_id, OutboxMessage.kind == SEND_ORDER,
        OutboxMessage.subject_id == str(order.id)).order_by(OutboxMessage.id.desc())).first()
    if send is not None and send.status in (PENDING, DELIVERING):
        raise DeliveryError("依頼の送信が終わっていないため、取り消しを待っています")
    if send is None or send.status != DELIVERED or "skipped" in (send.response or {}):
        return {"skipped": "the lab never received the order"}
    try:
        ack = _client(session.get(Clinic, message.clinic_id)).send_order(encode_message(message.payload["hl7"]))
    except LabCenterError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        order.status_detail = f"検査会社へ取り消しを伝えられませんでした: {exc.message_ja}"[:500]
        session.commit()
        raise PermanentDeliveryError(exc.message_ja) from exc
    if not ack.accepted:
        order.status_detail = f"検査会社が取り消しを受け付けませんでした（{ack.code}）: {ack.text}"[:500]
        session.commit()
        raise PermanentDeliveryError(order.status_detail)
    order.status_detail = f"検査会社が取り消しを受け付けました: {ack.text}"[:500]
    record_audit(session, SYSTEM, "lab.order_cancel_accepted", clinic_id=order.clinic_id, entity_type="lab_order",
                 entity_id=order.id, patient_id=order.patient_id, summary={"after": {"ack": ack.code}})
    return {"ack": ack.code, "text": ack.text}


def poll_results(session_factory: Any, clinic_id: int) -> tuple[int, int]:
    """Fetch the results the lab holds for a clinic, import each (stored raw first) and acknowledge it to the
    lab. Returns (imported, failed). A message we refused is acknowledged with AE/AR so the lab sees why."""
    from app.labs.importer import import_message

    with session_factory() as session:
        clinic = session.get(Clinic, clinic_id)
        client = _client(clinic)
    imported = failed = 0
    for pending in client.fetch_results():
        with session_factory() as session:
            outcome = import_message(session, clinic_id, pending.data, source="poll",
                                     filename=f"lab:{pending.id}")
        client.acknowledge(pending.id, outcome.ack)
        if outcome.ok:
            imported += 1
        else:
            failed += 1
    return imported, failed


def poll_all_clinics(session_factory: Any) -> None:
    """One polling pass over every clinic linked to a lab (errors are logged; the next pass tries again)."""
    with session_factory() as session:
        clinic_ids = [c.id for c in session.scalars(select(Clinic)) if is_connected(c)]
    for clinic_id in clinic_ids:
        try:
            poll_results(session_factory, clinic_id)
        except (LabCenterError, DeliveryError) as exc:
            log.warning("lab polling for clinic %s failed: %s", clinic_id, exc)


register_handler(SEND_ORDER, deliver_order)
register_handler(CANCEL_ORDER, deliver_cancellation)


def update_settings(session: Session, clinic: Clinic, actor: Any, form: dict[str, str]) -> dict[str, str]:
    """Save the clinic's lab link and label settings; returns field errors (nothing saved when there are any)."""
    from app.core.audit import record_audit as audit
    from app.labs.labels import MAX_SIZE_MM, MIN_SIZE_MM, SYMBOLOGIES

    errors: dict[str, str] = {}
    current = dict((clinic.integrations or {}).get("lab_center") or {})
    values: dict[str, Any] = {"base_url": (form.get("base_url") or "").strip()[:300]}
    if values["base_url"] and not values["base_url"].startswith(("https://", "http://")):
        errors["base_url"] = "接続先は https:// で始まるURLを入力してください"
    for key in ("token", "inbound_token"):
        text = (form.get(key) or "").strip()[:200]
        values[key] = text or current.get(key, "")  # empty keeps the stored secret
    sizes = {}
    for key, label, low, high in (("label_width_mm", "ラベルの幅", MIN_SIZE_MM[0], MAX_SIZE_MM[0]),
                                  ("label_height_mm", "ラベルの高さ", MIN_SIZE_MM[1], MAX_SIZE_MM[1])):
        try:
            sizes[key] = int((form.get(key) or "").strip())
        except ValueError:
            errors[key] = f"{label}をmm単位の整数で入力してください"
            continue
        if not low <= sizes[key] <= high:
            errors[key] = f"{label}は{low}〜{high}mmにしてください"
    barcode = form.get("barcode") or ""
    if barcode not in SYMBOLOGIES:
        errors["barcode"] = "バーコードの種類を選んでください"
    if errors:
        return errors
    new = {**current, **values, **sizes, "barcode": barcode}
    clinic.integrations = {**(clinic.integrations or {}), "lab_center": new}
    shown = {k: v for k, v in new.items() if k not in ("token", "inbound_token")}
    audit(session, actor, "lab.settings", clinic_id=clinic.id, entity_type="clinic", entity_id=clinic.id,
          summary={"after": shown})
    return {}
