"""The 送信状況 screen in staff language: each outgoing message as what happened (「ORCAへ受付を送信」), for which
patient (name and number), by whom, when, in which state (送信待ち / 再試行待ち（次回 HH:MM） / 送信済み / 失敗 with the
reason and what to do); filtered by state, destination, day and patient, a page at a time with a count."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.clinics.services import staff_labels
from app.core.paging import Page
from app.core.timeutil import format_japan_datetime, japan_day_bounds
from app.db import scoped
from app.outbox.models import DEAD, DELIVERED, DELIVERING, PENDING, OutboxMessage
from app.patients.services import patient_labels, search_patients

#: Where messages go, by the first part of their kind.
DESTINATIONS = {"orca": "ORCA", "lab": "検査会社", "sharing": "電子カルテ情報共有サービス",
                "eprescription": "電子処方箋管理サービス", "http": "その他の外部システム"}

#: What a message of each kind does, said as staff say it.
ACTIONS = {
    "orca.reception": "ORCAへ受付を送信",
    "orca.prescription_billing": "ORCAへ処方の会計データ（中途データ）を送信",
    "orca.prescription_billing_delete": "ORCAから処方の会計データ（中途データ）を削除",
    "orca.lab_order_billing": "ORCAへ検査の会計データ（中途データ）を送信",
    "orca.lab_order_billing_delete": "ORCAから検査の会計データ（中途データ）を削除",
    "lab.order": "検査会社へ検査依頼を送信",
    "lab.order_cancel": "検査会社へ検査依頼の取り消しを送信",
    "sharing.register": "電子カルテ情報共有サービスへ6情報を登録",
    "sharing.document": "電子カルテ情報共有サービスへ診療情報提供書を送信",
    "eprescription.register": "電子処方箋管理サービスへ処方箋を登録",
    "eprescription.cancel": "電子処方箋管理サービスへ処方箋の取り消しを送信",
    "http.post": "外部システムへ送信",
}

#: The states staff see and filter by.
STATES = {"waiting": "送信待ち", "retrying": "再試行待ち", "delivering": "送信中", "delivered": "送信済み",
          "failed": "失敗"}

_ERROR_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]*: ")


def destination_of(kind: str) -> str:
    """The destination key of a message kind ("orca", "lab" …)."""
    head = kind.split(".", 1)[0]
    return head if head in DESTINATIONS else "http"


def action_of(message: OutboxMessage) -> str:
    """What the message does, in Japanese (a 6情報 message says whether it registers, replaces or withdraws)."""
    if message.kind == "sharing.register":
        if (message.payload or {}).get("replaces"):
            return "電子カルテ情報共有サービスの6情報を差し替え" if not message.payload.get("withdraw") \
                else "電子カルテ情報共有サービスの6情報を取り下げ"
        if (message.payload or {}).get("withdraw"):
            return "電子カルテ情報共有サービスの6情報を取り下げ"
    return ACTIONS.get(message.kind, f"{DESTINATIONS[destination_of(message.kind)]}へ送信")


def state_key(status: str, tried: bool) -> str:
    """The state staff see: a waiting message that has failed before is 再試行待ち."""
    if status == PENDING:
        return "retrying" if tried else "waiting"
    return {DELIVERING: "delivering", DELIVERED: "delivered", DEAD: "failed"}.get(status, "waiting")


def reason_of(message: OutboxMessage) -> str:
    """The last failure in the receiver's or our words, without the internal error class."""
    return _ERROR_PREFIX.sub("", message.last_error or "").strip()


def advice_for(state: str, destination: str) -> str:
    """What staff should do about a message in this state."""
    where = DESTINATIONS[destination]
    if state == "retrying":
        return f"自動で再送します。{where}が復旧すれば、そのまま送られます。操作は不要です"
    if state == "failed":
        return (f"自動の再送は終わりました。理由を確認し、{where}側または記録を直してから、"
                "管理者が「もう一度送る」を押してください")
    return ""


@dataclass(frozen=True)
class OutboxFilter:
    """The screen's filters; empty means any."""

    state: str = ""
    destination: str = ""
    day: date | None = None
    patient: str = ""


