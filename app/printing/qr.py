"""QR symbols for printed documents: byte mode, error correction level M, split by structured append.

Symbols are made by segno's public API only: segno.make for a text that fits one symbol, segno.make_sequence
for a structured-append set of up to 16 symbols (ISO/IEC 18004 §8) that a reader joins back into the text.

segno.make_sequence sizes and cuts a text by its characters, so a text of two-byte Shift_JIS characters would
get symbols too small for their bytes (and bytes given as such get a wrong parity byte). The encoded text is
therefore handed over as a Latin-1 string — one character per byte, the same bytes in the symbol — so that
segno cuts the bytes into even shares, sizes each symbol for them and computes the parity of the real bytes.
A share may end inside a two-byte character or a record: only the joined set is the text, as readers read it.

Symbols are drawn on a ReportLab canvas as an image of one sample a module, never interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

ERROR_LEVEL = "M"
MAX_SYMBOLS = 16
#: Light modules around a symbol (ISO/IEC 18004: 4 modules).
QUIET_ZONE = 4
#: Data codewords of a level M symbol, versions 1–40 (ISO/IEC 18004 Table 7).
DATA_CODEWORDS_M = (16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669,
                    714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992,
                    2102, 2216, 2334)
#: The text as bytes, one character per byte (see the module's docstring).
_BYTES_AS_TEXT = "latin-1"
#: segno's modules (1 dark, 0 light) as grey samples.
_GREY = bytes.maketrans(b"\x00\x01", b"\xff\x00")


class SymbolOverflowError(ValueError):
    """The data needs more than 16 symbols of the allowed version."""


@dataclass(frozen=True)
class SymbolSet:
    """The symbols of one text, in reading order."""

    symbols: tuple[segno.QRCode, ...]

    @property
    def version(self) -> int:
        """The (common) version of the symbols."""
        return self.symbols[0].version

    @property
    def modules(self) -> int:
        """Modules per side of one symbol, without the quiet zone."""
        return self.symbols[0].symbol_size(border=0)[0]


def byte_capacity(version: int, structured_append: bool = False) -> int:
    """How many bytes one byte-mode level M symbol of a version holds (less 20 bits with a structured-append
    header): mode indicator 4 bits, character count 8 bits up to version 9, else 16."""
    overhead = 4 + (8 if version <= 9 else 16) + (20 if structured_append else 0)
    return (DATA_CODEWORDS_M[version - 1] * 8 - overhead) // 8


def symbol_version(largest: int, structured_append: bool) -> int:
    """The smallest version whose symbols hold `largest` bytes."""
    for version in range(1, 41):
        if byte_capacity(version, structured_append) >= largest:
            return version
    raise SymbolOverflowError(f"{largest} bytes do not fit one symbol")


@dataclass(frozen=True)
class SymbolPlan:
    """How many symbols a text needs and their version, worked out without making them."""

    count: int
    version: int


def plan_symbols(data: bytes, max_version: int) -> SymbolPlan:
    """One symbol when the bytes fit `max_version`, else the fewest symbols of a structured-append set whose
    even shares of the bytes each fit `max_version`; SymbolOverflowError past 16."""
    if len(data) <= byte_capacity(max_version):
        return SymbolPlan(1, symbol_version(len(data), False))
    limit = byte_capacity(max_version, structured_append=True)
    count = max(2, -(-len(data) // limit))
    if count > MAX_SYMBOLS:
        raise SymbolOverflowError(f"{len(data)} bytes need {count} symbols of version {max_version}")
    return SymbolPlan(count, symbol_version(-(-len(data) // count), True))


def make_symbols(data: bytes, *, max_version: int = 15) -> SymbolSet:
    """QR symbols carrying the bytes in byte mode, level M: one when they fit `max_version`, else a set."""
    plan = plan_symbols(data, max_version)
    text = data.decode(_BYTES_AS_TEXT)
    if plan.count == 1:
        symbols = (segno.make(text, encoding=_BYTES_AS_TEXT, mode="byte", error=ERROR_LEVEL, version=plan.version,
                              micro=False, boost_error=False),)
    else:
        symbols = tuple(segno.make_sequence(text, encoding=_BYTES_AS_TEXT, mode="byte", error=ERROR_LEVEL,
                                            boost_error=False, symbol_count=plan.count))
    if len(symbols) != plan.count or any(symbol.version != plan.version for symbol in symbols):
        # The layout was planned for this size; a segno that cuts differently must be noticed, not printed.
        raise RuntimeError(f"segno made {len(symbols)} symbols of version {symbols[0].version}, "
                           f"planned {plan.count} of version {plan.version}")
    return SymbolSet(symbols)


def draw_symbol(canvas: Canvas, symbol: segno.QRCode, x: float, y: float, module: float) -> None:
    """Draw one symbol with its lower left corner (quiet zone excluded) at x, y; `module` in points.

    The symbol is a grey image of one sample a module (white 255, black 0), scaled up without interpolation
    (ReportLab writes no /Interpolate), so printers and viewers repeat each sample into a sharp square.
    """
    size = symbol.symbol_size(border=0)[0]
    samples = b"".join(bytes(row) for row in symbol.matrix).translate(_GREY)
    image = Image.frombytes("L", (size, size), samples)
    canvas.drawImage(ImageReader(image), x, y, size * module, size * module)
