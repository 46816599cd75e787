"""Result import: OUL^R22 and ORU^R01 from a lab (pushed, polled or dropped as files).

Every message is stored raw and committed first; then it is read and imported in ONE transaction, or refused as
a whole with the reason kept on the stored message and shown to staff — never half-imported. A message
delivered again (same bytes, or the same MSH-10 from the same sender) is imported once. The answer is an HL7
ACK: AA imported, AE refused for its content, AR not a message we can read.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.audit import SYSTEM, record_audit
from app.core.timeutil import JST
from app.db import bulk_insert, reserve_ids, scoped, utcnow
from app.labs.hl7 import (
    CHARSET_FIELDS,
    ISO2022,
    HL7DecodeError,
    HL7SyntaxError,
    Message,
    escape,
    split_message,
)
from app.labs.models import LabMessage, LabResult
from app.labs.result_reading import (
    Batch,
    ImportRefused,
    ItemMaster,
    ResultRow,
    check_header,
    check_truncation,
    find_patient,
    group_results,
    refuse,
    result_rows,
)
from app.labs.services import update_order_states
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


CHANGE_REASONS = {"C": "検査会社からの訂正報告", "D": "検査会社による結果の削除", "F": "最終報告"}


@dataclass
class _Pending:
    """One message on its way through a batch."""

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


def _changes(batch: Batch, pending: _Pending, now: datetime) -> None:
    """The rows to insert and the versions they supersede (a report identical to the current one adds nothing)."""
    for row in pending.rows:
        values = row.values
        key = (values["specimen_number"], values["lab_code"], values["sub_id"])
        old = batch.current.get(key)
        base = {**values, "clinic_id": batch.clinic_id, "patient_id": pending.patient.id,  # type: ignore[union-attr]
                "message_id": pending.message_id, "recorded_at": now, "recorded_by_name": "検査会社",
                "retracted": values["result_status"] == "D", "version": 1, "lineage_id": None, "change_reason": "",
                "superseded_at": None, "recorded_by_id": None}
        if old is not None:
            old_id, old_version, old_lineage, old_value, old_status, old_flag, old_comment = old
            if (old_value, old_status, old_flag, old_comment) == (values["value"], values["result_status"],
                                                                   values["flag"], values["comment"]):
                continue  # the same result reported again (a cumulative report): nothing new
            base.update(version=old_version + 1, lineage_id=old_lineage or old_id,
                        change_reason=CHANGE_REASONS.get(values["result_status"], "再報告"))
            pending.superseded.append(old_id)
        pending.inserts.append(base)


def _prepare(batch: Batch, pending: _Pending, clinic_code: str, seen_controls: set[str]) -> None:
    """Read and check one message entirely in memory; on a refusal its error and ACK are set."""
    try:
        if pending.message is None:
            try:
                pending.message = split_message(pending.data)
            except (HL7DecodeError, HL7SyntaxError) as exc:
                raise refuse(str(exc), "AR") from exc
        check_truncation(pending.data, pending.message)
        pending.kind = check_header(pending.message)
        msh = pending.message.msh
        pending.control_key = f"{msh.component(3)}|{msh.component(4)}|{msh.component(10)}"[:120]
        if pending.control_key in seen_controls:
            return
        pending.patient = find_patient(batch, pending.message)
        pending.rows = result_rows(batch, pending.patient, pending.kind, group_results(pending.message, pending.kind))
    except ImportRefused as exc:
        pending.error = exc
        pending.outcome = ImportOutcome(False, "failed", pending.message_id, str(exc),
                                        build_ack(exc.ack_code, str(exc), pending.message, clinic_code))


def _write(session: Session, batch: Batch, group: list[_Pending], clinic_code: str, source: str) -> None:
    """Write a group of checked messages in ONE transaction: results, superseded versions, message states, order
    states, one audit entry. Each message is wholly in or (refused) wholly out."""
    now = utcnow()
    inserts = [row for p in group if p.error is None and p.outcome is None for row in p.inserts]
    superseded = [old for p in group if p.error is None and p.outcome is None for old in p.superseded]
    imported_ids = [p.message_id for p in group if p.error is None and p.outcome is None]
    _write_states(session, group, now)
    if superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(superseded)).values(superseded_at=now))
    if inserts:
        # Ids known before the INSERT: a first report is its own lineage without an UPDATE of every new row.
        for row, new_id in zip(inserts, reserve_ids(session, LabResult.__table__, len(inserts)), strict=True):
            row["id"] = new_id
            if row["lineage_id"] is None:
                row["lineage_id"] = new_id
        bulk_insert(session, LabResult.__table__, inserts)
    update_order_states(session, batch.clinic_id, sorted({row.values["order_id"] for p in group
                                                          if p.error is None and p.outcome is None
                                                          for row in p.rows if row.values["order_id"]}))
    if inserts:
        # The sharing side reads lab results, so it is imported here (a module-level import would be circular).
        from app.sharing.registration import queue_lab_results

        queue_lab_results(session, batch.clinic_id, imported_ids, superseded)
    done = [p for p in group if p.error is None and p.outcome is None]
    if done:
        record_audit(session, SYSTEM, "lab.results_imported", clinic_id=batch.clinic_id, entity_type="lab_message",
                     entity_id=done[0].message_id if len(done) == 1 else None,
                     patient_id=done[0].patient.id if len({p.patient.id for p in done}) == 1 else None,  # type: ignore
                     summary={"after": {"messages": [p.message_id for p in done],
                                        "patients": sorted({p.patient.id for p in done}),  # type: ignore[union-attr]
                                        "results": len(inserts), "source": source}})
    session.commit()
    for p in done:
        p.outcome = ImportOutcome(True, "imported", p.message_id, "", build_ack("AA", "", p.message, clinic_code),
                                  len(p.inserts))
        for row in p.inserts:  # later messages of this import see these results as the current ones
            batch.current.pop((row["specimen_number"], row["lab_code"], row["sub_id"]), None)
            batch.loaded_numbers.discard(row["specimen_number"])


def _write_states(session: Session, group: list[_Pending], now: datetime) -> None:
    """Each message's new state: imported, duplicate or failed with the reason (one executemany)."""
    states = []
    for p in group:
        message = p.message
        codec = message.codec if message else ""
        kind = message.message_type[:20] if message else ""
        if p.error is not None:
            states.append({"id": p.message_id, "status": "failed", "error": str(p.error)[:2000], "codec": codec,
                           "message_type": kind, "control_key": p.control_key, "patient_id": None,
                           "result_count": 0, "imported_at": None})
        elif p.outcome is not None:  # a duplicate of a message imported before
            states.append({"id": p.message_id, "status": "duplicate", "error": p.outcome.error, "codec": codec,
                           "message_type": kind, "control_key": p.control_key, "patient_id": None,
                           "result_count": 0, "imported_at": None})
        else:
            states.append({"id": p.message_id, "status": "imported", "error": "", "codec": codec,
                           "message_type": kind, "control_key": p.control_key,
                           "patient_id": p.patient.id if p.patient else None, "result_count": len(p.inserts),
                           "imported_at": now})
    if states:
        table = LabMessage.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id")),
                        [{**{k: v for k, v in state.items() if k != "id"}, "b_id": state["id"]} for state in states])


