"""Reading the chart in full-chart mode: a patient's notes newest (or oldest) first, a page at a time by keyset
(the same few queries whatever the years of history), filtered by date range and author; the clinic-wide search
pages the same way. This is the one module that reads the note model's columns for reading and searching.
A note belongs to a visit (or an encounter without one), so the chart also narrows by its department, insurance
and kind (外来, 電話再診, 訪問診療 …)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.core.errors import ValidationError
from app.db import scoped
from app.notes.models import ENCOUNTER_LABELS, ProgressNote

#: Notes on one page of the timeline (and of search results).
PAGE_SIZE = 20
#: How long a department or insurance filter value may be (the model's columns are 40 and 120 characters).
FILTER_TEXT_MAX = 120


@dataclass(frozen=True)
class ChartFilter:
    """What the doctor narrowed the chart to; `after` is the keyset cursor of the next page."""

    date_from: date | None = None
    date_to: date | None = None
    author_id: int | None = None
    oldest_first: bool = False
    department: str = ""
    insurance: str = ""
    kind: str = ""
    after: tuple[date, int] | None = None

    def args(self, **changes) -> dict[str, str]:
        """The query-string arguments that give this filter (with changes), for links."""
        values = {"from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else "",
                  "author": str(self.author_id or ""), "order": "asc" if self.oldest_first else "",
                  "department": self.department, "insurance": self.insurance, "kind": self.kind}
        values |= {k: str(v) for k, v in changes.items()}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class NotePage:
    """One page of notes and the cursor of the next page (None on the last)."""

    notes: list[ProgressNote]
    next_cursor: str | None


def read_filter(args: Mapping[str, str]) -> ChartFilter:
    """The filter from a query string; a date or cursor that cannot be read raises ValidationError (Japanese)."""
    date_from = _date(args.get("from"), "開始日")
    date_to = _date(args.get("to"), "終了日")
    if date_from and date_to and date_from > date_to:
        raise ValidationError("開始日は終了日より前の日付にしてください", field="from")
    author = (args.get("author") or "").strip()
    if author and not author.isdigit():
        raise ValidationError("記載者の指定が読めません。一覧から選び直してください", field="author")
    kind = (args.get("kind") or "").strip()
    if kind and kind not in ENCOUNTER_LABELS:
        raise ValidationError("記録の種類は一覧から選んでください", field="kind")
    return ChartFilter(date_from=date_from, date_to=date_to, author_id=int(author) if author else None,
                       oldest_first=args.get("order") == "asc",
                       department=(args.get("department") or "").strip()[:FILTER_TEXT_MAX],
                       insurance=(args.get("insurance") or "").strip()[:FILTER_TEXT_MAX], kind=kind,
                       after=_cursor(args.get("after")))


def _date(raw: str | None, label: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{label}は 2026-12-07 の形で入力してください", field="dates") from None


def _cursor(raw: str | None) -> tuple[date, int] | None:
    if not raw:
        return None
    day, _, note_id = raw.partition(".")
    try:
        return date.fromisoformat(day), int(note_id)
    except ValueError:
        raise ValidationError("ページの指定が読めません。最初のページから開き直してください", field="after") from None


def current_notes(clinic_id: int) -> Select:
    """The clinic's notes as they stand (current, not withdrawn)."""
    return scoped(ProgressNote, clinic_id).where(ProgressNote.superseded_at.is_(None),
                                                 ProgressNote.retracted.is_(False))


def _filtered(query: Select, chart_filter: ChartFilter) -> Select:
    if chart_filter.date_from:
        query = query.where(ProgressNote.note_date >= chart_filter.date_from)
    if chart_filter.date_to:
        query = query.where(ProgressNote.note_date <= chart_filter.date_to)
    for column, wanted in ((ProgressNote.recorded_by_id, chart_filter.author_id),
                           (ProgressNote.department_name, chart_filter.department),
                           (ProgressNote.insurance_summary, chart_filter.insurance),
                           (ProgressNote.encounter_kind, chart_filter.kind)):
        if wanted:
            query = query.where(column == wanted)
    return query


def page_of(session: Session, query: Select, chart_filter: ChartFilter, *, size: int = PAGE_SIZE,
            order_by: tuple[Any, Any] = (ProgressNote.note_date, ProgressNote.id)) -> NotePage:
    """One page of the query's notes in the filter's order, from its cursor on (one query). `order_by` is the
    (day, id) pair to order and page by: a search orders by its own table's copy, so that its index serves."""
    query = _filtered(query, chart_filter)
    day, ident = order_by
    if chart_filter.after:
        after_day, after_id = chart_filter.after
        if chart_filter.oldest_first:
            query = query.where(or_(day > after_day, and_(day == after_day, ident > after_id)))
        else:
            query = query.where(or_(day < after_day, and_(day == after_day, ident < after_id)))
    order = (day.asc(), ident.asc()) if chart_filter.oldest_first else (day.desc(), ident.desc())
    notes = list(session.scalars(query.order_by(*order).limit(size + 1)))
    more = len(notes) > size
    notes = notes[:size]
    cursor = f"{notes[-1].note_date.isoformat()}.{notes[-1].id}" if more else None
    return NotePage(notes, cursor)


def patient_timeline(session: Session, clinic_id: int, patient_id: int, chart_filter: ChartFilter) -> NotePage:
    """A page of the patient's chart."""
    return page_of(session, current_notes(clinic_id).where(ProgressNote.patient_id == patient_id), chart_filter)


def authors(session: Session, clinic_id: int, patient_id: int) -> list[tuple[int, str]]:
    """Who wrote the patient's current notes (id, name as written), for the author filter (one query)."""
    rows = session.execute(select(ProgressNote.recorded_by_id, ProgressNote.recorded_by_name).distinct().where(
        ProgressNote.clinic_id == clinic_id, ProgressNote.patient_id == patient_id,
        ProgressNote.superseded_at.is_(None), ProgressNote.recorded_by_id.is_not(None)))
    return sorted({(r[0], r[1]) for r in rows}, key=lambda r: r[1])


def notes_between(session: Session, clinic_id: int, patient_id: int, date_from: date,
                  date_to: date) -> list[ProgressNote]:
    """The patient's current notes of a date range, oldest first (the printed 2号紙)."""
    return list(session.scalars(current_notes(clinic_id).where(
        ProgressNote.patient_id == patient_id, ProgressNote.note_date >= date_from,
        ProgressNote.note_date <= date_to).order_by(ProgressNote.note_date, ProgressNote.id)))


@dataclass(frozen=True)
class FilterChoices:
    """What the patient's notes can be narrowed to: their departments, insurances and kinds."""

    departments: list[str]
    insurances: list[str]
    kinds: list[tuple[str, str]]


def filter_choices(session: Session, clinic_id: int, patient_id: int) -> FilterChoices:
    """The departments, insurances and kinds the patient's current notes carry (one query)."""
    rows = session.execute(select(ProgressNote.department_name, ProgressNote.insurance_summary,
                                  ProgressNote.encounter_kind).distinct().where(
        ProgressNote.clinic_id == clinic_id, ProgressNote.patient_id == patient_id,
        ProgressNote.superseded_at.is_(None))).all()
    kinds = sorted({kind for _, _, kind in rows if kind})
    return FilterChoices(sorted({d for d, _, _ in rows if d}), sorted({i for _, i, _ in rows if i}),
                         [(kind, ENCOUNTER_LABELS.get(kind, kind)) for kind in kinds])
