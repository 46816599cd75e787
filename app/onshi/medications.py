"""Other institutions' and pharmacies' medicines from the stored オンライン資格確認 medication history, for the
prescription check (duplicates, 併用注意 and the check master's 併用禁忌 look at them as at the 6 information's):
each named with the institution or pharmacy, the source and the date. Read from the last reply kept — the check
never waits for the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.integrations.onshi.reading import RECEIPT_DRUG, SOURCE_LABELS
from app.onshi.consent import is_valid, latest_consents
from app.onshi.fetching import gateway_settings, latest_received
from app.onshi.models import MEDICATION
from app.prescriptions.models import Drug
from app.prescriptions.services import CurrentMedicine

#: A dispensing this recent is taken as possibly still being taken (the longest usual supply, 90日分), as for the
#: 6 information's prescriptions; one whose days reach today is too.
RECENT_DAYS = 90
#: The same dispensing reaches us from several roots; the receipt is the settled one (docs/standards/onshi.md §5).
PREFERENCE = ("receipt", "dispensed", "eprescription")


@dataclass
class HistoryMedicines:
    """Medicines from the history, or why none were compared (problem, in Japanese)."""

    medicines: list[CurrentMedicine] = field(default_factory=list)
    problem: str | None = None


def _taking(item: dict[str, Any], today: date) -> bool:
    day = date.fromisoformat(item["day"])
    days = int(item["times"]) if str(item.get("times", "")).isdigit() else 0
    return day <= today and (day >= today - timedelta(days=RECENT_DAYS) or day + timedelta(days=days) >= today)


def history_medicines(session: Session, clinic: Any, patient: Any, today: date) -> HistoryMedicines:
    """Other institutions' dispensings still possibly being taken, from the last medication reply read whole."""
    if not gateway_settings(clinic):
        return HistoryMedicines()
    fetch = latest_received(session, clinic.id, patient.id, MEDICATION)
    if fetch is None or not fetch.content:
        if is_valid(latest_consents(session, clinic.id, patient.id).get("drug")):
            return HistoryMedicines(problem="薬剤情報（オンライン資格確認）をまだ取得していないため、他院・薬局の"
                                    "処方・調剤とは照合していません")
        return HistoryMedicines()
    # The latest of each drug from each prescriber (a monthly repeat is one medicine), the settled source first.
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in fetch.content.get("dispensings", []):
        if item.get("own") or not _taking(item, today):
            continue
        key = (item["prescriber_code"] or item["institution_code"], item["drug_code"])
        known = chosen.get(key)
        if known is None or (item["day"], -PREFERENCE.index(item["source"])) > (
                known["day"], -PREFERENCE.index(known["source"])):
            chosen[key] = item
    receipt_codes = {i["drug_code"] for i in chosen.values() if RECEIPT_DRUG.match(i["drug_code"])}
    drugs = {d.receipt_code: d for d in session.scalars(select(Drug).where(Drug.receipt_code.in_(receipt_codes)))}
    medicines = []
    for item in sorted(chosen.values(), key=lambda i: i["day"], reverse=True):
        drug = drugs.get(item["drug_code"])
        yj = drug.yj_code if drug else (item["drug_code"] if len(item["drug_code"]) == 12 else "")
        where = item["institution_name"] or f"医療機関コード {item['institution_code']}"
        if item["prescriber_name"] and item["prescriber_code"] != item["institution_code"]:
            where += f"（処方 {item['prescriber_name']}）"
        day = date.fromisoformat(item["day"])
        medicines.append(CurrentMedicine(drug.receipt_code if drug else "", item["drug_name"], yj,
                                         drug.generic_code if drug else "", day, day,
                                         f"他院 {SOURCE_LABELS.get(item['source'], '')} {where}"))
    return HistoryMedicines(medicines)
