"""Byte-mode QR symbols built with whole-matrix integer operations: segno's symbols, about ten times faster.

segno builds a symbol module by module in Python and scores all 8 data masks the same way (ISO/IEC
18004 §7.8): about 30 ms for a version 16 symbol, which alone would blow the prescription's 30 ms
budget. This module produces the very same symbols (tests compare them bit for bit with segno's) but
treats the whole matrix as one integer — each row a run of bits with a gap of light bits between rows —
so that placing the codewords is one table lookup per symbol and each penalty rule (N1 runs, N2 blocks,
N3 finder-like patterns, N4 balance) is a handful of big-integer operations per mask.

What is taken from segno: the constants (block structure, capacities), the function patterns (finder,
timing, alignment, reserved areas), the mask conditions, the format and version information, and the
QRCode object. What is done here: the bit stream, Reed-Solomon codewords, interleaving, placement, mask
choice — each following ISO/IEC 18004 and checked against segno.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import zip_longest
from operator import itemgetter

import segno
from segno import consts
from segno import encoder as segno_encoder

#: Light bits between two rows of the matrix integer: the N3 rule looks 4 modules beyond a pattern.
GAP = 8
_BYTE_BITS = tuple(format(value, "08b") for value in range(256))
_FINDER_LIKE = "1011101"
_FROM_DIGITS = bytes.maketrans(b"01", b"\x00\x01")


@dataclass(frozen=True)
class _ByteSegment:
    """What segno.QRCode reads of a symbol's segment: its mode."""

    mode: int = consts.MODE_BYTE


_BYTE_SEGMENT = _ByteSegment()


@dataclass(frozen=True)
class _Layout:
    """Everything about one version that does not depend on the data (computed once per version)."""

    width: int
    rows_getter: itemgetter  # placed bits → the matrix as text, row by row, gaps included
    columns_getter: itemgetter  # the same, column by column
    dark_rows: int  # dark function modules
    dark_columns: int
    mask_rows: tuple[int, ...]  # the modules each mask flips (data region only)
    mask_columns: tuple[int, ...]
    pairs: int  # neighbour pairs inside a line
    block_pairs: int  # neighbour pairs inside a line, all lines but the last
    pattern_starts: int  # where a 7-module pattern fits inside a line
    line_ends: int  # patterns touching the start or end of a line
    cells: int  # modules of the data region (codeword bits and remainder bits)


def _gf_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 512, [0] * 256
    value = 1
    for power in range(255):
        exp[power], log[value] = value, power
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    for power in range(255, 512):
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _gf_tables()


def _multiply(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@cache
def _generator_table(degree: int) -> tuple[int, ...]:
    """For each leading byte, the generator polynomial times it (without its x^n term), as one integer."""
    generator = [1]
    for power in range(degree):
        factor = _EXP[power]
        generator = [a ^ _multiply(b, factor) for a, b in zip([*generator, 0], [0, *generator], strict=True)]
    tail = generator[1:]
    return tuple(int.from_bytes(bytes(_multiply(coefficient, lead) for coefficient in tail), "big")
                 for lead in range(256))


def error_codewords(data: bytes, degree: int) -> bytes:
    """Reed-Solomon error correction codewords of one block (polynomial division, one byte a step)."""
    table = _generator_table(degree)
    shift, keep = 8 * (degree - 1), (1 << (8 * degree)) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & keep) ^ table[(remainder >> shift) ^ byte]
    return remainder.to_bytes(degree, "big")


def _placement(template: tuple[bytearray, ...]) -> list[tuple[int, int]]:
    """Cells of the data region in codeword bit order: two-module columns zigzag from the bottom right."""
    width = len(template)
    cells, upward, right = [], True, width - 1
    while right > 0:
        if right == 6:  # the vertical timing pattern
            right -= 1
        rows = range(width - 1, -1, -1) if upward else range(width)
        for row in rows:
            for column in (right, right - 1):
                if template[row][column] == 0x2:
                    cells.append((row, column))
        upward, right = not upward, right - 2
    return cells


def _as_integer(cells: set[tuple[int, int]], width: int, transpose: bool = False) -> int:
    stride = width + GAP
    value = 0
    for row, column in cells:
        line, position = (column, row) if transpose else (row, column)
        value |= 1 << ((width - 1 - line) * stride + GAP + width - 1 - position)
    return value


