"""Result import: OUL^R22 and ORU^R01 from a lab (pushed, polled or dropped as files).

Every message is stored raw and committed first; then it is read and imported in ONE transaction, or refused as
a whole with the reason kept on the stored message and shown to staff — never half-imported. A message
delivered again (same bytes, or the same MSH-10 from the same sender) is imported once. The answer is an HL7
ACK: AA imported, AE refused for its content, AR not a message we can read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.audit import SYSTEM, record_audit
from app.core.jp import search_key
from app.core.timeutil import JST
from app.db import scoped, utcnow
from app.labs.hl7 import (
    CHARSET_FIELDS,
    ISO2022,
    HL7DecodeError,
    HL7SyntaxError,
    Message,
    Segment,
    escape,
    split_message,
    timestamp,
)
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult, LabSpecimen
from app.patients.models import Patient

#: HL7 v2.5 abstract message structures, as regular expressions over the segment names (each followed by a
#: space). Segments we do not use (SFT, PD1, TQ1 …) are allowed where the standard puts them.
STRUCTURES = {
    "OUL^R22": re.compile(r"MSH (SFT )*(NTE )?(PID (PD1 )?(NTE )*(PV1 (PV2 )?)?)?"
                          r"(SPM (OBX )*(SAC (INV )?)*(OBR (ORC )?(NTE )*(TQ1 (TQ2 )*)*(OBX (TCD )?(SID )*(NTE )*)*"
                          r"(CTI )*)*)+(DSC )?"),
    "ORU^R01": re.compile(r"MSH (SFT )*((PID (PD1 )?(NTE )*(NK1 )*(PV1 (PV2 )?)?)?"
                          r"((ORC )?OBR (NTE )*(TQ1 (TQ2 )*)*(CTD )?(OBX (NTE )*)*(FT1 )*(CTI )*(SPM (OBX )*)*)+)+"
                          r"(DSC )?"),
}
STRUCTURE_TEXT = {"OUL^R22": "MSH [PID [PV1]] { SPM [{OBX}] { OBR [ORC] [{NTE}] { OBX [{NTE}] } } }",
                  "ORU^R01": "MSH { [PID [PV1]] { [ORC] OBR [{NTE}] { OBX [{NTE}] } [{SPM}] } }"}
VALUE_TYPES = {"NM", "SN", "ST", "TX", "FT", "CWE", "CE"}
FLAGS = {"", "H", "L", "HH", "LL", "N", "A", "AA", "<", ">"}
STATUSES = {"F", "C", "P", "X", "D"}
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
SN_COMPARATORS = {"", "<", ">", "<=", ">=", "=", "<>"}


class ImportRefused(ValueError):
    """A message we will not import; the text is for staff (Japanese), `ack_code` AE or AR."""

    def __init__(self, message: str, ack_code: str = "AE") -> None:
        super().__init__(message)
        self.ack_code = ack_code


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
class _Group:
    obr: Segment
    spm: Segment | None
    results: list[tuple[Segment, list[str]]] = field(default_factory=list)
    in_specimen: bool = False


@dataclass
class _Row:
    values: dict[str, Any]
    item: LabItem
    specimen: LabSpecimen | None


def _refuse(text: str, ack_code: str = "AE") -> ImportRefused:
    return ImportRefused(text, ack_code)


def _check_truncation(data: bytes, message: Message) -> None:
    # ISO-2022-JP text always switches back to ASCII (ESC ( B) before the end; a message that stops inside
    # kanji was cut off in transit.
    if message.codec.startswith("iso2022"):
        last_escape = data.rfind(b"\x1b")
        if data[last_escape:last_escape + 3] not in (b"\x1b(B", b"\x1b(J"):
            raise _refuse("メッセージが途中で切れています（漢字の途中で終わっています）", "AR")


def _check_header(message: Message) -> str:
    msh = message.msh
    kind = message.message_type
    if kind not in STRUCTURES:
        raise _refuse(f"検査結果のメッセージではありません（MSH-9 = {msh.get(9)[:30] or '空'}）。"
                      "受け付けるのは OUL^R22 と ORU^R01 です", "AR")
    version = msh.component(12)
    if not version.startswith("2.5"):
        raise _refuse(f"HL7 のバージョンが 2.5 ではありません（MSH-12 = {version[:20] or '空'}）", "AR")
    if not msh.component(10):
        raise _refuse("メッセージ制御ID（MSH-10）がありません", "AR")
    names = message.names()
    if not STRUCTURES[kind].fullmatch(names):
        raise _refuse(f"セグメントの順序が {kind} の構造（{STRUCTURE_TEXT[kind]}）に合いません: "
                      f"{names.strip().replace(' ', '-')[:300]}", "AR")
    return kind


def _patient(session: Session, clinic_id: int, message: Message) -> Patient:
    pids = [s for s in message.segments if s.name == "PID"]
    if not pids:
        raise _refuse("患者（PID セグメント）がありません")
    if len(pids) > 1:
        raise _refuse("1つのメッセージに複数の患者が含まれています。患者ごとに分けて送ってください")
    pid = pids[0]
    patient_id = pid.component(3)
    if not patient_id:
        raise _refuse("患者ID（PID-3）がありません")
    patient = session.scalar(scoped(Patient, clinic_id).where(Patient.orca_patient_id == patient_id))
    if patient is None:
        raise _refuse(f"患者ID「{patient_id}」の患者は当院に登録されていません")
    kana = next((rep for rep in pid.get(5).split("~") if rep.split("^")[6:7] == ["P"]), "")
    if kana:
        reported = search_key("".join(kana.split("^")[:2]))
        if reported and reported != search_key(patient.kana.replace(" ", "").replace("\u3000", "")):
            raise _refuse(f"患者ID「{patient_id}」の氏名（カナ）が当院の記録と一致しません")
    birth = pid.component(7)
    if birth and birth[:8] != patient.birth_date.strftime("%Y%m%d"):
        raise _refuse(f"患者ID「{patient_id}」の生年月日が当院の記録と一致しません")
    return patient


def _groups(message: Message, kind: str) -> list[_Group]:
    groups: list[_Group] = []
    current_spm: Segment | None = None
    group: _Group | None = None
    for segment in message.segments:
        if segment.name == "SPM":
            if kind == "OUL^R22":
                current_spm, group = segment, None
            elif group is not None:
                group.spm, group.in_specimen = segment, True
        elif segment.name == "OBR":
            group = _Group(segment, current_spm if kind == "OUL^R22" else None)
            groups.append(group)
        elif segment.name == "OBX":
            # An OBX under SPM (OUL) or after the SPM (ORU) describes the specimen, not a result.
            if group is not None and not group.in_specimen:
                group.results.append((segment, []))
        elif segment.name == "NTE" and group is not None and group.results and not group.in_specimen:
            group.results[-1][1].append(segment.component(3))
    if not any(g.results for g in groups):
        raise _refuse("結果（OBX）が1件もありません")
    return groups


def _when(text: str, where: str) -> datetime | None:
    if not text:
        return None
    parts = timestamp(text)
    if parts is None:
        raise _refuse(f"{where}「{text[:30]}」が日時（YYYYMMDDHHMM）の形ではありません")
    try:
        value = datetime(*parts, tzinfo=JST)
    except ValueError as exc:
        raise _refuse(f"{where}「{text[:30]}」はありえない日時です") from exc
    if value.astimezone(UTC) > utcnow() + timedelta(days=1):
        raise _refuse(f"{where}「{text[:30]}」が未来の日時です")
    return value.astimezone(UTC)


class _Master:
    """The lab-item master, read once per import and kept for the next messages."""

    def __init__(self, session: Session) -> None:
        items = list(session.scalars(select(LabItem)))
        self.by_lab_code = {i.lab_code: i for i in items}
        self.by_jlac10 = {i.jlac10: i for i in items}
        self.by_prefix: dict[str, list[LabItem]] = {}
        for item in items:
            self.by_prefix.setdefault(item.jlac10[:12], []).append(item)

    def find(self, obx: Segment) -> LabItem | None:
        code, system = obx.component(3, 1), obx.component(3, 3)
        alt_code, alt_system = obx.component(3, 4), obx.component(3, 6)
        if system in ("JC10", "JC11") or len(code) == 17:
            item = self.by_jlac10.get(code)
            if item:
                return item
        for local, local_system in ((code, system), (alt_code, alt_system)):
            if local and local_system.startswith("99") and local in self.by_lab_code:
                return self.by_lab_code[local]
        # The same analyte, identification and material reported with another method: lab.md's fallback.
        if len(code) == 17:
            candidates = self.by_prefix.get(code[:12], [])
            if len(candidates) == 1:
                return candidates[0]
        return None


def _value(obx: Segment, where: str) -> tuple[str, float | None]:
    value_type = obx.get(2)
    raw = obx.get(5).split("~", 1)[0]
    if value_type == "NM":
        text = raw.strip()
        if not NUMBER.fullmatch(text):
            raise _refuse(f"{where}: 数値型（NM）の結果「{text[:20]}」が数値ではありません")
        return text, float(text)
    if value_type == "SN":
        parts = (raw.split("^") + ["", "", "", ""])[:4]
        comparator, number = parts[0], parts[1].strip()
        if comparator not in SN_COMPARATORS or (number and not NUMBER.fullmatch(number)):
            raise _refuse(f"{where}: 構造化数値（SN）の結果「{raw[:20]}」が正しくありません")
        text = f"{comparator}{number}{parts[2]}{parts[3]}"
        return text, float(number) if number and not comparator.strip("=") else None
    if value_type in ("CWE", "CE"):
        return obx.component(5, 2) or obx.component(5, 1), None
    from app.labs.hl7 import unescape

    return unescape(raw).strip(), None


def _rows(session: Session, clinic_id: int, patient: Patient, kind: str, groups: list[_Group],
          master: _Master) -> list[_Row]:
    rows: list[_Row] = []
    specimens: dict[str, LabSpecimen] = {}
    for group in groups:
        spm = group.spm
        number = (spm.component(2, 1) or spm.component(2, 2)) if spm else ""
        specimen: LabSpecimen | None = None
        order: LabOrder | None = None
        if number:
            specimen = specimens.get(number) or session.scalar(
                scoped(LabSpecimen, clinic_id).where(LabSpecimen.specimen_number == number))
            if specimen is None or specimen.patient_id != patient.id:
                raise _refuse(f"検体番号「{number}」はこの患者の検査依頼にありません")
            specimens[number] = specimen
        else:
            placer = group.obr.component(2)
            order = session.scalar(scoped(LabOrder, clinic_id).where(LabOrder.order_number == placer)) \
                if placer else None
            if order is None or order.patient_id != patient.id:
                raise _refuse(f"検体番号がなく、依頼番号「{placer or '空'}」もこの患者の検査依頼にありません")
        collected_default = (_when(spm.get(17).split("^")[0], "SPM-17（採取日時）") if spm else None) \
            or _when(group.obr.component(7), "OBR-7（採取日時）")
        for obx, comments in group.results:
            where = f"OBX {obx.get(1) or '?'}（{obx.line}行目）"
            if obx.get(2) not in VALUE_TYPES:
                raise _refuse(f"{where}: 値の型（OBX-2）「{obx.get(2)[:10] or '空'}」には対応していません")
            status = obx.get(11)
            if status not in STATUSES:
                raise _refuse(f"{where}: 結果状態（OBX-11）「{status[:5] or '空'}」がありません。"
                              "メッセージが途中で切れている可能性があります")
            item = master.find(obx)
            if item is None:
                raise _refuse(f"{where}: 検査コード「{obx.component(3, 1)[:20]}」（{obx.component(3, 2)[:30]}）は"
                              "検査項目マスターにありません")
            value, numeric = ("", None) if status in ("X", "D") and not obx.get(5) else _value(obx, where)
            if not value and status not in ("X", "D"):
                raise _refuse(f"{where}: 結果の値（OBX-5）がありません")
            flag = obx.component(8)
            if flag not in FLAGS:
                raise _refuse(f"{where}: 異常値フラグ（OBX-8）「{flag[:5]}」が正しくありません")
            collected = _when(obx.component(14), f"{where} OBX-14（検査日時）") or collected_default
            if collected is None:
                raise _refuse(f"{where}: 採取日時（OBX-14・SPM-17・OBR-7）がありません")
            target = specimen
            if target is None and order is not None:
                target = next((s for s in order.specimens if any(i["lab_code"] == item.lab_code for i in s.items)),
                              None)
            unit = obx.component(6, 2) or obx.component(6, 1) or item.unit
            rows.append(_Row({
                "lab_code": item.lab_code, "jlac10": obx.component(3, 1)[:17], "name": item.name,
                "sub_id": obx.get(4)[:20], "value_type": obx.get(2), "value": value[:200], "numeric_value": numeric,
                "unit": unit[:30], "reference_range": (obx.component(7) or item.reference_for(patient.sex))[:60],
                "flag": "" if flag == "N" else flag, "result_status": status,
                "comment": " / ".join(c for c in comments if c)[:500],
                "collected_at": collected, "collected_on": collected.astimezone(JST).date(),
                "specimen_number": target.specimen_number if target else number,
                "specimen_id": target.id if target else None,
                "order_id": target.order_id if target else (order.id if order else None),
            }, item, target))
    return rows


def _store(session: Session, clinic_id: int, patient: Patient, message_row: LabMessage, rows: list[_Row]) -> int:
    """Write the results: new ones inserted, a correction or final report supersedes the current version."""
    now = utcnow()
    keys = {(r.values["specimen_number"], r.values["lab_code"], r.values["sub_id"]) for r in rows}
    numbers = {k[0] for k in keys}
    current = {}
    if numbers:
        for existing in session.scalars(scoped(LabResult, clinic_id).where(
                LabResult.patient_id == patient.id, LabResult.superseded_at.is_(None),
                LabResult.specimen_number.in_(numbers))):
            current[(existing.specimen_number, existing.lab_code, existing.sub_id)] = existing
    inserts: list[dict[str, Any]] = []
    superseded: list[int] = []
    for row in rows:
        values = row.values
        key = (values["specimen_number"], values["lab_code"], values["sub_id"])
        old = current.get(key)
        base = {**values, "clinic_id": clinic_id, "patient_id": patient.id, "message_id": message_row.id,
                "recorded_at": now, "recorded_by_name": "検査会社", "retracted": values["result_status"] == "D",
                "version": 1, "lineage_id": None, "change_reason": "", "superseded_at": None,
                "recorded_by_id": None}
        if old is not None:
            same = (old.value == values["value"] and old.result_status == values["result_status"]
                    and old.flag == values["flag"] and old.comment == values["comment"])
            if same:
                continue  # the same result reported again (a cumulative report): nothing new
            base.update(version=old.version + 1, lineage_id=old.lineage_id or old.id,
                        change_reason={"C": "検査会社からの訂正報告", "D": "検査会社による結果の削除",
                                       "F": "最終報告"}.get(values["result_status"], "再報告"))
            superseded.append(old.id)
        inserts.append(base)
    if superseded:
        session.execute(update(LabResult).where(LabResult.id.in_(superseded)).values(superseded_at=now))
    if inserts:
        session.execute(insert(LabResult), inserts)
        session.execute(update(LabResult).where(LabResult.message_id == message_row.id,
                                                LabResult.lineage_id.is_(None)).values(lineage_id=LabResult.id))
    return len(inserts)


def _update_orders(session: Session, clinic_id: int, rows: list[_Row]) -> None:
    order_ids = {r.values["order_id"] for r in rows if r.values["order_id"]}
    for order_id in order_ids:
        order = session.get(LabOrder, order_id)
        if order is None or order.clinic_id != clinic_id:
            continue
        wanted = {(s.specimen_number, i["lab_code"]) for s in order.specimens for i in s.items}
        have = set(session.execute(select(LabResult.specimen_number, LabResult.lab_code).where(
            LabResult.clinic_id == clinic_id, LabResult.order_id == order_id, LabResult.superseded_at.is_(None),
            LabResult.result_status.in_(("F", "C")))).all())
        order.status = "complete" if wanted <= have else "partial"


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


def import_message(session: Session, clinic_id: int, data: bytes, *, source: str, filename: str = "",
                   master: _Master | None = None) -> ImportOutcome:
    """Store, then import one message in one transaction; or keep it as failed with the reason. Never raises for
    bad content: the outcome says what happened and carries the ACK to answer with."""
    from app.clinics.models import Clinic

    clinic = session.get(Clinic, clinic_id)
    clinic_code = clinic.institution_code if clinic else ""
    digest = hashlib.sha256(data).hexdigest()
    stored = session.scalar(scoped(LabMessage, clinic_id).where(LabMessage.sha256 == digest))
    if stored is not None and stored.status in ("imported", "duplicate"):
        ack = build_ack("AA", "受信済み（重複）", _try_split(data), clinic_code)
        return ImportOutcome(True, stored.status, stored.id, "", ack, 0, duplicate=True)
    if stored is None:
        stored = LabMessage(clinic_id=clinic_id, source=source, filename=filename[:255], raw=data, sha256=digest,
                            status="received")
        session.add(stored)
    session.commit()  # the raw message is kept whatever happens next
    message: Message | None = None
    try:
        try:
            message = split_message(data)
        except (HL7DecodeError, HL7SyntaxError) as exc:
            raise _refuse(str(exc), "AR") from exc
        stored.codec = message.codec
        stored.message_type = message.message_type[:20]
        _check_truncation(data, message)
        kind = _check_header(message)
        msh = message.msh
        stored.control_key = f"{msh.component(3)}|{msh.component(4)}|{msh.component(10)}"[:120]
        earlier = session.scalar(scoped(LabMessage, clinic_id).where(
            LabMessage.control_key == stored.control_key, LabMessage.status == "imported",
            LabMessage.id != stored.id))
        if earlier is not None:
            stored.status, stored.error = "duplicate", f"受信済みのメッセージ #{earlier.id} と同じ制御IDです"
            stored.patient_id = earlier.patient_id
            session.commit()
            return ImportOutcome(True, "duplicate", stored.id, "", build_ack("AA", "受信済み（重複）", message,
                                                                            clinic_code), 0, duplicate=True)
        patient = _patient(session, clinic_id, message)
        rows = _rows(session, clinic_id, patient, kind, _groups(message, kind), master or _Master(session))
        count = _store(session, clinic_id, patient, stored, rows)
        _update_orders(session, clinic_id, rows)
        stored.status, stored.error, stored.patient_id = "imported", "", patient.id
        stored.result_count, stored.imported_at = count, utcnow()
        record_audit(session, SYSTEM, "lab.results_imported", clinic_id=clinic_id, entity_type="lab_message",
                     entity_id=stored.id, patient_id=patient.id,
                     summary={"after": {"results": count, "type": kind, "source": source}})
        session.commit()
        return ImportOutcome(True, "imported", stored.id, "", build_ack("AA", "", message, clinic_code), count)
    except (ImportRefused, SQLAlchemyError, ValueError) as exc:
        # A database refusal (a value too long for its column …) is a failed import like any other: nothing of
        # the message is kept but the raw bytes and the reason.
        session.rollback()
        if not isinstance(exc, ImportRefused):
            exc = ImportRefused(f"取り込み中にエラーが発生しました（{type(exc).__name__}）。内容を確認してください")
        stored = session.get(LabMessage, stored.id)
        stored.status, stored.error = "failed", str(exc)[:2000]
        if message is not None:
            stored.codec, stored.message_type = message.codec, message.message_type[:20]
        session.commit()
        return ImportOutcome(False, "failed", stored.id, str(exc), build_ack(exc.ack_code, str(exc), message,
                                                                             clinic_code))


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
