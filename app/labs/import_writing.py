"""The writing half of the result import (app.labs.importer checks, this writes): one group of checked messages
goes into the database in ONE transaction — results, superseded versions, message states, order states, the
sharing queue, one audit entry. A group is planned first (plan_group: ids and order states from what the import
holds in memory), then written, here or by a BackgroundWriter on a connection and thread of its own."""

from __future__ import annotations

import contextvars
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.audit import SYSTEM, record_audit
from app.db import bulk_insert, bulk_update, reserve_ids, utcnow
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
    #: Builds the HL7 ACK to answer with, when asked for (a file drop of thousands answers nobody).
    answer: Callable[[], bytes]
    results: int = 0
    duplicate: bool = False

    @property
    def ack(self) -> bytes:
        """The HL7 ACK to answer the sender with (AA, AE or AR)."""
        return self.answer()


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


@dataclass
class GroupWrite:
    """A group of checked messages made ready to write. Everything that depends on what the import holds in memory
    (new ids, lineages, order states) is worked out when the group is planned, so that the writing itself may happen
    later, on another connection (BackgroundWriter)."""

    group: list[PendingMessage]
    done: list[PendingMessage]
    inserts: list[dict[str, Any]]
    superseded: list[int]
    order_states: dict[int, str]


def plan_group(session: Session, batch: Batch, group: list[PendingMessage]) -> GroupWrite:
    """Number the group's new results and work out its order states; the batch then counts the new results as the
    current ones (the caller makes it forget them if the group is not written)."""
    done = [p for p in group if p.to_import]
    inserts = [row for p in done for row in p.inserts]
    if inserts:
        # Ids known before the INSERT: a first report is its own lineage without an UPDATE of every new row.
        for row, new_id in zip(inserts, reserve_ids(session, LabResult.__table__, len(inserts)), strict=True):
            row["id"] = new_id
            if row["lineage_id"] is None:
                row["lineage_id"] = new_id
    # The order states follow from what the batch holds and what is written now (no reading back of the results).
    states = batch.order_states({row["order_id"] for p in done for row in p.rows if row["order_id"]}, inserts)
    batch.remember(inserts)
    return GroupWrite(group, done, inserts, [old for p in done for old in p.superseded], states)


def write_group(session: Session, clinic_id: int, plan: GroupWrite, source: str) -> None:
    """Write a planned group in ONE transaction and commit. Each message is wholly in or (refused) wholly out; on a
    database error the transaction is rolled back and the error raised."""
    try:
        _write_group(session, clinic_id, plan, source)
    except SQLAlchemyError:
        session.rollback()
        raise


def _write_group(session: Session, clinic_id: int, plan: GroupWrite, source: str) -> None:
    now = utcnow()
    write_states(session, plan.group, now)
    if plan.superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(plan.superseded)).values(superseded_at=now))
    if plan.inserts:
        bulk_insert(session, LabResult.__table__, plan.inserts)
    set_order_states(session, clinic_id, plan.order_states)
    if plan.inserts:
        # The sharing side reads lab results, so it is imported here (a module-level import would be circular).
        from app.sharing.registration import queue_lab_results

        queue_lab_results(session, clinic_id, [row["id"] for row in plan.inserts], plan.superseded)
    if plan.done:
        patients = sorted({p.patient.id for p in plan.done})  # type: ignore[union-attr]
        record_audit(session, SYSTEM, "lab.results_imported", clinic_id=clinic_id, entity_type="lab_message",
                     entity_id=plan.done[0].message_id if len(plan.done) == 1 else None,
                     patient_id=patients[0] if len(patients) == 1 else None,
                     summary={"after": {"messages": [p.message_id for p in plan.done], "patients": patients,
                                        "results": len(plan.inserts), "source": source}})
    session.commit()


#: How often (seconds) Python hands the GIL to a waiting thread while a BackgroundWriter runs. The writer waits for
#: the database about a dozen times a group and then needs the GIL back while the importer's thread is busy
#: reading; at Python's default (5 ms) each wait can cost that much more (measured: a file drop ~12 % slower).
WRITER_SWITCH_INTERVAL = 0.0005
_switch_lock = threading.Lock()
_writers_running = 0
_default_switch_interval = sys.getswitchinterval()


def _writer_started() -> None:
    global _writers_running, _default_switch_interval  # noqa: PLW0603 - one setting for the whole process
    with _switch_lock:
        if _writers_running == 0:
            _default_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_default_switch_interval, WRITER_SWITCH_INTERVAL))
        _writers_running += 1


def _writer_stopped() -> None:
    global _writers_running  # noqa: PLW0603
    with _switch_lock:
        _writers_running -= 1
        if _writers_running == 0:
            sys.setswitchinterval(_default_switch_interval)


class BackgroundWriter:
    """Writes planned groups in order, on a connection of its own, in a second thread. PostgreSQL's share of an
    import (checking each row's keys, updating the indexes) then runs on another core while this process reads the
    next group, instead of after it. A group the database refuses stops the writer: it and every later group are
    left unwritten (`unwritten`) for the importer to write again without it."""

    def __init__(self, engine: Engine, clinic_id: int, source: str) -> None:
        self._jobs: queue.SimpleQueue[GroupWrite | None] = queue.SimpleQueue()
        self.written: list[GroupWrite] = []
        self.unwritten: list[GroupWrite] = []
        self._error: BaseException | None = None
        # copy_context: the thread sees the caller's app context, as the same code would on the caller's thread.
        self._thread = threading.Thread(target=contextvars.copy_context().run,
                                        args=(self._run, engine, clinic_id, source), name="lab-import-writer",
                                        daemon=True)
        _writer_started()
        self._thread.start()

    @property
    def stopped(self) -> bool:
        """A group was refused: what is submitted from now on is not written."""
        return bool(self.unwritten)

    def submit(self, plan: GroupWrite) -> None:
        """Queue a planned group; it is written after the ones queued before it."""
        self._jobs.put(plan)

    def close(self) -> None:
        """Wait for every queued group; an error that is not the database refusing a group is raised here."""
        self._jobs.put(None)
        self._thread.join()
        _writer_stopped()
        if self._error is not None:
            raise self._error

    def _run(self, engine: Engine, clinic_id: int, source: str) -> None:
        with Session(engine, expire_on_commit=False) as session:
            while (job := self._jobs.get()) is not None:
                if self.unwritten:
                    self.unwritten.append(job)
                    continue
                try:
                    write_group(session, clinic_id, job, source)
                except BaseException as exc:  # noqa: BLE001 - handed to the importer's thread
                    if not isinstance(exc, SQLAlchemyError):
                        self._error = exc
                    self.unwritten.append(job)
                    continue
                self.written.append(job)


def write_states(session: Session, group: list[PendingMessage], now: datetime) -> None:
    """Each message's new state: imported, duplicate or failed with the reason (one statement for the group)."""
    states = []
    for p in group:
        message = p.message
        state = {"id": p.message_id, "codec": message.codec if message else "",
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
    bulk_update(session, LabMessage.__table__, states)
