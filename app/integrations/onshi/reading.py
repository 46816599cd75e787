"""Strict reading of the history replies into plain values: a reply is read whole or refused with the reason
(OnshiReplyError) — never half. A reply that carries another patient or another request, a date that is not one,
or a code of a system we do not know is refused; the service's own refusal (ResultCode ≠ 1, e.g. no consent)
is OnshiRefused with its MessageContents. Layout: docs/standards/onshi.md §5.

Parsed with lxml: its tree lives outside Python's heap, so a reply of a thousand drug lines adds no hundred thousand
objects for the garbage collector to walk (ElementTree's did, and in a busy app process the collections it set off
cost more than the parsing); the records are then read by direct children, not by path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from functools import lru_cache
from typing import Any, TypedDict

from lxml import etree  # DOCTYPE/ENTITY are refused before parsing; no DTD, entity or network is ever loaded

DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9_.\-]+)[\"'][^>]*\?>")
#: Declared encodings → codec (Shift_JIS files from Windows terminals use the cp932 repertoire).
CODECS = {"utf-8": "utf-8", "utf8": "utf-8", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
          "windows-31j": "cp932", "cp932": "cp932"}
#: CharacterCodeIdentifier: 0 = UTF-8, 1 = Shift_JIS.
CHARACTER_CODES = {"0": "utf-8", "1": "cp932"}
SEXES = {"1": "M", "2": "F"}
#: Drug codes: the 9-digit レセプト電算処理システム用コード (医薬品) or the 12-character 薬価基準収載医薬品コード (YJ).
RECEIPT_DRUG = re.compile(r"^6\d{8}$")
YJ_DRUG = re.compile(r"^\d{4}[0-9A-Z]\d{2}[A-Z]\d{3}[0-9A-Z]$")
#: 診療行為コード (レセ電, 9 digits starting with 1).
PROCEDURE_CODE = re.compile(r"^1\d{8}$")
#: The code system of 特定健診 item codes (特定健診項目コード, as in the 特定健診 HL7 CDA and FHIR files).
CHECKUP_ITEM_OID = "1.2.392.200119.6.1005"
RECEIPT, EPRESCRIPTION, DISPENSED = "receipt", "eprescription", "dispensed"
SOURCE_LABELS = {RECEIPT: "レセプト", EPRESCRIPTION: "電子処方箋の処方", DISPENSED: "電子処方箋の調剤"}
#: The three roots of a 薬剤 reply: (source, month path, month tags, date path, date tags, drug path, category
#: tag); a path is (container, record) below MessageBody or the record above it (None: no container).
#: Month tags: 区分, 医療機関コード, 医療機関名, 年月, 処方医療機関コード, 処方医療機関名, 処方発行元.
ROOTS = (
    (RECEIPT, (None, "MeTrMonthInf"),
     ("DiOrg", "MeTrDiHCd", "MeTrDiHNm", "MeTrMonth", "PrlsHCd", "PrlsHNm", "PrIsOrg"),
     ("DiDateInfs", "DiDateInf"), ("DiDate", "PrDate"), ("DrugInfs", "DrugInf"), "MeTrIdCl"),
    (DISPENSED, ("CzDiInf", "CzDiMonthInf"),
     ("CzDiOrg", "CzMeTrDiHCd", "CzMeTrDiHNm", "CzDiMonth", "CzPrlsHCd", "CzPrlsHNm", "CzPrIsOrg"),
     ("CzDiDateInfs", "CzDiDateInf"), ("CzDiDate", "CzPrDate"), ("CzDrugInfs", "CzDrugInf"), "CzUsageCl"),
    (EPRESCRIPTION, ("ShPrInf", "ShPrMonthInf"),
     ("ShPrOrg", "ShMeTrDiHCd", "ShMeTrDiHNm", "ShPrMonth", "ShPrHCd", "ShPrHNm", "ShPrIsOrg"),
     ("ShPrDateInfs", "ShPrDateInf"), ("ShPrDate", "ShPrDate"), ("ShDrugInfs", "ShDrugInf"), "ShUsageCl"),
)
#: The 診療行為 of a receipt's day.
ACTS = ("MeTrInfs", "MeTrInf")


class OnshiReplyError(Exception):
    """The reply cannot be used; str() says why, in Japanese (it is kept as received, shown as unreadable)."""


class OnshiRefused(Exception):
    """The service answered with an error (ResultCode ≠ 1): no or expired consent, patient not found …"""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"オンライン資格確認等システムが照会を受け付けませんでした（{code}）: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReplyPatient:
    """Who the reply is about, as the service names them."""

    name: str
    kana: str
    birth_date: date
    sex: str


class Dispensing(TypedDict):
    """One drug of one day's prescription or dispensing, with where it came from — built as the plain values that
    are kept (dates as ISO text): a reply holds a thousand, and they go to the database as they are."""

    source: str  # receipt / eprescription / dispensed
    day: str  # 診療日・調剤日・処方日
    prescribed_on: str | None
    institution_code: str
    institution_name: str
    prescriber_code: str
    prescriber_name: str
    own: bool  # 処方発行元 1 = 自院
    drug_code: str
    drug_name: str
    ingredient: str
    quantity: str
    unit: str
    usage: str
    instruction: str
    times: str  # 回数・日数
    category: str


class Procedure(TypedDict):
    """One 診療行為 of one day at one institution (from the receipts), as plain values (the day as ISO text)."""

    day: str
    institution_code: str
    institution_name: str
    code: str
    name: str
    quantity: str
    times: str
    unit: str


@dataclass(frozen=True)
class MedicationHistory:
    """A 薬剤 (+診療) reply read whole."""

    patient: ReplyPatient
    dispensings: tuple[Dispensing, ...]
    procedures: tuple[Procedure, ...]


@dataclass
class CheckupItem:  # not frozen: a reply holds a thousand, built fast
    """One item of a checkup: its code, name, value (numeric or coded) and unit."""

    code: str
    name: str
    data_type: str
    value: str
    unit: str
    value_name: str


@dataclass(frozen=True)
class Checkup:
    """One 特定健診 on one day."""

    day: date
    items: tuple[CheckupItem, ...]


@dataclass(frozen=True)
class CheckupHistory:
    """A 特定健診 reply read whole."""

    patient: ReplyPatient
    checkups: tuple[Checkup, ...]


def parse_file(body: bytes) -> etree._Element:
    """The XML root, decoded as its declaration says (UTF-8 without one); no DOCTYPE or ENTITY is accepted, comments
    and processing instructions are dropped (they carry no data)."""
    match = DECLARATION.match(body)
    declared = match.group(1).decode("ascii").lower() if match else "utf-8"
    codec = CODECS.get(declared)
    if codec is None:
        raise OnshiReplyError(f"応答の文字コード {declared} は読めません（UTF-8 か Shift_JIS）")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise OnshiReplyError("応答に DOCTYPE/ENTITY 宣言が含まれています")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
                             remove_pis=True)
    try:
        text = body[match.end() if match else 0:].decode(codec).lstrip("\ufeff")
        root = etree.fromstring(text, parser)  # noqa: S320 — no DTD possible (checked above), none loaded
    except UnicodeDecodeError:
        raise OnshiReplyError(f"応答が宣言された文字コード（{declared}）として読めません") from None
    except (etree.XMLSyntaxError, ValueError) as exc:  # ValueError: a NUL or control character
        raise OnshiReplyError(f"応答がXMLとして読めません（{exc}）") from None
    if root.tag != "XmlMsg":
        raise OnshiReplyError(f"応答の最上位が XmlMsg ではありません（<{root.tag}>）")
    root.set("_codec", codec)
    return root


def _text(node: etree._Element, path: str, what: str, required: bool = False) -> str:
    found = node.findall(path)
    if len(found) > 1:
        raise OnshiReplyError(f"{what}（{path}）が複数あります")
    value = (found[0].text or "").strip() if found else ""
    if required and not value:
        raise OnshiReplyError(f"{what}（{path}）がありません")
    return value


def _day(node: etree._Element, path: str, what: str, required: bool = True) -> date | None:
    return _as_day(_text(node, path, what, required), path, what)


@lru_cache(maxsize=4096)
def _as_day(value: str, path: str, what: str) -> date | None:
    """YYYYMMDD as a date (None when empty); anything else refuses the reply."""
    if not value:
        return None
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise OnshiReplyError(f"{what}（{path}={value}）が日付（YYYYMMDD）ではありません") from None


@lru_cache(maxsize=4096)
def _iso_day(value: str, path: str, what: str) -> str | None:
    """YYYYMMDD as ISO text (None when empty), checked as _as_day checks it."""
    day = _as_day(value, path, what)
    return day.isoformat() if day else None


def _fields(node: etree._Element, what: str) -> dict[str, str]:
    """A record's leaf children by tag, read in one pass (a tag given twice refuses the reply)."""
    found = {child.tag: (child.text or "").strip() for child in node}
    if len(found) != len(node):  # a tag given twice: say which
        seen: set[str] = set()
        twice = next(child.tag for child in node if child.tag in seen or seen.add(child.tag))
        raise OnshiReplyError(f"{what}の {twice} が複数あります")
    return found


