"""Lab order rules: read the picked items and sets, group the tests into containers (one specimen number each),
record the order and queue its OML^O33 for the lab through the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.clinics.services import get_staff
from app.core.audit import Actor, record_audit
from app.core.dates import future_date_error
from app.core.jp import WarekiError, parse_date, strip_control_chars
from app.core.timeutil import japan_today
from app.db import scoped, utcnow
from app.labs.billing import queue_billing, queue_billing_delete
from app.labs.models import LabItem, LabOrder, LabSet, LabSpecimen
from app.labs.oml import OrderMessageError
from app.labs.order_states import is_cancellable
from app.labs.sending import queue_cancellation, queue_order

MAX_ITEMS = 60


class LabOrderError(ValueError):
    """An order that cannot be saved; `errors` maps form fields to Japanese messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class OrderInput:
    """What the order form posted."""

    lab_codes: list[str] = field(default_factory=list)
    set_codes: list[str] = field(default_factory=list)
    ordered_on: str = ""
    comment: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> OrderInput:
        """Read the posted fields (item and set codes repeat)."""
        getlist = form.getlist  # type: ignore[attr-defined]
        return cls(lab_codes=[c.strip()[:16] for c in getlist("lab_code") if c.strip()],
                   set_codes=[c.strip()[:16] for c in getlist("set_code") if c.strip()],
                   ordered_on=(form.get("ordered_on") or "").strip()[:20],
                   comment=strip_control_chars(form.get("comment") or "").strip())


def resolve_items(session: Session, data: OrderInput, errors: dict[str, str]) -> list[LabItem]:
    """The master items of the picked sets and items, each once, in the order picked."""
    codes: list[str] = []
    for set_code in data.set_codes:
        lab_set = session.get(LabSet, set_code)
        if lab_set is None:
            errors["items"] = f"セット「{set_code}」は検査項目マスターにありません"
            continue
        codes.extend(lab_set.lab_codes)
    codes.extend(data.lab_codes)
    items: list[LabItem] = []
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            continue
        seen.add(code)
        item = session.get(LabItem, code)
        if item is None or not item.is_active:
            errors["items"] = f"検査項目「{code}」は検査項目マスターにありません"
            continue
        items.append(item)
    if not items and "items" not in errors:
        errors["items"] = "検査項目かセットを1つ以上選んでください"
    if len(items) > MAX_ITEMS:
        errors["items"] = f"1回の依頼は{MAX_ITEMS}項目までです"
    return items


def group_by_container(items: list[LabItem]) -> list[tuple[tuple[str, str, str], list[LabItem]]]:
    """Tests that share specimen and container go into one tube, in the order they first appear."""
    groups: dict[tuple[str, str, str], list[LabItem]] = {}
    for item in items:
        groups.setdefault((item.specimen_code, item.specimen, item.container), []).append(item)
    return list(groups.items())


@dataclass(frozen=True)
class Tube:
    """One tube a set fills: its specimen and container and the tests that go into it."""

    specimen: str
    container: str
    tests: list[str]


def set_tubes(session: Session, sets: list[LabSet]) -> dict[str, list[Tube]]:
    """For each set, the tubes its tests fill (grouped as an order groups them), so that the order form shows what
    a set holds as soon as it is listed or chosen. One query for all the sets."""
    items = {i.lab_code: i for i in items_for_codes(session, sorted({c for s in sets for c in s.lab_codes}))}
    return {s.code: [Tube(specimen, container, [i.short_name or i.name for i in group])
                     for (_, specimen, container), group in
                     group_by_container([items[c] for c in s.lab_codes if c in items])] for s in sets}