@dataclass(frozen=True)
class OutboxRow:
    """One message as the screen shows it."""

    message: OutboxMessage
    action: str
    destination: str
    state: str
    state_label: str
    patient_id: int | None
    patient_name: str
    patient_number: str
    staff: str
    reason: str
    advice: str

    @property
    def may_retry(self) -> bool:
        """Only a failed message is re-queued by hand (a waiting one goes by itself)."""
        return self.state == "failed"


@dataclass(frozen=True)
class OutboxListing:
    """One page of rows, the page and a message when the patient filter matched nobody."""

    rows: list[OutboxRow]
    page: Page
    note: str = ""


def _state_condition(state: str):
    return {"waiting": (OutboxMessage.status == PENDING) & (OutboxMessage.attempts == 0),
            "retrying": (OutboxMessage.status == PENDING) & (OutboxMessage.attempts > 0),
            "delivering": OutboxMessage.status == DELIVERING, "delivered": OutboxMessage.status == DELIVERED,
            "failed": OutboxMessage.status == DEAD}[state]


def _filtered(session: Session, clinic_id: int, flt: OutboxFilter) -> tuple[Select | None, str]:
    stmt = scoped(OutboxMessage, clinic_id)
    if flt.state in STATES:
        stmt = stmt.where(_state_condition(flt.state))
    if flt.destination in DESTINATIONS:
        if flt.destination == "http":
            stmt = stmt.where(~or_(*(OutboxMessage.kind.startswith(f"{d}.") for d in DESTINATIONS if d != "http")))
        else:
            stmt = stmt.where(OutboxMessage.kind.startswith(f"{flt.destination}."))
    if flt.day is not None:
        start, end = japan_day_bounds(flt.day)
        stmt = stmt.where(OutboxMessage.created_at >= start, OutboxMessage.created_at < end)
    if flt.patient:
        hits, message = search_patients(session, clinic_id, flt.patient)
        if not hits:
            return None, message or "該当する患者はいません"
        stmt = stmt.where(OutboxMessage.patient_id.in_([h.id for h in hits]))
    return stmt, ""


def list_page(session: Session, clinic_id: int, flt: OutboxFilter, page_number: int) -> OutboxListing:
    """One page of a clinic's messages, newest first, with the names the rows show (three queries)."""
    stmt, note = _filtered(session, clinic_id, flt)
    if stmt is None:
        return OutboxListing([], Page(1, 0), note)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = Page(page_number, total)
    messages = list(session.scalars(stmt.order_by(OutboxMessage.id.desc()).offset(page.offset)
                                    .limit(page.per_page)))
    return OutboxListing(describe(session, clinic_id, messages), page, note)


def describe(session: Session, clinic_id: int, messages: list[OutboxMessage]) -> list[OutboxRow]:
    """The rows of some messages of one clinic, with their patients' and staff members' names."""
    patients = patient_labels(session, clinic_id, {m.patient_id for m in messages})
    staff = staff_labels(session, clinic_id, {m.created_by_id for m in messages})
    rows = []
    for m in messages:
        state = state_key(m.status, m.attempts > 0)
        destination = destination_of(m.kind)
        label = STATES[state]
        if state == "retrying":
            label = f"再試行待ち（次回 {format_japan_datetime(m.next_attempt_at, '%H:%M')}）"
        name, number = patients.get(m.patient_id, ("", "")) if m.patient_id else ("", "")
        rows.append(OutboxRow(
            message=m, action=action_of(m), destination=DESTINATIONS[destination], state=state, state_label=label,
            patient_id=m.patient_id if name else None, patient_name=name, patient_number=number,
            staff=staff.get(m.created_by_id, "") if m.created_by_id else "システム（自動）",
            reason=reason_of(m) if state in ("retrying", "failed") else "", advice=advice_for(state, destination)))
    return rows


def counts_by_state(session: Session, clinic_id: int) -> dict[str, int]:
    """How many of a clinic's messages are in each state the screen names."""
    rows = session.execute(select(OutboxMessage.status, OutboxMessage.attempts, func.count())
                           .where(OutboxMessage.clinic_id == clinic_id)
                           .group_by(OutboxMessage.status, OutboxMessage.attempts)).all()
    counts = dict.fromkeys(STATES, 0)
    for status, attempts, n in rows:
        counts[state_key(status, attempts > 0)] += n
    return counts
