"""What the history screen shows, from a stored reply's reading: dispensings of a period (default 6 months, up to
3 years) filtered by institution and drug, grouped by month, newest first; procedures by date; checkups of five
years with every item, and the numeric items as series for trends."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.core.jp import search_key
from app.core.paging import Page
from app.documents.checkup import CheckupItem, CheckupReport
from app.integrations.onshi.reading import SOURCE_LABELS

PERIODS = {3: "3か月", 6: "6か月", 12: "1年", 24: "2年", 36: "3年"}
DEFAULT_MONTHS = 6
CHECKUP_YEARS = 5
#: Rows of the medication and procedure lists on one page.
ROWS_PER_PAGE = 100


@dataclass
class Month:
    """One month of the list, newest day first."""

    label: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def months_back(today: date, months: int) -> date:
    """The first day of the month `months - 1` months before today's (6 → the last six months, this one included)."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def period_of(value: str | None) -> int:
    """The period asked for in months (one of PERIODS, else the default)."""
    try:
        months = int(value or DEFAULT_MONTHS)
    except ValueError:
        return DEFAULT_MONTHS
    return months if months in PERIODS else DEFAULT_MONTHS


def _row(item: dict[str, Any]) -> dict[str, Any]:
    return item | {"source_label": SOURCE_LABELS.get(item["source"], item["source"]),
                   "where": "自院" if item.get("own") else "他院"}


def institutions(content: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(code, name) of every institution or pharmacy in the reply, by name."""
    found = {(d["institution_code"], d["institution_name"]) for d in (content or {}).get("dispensings", [])}
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def medication_months(content: dict[str, Any] | None, today: date, months: int, institution: str = "",
                      drug: str = "", page: int = 1) -> tuple[list[Month], Page]:
    """One page of the dispensings of the period (filtered), newest first, grouped by month; and the page with the
    count of all rows (three years are about a thousand: paged, not 12,000 px of rows)."""
    since = months_back(today, months).isoformat()
    wanted = search_key(drug) if drug.strip() else ""
    chosen = [d for d in (content or {}).get("dispensings", []) if d["day"] >= since
              and (not institution or d["institution_code"] == institution)
              and (not wanted or wanted in search_key(d["drug_name"]) or wanted in search_key(d["ingredient"]))]
    chosen.sort(key=lambda d: (d["day"], d["institution_code"], d["source"]), reverse=True)
    shown = Page(page, len(chosen), ROWS_PER_PAGE)
    before = chosen[shown.offset - 1]["day"][:7] if shown.offset else ""
    grouped: OrderedDict[str, Month] = OrderedDict()
    for item in chosen[shown.offset:shown.offset + shown.per_page]:
        key = item["day"][:7]
        label = f"{key[:4]}年{int(key[5:7])}月" + ("（前のページから続く）" if key == before else "")
        grouped.setdefault(key, Month(label)).rows.append(_row(item))
    return list(grouped.values()), shown


def procedures(content: dict[str, Any] | None, today: date, months: int, institution: str = "",
               page: int = 1) -> tuple[list[dict], Page]:
    """One page of the procedures of the period, newest first, and the page with the count of all rows."""
    since = months_back(today, months).isoformat()
    rows = sorted((p for p in (content or {}).get("procedures", []) if p["day"] >= since
                   and (not institution or p["institution_code"] == institution)),
                  key=lambda p: (p["day"], p["institution_code"], p["code"]), reverse=True)
    shown = Page(page, len(rows), ROWS_PER_PAGE)
    return rows[shown.offset:shown.offset + shown.per_page], shown


def _checkup_item(item: dict[str, Any]) -> CheckupItem:
    """A 特定健診 item as the 健診結果報告書 view shows one: a number when its data type is numeric, a coded answer
    by its name (DataValueName), the service's own value name beside a number as the judgement."""
    number = None
    if item["data_type"] in ("", "PQ", "REAL", "INT"):
        try:
            number = float(item["value"])
        except ValueError:
            number = None
        if number is not None and not math.isfinite(number):
            number = None
    if number is not None:
        return CheckupItem(item["code"], item["name"], item["value"], item["unit"], number, item["value_name"])
    return CheckupItem(item["code"], item["name"], item["value_name"] or item["value"], item["unit"])


def checkups(content: dict[str, Any] | None, today: date) -> list[CheckupReport]:
    """The 特定健診 of the last five years, newest first, each as a report of every item (one group: the reply
    does not section them)."""
    since = date(today.year - CHECKUP_YEARS, today.month, 1).isoformat()
    chosen = sorted((c for c in (content or {}).get("checkups", []) if c["day"] >= since),
                    key=lambda c: c["day"], reverse=True)
    return [CheckupReport("特定健診結果", "特定健診", c["day"], "",
                          [("健診・問診の項目", [_checkup_item(i) for i in c["items"]])]) for c in chosen]
