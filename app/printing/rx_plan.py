"""How a prescription goes onto paper: the size of its 2D symbols, the row style, and the pages.

The JAHIS text is cut into as few symbols as the 備考 area allows (module 0.5 mm, the spec's floor).
Preference, in order: the fewest pages; the whole 処方 on the first page at the normal row size, else
at the dense size; the fewest symbols; the lowest 備考 area. What does not fit the first page goes on
続紙: the remaining 処方 rows, and the symbols when the 備考 area cannot hold them all — a set is never
split over two sheets, so a scanner that reads a whole page finds every symbol of it together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.printing import qr
from app.printing.rx_geometry import (
    DENSE_ROWS,
    LABEL_COL,
    MODULE,
    NORMAL_ROWS,
    QR_GAP,
    REMARKS_MAX,
    SYMBOL_LABEL_H,
    WIDTH,
    RowStyle,
    SymbolGrid,
    continuation_capacity,
    remarks_height,
    rx_rows_capacity,
    symbol_page_columns_rows,
)
from app.printing.rx_lines import RxRow, paginate
from app.printing.rx_symbol import ENCODING

#: The 備考 text keeps at least this width (mm) beside the symbols.
MIN_REMARKS_TEXT_WIDTH = 34.0
QR_MAX_WIDTH = WIDTH - LABEL_COL - MIN_REMARKS_TEXT_WIDTH - 2 * QR_GAP
#: Symbol versions tried: up to 117 modules, 58.5 mm at 0.5 mm a module.
QR_VERSION_RANGE = range(5, 26)
CONTINUED = "（続紙に続く）"


@dataclass(frozen=True)
class PagePlan:
    """The pages of one prescription: 処方 rows per page, and the symbols on the first page or on a 続紙."""

    style: RowStyle
    row_pages: tuple[tuple[RxRow, ...], ...]
    first_grid: SymbolGrid | None
    symbol_page: SymbolGrid | None
    symbols: qr.SymbolSet

    @property
    def page_count(self) -> int:
        """Pages in all."""
        return len(self.row_pages) + (1 if self.symbol_page else 0)


@dataclass(frozen=True)
class _Candidate:
    key: tuple[int, int, int, float]
    max_version: int
    style: RowStyle
    on_first_page: bool
    columns: int


def _row_pages(rows: list[RxRow], first: int, style: RowStyle) -> tuple[tuple[RxRow, ...], ...]:
    if len(rows) <= first:
        return (tuple(rows),)
    pages = paginate(rows, first - 1, continuation_capacity(style) - 1)
    return tuple(tuple(page + [RxRow(text=CONTINUED, is_end=True)]) if index < len(pages) - 1 else tuple(page)
                 for index, page in enumerate(pages))


def _style_for(row_count: int, remarks_h: float) -> tuple[int, RowStyle, int]:
    """(tier, style, extra pages) for the 処方 rows beside a 備考 area of a height."""
    for tier, style in enumerate((NORMAL_ROWS, DENSE_ROWS)):
        if row_count <= rx_rows_capacity(remarks_h, style):
            return tier, style, 0
    first, following = rx_rows_capacity(remarks_h, NORMAL_ROWS) - 1, continuation_capacity(NORMAL_ROWS) - 1
    return 2, NORMAL_ROWS, math.ceil((row_count - first) / following)


def _candidate(data: bytes, row_count: int, max_version: int) -> _Candidate | None:
    try:
        symbols = qr.plan_symbols(data, max_version)
    except qr.SymbolOverflowError:
        return None
    count = symbols.count
    side = (17 + 4 * symbols.version) * MODULE
    pitch = side + QR_GAP + (SYMBOL_LABEL_H if count > 1 else 0.0)
    columns = min(count, int((QR_MAX_WIDTH + QR_GAP) // (side + QR_GAP)))
    if columns and math.ceil(count / columns) * pitch - QR_GAP <= REMARKS_MAX - 2 * QR_GAP:
        height = math.ceil(count / columns) * pitch - QR_GAP
        tier, style, row_pages = _style_for(row_count, remarks_height(height))
        return _Candidate((row_pages, tier, count, height), max_version, style, True, columns)
    page_columns, page_rows = symbol_page_columns_rows(side, count > 1)
    if page_columns * page_rows < count:
        return None
    tier, style, row_pages = _style_for(row_count, remarks_height(None))
    return _Candidate((row_pages + 1, tier, count, 0.0), max_version, style, False, min(count, page_columns))


def plan_pages(text: str, rows: list[RxRow]) -> PagePlan:
    """Choose symbol size and row style for a prescription's symbol text and 処方 rows, and cut the pages."""
    data = text.encode(ENCODING)
    candidates = []
    for version in QR_VERSION_RANGE:
        candidate = _candidate(data, len(rows), version)
        if candidate:
            candidates.append(candidate)
            if candidate.key[2] == 1:
                # The text fits one symbol: every larger version gives the same one symbol, and the smallest
                # version wins a tie.
                break
    if not candidates:
        raise qr.SymbolOverflowError("the symbol text needs more than 16 symbols")
    best = min(candidates, key=lambda c: (c.key, c.max_version))
    symbols = qr.make_symbols(data, max_version=best.max_version)
    grid = SymbolGrid(symbols.symbols, 0, len(symbols.symbols), best.columns)
    first, page = (grid, None) if best.on_first_page else (None, grid)
    row_pages = _row_pages(rows, rx_rows_capacity(remarks_height(first.height if first else None), best.style),
                           best.style)
    return PagePlan(best.style, row_pages, first, page, symbols)
