"""Enqueue, claim, deliver and retry outbox messages."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.core.audit import Actor, record_audit
from app.core.errors import ValidationError
from app.db import scoped, utcnow
from app.outbox.models import DEAD, DEFAULT_MAX_ATTEMPTS, DELIVERED, DELIVERING, PENDING, OutboxMessage

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
#: The longest wait between two tries: once a service is back, what waits for it goes within this.
MAX_BACKOFF_SECONDS = 300


class DeliveryError(Exception):
    """Delivery failed for now (receiver down, timeout): try again later."""


class PermanentDeliveryError(DeliveryError):
    """The receiver refused the message for good (invalid content): no retry will help."""


#: A handler delivers one message and returns what the receiver answered (stored on the message).
Handler = Callable[[Session, OutboxMessage], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}


def message_subject(session: Session, message: OutboxMessage, model: type, key: str, missing: str) -> Any:
    """The record a message is about (`payload[key]`, of the message's own clinic); PermanentDeliveryError with
    `missing` when it is gone — retrying would not bring it back."""
    record = session.get(model, message.payload[key])
    if record is None or record.clinic_id != message.clinic_id:
        raise PermanentDeliveryError(missing)
    return record


def register_handler(kind: str, handler: Handler) -> None:
    """Plug a delivery for one kind of message (each integration registers its own)."""
    _HANDLERS[kind] = handler


def handler_for(kind: str) -> Handler | None:
    """The registered delivery of a kind, if any."""
    return _HANDLERS.get(kind)


def enqueue(
    session: Session, *, clinic_id: int, kind: str, payload: dict[str, Any], subject_type: str | None = None,
    subject_id: Any = None, patient_id: int | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    idempotency_key: str | None = None, created_by_id: int | None = None,
) -> OutboxMessage:
    """Add a message in the caller's transaction: it exists exactly when the change that caused it does. Its
    author is `created_by_id`, else the staff member of the request that queues it (None for the system)."""
    message = OutboxMessage(
        clinic_id=clinic_id, kind=kind, payload=payload, subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id), patient_id=patient_id,
        created_by_id=created_by_id if created_by_id is not None else _acting_user_id(),
        idempotency_key=idempotency_key or f"{kind}:{uuid.uuid4()}", max_attempts=max_attempts,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def _acting_user_id() -> int | None:
    """The logged-in staff member of the current request, if a request queues the message."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def backoff_seconds(attempts: int, base: float) -> float:
    """Exponential back-off: base, 2×base, 4×base … capped at MAX_BACKOFF_SECONDS."""
    return min(base * (2 ** max(attempts - 1, 0)), MAX_BACKOFF_SECONDS)


def claim_due(session: Session, limit: int = 10) -> list[int]:
    """Take due messages for this worker (a lease), committing so other workers skip them."""
    now = utcnow()
    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == DELIVERING, OutboxMessage.lease_until < now),  # a worker died mid-delivery
    )
    stmt = select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    claimed: list[int] = []
    lease = now + timedelta(seconds=LEASE_SECONDS)
    for message_id in ids:
        # Compare-and-set: on SQLite (no SKIP LOCKED) two workers may pick the same id; only one wins.
        result = session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id, due)
            .values(status=DELIVERING, lease_until=lease)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    session.commit()
    return claimed


def _get_message(session: Session, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise LookupError(f"outbox message {message_id} vanished")
    return message


def deliver_one(session: Session, message_id: int, base_delay: float) -> OutboxMessage:
    """Deliver one claimed message with its handler and record the outcome."""
    message = _get_message(session, message_id)
    attempt = message.attempts + 1
    handler = handler_for(message.kind)
    try:
        if handler is None:
            raise PermanentDeliveryError(f"配信先が登録されていません（{message.kind}）")
        response = handler(session, message)
    except Exception as exc:  # noqa: BLE001 — any failure of a handler is recorded, never lost
        # The handler's own writes are undone; only the failure is recorded on the message.
        session.rollback()
        message = _get_message(session, message_id)
        message.attempts = attempt
        _record_failure(message, exc, base_delay)
    else:
        message.attempts = attempt
        message.status = DELIVERED
        message.delivered_at = utcnow()
        message.lease_until = None
        message.last_error = None
        message.response = response
    session.commit()
    return message


def _record_failure(message: OutboxMessage, exc: Exception, base_delay: float) -> None:
    """After a failed try: back off, or mark dead when the tries are used up or the error is permanent."""
    # A delivery error is already said for staff (in Japanese); anything else is a fault, named by its class.
    message.last_error = (str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}")[:2000]
    message.lease_until = None
    if isinstance(exc, PermanentDeliveryError) or message.attempts >= message.max_attempts:
        message.status = DEAD
        log.warning("outbox message %s dead after %s tries: %s", message.id, message.attempts, exc)
    else:
        message.status = PENDING
        message.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(message.attempts, base_delay))


@dataclass
class RunResult:
    """What one pass of the worker did."""

    delivered: int = 0
    failed: int = 0


def run_once(session_factory: Callable[[], Session], base_delay: float, limit: int = 10) -> RunResult:
    """One pass of a worker: claim due messages and deliver them."""
    result = RunResult()
    with session_factory() as session:
        ids = claim_due(session, limit)
    for message_id in ids:
        with session_factory() as session:
            message = deliver_one(session, message_id, base_delay)
            if message.status == DELIVERED:
                result.delivered += 1
            else:
                result.failed += 1
    return result


def latest_for_subject(session: Session, clinic_id: int, kind: str, subject_id: Any) -> OutboxMessage | None:
    """The newest message of a kind about one subject (e.g. the order an OML^O33 was sent for), or None."""
    return session.scalars(scoped(OutboxMessage, clinic_id).where(
        OutboxMessage.kind == kind, OutboxMessage.subject_id == str(subject_id))
        .order_by(OutboxMessage.id.desc()).limit(1)).first()


def retry_message(session: Session, message: OutboxMessage, actor: Actor) -> OutboxMessage:
    """Staff send a failed (or waiting) message again now, with a fresh set of tries."""
    if message.status == DELIVERED:
        raise ValidationError("送信済みのメッセージは再送できません")
    if message.status == DELIVERING:
        raise ValidationError("送信中のため再送できません。しばらくしてから確認してください")
    message.status = PENDING
    message.next_attempt_at = utcnow()
    if message.attempts >= message.max_attempts:
        message.max_attempts = message.attempts + 3
    session.flush()
    record_audit(session, actor, "outbox.retry", clinic_id=message.clinic_id, entity_type="outbox_message",
                 entity_id=message.id, patient_id=message.patient_id)
    return message
