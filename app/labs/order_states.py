"""An order's state and what changes it: queued when recorded, accepted or rejected by the lab's acknowledgement,
partial then complete as results arrive, cancelled by staff before any result. The labels staff see are
app.labs.models.ORDER_STATES."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.labs.models import LabOrder, LabResult, LabSpecimen

#: States in which an order may still be cancelled: no result has arrived.
CANCELLABLE = ("queued", "sent", "accepted", "rejected")
#: Result states that count as reported (final, corrected) when an order's state is worked out.
REPORTED = ("F", "C")


def is_cancellable(order: LabOrder) -> bool:
    """Whether staff may still cancel the order."""
    return order.status in CANCELLABLE


def mark_accepted(order: LabOrder, text: str) -> None:
    """The lab acknowledged the order (AA): accepted, unless results have already moved it on or it was cancelled."""
    if order.status in ("queued", "sent", "rejected"):
        order.status = "accepted"
    order.status_detail = text[:500]


def mark_rejected(order: LabOrder, detail: str) -> None:
    """The lab refused the order for good, with its reason."""
    order.status, order.status_detail = "rejected", detail[:500]


def update_after_results(session: Session, clinic_id: int, order_ids: set[int]) -> None:
    """Set orders that just received results to complete (every test of every specimen has a current final or
    corrected result) or partial. A cancelled order stays cancelled: results the lab had already measured when the
    cancellation crossed them are kept and shown, but the order, its ORCA billing and the lab were told it is off."""
    if not order_ids:
        return
    specimens = session.execute(select(LabSpecimen.order_id, LabSpecimen.specimen_number, LabSpecimen.items).where(
        LabSpecimen.clinic_id == clinic_id, LabSpecimen.order_id.in_(order_ids))).all()
    reported = set(session.execute(select(LabResult.specimen_number, LabResult.lab_code).where(
        LabResult.clinic_id == clinic_id, LabResult.superseded_at.is_(None),
        LabResult.specimen_number.in_({number for _order, number, _items in specimens}),
        LabResult.result_status.in_(REPORTED))).tuples())
    incomplete = {order_id for order_id, number, items in specimens
                  if any((number, item["lab_code"]) not in reported for item in items)}
    for status, ids in (("complete", order_ids - incomplete), ("partial", order_ids & incomplete)):
        if ids:
            session.execute(update(LabOrder).where(LabOrder.clinic_id == clinic_id, LabOrder.id.in_(ids),
                                                   LabOrder.status != "cancelled").values(status=status))