def build_ack(code: str, text: str, message: Message | None, clinic_code: str) -> bytes:
    """The ACK we answer with (ISO-2022-JP, as the link speaks): MSA-1 AA / AE / AR, and ERR with the reason."""
    from app.labs.hl7 import normalise_for_sending

    msh = message.msh if message is not None else None
    charset, alternate = CHARSET_FIELDS[ISO2022]
    event = msh.component(9, 2) if msh else ""
    control = msh.component(10) if msh else ""
    now = datetime.now(JST).strftime("%Y%m%d%H%M%S")
    segments = [f"MSH|^~\\&|KAMIKARTE|{clinic_code}|{escape(msh.component(3)) if msh else ''}|"
                f"{escape(msh.component(4)) if msh else ''}|{now}||ACK^{event}^ACK|ACK{now}{control[-8:]}|P|2.5"
                f"||||||{charset}||{alternate}",
                f"MSA|{code}|{escape(control)}|{escape(normalise_for_sending(text))[:400]}"]
    if code != "AA":
        severity = "E"
        segments.append(f"ERR||||{severity}|||{escape(normalise_for_sending(text))[:400]}")
    return ("\r".join(segments) + "\r").encode(ISO2022, errors="replace")


def _store_raw(session: Session, clinic_id: int, pending: list[_Pending], source: str, clinic_code: str) -> None:
    """Keep every message as received (committed before anything else); known bytes are not stored twice."""
    digests = [hashlib.sha256(p.data).hexdigest() for p in pending]
    known: dict[str, LabMessage] = {}
    for start in range(0, len(digests), 500):
        for row in session.scalars(scoped(LabMessage, clinic_id).where(
                LabMessage.sha256.in_(digests[start:start + 500]))):
            known[row.sha256] = row
    new_rows: list[dict[str, Any]] = []
    first_of: dict[str, _Pending] = {}
    for p, digest in zip(pending, digests, strict=True):
        stored = known.get(digest)
        if stored is not None and stored.status in ("imported", "duplicate"):
            p.message_id = stored.id
            p.outcome = ImportOutcome(True, stored.status, stored.id, "",
                                      build_ack("AA", "受信済み（重複）", _try_split(p.data), clinic_code),
                                      duplicate=True)
        elif stored is not None:
            p.message_id = stored.id  # failed before: try again with today's master and patients
        elif digest in first_of:
            p.message_id = -1  # the same bytes twice in one delivery: resolved after the first
        else:
            first_of[digest] = p
            new_rows.append({"clinic_id": clinic_id, "source": source, "filename": p.filename[:255], "raw": p.data,
                             "sha256": digest, "status": "received", "received_at": utcnow(), "codec": "",
                             "message_type": "", "control_key": "", "error": "", "result_count": 0})
    if new_rows:
        for row, message_id in zip(new_rows, reserve_ids(session, LabMessage.__table__, len(new_rows)), strict=True):
            row["id"] = message_id
            first_of[row["sha256"]].message_id = message_id
        bulk_insert(session, LabMessage.__table__, new_rows)
    session.commit()
    for p, digest in zip(pending, digests, strict=True):
        if p.message_id == -1:
            p.message_id = first_of[digest].message_id
            p.outcome = ImportOutcome(True, "duplicate", p.message_id, "",
                                      build_ack("AA", "受信済み（重複）", _try_split(p.data), clinic_code),
                                      duplicate=True)


