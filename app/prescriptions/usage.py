"""用法: the JAMI 16-digit usage codes the project ships (data/usage.csv, see data/SOURCES.md) plus free text.

The shipped list is only the codes seen in JAMI's published examples; a usage outside it (頓用 with its
condition, 隔日 …) is written as text and sent with code kind 1 (no code), as the JAHIS symbol allows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

USAGE_FILE = Path(__file__).parent / "data" / "usage.csv"
#: First digit of a JAMI usage code: 1 内服, 2 外用 (masters.md).
USAGE_ROUTE = {"1": "内服", "2": "外用"}


@dataclass(frozen=True)
class Usage:
    """One coded usage: code, the text printed, times a day, route digit."""

    code: str
    text: str
    times_per_day: int | None
    route_digit: str


@lru_cache(maxsize=1)
def coded_usages() -> tuple[Usage, ...]:
    """The shipped usage codes, in file order."""
    with USAGE_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(Usage(r["code"], (r["eprescription_master_name"] or r["jami_display"]).replace("　服用", ""),
                       int(r["times_per_day"]) if r["times_per_day"].isdigit() else None, r["code"][0])
                 for r in rows)


def find_usage(code: str) -> Usage | None:
    """A shipped usage by its code."""
    return next((u for u in coded_usages() if u.code == code), None)
