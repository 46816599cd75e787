"""The PDF kinds of the history service's replies (FileCategory 1 and 3 for 薬剤, 1 for 特定健診): an A4 list of
what the XML kinds carry, as the real service's PDF shows it to a doctor (its exact layout is not public; this is
ours, enough for the client to keep and show a PDF as received)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from simulators.eprescription.reference import japanese_font

LINE, TOP, BOTTOM, LEFT = 14, 60, 50, 36


def history_pdf(title: str, person: dict, lines: Iterable[str], today: date) -> bytes:
    """A PDF headed with the title, the person and the day it was made, then one line per record over as many
    pages as it takes."""
    font = japanese_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(title)
    width, height = A4

    def new_page(first: bool) -> float:
        if not first:
            canvas.showPage()
        canvas.setFont(font, 14)
        canvas.drawString(LEFT, height - 40, f"{title}（オンライン資格確認）")
        canvas.setFont(font, 9)
        canvas.drawRightString(width - LEFT, height - 40, f"{person['name']}　生年月日 {person['birth']:%Y-%m-%d}　"
                               f"作成 {today:%Y-%m-%d}")
        return height - TOP - LINE

    y = new_page(True)
    for line in lines:
        if y < BOTTOM:
            y = new_page(False)
        canvas.drawString(LEFT, y, line[:90])
        y -= LINE
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def medication_lines(person: dict, visible: Iterable[dict]) -> list[str]:
    """One line per dispensing (newest first): day, where, drug, quantity, usage and days, the source."""
    sources = {"receipt": "レセプト", "eprescription": "電子処方箋（処方）", "dispensed": "電子処方箋（調剤）"}
    return [f"{d['day']:%Y-%m-%d}  {d['institution_name']}  {d['drug_name']}  {d['quantity']}{d['unit']}  "
            f"{d['usage']}  {d['times']}  {sources.get(d['source'], d['source'])}"
            for d in sorted(visible, key=lambda d: d["day"], reverse=True)] or ["該当する情報はありません"]


def checkup_lines(checkups: Iterable[dict]) -> list[str]:
    """Per checkup (newest first) its day, then one line per item: name, value (or its name), unit."""
    lines: list[str] = []
    for checkup in sorted(checkups, key=lambda c: c["day"], reverse=True):
        lines.append(f"■ {checkup['day']:%Y-%m-%d} 実施")
        lines.extend(f"    {i['name']}  {i['value_name'] or i['value']} {i['unit']}" for i in checkup["items"])
    return lines or ["該当する情報はありません"]
