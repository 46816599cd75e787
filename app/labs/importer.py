"""Result import: OUL^R22 and ORU^R01 from a lab (pushed, polled or dropped as files).

Every message is stored raw and committed first; then it is read and imported in ONE transaction, or refused as
a whole with the reason kept on the stored message and shown to staff — never half-imported. A message
delivered again (same bytes, or the same MSH-10 from the same sender) is imported once. The answer is an HL7
ACK: AA imported, AE refused for its content, AR not a message we can read.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.timeutil import JST
from app.db import among, bulk_insert, exclusive, reserve_ids, scoped, utcnow
from app.labs.hl7 import (
    CHARSET_FIELDS,
    ISO2022,
    HL7DecodeError,
    HL7SyntaxError,
    Message,
    escape,
    split_message,
)
from app.labs.import_batch import Batch, ItemMaster
from app.labs.import_writing import (
    BackgroundWriter,
    ImportOutcome,
    PendingMessage,
    plan_group,
    write_group,
)
from app.labs.models import LabMessage
from app.labs.result_reading import (
    ImportRefused,
    check_header,
    check_truncation,
    find_patient,
    group_results,
    refuse,
    result_rows,
)

CHANGE_REASONS = {"C": "検査会社からの訂正報告", "D": "検査会社による結果の削除", "F": "最終報告"}

#: Messages written in one transaction (a file drop of thousands is written in groups).
GROUP_SIZE = 500

#: Messages a group when groups are written in the background: small groups keep both cores busy (the first group
#: is read with nothing to write beside it, the last written with nothing left to read); the first is smaller still,
#: so that the writer starts early.
BACKGROUND_GROUP_SIZE = 250
BACKGROUND_FIRST_GROUP_SIZE = 50

#: The lock namespace of a clinic's result imports (app.core.audit's chain lock is 7141).
IMPORT_LOCK = 7142


def _changes(batch: Batch, pending: PendingMessage, now: datetime) -> None:
    """The rows to insert and the versions they supersede (a report identical to the current one adds nothing).
    The message's rows become the rows to insert: what the message itself says is filled in here."""
    clinic_id, patient_id, message_id = batch.clinic_id, pending.patient.id, pending.message_id  # type: ignore[union-attr]
    current = batch.current
    for row in pending.rows:
        old = current.get((row["specimen_number"], row["lab_code"], row["sub_id"]))
        if old is not None:
            old_id, old_version, old_lineage, old_value, old_status, old_flag, old_comment = old
            if (old_value, old_status, old_flag, old_comment) == (row["value"], row["result_status"], row["flag"],
                                                                   row["comment"]):
                continue  # the same result reported again (a cumulative report): nothing new
            row.update(version=old_version + 1, lineage_id=old_lineage or old_id,
                       change_reason=CHANGE_REASONS.get(row["result_status"], "再報告"))
            pending.superseded.append(old_id)
        row["clinic_id"], row["patient_id"], row["message_id"], row["recorded_at"] = (clinic_id, patient_id,
                                                                                      message_id, now)
        pending.inserts.append(row)


def _prepare(batch: Batch, pending: PendingMessage, clinic_code: str, seen_controls: set[str]) -> None:
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
                                        partial(build_ack, exc.ack_code, str(exc), pending.message, clinic_code))


def _mark_imported(done: list[PendingMessage], clinic_code: str) -> None:
    """After a group's commit: each imported message's outcome and ACK."""
    for p in done:
        p.outcome = ImportOutcome(True, "imported", p.message_id, "",
                                  partial(build_ack, "AA", "", p.message, clinic_code), len(p.inserts))


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


def _store_raw(session: Session, clinic_id: int, pending: list[PendingMessage], source: str, clinic_code: str) -> None:
    """Keep every message as received (committed before anything else); known bytes are not stored twice."""
    digests = [hashlib.sha256(p.data).hexdigest() for p in pending]
    known: dict[str, LabMessage] = {}
    for start in range(0, len(digests), 500):
        for row in session.scalars(scoped(LabMessage, clinic_id).where(
                among(session, LabMessage.sha256, digests[start:start + 500]))):
            known[row.sha256] = row
    new_rows: list[dict[str, Any]] = []
    first_of: dict[str, PendingMessage] = {}
    for p, digest in zip(pending, digests, strict=True):
        stored = known.get(digest)
        if stored is not None and stored.status in ("imported", "duplicate"):
            p.message_id = stored.id
            p.outcome = ImportOutcome(True, stored.status, stored.id, "",
                                      partial(_duplicate_ack, p.data, clinic_code),
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
                                      partial(_duplicate_ack, p.data, clinic_code),
                                      duplicate=True)


