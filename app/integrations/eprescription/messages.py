"""The 電子処方箋管理サービス's XML messages: the request envelope and the reply with its result lists.

Shapes as docs/standards/eprescription.md §2 records them: `XmlMsg/MessageHeader` (MedicalInstitutionCode,
ArbitraryFileIdentifier; in a reply CharacterCodeIdentifier, SegmentOfResult, ErrorCode, ErrorMessage) and
`XmlMsg/MessageBody` (ProcessingResultStatus, ProcessingResultCode/Message, the operation's fields and the
XmlCheckResultList / CsvCheckResultList / VerifyResultList lists). Depends on the standard library only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from xml.etree import ElementTree

#: OQSCD003 SegmentOfResult: 1 正常終了, 2 処理中, 9 異常終了.
SEGMENT_OK, SEGMENT_PROCESSING, SEGMENT_FAILED = "1", "2", "9"
#: OQSCD004 ProcessingResultStatus: 1 正常終了, 2 エラー.
STATUS_OK, STATUS_ERROR = "1", "2"
#: OQSCD005 CharacterCodeIdentifier: 0 UTF-8, 1 Shift_JIS.
CHARSET_UTF8 = "0"
#: OQSCD017 IssueType: 1 電子処方箋, 2 紙の処方箋.
ISSUE_ELECTRONIC, ISSUE_PAPER = "1", "2"
CHECK_LISTS = ("XmlCheckResultList", "CsvCheckResultList")


class MessageError(ValueError):
    """A reply that is not the service's XML (the message is Japanese, for staff)."""


def build_request(institution_code: str, file_identifier: str, body: dict[str, str | list[dict[str, str]]]) -> bytes:
    """An `XmlMsg` request: the header names the clinic and our identifier, the body the operation's fields (a list
    value repeats its element, each item a dict of child elements)."""
    root = ElementTree.Element("XmlMsg")
    header = ElementTree.SubElement(root, "MessageHeader")
    ElementTree.SubElement(header, "MedicalInstitutionCode").text = institution_code
    ElementTree.SubElement(header, "ArbitraryFileIdentifier").text = file_identifier
    message_body = ElementTree.SubElement(root, "MessageBody")
    for name, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            element = ElementTree.SubElement(message_body, name)
            if isinstance(item, dict):
                for child, text in item.items():
                    ElementTree.SubElement(element, child).text = text
            else:
                element.text = item
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>' + ElementTree.tostring(root, encoding="unicode"
                                                                                          ).encode("utf-8")


@dataclass(frozen=True)
class ResultItem:
    """One entry of a check list: the service's code (EPSB…) and its message; for VerifyResultList the status and
    the reasons."""

    list_name: str
    code: str
    message: str

    def display(self) -> str:
        """`EPSB0052E 改行コードはLFで記録してください。`"""
        return f"{self.code} {self.message}".strip()


@dataclass(frozen=True)
class ServiceReply:
    """A reply as the service wrote it."""

    segment: str
    status: str
    file_identifier: str
    error_code: str = ""
    error_message: str = ""
    result_code: str = ""
    result_message: str = ""
    results: tuple[ResultItem, ...] = ()
    body: ElementTree.Element = field(default_factory=lambda: ElementTree.Element("MessageBody"))

    @property
    def ok(self) -> bool:
        """Processed and accepted."""
        return self.segment == SEGMENT_OK and self.status == STATUS_OK

    def text(self, name: str) -> str:
        """A body field's text ("" when absent)."""
        return (self.body.findtext(name) or "").strip()

    def problems(self) -> list[str]:
        """What the service said was wrong, each with its code, for staff."""
        found = [item.display() for item in self.results]
        if self.error_code or self.error_message:
            found.insert(0, f"{self.error_code} {self.error_message}".strip())
        if self.result_code or self.result_message:
            found.append(f"{self.result_code} {self.result_message}".strip())
        return found or ["電子処方箋管理サービスがエラーを返しました（詳細なし）"]


def _results(body: ElementTree.Element) -> tuple[ResultItem, ...]:
    items = [ResultItem(name, (e.findtext("ResultCode") or "").strip(), (e.findtext("ResultMessage") or "").strip())
             for name in CHECK_LISTS for e in body.findall(name)]
    for verify in body.findall("VerifyResultList"):
        reasons = verify.findall("FailureReasons")
        if not reasons:
            items.append(ResultItem("VerifyResultList", (verify.findtext("Status") or "").strip(),
                                    (verify.findtext("Message") or "").strip()))
        for reason in reasons:
            items.append(ResultItem("VerifyResultList", (reason.findtext("MessageCode") or "").strip(),
                                    (reason.findtext("Message") or verify.findtext("Message") or "").strip()))
    return tuple(items)


def parse_reply(data: bytes) -> ServiceReply:
    """Read a reply file; MessageError when it is not an XmlMsg."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MessageError("電子処方箋管理サービスの応答に DOCTYPE/ENTITY 宣言があります。受け付けません")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 — no DTD possible (checked above)
    except ElementTree.ParseError as exc:
        raise MessageError("電子処方箋管理サービスの応答がXMLとして読めません") from exc
    header, body = root.find("MessageHeader"), root.find("MessageBody")
    if root.tag != "XmlMsg" or header is None:
        raise MessageError("電子処方箋管理サービスの応答が XmlMsg ではありません")
    body = body if body is not None else ElementTree.Element("MessageBody")

    def head(name: str) -> str:
        return (header.findtext(name) or "").strip()

    return ServiceReply(segment=head("SegmentOfResult"), status=(body.findtext("ProcessingResultStatus") or "").strip(),
                        file_identifier=head("ArbitraryFileIdentifier"), error_code=head("ErrorCode"),
                        error_message=head("ErrorMessage"),
                        result_code=(body.findtext("ProcessingResultCode") or "").strip(),
                        result_message=(body.findtext("ProcessingResultMessage") or "").strip(),
                        results=_results(body), body=body)


def b64(data: bytes) -> str:
    """Base64 text as the messages carry it."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Decode Base64 from a reply; MessageError naming `what` when it is not Base64."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MessageError(f"電子処方箋管理サービスの応答の{what}がBase64として読めません") from exc
