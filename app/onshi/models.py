"""The history consent per kind, and each history file fetched (kept as received, with its reading)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, PatientScoped, StatusLabelled, UTCDateTime, utcnow

#: The kinds of history a patient may agree to show at the card reader (the 2024 consent items).
KINDS = {"drug": "薬剤情報", "diagnosis": "診療情報", "checkup": "特定健診情報", "operation": "手術情報"}
FLAG_LABELS = {"0": "同意なし", "1": "同意あり", "2": "同意有効期限切れ", "3": "同意取得困難"}

#: What a fetch asked for: 薬剤 (with 診療 when the consent covers it) or 特定健診.
MEDICATION, CHECKUP = "medication", "checkup"
#: The reply formats a request can ask for (FileCategory: the XML kinds or the PDF kinds).
XML, PDF = "xml", "pdf"
#: A fetch's state: handed over and waiting, read whole, kept but unreadable, failed before a reply, the reply
#: never came in time (it may still come and be matched), a late reply thrown away, the service said no.
WAITING, RECEIVED, UNREADABLE, FAILED, ABANDONED, DISCARDED, REFUSED = (
    "waiting", "received", "unreadable", "failed", "abandoned", "discarded", "refused")
STATUS_LABELS = {WAITING: "応答待ち", RECEIVED: "受信済", UNREADABLE: "読めない応答", FAILED: "取得できず",
                 REFUSED: "照会を拒否された",
                 ABANDONED: "応答なし（後から届けば照合）", DISCARDED: "遅れて届いた応答を破棄"}


class HistoryConsent(PatientScoped, Base):
    """One kind's consent as the eligibility result gave it (a new row only when it changes)."""

    __tablename__ = "onshi_consent"
    __table_args__ = (Index("ix_onshi_consent_patient", "clinic_id", "patient_id", "kind", "recorded_at"),)

    kind: Mapped[str] = mapped_column(String(12))
    #: OQSCD016: 0 同意なし, 1 同意あり, 2 同意有効期限切れ, 3 同意取得困難.
    flag: Mapped[str] = mapped_column(String(1))
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def label(self) -> str:
        """薬剤情報 / 診療情報 / …"""
        return KINDS.get(self.kind, self.kind)


class HistoryFetch(StatusLabelled, PatientScoped, Base):
    """One request to the service and its reply file as received (bytes, name, time), with who asked, the request
    id, and — when the reply was read whole — its plain values; otherwise why it is unreadable."""

    __tablename__ = "onshi_fetch"
    status_labels = STATUS_LABELS
    #: Looked up by what was asked for and by what came of it (the reply and its reading make a row large: the
    #: lookups must not read the rows they pass over).
    __table_args__ = (Index("ix_onshi_fetch_format", "clinic_id", "patient_id", "kind", "reply_format", "requested_at"),
                      Index("ix_onshi_fetch_status", "clinic_id", "patient_id", "kind", "status", "received_at"),
                      Index("ix_onshi_fetch_request", "clinic_id", "request_id", unique=True))

    kind: Mapped[str] = mapped_column(String(12))
    business_code: Mapped[str] = mapped_column(String(12))
    request_id: Mapped[str] = mapped_column(String(40))
    #: The months asked for (薬剤); the checkup request names no period.
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    with_diagnosis: Mapped[bool] = mapped_column(default=False)
    #: What was asked for: XML (read into `content`, what the screens and the check use) or PDF (kept and shown
    #: as received, never read).
    reply_format: Mapped[str] = mapped_column(String(3), default=XML, server_default=XML)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    requested_by_name: Mapped[str] = mapped_column(String(100), default="")
    #: The files are loaded only when asked for (a screen shows the reading, not the bytes).
    request_body: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[str] = mapped_column(String(12), default=WAITING)
    reason: Mapped[str] = mapped_column(Text, default="")
    reply_name: Mapped[str] = mapped_column(String(120), default="")
    reply_body: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    reply_sha256: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The reply's reading (app.integrations.onshi values as JSON), only when read whole.
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
