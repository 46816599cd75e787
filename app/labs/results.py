"""The patient's result table (rows are tests, columns are days) and a trend chart of one test, read with plain
column queries so that ten years of monthly panels (≈ 4,000 results) render in a few milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.core.versioning import current_of
from app.labs.masters import RANGE_PATTERN
from app.labs.models import LabItem, LabResult

DEFAULT_COLUMNS = 12


@dataclass
class Cell:
    """One result in the table."""

    value: str
    flag: str
    status: str
    comment: str
    version: int
    lineage_id: int


@dataclass
class Row:
    """One test: its name, unit, reference range and a cell per shown day."""

    lab_code: str
    name: str
    unit: str
    reference: str
    cells: dict[date, Cell] = field(default_factory=dict)
    #: Measured in the clinic (shown 院内 beside the lab company's results).
    is_in_house: bool = False


def master_order(session: Session, codes: set[str]) -> dict[str, int]:
    """The place of each of these test codes in the lab master's order (a code the master lacks has none: it
    sorts last). Only the codes shown are read (a screen's tests, a few dozen), never the whole master."""
    if not codes:
        return {}
    known = session.scalars(select(LabItem.lab_code).where(LabItem.lab_code.in_(sorted(codes)))
                            .order_by(LabItem.lab_code))
    return {code: index for index, code in enumerate(known)}


@dataclass
class Table:
    """Rows of tests against the shown days (newest first), and whether older days exist."""

    days: list[date]
    rows: list[Row]
    older: date | None
    total_days: int


def result_table(session: Session, clinic_id: int, patient_id: int, sex: str, *, before: date | None = None,
                 columns: int = DEFAULT_COLUMNS) -> Table:
    """The current (not superseded, not withdrawn) results of a patient as a table of the newest `columns` days
    (before `before` when paging back)."""
    keys = {"clinic_id": clinic_id, "patient_id": patient_id}
    # The days first (one small DISTINCT), then only the results of the days shown: ten years of monthly
    # panels are ~4,000 results, a screen shows ~400 of them.
    all_days = list(session.scalars(_RESULT_DAYS, keys))
    candidates = [d for d in all_days if before is None or d < before]
    days = candidates[:columns]
    shown = set(days)
    older = candidates[columns] if len(candidates) > columns else None
    records = session.execute(_RESULTS_OF_DAYS, {**keys, "days": days}).all() if days else []
    order = master_order(session, {r.lab_code for r in records})
    rows: dict[str, Row] = {}
    for r in records:
        row_key = f"{r.lab_code}#{r.sub_id}" if r.sub_id else r.lab_code
        row = rows.get(row_key)
        if row is None:
            row = rows[row_key] = Row(r.lab_code, r.name + (f" ({r.sub_id})" if r.sub_id else ""), r.unit,
                                      r.reference_range, is_in_house=r.is_in_house)
        if r.collected_on in shown:
            row.cells[r.collected_on] = Cell(r.value, r.flag, r.result_status, r.comment, r.version, r.lineage_id)
            if r.collected_on == days[0] or not row.reference:
                row.unit, row.reference = r.unit or row.unit, r.reference_range or row.reference
    ordered = sorted(rows.values(), key=lambda row: (order.get(row.lab_code, 10**6), row.name))
    return Table(days, [row for row in ordered if row.cells], older, len(all_days))


# The table's statements, built once with the clinic and the patient bound (the lab table is opened all day).
_RESULT_DAYS = (select(LabResult.collected_on).where(*current_of(LabResult)).distinct()
                .order_by(LabResult.collected_on.desc()))
_RESULTS_OF_DAYS = (
    select(LabResult.lab_code, LabResult.name, LabResult.unit, LabResult.reference_range, LabResult.value,
           LabResult.flag, LabResult.result_status, LabResult.comment, LabResult.version, LabResult.lineage_id,
           LabResult.collected_on, LabResult.sub_id, LabResult.is_in_house)
    .where(*current_of(LabResult), LabResult.collected_on.in_(bindparam("days", expanding=True)))
    .order_by(LabResult.collected_on.desc()))


@dataclass
class Trend:
    """A server-drawn SVG line of one test over time, with its reference band."""

    name: str
    unit: str
    points: list[tuple[date, float, str]]
    width: int = 640
    height: int = 220
    svg_points: str = ""
    dots: list[dict[str, Any]] = field(default_factory=list)
    band: tuple[float, float] | None = None
    low: float = 0.0
    high: float = 0.0
    ticks: list[dict[str, Any]] = field(default_factory=list)
    band_box: dict[str, float] | None = None
    first_label: date | None = None
    last_label: date | None = None


def trend(session: Session, clinic_id: int, patient_id: int, lab_code: str) -> Trend | None:
    """All current numeric results of one test, scaled into a chart (None when the test has none)."""
    rows = session.execute(
        select(LabResult.collected_on, LabResult.numeric_value, LabResult.flag, LabResult.name, LabResult.unit,
               LabResult.reference_range)
        .where(LabResult.clinic_id == clinic_id, LabResult.patient_id == patient_id, LabResult.lab_code == lab_code,
               LabResult.superseded_at.is_(None), LabResult.retracted.is_(False),
               LabResult.numeric_value.is_not(None))
        .order_by(LabResult.collected_on)).all()
    if not rows:
        return None
    chart = Trend(rows[-1].name, rows[-1].unit, [(r.collected_on, r.numeric_value, r.flag) for r in rows])
    values = [r.numeric_value for r in rows]
    match = RANGE_PATTERN.match(rows[-1].reference_range or "")
    if match:
        chart.band = (float(match.group(1)), float(match.group(2)))
        values += list(chart.band)
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    chart.low, chart.high = low - pad, high + pad
    left, right, top, bottom = 48, 12, 12, 28
    first, last = rows[0].collected_on.toordinal(), rows[-1].collected_on.toordinal()
    span = max(last - first, 1)

    def x(day: date) -> float:
        return round(left + (day.toordinal() - first) / span * (chart.width - left - right), 1)

    def y(value: float) -> float:
        return round(top + (chart.high - value) / (chart.high - chart.low) * (chart.height - top - bottom), 1)

    chart.svg_points = " ".join(f"{x(d)},{y(v)}" for d, v, _ in chart.points)
    chart.dots = [{"x": x(d), "y": y(v), "flag": f, "label": f"{d.isoformat()} {v:g}"} for d, v, f in chart.points]
    if chart.band:
        chart.band_box = {"y": y(chart.band[1]), "h": round(y(chart.band[0]) - y(chart.band[1]), 1),
                          "x": left, "w": chart.width - left - right}
    step = (chart.high - chart.low) / 4
    chart.ticks = [{"y": y(chart.low + step * i), "label": f"{chart.low + step * i:.3g}"} for i in range(5)]
    chart.first_label, chart.last_label = rows[0].collected_on, rows[-1].collected_on
    return chart


def history(session: Session, clinic_id: int, patient_id: int, lineage_id: int) -> list[LabResult]:
    """Every version of one result (the final, then each correction), oldest first."""
    return list(session.scalars(select(LabResult).where(
        LabResult.clinic_id == clinic_id, LabResult.patient_id == patient_id, LabResult.lineage_id == lineage_id)
        .order_by(LabResult.version)))


def results_as_text(session: Session, clinic_id: int, patient_id: int, days: list[date],
                    lab_codes: list[str]) -> str:
    """The current results of the chosen days (only the chosen tests, when any are chosen) as lines for the O of a
    note: one heading per day, then 「name value unit flag」 per test in master order (an in-house test marked
    ［院内］), the lab's comments after."""
    if not days:
        return ""
    stmt = select(LabResult.collected_on, LabResult.lab_code, LabResult.sub_id, LabResult.name, LabResult.value,
                  LabResult.unit, LabResult.flag, LabResult.result_status, LabResult.comment,
                  LabResult.is_in_house).where(
        LabResult.clinic_id == clinic_id, LabResult.patient_id == patient_id, LabResult.superseded_at.is_(None),
        LabResult.retracted.is_(False), LabResult.collected_on.in_(days))
    if lab_codes:
        stmt = stmt.where(LabResult.lab_code.in_(lab_codes))
    found = session.execute(stmt).all()
    order = master_order(session, {r.lab_code for r in found})
    records = sorted(found,
                     key=lambda r: (-r.collected_on.toordinal(), order.get(r.lab_code, 10**6), r.name, r.sub_id))
    blocks: list[str] = []
    for day in sorted({r.collected_on for r in records}, reverse=True):
        lines = [f"【検査結果 {day:%Y/%m/%d} 採取】"]
        comments: list[str] = []
        for r in (r for r in records if r.collected_on == day):
            name = r.name + (f" ({r.sub_id})" if r.sub_id else "") + ("［院内］" if r.is_in_house else "")
            value = "検査不能" if r.result_status == "X" else (r.value or "—")
            extra = "（仮）" if r.result_status == "P" else ""
            lines.append(" ".join(part for part in (name, value + extra, r.unit, r.flag) if part))
            if r.comment and r.comment not in comments:
                comments.append(r.comment)
        lines += [f"※{c}" for c in comments]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


#: Most results one chart page shows beside its notes (a page has at most a few dozen days).
DAY_RESULTS_LIMIT = 600


def _compact_by_day(session: Session, *where: Any, limit: int | None = None) -> dict[date, list[dict]]:
    """The current results matching `where`, by the day collected, compactly (name, value, unit, flag, in-house,
    preliminary or not measured): one query."""
    rows = session.execute(select(
        LabResult.collected_on, LabResult.name, LabResult.sub_id, LabResult.value, LabResult.unit, LabResult.flag,
        LabResult.result_status, LabResult.is_in_house).where(
        LabResult.superseded_at.is_(None), LabResult.retracted.is_(False), *where)
        .order_by(LabResult.collected_on, LabResult.is_in_house, LabResult.lab_code, LabResult.sub_id)
        .limit(limit))
    by_day: dict[date, list[dict]] = {}
    for r in rows:
        by_day.setdefault(r.collected_on, []).append({
            "name": r.name + (f" ({r.sub_id})" if r.sub_id else ""), "in_house": r.is_in_house,
            "value": "検査不能" if r.result_status == "X" else (r.value or "—"), "unit": r.unit, "flag": r.flag,
            "preliminary": r.result_status == "P"})
    return by_day


def results_of_days(session: Session, clinic_id: int, patient_id: int, days: set[date]) -> dict[date, list[dict]]:
    """The current results collected on these days, by day, compactly (name, value, unit, flag, in-house,
    preliminary or not measured): one query whatever the patient's history, for the chart beside its notes."""
    if not days:
        return {}
    return _compact_by_day(session, LabResult.clinic_id == clinic_id, LabResult.patient_id == patient_id,
                           LabResult.collected_on.in_(days), limit=DAY_RESULTS_LIMIT)


def results_between(session: Session, clinic_id: int, patient_id: int, date_from: date,
                    date_to: date) -> dict[date, list[dict]]:
    """Every current result collected from `date_from` to `date_to`, by day, as results_of_days gives them (one
    query for the whole range, none left out: the printed chart holds them all)."""
    return _compact_by_day(session, LabResult.clinic_id == clinic_id, LabResult.patient_id == patient_id,
                           LabResult.collected_on >= date_from, LabResult.collected_on <= date_to)


def current_results(session: Session, clinic_id: int, patient_id: int, *, since: date | None = None,
                    limit: int = 200) -> list[LabResult]:
    """The patient's current results (not superseded, not withdrawn), newest collection first; from `since` on."""
    stmt = select(LabResult).where(LabResult.clinic_id == clinic_id, LabResult.patient_id == patient_id,
                                   LabResult.superseded_at.is_(None), LabResult.retracted.is_(False))
    if since is not None:
        stmt = stmt.where(LabResult.collected_on >= since)
    return list(session.scalars(stmt.order_by(LabResult.collected_on.desc(), LabResult.id).limit(limit)))
