"""Reading an incoming result message (OUL^R22 / ORU^R01): its structure and header checked, its patient, specimens
and results found against the lab-item master and the clinic's orders, and
turned into result rows — or refused whole with a Japanese reason (ImportRefused). Nothing here writes; importer.py
stores, imports and acknowledges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, selectinload

from app.core.jp import search_key
from app.core.timeutil import JST
from app.db import in_chunks, scoped, utcnow
from app.labs.hl7 import Message, Segment, components, timestamp, unescape
from app.labs.masters import ItemMaster
from app.labs.models import LabOrder, LabSpecimen
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
class ResultGroup:
    """One OBR with its specimen (SPM) and its OBX results, each with the NTE comments after it."""

    obr: Segment
    spm: Segment | None
    results: list[tuple[Segment, list[str]]] = field(default_factory=list)
    in_specimen: bool = False


#: One result ready to insert: lab_result's column values (the importer adds the message's own: clinic, patient,
#: message, time recorded, and a new version's number and lineage).
ResultRow = dict[str, Any]


def refuse(text: str, ack_code: str = "AE") -> ImportRefused:
    """A refusal with its Japanese reason and ACK code (AE content, AR unreadable)."""
    return ImportRefused(text, ack_code)


def check_truncation(data: bytes, message: Message) -> None:
    """Refuse an ISO-2022-JP message cut short in transit (it ends inside kanji)."""
    # ISO-2022-JP text always switches back to ASCII (ESC ( B) before the end; a message that stops inside
    # kanji was cut off in transit.
    if message.codec.startswith("iso2022"):
        last_escape = data.rfind(b"\x1b")
        if data[last_escape:last_escape + 3] not in (b"\x1b(B", b"\x1b(J"):
            raise refuse("メッセージが途中で切れています（漢字の途中で終わっています）", "AR")


def check_header(message: Message) -> str:
    """Check MSH (message type, version 2.5, control ID) and the segment order; returns the message type."""
    msh = message.msh
    kind = message.message_type
    if kind not in STRUCTURES:
        raise refuse(f"検査結果のメッセージではありません（MSH-9 = {msh.get(9)[:30] or '空'}）。"
                      "受け付けるのは OUL^R22 と ORU^R01 です", "AR")
    version = msh.component(12)
    if not version.startswith("2.5"):
        raise refuse(f"HL7 のバージョンが 2.5 ではありません（MSH-12 = {version[:20] or '空'}）", "AR")
    if not msh.component(10):
        raise refuse("メッセージ制御ID（MSH-10）がありません", "AR")
    names = message.names()
    if not STRUCTURES[kind].fullmatch(names):
        raise refuse(f"セグメントの順序が {kind} の構造（{STRUCTURE_TEXT[kind]}）に合いません: "
                      f"{names.strip().replace(' ', '-')[:300]}", "AR")
    return kind


def find_patient(lookups: Lookups, message: Message) -> Patient:
    """The clinic's patient the PID names (by ORCA number, kana and birth date checked); refused otherwise."""
    pids = [s for s in message.segments if s.name == "PID"]
    if not pids:
        raise refuse("患者（PID セグメント）がありません")
    if len(pids) > 1:
        raise refuse("1つのメッセージに複数の患者が含まれています。患者ごとに分けて送ってください")
    pid = pids[0]
    patient_id = pid.component(3)
    if not patient_id:
        raise refuse("患者ID（PID-3）がありません")
    patient = lookups.patient(patient_id)
    if patient is None:
        raise refuse(f"患者ID「{patient_id}」の患者は当院に登録されていません")
    kana = next((rep for rep in pid.get(5).split("~") if rep.split("^")[6:7] == ["P"]), "")
    if kana:
        reported = search_key("".join(kana.split("^")[:2]))
        if reported and reported != search_key(patient.kana.replace(" ", "").replace("\u3000", "")):
            raise refuse(f"患者ID「{patient_id}」の氏名（カナ）が当院の記録と一致しません")
    birth = pid.component(7)
    if birth and birth[:8] != patient.birth_date.strftime("%Y%m%d"):
        raise refuse(f"患者ID「{patient_id}」の生年月日が当院の記録と一致しません")
    return patient


def group_results(message: Message, kind: str) -> list[ResultGroup]:
    """The message's OBR groups with their specimen and results, in order."""
    groups: list[ResultGroup] = []
    current_spm: Segment | None = None
    group: ResultGroup | None = None
    for segment in message.segments:
        if segment.name == "SPM":
            if kind == "OUL^R22":
                current_spm, group = segment, None
            elif group is not None:
                group.spm, group.in_specimen = segment, True
        elif segment.name == "OBR":
            group = ResultGroup(segment, current_spm if kind == "OUL^R22" else None)
            groups.append(group)
        elif segment.name == "OBX":
            # An OBX under SPM (OUL) or after the SPM (ORU) describes the specimen, not a result.
            if group is not None and not group.in_specimen:
                group.results.append((segment, []))
        elif segment.name == "NTE" and group is not None and group.results and not group.in_specimen:
            group.results[-1][1].append(segment.component(3))
    if not any(g.results for g in groups):
        raise refuse("結果（OBX）が1件もありません")
    return groups


