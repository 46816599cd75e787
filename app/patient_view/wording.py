"""Plain wording for patients (data/*.csv, our own words) and furigana: ｜漢字《かな》 in the tables becomes
<ruby> on the screen and 漢字（かな） on paper."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

DATA = Path(__file__).parent / "data"
_RUBY = re.compile(r"｜([^｜《》]+)《([^《》]+)》")


@dataclass(frozen=True)
class Plain:
    """A term in plain words and its one-line explanation (both may hold furigana marks)."""

    plain: str
    explanation: str


@cache
def _table(name: str) -> dict[str, Plain]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return {row["code"]: Plain(row["plain"], row["explanation"]) for row in csv.DictReader(handle)}


def diagnosis_wording(disease_code: str) -> Plain | None:
    """Our plain words for a 傷病名マスター code (None: the diagnosis is shown under its own name)."""
    return _table("diagnoses.csv").get(disease_code)


def lab_wording(jlac10: str, lab_code: str) -> Plain | None:
    """Our plain words for a test, by its JLAC10 code, else by the lab master's own code."""
    table = _table("lab_tests.csv")
    return table.get(jlac10) or table.get(lab_code)


def ruby(text: str) -> Markup:
    """The text escaped, its furigana marks as <ruby>漢字<rt>かな</rt></ruby>."""
    parts, last = [], 0
    for match in _RUBY.finditer(text or ""):
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup("<ruby>{}<rt>{}</rt></ruby>").format(match.group(1), match.group(2)))
        last = match.end()
    parts.append(escape((text or "")[last:]))
    return Markup("").join(parts)


def ruby_in_brackets(text: str) -> str:
    """The text with its furigana after each word in brackets, for paper: 高血圧（こうけつあつ）."""
    return _RUBY.sub(lambda m: f"{m.group(1)}（{m.group(2)}）", text or "")


def without_ruby(text: str) -> str:
    """The text without its furigana marks (for a label or the access log)."""
    return _RUBY.sub(lambda m: m.group(1), text or "")