def import_messages(session: Session, clinic_id: int, payloads: list[tuple[bytes, str]], *, source: str,
                    master: ItemMaster | None = None, group_size: int = 500) -> list[ImportOutcome]:
    """Store every message raw first, then import each whole or not at all; a duplicate is imported once.
    Messages are checked in memory and written in groups (one transaction a group) for throughput; a group
    the database refuses is written again one message at a time so that only the culprit fails."""
    with _no_cyclic_gc():
        return _import_messages(session, clinic_id, payloads, source=source, master=master, group_size=group_size)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during an import: a file drop builds hundreds of thousands of
    small objects (segments, rows) that are all alive, and repeated full collections over them cost about a fifth
    of the import's time. Reference counting still frees everything; collection resumes (and runs) afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import_messages(session: Session, clinic_id: int, payloads: list[tuple[bytes, str]], *, source: str,
                     master: ItemMaster | None, group_size: int) -> list[ImportOutcome]:
    from app.clinics.models import Clinic

    clinic = session.get(Clinic, clinic_id)
    clinic_code = clinic.institution_code if clinic else ""
    pending = [_Pending(index, data, filename) for index, (data, filename) in enumerate(payloads)]
    _store_raw(session, clinic_id, pending, source, clinic_code)
    batch = Batch(session, clinic_id, master or ItemMaster(session))
    todo = [p for p in pending if p.outcome is None]
    for p in todo:
        p.message = _try_split(p.data)
    imported_controls = _imported_controls(session, clinic_id, todo)
    group: list[_Pending] = []
    touched: set[tuple[str, str, str]] = set()
    seen_controls: set[str] = set()

    def flush() -> None:
        nonlocal group, touched, seen_controls
        if group:
            try:
                _write(session, batch, group, clinic_code, source)
            except SQLAlchemyError:
                session.rollback()
                batch.__init__(session, clinic_id, batch.master)  # type: ignore[misc]
                if len(group) == 1:
                    _fail(session, group[0], clinic_code)
                else:
                    for single in group:
                        single.inserts, single.superseded, single.outcome = [], [], None
                        _prepare(batch, single, clinic_code, set())
                        if single.error is None:
                            _changes(batch, single, utcnow())
                        try:
                            _write(session, batch, [single], clinic_code, source)
                        except SQLAlchemyError:
                            session.rollback()
                            _fail(session, single, clinic_code)
        group, touched, seen_controls = [], set(), set()

    numbers = set()
    for p in todo:
        if p.message is not None:
            numbers.update(s.component(2, 1) or s.component(2, 2) for s in p.message.segments if s.name == "SPM")
    batch.preload(numbers)
    for p in todo:
        _prepare(batch, p, clinic_code, seen_controls)
        if p.error is None and (p.control_key in imported_controls or p.control_key in seen_controls):
            p.outcome = ImportOutcome(True, "duplicate", p.message_id, "同じ制御IDのメッセージを受信済みです",
                                      build_ack("AA", "受信済み（重複）", p.message, clinic_code), duplicate=True)
        elif p.error is None:
            keys = {(r.values["specimen_number"], r.values["lab_code"], r.values["sub_id"]) for r in p.rows}
            if keys & touched:  # a later report on a result of this group: write the group first
                flush()
                batch.preload({k[0] for k in keys})
                p.rows = result_rows(batch, p.patient, p.kind, group_results(p.message, p.kind))  # type: ignore[arg-type]
            _changes(batch, p, utcnow())
            touched |= keys
            seen_controls.add(p.control_key)
        group.append(p)
        if len(group) >= group_size:
            flush()
    flush()
    return [p.outcome for p in pending]  # type: ignore[misc]


