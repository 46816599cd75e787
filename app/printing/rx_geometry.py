"""Geometry of the printed prescription: measures of the A5 form, row styles, symbol grids, capacities.

All measures are millimetres on A5 (148 × 210); A4 is the same drawing scaled by √2.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno

from app.printing.qr import QUIET_ZONE

PAGE_W, PAGE_H = 148.0, 210.0
LEFT, RIGHT = 6.0, 142.0
WIDTH = RIGHT - LEFT
MID = 74.0
LABEL_COL = 6.0  # the narrow column of 患者 / 処方 / 備考
#: QR modules on paper (the spec's floor is 0.5 mm); A4 scales everything by √2.
MODULE = 0.5
QR_GAP = QUIET_ZONE * MODULE
#: Fixed rows (top of each); the 処方 and 備考 areas share what is between RX_TOP and REFILL_TOP.
TITLE_TOP, INSURANCE_TOP, PATIENT_TOP, DATES_TOP, RX_TOP = 4.5, 15.5, 28.0, 53.5, 62.0
REFILL_TOP, PHARMACY_TOP, FOOTNOTE_TOP = 172.0, 182.5, 199.5
RX_HEADER_H, REFILL_LINE_H = 8.0, 5.0
CHECK_COL = 9.0
NOTE_SIZE = 4.8


@dataclass(frozen=True)
class Fonts:
    """The form's fonts: printed labels and filled-in values.

    Both are IPAex Gothic: legible at the form's small sizes, and one embedded font: a second would carry the
    glyphs both print twice (each font's subsets are built and compressed for every document).
    """

    label: str
    value: str


@dataclass(frozen=True)
class RowStyle:
    """Height (mm) and type size (pt) of the 処方 rows: normal, or dense to keep a long list on one page."""

    height: float
    size: float


NORMAL_ROWS, DENSE_ROWS = RowStyle(4.2, 9.0), RowStyle(3.5, 7.8)


#: The 備考 area grows with the symbols up to this height, so the 処方 keeps room for about 7 rows.
REMARKS_MAX = 66.0
#: "1/3" under each symbol of a structured-append set, so the pharmacy scans them in order.
SYMBOL_LABEL_H = 2.6
#: Where the symbols go on a 続紙 that carries those the first page had no room for.
SYMBOL_PAGE_TOP, SYMBOL_PAGE_BOTTOM = 30.0, PAGE_H - 8.0


@dataclass(frozen=True)
class SymbolGrid:
    """Some symbols of a set, laid out in columns and rows (sizes in mm, quiet zones between symbols)."""

    symbols: tuple[segno.QRCode, ...]
    first: int  # position of the first one in the whole set (0-based)
    total: int  # symbols in the whole set
    columns: int

    @property
    def side(self) -> float:
        """One symbol's side without its quiet zone."""
        return len(self.symbols[0].matrix) * MODULE

    @property
    def rows(self) -> int:
        """Rows of symbols."""
        return -(-len(self.symbols) // self.columns)

    @property
    def pitch(self) -> float:
        """Vertical distance from one row of symbols to the next."""
        return self.side + QR_GAP + (SYMBOL_LABEL_H if self.total > 1 else 0.0)

    @property
    def width(self) -> float:
        """The width the symbols take."""
        return self.columns * self.side + (self.columns - 1) * QR_GAP

    @property
    def height(self) -> float:
        """The height the symbols take, labels included."""
        return self.rows * self.pitch - QR_GAP


def remarks_height(symbols_height: float | None) -> float:
    """Height of the 備考 area: room for its text, or for the symbols with their quiet zones."""
    return max(27.0, (symbols_height + 2 * QR_GAP) if symbols_height else 0.0)


def rx_rows_capacity(remarks_h: float, style: RowStyle) -> int:
    """How many rows the 処方 column holds on the first page."""
    rx_h = REFILL_TOP - remarks_h - RX_TOP
    return int((rx_h - RX_HEADER_H - REFILL_LINE_H - 1.0) // style.height)


def continuation_capacity(style: RowStyle) -> int:
    """How many rows a 続紙 holds."""
    return int((PAGE_H - 30.0 - RX_HEADER_H - 6.0) // style.height)


def symbol_page_columns_rows(side: float, labelled: bool) -> tuple[int, int]:
    """How many symbols of a side fit across and down a symbol page."""
    pitch = side + QR_GAP + (SYMBOL_LABEL_H if labelled else 0.0)
    columns = int((WIDTH - 2 * QR_GAP + QR_GAP) // (side + QR_GAP))
    rows = int((SYMBOL_PAGE_BOTTOM - SYMBOL_PAGE_TOP - QR_GAP + QR_GAP) // pitch)
    return columns, rows