def _records(node: etree._Element, path: tuple[str | None, str]) -> Iterator[etree._Element]:
    """The records of a path (container, record) below a node, in order: the children of each container child
    (the walk `findall("container/record")` does, without parsing a path each time)."""
    container, record = path
    if container is None:
        return node.iterchildren(record)
    return (item for box in node.iterchildren(container) for item in box.iterchildren(record))


def _required(fields: dict[str, str], tag: str, what: str) -> str:
    value = fields.get(tag, "")
    if not value:
        raise OnshiReplyError(f"{what}（{tag}）がありません")
    return value


def _header(root: etree._Element, request_id: str) -> etree._Element:
    """The header, checked: the declared encoding agrees, it answers our request, the service did the work."""
    header = root.find("MessageHeader")
    if header is None:
        raise OnshiReplyError("MessageHeader がありません")
    code = _text(header, "CharacterCodeIdentifier", "文字コード識別")
    if code and CHARACTER_CODES.get(code) != root.get("_codec"):
        raise OnshiReplyError(f"文字コード識別（{code}）がXML宣言の文字コードと一致しません")
    answered = _text(header, "ArbitraryFileIdentifier", "任意のファイル識別子", required=True)
    if answered != request_id:
        raise OnshiReplyError(f"別の照会（{answered}）への応答です")
    result = _text(header, "ResultCode", "処理結果コード", required=True)
    if result != "1":
        raise OnshiRefused(result, _text(header, "MessageContents", "メッセージ内容") or "（理由の記載なし）")
    return header


