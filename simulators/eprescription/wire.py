"""The 電子処方箋管理サービス simulator's wire: reading a request's XmlMsg envelope, its Base64 and its 処方箋CSV as the
service does (refusing what it refuses, with the list and codes it reports them in), and writing its reply."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from xml.etree import ElementTree

CR_LINE_ENDS = ("EPSB0052E", "改行コードはLFで記録してください。")
REQUIRED_RECORDS = {"1": "医療機関", "5": "医師", "11": "患者氏名", "12": "患者性別", "13": "患者生年月日",
                    "51": "処方箋交付年月日", "101": "剤形", "111": "用法", "201": "薬品"}
CHECK_RECORDS = {"101", "111", "201"}


class Refusal(Exception):
    """A request the service refuses: the list it is reported in and its entries (code, message)."""

    def __init__(self, list_name: str, *entries: tuple[str, str]) -> None:
        super().__init__(entries)
        self.list_name = list_name
        self.entries = entries


def reply_xml(file_id: str, status: str, fields: dict[str, Any] | None = None, refusal: Refusal | None = None) -> bytes:
    root = ElementTree.Element("XmlMsg")
    header = ElementTree.SubElement(root, "MessageHeader")
    ElementTree.SubElement(header, "CharacterCodeIdentifier").text = "0"
    ElementTree.SubElement(header, "SegmentOfResult").text = "1"
    ElementTree.SubElement(header, "ArbitraryFileIdentifier").text = file_id
    body = ElementTree.SubElement(root, "MessageBody")
    ElementTree.SubElement(body, "ProcessingResultStatus").text = status
    for name, value in (fields or {}).items():
        for item in value if isinstance(value, list) else [value]:
            element = ElementTree.SubElement(body, name)
            if isinstance(item, dict):
                for child, text in item.items():
                    ElementTree.SubElement(element, child).text = text
            else:
                element.text = item
    if refusal and refusal.list_name == "VerifyResultList":
        verify = ElementTree.SubElement(body, "VerifyResultList")
        ElementTree.SubElement(verify, "Status").text = "2"
        ElementTree.SubElement(verify, "Message").text = "署名検証エラー"
        ElementTree.SubElement(verify, "SignId").text = "1"
        for code, message in refusal.entries:
            reason = ElementTree.SubElement(verify, "FailureReasons")
            ElementTree.SubElement(reason, "MessageKey").text = code
            ElementTree.SubElement(reason, "MessageCode").text = code
            ElementTree.SubElement(reason, "Message").text = message
    elif refusal and refusal.list_name == "ProcessingResult":
        code, message = refusal.entries[0]
        ElementTree.SubElement(body, "ProcessingResultCode").text = code
        ElementTree.SubElement(body, "ProcessingResultMessage").text = message
    elif refusal:
        for code, message in refusal.entries:  # ResultMessage before ResultCode, as in the real reply
            item = ElementTree.SubElement(body, refusal.list_name)
            ElementTree.SubElement(item, "ResultMessage").text = message
            ElementTree.SubElement(item, "ResultCode").text = code
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>' + ElementTree.tostring(root, "unicode").encode()


def parse_request(data: bytes) -> tuple[str, ElementTree.Element]:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Refusal("XmlCheckResultList", ("SIMX0001E", "要求XMLに DOCTYPE/ENTITY 宣言があります。"))
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 — no DTD possible (checked above)
    except ElementTree.ParseError as exc:
        raise Refusal("XmlCheckResultList", ("SIMX0001E", "要求XMLの形式に誤りがあります。")) from exc
    body = root.find("MessageBody")
    code = (root.findtext("MessageHeader/MedicalInstitutionCode") or "").strip()
    if root.tag != "XmlMsg" or body is None or not code:
        raise Refusal("XmlCheckResultList", ("SIMX0002E", "XmlMsg・MessageHeader・MessageBody がありません。"))
    return (root.findtext("MessageHeader/ArbitraryFileIdentifier") or "").strip(), body


def b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode((text or "").strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise Refusal("XmlCheckResultList", ("SIMX0003E", f"{what}がBase64として読めません。")) from exc


def read_csv(data: bytes, required: dict[str, str] | set[str]) -> list[list[str]]:
    """The CSV's records, or the refusal the service would give."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal("CsvCheckResultList", ("SIMC0001E", "処方箋CSVの文字コードが正しくありません。")) from exc
    if "\r" in text:
        raise Refusal("CsvCheckResultList", CR_LINE_ENDS)
    lines = text.split("\n")
    if lines[0] != "SJ1":
        raise Refusal("CsvCheckResultList", ("SIMC0002E", "処方箋CSVの1行目が SJ1 ではありません。"))
    records = [line.split(",") for line in lines[1:] if line]
    present = {r[0] for r in records}
    missing = [("SIMC0003E", f"{name}レコード（{number}）がありません。")
               for number, name in (required.items() if isinstance(required, dict) else
                                    ((n, REQUIRED_RECORDS[n]) for n in sorted(required, key=int)))
               if number not in present]
    if missing:
        raise Refusal("CsvCheckResultList", *missing)
    return records


def patient_of(records: list[list[str]]) -> tuple[str, str, str, str]:
    insurer = next((r[1] for r in records if r[0] == "22" and len(r) > 1), "")
    card = next((r for r in records if r[0] == "23" and len(r) > 4), ["23", "", "", "", ""])
    return insurer, card[1], card[2], card[4]


def drugs_of(records: list[list[str]]) -> list[tuple[str, str]]:
    return [(r[5], r[6]) for r in records if r[0] == "201" and len(r) > 6]
