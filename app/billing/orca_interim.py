"""What every record billed to ORCA shares (a prescription, a lab order, a visit's own fees): its kind
(BilledKind: model, 診療日, which of its records a visit's data carries and their 剤), the four columns each keeps
(orca_billing_status, orca_medical_uid, orca_billing_warnings, orca_billing_error), queueing a send or a delete
through the outbox, and the reception (診療科・医師・保険組合せ) ORCA bills the day under. The visit's one 中途データ
that carries them all is sent by app/billing/visit_send.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.claim_builder import Dose
from app.clinics.models import Clinic
from app.integrations.orca import OrcaClient, client_from_settings
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, enqueue, message_subject
from app.patients.models import Patient
from app.reception.models import CANCELLED as VISIT_CANCELLED
from app.reception.models import Visit

#: What a record's page says about each state ("" = not sent: ORCA not set up, or nothing to bill).
STATUS_LABELS = {
    "sending": "ORCAへ送信待ち", "sent": "ORCAへ送信済（会計待ち）", "rejected": "ORCAが受け付けませんでした",
    "deleting": "ORCAの中途データを削除中", "deleted": "ORCAの中途データを削除済",
    "delete_failed": "ORCAの中途データを削除できませんでした",
}
#: States shown as a failure (the page shows the reason with them).
FAILED = ("rejected", "delete_failed")

#: The states in which a record is part of its visit's data (sent, to be sent, or refused and to be re-sent).
CARRIED = ("sending", "sent", "rejected")


@dataclass(frozen=True)
class BilledKind:
    """One kind of record billed in a visit's 中途データ: how to find it, its 診療日 and the 剤 it bills."""

    #: subject_type of the outbox messages, entity_type and prefix of the audit entries ("prescription", …).
    name: str
    model: type
    #: What the visit summary calls its lines (処方, 検査, 指導料・管理料).
    label: str
    #: The 診療日 the record is billed on (the prescription's issue day, the order's 採取日).
    day: Callable[[Any], date]
    #: The records of the kind a visit's data carries, in the billing states asked.
    of_visit: Callable[[Session, Visit, tuple[str, ...]], list[Any]]
    #: Their 剤 (each Dose's `record` says whose line it is).
    doses: Callable[[Session, list[Any], Visit], list[Dose]]
    #: Said when the outbox message's record no longer exists.
    not_found: str

    @property
    def send_kind(self) -> str:
        """Outbox kind of the send (class=01)."""
        return f"orca.{self.name}_billing"

    @property
    def delete_kind(self) -> str:
        """Outbox kind of the delete (class=02)."""
        return f"orca.{self.name}_billing_delete"

    @property
    def payload_key(self) -> str:
        """Key of the record's id in the message payload."""
        return f"{self.name}_id"


def is_available(clinic: Clinic) -> bool:
    """Whether the clinic's ORCA is configured (otherwise nothing is sent and nothing is shown)."""
    return bool(clinic.integration("orca").get("base_url"))


def orca_client_for(clinic: Clinic | None) -> OrcaClient | None:
    """The clinic's ORCA client (None when not configured)."""
    return client_from_settings(clinic.integration("orca")) if clinic is not None else None


def _enqueue(session: Session, kind: BilledKind, record: Any, message_kind: str) -> OutboxMessage:
    return enqueue(session, clinic_id=record.clinic_id, kind=message_kind, payload={kind.payload_key: record.id},
                   subject_type=kind.name, subject_id=record.id, patient_id=record.patient_id)


def queue_send(session: Session, clinic: Clinic, kind: BilledKind, record: Any) -> OutboxMessage | None:
    """Queue the record's 中途データ in the caller's transaction (None when ORCA is not set up)."""
    if not is_available(clinic):
        return None
    record.orca_billing_status = "sending"
    return _enqueue(session, kind, record, kind.send_kind)


def queue_delete(session: Session, clinic: Clinic, kind: BilledKind, record: Any) -> OutboxMessage | None:
    """Queue the deletion of a cancelled record's 中途データ (None when nothing was or will be sent)."""
    if record.orca_billing_status not in ("sending", "sent") or not is_available(clinic):
        return None
    record.orca_billing_status = "deleting"
    return _enqueue(session, kind, record, kind.delete_kind)


def _record(session: Session, kind: BilledKind, message: OutboxMessage) -> Any:
    return message_subject(session, message, kind.model, kind.payload_key, kind.not_found)


def visit_of(session: Session, clinic_id: int, patient_id: int, day: date) -> Visit | None:
    """The patient's reception of the day: its 診療科, 医師 and 保険組合せ are what ORCA bills under."""
    return session.scalars(
        select(Visit).where(Visit.clinic_id == clinic_id, Visit.patient_id == patient_id, Visit.visit_date == day,
                            Visit.status != VISIT_CANCELLED, Visit.department_code != "", Visit.physician_code != "")
        .order_by(Visit.accepted_at.desc())).first()


def build_request(medical_information: list[dict[str, Any]], patient: Patient, visit: Visit,
                  day: date) -> dict[str, Any]:
    """The medicalreq body (class=01) of some 剤 under a visit."""
    diagnosis: dict[str, Any] = {"Department_Code": visit.department_code, "Physician_Code": visit.physician_code,
                                 "Medical_Information": medical_information}
    if visit.insurance_combination:
        diagnosis["HealthInsurance_Information"] = {"Insurance_Combination_Number": visit.insurance_combination}
    return {"InOut": "O", "Patient_ID": patient.orca_patient_id, "Perform_Date": day.isoformat(),
            "Diagnosis_Information": diagnosis, "Medical_Push": "Yes"}


def _connection(session: Session, message: OutboxMessage, record: Any) -> tuple[OrcaClient, Patient]:
    client = orca_client_for(session.get(Clinic, message.clinic_id))
    patient = session.get(Patient, record.patient_id)
    if client is None or patient is None:
        raise DeliveryError("ORCAの接続先が設定されていません")
    return client, patient


def waiting_reason(session: Session, kind: BilledKind, record: Any) -> str:
    """Why a queued send or delete has not landed yet (the last failed attempt's message), or ""."""
    if record.orca_billing_status not in ("sending", "deleting"):
        return ""
    message = session.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == record.clinic_id, OutboxMessage.kind.in_((kind.send_kind, kind.delete_kind)),
        OutboxMessage.subject_id == str(record.id)).order_by(OutboxMessage.id.desc())).first()
    return (message.last_error or "") if message is not None else ""


def _send_message(session: Session, kind: BilledKind, record: Any) -> OutboxMessage | None:
    return session.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == record.clinic_id, OutboxMessage.kind == kind.send_kind,
        OutboxMessage.subject_id == str(record.id)).order_by(OutboxMessage.id.desc())).first()
