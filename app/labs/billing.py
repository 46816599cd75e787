"""Billing a lab order in ORCA: its tests ride in the visit's one 中途データ (medicalmodv2, 診療種別区分 600 検査,
orca.md §4a and §4d) for the order's day, through the outbox, like a prescription (app/billing/visit_send.py sends
the visit whole, waits for the day's reception and sends it again without an order that is cancelled).

What is billed comes from the item master's レセ電算 codes as they were when the order was placed (kept on each
specimen's items): each distinct test code once (the four 血算 items are one 末梢血液一般検査); the 判断料 of each
group of tests (点数表 D026, once a month); 採血料 B-V (D400 静脈) once a day when blood is taken. A test without
a code is never dropped silently: the order page lists it as 請求コード未設定. ORCA computes the points, and the
包括 of D007 items, when the clerk opens the data. Codes and their 区分番号: data/lab_procedures.csv (SOURCES.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import claim_builder, orca_interim, visit_send
from app.billing.orca_interim import STATUS_LABELS  # noqa: F401 (the order page shows them)
from app.clinics.models import Clinic
from app.labs.masters import DATA
from app.labs.models import LabOrder
from app.outbox.models import OutboxMessage
from app.reception.models import Visit

MEDICAL_CLASS, MEDICAL_CLASS_NAME = "600", "検査"
#: 判断料 by the 区分番号 of the test (点数表 D026 検体検査判断料: which sections each one covers).
JUDGEMENT_FEES = ((0, 4, "160061710"),     # 尿・糞便等検査判断料 D000–D004-2
                  (5, 6, "160061810"),     # 血液学的検査判断料 D005–D006
                  (7, 7, "160061910"),     # 生化学的検査（１）判断料 D007
                  (8, 10, "160062010"),    # 生化学的検査（２）判断料 D008–D010
                  (11, 16, "160062110"),   # 免疫学的検査判断料 D011–D016
                  (17, 25, "160062210"))   # 微生物学的検査判断料 D017–D025
#: 採血料: 血液採取（静脈）(D400 1), and the JLAC10 material codes of blood (全血(添加物入り), 血漿, 血清).
VENOUS_BLOOD_DRAW = "160095710"
BLOOD_SPECIMENS = {"019", "022", "023"}
#: The billing states a later order counts as "already billed" (its 判断料 or 採血料 is then not sent again).
_BILLED = ("sending", "sent")


@cache
def procedures() -> dict[str, dict[str, str]]:
    """The procedure rows the lab billing knows (code → name, points, 区分番号)."""
    with (DATA / "lab_procedures.csv").open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def _judgement_fee(code: str) -> str | None:
    row = procedures().get(code)
    if row is None or row["chapter"] != "D":
        return None
    section = int(row["section_no"])
    return next((fee for low, high, fee in JUDGEMENT_FEES if low <= section <= high), None)


@dataclass
class BillingPlan:
    """What an order bills: test lines, fee lines (判断料, 採血料) and the tests that have no code."""

    tests: list[tuple[str, str]] = field(default_factory=list)
    fees: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: 判断料 or 採血料 left out because another order already bills it (the month's, the day's).
    already_billed: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing to send."""
        return not self.tests


def _order_codes(order: LabOrder) -> tuple[list[tuple[str, str]], list[str]]:
    """(code, name) of each distinct billed test, in order, and the names of the tests without a code."""
    seen: dict[str, str] = {}
    missing = []
    for specimen in order.specimens:
        for item in specimen.items:
            code = item.get("receipt_code") or ""
            if not code:
                missing.append(item["name"])
            elif code not in seen:
                seen[code] = procedures().get(code, {}).get("name") or item["name"]
    return list(seen.items()), missing


def _fees_of(order: LabOrder, codes: list[str]) -> set[str]:
    fees = {fee for code in codes if (fee := _judgement_fee(code))}
    if any(s.specimen_code in BLOOD_SPECIMENS for s in order.specimens) and codes:
        fees.add(VENOUS_BLOOD_DRAW)
    return fees


