"""A visit's own fees in its 中途データ: the 指導料・管理料 chosen for it, as 剤 of the visit's one data (sent whole by
visit_send with everything else of the visit). Idempotent per visit and revision: each change bumps the bill's
revision and queues one send (a send still waiting carries whatever the visit holds when it is delivered)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import claim_builder, orca_interim, visit_send
from app.billing.models import VisitBill, VisitFee
from app.billing.procedures import procedures_by_code
from app.clinics.models import Clinic
from app.outbox.models import PENDING, OutboxMessage
from app.reception.models import Visit


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
    doses = claim_builder.procedure_doses([(fee.code, master[fee.code].name, master[fee.code].chapter,
                                            master[fee.code].section_no, fee.quantity) for fee in fees])
    for dose in doses:
        dose.record = bill
    return doses


def _of_visit(session: Session, visit: Visit, states: tuple[str, ...]) -> list[VisitBill]:
    bill = visit_send.bill_for(session, visit)
    return [bill] if bill is not None and set(states) & set(orca_interim.CARRIED) else []


def _doses(session: Session, bills: list[Any], _visit: Visit) -> list[claim_builder.Dose]:
    return [dose for bill in bills for dose in fee_doses(session, bill)]


KIND = orca_interim.BilledKind(name="visit_bill", model=VisitBill, label="指導料・管理料",
                               day=lambda bill: bill.visit_date, of_visit=_of_visit, doses=_doses,
                               not_found="受付の算定が見つかりません")


def _pending(session: Session, bill: VisitBill) -> bool:
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.clinic_id == bill.clinic_id, OutboxMessage.kind.in_((KIND.send_kind, KIND.delete_kind)),
        OutboxMessage.subject_id == str(bill.id), OutboxMessage.status == PENDING).limit(1)) is not None


def changed(session: Session, clinic: Clinic, bill: VisitBill | None) -> OutboxMessage | None:
    """The visit's fees changed: a new revision, and the visit's 中途データ queued once (a message still waiting
    sends whatever the visit holds when it is delivered, so no second one is queued)."""
    if bill is None:
        return None
    bill.revision += 1
    if not orca_interim.is_available(clinic) or _pending(session, bill):
        return None
    return orca_interim.queue_send(session, clinic, KIND, bill)


def waiting_reason(session: Session, bill: VisitBill) -> str:
    """Why a queued send has not landed yet, or ""."""
    return orca_interim.waiting_reason(session, KIND, bill)


visit_send.register(KIND)
