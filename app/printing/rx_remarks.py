"""The 備考 area of the prescription: 保険医署名, the remarks, 残薬 handling, and the JAHIS 2D symbols beside them
(or on a 続紙 of their own). Measures in millimetres on A5, as in rx_geometry."""

from __future__ import annotations

from app.core.errors import ValidationError
from app.printing.pen import Pen
from app.printing.qr import draw_symbol
from app.printing.rx_geometry import (
    LABEL_COL,
    LEFT,
    MODULE,
    NOTE_SIZE,
    QR_GAP,
    REFILL_TOP,
    RIGHT,
    WIDTH,
    Fonts,
    SymbolGrid,
)
from app.printing.rx_lines import full_width
from app.printing.rx_model import PrescriptionPrint

SIGNATURE_NOTE = "「変更不可」欄に「✓」又は「×」を記載した場合は、署名又は記名・押印すること。"
LEFTOVER_NOTE = "保険薬局が調剤時に残薬を確認した場合の対応（特に指示がある場合は「✓」又は「×」を記載すること。）"
LEFTOVER_CHOICES = ("□保険医療機関へ疑義照会した上で調剤", "□保険医療機関へ情報提供")


def _remark_lines(doc: PrescriptionPrint) -> list[str]:
    lines = [line for line in (doc.remarks or "").splitlines() if line.strip()]
    if doc.has_narcotic:
        lines += [f"麻薬施用者免許証番号　{doc.doctor.narcotic_licence_number}",
                  f"患者住所　{doc.patient.address}", f"患者電話番号　{doc.patient.phone}"]
    return lines


#: Line pitch of the remarks (mm per point of type size).
REMARK_LEADING = 0.43
REMARK_SIZES = (7.5, 6.5, 5.5)


def _fit_remarks(pen: Pen, fonts: Fonts, remarks: list[str], width: float, height: float) -> tuple[float, list[str]]:
    """The largest type size at which the remarks fit their space, and their lines; refused when none does."""
    for size in REMARK_SIZES:
        lines = [line for remark in remarks for line in pen.wrap(remark, size, width, fonts.value)]
        if len(lines) * size * REMARK_LEADING <= height:
            return size, lines
    raise ValidationError("備考が長すぎて備考欄に収まりません。短くしてください", field="remarks")


def draw_remarks(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, top: float, grid: SymbolGrid | None,
                 symbols_on_page: int | None = None) -> None:
    """The 備考 area: 保険医署名, remarks, 残薬 handling on the left, the 2D symbols on the right."""
    bottom = REFILL_TOP
    x = LEFT + LABEL_COL
    pen.rect(LEFT, top, WIDTH, bottom - top, width=0.5)
    pen.line(x, top, x, bottom)
    pen.vertical(LEFT, top, LABEL_COL, bottom - top, "備考", 7)
    text_right = RIGHT - (grid.width + 2 * QR_GAP if grid else 0.0)
    text_w = text_right - x - 1.5
    pen.text(x + 1.0, top + 3.6, "保険医署名", 6.5, font=fonts.label)
    sign_x = x + 1.0 + pen.width_of("保険医署名", 6.5, fonts.label) + 1.0
    pen.rect(sign_x, top + 0.9, min(30.0, text_right - sign_x - 1.0), 4.2, width=0.3)
    note = pen.wrap(SIGNATURE_NOTE, NOTE_SIZE, text_w, fonts.label)
    for index, line in enumerate(note):
        pen.text(x + 1.0, top + 7.4 + index * 2.1, line, NOTE_SIZE, font=fonts.label)
    leftover = pen.wrap(LEFTOVER_NOTE, NOTE_SIZE, text_w, fonts.label) + list(LEFTOVER_CHOICES)
    leftover_top = bottom - 0.8 - 2.3 * len(leftover)
    remarks_top = top + 8.2 + len(note) * 2.1
    remarks = _remark_lines(doc)
    if symbols_on_page:
        remarks.append(f"２次元シンボルは続紙（{full_width(str(symbols_on_page))}枚目）にあります")
    size, lines = _fit_remarks(pen, fonts, remarks, text_w, leftover_top - remarks_top)
    for index, line in enumerate(lines):
        pen.text(x + 1.0, remarks_top + 1.0 + index * size * REMARK_LEADING, line, size, font=fonts.value)
    for index, line in enumerate(leftover):
        note_size = NOTE_SIZE if index < len(leftover) - 2 else 6.0
        pen.text(x + 1.0, leftover_top + 2.0 + index * 2.3, line, note_size, font=fonts.label, max_width=text_w,
                 min_size=4.5)
    if grid:
        draw_symbols(pen, fonts, grid, RIGHT - QR_GAP - grid.width, top + (bottom - top - grid.height) / 2)


def draw_symbols(pen: Pen, fonts: Fonts, grid: SymbolGrid, x: float, y: float) -> None:
    """The symbols of a grid from its top left corner, each numbered "2/3" below when there are several."""
    to_pt = 72 / 25.4
    for index, symbol in enumerate(grid.symbols):
        row, col = divmod(index, grid.columns)
        left = x + col * (grid.side + QR_GAP)
        bottom = y + row * grid.pitch + grid.side
        draw_symbol(pen.canvas, symbol, left * to_pt, (pen.height - bottom) * to_pt, MODULE * to_pt)
        if grid.total > 1:
            label = f"{grid.first + index + 1}／{grid.total}"
            pen.text(left + grid.side / 2, bottom + 2.2, label, 5.5, font=fonts.label, align="center")