def specimen_number(order_id: int, seq: int) -> str:
    """検体番号: order id (7 digits) and container number (2 digits) with a mod-10 (Luhn) check digit, so that a
    mistyped or misread number is caught. Digits only: both NW-7 (Codabar) and Code128 carry it."""
    body = f"{order_id:07d}{seq:02d}"
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def create_order(session: Session, clinic: Any, actor: Actor, patient: Any, data: OrderInput) -> LabOrder:
    """Record an order with its specimens and queue it for the lab (LabOrderError when the input is wrong)."""
    errors: dict[str, str] = {}
    items = resolve_items(session, data, errors)
    ordered_on = japan_today()
    if data.ordered_on:
        try:
            ordered_on = parse_date(data.ordered_on)
        except WarekiError as exc:
            errors["ordered_on"] = f"採取日: {exc}"
        else:
            if ordered_on < japan_today():
                errors["ordered_on"] = "採取日に過去の日付は指定できません"
            elif too_far := future_date_error(ordered_on, "lab_collection", "採取日"):
                errors["ordered_on"] = too_far
    if len(data.comment) > 200:
        errors["comment"] = "コメントは200文字までです"
    if errors:
        raise LabOrderError(errors)
    staff = get_staff(session, clinic.id, actor.user_id) if actor.user_id else None
    order = LabOrder(clinic_id=clinic.id, patient_id=patient.id, order_number="", ordered_on=ordered_on,
                     ordered_by_id=actor.user_id, ordered_by_name=staff.display_name if staff else "",
                     comment=data.comment, status="queued")
    session.add(order)
    session.flush()
    order.order_number = f"L{order.id:09d}"
    for seq, ((specimen_code, specimen, container), members) in enumerate(group_by_container(items), start=1):
        order.specimens.append(LabSpecimen(
            clinic_id=clinic.id, patient_id=patient.id, seq=seq, specimen_number=specimen_number(order.id, seq),
            specimen=specimen, specimen_code=specimen_code, container=container,
            items=[{"lab_code": i.lab_code, "jlac10": i.jlac10, "name": i.name, "short_name": i.short_name,
                    "receipt_code": i.receipt_code} for i in members]))
    session.flush()
    record_audit(session, actor, "lab.order", clinic_id=clinic.id, entity_type="lab_order", entity_id=order.id,
                 patient_id=patient.id, summary={"after": {"order_number": order.order_number,
                                                           "items": [i.lab_code for i in items],
                                                           "ordered_on": ordered_on.isoformat()}})
    _queued(lambda: queue_order(session, clinic, order, patient))
    queue_billing(session, clinic, order)
    return order


def cancel_order(session: Session, clinic: Any, actor: Actor, order: LabOrder, reason: str) -> LabOrder:
    """Cancel an order before any result has come (the row stays, marked); the lab is told to cancel it when it
    had the order, and its 中途データ is deleted from ORCA. LabOrderError when it cannot be cancelled."""
    reason = strip_control_chars(reason or "").strip()
    if not is_cancellable(order):
        raise LabOrderError({"cancel": "結果が届いている依頼、または取り消し済みの依頼は取り消せません"})
    if not reason:
        raise LabOrderError({"cancel": "取り消しの理由を入力してください"})
    if len(reason) > 200:
        raise LabOrderError({"cancel": "取り消しの理由は200文字までです"})
    before = order.status
    order.status, order.cancelled_at, order.cancel_reason = "cancelled", utcnow(), reason
    record_audit(session, actor, "lab.order_cancelled", clinic_id=clinic.id, entity_type="lab_order",
                 entity_id=order.id, patient_id=order.patient_id,
                 summary={"before": {"status": before}, "after": {"status": "cancelled", "reason": reason}})
    _queued(lambda: queue_cancellation(session, clinic, order, before))
    queue_billing_delete(session, clinic, order)
    return order


def _queued(queue_message: Callable[[], object]) -> None:
    """Queue a message to the lab; what the lab's message cannot carry refuses the order (LabOrderError)."""
    try:
        queue_message()
    except OrderMessageError as exc:
        raise LabOrderError({"items": str(exc)}) from exc


def list_orders(session: Session, clinic_id: int, patient_id: int, limit: int = 50) -> list[LabOrder]:
    """A patient's orders, newest first, with their specimens."""
    return list(session.scalars(_ORDERS, {"clinic_id": clinic_id, "patient_id": patient_id, "limit": limit}))


#: Built once: the lab table lists the orders on every view.
_ORDERS = (select(LabOrder).where(LabOrder.clinic_id == bindparam("clinic_id"),
                                  LabOrder.patient_id == bindparam("patient_id"))
           .options(selectinload(LabOrder.specimens)).order_by(LabOrder.id.desc()).limit(bindparam("limit")))


def get_order(session: Session, clinic_id: int, patient_id: int, order_id: int) -> LabOrder | None:
    """One order of this clinic's patient with its specimens, in one query (None for another clinic's or another
    patient's)."""
    return session.scalars(scoped(LabOrder, clinic_id).where(LabOrder.id == order_id, LabOrder.patient_id == patient_id)
                           .options(joinedload(LabOrder.specimens))).unique().first()


def find_specimen(session: Session, clinic_id: int, number: str) -> LabSpecimen | None:
    """The specimen with this number in this clinic."""
    return session.scalar(scoped(LabSpecimen, clinic_id).where(LabSpecimen.specimen_number == number))


def default_ordered_on() -> date:
    """Today in Japan: the usual 採取日."""
    return japan_today()


def items_for_codes(session: Session, codes: list[str]) -> list[LabItem]:
    """Master items by code, in the given order (unknown codes skipped)."""
    found = {i.lab_code: i for i in session.scalars(select(LabItem).where(LabItem.lab_code.in_(codes)))}
    return [found[c] for c in codes if c in found]
