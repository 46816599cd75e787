"""Result import: OUL^R22 and ORU^R01 from a lab (pushed, polled or dropped as files).

Every message is stored raw and committed first; then it is read and imported whole, or refused as a whole with
the reason kept on the stored message and shown to staff — never half-imported. A message delivered again (same
bytes, or the same MSH-10 from the same sender) is imported once. The answer is an HL7 ACK: AA imported, AE
refused for its content, AR not a message we can read.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.core.timeutil import JST
from app.db import exclusive, in_chunks, scoped, utcnow
from app.labs import order_states
from app.labs.hl7 import (
    CHARSET_FIELDS,
    ISO2022,
    HL7DecodeError,
    HL7SyntaxError,
    Message,
    escape,
    normalise_for_sending,
    split_message,
)
from app.labs.import_writing import Checked, write_results
from app.labs.masters import ItemMaster
from app.labs.models import LabMessage
from app.labs.result_reading import (
    ImportRefused,
    Lookups,
    check_header,
    check_truncation,
    find_patient,
    group_results,
    refuse,
    result_rows,
)

log = logging.getLogger(__name__)

#: Messages imported in one transaction (a file drop of thousands is committed in groups): read in a few queries and
#: written in one INSERT; when the database refuses that, one by one, each under a savepoint of its own, so that a
#: message the database refuses fails alone.
GROUP_SIZE = 200

#: The lock namespace of a clinic's result imports (app.core.audit's chain lock is 7141).
IMPORT_LOCK = 7142

DATABASE_REFUSED = "取り込み中にエラーが発生しました（データベースが受け付けませんでした）。内容を確認してください"


@dataclass
class ImportOutcome:
    """What became of one incoming message, with the HL7 ACK to answer the sender with (AA, AE or AR)."""

    ok: bool
    status: str
    message_id: int | None
    error: str
    ack: bytes
    results: int = 0
    duplicate: bool = False


@dataclass
class PendingMessage:
    """One message on its way through an import: as received, then as stored, then what became of it."""

    data: bytes
    filename: str
    stored: LabMessage | None = None
    outcome: ImportOutcome | None = None

    @property
    def row(self) -> LabMessage:
        """The stored message (every message is stored before it is imported)."""
        if self.stored is None:
            raise RuntimeError("a message is imported only once it is stored")
        return self.stored


def import_message(session: Session, clinic_id: int, data: bytes, *, source: str, filename: str = "",
                   master: ItemMaster | None = None) -> ImportOutcome:
    """Store, then import one message; or keep it as failed with the reason. Never raises for bad content: the
    outcome says what happened and carries the ACK to answer with."""
    return import_messages(session, clinic_id, [(data, filename)], source=source, master=master)[0]


def import_messages(session: Session, clinic_id: int, payloads: list[tuple[bytes, str]], *, source: str,
                    master: ItemMaster | None = None, group_size: int = GROUP_SIZE) -> list[ImportOutcome]:
    """Store every message raw first, then import each whole or not at all, in order; a duplicate is imported
    once. The outcome of each message, in the order given.

    A clinic's imports run one at a time (push, poll and file drop alike): a lab re-sending a message while its
    first delivery is still importing must get "received before", not a second copy, and a correction must find
    the final it replaces. The caller's work is committed first, as storing the raw messages would: a waiter holds
    no locks."""
    session.commit()
    with exclusive(session, IMPORT_LOCK, clinic_id):
        clinic = session.get(Clinic, clinic_id)
        clinic_code = clinic.institution_code if clinic else ""
        pending = [PendingMessage(data, filename) for data, filename in payloads]
        _store_raw(session, clinic_id, pending, source, clinic_code)
        master = master or ItemMaster(session)
        for start in range(0, len(pending), group_size):
            _import_group(session, clinic_id, master, pending[start:start + group_size], clinic_code, source)
    return [p.outcome for p in pending]  # type: ignore[misc]


def _store_raw(session: Session, clinic_id: int, pending: list[PendingMessage], source: str, clinic_code: str) -> None:
    """Keep every message as received (committed before anything else); known bytes are not stored twice, and
    bytes imported before, or twice in this delivery, are duplicates."""
    digests = [hashlib.sha256(p.data).hexdigest() for p in pending]
    known: dict[str, LabMessage] = {}
    for chunk in in_chunks(digests):
        known.update((m.sha256, m) for m in session.scalars(scoped(LabMessage, clinic_id).where(
            LabMessage.sha256.in_(chunk))))
    seen: set[str] = set()
    for p, digest in zip(pending, digests, strict=True):
        stored = known.get(digest)
        if digest in seen or (stored is not None and stored.status in ("imported", "duplicate")):
            status = stored.status if stored is not None and digest not in seen else "duplicate"
            p.outcome = ImportOutcome(True, status, None, "",
                                      build_ack("AA", "受信済み（重複）", _try_split(p.data), clinic_code),
                                      duplicate=True)
        elif stored is None:
            stored = known[digest] = LabMessage(clinic_id=clinic_id, source=source, filename=p.filename[:255],
                                                raw=p.data, sha256=digest, status="received")
            session.add(stored)
        # else: failed before; tried again with today's master and patients
        seen.add(digest)
    session.commit()
    for p, digest in zip(pending, digests, strict=True):
        p.stored = known[digest]
        if p.outcome is not None:
            p.outcome.message_id = p.stored.id


def _import_group(session: Session, clinic_id: int, master: ItemMaster, group: list[PendingMessage],
                  clinic_code: str, source: str) -> None:
    """Import a group of stored messages in one transaction, each whole or refused whole; then set the states of
    the orders they reported on and commit, with one audit entry for what was imported.

    The group is read in a few queries and its results written in one INSERT; should the database refuse that
    write, the group is imported again one message at a time, each under a savepoint of its own, so that only the
    message it refuses fails (with the reason) and the others are imported."""
    todo = [p for p in group if p.outcome is None]  # the others: the same bytes as a message received before
    orders: set[int] = set()
    try:
        with session.begin_nested():
            _import_together(session, clinic_id, master, todo, clinic_code, orders)
    except SQLAlchemyError as exc:
        log.warning("lab import: a group of %s messages refused by the database, imported one by one: %s",
                    len(todo), exc)
        orders.clear()
        for p in todo:
            p.outcome = _import_one(session, master, p.row, clinic_code, orders)
    order_states.update_after_results(session, clinic_id, orders)
    imported = [p.row for p in todo if p.outcome is not None and p.outcome.status == "imported"]
    if imported:
        patients = sorted({stored.patient_id for stored in imported})
        record_audit(session, SYSTEM, "lab.results_imported", clinic_id=clinic_id, entity_type="lab_message",
                     entity_id=imported[0].id if len(imported) == 1 else None,
                     patient_id=patients[0] if len(patients) == 1 else None,
                     summary={"after": {"messages": [stored.id for stored in imported], "patients": patients,
                                        "results": sum(stored.result_count for stored in imported),
                                        "source": source}})
    session.commit()


def _import_together(session: Session, clinic_id: int, master: ItemMaster, todo: list[PendingMessage],
                     clinic_code: str, orders: set[int]) -> None:
    """Read and check every message of a group (what they name read once for all), then write the results of
    those that pass in one go; each message's outcome is set, the orders reported on are added to `orders`."""
    read: list[tuple[PendingMessage, Message, str]] = []
    checked: list[Checked] = []
    # Reading writes nothing: the messages' states go to the database once, with their results.
    with session.no_autoflush:
        for p in todo:
            message: Message | None = None
            try:
                message = _parse(p.row)
                read.append((p, message, _check(p.row, message)))
            except ImportRefused as exc:
                p.outcome = _refused(p.row, exc, message, clinic_code)
        lookups = Lookups(session, clinic_id)
        lookups.preload([message for _p, message, _kind in read])
        master.preload([message for _p, message, _kind in read])
        seen = _imported_keys(session, clinic_id, {p.row.control_key for p, _m, _k in read})
        for p, message, kind in read:
            stored = p.row
            if stored.control_key in seen:
                p.outcome = _duplicate(stored, message, clinic_code)
                continue
            try:
                patient = find_patient(lookups, message)
                rows = result_rows(lookups, master, patient, kind, group_results(message, kind))
            except ImportRefused as exc:
                p.outcome = _refused(stored, exc, message, clinic_code)
                continue
            seen.add(stored.control_key)
            checked.append((stored, patient, rows))
            p.outcome = ImportOutcome(True, "imported", stored.id, "", build_ack("AA", "", message, clinic_code))
            orders.update(row["order_id"] for row in rows if row["order_id"])
    write_results(session, clinic_id, checked, utcnow())
    for p in todo:
        if p.outcome is not None and p.outcome.status == "imported":
            p.outcome.results = p.row.result_count