def _billed_elsewhere(session: Session, order: LabOrder) -> set[str]:
    """判断料 of the month and 採血料 of the day that the patient's other orders already bill."""
    month_start = order.ordered_on.replace(day=1)
    next_month = date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    others = session.scalars(select(LabOrder).where(
        # Only earlier orders: of two orders waiting together, the first bills the fee and the second does not.
        LabOrder.clinic_id == order.clinic_id, LabOrder.patient_id == order.patient_id, LabOrder.id < order.id,
        LabOrder.ordered_on >= month_start, LabOrder.ordered_on < next_month,
        LabOrder.orca_billing_status.in_(_BILLED)))
    billed: set[str] = set()
    for other in others:
        codes = [code for code, _ in _order_codes(other)[0]]
        fees = _fees_of(other, codes)
        if other.ordered_on != order.ordered_on:
            fees.discard(VENOUS_BLOOD_DRAW)  # 採血料 is per day
        billed |= fees
    return billed


def plan(session: Session, order: LabOrder) -> BillingPlan:
    """What the order bills now (the 判断料 and 採血料 not already billed by the patient's other orders)."""
    tests, missing = _order_codes(order)
    result = BillingPlan(tests=tests, missing=missing)
    fees = _fees_of(order, [code for code, _ in tests])
    elsewhere = _billed_elsewhere(session, order) if fees else set()
    for code in sorted(fees):
        name = procedures()[code]["name"]
        if code in elsewhere:
            result.already_billed.append(name)
        else:
            result.fees.append((code, name))
    return result


def of_visit(session: Session, visit: Visit, states: tuple[str, ...]) -> list[LabOrder]:
    """The patient's orders of the visit's day in the billing states asked."""
    return list(session.scalars(select(LabOrder).where(
        LabOrder.clinic_id == visit.clinic_id, LabOrder.patient_id == visit.patient_id,
        LabOrder.ordered_on == visit.visit_date, LabOrder.orca_billing_status.in_(states)).order_by(LabOrder.id)))


def doses(session: Session, orders: list[LabOrder], _visit: Visit) -> list[claim_builder.Dose]:
    """The 剤 of the day's orders: each order's tests in one 検査 剤 (40 lines each), then the 判断料 and 採血料 —
    each fee once for the visit, on the first order that bills it."""
    tests: list[claim_builder.Dose] = []
    fees: list[claim_builder.Dose] = []
    seen: set[str] = set()
    for order in orders:
        billing = plan(session, order)
        if billing.tests:
            tests.append(claim_builder.Dose(MEDICAL_CLASS, MEDICAL_CLASS_NAME, 1, [
                claim_builder.Line(code, name) for code, name in billing.tests], record=order))
        own = [(code, name) for code, name in billing.fees if code not in seen]
        seen |= {code for code, _ in own}
        if own:
            fees.append(claim_builder.Dose(MEDICAL_CLASS, MEDICAL_CLASS_NAME, 1, [
                claim_builder.Line(code, name) for code, name in own], record=order))
    return tests + fees


KIND = orca_interim.BilledKind(name="lab_order", model=LabOrder, label="検査", day=lambda order: order.ordered_on,
                               of_visit=of_visit, doses=doses, not_found="検査依頼が見つかりません")
SEND, DELETE = KIND.send_kind, KIND.delete_kind


def queue_billing(session: Session, clinic: Clinic, order: LabOrder) -> OutboxMessage | None:
    """Queue the order's 中途データ in the caller's transaction (None when ORCA is not set up or no test of the
    order has a billing code)."""
    if not orca_interim.is_available(clinic) or plan(session, order).is_empty:
        return None
    return orca_interim.queue_send(session, clinic, KIND, order)


def queue_billing_delete(session: Session, clinic: Clinic, order: LabOrder) -> OutboxMessage | None:
    """Queue the deletion of a cancelled order's 中途データ (None when nothing was or will be sent)."""
    return orca_interim.queue_delete(session, clinic, KIND, order)


def waiting_reason(session: Session, order: LabOrder) -> str:
    """Why a queued send or delete has not landed yet, or ""."""
    return orca_interim.waiting_reason(session, KIND, order)


def is_available(clinic: Clinic) -> bool:
    """Whether the clinic bills through ORCA (the order page shows the billing state only then)."""
    return orca_interim.is_available(clinic)


visit_send.register(KIND)
