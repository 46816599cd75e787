"""The 処方 column as printed rows: Rp by Rp, each drug with its dose, then the usage with days or times.

    Rp1  【般】アムロジピン口腔内崩壊錠２．５ｍｇ          １日１錠
         メインテート錠２．５ｍｇ                       １日１錠     (✓ in 変更不可)
             １日１回朝食後                             ２８日分
    Rp2  カロナール錠３００　３００ｍｇ                 １回１錠
             疼痛時                                     １０回分

The dose says what it counts: 内服 the JAHIS 1日量 (１日…), 頓服 the dose per time (１回…), 外用 and
others the total. The list ends with 以下余白 so nothing can be added below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import jaconv

from app.printing.rx_model import PrescriptionPrint, RpPrint

END_MARK = "以下余白"


@dataclass(frozen=True)
class RxRow:
    """One printed row of the 処方 column."""

    label: str = ""  # Rp1 on the first row of an Rp
    text: str = ""
    right: str = ""
    indent: int = 0  # 0 drug, 1 usage
    no_substitution: bool = False
    patient_request: bool = False
    is_end: bool = False


def full_width(text: str) -> str:
    """Digits and ASCII as full-width characters, the way the form's other numbers are printed."""
    return jaconv.h2z(text, kana=False, ascii=True, digit=True)


def _number(value: Decimal | int) -> str:
    return full_width(format(value, "f") if isinstance(value, Decimal) else str(value))


#: What a dose counts, by 剤形 (JAHIS): 内服 and 内服滴剤 the day's amount, 頓服 one time's; others the total.
DOSE_PREFIX = {1: "1日", 4: "1日", 2: "1回"}


def dose_text(rp: RpPrint, dose: Decimal, unit: str) -> str:
    """１日３錠 (内服), １回１錠 (頓服), １４枚 (外用 and others: the total)."""
    return f"{full_width(DOSE_PREFIX.get(rp.form, ''))}{_number(dose)}{unit}"


def quantity_words(form: int, quantity: int) -> str:
    """28日分 (内服), 10回分 (頓服); a 外用 supply of 1 says nothing more."""
    if form in (1, 4):
        return f"{quantity}日分"
    if form == 2 or quantity > 1:
        return f"{quantity}回分"
    return ""


def quantity_text(rp: RpPrint) -> str:
    """２８日分 (内服), １０回分 (頓服), as printed."""
    return full_width(quantity_words(rp.form, rp.quantity))


def rp_rows(number: int, rp: RpPrint) -> list[RxRow]:
    """The rows of one Rp: its drugs, then its usage."""
    rows = [RxRow(label=f"Rp{number}" if seq == 0 else "", text=line.name, right=dose_text(rp, line.dose, line.unit),
                  no_substitution=line.no_substitution, patient_request=line.patient_request)
            for seq, line in enumerate(rp.lines)]
    usage = rp.usage_text if rp.form in (1, 2, 4) else f"{rp.form_label}　{rp.usage_text}"
    rows.append(RxRow(text=usage, right=quantity_text(rp), indent=1))
    return rows


def prescription_rows(doc: PrescriptionPrint) -> list[RxRow]:
    """Every row of the 処方 column, ending with 以下余白."""
    rows = [row for number, rp in enumerate(doc.rps, start=1) for row in rp_rows(number, rp)]
    rows.append(RxRow(text=END_MARK, is_end=True))
    return rows


def paginate(rows: list[RxRow], first_page: int, other_pages: int) -> list[list[RxRow]]:
    """Rows split into pages of the given capacities, never leaving an Rp's usage row alone at a page top."""
    pages: list[list[RxRow]] = []
    remaining = list(rows)
    capacity = first_page
    while remaining:
        take = min(capacity, len(remaining))
        if take < len(remaining) and take > 1 and remaining[take].indent == 1:
            take -= 1  # keep the last drug with its usage row
        pages.append(remaining[:take])
        remaining = remaining[take:]
        capacity = other_pages
    return pages
