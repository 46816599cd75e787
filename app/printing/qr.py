"""QR symbols for printed documents: byte mode, a fixed error correction level, split by structured append.

A text too long for one symbol is cut at line ends (a record is never split unless it alone exceeds a
symbol) and printed as a structured-append sequence of up to 16 symbols (ISO/IEC 18004 §8), so a reader
that decodes each symbol on its own still gets whole records, and one that joins them gets the text.
Symbols are drawn on a ReportLab canvas as 1-bit stencil masks, one sample a module, never smoothed:
crisp at any printer resolution, and a few hundred bytes where rectangles took 24 kB of page content.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, reduce
from operator import xor

import segno
from reportlab.pdfgen.canvas import Canvas
from segno import consts

from app.printing.qr_mask import encode_bytes

MAX_SYMBOLS = 16
#: Light modules around a symbol (ISO/IEC 18004: 4 modules).
QUIET_ZONE = 4
_ERROR_LEVELS = {"L": consts.ERROR_LEVEL_L, "M": consts.ERROR_LEVEL_M, "Q": consts.ERROR_LEVEL_Q,
                 "H": consts.ERROR_LEVEL_H}


_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


class SymbolOverflowError(ValueError):
    """The data needs more than 16 symbols of the allowed version."""


@dataclass(frozen=True)
class SymbolSet:
    """The symbols of one text, in reading order, and the bytes each one carries."""

    symbols: tuple[segno.QRCode, ...]
    chunks: tuple[bytes, ...]

    @property
    def version(self) -> int:
        """The (common) version of the symbols."""
        return self.symbols[0].version

    @property
    def modules(self) -> int:
        """Modules per side of one symbol, without the quiet zone."""
        return self.symbols[0].symbol_size(border=0)[0]


def byte_capacity(version: int, error: str = "M", structured_append: bool = False) -> int:
    """How many bytes one byte-mode symbol of a version holds (less 20 bits with a structured-append header)."""
    bits = consts.SYMBOL_CAPACITY[version][_ERROR_LEVELS[error]]
    overhead = 4 + (8 if version <= 9 else 16) + (20 if structured_append else 0)
    return (bits - overhead) // 8


@lru_cache(maxsize=32)
def _encoded_lines(text: str, encoding: str) -> tuple[bytes, ...]:
    return tuple(line.encode(encoding) for line in text.splitlines(keepends=True))


def _pieces(text: str, encoding: str, limit: int) -> list[bytes]:
    """The text as encoded lines (each ending with its line break), lines longer than the limit cut by character."""
    lines = _encoded_lines(text, encoding)
    if all(len(line) <= limit for line in lines):
        return list(lines)
    pieces: list[bytes] = []
    for line in text.splitlines(keepends=True):
        current = b""
        for char in line:
            encoded = char.encode(encoding)
            if len(current) + len(encoded) > limit:
                pieces.append(current)
                current = b""
            current += encoded
        pieces.append(current)
    return pieces


def _pack(sizes: list[int], limit: int) -> list[int]:
    """Chunk sizes when pieces are taken in order and a chunk is closed before it would pass `limit`."""
    chunks = [0]
    for size in sizes:
        if chunks[-1] and chunks[-1] + size > limit:
            chunks.append(0)
        chunks[-1] += size
    return chunks


def split_text(text: str, encoding: str, limit: int) -> list[bytes]:
    """Cut the encoded text into as few chunks of at most `limit` bytes as possible, balanced in size."""
    pieces = _pieces(text, encoding, limit)
    sizes = [len(p) for p in pieces]
    count = len(_pack(sizes, limit))
    low, high = max(sizes), limit
    while low < high:  # the smallest limit that still needs no more chunks: evens out the symbol sizes
        middle = (low + high) // 2
        if len(_pack(sizes, middle)) <= count:
            high = middle
        else:
            low = middle + 1
    data, chunks, start = b"".join(pieces), [], 0
    for size in _pack(sizes, low):
        chunks.append(data[start:start + size])
        start += size
    return chunks


def _encode(chunk: bytes, version: int, error: str, position: int, parity: int, total: int) -> segno.QRCode:
    # segno's make_sequence cuts bytes evenly (possibly inside a two-byte character) and computes the
    # parity of str(bytes), so a structured-append header is written here, the text cut at line ends.
    header = (position, total - 1, parity) if total > 1 else None
    return encode_bytes(chunk, version, _ERROR_LEVELS[error], header)


def plan_chunks(text: str, *, encoding: str, error: str = "M", max_version: int = 15) -> list[bytes]:
    """The bytes each symbol will carry: one chunk when the text fits `max_version`, else record-aligned pieces."""
    data = text.encode(encoding)
    if len(data) <= byte_capacity(max_version, error):
        return [data]
    return split_text(text, encoding, byte_capacity(max_version, error, structured_append=True))


def symbol_version(chunks: list[bytes], error: str = "M") -> int:
    """The smallest version that holds the largest chunk (all symbols of a set share it)."""
    sa = len(chunks) > 1
    largest = max(len(c) for c in chunks)
    return next(v for v in range(1, 41) if byte_capacity(v, error, sa) >= largest)


def make_symbols(text: str, *, encoding: str, error: str = "M", max_version: int = 15) -> SymbolSet:
    """QR symbols for the text in byte mode: one when it fits `max_version`, else a structured-append set."""
    chunks = plan_chunks(text, encoding=encoding, error=error, max_version=max_version)
    if len(chunks) > MAX_SYMBOLS:
        raise SymbolOverflowError(f"{len(text.encode(encoding))} bytes need {len(chunks)} symbols of version "
                                  f"{max_version}")
    version = symbol_version(chunks, error)
    parity = reduce(xor, b"".join(chunks), 0)
    symbols = tuple(_encode(c, version, error, i, parity, len(chunks)) for i, c in enumerate(chunks))
    return SymbolSet(symbols, tuple(chunks))


def draw_symbol(canvas: Canvas, symbol: segno.QRCode, x: float, y: float, module: float) -> None:
    """Draw one symbol with its lower left corner (quiet zone excluded) at x, y; `module` in points.

    The symbol is an inline image mask (PDF 32000 §8.9.6.2, §8.9.7): one bit a module, rows top down, a 1
    painted in the fill colour (black), /I false so that no viewer or printer smooths the module edges.
    Its rows are written in hexadecimal (/F /AHx) so the page content stays text; one scaling transform
    maps the image's unit square onto the symbol.
    """
    size = len(symbol.matrix)
    row_bytes = (size + 7) // 8
    bits = b"".join(int(bytes(row).translate(_AS_DIGITS).ljust(row_bytes * 8, b"0"), 2).to_bytes(row_bytes, "big")
                    for row in symbol.matrix)
    side = size * module
    canvas.saveState()
    canvas.transform(side, 0, 0, side, x, y)
    canvas.addLiteral(f"BI /W {size} /H {size} /IM true /D [1 0] /I false /F /AHx ID\n{bits.hex()}>\nEI")
    canvas.restoreState()
