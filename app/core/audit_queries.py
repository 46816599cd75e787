"""Reading the audit trail and the access log for review (filters, CSV export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.core.models import AccessLogEntry, AuditEntry
from app.core.timeutil import format_japan_datetime, japan_day_bounds


@dataclass(frozen=True)
class LogFilter:
    """Filters of the review screens; None (or empty) means "any"."""

    patient_id: int | None = None
    #: Any of these patients (the hits of a search by name or number).
    patient_ids: tuple[int, ...] | None = None
    user_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: The action is one of these, or matches one of these LIKE patterns (a kind of action).
    actions: tuple[str, ...] = ()
    action_patterns: tuple[str, ...] = ()


def _apply(stmt: Select, time_col, patient_col, user_col, action_col, flt: LogFilter) -> Select:
    if flt.patient_id is not None:
        stmt = stmt.where(patient_col == flt.patient_id)
    if flt.patient_ids is not None:
        stmt = stmt.where(patient_col.in_(flt.patient_ids))
    if flt.user_id is not None:
        stmt = stmt.where(user_col == flt.user_id)
    if flt.date_from is not None:
        stmt = stmt.where(time_col >= japan_day_bounds(flt.date_from)[0])
    if flt.date_to is not None:
        stmt = stmt.where(time_col < japan_day_bounds(flt.date_to)[1])
    if flt.actions or flt.action_patterns:
        stmt = stmt.where(or_(action_col.in_(flt.actions), *(action_col.like(p) for p in flt.action_patterns)))
    return stmt


def _audit(clinic_id: int, flt: LogFilter) -> Select:
    return _apply(select(AuditEntry).where(AuditEntry.clinic_id == clinic_id), AuditEntry.occurred_at,
                  AuditEntry.patient_id, AuditEntry.actor_id, AuditEntry.action, flt)


def _access(clinic_id: int, flt: LogFilter) -> Select:
    return _apply(select(AccessLogEntry).where(AccessLogEntry.clinic_id == clinic_id), AccessLogEntry.accessed_at,
                  AccessLogEntry.patient_id, AccessLogEntry.user_id, AccessLogEntry.action, flt)


def _page(session: Session, stmt: Select, limit: int | None, offset: int) -> list:
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt.offset(offset) if offset else stmt))


def find_audit_entries(session: Session, clinic_id: int, flt: LogFilter, limit: int | None = 500,
                       offset: int = 0) -> list[AuditEntry]:
    """A clinic's audit entries, newest first."""
    return _page(session, _audit(clinic_id, flt).order_by(AuditEntry.id.desc()), limit, offset)


def find_access_entries(
    session: Session, clinic_id: int, flt: LogFilter, limit: int | None = 500, offset: int = 0
) -> list[AccessLogEntry]:
    """A clinic's access log, newest first."""
    return _page(session, _access(clinic_id, flt).order_by(AccessLogEntry.id.desc()), limit, offset)


def count_audit_entries(session: Session, clinic_id: int, flt: LogFilter) -> int:
    """How many audit entries the filters match."""
    return session.scalar(select(func.count()).select_from(_audit(clinic_id, flt).subquery())) or 0


def count_access_entries(session: Session, clinic_id: int, flt: LogFilter) -> int:
    """How many access-log entries the filters match."""
    return session.scalar(select(func.count()).select_from(_access(clinic_id, flt).subquery())) or 0


def _csv(header: list[str], rows: Iterable[list[object]]) -> str:
    buffer = io.StringIO()
    # A BOM so that Excel, which most clinics open CSV files with, reads the UTF-8 Japanese correctly.
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _neutralise(str(v)) for v in row])
    return buffer.getvalue()


def _neutralise(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def audit_csv(entries: list[AuditEntry]) -> str:
    """The audit entries as CSV (Japan time)."""
    header = ["ID", "日時", "職員ID", "ログインID", "操作", "対象", "対象ID", "患者ID", "内容", "端末IPアドレス",
              "ハッシュ"]
    return _csv(header,
                ([e.id, format_japan_datetime(e.occurred_at, "%Y-%m-%d %H:%M:%S"), e.actor_id, e.actor_login, e.action,
                  e.entity_type, e.entity_id, e.patient_id, e.summary, e.ip_address, e.entry_hash] for e in entries))


def access_csv(entries: list[AccessLogEntry], names: dict[int, str]) -> str:
    """The access log as CSV (Japan time)."""
    return _csv(["ID", "日時", "職員ID", "職員名", "患者ID", "操作", "画面・文書", "端末IPアドレス"],
                ([e.id, format_japan_datetime(e.accessed_at, "%Y-%m-%d %H:%M:%S"), e.user_id,
                  names.get(e.user_id, "") if e.user_id is not None else e.actor_login,
                  e.patient_id, e.action, e.resource, e.ip_address] for e in entries))
