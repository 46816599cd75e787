"""用法: the JAMI 16-digit usage codes the project ships (data/usage.csv, see data/SOURCES.md) plus free text.

The shipped list is only the codes seen in JAMI's published examples; a usage outside it (頓用 with its
condition, 隔日 …) is written as text and sent with code kind 1 (no code), as the JAHIS symbol allows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from app.printing.rx_lines import DOSE_PREFIX

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


#: The order form's words for what the typed dose counts, by 剤形 (the printed form's 1日 / 1回, else the total).
DOSE_BASIS = {form: f"{prefix}量" for form, prefix in DOSE_PREFIX.items()}


def times_a_day(usage_code: str, times_per_day: int | None) -> int | None:
    """How many times a day an Rp is taken: from its usage code, else as recorded."""
    usage = find_usage(usage_code) if usage_code else None
    return usage.times_per_day if usage else times_per_day


def dose_words(form: int, dose: float | Decimal, unit: str, times_per_day: int | None = None) -> str:
    """The dose said as the printed form says it, so that a screen is never read per time when it means per day:
    1日3錠 (内服), with 1回1錠 when the times a day are known and divide it evenly; 1回1錠 (頓服); 14枚 (外用: the
    total)."""
    amount = Decimal(f"{dose:g}") if isinstance(dose, float) else Decimal(dose)
    text = f"{DOSE_PREFIX.get(form, '全量')}{amount.normalize():f}{unit}"
    if DOSE_PREFIX.get(form) == "1日" and times_per_day:
        per_time = amount / times_per_day
        if per_time == per_time.quantize(Decimal("0.001")):
            text += f"（1回{per_time.normalize():f}{unit}）"
    return text
