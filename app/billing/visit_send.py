"""The visit's one 中途データ (medicalmodv2, orca.md §4a): everything Kamikarte bills for a visit — its 指導料・管理料,
the day's prescriptions with 処方箋料 and its 加算, the day's lab orders with 判断料・採血料 — goes to ORCA as one data
under the visit's reception, built by the one builder (claim_builder) from the 剤 each registered kind gives.

Every send of any kind (a prescription issued, an order placed, a fee chosen, a record cancelled) re-sends the whole
visit: the first as class 01, every later one as a change (class 03 with ORCA's Medical_Uid, never a second copy),
an empty visit as a delete (02). A visit ORCA has closed (会計済) is refused. Each record keeps its own state, set
from the visit's send that carried (or dropped) it, so a prescription's page still says whether it was billed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import claim_builder
from app.billing.models import VisitBill
from app.billing.orca_interim import CARRIED, BilledKind, build_request, orca_client_for, visit_of
from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.integrations.orca import OrcaApiError, OrcaClient, OrcaError
from app.outbox.models import DELIVERING, PENDING, OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, message_subject, register_handler
from app.patients.models import Patient
from app.reception.models import PAID, Visit

#: Api_Result of a replace (class 03) or delete (02) that mean the clerk has opened the data (§7c).
_OPENED_BY_CLERK = {"30", "31", "32", "33"}
OPENED = "ORCAで中途データがすでに開かれたか会計済みです"
PAID_REFUSAL = "この受付はORCAで会計済みのため送れません。変更はORCAの「21 診療行為」で行ってください"

#: Every kind registered, the visit's own fees first (a Medical_Uid one of them holds is not another's lost reply).
_KINDS: list[BilledKind] = []


def register(kind: BilledKind) -> None:
    """Plug a kind's send and delete deliveries into the outbox; its records ride in their visit's data."""
    _KINDS.append(kind)
    register_handler(kind.send_kind, partial(deliver_send, kind))
    register_handler(kind.delete_kind, partial(deliver_delete, kind))


def kinds() -> list[BilledKind]:
    """The kinds registered, in the order their 剤 are sent."""
    return list(_KINDS)


def bill_for(session: Session, visit: Visit, *, create: bool = False) -> VisitBill | None:
    """The visit's bill — the record that holds its 中途データ's Medical_Uid (made on first use when `create`)."""
    bill = session.scalars(select(VisitBill).where(VisitBill.clinic_id == visit.clinic_id,
                                                   VisitBill.visit_id == visit.id)).first()
    if bill is None and create:
        bill = VisitBill(clinic_id=visit.clinic_id, visit_id=visit.id, patient_id=visit.patient_id,
                         visit_date=visit.visit_date, orca_billing_warnings=[])
        session.add(bill)
        session.flush()
    return bill


def carried(session: Session, visit: Visit, states: tuple[str, ...] = CARRIED) -> list[tuple[BilledKind, list[Any]]]:
    """Each kind with its records the visit's data carries. A day's prescription or order belongs to the visit ORCA
    bills the day under (the patient's latest reception that day), so another reception of the day carries only
    its own fees."""
    billed_under = visit_of(session, visit.clinic_id, visit.patient_id, visit.visit_date)
    own = billed_under is not None and billed_under.id == visit.id
    return [(kind, kind.of_visit(session, visit, states)) for kind in _KINDS
            if own or kind.model is VisitBill]


def visit_doses(session: Session, visit: Visit) -> list[claim_builder.Dose]:
    """Every 剤 of the visit's data, in the order of the kinds."""
    return [dose for kind, records in carried(session, visit) if records
            for dose in kind.doses(session, records, visit)]


def _record(session: Session, kind: BilledKind, message: OutboxMessage) -> Any:
    return message_subject(session, message, kind.model, kind.payload_key, kind.not_found)


def _visit_of_record(session: Session, kind: BilledKind, record: Any) -> Visit | None:
    if isinstance(record, VisitBill):
        return session.get(Visit, record.visit_id)
    return visit_of(session, record.clinic_id, record.patient_id, kind.day(record))


def _connection(session: Session, bill: VisitBill) -> tuple[OrcaClient, Patient]:
    client = orca_client_for(session.get(Clinic, bill.clinic_id))
    patient = session.get(Patient, bill.patient_id)
    if client is None or patient is None:
        raise DeliveryError("ORCAの接続先が設定されていません")
    return client, patient


def _refuse(session: Session, bill: VisitBill, groups: list[tuple[BilledKind, list[Any]]],
            message: str) -> PermanentDeliveryError:
    """The visit's data was refused: the bill and every record it carried say why (kept though the message dies)."""
    for _, records in groups:
        for record in records:
            record.orca_billing_status = "rejected"
            record.orca_billing_error = message[:500]
    bill.orca_billing_status = "rejected"
    bill.orca_billing_error = message[:500]
    session.commit()
    return PermanentDeliveryError(message)


def _settle(session: Session, bill: VisitBill, visit: Visit, groups: list[tuple[BilledKind, list[Any]]],
            uid: str | None, warnings: list[str]) -> None:
    """ORCA holds the visit's data (uid) or none (None): every carried record says so; cancelled ones are gone."""
    for _, records in groups:
        for record in records:
            record.orca_billing_status = "sent" if uid else "deleted"
            record.orca_medical_uid = uid
            record.orca_billing_warnings = warnings
            record.orca_billing_error = ""
    for _, records in carried(session, visit, ("deleting",)):
        for record in records:
            record.orca_billing_status = "deleted"
    bill.orca_billing_status = "sent" if uid else "deleted"
    bill.orca_medical_uid = uid
    bill.orca_billing_warnings = warnings
    bill.orca_billing_error = ""
    record_audit(session, SYSTEM, "visit_bill.orca_billed" if uid else "visit_bill.orca_billing_deleted",
                 clinic_id=bill.clinic_id, entity_type="visit_bill", entity_id=bill.id, patient_id=bill.patient_id,
                 summary={"after": {"medical_uid": uid, "warnings": warnings, "revision": bill.sent_revision}})


def send_visit(session: Session, message: OutboxMessage, bill: VisitBill, visit: Visit) -> dict[str, Any]:
    """Send the visit's whole data now (01, or 03 replacing what ORCA holds, or 02 when nothing is left)."""
    client, patient = _connection(session, bill)
    groups = carried(session, visit)
    if visit.status == PAID:
        raise _refuse(session, bill, groups, PAID_REFUSAL)
    bill.sent_revision = bill.revision
    try:
        medical_information = claim_builder.medical_information(visit_doses(session, visit))
    except claim_builder.ClaimError as exc:
        raise _refuse(session, bill, groups, str(exc)) from exc
    replaced = bill.orca_medical_uid
    try:
        if not medical_information:
            if replaced:
                client.send_medical_data({"InOut": "O", "Patient_ID": patient.orca_patient_id,
                                          "Perform_Date": visit.visit_date.isoformat(), "Medical_Uid": replaced,
                                          "Diagnosis_Information": {"Department_Code": visit.department_code,
                                                                    "Physician_Code": visit.physician_code}},
                                         request_class="02")
            _settle(session, bill, visit, groups, None, [])
            return {"deleted": replaced}
        landed = None if replaced else _landed_before(session, message, client, patient, visit)
        if landed is None:
            body = build_request(medical_information, patient, visit, visit.visit_date)
            if replaced:
                body["Medical_Uid"] = replaced
            result = client.send_medical_data(body, request_class="03" if replaced else "01")
            landed, warnings = result.medical_uid, [w for w in (*result.warnings, result.notice) if w]
        else:
            warnings = ["前回の送信はORCAに届いていたため、再送しませんでした"]
    except OrcaError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        text = exc.message_ja
        if isinstance(exc, OrcaApiError) and exc.code in _OPENED_BY_CLERK:
            text = f"{text}。{OPENED}。ORCAの「21 診療行為」で直してください"
        raise _refuse(session, bill, groups, text) from exc
    _settle(session, bill, visit, groups, landed, warnings)
    return {"medical_uid": landed, "warnings": warnings, "revision": bill.sent_revision,
            "department_code": visit.department_code, "physician_code": visit.physician_code}


def _landed_before(session: Session, message: OutboxMessage, client: OrcaClient, patient: Patient,
                   visit: Visit) -> str | None:
    """ORCA's API takes no idempotency key, so before each try we note the 中途データ ORCA already holds for the
    patient, day and 診療科 (tmedicalgetv2), committed on the message. On a later try, data that appeared since
    and that no record of ours claims is what our earlier try sent although its reply was lost: its Medical_Uid
    (nothing is sent again). None when it must be sent; PermanentDeliveryError when ORCA holds more than one
    such data and only the clerk can tell which is ours."""
    held = client.list_interim_uids(visit.visit_date, patient.orca_patient_id, visit.department_code)
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


def deliver_send(kind: BilledKind, session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery of a record's send: the record's visit is sent whole (it waits for the day's reception)."""
    record = _record(session, kind, message)
    if record.orca_billing_status != "sending":  # carried by another send meanwhile, or cancelled
        return {"skipped": record.orca_billing_status}
    visit = _visit_of_record(session, kind, record)
    if visit is None:
        # ORCA bills under a reception (診療科・医師・保険): wait for the clerk to register one that day.
        raise DeliveryError(f"{kind.day(record):%Y-%m-%d}の受付（診療科・医師）がないため、ORCAへ送れません。"
                            "受付を登録すると自動で再送します")
    return send_visit(session, message, bill_for(session, visit, create=True), visit)  # type: ignore[arg-type]


def deliver_delete(kind: BilledKind, session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery of a cancelled record: its visit's data is sent again without it (or deleted if empty)."""
    record = _record(session, kind, message)
    if record.orca_billing_status != "deleting":  # a send of the visit already dropped it
        return {"skipped": record.orca_billing_status}
    visit = _visit_of_record(session, kind, record)
    bill = bill_for(session, visit) if visit is not None else None
    if visit is None or bill is None or not bill.orca_medical_uid:
        send = session.scalars(select(OutboxMessage).where(
            OutboxMessage.clinic_id == record.clinic_id, OutboxMessage.kind == kind.send_kind,
            OutboxMessage.subject_id == str(record.id)).order_by(OutboxMessage.id.desc())).first()
        if send is not None and send.status in (PENDING, DELIVERING):
            # The send may still be under way: once it has landed the uid is known and the delete proceeds.
            raise DeliveryError("ORCAへの送信が終わっていないため、削除を待っています")
        record.orca_billing_status = "deleted"  # never reached ORCA: nothing to delete
        return {"deleted": None}
    try:
        result = send_visit(session, message, bill, visit)
    except PermanentDeliveryError as exc:
        record.orca_billing_status = "delete_failed"
        record.orca_billing_error = f"{exc}。ORCAの「21 診療行為」で取り消してください"[:500]
        session.commit()
        raise
    record.orca_billing_status = "deleted"
    record_audit(session, SYSTEM, f"{kind.name}.orca_billing_deleted", clinic_id=record.clinic_id,
                 entity_type=kind.name, entity_id=record.id, patient_id=record.patient_id,
                 summary={"before": {"medical_uid": record.orca_medical_uid}})
    return result
