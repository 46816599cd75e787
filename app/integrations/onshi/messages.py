"""Request files for the history: 薬剤 (with or without 診療) as YZKsiquc01, 特定健診 as TKKsiquc01, in the layout
open clients write (docs/standards/onshi.md §5), UTF-8 or Shift_JIS as the declaration says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from xml.etree import ElementTree as ET  # noqa: S405 — only building here

#: 業務コード of the request files (file names YZKsiquc01req_<id>.xml / TKKsiquc01req_<id>.xml).
MEDICATION_CODE = "YZKsiquc01"
CHECKUP_CODE = "TKKsiquc01"
#: FileCategory: 2 = 薬剤 XML, 4 = 薬剤＋診療 XML (1 and 3 are their PDFs); 特定健診 2 = XML, 1 = PDF.
XML_MEDICATION, XML_MEDICATION_DIAGNOSIS, XML_CHECKUP = "2", "4", "2"
PDF_MEDICATION, PDF_MEDICATION_DIAGNOSIS, PDF_CHECKUP = "1", "3", "1"
#: MedicalTreatmentFlag 1: the ordinary outpatient visit (consent at the card reader).
OUTPATIENT = "1"
ENCODINGS = {"UTF-8": "utf-8", "Shift_JIS": "shift_jis"}


class RequestError(ValueError):
    """The request cannot be written (a missing identity, a character Shift_JIS lacks); str() is for staff."""


@dataclass(frozen=True)
class Identity:
    """Who the history is asked for: the clinic and the patient's health insurance (記号・番号・枝番)."""

    institution_code: str
    insurer_number: str
    symbol: str
    number: str
    branch: str


def _header(identity: Identity, request_id: str) -> tuple[ET.Element, ET.Element]:
    if not (identity.institution_code.isascii() and identity.institution_code.isdigit()
            and len(identity.institution_code) == 10):
        raise RequestError("医療機関コード（10桁）が設定されていません")
    if not identity.insurer_number or not identity.number:
        raise RequestError("保険者番号・被保険者番号がないため照会できません（医療扶助・自衛官診療証などは対象外です）")
    root = ET.Element("XmlMsg")
    header = ET.SubElement(root, "MessageHeader")
    for tag, value in (("MedicalInstitutionCode", identity.institution_code),
                       ("InsurerNumber", identity.insurer_number), ("InsuranceCardSymbol", identity.symbol),
                       ("InsuredPersonIdentificationNumber", identity.number), ("BranchNumber", identity.branch),
                       ("ArbitraryFileIdentifier", request_id)):
        ET.SubElement(header, tag).text = value
    return root, ET.SubElement(root, "MessageBody")


def _file(root: ET.Element, encoding: str) -> bytes:
    codec = ENCODINGS.get(encoding)
    if codec is None:
        raise RequestError(f"文字コード {encoding} では送れません（UTF-8 か Shift_JIS）")
    text = ET.tostring(root, encoding="unicode")
    try:
        body = text.encode(codec)
    except UnicodeEncodeError as exc:
        raise RequestError(f"「{text[exc.start:exc.end]}」は {encoding} で送れない文字です") from None
    return f'<?xml version="1.0" encoding="{encoding}" standalone="no"?>'.encode("ascii") + body


def medication_request(identity: Identity, request_id: str, first_month: date, last_month: date, *,
                       with_diagnosis: bool, encoding: str = "UTF-8", pdf: bool = False) -> bytes:
    """The 薬剤情報 request (FileCategory 4 adds the 診療情報; 1 and 3 ask for the same as PDF) for the months
    first_month … last_month."""
    root, body = _header(identity, request_id)
    if pdf:
        category = PDF_MEDICATION_DIAGNOSIS if with_diagnosis else PDF_MEDICATION
    else:
        category = XML_MEDICATION_DIAGNOSIS if with_diagnosis else XML_MEDICATION
    for tag, value in (("StartDate", f"{first_month:%Y%m}"), ("EndDate", f"{last_month:%Y%m}"),
                       ("FileCategory", category),
                       ("PrDiInfClassification", "1"), ("MedicalTreatmentFlag", OUTPATIENT)):
        ET.SubElement(body, tag).text = value
    return _file(root, encoding)


def checkup_request(identity: Identity, request_id: str, *, encoding: str = "UTF-8", pdf: bool = False) -> bytes:
    """The 特定健診情報 request (it names no period: the service gives what it keeps, five years), XML or PDF."""
    root, body = _header(identity, request_id)
    for tag, value in (("FileCategory", PDF_CHECKUP if pdf else XML_CHECKUP), ("PrDiInfClassification", "1"),
                       ("MedicalTreatmentFlag", OUTPATIENT)):
        ET.SubElement(body, tag).text = value
    return _file(root, encoding)
