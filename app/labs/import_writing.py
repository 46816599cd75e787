"""The writing half of the result import (app.labs.importer reads and checks, this writes): the result rows of one
checked message become new results or new versions of the results they report on again, and whoever listens (the
sharing service queues the new final results) hears of them — all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.db import in_chunks
from app.labs.models import LabMessage, LabResult
from app.labs.result_reading import ResultRow
from app.patients.models import Patient

CHANGE_REASONS = {"C": "検査会社からの訂正報告", "D": "検査会社による結果の削除", "F": "最終報告"}

#: What a new report is compared with to tell whether it changes the current result.
_COMPARED = ("value", "result_status", "flag", "comment")

#: Called as listener(session, clinic_id, new result ids, superseded result ids) each time results are written
#: (one message's or many messages' at once), in the import's transaction. The sharing service registers its queue
#: (app.sharing.registration): it reads lab results, so labs cannot depend on it.
ResultsListener = Callable[[Session, int, list[int], list[int]], None]
_LISTENERS: list[ResultsListener] = []


def on_results_written(listener: ResultsListener) -> None:
    """Have `listener` told of every message's new and superseded results (once, however often registered)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


#: A checked message ready to write: the stored message, its patient and its result rows.
Checked = tuple[LabMessage, Patient, list[ResultRow]]


def write_results(session: Session, clinic_id: int, checked: list[Checked], now: datetime) -> None:
    """Write checked messages' results and mark them imported, as if one after the other: a result reported for the
    first time is a new lineage, a different report on a current result is its next version (the current one is
    superseded), the same report again adds nothing. The rows of many messages go in one INSERT; a message that
    reports again on a result of messages still unwritten waits until they are written (it is compared with them
    and needs their ids). The caller works out the states of the orders (app.labs.order_states)."""
    current = _current_results(session, clinic_id, {row["specimen_number"] for *_, rows in checked for row in rows})
    written: list[LabMessage] = []
    inserts: list[ResultRow] = []
    superseded: list[int] = []
    pending: set[tuple[str, str, str]] = set()
    for stored, patient, rows in checked:
        keys = {_key(row) for row in rows}
        if keys & pending:
            _write(session, clinic_id, written, inserts, superseded, now)
            # The results just written are now the current ones of their specimens.
            current.update(_current_results(session, clinic_id, {number for number, _code, _sub in pending}))
            written, inserts, superseded, pending = [], [], [], set()
        pending |= keys
        written.append(stored)
        count = 0
        for row in rows:
            old = current.get(_key(row))
            if old is not None:
                if all(old[name] == row[name] for name in _COMPARED):
                    continue  # the same result reported again (a cumulative report): nothing new
                row.update(version=old["version"] + 1, lineage_id=old["lineage_id"] or old["id"],
                           change_reason=CHANGE_REASONS.get(row["result_status"], "再報告"))
                superseded.append(old["id"])
            inserts.append({**row, "clinic_id": clinic_id, "patient_id": patient.id, "message_id": stored.id,
                            "recorded_at": now})
            count += 1
        stored.status, stored.error, stored.patient_id = "imported", "", patient.id
        stored.result_count, stored.imported_at = count, now
    _write(session, clinic_id, written, inserts, superseded, now)


def _key(row: ResultRow) -> tuple[str, str, str]:
    return row["specimen_number"], row["lab_code"], row["sub_id"]


def _write(session: Session, clinic_id: int, messages: list[LabMessage], inserts: list[ResultRow],
           superseded: list[int], now: datetime) -> None:
    """Mark the messages imported, insert their rows (one executemany), supersede what the rows replace and tell the
    listeners."""
    # The messages are the patients' before their results are (the results refer to both).
    session.flush()
    if superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(superseded)).values(superseded_at=now))
    if not inserts:
        return
    table = LabResult.__table__
    session.execute(insert(table), inserts)
    # The new rows are the current results of their specimens (read through that index) that carry these messages'
    # ids: a message is imported once, and a refused one has no results.
    new = (table.c.clinic_id == clinic_id, table.c.superseded_at.is_(None),
           table.c.specimen_number.in_({row["specimen_number"] for row in inserts}),
           table.c.message_id.in_([message.id for message in messages]))
    # A first report is its own lineage: its id is known only once it is inserted.
    session.execute(update(table).where(*new, table.c.lineage_id.is_(None)).values(lineage_id=table.c.id))
    new_ids = list(session.scalars(select(table.c.id).where(*new).order_by(table.c.id)))
    tell_results_written(session, clinic_id, new_ids, superseded)


def tell_results_written(session: Session, clinic_id: int, new_ids: list[int], superseded: list[int]) -> None:
    """Tell every listener of results just written (a lab import's, or tests done in the clinic)."""
    for listener in _LISTENERS:
        listener(session, clinic_id, new_ids, superseded)


def _current_results(session: Session, clinic_id: int, numbers: set[str]) -> dict[tuple[str, str, str], Any]:
    """The current result of each (specimen, item, sub-ID) of these specimens: its id, version, lineage and what a
    new report is compared with."""
    found: dict[tuple[str, str, str], Any] = {}
    ordered = sorted(numbers)
    for chunk in in_chunks(ordered):
        results = session.execute(select(LabResult.specimen_number, LabResult.lab_code, LabResult.sub_id,
                                         LabResult.id, LabResult.version, LabResult.lineage_id,
                                         *(getattr(LabResult, name) for name in _COMPARED))
                                  .where(LabResult.clinic_id == clinic_id, LabResult.superseded_at.is_(None),
                                         LabResult.specimen_number.in_(chunk)))
        found.update(((r.specimen_number, r.lab_code, r.sub_id), dict(r._mapping)) for r in results)
    return found
