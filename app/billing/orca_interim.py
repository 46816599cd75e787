"""Sending a clinical record to ORCA as 中途データ (medicalmodv2, orca.md §4a) through the outbox, and deleting it
when the record is cancelled. Shared by every record billed that way (a prescription, a lab order): each says what
differs in one BilledKind — its model, its 診療日 and its Medical_Information — and keeps the same four columns
(orca_billing_status, orca_medical_uid, orca_billing_warnings, orca_billing_error).

ORCA bills under a reception (診療科・医師・保険組合せ), so a send waits, retrying, until the clerk has registered
the patient's visit of that day. The clerk opens the data in 「21 診療行為」 and finishes it at 会計; once opened,
the API can no longer delete it (Api_Result 30/31) and the record says so (delete_failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.claim_builder import ClaimError
from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.integrations.orca import OrcaApiError, OrcaClient, OrcaError, client_from_settings
from app.outbox.models import DELIVERING, PENDING, OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, message_subject, register_handler
from app.patients.models import Patient
from app.reception.models import CANCELLED as VISIT_CANCELLED
from app.reception.models import PAID as VISIT_PAID
from app.reception.models import Visit

#: What a record's page says about each state ("" = not sent: ORCA not set up, or nothing to bill).
STATUS_LABELS = {
    "sending": "ORCAへ送信待ち", "sent": "ORCAへ送信済（会計待ち）", "rejected": "ORCAが受け付けませんでした",
    "deleting": "ORCAの中途データを削除中", "deleted": "ORCAの中途データを削除済",
    "delete_failed": "ORCAの中途データを削除できませんでした",
}
#: States shown as a failure (the page shows the reason with them).
FAILED = ("rejected", "delete_failed")

#: Api_Result of medicalmodv2 delete that mean the clerk has the data already (31: 内容が更新されている).
_OPENED_BY_CLERK = {"30", "31"}
#: … and of a replace (class 03: 32 nothing to replace, 33 内容が更新されている).
_OPENED_BY_CLERK_REPLACE = {"32", "33"}


@dataclass(frozen=True)
class BilledKind:
    """One kind of record sent as 中途データ: how to find it, its 診療日 and the 剤 it bills."""

    #: subject_type of the outbox messages, entity_type and prefix of the audit entries ("prescription", …).
    name: str
    model: type
    #: The 診療日 the data is billed on (the prescription's issue day, the order's 採取日).
    day: Callable[[Any], date]
    #: The Medical_Information array of the record (the session reads what else it needs).
    medical_information: Callable[[Session, Any], list[dict[str, Any]]]
    #: Said when the outbox message's record no longer exists.
    not_found: str
    #: Refuse to send for a visit ORCA has closed (会計済): the visit's own fees, whose change the clerk makes there.
    refuse_paid: bool = False

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
    return bool(((clinic.integrations or {}).get("orca") or {}).get("base_url"))


def orca_client_for(clinic: Clinic | None) -> OrcaClient | None:
    """The clinic's ORCA client (None when not configured)."""
    return client_from_settings((clinic.integrations or {}).get("orca")) if clinic is not None else None


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


def _refused(session: Session, record: Any, status: str, exc: OrcaError) -> PermanentDeliveryError:
    record.orca_billing_status = status
    record.orca_billing_error = exc.message_ja[:500]
    session.commit()  # the reason stays on the record although the message fails for good
    return PermanentDeliveryError(exc.message_ja)


def _orca_failed(session: Session, record: Any, status: str, exc: OrcaError, opened_by_clerk: set[str],
                 clerk_does: str) -> DeliveryError:
    """What a failed send or delete raises: a retry when ORCA may answer later, else the record marked `status`
    with ORCA's reason — and, when the clerk already has the data in ORCA, what to do there instead."""
    if exc.retryable:
        return DeliveryError(exc.message_ja)
    if isinstance(exc, OrcaApiError) and exc.code in opened_by_clerk:
        exc = OrcaApiError(f"{exc.message_ja}。ORCAで中途データがすでに開かれたか会計済みです。"
                           f"ORCAの「21 診療行為」で{clerk_does}ください", code=exc.code)
    return _refused(session, record, status, exc)


def _connection(session: Session, message: OutboxMessage, record: Any) -> tuple[OrcaClient, Patient]:
    client = orca_client_for(session.get(Clinic, message.clinic_id))
    patient = session.get(Patient, record.patient_id)
    if client is None or patient is None:
        raise DeliveryError("ORCAの接続先が設定されていません")
    return client, patient


