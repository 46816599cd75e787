"""The one builder of ORCA 中途データ lines (medicalmodv2 Medical_Information, orca.md §4a/§4d): every record that
bills through ORCA — a prescription's Rp, a lab order's tests and fees, a visit's 指導料・管理料 — says what it
bills as 剤 (Dose) and this module turns them into the array ORCA takes, with the 診療種別区分 of each 剤 and at
most 40 lines a 剤."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: ORCA takes at most 40 lines in one 剤 (and 40 剤 in one data).
MAX_LINES = 40
MAX_DOSES = 40
#: 診療種別区分 of a procedure by its 告示 section (orca.md §4d): A000 初診, A001/A002 再診, then by chapter.
CLASS_BY_CHAPTER = {"B": ("130", "医学管理"), "C": ("140", "在宅"), "D": ("600", "検査"), "E": ("700", "画像診断"),
                    "F": ("250", "処方"),
                    "G": ("300", "注射"), "J": ("400", "処置"), "K": ("500", "手術"), "N": ("640", "病理診断")}
CLASS_BY_SECTION = {"A000": ("110", "初診"), "A001": ("120", "再診"), "A002": ("120", "再診")}
#: Prescription 剤 (院外 only, orca.md §4d): 212 内服, 222 頓服, 232 外用.
PRESCRIPTION_CLASSES = {1: ("212", "内服（院外）"), 2: ("222", "頓服（院外）"), 3: ("232", "外用（院外）")}


class ClaimError(ValueError):
    """Lines that cannot become 中途データ; str() is a Japanese message."""


@dataclass
class Line:
    """One line of a 剤: a 9-digit レセ電算 code, its name and quantity (and the 一般名 flag of a drug)."""

    code: str
    name: str
    number: str = "1"
    generic: bool | None = None


@dataclass
class Dose:
    """One 剤: its 診療種別区分, name, 回数・日数 and lines."""

    medical_class: str
    class_name: str
    count: int = 1
    lines: list[Line] = field(default_factory=list)
    #: The record the 剤 bills (the visit summary shows its delivery state); never sent.
    record: Any = field(default=None, compare=False)


def procedure_class(chapter: str, section_no: str) -> tuple[str, str]:
    """The 診療種別区分 of a procedure from its 告示 chapter and 区分番号."""
    found = CLASS_BY_SECTION.get(f"{chapter}{section_no}") or CLASS_BY_CHAPTER.get(chapter)
    if found is None:
        raise ClaimError(f"告示の区分「{chapter}{section_no}」の診療種別区分が決められません")
    return found


def procedure_doses(items: list[tuple[str, str, str, str, int]]) -> list[Dose]:
    """(code, name, chapter, section_no, quantity) of procedures → one 剤 per 診療種別区分, in first-seen order."""
    doses: dict[str, Dose] = {}
    for code, name, chapter, section_no, quantity in items:
        medical_class, class_name = procedure_class(chapter, section_no)
        dose = doses.setdefault(medical_class, Dose(medical_class, class_name))
        dose.lines.append(Line(code, name, str(quantity)))
    return list(doses.values())


def medical_information(doses: list[Dose]) -> list[dict[str, Any]]:
    """The Medical_Information array: each 剤 split into 40-line parts; codes checked as ORCA checks them."""
    entries = []
    for dose in doses:
        if not dose.medical_class:
            raise ClaimError("診療種別区分のない剤は送れません")
        for line in dose.lines:
            if not (len(line.code) == 9 and line.code.isdigit()):
                raise ClaimError(f"「{line.name}」のコード「{line.code}」は9桁のレセ電算コードではありません")
        for start in range(0, len(dose.lines), MAX_LINES):
            entries.append({
                "Medical_Class": dose.medical_class, "Medical_Class_Name": dose.class_name,
                "Medical_Class_Number": str(dose.count),
                "Medication_info": [_line(line) for line in dose.lines[start:start + MAX_LINES]]})
    if len(entries) > MAX_DOSES:
        raise ClaimError(f"剤が{len(entries)}あり、ORCAが一度に受け付ける{MAX_DOSES}剤を超えています")
    return entries


def _line(line: Line) -> dict[str, str]:
    item = {"Medication_Code": line.code, "Medication_Name": line.name, "Medication_Number": line.number}
    if line.generic is not None:
        item["Medication_Generic_Flg"] = "yes" if line.generic else "no"
    return item
