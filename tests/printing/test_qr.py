"""QR symbols: byte mode and level M through segno's public API; a structured-append set carries the exact bytes
(zbar joins it back), whatever the characters of the text."""

from __future__ import annotations

import pytest
import segno

from app.printing import qr
from tests.printing.pdf_tools import scan_side_by_side

RECORD = "201,1,1,1,2,620000033,カロナール錠３００　３００ｍｇ,1,1,錠\r\n"


@pytest.mark.parametrize("version", [1, 5, 9, 10, 16, 25])
def test_capacity_is_what_segno_fits(version):
    capacity = qr.byte_capacity(version)
    assert segno.make(b"x" * capacity, mode="byte", error="M", version=version, boost_error=False, mask=0)
    with pytest.raises(segno.DataOverflowError):
        segno.make(b"x" * (capacity + 1), mode="byte", error="M", version=version, boost_error=False, mask=0)


def test_a_short_text_is_one_plain_symbol_in_byte_mode_level_m():
    symbols = qr.make_symbols("JAHIS10\r\n12,1\r\n".encode("shift_jis"), max_version=10)
    (symbol,) = symbols.symbols
    assert symbol.mode == "byte" and symbol.error == "M" and not symbol.is_micro


def test_a_set_of_two_byte_characters_joins_back_to_the_exact_bytes(tmp_path):
    # ASCII first, kanji last: shares cut by characters would leave the last symbol too small for its bytes.
    data = ("a" * 201 + "漢" * 200).encode("shift_jis")
    symbols = qr.make_symbols(data, max_version=10)
    assert len(symbols.symbols) == 3 and {s.version for s in symbols.symbols} == {10}
    assert scan_side_by_side(list(symbols.symbols), tmp_path, scale=4) == data


def test_a_long_text_is_a_set_of_the_fewest_symbols_of_one_version(tmp_path):
    data = (RECORD * 40).encode("shift_jis")
    plan = qr.plan_symbols(data, max_version=15)
    symbols = qr.make_symbols(data, max_version=15)
    assert len(symbols.symbols) == plan.count == -(-len(data) // qr.byte_capacity(15, structured_append=True))
    assert {s.version for s in symbols.symbols} == {plan.version} and plan.version <= 15
    assert scan_side_by_side(list(symbols.symbols), tmp_path, scale=4) == data


def test_more_than_sixteen_symbols_is_refused():
    with pytest.raises(qr.SymbolOverflowError):
        qr.make_symbols(b"12,1\r\n" * 500, max_version=1)