def _import_one(session: Session, master: ItemMaster, stored: LabMessage, clinic_code: str,
                orders: set[int]) -> ImportOutcome:
    """Read, check and write one stored message (under a savepoint); its new state is set on `stored` and the
    orders it reported on are added to `orders`."""
    message: Message | None = None
    try:
        # Reading writes nothing: the message's state goes to the database once, with its results.
        with session.no_autoflush:
            message = _parse(stored)
            kind = _check(stored, message)
            if _imported_keys(session, stored.clinic_id, {stored.control_key}):
                return _duplicate(stored, message, clinic_code)
            lookups = Lookups(session, stored.clinic_id)
            master.preload([message])
            patient = find_patient(lookups, message)
            rows = result_rows(lookups, master, patient, kind, group_results(message, kind))
    except ImportRefused as exc:
        return _refused(stored, exc, message, clinic_code)
    try:
        with session.begin_nested():
            write_results(session, stored.clinic_id, [(stored, patient, rows)], utcnow())
    except SQLAlchemyError as exc:
        log.warning("lab message %s refused by the database: %s", stored.id, exc)
        return _refused(stored, ImportRefused(DATABASE_REFUSED), message, clinic_code)
    orders.update(row["order_id"] for row in rows if row["order_id"])
    return ImportOutcome(True, "imported", stored.id, "", build_ack("AA", "", message, clinic_code),
                         stored.result_count)


