"""An independent check of JAHIS 院外処方箋2次元シンボル text against the record table of
docs/standards/prescription.md (JAHIS 記録条件規約 Ver.1.10).

Field counts follow that table; where it lists a record's fields loosely, the spec-shaped samples in
github.com/YasushiMatsumoto/jahis-rx-parser and public parsers decide: 81 備考 is 備考連番, 備考種別, 備考 (sample2.txt:
`81,1,1,【一包化】`), 61 麻薬施用 is 免許番号, 患者住所, 患者電話番号.
"""

from __future__ import annotations

import re
from datetime import datetime

FIELD_COUNTS = {1: 4, 2: 2, 3: 3, 4: 3, 5: 3, 11: 3, 12: 1, 13: 1, 14: 1, 21: 1, 22: 1, 23: 4, 24: 2, 27: 2, 28: 2,
                29: 2, 30: 2, 51: 1, 52: 1, 61: 3, 64: 1, 81: 3, 101: 4, 111: 5, 181: 6, 201: 9, 211: 3, 281: 6}
REQUIRED = (1, 5, 11, 12, 13, 22, 51)
DRUG_CODE_FORMATS = {"2": r"[0-9]{9}", "3": r"[0-9A-Z]{12}", "4": r"[0-9A-Z]{12}", "6": r"[0-9]{9}",
                     "7": r"[0-9A-Z]{9}ZZZ"}
HALF_WIDTH_KANA = re.compile(r"[\uff61-\uff9f ]*")


class SpecError(AssertionError):
    """The text breaks a rule of the spec."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SpecError(message)


def _date(value: str, what: str) -> None:
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError as exc:
        raise SpecError(f"{what}: {value!r} is not YYYYMMDD") from exc


def parse(data: bytes) -> list[list[str]]:
    """The records of symbol bytes: Shift_JIS, CR LF after every line, the version record first."""
    text = data.decode("shift_jis")  # strict: a byte outside Shift_JIS fails here
    _check(text.endswith("\r\n"), "the last line must end with CR LF")
    lines = text[:-2].split("\r\n")
    _check(all("\r" not in line and "\n" not in line for line in lines), "a bare CR or LF inside a line")
    _check(lines[0] == "JAHIS10", f"version record is {lines[0]!r}, not JAHIS10")
    return [line.split(",") for line in lines[1:]]


def _check_fields(number: int, fields: list[str]) -> None:
    _check(number in FIELD_COUNTS, f"record {number} is not in the spec's table")
    _check(len(fields) == FIELD_COUNTS[number],
           f"record {number} has {len(fields)} fields, the spec has {FIELD_COUNTS[number]}: {fields}")
    for value in fields:
        _check(value == value.strip(" \u3000"), f"record {number}: spaces around {value!r}")
        _check('"' not in value, f"record {number}: quote in {value!r}")


def _check_values(number: int, fields: list[str]) -> None:
    if number == 1:
        _check(fields[0] == "1" and re.fullmatch(r"[0-9]{7}", fields[1]) is not None
               and re.fullmatch(r"[0-9]{2}", fields[2]) is not None and fields[3] != "", f"record 1: {fields}")
    elif number in (5, 11):
        kana = fields[1] if number == 5 else fields[2]
        _check(HALF_WIDTH_KANA.fullmatch(kana) is not None, f"record {number}: kana {kana!r} is not half-width")
        _check(fields[2 if number == 5 else 1] != "", f"record {number}: kanji name missing")
    elif number == 12:
        _check(fields[0] in ("1", "2"), f"record 12: sex {fields[0]!r}")
    elif number in (13, 51, 52):
        _date(fields[0], f"record {number}")
    elif number == 23:
        _check(fields[2] in ("1", "2") and re.fullmatch(r"([0-9]{2})?", fields[3]) is not None, f"record 23: {fields}")
    elif number in (27, 28, 29, 30):
        _check(re.fullmatch(r"[0-9]{8}", fields[0]) is not None, f"record {number}: {fields}")
    elif number == 101:
        _check(fields[1] in ("1", "2", "3", "4", "5", "6", "9") and fields[3].isdigit(), f"record 101: {fields}")
    elif number == 111:
        coded = fields[1] == "2" and re.fullmatch(r"[0-9A-Z]{16}", fields[2]) is not None
        _check(coded or (fields[1] == "1" and fields[2] == ""), f"record 111: code kind and code {fields[1:3]}")
        _check(fields[3] != "" and re.fullmatch(r"[0-9]*", fields[4]) is not None, f"record 111: {fields}")
    elif number == 201:
        _check(fields[3] in DRUG_CODE_FORMATS and re.fullmatch(DRUG_CODE_FORMATS[fields[3]], fields[4]) is not None,
               f"record 201: code kind {fields[3]} with code {fields[4]!r}")
        _check(re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,5})?", fields[6]) is not None, f"record 201: dose {fields[6]!r}")
        _check(fields[7] in ("1", "2") and fields[5] != "" and fields[8] != "", f"record 201: {fields}")
    elif number == 281:
        _check(fields[3].isdigit() and fields[4] != "", f"record 281: {fields}")


def check(data: bytes) -> list[list[str]]:
    """Check symbol bytes against the spec; returns the records (number first) or raises SpecError."""
    records = parse(data)
    header: list[int] = []
    rp_expected, drug_seq, last_in_group = 1, 0, 0
    usages: set[str] = set()
    for record in records:
        _check(record[0].isdigit(), f"record number {record[0]!r}")
        number, fields = int(record[0]), record[1:]
        _check_fields(number, fields)
        _check_values(number, fields)
        if number < 100:
            _check(rp_expected == 1, f"record {number} after the Rp records")
            _check(not header or number >= header[-1], f"record {number} after record {header[-1:]}")
            header.append(number)
        elif number == 101:
            _check(rp_expected == 1 or drug_seq > 0, f"Rp {rp_expected - 1} has no drug (201)")
            _check(fields[0] == str(rp_expected), f"Rp {fields[0]} where Rp {rp_expected} was due")
            rp_expected, drug_seq, last_in_group = rp_expected + 1, 0, 101
        elif number < 200:
            _check(fields[0] == str(rp_expected - 1) and number >= last_in_group, f"record {number} out of order")
            _check(drug_seq == 0, f"record {number} after the Rp's drugs")
            if number == 111:
                usages.add(fields[0])
            last_in_group = number
        elif number == 201:
            drug_seq += 1
            _check(fields[0] == str(rp_expected - 1) and fields[1] == str(drug_seq), f"201 numbering {fields[:2]}")
            last_in_group = 201
        else:
            _check(fields[:2] == [str(rp_expected - 1), str(drug_seq)] and number >= last_in_group,
                   f"record {number} {fields[:2]} out of order")
            last_in_group = number
    for number in REQUIRED:
        _check(number in header, f"required record {number} missing")
    _check(rp_expected > 1 and drug_seq > 0, "no Rp, or the last Rp has no drug (201)")
    _check(usages == {str(n) for n in range(1, rp_expected)}, "an Rp without its usage (111)")
    return records