def _line_bits(width: int, lines: int, bits: int, offset: int = 0) -> int:
    stride, value = width + GAP, 0
    for line in range(lines):
        value |= bits << ((width - 1 - line) * stride + GAP + offset)
    return value


@cache
def layout(version: int) -> _Layout:
    """The data-independent tables of one version."""
    width = segno_encoder.calc_matrix_size(version)
    template = segno_encoder.make_matrix(width, width)
    segno_encoder.add_finder_patterns(template, width, width)
    segno_encoder.add_alignment_patterns(template, width, width)
    order = _placement(template)
    index = {cell: bit for bit, cell in enumerate(order)}
    filler = len(order)  # points at a "0" appended to the bit stream: function modules, gaps, remainder bits
    gap = [filler] * GAP

    def getter(transpose: bool) -> itemgetter:
        picks = []
        for line in range(width):
            picks += [index.get((position, line) if transpose else (line, position), filler)
                      for position in range(width)] + gap
        return itemgetter(*picks)

    dark = {(r, c) for r in range(width) for c in range(width) if template[r][c] == 0x1}
    conditions = segno_encoder.get_data_mask_functions(False)
    masks = [{cell for cell in order if conditions[mask](*cell)} for mask in range(8)]
    return _Layout(
        width, getter(False), getter(True), _as_integer(dark, width), _as_integer(dark, width, True),
        tuple(_as_integer(m, width) for m in masks), tuple(_as_integer(m, width, True) for m in masks),
        _line_bits(width, width, (1 << (width - 1)) - 1), _line_bits(width, width - 1, (1 << (width - 1)) - 1),
        _line_bits(width, width, (1 << (width - 6)) - 1), _line_bits(width, width, (1 << (width - 7)) | 1),
        len(order))