def _parse(stored: LabMessage) -> Message:
    """The stored message split into segments; refused (AR) when it cannot be read."""
    try:
        message = split_message(stored.raw)
    except (HL7DecodeError, HL7SyntaxError) as exc:
        raise refuse(str(exc), "AR") from exc
    stored.codec, stored.message_type = message.codec, message.message_type[:20]
    return message


def _check(stored: LabMessage, message: Message) -> str:
    """Check the message whole and its header, and keep its control id (MSH-3, -4, -10); returns its type."""
    check_truncation(stored.raw, message)
    kind = check_header(message)
    msh = message.msh
    stored.control_key = f"{msh.component(3)}|{msh.component(4)}|{msh.component(10)}"[:120]
    return kind


def _imported_keys(session: Session, clinic_id: int, keys: set[str]) -> set[str]:
    """Those of these control ids (MSH-3, -4, -10) with a message imported before, in this import included."""
    ordered, found = sorted(keys), set()
    for chunk in in_chunks(ordered):
        found.update(session.scalars(select(LabMessage.control_key).where(
            LabMessage.clinic_id == clinic_id, LabMessage.control_key.in_(chunk),
            LabMessage.status == "imported")))
    return found


def _duplicate(stored: LabMessage, message: Message, clinic_code: str) -> ImportOutcome:
    """Keep a message whose control id was imported before as a duplicate (answered AA: nothing to resend)."""
    stored.status, stored.error = "duplicate", "同じ制御IDのメッセージを受信済みです"
    return ImportOutcome(True, "duplicate", stored.id, stored.error,
                         build_ack("AA", "受信済み（重複）", message, clinic_code), duplicate=True)


def _refused(stored: LabMessage, exc: ImportRefused, message: Message | None, clinic_code: str) -> ImportOutcome:
    """Keep a refused message as failed with the reason."""
    stored.status, stored.error = "failed", str(exc)[:2000]
    stored.patient_id, stored.result_count, stored.imported_at = None, 0, None
    return ImportOutcome(False, "failed", stored.id, str(exc), build_ack(exc.ack_code, str(exc), message, clinic_code))


def build_ack(code: str, text: str, message: Message | None, clinic_code: str) -> bytes:
    """The ACK we answer with (ISO-2022-JP, as the link speaks): MSA-1 AA / AE / AR, and ERR with the reason."""
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
        segments.append(f"ERR||||E|||{escape(normalise_for_sending(text))[:400]}")
    return ("\r".join(segments) + "\r").encode(ISO2022, errors="replace")


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
