"""QR symbols: identical to segno's own (the fast path), byte mode and level M, cut at record ends."""

from __future__ import annotations

import random

import pytest
import segno
from segno import consts
from segno import encoder as segno_encoder

from app.printing import qr
from app.printing.qr_mask import encode_bytes


def _segno_symbol(data: bytes, error: int, header: tuple[int, int, int] | None):
    if header is None:
        return segno_encoder.encode(data, error=error, mode=consts.MODE_BYTE, boost_error=False, micro=False)
    segments = segno_encoder.Segments()
    segments.add_segment(segno_encoder.make_segment(data, consts.MODE_BYTE))
    version = segno_encoder.find_version(segments, error, eci=False, micro=False, is_sa=True)
    return segno_encoder._encode(segments, error=error, version=version, mask=None, eci=False, boost_error=False,
                                 sa_info=segno_encoder._StructuredAppendInfo(*header))


def _cases():
    rng = random.Random(20260313)
    text = "JAHIS10\r\n201,1,1,1,2,620000033,カロナール錠３００　３００ｍｇ,1,1,錠\r\n".encode("shift_jis")
    for index in range(60):
        error = rng.choice([consts.ERROR_LEVEL_M, consts.ERROR_LEVEL_L, consts.ERROR_LEVEL_Q, consts.ERROR_LEVEL_H])
        size = rng.choice([1, 17, 60, 150, 300, 450, 700, 1000] + ([1500] if error != consts.ERROR_LEVEL_H else []))
        data = rng.randbytes(size) if index % 2 else (text * (size // len(text) + 1))[:size]
        header = (rng.randrange(4), 3, rng.randrange(256)) if index % 3 == 0 else None
        yield pytest.param(data, error, header, id=f"{size}B-level{error}-{'sa' if header else 'single'}-{index}")


@pytest.mark.parametrize("data, error, header", list(_cases()))
def test_symbols_are_bit_for_bit_segnos(data, error, header):
    reference = _segno_symbol(data, error, header)
    ours = encode_bytes(data, reference.version, error, header)
    assert ours.mask == reference.mask
    assert [bytes(row) for row in ours.matrix] == [bytes(row) for row in reference.matrix]


def test_capacity_is_segnos():
    for version in (1, 9, 10, 17, 25, 40):
        capacity = qr.byte_capacity(version, "M")
        assert segno.make(b"x" * capacity, mode="byte", error="M", version=version, boost_error=False)
        with pytest.raises(segno.DataOverflowError):
            segno.make(b"x" * (capacity + 1), mode="byte", error="M", version=version, boost_error=False)


def test_split_cuts_at_line_ends_into_balanced_chunks():
    text = "".join(f"201,1,{n},1,2,620000033,カロナール錠３００　３００ｍｇ,1,1,錠\r\n" for n in range(40))
    chunks = qr.split_text(text, "shift_jis", 500)
    assert b"".join(chunks) == text.encode("shift_jis")
    assert all(chunk.endswith(b"\r\n") and len(chunk) <= 500 for chunk in chunks)
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 70  # balanced to about one record


def test_a_record_longer_than_a_symbol_is_cut_between_characters():
    text = "81,1,," + "あ" * 300 + "\r\n"
    chunks = qr.split_text(text, "shift_jis", 101)
    assert b"".join(chunks) == text.encode("shift_jis")
    assert all(len(chunk) <= 101 and chunk.decode("shift_jis") for chunk in chunks)


def test_a_short_text_is_one_plain_symbol_in_byte_mode_level_m():
    symbols = qr.make_symbols("JAHIS10\r\n12,1\r\n", encoding="shift_jis", max_version=10)
    (symbol,) = symbols.symbols
    assert symbol.mode == "byte" and symbol.error == "M"


def test_more_than_sixteen_symbols_is_refused():
    with pytest.raises(qr.SymbolOverflowError):
        qr.make_symbols("12,1\r\n" * 500, encoding="shift_jis", max_version=1)