def _data_codewords(chunk: bytes, version: int, error: int, header: tuple[int, int, int] | None) -> bytes:
    """Mode indicators, character count, data, terminator and pad codewords (ISO/IEC 18004 §7.4)."""
    capacity = consts.SYMBOL_CAPACITY[version][error]
    bits = ""
    if header:
        bits += f"{consts.MODE_STRUCTURED_APPEND:04b}{header[0]:04b}{header[1]:04b}{header[2]:08b}"
    count_bits = 8 if version <= 9 else 16
    bits += f"{consts.MODE_BYTE:04b}{len(chunk):0{count_bits}b}" + "".join(_BYTE_BITS[b] for b in chunk)
    bits += "0" * min(4, capacity - len(bits))
    # Like segno, a stream already on a byte boundary still gets a zero byte (decoders stop at the terminator).
    bits += "0" * min(8 - len(bits) % 8, capacity - len(bits))
    data = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    pads = capacity // 8 - len(data)
    return data + (b"\xec\x11" * (pads // 2 + 1))[:pads]


def _final_bits(data: bytes, version: int, error: int) -> str:
    """Data and error codewords of each block, interleaved (ISO/IEC 18004 §7.6), as bit text."""
    blocks, position = [], 0
    for ec in consts.ECC[version][error]:
        for _ in range(ec.num_blocks):
            blocks.append(data[position:position + ec.num_data])
            position += ec.num_data
    degree = consts.ECC[version][error][0].num_total - consts.ECC[version][error][0].num_data
    errors = [error_codewords(block, degree) for block in blocks]
    ordered = [b for group in (zip_longest(*blocks), zip_longest(*errors)) for row in group for b in row
               if b is not None]
    return "".join(_BYTE_BITS[b] for b in ordered)


def _n1(lines: int, pairs: int) -> int:
    same = ~(lines ^ (lines >> 1)) & pairs  # neighbours of one colour
    starts = same & (same >> 1) & (same >> 2) & (same >> 3)  # 4 such pairs in a row: a run of 5 modules
    return starts.bit_count() + 2 * (starts & ~(starts << 1)).bit_count()  # 5 + i modules score 3 + i


def _n3_scan(text: str, width: int) -> int:
    """segno's scan of one line for 1011101: after a counted match it resumes 7 modules on, else 4."""
    score, index = 0, text.find(_FINDER_LIKE)
    while index != -1:
        offset = index + 7
        if index in (0, width - 7) or "1" not in text[max(index - 4, 0):index] or "1" not in text[offset:offset + 4]:
            score += 40
        else:
            offset = index + 4
        index = text.find(_FINDER_LIKE, offset)
    return score


def _n3(lines: int, table: _Layout) -> int:
    """Finder-like 1011101 with 4 light modules before or after it, or at a line end, scores 40 (N3).

    Two matches 4 or 6 modules apart overlap (the pattern repeats itself there) and segno's scan skips
    one of them, so a line holding such a pair is scanned as segno does.
    """
    light = ~lines
    found = (lines & (light >> 1) & (lines >> 2) & (lines >> 3) & (lines >> 4) & (light >> 5) & (lines >> 6)
             & table.pattern_starts)
    if not found:
        return 0
    light_before = ~((lines >> 7) | (lines >> 8) | (lines >> 9) | (lines >> 10))
    light_after = ~((lines << 1) | (lines << 2) | (lines << 3) | (lines << 4))
    counted = found & (light_before | light_after | table.line_ends)
    overlapping = found & ((found >> 4) | (found >> 6))
    score = 40 * counted.bit_count()
    width, stride = table.width, table.width + GAP
    line_mask = (1 << width) - 1
    while overlapping:  # rare: rescore each line holding an overlapping pair the way segno scans it
        line = width - 1 - (overlapping.bit_length() - 1 - GAP) // stride
        shift = (width - 1 - line) * stride + GAP
        score += _n3_scan(format((lines >> shift) & line_mask, f"0{width}b"), width)
        score -= 40 * ((counted >> shift) & line_mask).bit_count()
        overlapping &= (1 << shift) - 1
    return score


def penalty(rows: int, columns: int, table: _Layout) -> int:
    """segno's penalty score of a masked matrix, given as row and column integers."""
    width, stride = table.width, table.width + GAP
    score = _n1(rows, table.pairs) + _n1(columns, table.pairs) + _n3(rows, table) + _n3(columns, table)
    below = rows << stride
    blocks = ~(rows ^ (rows >> 1)) & ~(below ^ (below >> 1)) & ~(rows ^ below) & table.block_pairs
    score += 3 * blocks.bit_count()
    score += 10 * int(abs(float(rows.bit_count()) / (width ** 2) * 100 - 50) / 5)
    return score


def _matrix(rows: int, width: int) -> tuple[bytearray, ...]:
    stride, line_mask = width + GAP, (1 << width) - 1
    return tuple(bytearray(format((rows >> ((width - 1 - line) * stride + GAP)) & line_mask, f"0{width}b")
                           .encode().translate(_FROM_DIGITS)) for line in range(width))


def encode_bytes(chunk: bytes, version: int, error: int,
                 structured_append: tuple[int, int, int] | None = None) -> segno.QRCode:
    """A byte-mode symbol of the given version and error level, identical to segno's own.

    `structured_append` is (position, total − 1, parity) for a symbol of a structured-append set.
    """
    table = layout(version)
    # Remainder bits are 0, and one more "0" at index `cells` stands for every module outside the data region.
    bits = _final_bits(_data_codewords(chunk, version, error, structured_append), version, error)
    bits = bits.ljust(table.cells + 1, "0")
    data_rows = int("".join(table.rows_getter(bits)), 2)
    data_columns = int("".join(table.columns_getter(bits)), 2)
    best = None
    for mask in range(8):
        rows = table.dark_rows | (data_rows ^ table.mask_rows[mask])
        columns = table.dark_columns | (data_columns ^ table.mask_columns[mask])
        score = penalty(rows, columns, table)
        if best is None or score < best[0]:
            best = (score, mask, rows)
    _, mask, rows = best
    matrix = _matrix(rows, table.width)
    segno_encoder.add_format_info(matrix, version, error, mask)
    segno_encoder.add_version_info(matrix, version)
    # segno.QRCode reads only the mode of a lone segment; building segno's own bit buffer would cost 1 ms.
    return segno.QRCode(segno_encoder.Code(matrix, version, error, mask, [_BYTE_SEGMENT]))
