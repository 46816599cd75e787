"""Reading an incoming result message (OUL^R22 / ORU^R01): its structure and header checked, its patient, specimens
and results found against the lab-item master and what the database holds (read once per import, in a Batch), and
turned into result rows — or refused whole with a Japanese reason (ImportRefused). Nothing here writes; importer.py
stores, imports and acknowledges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.core.jp import search_key
from app.core.timeutil import JST
from app.db import utcnow
from app.labs.hl7 import Message, Segment, components, timestamp, unescape
from app.labs.import_batch import Batch, ItemMaster, SpecimenRecord
from app.labs.models import LabOrder
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


def find_patient(batch: Batch, message: Message) -> Patient:
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
    patient = batch.patient(patient_id)
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


_WHEN_CACHE: dict[str, datetime] = {}


def _when(text: str, where: str) -> datetime | None:
    if not text:
        return None
    if text in _WHEN_CACHE:
        return _WHEN_CACHE[text]
    parts = timestamp(text)
    if parts is None:
        raise refuse(f"{where}「{text[:30]}」が日時（YYYYMMDDHHMM）の形ではありません")
    try:
        value = datetime(*parts, tzinfo=JST)
    except ValueError as exc:
        raise refuse(f"{where}「{text[:30]}」はありえない日時です") from exc
    if value.astimezone(UTC) > utcnow() + timedelta(days=1):
        raise refuse(f"{where}「{text[:30]}」が未来の日時です")
    if len(_WHEN_CACHE) > 10_000:
        _WHEN_CACHE.clear()
    _WHEN_CACHE[text] = value.astimezone(UTC)
    return _WHEN_CACHE[text]


#: What the fields that repeat from message to message mean, by their texts: OBX-3 (the master item and the code as
#: sent), OBX-6 (the unit as sent), OBX-7 (the range as sent) and OBX-8 (the flag), and an NM value's text and
#: number. A drop of thousands of results repeats a few hundred of these; reading each once saves most of the
#: per-result work. Bounded: cleared when one grows past its limit.
_REMEMBERED_LIMIT = 20_000
_NUMBERS: dict[str, float] = {}
_FIRST_COMPONENT: dict[str, str] = {}


def _fields(master: ItemMaster, code: str, unit: str, reference: str, flag: str) -> tuple[Any, str, str, str, str]:
    """(master item or None, code as sent, unit as sent, range as sent, flag) of OBX-3, -6, -7 and -8, remembered
    with the master they were read against."""
    remembered = master.remembered
    key = (code, unit, reference, flag)
    found = remembered.get(key)
    if found is None:
        if len(remembered) > _REMEMBERED_LIMIT:
            remembered.clear()
        units = components(unit)
        found = remembered[key] = (master.find_code(components(code)), components(code)[0],
                                (units[1] if len(units) > 1 else "") or units[0], components(reference)[0],
                                components(flag)[0])
    return found


def _first_component(field_text: str) -> str:
    """The first unescaped component of a field whose text repeats (OBX-14), remembered by text."""
    found = _FIRST_COMPONENT.get(field_text)
    if found is None:
        if len(_FIRST_COMPONENT) > _REMEMBERED_LIMIT:
            _FIRST_COMPONENT.clear()
        found = _FIRST_COMPONENT[field_text] = components(field_text)[0]
    return found


def _value(obx: Segment, value_type: str, raw: str) -> tuple[str, float | None]:
    """OBX-5 (its first repetition) checked against its type OBX-2: the text kept and the number, if it is one."""
    if "~" in raw:
        raw = raw.split("~", 1)[0]
    if value_type == "NM":
        number = _NUMBERS.get(raw)
        if number is not None:
            return raw, number
        text = raw.strip()
        if not NUMBER.fullmatch(text):
            raise refuse(f"{_where(obx)}: 数値型（NM）の結果「{text[:20]}」が数値ではありません")
        if text == raw:  # values with spaces around them are rare: not remembered
            if len(_NUMBERS) > _REMEMBERED_LIMIT:
                _NUMBERS.clear()
            _NUMBERS[raw] = float(text)
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


def result_rows(batch: Batch, patient: Patient, kind: str, groups: list[ResultGroup]) -> list[ResultRow]:
    """Every result of the groups as a row to insert, checked against the master, specimens and types."""
    rows: list[ResultRow] = []
    days: dict[datetime, date] = {}  # the Japanese date of each collection time (the same for most results)
    for group in groups:
        spm = group.spm
        number = (spm.component(2, 1) or spm.component(2, 2)) if spm else ""
        specimen: SpecimenRecord | None = None
        order: LabOrder | None = None
        if number:
            specimen = batch.specimen(number)
            if specimen is None or specimen.patient_id != patient.id:
                raise refuse(f"検体番号「{number}」はこの患者の検査依頼にありません")
        else:
            placer = group.obr.component(2)
            order = batch.order(placer) if placer else None
            if order is None or order.patient_id != patient.id:
                raise refuse(f"検体番号がなく、依頼番号「{placer or '空'}」もこの患者の検査依頼にありません")
        collected_default = (_when(spm.get(17).split("^")[0], "SPM-17（採取日時）") if spm else None) \
            or _when(group.obr.component(7), "OBR-7（採取日時）")
        for obx, comments in group.results:
            # Each field is split once here (this loop runs for every result of an import).
            fields = obx.fields if len(obx.fields) > 14 else obx.fields + [""] * (15 - len(obx.fields))
            value_type, status = fields[2], fields[11]
            if value_type not in VALUE_TYPES:
                raise refuse(f"{_where(obx)}: 値の型（OBX-2）「{value_type[:10] or '空'}」には対応していません")
            if status not in STATUSES:
                raise refuse(f"{_where(obx)}: 結果状態（OBX-11）「{status[:5] or '空'}」がありません。"
                              "メッセージが途中で切れている可能性があります")
            item, sent_code, sent_unit, reference, flag = _fields(batch.master, fields[3], fields[6], fields[7],
                                                                  fields[8])
            if item is None:
                code = components(fields[3])
                raise refuse(f"{_where(obx)}: 検査コード「{code[0][:20]}」（{(code + ['', ''])[1][:30]}）は"
                              "検査項目マスターにありません")
            value, numeric = (("", None) if status in ("X", "D") and not fields[5]
                              else _value(obx, value_type, fields[5]))
            if not value and status not in ("X", "D"):
                raise refuse(f"{_where(obx)}: 結果の値（OBX-5）がありません")
            if flag not in FLAGS:
                raise refuse(f"{_where(obx)}: 異常値フラグ（OBX-8）「{flag[:5]}」が正しくありません")
            observed = _first_component(fields[14]) if fields[14] else ""
            collected = ((_WHEN_CACHE.get(observed) or _when(observed, f"{_where(obx)} OBX-14（検査日時）"))
                         if observed else None) or collected_default
            if collected is None:
                raise refuse(f"{_where(obx)}: 採取日時（OBX-14・SPM-17・OBR-7）がありません")
            collected_on = days.get(collected)
            if collected_on is None:
                collected_on = days[collected] = collected.astimezone(JST).date()
            target = specimen
            if target is None and order is not None:
                target = next((s for s in batch.order_specimens.get(order.id, ()) if item.lab_code in s.lab_codes),
                              None)
            unit = sent_unit or item.unit
            rows.append({
                "lab_code": item.lab_code, "jlac10": sent_code[:17], "name": item.name,
                "sub_id": fields[4][:20], "value_type": value_type, "value": value[:200], "numeric_value": numeric,
                "unit": unit[:30], "reference_range": (reference or item.reference_for(patient.sex))[:60],
                "flag": "" if flag == "N" else flag, "result_status": status,
                "comment": " / ".join(filter(None, comments))[:500] if comments else "",
                "collected_at": collected, "collected_on": collected_on,
                "specimen_number": target.specimen_number if target else number,
                "order_id": target.order_id if target else (order.id if order else None),
                "retracted": status == "D", "version": 1, "lineage_id": None, "change_reason": "",
                "superseded_at": None, "recorded_by_id": None, "recorded_by_name": "検査会社",
            })
    return rows
