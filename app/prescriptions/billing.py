"""Billing an issued prescription in ORCA: its Rp and 処方箋料 ride in the visit's one 中途データ (medicalmodv2,
orca.md §4a), sent through the outbox for the clerk to open in 「21 診療行為」 and finish at 会計. Issuing queues the
visit's send; cancelling queues it again without the prescription (a change, or a delete when nothing is left),
while the clerk has not opened it. The visit's sending is app/billing/visit_send.py; what a prescription bills
(drugs by 9-digit レセ電 code and 一般名 flag, 処方箋料 and its 加算) is app/billing/rx_lines.py.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.billing import orca_interim, rx_lines, visit_send
from app.billing.orca_interim import STATUS_LABELS  # noqa: F401 (the prescription page shows them)
from app.clinics.models import Clinic
from app.outbox.models import OutboxMessage
from app.prescriptions.models import Prescription

KIND = orca_interim.BilledKind(
    name="prescription", model=Prescription, label="処方", day=lambda prescription: prescription.issued_on,
    of_visit=rx_lines.of_visit, doses=rx_lines.doses, not_found="処方箋が見つかりません")
SEND, DELETE = KIND.send_kind, KIND.delete_kind


def queue_billing(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the visit's 中途データ with the prescription in the caller's transaction (None when ORCA is not set
    up)."""
    return orca_interim.queue_send(session, clinic, KIND, prescription)


def queue_billing_delete(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the visit's 中途データ without a cancelled prescription (None when nothing was or will be sent)."""
    return orca_interim.queue_delete(session, clinic, KIND, prescription)


def waiting_reason(session: Session, prescription: Prescription) -> str:
    """Why a queued send or delete has not landed yet (the last failed attempt's message), or ""."""
    return orca_interim.waiting_reason(session, KIND, prescription)


visit_send.register(KIND)