def import_messages(session: Session, clinic_id: int, payloads: list[tuple[bytes, str]], *, source: str,
                    master: ItemMaster | None = None, group_size: int = GROUP_SIZE) -> list[ImportOutcome]:
    """Store every message raw first, then import each whole or not at all; a duplicate is imported once.
    Messages are checked in memory and written in groups (one transaction a group); a group the database refuses
    is written again one message at a time so that only the culprit fails.

    A clinic's imports run one at a time (push, poll and file drop alike): an import compares each report with the
    results it found at its start, and a lab re-sending a message while its first delivery is still importing must
    get "received before", not a second copy. The caller's work is committed first, as storing the raw messages
    would: a waiter holds no locks."""
    session.commit()
    with exclusive(session, IMPORT_LOCK, clinic_id), _no_cyclic_gc():
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
    pending = [PendingMessage(index, data, filename) for index, (data, filename) in enumerate(payloads)]
    _store_raw(session, clinic_id, pending, source, clinic_code)
    batch, todo, imported_controls = _read_for(session, clinic_id, pending, master)
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and len(todo) > group_size:
        _write_in_background(session, bind, batch, todo, imported_controls, clinic_code, source, group_size)
    else:
        _gather(session, batch, todo, imported_controls, clinic_code,
                lambda group: _write(session, batch, group, clinic_code, source), group_size)
    return [p.outcome for p in pending]  # type: ignore[misc]


def _write_in_background(session: Session, engine: Engine, batch: Batch, todo: list[PendingMessage],
                         imported_controls: set[str], clinic_code: str, source: str, group_size: int) -> None:
    """Check the messages group by group while a BackgroundWriter writes the groups checked before (PostgreSQL:
    a drop of several groups). If the database refuses a group, what was not written is checked and written again
    here, group by group, as without the writer."""
    writer = BackgroundWriter(engine, batch.clinic_id, source)
    try:
        left = _gather(session, batch, todo, imported_controls, clinic_code,
                       lambda group: writer.submit(plan_group(session, batch, group)),
                       min(group_size, BACKGROUND_GROUP_SIZE), stop=lambda: writer.stopped,
                       first_group_size=min(group_size, BACKGROUND_FIRST_GROUP_SIZE))
    finally:
        writer.close()
    for plan in writer.written:
        _mark_imported(plan.done, clinic_code)
    again = [p for plan in writer.unwritten for p in plan.group] + left
    if again:
        # The batch counted the unwritten groups' results as current: it reads again what the database holds.
        batch.forget()
        for p in again:
            p.inserts, p.superseded, p.outcome, p.error = [], [], None, None
        imported_controls = imported_controls | {p.control_key for plan in writer.written for p in plan.done}
        _gather(session, batch, again, imported_controls, clinic_code,
                lambda group: _write(session, batch, group, clinic_code, source), group_size)


def _read_for(session: Session, clinic_id: int, pending: list[PendingMessage],
              master: ItemMaster | None) -> tuple[Batch, list[PendingMessage], set[str]]:
    """Split the messages still to import and read what they need, once for all: the batch (specimens and their
    results), the messages to import and the control ids imported before."""
    batch = Batch(session, clinic_id, master or ItemMaster(session))
    todo = [p for p in pending if p.outcome is None]
    for p in todo:
        p.message = _try_split(p.data)
    imported_controls = _imported_controls(session, clinic_id, todo)
    numbers = set()
    for p in todo:
        if p.message is not None:
            numbers.update(s.component(2, 1) or s.component(2, 2) for s in p.message.segments if s.name == "SPM")
    batch.preload(numbers)
    return batch, todo, imported_controls