def _patient(node: etree._Element | None, tags: tuple[str, str, str, str], birth: date, sex: str) -> ReplyPatient:
    if node is None:
        raise OnshiReplyError("応答に患者の情報がありません")
    name_tag, kana_tag, birth_tag, sex_tag = tags
    born = _day(node, birth_tag, "生年月日")
    gender = SEXES.get(_text(node, sex_tag, "性別", required=True))
    if gender is None:
        raise OnshiReplyError(f"性別（{sex_tag}）が1・2ではありません")
    if born != birth or gender != sex:
        raise OnshiReplyError("応答が別の患者のもの（生年月日・性別が一致しない）です")
    return ReplyPatient(_text(node, name_tag, "氏名"), _text(node, kana_tag, "カナ氏名"), birth, sex)


def _drug_code(value: str) -> str:
    if RECEIPT_DRUG.match(value) or YJ_DRUG.match(value):
        return value
    raise OnshiReplyError(f"薬剤コード {value!r} はレセ電コード・薬価基準コードのいずれでもありません"
                          "（未知のコード体系）")


def read_medication_reply(body: bytes, request_id: str, birth_date: date, sex: str) -> MedicationHistory:
    """A 薬剤 (+診療) reply for our patient (birth date and sex must agree) and our request."""
    root = parse_file(body)
    header = _header(root, request_id)
    patient = _patient(header.find("QuaInf"), ("Name", "KanaName", "Birth", "AdmGendCode"), birth_date, sex)
    message = root.find("MessageBody")
    if message is None:
        raise OnshiReplyError("MessageBody がありません")
    dispensings: list[Dispensing] = []
    procedures: list[Procedure] = []
    for source, month_path, month_tags, date_path, date_tags, drug_path, category_tag in ROOTS:
        for month in _records(message, month_path):
            _, code_tag, name_tag, _, prescriber_tag, prescriber_name_tag, own_tag = month_tags
            m = _fields(month, "月別の情報")  # one pass over the record's children (a path per field costs)
            code = _required(m, code_tag, "医療機関・薬局コード")
            name, own = m.get(name_tag, ""), m.get(own_tag, "")
            prescriber, prescriber_name = m.get(prescriber_tag, ""), m.get(prescriber_name_tag, "")
            if own not in ("", "1", "2"):
                raise OnshiReplyError(f"処方発行元（{own_tag}={own}）が1・2ではありません")
            for day_node in _records(month, date_path):
                d = _fields(day_node, "日別の情報")
                day = _iso_day(_required(d, date_tags[0], "診療・調剤日"), date_tags[0], "診療・調剤日")
                prescribed = _iso_day(d.get(date_tags[1], ""), date_tags[1], "処方日")
                for drug in _records(day_node, drug_path):
                    f = _fields(drug, "薬剤")
                    dispensings.append({
                        "source": source, "day": day, "prescribed_on": prescribed, "institution_code": code,
                        "institution_name": name, "prescriber_code": prescriber, "prescriber_name": prescriber_name,
                        "own": own == "1", "drug_code": _drug_code(_required(f, "DrugC", "薬剤コード")),
                        "drug_name": _required(f, "DrugN", "薬剤名"), "ingredient": f.get("IngreN", ""),
                        "quantity": f.get("Qua1", ""), "unit": f.get("Unit", ""), "usage": f.get("UsageN", ""),
                        "instruction": f.get("SpInst", ""), "times": f.get("Times", ""),
                        "category": f.get(category_tag, "")})
                if source != RECEIPT:
                    continue
                for act in _records(day_node, ACTS):
                    f = _fields(act, "診療行為")
                    act_code = _required(f, "SinInfCd", "診療行為コード")
                    if not PROCEDURE_CODE.match(act_code):
                        raise OnshiReplyError(f"診療行為コード {act_code!r} はレセ電の診療行為コードではありません"
                                              "（未知のコード体系）")
                    procedures.append({"day": day, "institution_code": code, "institution_name": name,
                                       "code": act_code, "name": _required(f, "SinInfN", "診療行為名"),
                                       "quantity": f.get("Qua1", ""), "times": f.get("Times", ""),
                                       "unit": f.get("Unit", "")})
    return MedicationHistory(patient, tuple(dispensings), tuple(procedures))


