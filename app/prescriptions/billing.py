"""Billing an issued prescription in ORCA: its drugs go to ORCA as 中途データ (medicalmodv2, orca.md §4a) through
the outbox, for the clerk to open in 「21 診療行為」 and finish at 会計. A cancelled prescription's 中途データ is
deleted the same way while the clerk has not opened it.

Kamikarte issues only 院外処方箋, so each Rp is sent with the 院外 診療種別区分 (212 内服 / 222 頓服 / 232 外用,
orca.md §4d) whatever the clinic's default 院内/院外 setting; ORCA then counts 処方箋料 and its 加算 itself when
the clerk opens the data. The drugs are sent with their 9-digit レセ電 code (入力コード are refused by the API) and
the 一般名 flag of each line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.integrations.orca import OrcaApiError, OrcaClient, OrcaError, client_from_settings
from app.outbox.models import DELIVERING, PENDING, OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, register_handler
from app.patients.models import Patient
from app.prescriptions.models import Prescription
from app.reception.models import CANCELLED as VISIT_CANCELLED
from app.reception.models import Visit

SEND, DELETE = "orca.prescription_billing", "orca.prescription_billing_delete"

#: 診療種別区分 of an Rp form (RP_FORMS: 1 内服, 2 頓服, 3 外用), 院外 only, and the name ORCA shows for it.
MEDICAL_CLASSES = {1: ("212", "内服（院外）"), 2: ("222", "頓服（院外）"), 3: ("232", "外用（院外）")}

#: What the prescription page says about each state.
STATUS_LABELS = {
    "sending": "ORCAへ送信待ち", "sent": "ORCAへ送信済（会計待ち）", "rejected": "ORCAが受け付けませんでした",
    "deleting": "ORCAの中途データを削除中", "deleted": "ORCAの中途データを削除済",
    "delete_failed": "ORCAの中途データを削除できませんでした",
}

#: Api_Result of medicalmodv2 delete that mean the clerk has the data already (31: 内容が更新されている).
_OPENED_BY_CLERK = {"30", "31"}


def is_available(clinic: Clinic) -> bool:
    """Whether the clinic's ORCA is configured (otherwise nothing is sent and nothing is shown)."""
    return bool(((clinic.integrations or {}).get("orca") or {}).get("base_url"))


def build_medical_information(prescription: Prescription) -> list[dict[str, Any]]:
    """The Medical_Information array of the prescription: one 剤 per Rp (ORCA allows 40 剤 of 40 lines each)."""
    entries = []
    for rp in prescription.rps:
        medical_class, class_name = MEDICAL_CLASSES[rp.form]
        # 回数・日数: days for 内服, times for 頓服; a 外用 剤 is counted once (its lines carry the total).
        count = rp.quantity if rp.form in (1, 2) else 1
        entries.append({
            "Medical_Class": medical_class, "Medical_Class_Name": class_name, "Medical_Class_Number": str(count),
            "Medication_info": [{
                "Medication_Code": line.drug_receipt_code, "Medication_Name": line.drug_name,
                "Medication_Number": f"{line.dose:g}",
                "Medication_Generic_Flg": "yes" if line.by_generic_name else "no",
            } for line in rp.lines],
        })
    return entries