def _when(text: str, where: str) -> datetime | None:
    """A HL7 time (Japan time) as UTC; refused when it is not a time, impossible or in the future."""
    if not text:
        return None
    parts = timestamp(text)
    if parts is None:
        raise refuse(f"{where}「{text[:30]}」が日時（YYYYMMDDHHMM）の形ではありません")
    try:
        value = datetime(*parts, tzinfo=JST)
    except ValueError as exc:
        raise refuse(f"{where}「{text[:30]}」はありえない日時です") from exc
    if value.astimezone(UTC) > utcnow() + timedelta(days=1):
        raise refuse(f"{where}「{text[:30]}」が未来の日時です")
    return value.astimezone(UTC)


def _value(obx: Segment, value_type: str, raw: str) -> tuple[str, float | None]:
    """OBX-5 (its first repetition) checked against its type OBX-2: the text kept and the number, if it is one."""
    raw = raw.split("~", 1)[0]
    if value_type == "NM":
        text = raw.strip()
        if not NUMBER.fullmatch(text):
            raise refuse(f"{_where(obx)}: 数値型（NM）の結果「{text[:20]}」が数値ではありません")
        return text, float(text)
    if value_type == "SN":
        parts = (raw.split("^") + ["", "", "", ""])[:4]
        comparator, number = parts[0], parts[1].strip()
        if comparator not in SN_COMPARATORS or (number and not NUMBER.fullmatch(number)):
            raise refuse(f"{_where(obx)}: 構造化数値（SN）の結果「{raw[:20]}」が正しくありません")
        text = f"{comparator}{number}{parts[2]}{parts[3]}"
        return text, float(number) if number and not comparator.strip("=") else None
    if value_type in ("CWE", "CE"):
        return obx.component(5, 2) or obx.component(5, 1), None
    return unescape(raw).strip(), None


def _where(obx: Segment) -> str:
    """How a refusal names the OBX."""
    return f"OBX {obx.get(1) or '?'}（{obx.line}行目）"


def _lab_codes(specimen: LabSpecimen) -> list[str]:
    """The lab codes of the tests in a specimen's container."""
    return [item["lab_code"] for item in specimen.items]


class Lookups:
    """The clinic's patients, specimens and orders that messages name, each read once: one message's on demand,
    or a whole group's read up front in a few queries (`preload`)."""

    def __init__(self, session: Session, clinic_id: int) -> None:
        self.session, self.clinic_id = session, clinic_id
        self.patients: dict[str, Patient | None] = {}
        self.specimens: dict[str, LabSpecimen | None] = {}
        self.orders: dict[str, LabOrder | None] = {}

    def preload(self, messages: list[Message]) -> None:
        """Read what these messages name (PID-3, SPM-2, OBR-2) in a few IN queries instead of one each."""
        patients, specimens, orders = set(), set(), set()
        for message in messages:
            for segment in message.segments:
                if segment.name == "PID":
                    patients.add(segment.component(3))
                elif segment.name == "SPM":
                    specimens.update((segment.component(2, 1), segment.component(2, 2)))
                elif segment.name == "OBR":
                    orders.add(segment.component(2))
        self._read(self.patients, Patient, Patient.orca_patient_id, patients, "orca_patient_id")
        self._read(self.specimens, LabSpecimen, LabSpecimen.specimen_number, specimens, "specimen_number")
        self._read(self.orders, LabOrder, LabOrder.order_number, orders, "order_number",
                   selectinload(LabOrder.specimens))

    def _read(self, found: dict[str, Any], model: Any, column: Any, keys: set[str], name: str, *options: Any) -> None:
        keys = sorted(keys - {""} - found.keys())
        found.update(dict.fromkeys(keys))  # not found is remembered too
        for chunk in in_chunks(keys):
            for row in self.session.scalars(scoped(model, self.clinic_id).where(column.in_(chunk)).options(*options)):
                found[getattr(row, name)] = row

    def patient(self, orca_patient_id: str) -> Patient | None:
        """The patient with this ORCA number (PID-3)."""
        if orca_patient_id not in self.patients:
            self.patients[orca_patient_id] = self.session.scalar(
                scoped(Patient, self.clinic_id).where(Patient.orca_patient_id == orca_patient_id))
        return self.patients[orca_patient_id]

    def specimen(self, number: str) -> LabSpecimen | None:
        """The specimen with this number (SPM-2)."""
        if number not in self.specimens:
            self.specimens[number] = self.session.scalar(
                scoped(LabSpecimen, self.clinic_id).where(LabSpecimen.specimen_number == number))
        return self.specimens[number]

    def order(self, number: str) -> LabOrder | None:
        """The order with this placer number (OBR-2), with its specimens."""
        if number not in self.orders:
            self.orders[number] = self.session.scalar(
                scoped(LabOrder, self.clinic_id).where(LabOrder.order_number == number)
                .options(selectinload(LabOrder.specimens)))
        return self.orders[number]


