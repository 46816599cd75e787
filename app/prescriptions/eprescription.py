"""Issuing as a 電子処方箋: the FHIR document goes to the 電子処方箋管理サービス through the outbox (never lost
when the service is down); the 引換番号 and the service's own check result come back onto the prescription.
A cancellation of a registered one is sent the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.integrations.eprescription import EPrescriptionClient, EPrescriptionError
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, message_subject, register_handler
from app.prescriptions.fhir import build_bundle
from app.prescriptions.models import Prescription

REGISTER, CANCEL = "eprescription.register", "eprescription.cancel"


def settings_of(clinic: Clinic) -> dict[str, Any]:
    """The clinic's connection to the service (base_url, token), empty when not set up."""
    settings = (clinic.integrations or {}).get("eprescription") or {}
    return settings if settings.get("base_url") and settings.get("token") else {}


def is_available(clinic: Clinic) -> bool:
    """Whether the clinic can issue 電子処方箋."""
    return bool(settings_of(clinic))


def queue_registration(session: Session, clinic: Clinic, prescription: Prescription, patient: Any) -> OutboxMessage:
    """Build the document now (refused with EPrescriptionError if it cannot be valid) and queue it."""
    bundle = build_bundle(prescription, patient, clinic)
    prescription.eprescription_status = "sending"
    return enqueue(session, clinic_id=clinic.id, kind=REGISTER, payload={"prescription_id": prescription.id,
                                                                          "bundle": bundle},
                   subject_type="prescription", subject_id=prescription.id, patient_id=prescription.patient_id)


def queue_cancellation(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the cancellation of a registered 電子処方箋 (nothing to send for a paper one)."""
    if not prescription.eprescription_id:
        return None
    prescription.eprescription_status = "cancelling"
    return enqueue(session, clinic_id=clinic.id, kind=CANCEL,
                   payload={"prescription_id": prescription.id, "service_id": prescription.eprescription_id},
                   subject_type="prescription", subject_id=prescription.id, patient_id=prescription.patient_id)


def _client(session: Session, message: OutboxMessage) -> EPrescriptionClient:
    clinic = session.get(Clinic, message.clinic_id)
    settings = settings_of(clinic) if clinic else {}
    if not settings:
        raise DeliveryError("電子処方箋管理サービスの接続先が設定されていません")
    return EPrescriptionClient(settings["base_url"], settings["token"])


def _prescription(session: Session, message: OutboxMessage) -> Prescription:
    return message_subject(session, message, Prescription, "prescription_id", "処方箋が見つかりません")


def deliver_registration(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: register the document, keep the 引換番号 and warnings on the prescription."""
    prescription = _prescription(session, message)
    try:
        result = _client(session, message).register(message.payload["bundle"])
    except EPrescriptionError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        prescription.eprescription_status = "rejected"
        prescription.eprescription_error = exc.message_ja[:500]
        session.commit()  # keep the reason on the prescription even though the message fails for good
        raise PermanentDeliveryError(exc.message_ja) from exc
    prescription.eprescription_status = "registered"
    prescription.eprescription_id = result.service_id
    prescription.exchange_number = result.exchange_number
    prescription.eprescription_warnings = list(result.warnings)
    record_audit(session, SYSTEM, "prescription.eprescription_registered", clinic_id=prescription.clinic_id,
                 entity_type="prescription", entity_id=prescription.id, patient_id=prescription.patient_id,
                 summary={"after": {"exchange_number": result.exchange_number, "warnings": list(result.warnings)}})
    return {"exchange_number": result.exchange_number, "warnings": list(result.warnings)}


def deliver_cancellation(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: cancel the registered prescription at the service."""
    prescription = _prescription(session, message)
    try:
        _client(session, message).cancel(message.payload["service_id"])
    except EPrescriptionError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        prescription.eprescription_error = exc.message_ja[:500]
        session.commit()
        raise PermanentDeliveryError(exc.message_ja) from exc
    prescription.eprescription_status = "cancelled"
    return {"cancelled": message.payload["service_id"]}


register_handler(REGISTER, deliver_registration)
register_handler(CANCEL, deliver_cancellation)