def deliver_send(kind: BilledKind, session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: send the 中途データ, keep ORCA's Medical_Uid and the lines it dropped."""
    record = _record(session, kind, message)
    if record.orca_billing_status != "sending":  # cancelled meanwhile: the delete message settles it
        return {"skipped": record.orca_billing_status}
    client, patient = _connection(session, message, record)
    day = kind.day(record)
    visit = visit_of(session, record.clinic_id, record.patient_id, day)
    if visit is None:
        # ORCA bills under a reception (診療科・医師・保険): wait for the clerk to register one that day.
        raise DeliveryError(f"{day:%Y-%m-%d}の受付（診療科・医師）がないため、ORCAへ送れません。"
                            "受付を登録すると自動で再送します")
    if kind.refuse_paid and visit.status == VISIT_PAID:
        raise _refused(session, record, "rejected", OrcaApiError(
            "この受付はORCAで会計済みのため送れません。変更はORCAの「21 診療行為」で行ってください", code="paid"))
    replaced = record.orca_medical_uid  # sent before: this is a change (class 03), never a second copy
    try:
        medical_information = kind.medical_information(session, record)
    except ClaimError as exc:
        raise _refused(session, record, "rejected", OrcaApiError(str(exc), code="claim")) from exc
    try:
        landed = _landed_before(session, message, client, patient, visit, day)
        if landed is None:
            body = build_request(medical_information, patient, visit, day)
            if replaced:
                body["Medical_Uid"] = replaced
            result = client.send_medical_data(body, request_class="03" if replaced else "01")
            landed, warnings = result.medical_uid, [w for w in (*result.warnings, result.notice) if w]
        else:
            warnings = ["前回の送信はORCAに届いていたため、再送しませんでした"]
    except OrcaError as exc:
        raise _orca_failed(session, record, "rejected", exc, _OPENED_BY_CLERK_REPLACE, "直して") from exc
    record.orca_billing_status = "sent"
    record.orca_medical_uid = landed
    record.orca_billing_warnings = warnings
    record.orca_billing_error = ""
    record_audit(session, SYSTEM, f"{kind.name}.orca_billed", clinic_id=record.clinic_id, entity_type=kind.name,
                 entity_id=record.id, patient_id=record.patient_id,
                 summary={"after": {"medical_uid": landed, "warnings": warnings}})
    return {"medical_uid": landed, "warnings": warnings,
            "department_code": visit.department_code, "physician_code": visit.physician_code}


def _landed_before(session: Session, message: OutboxMessage, client: OrcaClient, patient: Patient, visit: Visit,
                   day: date) -> str | None:
    """ORCA's API takes no idempotency key, so before each try we note the 中途データ ORCA already holds for the
    patient, day and 診療科 (tmedicalgetv2), committed on the message. On a later try, data that appeared since
    and that no record of ours claims is what our earlier try sent although its reply was lost: its Medical_Uid
    (nothing is sent again). None when it must be sent; PermanentDeliveryError when ORCA holds more than one
    such data and only the clerk can tell which is ours."""
    held = client.list_interim_uids(day, patient.orca_patient_id, visit.department_code)
    before = message.payload.get("orca_held_before")
    if before is not None:
        new = held - set(before) - _claimed_uids(session, message.clinic_id, held - set(before))
        if len(new) == 1:
            return new.pop()
        if new:
            raise PermanentDeliveryError("ORCAに同じ日の中途データが複数届いており、どれが今回の送信か判断できません。"
                                         "ORCAの「21 診療行為」で確認してください")
    message.payload = {**message.payload, "orca_held_before": sorted(held)}
    session.commit()  # kept although this try fails: the next one compares with it
    return None


def _claimed_uids(session: Session, clinic_id: int, uids: set[str]) -> set[str]:
    """Which of `uids` a record of ours (of any billed kind) already holds."""
    if not uids:
        return set()
    return {uid for kind in _KINDS for uid in session.scalars(select(kind.model.orca_medical_uid).where(
        kind.model.clinic_id == clinic_id, kind.model.orca_medical_uid.in_(uids)))}


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


def deliver_delete(kind: BilledKind, session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: delete the 中途データ of a cancelled record (class=02, by Medical_Uid)."""
    record = _record(session, kind, message)
    send = _send_message(session, kind, record)
    if not record.orca_medical_uid:
        if send is not None and send.status in (PENDING, DELIVERING):
            # The send may still be under way: once it has landed the uid is known and the delete proceeds.
            raise DeliveryError("ORCAへの送信が終わっていないため、削除を待っています")
        record.orca_billing_status = "deleted"  # never reached ORCA: nothing to delete
        return {"deleted": None}
    client, patient = _connection(session, message, record)
    # ORCA finds the data by 診療日 + 患者 + 診療科 + Medical_Uid: the 診療科 it was sent under.
    sent = (send.response or {}) if send is not None else {}
    body = {"InOut": "O", "Patient_ID": patient.orca_patient_id, "Perform_Date": kind.day(record).isoformat(),
            "Medical_Uid": record.orca_medical_uid,
            "Diagnosis_Information": {"Department_Code": sent.get("department_code", ""),
                                      "Physician_Code": sent.get("physician_code", "")}}
    try:
        client.send_medical_data(body, request_class="02")
    except OrcaError as exc:
        raise _orca_failed(session, record, "delete_failed", exc, _OPENED_BY_CLERK, "取り消して") from exc
    record.orca_billing_status = "deleted"
    record_audit(session, SYSTEM, f"{kind.name}.orca_billing_deleted", clinic_id=record.clinic_id,
                 entity_type=kind.name, entity_id=record.id, patient_id=record.patient_id,
                 summary={"before": {"medical_uid": record.orca_medical_uid}})
    return {"deleted": record.orca_medical_uid}


#: Every kind registered (a Medical_Uid one of them holds is not another's lost reply).
_KINDS: list[BilledKind] = []


def register(kind: BilledKind) -> None:
    """Plug the send and delete deliveries of a kind into the outbox."""
    _KINDS.append(kind)
    register_handler(kind.send_kind, partial(deliver_send, kind))
    register_handler(kind.delete_kind, partial(deliver_delete, kind))
