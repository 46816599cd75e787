"""One page of the 操作・閲覧記録 as staff read it: who (name and role), what (in Japanese), which patient (name and
number), when — from the audit trail or the access log, filtered by staff, patient, kind of action and dates."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from app.clinics.audit_labels import (
    ACCESS_ACTIONS,
    AUDIT_CATEGORIES,
    SYSTEM_ACTORS,
    access_label,
    audit_action_label,
    audit_category_patterns,
)
from app.clinics.services import staff_labels
from app.core import audit_queries as q
from app.core.paging import Page
from app.patients.services import patient_labels, search_patients


@dataclass(frozen=True)
class LogRow:
    """One entry as the screen shows it."""

    at: datetime
    who: str
    what: str
    patient_id: int | None
    patient_name: str
    patient_number: str
    reason: str = ""


@dataclass(frozen=True)
class LogPage:
    """The rows of a page, the page, and a note when the patient filter matched nobody."""

    rows: list[LogRow]
    page: Page
    note: str = ""


def action_choices(tab: str) -> dict[str, str]:
    """The kinds of action the filter offers on a tab."""
    return ACCESS_ACTIONS if tab == "access" else AUDIT_CATEGORIES


def narrowed(session: Session, clinic_id: int, flt: q.LogFilter, tab: str, action: str,
             patient: str) -> tuple[q.LogFilter | None, str]:
    """The filter with the kind of action and the patient search applied; None (and why) when no patient
    matches the search."""
    if tab == "access" and action in ACCESS_ACTIONS:
        flt = replace(flt, actions=(action,))
    elif tab != "access" and action in AUDIT_CATEGORIES:
        exact, patterns = audit_category_patterns(action)
        flt = replace(flt, actions=tuple(exact), action_patterns=tuple(patterns))
    if patient:
        hits, message = search_patients(session, clinic_id, patient)
        if not hits:
            return None, message or "該当する患者はいません"
        flt = replace(flt, patient_ids=tuple(h.id for h in hits))
    return flt, ""


def log_page(session: Session, clinic_id: int, flt: q.LogFilter | None, tab: str, page_number: int) -> LogPage:
    """One page of the audit trail (tab "audit") or the access log (tab "access"), newest first."""
    if flt is None:
        return LogPage([], Page(1, 0))
    access = tab == "access"
    total = (q.count_access_entries if access else q.count_audit_entries)(session, clinic_id, flt)
    page = Page(page_number, total)
    entries = (q.find_access_entries if access else q.find_audit_entries)(
        session, clinic_id, flt, limit=page.per_page, offset=page.offset)
    people = staff_labels(session, clinic_id, {e.user_id if access else e.actor_id for e in entries})
    patients = patient_labels(session, clinic_id, {e.patient_id for e in entries})
    rows = []
    for e in entries:
        name, number = patients.get(e.patient_id, ("", ""))
        if access:
            who = (people.get(e.user_id, "（削除された職員）") if e.user_id is not None
                   else _partner_label(e.actor_login))
            what, at, reason = access_label(e.action, e.resource), e.accessed_at, ""
        else:
            who = people.get(e.actor_id) if e.actor_id else (
                _partner_label(e.actor_login) if (e.actor_login or "").startswith("app:")
                else SYSTEM_ACTORS.get(e.actor_login or "", "システム（自動）"))
            what, at, reason = audit_action_label(e.action), e.occurred_at, _reason(e.summary)
        rows.append(LogRow(at, who or e.actor_login or "", what, e.patient_id if name else None, name, number,
                           reason))
    return LogPage(rows, page)


def _partner_label(login: str | None) -> str:
    """A look a partner application made through the API ("app:<name>")."""
    return f"連携アプリ「{(login or '').removeprefix('app:')}」"


def _reason(summary: dict | None) -> str:
    """The reason staff gave for a correction or a withdrawal, when the entry keeps one."""
    value = (summary or {}).get("reason")
    return value if isinstance(value, str) else ""