def _gather(session: Session, batch: Batch, todo: list[PendingMessage], imported_controls: set[str],
            clinic_code: str, write: Callable[[list[PendingMessage]], None], group_size: int,
            stop: Callable[[], bool] = lambda: False, first_group_size: int | None = None) -> list[PendingMessage]:
    """Check the messages in order and hand them to `write` a group at a time (the first group may be smaller);
    the messages not written when `stop` says so (the group being gathered and the ones after it). A message that
    reports on a result of the group being gathered waits for that group to be handed over, so that it is compared
    with the result as written; a control id seen earlier in this import is a duplicate."""
    group: list[PendingMessage] = []
    touched: set[tuple[str, str, str]] = set()  # result keys of the group being gathered
    seen_controls: set[str] = set()
    limit = first_group_size or group_size

    def flush() -> None:
        nonlocal group, touched, limit
        if group:
            write(group)
            limit = group_size
        group, touched = [], set()

    for position, p in enumerate(todo):
        if stop():
            return group + todo[position:]
        _prepare(batch, p, clinic_code, seen_controls)
        if p.error is None and (p.control_key in imported_controls or p.control_key in seen_controls):
            p.outcome = ImportOutcome(True, "duplicate", p.message_id, "同じ制御IDのメッセージを受信済みです",
                                      partial(build_ack, "AA", "受信済み（重複）", p.message, clinic_code),
                                      duplicate=True)
        elif p.error is None:
            keys = {(r["specimen_number"], r["lab_code"], r["sub_id"]) for r in p.rows}
            if keys & touched:  # a later report on a result of this group: hand the group over first
                flush()
            _changes(batch, p, utcnow())
            touched |= keys
            seen_controls.add(p.control_key)
        group.append(p)
        if len(group) >= limit:
            flush()
    flush()
    return []


def _write(session: Session, batch: Batch, group: list[PendingMessage], clinic_code: str, source: str) -> None:
    """Write a group and mark its messages imported; when the database refuses the group, write its messages
    again one at a time so that only the culprit is kept as failed."""
    try:
        plan = plan_group(session, batch, group)
        write_group(session, batch.clinic_id, plan, source)
        _mark_imported(plan.done, clinic_code)
        return
    except SQLAlchemyError:
        session.rollback()  # write_group has rolled back; this is for a failure while planning (SQLite's id lock)
        batch.forget()  # the group's results were counted as current
        if len(group) == 1:  # nothing to tell apart
            _fail(session, group[0], clinic_code)
            return
    for single in group:
        if single.outcome is not None and single.error is None:
            continue  # a duplicate: its state is written with the others below
        single.inserts, single.superseded, single.outcome, single.error = [], [], None, None
        _prepare(batch, single, clinic_code, set())
        if single.error is None:
            _changes(batch, single, utcnow())
        try:
            plan = plan_group(session, batch, [single])
            write_group(session, batch.clinic_id, plan, source)
            _mark_imported(plan.done, clinic_code)
        except SQLAlchemyError:
            batch.forget()
            _fail(session, single, clinic_code)
    duplicates = [p for p in group if p.outcome is not None and p.outcome.duplicate]
    if duplicates:
        write_group(session, batch.clinic_id, plan_group(session, batch, duplicates), source)


def _imported_controls(session: Session, clinic_id: int, pending: list[PendingMessage]) -> set[str]:
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


def _fail(session: Session, pending: PendingMessage, clinic_code: str) -> None:
    """Keep a message the database refused as failed, with the reason."""
    text = "取り込み中にエラーが発生しました（データベースが受け付けませんでした）。内容を確認してください"
    stored = session.get(LabMessage, pending.message_id)
    if stored is not None:
        stored.status, stored.error = "failed", text
        session.commit()
    pending.error = ImportRefused(text)
    pending.outcome = ImportOutcome(False, "failed", pending.message_id, text,
                                    partial(build_ack, "AE", text, pending.message, clinic_code))


def import_message(session: Session, clinic_id: int, data: bytes, *, source: str, filename: str = "",
                   master: ItemMaster | None = None) -> ImportOutcome:
    """Store, then import one message in one transaction; or keep it as failed with the reason. Never raises for
    bad content: the outcome says what happened and carries the ACK to answer with."""
    return import_messages(session, clinic_id, [(data, filename)], source=source, master=master)[0]


def _duplicate_ack(data: bytes, clinic_code: str) -> bytes:
    """The ACK of a message received before (read again only if someone asks for the ACK)."""
    return build_ack("AA", "受信済み（重複）", _try_split(data), clinic_code)


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
