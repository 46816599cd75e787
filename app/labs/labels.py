"""Specimen labels (検体ラベル): one label per container on the clinic's label size (30 × 15 to 100 × 60 mm,
default 50 × 25), with the barcode of the specimen number in the lab company's symbology (NW-7/Codabar or
Code128), and two identifiers of the patient so that a nurse matches tube and patient by both: the kana name
and the patient number with the birth date (and the kanji name where the label has room for a line more).

Rows from the top, as many as the label's height leaves room for above a barcode at least MIN_BAR_MM tall:
    ヤマダ タロウ                     男 67歳     identifier 1: kana name, sex and age
    ID 00012            1958/03/02生              identifier 2: patient number and birth date
    山田 太郎                                     kanji name (when a line is left for it)
    血清（茶）                      2026/03/13    container and date
    TP ALB AST ALT                               tests
The identifiers are never cut: a line too wide is set smaller, then narrowed. Container and tests may end
in … (the order itself lists them in full). A character the font cannot draw is refused (pen.check_printable).
ReportLab, IPAex Gothic from app.printing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.graphics.barcode import code128, common
from reportlab.graphics.barcode.common import Barcode
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from app.core.jp import format_age
from app.printing.fonts import register_fonts
from app.printing.pen import check_printable

SYMBOLOGIES = {"codabar": "NW-7（Codabar）", "code128": "Code128"}
MIN_SIZE_MM, MAX_SIZE_MM = (30, 15), (100, 60)
#: Bars shorter than this are hard to read with a handheld scanner at a slant.
MIN_BAR_MM = 4.0
#: A line of text is never set below this share of its size before it is narrowed instead.
MIN_SHRINK = 0.75
MARGIN = 1.5 * mm


@dataclass(frozen=True)
class Label:
    """What one label shows."""

    specimen_number: str
    kana: str
    name: str
    patient_number: str
    birth_date: date
    sex: str
    age: str
    container: str
    tests: str
    day: date


def order_labels(order: Any, patient: Any) -> list[Label]:
    """One label per specimen container of a lab order, for its patient."""
    age = format_age(patient.birth_date, order.ordered_on)
    return [Label(specimen_number=s.specimen_number, kana=patient.kana, name=patient.name,
                  patient_number=patient.orca_patient_id, birth_date=patient.birth_date, sex=patient.sex_label,
                  age=age, container=s.container, tests=" ".join(i.get("short_name") or i["name"] for i in s.items),
                  day=order.ordered_on)
            for s in order.specimens]


@dataclass(frozen=True)
class _Row:
    """One line of a label: text at the left and at the right; `exact` lines are identifiers, never cut."""

    left: str
    right: str = ""
    exact: bool = True
    scale: float = 1.0  # type size relative to the label's line size


def _rows(label: Label, room: int) -> list[_Row]:
    """The rows that fit `room` lines, identifiers first."""
    identifiers = [_Row(label.kana, f"{label.sex} {label.age}", scale=1.1),
                   _Row(f"ID {label.patient_number}", f"{label.birth_date:%Y/%m/%d}生")]
    kanji = [_Row(label.name)] if label.name else []
    if room >= len(identifiers) + len(kanji) + 2:
        return [*identifiers, *kanji, _Row(label.container, f"{label.day:%Y/%m/%d}", exact=False),
                _Row(label.tests, exact=False)]
    if room >= len(identifiers) + 2:
        return [*identifiers, _Row(label.container, f"{label.day:%Y/%m/%d}", exact=False),
                _Row(label.tests, exact=False)]
    return [*identifiers, _Row(f"{label.container} {label.tests}", f"{label.day:%Y/%m/%d}", exact=False)]


def _cut(text: str, font: str, size: float, width: float) -> str:
    """Text cut with … so that it fits the width (container and tests only)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _show(pdf: canvas.Canvas, text: str, x: float, y: float, font: str, size: float, squeeze: float,
          align: str = "left") -> None:
    """Draw one line at a type size, narrowed to `squeeze` of its width."""
    drawn = stringWidth(text, font, size) * squeeze
    line = pdf.beginText(x - drawn if align == "right" else x, y)
    line.setFont(font, size)
    if squeeze < 1.0:
        line.setHorizScale(squeeze * 100)
    line.textOut(text)
    pdf.drawText(line)


def _draw_row(pdf: canvas.Canvas, row: _Row, y: float, font: str, size: float, width: float) -> None:
    """A row's left and right texts: set smaller (down to MIN_SHRINK) and then narrower, both alike, until they
    fit side by side; a left text that is not an identifier is cut with … instead."""
    check_printable(row.left + row.right, font)
    size *= row.scale
    inner = width - 2 * MARGIN
    gap = size * 0.8 if row.right else 0.0
    right_width = stringWidth(row.right, font, size)
    left = row.left if row.exact else _cut(row.left, font, size, inner - gap - right_width)
    natural = stringWidth(left, font, size) + right_width
    factor = min(1.0, (inner - gap) / natural) if natural else 1.0
    size *= max(factor, MIN_SHRINK)
    squeeze = min(1.0, factor / max(factor, MIN_SHRINK))
    _show(pdf, left, MARGIN, y, font, size, squeeze)
    if row.right:
        _show(pdf, row.right, width - MARGIN, y, font, size, squeeze, align="right")


def _barcode(number: str, symbology: str, bar_height: float, scale: float = 1.0) -> Barcode:
    """The specimen number's barcode; `scale` narrows bars and quiet zones together."""
    if symbology == "code128":
        return code128.Code128(number, barHeight=bar_height, barWidth=0.3 * mm * scale, quiet=True,
                               lquiet=2 * mm * scale, rquiet=2 * mm * scale)
    # NW-7 as Japanese labs print it: start/stop A, digits in between.
    return common.Codabar(f"A{number}A", barHeight=bar_height, barWidth=0.26 * mm * scale, ratio=2.5, quiet=True,
                          lquiet=2 * mm * scale, rquiet=2 * mm * scale, checksum=0)


def _fitted_barcode(number: str, symbology: str, bar_height: float, width: float) -> Barcode:
    bar = _barcode(number, symbology, bar_height)
    if bar.width > width:  # narrow bars rather than a barcode cut off at the edge
        bar = _barcode(number, symbology, bar_height, width / bar.width)
    return bar


def render_labels(labels: list[Label], *, width_mm: float = 50, height_mm: float = 25,
                  symbology: str = "codabar") -> bytes:
    """A PDF with one page per label, each page the label's size (label printers feed one label per page)."""
    gothic, _ = register_fonts()
    width, height = width_mm * mm, height_mm * mm
    line = max(min(height / 9, 2.6 * mm), 1.6 * mm)
    font_size = line / 1.2
    number_band = font_size + 0.6 * mm  # the specimen number printed under the bars
    room = int((height - 2 * MARGIN - number_band - 1 * mm - MIN_BAR_MM * mm) // line)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1, invariant=1, initialFontName=gothic)
    pdf.setTitle("検体ラベル")
    for label in labels:
        top = height - MARGIN - font_size
        rows = _rows(label, room)
        for index, row in enumerate(rows):
            _draw_row(pdf, row, top - index * line, gothic, font_size, width)
        rows_bottom = top - (len(rows) - 1) * line
        bar_bottom = MARGIN + number_band
        bar = _fitted_barcode(label.specimen_number, symbology, rows_bottom - 1 * mm - bar_bottom, width - 2 * MARGIN)
        bar.drawOn(pdf, (width - bar.width) / 2, bar_bottom)
        pdf.setFont(gothic, font_size)
        pdf.drawCentredString(width / 2, MARGIN, label.specimen_number)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