def queue_billing(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the prescription's 中途データ for ORCA in the caller's transaction (None when ORCA is not set up)."""
    if not is_available(clinic):
        return None
    prescription.orca_billing_status = "sending"
    return enqueue(session, clinic_id=clinic.id, kind=SEND, payload={"prescription_id": prescription.id},
                   subject_type="prescription", subject_id=prescription.id, patient_id=prescription.patient_id)


def queue_billing_delete(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the deletion of a cancelled prescription's 中途データ (None when nothing was or will be sent)."""
    if prescription.orca_billing_status not in ("sending", "sent") or not is_available(clinic):
        return None
    prescription.orca_billing_status = "deleting"
    return enqueue(session, clinic_id=clinic.id, kind=DELETE, payload={"prescription_id": prescription.id},
                   subject_type="prescription", subject_id=prescription.id, patient_id=prescription.patient_id)


def orca_client_for(clinic: Clinic | None) -> OrcaClient | None:
    """The clinic's ORCA client (None when not configured)."""
    return client_from_settings((clinic.integrations or {}).get("orca")) if clinic is not None else None


def _prescription(session: Session, message: OutboxMessage) -> Prescription:
    prescription = session.get(Prescription, message.payload["prescription_id"])
    if prescription is None or prescription.clinic_id != message.clinic_id:
        raise PermanentDeliveryError("処方箋が見つかりません")
    return prescription


def _visit_of(session: Session, prescription: Prescription) -> Visit | None:
    """The patient's reception of the issue day: its 診療科, 医師 and 保険組合せ are what ORCA bills under."""
    return session.scalars(
        select(Visit).where(Visit.clinic_id == prescription.clinic_id, Visit.patient_id == prescription.patient_id,
                            Visit.visit_date == prescription.issued_on, Visit.status != VISIT_CANCELLED,
                            Visit.department_code != "", Visit.physician_code != "")
        .order_by(Visit.accepted_at.desc())).first()


def build_request(prescription: Prescription, patient: Patient, visit: Visit, day: date) -> dict[str, Any]:
    """The medicalreq body (class=01) of a prescription under a visit."""
    diagnosis: dict[str, Any] = {"Department_Code": visit.department_code, "Physician_Code": visit.physician_code,
                                 "Medical_Information": build_medical_information(prescription)}
    if visit.insurance_combination:
        diagnosis["HealthInsurance_Information"] = {"Insurance_Combination_Number": visit.insurance_combination}
    return {"InOut": "O", "Patient_ID": patient.orca_patient_id, "Perform_Date": day.isoformat(),
            "Diagnosis_Information": diagnosis, "Medical_Push": "Yes"}


def _refused(session: Session, prescription: Prescription, status: str, exc: OrcaError) -> PermanentDeliveryError:
    prescription.orca_billing_status = status
    prescription.orca_billing_error = exc.message_ja[:500]
    session.commit()  # the reason stays on the prescription although the message fails for good
    return PermanentDeliveryError(exc.message_ja)


def deliver_billing(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: send the 中途データ, keep ORCA's Medical_Uid and the lines it dropped."""
    prescription = _prescription(session, message)
    if prescription.orca_billing_status != "sending":  # cancelled meanwhile: the delete message settles it
        return {"skipped": prescription.orca_billing_status}
    clinic = session.get(Clinic, message.clinic_id)
    client = orca_client_for(clinic)
    patient = session.get(Patient, prescription.patient_id)
    if client is None or patient is None:
        raise DeliveryError("ORCAの接続先が設定されていません")
    visit = _visit_of(session, prescription)
    if visit is None:
        # ORCA bills under a reception (診療科・医師・保険): wait for the clerk to register one that day.
        raise DeliveryError(f"{prescription.issued_on:%Y-%m-%d}の受付（診療科・医師）がないため、ORCAへ送れません。"
                            "受付を登録すると自動で再送します")
    try:
        result = client.send_medical_data(build_request(prescription, patient, visit, prescription.issued_on))
    except OrcaError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        raise _refused(session, prescription, "rejected", exc) from exc
    prescription.orca_billing_status = "sent"
    prescription.orca_medical_uid = result.medical_uid
    prescription.orca_billing_warnings = [w for w in (*result.warnings, result.notice) if w]
    prescription.orca_billing_error = ""
    record_audit(session, SYSTEM, "prescription.orca_billed", clinic_id=prescription.clinic_id,
                 entity_type="prescription", entity_id=prescription.id, patient_id=prescription.patient_id,
                 summary={"after": {"medical_uid": result.medical_uid,
                                    "warnings": prescription.orca_billing_warnings}})
    return {"medical_uid": result.medical_uid, "warnings": prescription.orca_billing_warnings,
            "department_code": visit.department_code, "physician_code": visit.physician_code}


def waiting_reason(session: Session, prescription: Prescription) -> str:
    """Why a queued send or delete has not landed yet (the last failed attempt's message), or ""."""
    if prescription.orca_billing_status not in ("sending", "deleting"):
        return ""
    message = session.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == prescription.clinic_id, OutboxMessage.kind.in_((SEND, DELETE)),
        OutboxMessage.subject_id == str(prescription.id)).order_by(OutboxMessage.id.desc())).first()
    return (message.last_error or "") if message is not None else ""


def _send_message(session: Session, message: OutboxMessage, prescription: Prescription) -> OutboxMessage | None:
    return session.scalars(select(OutboxMessage).where(
        OutboxMessage.clinic_id == message.clinic_id, OutboxMessage.kind == SEND,
        OutboxMessage.subject_id == str(prescription.id)).order_by(OutboxMessage.id.desc())).first()


def deliver_billing_delete(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: delete the 中途データ of a cancelled prescription (class=02, by Medical_Uid)."""
    prescription = _prescription(session, message)
    send = _send_message(session, message, prescription)
    if not prescription.orca_medical_uid:
        if send is not None and send.status in (PENDING, DELIVERING):
            # The send may still be under way: once it has landed the uid is known and the delete proceeds.
            raise DeliveryError("ORCAへの送信が終わっていないため、削除を待っています")
        prescription.orca_billing_status = "deleted"  # never reached ORCA: nothing to delete
        return {"deleted": None}
    clinic = session.get(Clinic, message.clinic_id)
    client = orca_client_for(clinic)
    patient = session.get(Patient, prescription.patient_id)
    if client is None or patient is None:
        raise DeliveryError("ORCAの接続先が設定されていません")
    # ORCA finds the data by 診療日 + 患者 + 診療科 + Medical_Uid: the 診療科 it was sent under.
    sent = (send.response or {}) if send is not None else {}
    body = {"InOut": "O", "Patient_ID": patient.orca_patient_id, "Perform_Date": prescription.issued_on.isoformat(),
            "Medical_Uid": prescription.orca_medical_uid,
            "Diagnosis_Information": {"Department_Code": sent.get("department_code", ""),
                                      "Physician_Code": sent.get("physician_code", "")}}
    try:
        client.send_medical_data(body, request_class="02")
    except OrcaError as exc:
        if exc.retryable:
            raise DeliveryError(exc.message_ja) from exc
        if isinstance(exc, OrcaApiError) and exc.code in _OPENED_BY_CLERK:
            exc = OrcaApiError(f"{exc.message_ja}。ORCAで中途データがすでに開かれたか会計済みです。"
                               "ORCAの「21 診療行為」で取り消してください", code=exc.code)
        raise _refused(session, prescription, "delete_failed", exc) from exc
    prescription.orca_billing_status = "deleted"
    record_audit(session, SYSTEM, "prescription.orca_billing_deleted", clinic_id=prescription.clinic_id,
                 entity_type="prescription", entity_id=prescription.id, patient_id=prescription.patient_id,
                 summary={"before": {"medical_uid": prescription.orca_medical_uid}})
    return {"deleted": prescription.orca_medical_uid}


register_handler(SEND, deliver_billing)
register_handler(DELETE, deliver_billing_delete)
