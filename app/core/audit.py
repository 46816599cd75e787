"""Writing and reading the audit trail (hash-chained per clinic) and the access log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from app.core.jp import strip_control_chars
from app.core.models import AccessLogEntry, AuditEntry
from app.db import utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting, from where: passed from the view to every service that writes."""

    user_id: int | None
    login_id: str | None
    clinic_id: int | None
    role: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    #: A partner application acting through the API (user_id None, login_id "app:<name>").
    partner_app_id: int | None = None


SYSTEM = Actor(user_id=None, login_id="system", clinic_id=None, role=None)


def _canonical(entry: AuditEntry) -> bytes:
    """The bytes an entry's hash covers: every field but the hash itself, in a fixed order."""
    fields = [
        entry.id, entry.clinic_id, entry.occurred_at.isoformat(timespec="microseconds"),
        entry.actor_id, entry.actor_login, entry.action, entry.entity_type, entry.entity_id,
        entry.patient_id, entry.summary, entry.ip_address, entry.prev_hash,
    ]
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(entry: AuditEntry) -> str:
    """SHA-256 over the canonical form of an entry."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _chain_lock(session: Session, clinic_id: int | None) -> None:
    """Serialise appends to one clinic's chain across processes (PostgreSQL advisory lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7141, :k)"), {"k": clinic_id or 0})


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    clinic_id: int | None = None,
    entity_type: str | None = None,
    entity_id: Any = None,
    patient_id: int | None = None,
    summary: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the clinic's audit chain, inside the caller's transaction."""
    clinic = clinic_id if clinic_id is not None else actor.clinic_id
    _chain_lock(session, clinic)
    entry = AuditEntry(
        clinic_id=clinic, actor_id=actor.user_id, actor_login=actor.login_id, action=action,
        entity_type=entity_type, entity_id=None if entity_id is None else str(entity_id),
        patient_id=patient_id, summary=summary or {}, ip_address=actor.ip_address,
    )
    session.add(entry)
    # Insert first: on SQLite the insert takes the database's write lock, so no other writer can
    # append between reading the previous link and sealing this one.
    session.flush()
    previous = session.scalar(
        select(AuditEntry.entry_hash)
        .where(AuditEntry.clinic_id.is_(None) if clinic is None else AuditEntry.clinic_id == clinic)
        .where(AuditEntry.id < entry.id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    entry.prev_hash = previous or ""
    session.flush()
    session.refresh(entry)  # read back exactly what the database stored (timestamps, JSON)
    entry.entry_hash = compute_hash(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class BrokenLink:
    """The first entry whose hash or link does not hold."""

    entry_id: int
    clinic_id: int | None
    reason: str


def iter_chain_breaks(session: Session, batch: int = 5000) -> Iterator[BrokenLink]:
    """Walk every clinic's chain in order and yield the first broken link of each."""
    clinic_ids = session.scalars(select(AuditEntry.clinic_id).distinct()).all()
    for clinic in clinic_ids:
        previous_hash = ""
        last_id = 0
        while True:
            stmt = (
                select(AuditEntry)
                .where(AuditEntry.clinic_id.is_(None) if clinic is None else AuditEntry.clinic_id == clinic)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
            rows = session.scalars(stmt).all()
            if not rows:
                break
            broken = None
            for entry in rows:
                if entry.prev_hash != previous_hash:
                    broken = BrokenLink(entry.id, clinic, "前の記録とのつながり (prev_hash) が一致しません")
                elif entry.entry_hash != compute_hash(entry):
                    broken = BrokenLink(entry.id, clinic, "記録の内容がハッシュと一致しません（改ざんの可能性）")
                if broken:
                    break
                previous_hash = entry.entry_hash
                last_id = entry.id
            session.expunge_all()
            if broken:
                yield broken
                break


def log_access(session: Session, actor: Actor, *, patient_id: int | None, action: str, resource: str) -> None:
    """Record a look at a patient's record (view, print, export, patient_view, search) in the session's
    transaction. A plain INSERT: every screen of a patient writes one, and nothing reads the new row back. The
    actor is a staff member or a partner application (named by its login "app:<name>")."""
    if actor.clinic_id is None or (actor.user_id is None and actor.partner_app_id is None):
        raise ValueError("access log needs a clinic user or partner application")
    # On the session's connection, a Core statement built once: every call of the partner API writes one.
    session.connection().execute(_ACCESS_INSERT, {
        "clinic_id": actor.clinic_id, "user_id": actor.user_id, "partner_app_id": actor.partner_app_id,
        "actor_login": (actor.login_id or "")[:64] or None, "patient_id": patient_id, "action": action,
        "resource": strip_control_chars(resource)[:255], "ip_address": actor.ip_address,
        "user_agent": strip_control_chars(actor.user_agent or "")[:255] or None, "accessed_at": utcnow()})


_ACCESS_INSERT = insert(AccessLogEntry.__table__)


def summarize_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """A before/after summary holding only the fields that changed."""
    before = before or {}
    after = after or {}
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {
        "before": {k: before.get(k) for k in changed if k in before},
        "after": {k: after.get(k) for k in changed if k in after},
    }
