"""The rows of the 受付一覧 as HTML.

The list is the busiest page of the day (300 rows re-read by every tablet within 2 seconds of a change, target
p95 ≤ 30 ms). Rendered by Jinja, its ~20 expressions a row cost about half of the page's time; one str.format a
row with html.escape (faster than markupsafe's on short text) does the same in a fraction. The markup is the
template's: change both together (reception/index.html renders the header, the empty list and all around).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from markupsafe import Markup

from app.reception.services import VisitRow

_ROW = ('<tr data-href="/patients/{patient_id}" data-visit="{id}" class="visit-{status}">'
        '<td class="nowrap">{time}<span class="sub">{acceptance}</span></td>'
        '<td class="name-cell"><a href="/patients/{patient_id}">{name}</a><span class="kana">{kana}</span></td>'
        '<td class="nowrap">{sex}<span class="sub">{age}</span></td>'
        '<td>{department}<span class="sub">{physician}</span></td>'
        '<td><small>{insurance}</small></td>'
        '<td><span class="status status-visit-{status}">{status_label}</span></td>'
        '<td class="nowrap">{button}</td></tr>\n')
_BUTTON = ('<button type="submit" form="status-form" name="transition" value="{id}:{next}" '
           'class="button status-step">{label}へ</button>')


_BILL = '<a class="button secondary" href="/billing/visits/{id}">会計へ</a>'


_SPACES = re.compile(r"(\s+)")  # kept between the parts as written (ORCA puts a full-width space)


def name_parts(text: str) -> str:
    """A name as HTML whose parts never break inside (山田 / 太郎, each kept whole by CSS .name-part): the family
    and the given name may go to two lines on a narrow screen, a single character never does."""
    return "".join(f'<span class="name-part">{escape(part)}</span>' if index % 2 == 0 else escape(part)
                   for index, part in enumerate(_SPACES.split((text or "").strip())) if part)


def render_rows(visits: Iterable[VisitRow], status_labels: dict[str, str], can_write: bool,
                can_bill: bool = False) -> Markup:
    """The <tr> of every visit (escaped here: the values are ORCA's and the clerks' text); 会計へ only for a role
    that may open the visit summary (`can_bill`: billing.read), never a link that answers 403."""
    out = []
    for v in visits:
        status = escape(v.status or "")
        button = _BUTTON.format(id=v.id, next=escape(v.next_status), label=escape(status_labels[v.next_status])) \
            if v.next_status and can_write else ""
        if v.status != "cancelled" and can_bill:
            button += _BILL.format(id=int(v.id))
        out.append(_ROW.format(
            patient_id=int(v.patient_id), id=int(v.id), status=status, time=escape(v.time_text),
            acceptance=escape(v.acceptance_id or "送信待ち"), name=name_parts(v.name), kana=name_parts(v.kana),
            sex=escape(v.sex_label), age=escape(v.age_text), department=escape(v.department_name),
            physician=escape(v.physician_name), insurance=escape(v.insurance_summary),
            status_label=escape(v.status_label), button=button))
    return Markup("".join(out))  # noqa: S704 — every value was escaped (or is an int) as it went in