def read_checkup_reply(body: bytes, request_id: str, birth_date: date, sex: str) -> CheckupHistory:
    """A 特定健診 reply for our patient and our request."""
    root = parse_file(body)
    header = _header(root, request_id)
    patient = _patient(header.find("QualificationsInfo"), ("Name", "KanasName", "Birthday",
                                                           "AdministrativeGenderCode"), birth_date, sex)
    checkups = []
    for record in root.findall("MessageBody/SpecificHealthCheckupInfo"):
        day = _day(record, "EffectiveTime", "健診実施日")
        items = []
        for item in record.findall("HealthCheckupResultAndQuestionInfos/HealthCheckupResultAndQuestionInfo"):
            code = _text(item, "ItemCode", "項目コード", required=True)
            oid = _text(item, "Oid", "コード体系（OID）", required=True)
            if oid != CHECKUP_ITEM_OID:
                raise OnshiReplyError(f"項目コード {code} のコード体系 {oid} は特定健診項目コードではありません"
                                      "（未知のコード体系）")
            items.append(CheckupItem(code, _text(item, "ItemName", "項目名", required=True),
                                     _text(item, "DataType", "データ型"), _text(item, "DataValue", "値"),
                                     _text(item, "Unit", "単位"), _text(item, "DataValueName", "値の名称")))
        checkups.append(Checkup(day, tuple(items)))
    return CheckupHistory(patient, tuple(checkups))


def _nested_fields(kind: type) -> tuple[str, ...]:
    """The fields of a reading's dataclass that are not plain text or flags (dates, records, tuples)."""
    found = _NESTED.get(kind)
    if found is None:
        found = _NESTED[kind] = tuple(f.name for f in fields(kind) if f.type not in ("str", "bool", "int"))
    return found


_NESTED: dict[type, tuple[str, ...]] = {}


def as_plain(value: Any) -> Any:
    """A reading as JSON-ready dicts and lists (dates as ISO text), to keep beside the file as received."""
    if isinstance(value, dict):  # the 薬剤・診療 records, read as plain values
        return value
    if isinstance(value, tuple | list):
        return [as_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value):
        plain = dict(vars(value))
        for key in _nested_fields(type(value)):  # the text fields, most of them, stay as they are
            plain[key] = as_plain(plain[key])
        return plain
    return value
