"""The writing half of the result import (app.labs.importer reads and checks, this writes): the result rows of one
checked message become new results or new versions of the results they report on again, the orders they belong
to get their new state, and the new final results are queued for the sharing service — all in the caller's
transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.labs import order_states
from app.labs.models import LabMessage, LabResult
from app.labs.result_reading import ResultRow
from app.patients.models import Patient
from app.sharing.registration import queue_lab_results

CHANGE_REASONS = {"C": "検査会社からの訂正報告", "D": "検査会社による結果の削除", "F": "最終報告"}

#: What a new report is compared with to tell whether it changes the current result.
_COMPARED = ("value", "result_status", "flag", "comment")


def write_results(session: Session, stored: LabMessage, patient: Patient, rows: list[ResultRow],
                  now: datetime) -> int:
    """Write a message's results: a result reported for the first time is a new lineage, a different report on a
    current result is its next version (the current one is superseded), the same report again adds nothing.
    Returns how many results were written."""
    current = _current_results(session, stored.clinic_id, {row["specimen_number"] for row in rows})
    inserts, superseded = [], []
    for row in rows:
        old = current.get((row["specimen_number"], row["lab_code"], row["sub_id"]))
        if old is not None:
            if all(getattr(old, name) == row[name] for name in _COMPARED):
                continue  # the same result reported again (a cumulative report): nothing new
            row.update(version=old.version + 1, lineage_id=old.lineage_id or old.id,
                       change_reason=CHANGE_REASONS.get(row["result_status"], "再報告"))
            superseded.append(old.id)
        inserts.append({**row, "clinic_id": stored.clinic_id, "patient_id": patient.id, "message_id": stored.id,
                        "recorded_at": now})
    if superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(superseded)).values(superseded_at=now))
    new_ids: list[int] = []
    if inserts:
        new_ids = list(session.scalars(insert(LabResult).returning(LabResult.id, sort_by_parameter_order=True),
                                       inserts))
        # A first report is its own lineage: its id is known only once it is inserted.
        first = [new_id for new_id, row in zip(new_ids, inserts, strict=True) if row["lineage_id"] is None]
        if first:
            session.execute(update(LabResult).where(LabResult.id.in_(first)).values(lineage_id=LabResult.id)
                            .execution_options(synchronize_session=False))  # the new rows are not in the session
    order_states.update_after_results(session, stored.clinic_id, {row["order_id"] for row in rows if row["order_id"]})
    if new_ids:
        queue_lab_results(session, stored.clinic_id, new_ids, superseded)
    return len(new_ids)


def _current_results(session: Session, clinic_id: int, numbers: set[str]) -> dict[tuple[str, str, str], LabResult]:
    """The current result of each (specimen, item, sub-ID) of these specimens."""
    results = session.scalars(select(LabResult).where(LabResult.clinic_id == clinic_id,
                                                      LabResult.superseded_at.is_(None),
                                                      LabResult.specimen_number.in_(numbers)))
    return {(r.specimen_number, r.lab_code, r.sub_id): r for r in results}
