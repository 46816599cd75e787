"""A visit's own 中途データ: the 指導料・管理料 chosen for it, sent to ORCA through the outbox by the shared sending
(orca_interim) with the one builder (claim_builder). Idempotent per visit and revision: the first send is class 01,
every later change replaces the same data (class 03, never a second copy), removing every fee deletes it (class
02), and a visit ORCA has closed (会計済) is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import claim_builder, orca_interim
from app.billing.models import VisitBill, VisitFee
from app.billing.procedures import procedures_by_code
from app.clinics.models import Clinic
from app.outbox.models import PENDING, OutboxMessage


def _fees(session: Session, bill: VisitBill) -> list[VisitFee]:
    return list(session.scalars(select(VisitFee).where(
        VisitFee.clinic_id == bill.clinic_id, VisitFee.visit_id == bill.visit_id, VisitFee.removed_at.is_(None))
        .order_by(VisitFee.id)))


def fee_doses(session: Session, bill: VisitBill) -> list[claim_builder.Dose]:
    """The visit's fees as 剤, one per 診療種別区分 (外来管理加算 120, 医学管理 130, 在宅 140)."""
    fees = _fees(session, bill)
    master = procedures_by_code(session, {fee.code for fee in fees})
    missing = [fee.name for fee in fees if fee.code not in master]
    if missing:
        raise claim_builder.ClaimError("医科診療行為マスターにないコードがあります: " + "、".join(missing))
    return claim_builder.procedure_doses([(fee.code, master[fee.code].name, master[fee.code].chapter,
                                           master[fee.code].section_no, fee.quantity) for fee in fees])


def build_medical_information(session: Session, bill: VisitBill) -> list[dict[str, Any]]:
    """The Medical_Information of the visit's fees; the revision sent is noted on the bill."""
    bill.sent_revision = bill.revision
    return claim_builder.medical_information(fee_doses(session, bill))


KIND = orca_interim.BilledKind(name="visit_bill", model=VisitBill, day=lambda bill: bill.visit_date,
                               medical_information=build_medical_information, not_found="受付の算定が見つかりません",
                               refuse_paid=True)


def _pending(session: Session, bill: VisitBill) -> bool:
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.clinic_id == bill.clinic_id, OutboxMessage.kind.in_((KIND.send_kind, KIND.delete_kind)),
        OutboxMessage.subject_id == str(bill.id), OutboxMessage.status == PENDING).limit(1)) is not None


def changed(session: Session, clinic: Clinic, bill: VisitBill | None) -> OutboxMessage | None:
    """The visit's fees changed: a new revision, and its 中途データ queued once (a message still waiting sends
    whatever the fees are when it is delivered, so no second one is queued)."""
    if bill is None:
        return None
    bill.revision += 1
    if not orca_interim.is_available(clinic) or _pending(session, bill):
        return None
    if not _fees(session, bill):
        if bill.orca_medical_uid and bill.orca_billing_status == "sent":
            return orca_interim.queue_delete(session, clinic, KIND, bill)
        bill.orca_billing_status = "" if bill.orca_billing_status != "sent" else bill.orca_billing_status
        return None
    if bill.orca_billing_status == "deleted":
        bill.orca_medical_uid = None  # deleted in ORCA: the next send is a new data (class 01)
    return orca_interim.queue_send(session, clinic, KIND, bill)


def waiting_reason(session: Session, bill: VisitBill) -> str:
    """Why a queued send has not landed yet, or ""."""
    return orca_interim.waiting_reason(session, KIND, bill)


orca_interim.register(KIND)
