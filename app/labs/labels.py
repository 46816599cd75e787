"""Specimen labels (検体ラベル): one label per container on the clinic's label size (default 50 × 25 mm), with the
barcode of the specimen number in the lab company's symbology (NW-7/Codabar or Code128), the patient's kana name,
sex and age, the container, the abbreviated tests and the date. ReportLab, IPAex Gothic from app.printing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.graphics.barcode import code128, common
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from app.printing.fonts import register_fonts

SYMBOLOGIES = {"codabar": "NW-7（Codabar）", "code128": "Code128"}
MIN_SIZE_MM, MAX_SIZE_MM = (30, 15), (100, 60)


@dataclass(frozen=True)
class Label:
    """What one label shows."""

    specimen_number: str
    kana: str
    sex: str
    age: str
    container: str
    tests: str
    day: date


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut text with … so that it fits the width (a label has no second chance to wrap)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _barcode(number: str, symbology: str, bar_height: float, width: float):
    if symbology == "code128":
        bar = code128.Code128(number, barHeight=bar_height, barWidth=0.3 * mm, quiet=True, lquiet=2 * mm,
                              rquiet=2 * mm)
    else:
        # NW-7 as Japanese labs print it: start/stop A, digits in between.
        bar = common.Codabar(f"A{number}A", barHeight=bar_height, barWidth=0.26 * mm, ratio=2.5, quiet=True,
                             lquiet=2 * mm, rquiet=2 * mm, checksum=0)
    if bar.width > width:  # narrow bars rather than a barcode cut off at the edge
        scale = width / bar.width
        bar = _barcode_scaled(number, symbology, bar_height, scale)
    return bar


def _barcode_scaled(number: str, symbology: str, bar_height: float, scale: float):
    if symbology == "code128":
        return code128.Code128(number, barHeight=bar_height, barWidth=0.3 * mm * scale, quiet=True,
                               lquiet=2 * mm * scale, rquiet=2 * mm * scale)
    return common.Codabar(f"A{number}A", barHeight=bar_height, barWidth=0.26 * mm * scale, ratio=2.5, quiet=True,
                          lquiet=2 * mm * scale, rquiet=2 * mm * scale, checksum=0)


def _draw_bars(pdf: canvas.Canvas, bar, x: float, y: float) -> None:
    """The symbol's bars as ONE filled path (one PDF fill for the whole barcode, instead of ReportLab's separate
    rectangle and fill per bar): the same geometry, computed by the barcode object itself."""
    path = pdf.beginPath()
    bar.rect = lambda left, bottom, w, h: path.rect(x + left, y + bottom, w, h)  # shadows Barcode.rect
    bar.canv = pdf
    bar.draw()  # humanReadable is off: the number is printed below as text
    pdf.drawPath(path, stroke=0, fill=1)


def render_labels(labels: list[Label], *, width_mm: float = 50, height_mm: float = 25,
                  symbology: str = "codabar") -> bytes:
    """A PDF with one page per label, each page the label's size (label printers feed one label per page)."""
    gothic, _ = register_fonts()
    width, height = width_mm * mm, height_mm * mm
    buffer = io.BytesIO()
    # Uncompressed: a few labels are a small PDF anyway (≈ 35 kB with the font subset), and deflating its streams
    # took a quarter of the rendering time.
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=0)
    pdf.setTitle("検体ラベル")
    margin = 1.5 * mm
    inner = width - 2 * margin
    line = max(min(height / 9, 2.6 * mm), 1.6 * mm)
    font_size = line / 1.2
    for label in labels:
        top = height - margin - font_size
        pdf.setFont(gothic, font_size * 1.1)
        pdf.drawString(margin, top, _fit(f"{label.kana}", gothic, font_size * 1.1, inner * 0.62))
        pdf.setFont(gothic, font_size)
        pdf.drawRightString(width - margin, top, f"{label.sex} {label.age}")
        top -= line
        pdf.drawString(margin, top, _fit(label.container, gothic, font_size, inner * 0.65))
        pdf.drawRightString(width - margin, top, label.day.strftime("%Y/%m/%d"))
        top -= line
        pdf.drawString(margin, top, _fit(label.tests, gothic, font_size, inner))
        bar_bottom = margin + font_size + 0.6 * mm
        bar_height = max(top - 1 * mm - bar_bottom, 4 * mm)
        bar = _barcode(label.specimen_number, symbology, bar_height, inner)
        _draw_bars(pdf, bar, (width - bar.width) / 2, bar_bottom)
        pdf.drawCentredString(width / 2, margin, label.specimen_number)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
