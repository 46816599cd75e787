"""The writing half of the result import (app.labs.importer reads and checks, this writes): the result rows of one
checked message become new results or new versions of the results they report on again, and whoever listens (the
sharing service queues the new final results) hears of them — all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.labs.models import LabMessage, LabResult
from app.labs.result_reading import ResultRow
from app.patients.models import Patient

CHANGE_REASONS = {"C": "検査会社からの訂正報告", "D": "検査会社による結果の削除", "F": "最終報告"}

#: What a new report is compared with to tell whether it changes the current result.
_COMPARED = ("value", "result_status", "flag", "comment")

#: Called as listener(session, clinic_id, new result ids, superseded result ids) once a message's results are
#: written, in the import's transaction. The sharing service registers its queue (app.sharing.registration): it
#: reads lab results, so labs cannot depend on it.
ResultsListener = Callable[[Session, int, list[int], list[int]], None]
_LISTENERS: list[ResultsListener] = []


def on_results_written(listener: ResultsListener) -> None:
    """Have `listener` told of every message's new and superseded results (once, however often registered)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def write_results(session: Session, stored: LabMessage, patient: Patient, rows: list[ResultRow],
                  now: datetime) -> None:
    """Write a message's results and mark it imported: a result reported for the first time is a new lineage, a
    different report on a current result is its next version (the current one is superseded), the same report
    again adds nothing. The caller works out the states of the orders (app.labs.order_states)."""
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
    # The message is the patient's before its results are (they refer to both).
    stored.status, stored.error, stored.patient_id = "imported", "", patient.id
    stored.result_count, stored.imported_at = len(inserts), now
    session.flush()
    if superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(superseded)).values(superseded_at=now))
    if not inserts:
        return
    table = LabResult.__table__
    new_ids = list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), inserts))
    # A first report is its own lineage: its id is known only once it is inserted.
    first = [new_id for new_id, row in zip(new_ids, inserts, strict=True) if row["lineage_id"] is None]
    if first:
        session.execute(update(LabResult).where(LabResult.id.in_(first)).values(lineage_id=LabResult.id)
                        .execution_options(synchronize_session=False))  # the new rows are not in the session
    for listener in _LISTENERS:
        listener(session, stored.clinic_id, new_ids, superseded)


def _current_results(session: Session, clinic_id: int, numbers: set[str]) -> dict[tuple[str, str, str], Any]:
    """The current result of each (specimen, item, sub-ID) of these specimens: its id, version, lineage and what a
    new report is compared with."""
    results = session.execute(select(LabResult.specimen_number, LabResult.lab_code, LabResult.sub_id, LabResult.id,
                                     LabResult.version, LabResult.lineage_id,
                                     *(getattr(LabResult, name) for name in _COMPARED))
                              .where(LabResult.clinic_id == clinic_id, LabResult.superseded_at.is_(None),
                                     LabResult.specimen_number.in_(numbers)))
    return {(r.specimen_number, r.lab_code, r.sub_id): r for r in results}
