"""The outpatient prescription (院外処方箋, MHLW 様式第二号) as a PDF with its JAHIS 2D symbols.

Public API:
- the plain values a caller fills in: PrescriptionPrint with ClinicPrint, DoctorPrint, PatientPrint,
  InsurancePrint, PublicExpensePrint, RpPrint and LinePrint;
- jahis_symbol_text(doc): the JAHIS 院外処方箋2次元シンボル text (str; CR LF line ends);
- build_jahis_symbol(doc): the same text with the characters replaced to fit Shift_JIS (to warn the user);
- build_service_csv(doc): the same records as the 電子処方箋管理サービス's 処方箋CSV (SJ1, LF);
- prescription_symbols(doc): the QR symbols (segno) that carry it;
- render_prescription_pdf(doc, paper="A5"): the PDF bytes.
Errors are ValidationError (app.core.errors) with a Japanese message; SymbolTextError for a character
the symbol cannot carry.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfgen.canvas import Canvas

from app.printing import qr
from app.printing.fonts import register_fonts
from app.printing.pen import Pen
from app.printing.rx_geometry import PAGE_H, Fonts
from app.printing.rx_layout import draw_continuation_page, draw_first_page, draw_symbol_page
from app.printing.rx_lines import prescription_rows
from app.printing.rx_model import (
    ClinicPrint,
    DoctorPrint,
    InsurancePrint,
    LinePrint,
    PatientPrint,
    PrescriptionPrint,
    PublicExpensePrint,
    RpPrint,
)
from app.printing.rx_plan import PagePlan, plan_pages
from app.printing.rx_symbol import (
    JahisSymbol,
    Replacement,
    SymbolTextError,
    build_check_csv,
    build_service_csv,
    build_symbol,
)

__all__ = [
    "ClinicPrint", "DoctorPrint", "InsurancePrint", "JahisSymbol", "LinePrint", "PatientPrint", "PrescriptionPrint",
    "PublicExpensePrint", "Replacement", "RpPrint", "SymbolTextError", "build_check_csv", "build_jahis_symbol",
    "build_service_csv", "jahis_symbol_text", "prescription_symbols", "render_prescription_pdf",
]

PAPERS = {"A5": A5, "A4": A4}


def build_jahis_symbol(doc: PrescriptionPrint) -> JahisSymbol:
    """The JAHIS symbol text and the characters replaced to fit Shift_JIS (髙→高, 外字→■)."""
    return build_symbol(doc)


def jahis_symbol_text(doc: PrescriptionPrint) -> str:
    """The JAHIS 院外処方箋2次元シンボル text of a prescription (JAHIS10, CR LF, Shift_JIS-safe)."""
    return build_symbol(doc).text


def _plan(doc: PrescriptionPrint) -> PagePlan:
    text = jahis_symbol_text(doc)  # refuses a value the symbol cannot carry before anything is drawn
    return plan_pages(text, prescription_rows(doc))


def prescription_symbols(doc: PrescriptionPrint) -> qr.SymbolSet:
    """The QR symbols (segno QRCode objects) that carry the JAHIS text, in reading order, as printed."""
    return plan_pages(jahis_symbol_text(doc), prescription_rows(doc)).symbols


def _draw_pages(canvas: Canvas, paper: str, doc: PrescriptionPrint, plan: PagePlan, fonts: Fonts) -> None:
    width, height = PAPERS[paper]
    pages = [("first", plan.row_pages[0])] + [("rows", rows) for rows in plan.row_pages[1:]]
    pages += [("symbols", plan.symbol_page)] if plan.symbol_page else []
    for index, (kind, content) in enumerate(pages):
        if paper == "A4":  # the same layout scaled up (A4 is A5 × √2)
            scale = min(width / A5[0], height / A5[1])
            canvas.translate((width - A5[0] * scale) / 2, 0)
            canvas.scale(scale, scale)
        pen = Pen(canvas, PAGE_H, fonts.value)
        note = f"（{index + 1}／{len(pages)}）" if len(pages) > 1 else ""
        if kind == "first":
            elsewhere = len(pages) if plan.symbol_page else None
            draw_first_page(pen, fonts, doc, list(content), plan.first_grid, plan.style, note, elsewhere)
        elif kind == "rows":
            draw_continuation_page(pen, fonts, doc, list(content), plan.style, note)
        else:
            draw_symbol_page(pen, fonts, doc, content, note)
        canvas.showPage()


def render_prescription_pdf(doc: PrescriptionPrint, paper: str = "A5") -> bytes:
    """The 院外処方箋 as PDF bytes, on A5 or A4."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be A5 or A4, not {paper!r}")
    gothic, _ = register_fonts()
    plan = _plan(doc)
    buffer = io.BytesIO()
    # The initial font is ours, so the PDF names no font it does not embed (else ReportLab's default Helvetica).
    canvas = Canvas(buffer, pagesize=PAPERS[paper], pageCompression=1, invariant=1, initialFontName=gothic)
    canvas.setTitle("処方箋")
    canvas.setAuthor(doc.clinic.name)
    _draw_pages(canvas, paper, doc, plan, Fonts(label=gothic, value=gothic))
    canvas.save()
    return buffer.getvalue()