def result_rows(orders: Lookups, master: ItemMaster, patient: Patient, kind: str,
                groups: list[ResultGroup]) -> list[ResultRow]:
    """Every result of the groups as a row to insert, checked against the master, the patient's specimens and
    orders, and the value types."""
    rows: list[ResultRow] = []
    for group in groups:
        spm = group.spm
        number = (spm.component(2, 1) or spm.component(2, 2)) if spm else ""
        specimen: LabSpecimen | None = None
        order: LabOrder | None = None
        if number:
            specimen = orders.specimen(number)
            if specimen is None or specimen.patient_id != patient.id:
                raise refuse(f"検体番号「{number}」はこの患者の検査依頼にありません")
        else:
            placer = group.obr.component(2)
            order = orders.order(placer) if placer else None
            if order is None or order.patient_id != patient.id:
                raise refuse(f"検体番号がなく、依頼番号「{placer or '空'}」もこの患者の検査依頼にありません")
        collected_default = (_when(spm.get(17).split("^")[0], "SPM-17（採取日時）") if spm else None) \
            or _when(group.obr.component(7), "OBR-7（採取日時）")
        for obx, comments in group.results:
            rows.append(_result_row(master, patient, obx, comments, specimen, order, collected_default))
    return rows


def _result_row(master: ItemMaster, patient: Patient, obx: Segment, comments: list[str],
                specimen: LabSpecimen | None, order: LabOrder | None, collected_default: datetime | None) -> ResultRow:
    """One OBX as a row of lab_result, or refused with the reason."""
    value_type, status = obx.get(2), obx.get(11)
    if value_type not in VALUE_TYPES:
        raise refuse(f"{_where(obx)}: 値の型（OBX-2）「{value_type[:10] or '空'}」には対応していません")
    if status not in STATUSES:
        raise refuse(f"{_where(obx)}: 結果状態（OBX-11）「{status[:5] or '空'}」がありません。"
                      "メッセージが途中で切れている可能性があります")
    code = components(obx.get(3))
    item = master.find_code(code)
    if item is None:
        raise refuse(f"{_where(obx)}: 検査コード「{code[0][:20]}」（{(code + ['', ''])[1][:30]}）は"
                      "検査項目マスターにありません")
    raw_value = obx.get(5)
    value, numeric = ("", None) if status in ("X", "D") and not raw_value else _value(obx, value_type, raw_value)
    if not value and status not in ("X", "D"):
        raise refuse(f"{_where(obx)}: 結果の値（OBX-5）がありません")
    flag = components(obx.get(8))[0]
    if flag not in FLAGS:
        raise refuse(f"{_where(obx)}: 異常値フラグ（OBX-8）「{flag[:5]}」が正しくありません")
    observed = components(obx.get(14))[0]
    collected = _when(observed, f"{_where(obx)} OBX-14（検査日時）") or collected_default
    if collected is None:
        raise refuse(f"{_where(obx)}: 採取日時（OBX-14・SPM-17・OBR-7）がありません")
    units = components(obx.get(6))
    unit = ((units[1] if len(units) > 1 else "") or units[0]) or item.unit
    reference = components(obx.get(7))[0] or item.reference_for(patient.sex)
    if specimen is None and order is not None:  # ORU^R01 without SPM: the container that holds this test
        specimen = next((s for s in order.specimens if item.lab_code in _lab_codes(s)), None)
    return {
        "lab_code": item.lab_code, "jlac10": code[0][:17], "name": item.name, "sub_id": obx.get(4)[:20],
        "value_type": value_type, "value": value[:200], "numeric_value": numeric, "unit": unit[:30],
        "reference_range": reference[:60], "flag": "" if flag == "N" else flag, "result_status": status,
        "comment": " / ".join(filter(None, comments))[:500], "collected_at": collected,
        "collected_on": collected.astimezone(JST).date(),
        "specimen_number": specimen.specimen_number if specimen else "",
        "order_id": specimen.order_id if specimen else (order.id if order else None),
        "retracted": status == "D", "version": 1, "lineage_id": None, "change_reason": "", "superseded_at": None,
        "recorded_by_id": None, "recorded_by_name": "検査会社",
    }
