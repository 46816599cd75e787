"""Billing an issued prescription in ORCA: its drugs go to ORCA as 中途データ (medicalmodv2, orca.md §4a) through
the outbox, for the clerk to open in 「21 診療行為」 and finish at 会計. A cancelled prescription's 中途データ is
deleted the same way while the clerk has not opened it. The sending, waiting and deleting are shared with lab
orders (app/billing/orca_interim.py); this module says what a prescription bills.

Kamikarte issues only 院外処方箋, so each Rp is sent with the 院外 診療種別区分 (212 内服 / 222 頓服 / 232 外用,
orca.md §4d) whatever the clinic's default 院内/院外 setting; ORCA then counts 処方箋料 and its 加算 itself when
the clerk opens the data. The drugs are sent with their 9-digit レセ電 code (入力コード are refused by the API) and
the 一般名 flag of each line.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.billing import claim_builder, orca_interim
from app.billing.orca_interim import STATUS_LABELS  # noqa: F401 (the prescription page shows them)
from app.clinics.models import Clinic
from app.outbox.models import OutboxMessage
from app.prescriptions.models import Prescription


def build_medical_information(prescription: Prescription) -> list[dict[str, Any]]:
    """The Medical_Information array of the prescription: one 剤 per Rp, built by the one 中途データ builder."""
    doses = []
    for rp in prescription.rps:
        medical_class, class_name = claim_builder.PRESCRIPTION_CLASSES[rp.form]
        # 回数・日数: days for 内服, times for 頓服; a 外用 剤 is counted once (its lines carry the total).
        doses.append(claim_builder.Dose(medical_class, class_name, rp.quantity if rp.form in (1, 2) else 1, [
            claim_builder.Line(line.drug_receipt_code, line.drug_name, f"{line.dose:g}", line.by_generic_name)
            for line in rp.lines]))
    return claim_builder.medical_information(doses)


KIND = orca_interim.BilledKind(
    name="prescription", model=Prescription, day=lambda prescription: prescription.issued_on,
    medical_information=lambda _session, prescription: build_medical_information(prescription),
    not_found="処方箋が見つかりません")
SEND, DELETE = KIND.send_kind, KIND.delete_kind


def queue_billing(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the prescription's 中途データ for ORCA in the caller's transaction (None when ORCA is not set up)."""
    return orca_interim.queue_send(session, clinic, KIND, prescription)


def queue_billing_delete(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the deletion of a cancelled prescription's 中途データ (None when nothing was or will be sent)."""
    return orca_interim.queue_delete(session, clinic, KIND, prescription)


def waiting_reason(session: Session, prescription: Prescription) -> str:
    """Why a queued send or delete has not landed yet (the last failed attempt's message), or ""."""
    return orca_interim.waiting_reason(session, KIND, prescription)


orca_interim.register(KIND)
