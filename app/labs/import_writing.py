"""The writing half of the result import (app.labs.importer checks, this writes): one group of checked messages
goes into the database in ONE transaction — results, superseded versions, message states, order states, the
sharing queue, one audit entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.audit import SYSTEM, record_audit
from app.db import bulk_insert, reserve_ids, utcnow
from app.labs.hl7 import Message
from app.labs.import_batch import Batch
from app.labs.models import LabMessage, LabResult
from app.labs.result_reading import ImportRefused, ResultRow
from app.labs.services import set_order_states
from app.patients.models import Patient


@dataclass
class ImportOutcome:
    """What became of one incoming message."""

    ok: bool
    status: str
    message_id: int | None
    error: str
    ack: bytes
    results: int = 0
    duplicate: bool = False


@dataclass
class PendingMessage:
    """One message on its way through an import."""

    index: int
    data: bytes
    filename: str
    message_id: int | None = None
    message: Message | None = None
    kind: str = ""
    control_key: str = ""
    outcome: ImportOutcome | None = None
    patient: Patient | None = None
    rows: list[ResultRow] = field(default_factory=list)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    error: ImportRefused | None = None

    @property
    def to_import(self) -> bool:
        """Checked, not refused and not a duplicate: its results go in."""
        return self.error is None and self.outcome is None


def write_group(session: Session, batch: Batch, group: list[PendingMessage], source: str) -> list[PendingMessage]:
    """Write a group of checked messages in ONE transaction and commit; the messages imported. Each message is
    wholly in or (refused) wholly out; on a database error the transaction is rolled back and the error raised."""
    try:
        return _write_group(session, batch, group, source)
    except SQLAlchemyError:
        session.rollback()
        raise


def _write_group(session: Session, batch: Batch, group: list[PendingMessage], source: str) -> list[PendingMessage]:
    now = utcnow()
    clinic_id = batch.clinic_id
    done = [p for p in group if p.to_import]
    inserts = [row for p in done for row in p.inserts]
    superseded = [old for p in done for old in p.superseded]
    write_states(session, group, now)
    if superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(superseded)).values(superseded_at=now))
    if inserts:
        # Ids known before the INSERT: a first report is its own lineage without an UPDATE of every new row.
        for row, new_id in zip(inserts, reserve_ids(session, LabResult.__table__, len(inserts)), strict=True):
            row["id"] = new_id
            if row["lineage_id"] is None:
                row["lineage_id"] = new_id
        bulk_insert(session, LabResult.__table__, inserts)
    # The order states follow from what the batch holds and what is written now (no reading back of the results).
    set_order_states(session, clinic_id, batch.order_states(
        {row.values["order_id"] for p in done for row in p.rows if row.values["order_id"]}, inserts))
    if inserts:
        # The sharing side reads lab results, so it is imported here (a module-level import would be circular).
        from app.sharing.registration import queue_lab_results

        queue_lab_results(session, clinic_id, [row["id"] for row in inserts], superseded)
    if done:
        patients = sorted({p.patient.id for p in done})  # type: ignore[union-attr]
        record_audit(session, SYSTEM, "lab.results_imported", clinic_id=clinic_id, entity_type="lab_message",
                     entity_id=done[0].message_id if len(done) == 1 else None,
                     patient_id=patients[0] if len(patients) == 1 else None,
                     summary={"after": {"messages": [p.message_id for p in done], "patients": patients,
                                        "results": len(inserts), "source": source}})
    session.commit()
    return done


def write_states(session: Session, group: list[PendingMessage], now: datetime) -> None:
    """Each message's new state: imported, duplicate or failed with the reason (one executemany)."""
    states = []
    for p in group:
        message = p.message
        state = {"b_id": p.message_id, "codec": message.codec if message else "",
                 "message_type": message.message_type[:20] if message else "", "control_key": p.control_key,
                 "patient_id": None, "result_count": 0, "imported_at": None}
        if p.error is not None:
            state.update(status="failed", error=str(p.error)[:2000])
        elif p.outcome is not None:  # a duplicate of a message imported before
            state.update(status="duplicate", error=p.outcome.error)
        else:
            state.update(status="imported", error="", patient_id=p.patient.id if p.patient else None,
                         result_count=len(p.inserts), imported_at=now)
        states.append(state)
    if states:
        table = LabMessage.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id")), states)
