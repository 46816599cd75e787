"""Sending orders to the lab company: the OML^O33 of an order (or of its cancellation) is built and checked while
the doctor is still there, queued through the outbox (never lost while the lab is down) and delivered by the
outbox worker; the lab's acknowledgement (ORL^O34) sets the order's state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.db import utcnow
from app.integrations.lab_center import LabCenterError, LabCenterRejected
from app.labs import order_states
from app.labs.hl7 import HL7DecodeError, HL7EncodingError, HL7SyntaxError, encode_message, split_message
from app.labs.lab_settings import client_for
from app.labs.models import LabOrder
from app.labs.oml import OrderMessageError, build_oml, validate_oml
from app.outbox.models import DELIVERED, DELIVERING, PENDING, OutboxMessage
from app.outbox.services import (
    DeliveryError,
    PermanentDeliveryError,
    enqueue,
    latest_for_subject,
    message_subject,
    register_handler,
)
from app.patients.models import Patient

SEND_ORDER = "lab.order"
CANCEL_ORDER = "lab.order_cancel"


@dataclass(frozen=True)
class LabAck:
    """The lab's acknowledgement: MSA-1 (AA accepted, AE error, AR rejected), MSA-2 and the reason text."""

    code: str
    control_id: str
    text: str

    @property
    def accepted(self) -> bool:
        """Whether the lab took the message."""
        return self.code in ("AA", "CA")


def read_ack(data: bytes) -> LabAck:
    """Read MSA and ERR of the lab's ACK / ORL^O34; LabCenterRejected when it is not one."""
    try:
        message = split_message(data)
    except (HL7DecodeError, HL7SyntaxError) as exc:
        raise LabCenterRejected(f"検査会社の応答が HL7 の ACK ではありません: {exc}") from exc
    msa = next((s for s in message.segments if s.name == "MSA"), None)
    if msa is None:
        raise LabCenterRejected("検査会社の応答に MSA セグメントがありません")
    texts = [msa.component(3)] + [s.component(8) or s.component(3, 5) for s in message.segments if s.name == "ERR"]
    return LabAck(msa.component(1), msa.component(2), " / ".join(t for t in texts if t))


def queue_order(session: Session, clinic: Clinic, order: LabOrder, patient: Patient) -> OutboxMessage:
    """Build and validate the OML^O33 now (so that a wrong order is refused while the doctor is still there) and
    queue it. OrderMessageError names the problem."""
    control_id, text = _checked_message(order, patient, clinic, "NW")
    order.message_control_id = control_id
    return enqueue(session, clinic_id=clinic.id, kind=SEND_ORDER, payload={"order_id": order.id, "hl7": text},
                   subject_type="lab_order", subject_id=order.id, patient_id=order.patient_id,
                   idempotency_key=f"{SEND_ORDER}:{control_id}")


def queue_cancellation(session: Session, clinic: Clinic, order: LabOrder, before: str) -> OutboxMessage | None:
    """Queue the lab's cancel request (OML^O33 with ORC-1 CA) for an order the lab may hold; None when the lab
    refused it anyway. An order whose send had not gone out yet is simply never sent (deliver_order skips it)."""
    if before == "rejected":
        return None
    patient = session.get(Patient, order.patient_id)
    _, text = _checked_message(order, patient, clinic, "CA")
    return enqueue(session, clinic_id=clinic.id, kind=CANCEL_ORDER, payload={"order_id": order.id, "hl7": text},
                   subject_type="lab_order", subject_id=order.id, patient_id=order.patient_id)


def sent_message(session: Session, order: LabOrder) -> bytes | None:
    """The OML^O33 sent for an order, as the lab received it (ISO-2022-JP bytes); None before it was queued."""
    message = latest_for_subject(session, order.clinic_id, SEND_ORDER, order.id)
    return encode_message(message.payload["hl7"]) if message is not None else None


def send_waiting_reason(session: Session, order: LabOrder) -> str:
    """Why an order waits to reach the lab (the last failed try of its send, e.g. the lab is down), or ""."""
    message = latest_for_subject(session, order.clinic_id, SEND_ORDER, order.id)
    return (message.last_error or "") if message is not None and message.status == PENDING else ""


def _checked_message(order: LabOrder, patient: Any, clinic: Clinic, order_control: str) -> tuple[str, str]:
    control_id = f"KMK{uuid.uuid4().hex[:16].upper()}"
    try:
        text = build_oml(order, patient, clinic, control_id=control_id, now=utcnow(), order_control=order_control)
        validate_oml(text)
        encode_message(text)  # refuse now a character the lab could not receive
    except HL7EncodingError as exc:
        raise OrderMessageError(str(exc)) from exc
    return control_id, text


def deliver_order(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: send the OML^O33; the lab's ACK decides accepted or rejected (with its reason)."""
    order = _order(session, message)
    if order.status == "cancelled":  # cancelled before it went out: the lab never hears of it
        return {"skipped": "cancelled"}
    try:
        ack = _send(session, message)
    except LabCenterError as exc:
        order_states.mark_rejected(order, exc.message_ja)
        session.commit()  # keep the reason on the order although the message fails for good
        raise PermanentDeliveryError(exc.message_ja) from exc
    session.refresh(order)  # staff may have cancelled it while we waited for the lab: keep that state
    if order.status == "cancelled":
        return {"ack": ack.code, "text": ack.text}
    if not ack.accepted:
        order_states.mark_rejected(order, f"検査会社が受け付けませんでした（{ack.code}）: {ack.text}")
        record_audit(session, SYSTEM, "lab.order_rejected", clinic_id=order.clinic_id, entity_type="lab_order",
                     entity_id=order.id, patient_id=order.patient_id, summary={"after": {"ack": ack.code,
                                                                                          "text": ack.text}})
        session.commit()
        raise PermanentDeliveryError(order.status_detail)
    order_states.mark_accepted(order, ack.text)
    record_audit(session, SYSTEM, "lab.order_accepted", clinic_id=order.clinic_id, entity_type="lab_order",
                 entity_id=order.id, patient_id=order.patient_id, summary={"after": {"ack": ack.code}})
    return {"ack": ack.code, "text": ack.text}


def _send(session: Session, message: OutboxMessage) -> LabAck:
    """Send a queued OML^O33 to the clinic's lab and read its ACK. DeliveryError when the lab cannot be reached (the
    outbox tries again later); LabCenterError when it refused the call for good."""
    try:
        return read_ack(client_for(session.get(Clinic, message.clinic_id))
                        .send_order(encode_message(message.payload["hl7"])))
    except LabCenterError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        raise


def _order(session: Session, message: OutboxMessage) -> LabOrder:
    return message_subject(session, message, LabOrder, "order_id", "検査依頼が見つかりません")


def deliver_cancellation(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: ask the lab to cancel an order it received (after the order's own send has settled)."""
    order = _order(session, message)
    send = latest_for_subject(session, order.clinic_id, SEND_ORDER, order.id)
    if send is not None and send.status in (PENDING, DELIVERING):
        raise DeliveryError("依頼の送信が終わっていないため、取り消しを待っています")
    if send is None or send.status != DELIVERED or "skipped" in (send.response or {}):
        return {"skipped": "the lab never received the order"}
    try:
        ack = _send(session, message)
    except LabCenterError as exc:
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


register_handler(SEND_ORDER, deliver_order)
register_handler(CANCEL_ORDER, deliver_cancellation)