def _imported_controls(session: Session, clinic_id: int, pending: list[_Pending]) -> set[str]:
    """Control keys of these messages already imported earlier (read before parsing: MSH is cheap to find)."""
    keys = set()
    for p in pending:
        if p.message is not None:
            msh = p.message.msh
            keys.add(f"{msh.component(3)}|{msh.component(4)}|{msh.component(10)}"[:120])
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        found.update(session.scalars(select(LabMessage.control_key).where(
            LabMessage.clinic_id == clinic_id, LabMessage.status == "imported",
            LabMessage.control_key.in_(ordered[start:start + 500]))))
    return found


def _fail(session: Session, pending: _Pending, clinic_code: str) -> None:
    """Keep a message the database refused as failed, with the reason."""
    text = "取り込み中にエラーが発生しました（データベースが受け付けませんでした）。内容を確認してください"
    stored = session.get(LabMessage, pending.message_id)
    if stored is not None:
        stored.status, stored.error = "failed", text
        session.commit()
    pending.error = ImportRefused(text)
    pending.outcome = ImportOutcome(False, "failed", pending.message_id, text,
                                    build_ack("AE", text, pending.message, clinic_code))


def import_message(session: Session, clinic_id: int, data: bytes, *, source: str, filename: str = "",
                   master: ItemMaster | None = None) -> ImportOutcome:
    """Store, then import one message in one transaction; or keep it as failed with the reason. Never raises for
    bad content: the outcome says what happened and carries the ACK to answer with."""
    return import_messages(session, clinic_id, [(data, filename)], source=source, master=master)[0]


def _try_split(data: bytes) -> Message | None:
    try:
        return split_message(data)
    except (HL7DecodeError, HL7SyntaxError):
        return None


def failed_messages(session: Session, clinic_id: int, limit: int = 100) -> list[LabMessage]:
    """The clinic's messages that could not be imported, newest first (shown to staff)."""
    return list(session.scalars(scoped(LabMessage, clinic_id).where(LabMessage.status == "failed")
                                .order_by(LabMessage.id.desc()).limit(limit)))


def recent_messages(session: Session, clinic_id: int, limit: int = 100) -> list[LabMessage]:
    """The clinic's latest incoming messages of any state."""
    return list(session.scalars(scoped(LabMessage, clinic_id).order_by(LabMessage.id.desc()).limit(limit)))


def get_message(session: Session, clinic_id: int, message_id: int) -> LabMessage | None:
    """One stored message of this clinic."""
    return session.scalar(scoped(LabMessage, clinic_id).where(LabMessage.id == message_id))
