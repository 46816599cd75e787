"""ORCA's PUSH notifications read back with pusheventgetv2 (orca.md §6a): what changed in ORCA since the last pass.

The WebSocket pusher (§6b) loses whatever it sends while nobody listens and needs an open connection per clinic;
pusheventgetv2 answers the same notifications for about 7 days, so a poller asking every few seconds misses
nothing and stays stateless. This module only reads and sorts the news; orca_sync acts on it.

The cursor (SyncState "orca.push", at most 100 characters) is one of
    "2026-11-25 15:04|Hq3-x0a9Zk_2…"       the JST minute the next ask starts from, then a short fingerprint of
                                           each notification at or after that minute already handled
    "off|2026-11-25T06:40:00+00:00"        this ORCA has no usable pusheventgetv2: ask again after that (UTC)
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from app.core.timeutil import JST
from app.db import utcnow
from app.integrations.orca import OrcaAuthError, OrcaClient, OrcaError, OrcaPushEvent, OrcaUnavailable
from app.reception import services as reception

log = logging.getLogger(__name__)

PUSH_KIND = "orca.push"
#: The API takes start_time to the minute, so every ask repeats the minute it starts in; a notification is also
#: trusted to be readable this long after its time (ORCA stamps it before it is stored; clocks differ a little).
#: The window asked again is therefore about this long, and everything in it is told apart by uuid (ids wrap).
SETTLE = timedelta(minutes=2)
#: An ORCA without the API (on-premise: "現在はクラウド版のみ提供") or refusing it is asked again this seldom.
RETRY_UNSUPPORTED = timedelta(minutes=30)
#: base64url characters of SHA-256(uuid): 36 bits, no clash to fear among a few minutes' notifications, and 13 of
#: them fit the cursor column beside the minute.
FINGERPRINT_LENGTH = 6
_MINUTE = "%Y-%m-%d %H:%M"
#: Reception notifications and the body field that names the day whose list changed. The CLAIM-style
#: `accept` / `account` (§6b 5, 6) say the same as patient_accept / patient_account where a site sends those.
DAY_FIELDS = {"patient_accept": "Accept_Date", "accept": "Accept_Date", "patient_account": "Perform_Date",
              "account": "Perform_Date"}


@dataclass
class PushCursor:
    """Where the next pusheventgetv2 ask starts and what it will repeat that was already handled."""

    start: datetime | None = None  # a JST minute
    seen: tuple[str, ...] = ()  # fingerprints, oldest first
    off_until: datetime | None = None  # UTC; set when this ORCA cannot answer the API

    @classmethod
    def parse(cls, raw: str | None) -> PushCursor:
        """The cursor from its stored form; anything unreadable starts afresh (the full pull covers the gap)."""
        head, _, tail = (raw or "").partition("|")
        try:
            if head == "off":
                return cls(off_until=datetime.fromisoformat(tail))
            if head:
                start = datetime.strptime(head, _MINUTE).replace(tzinfo=JST)
                return cls(start=start, seen=tuple(tail[i:i + FINGERPRINT_LENGTH]
                                                   for i in range(0, len(tail), FINGERPRINT_LENGTH)))
        except ValueError:
            log.warning("unreadable PUSH cursor %r: starting afresh", raw)
        return cls()

    def dump(self) -> str:
        """The stored form (fits SyncState.cursor, 100 characters, with MAX_SEEN fingerprints)."""
        if self.off_until is not None:
            return f"off|{self.off_until.isoformat()}"
        return f"{self.start.strftime(_MINUTE) if self.start else ''}|{''.join(self.seen)}"


MAX_SEEN = (100 - len("2026-11-25 15:04|")) // FINGERPRINT_LENGTH


def fingerprint(uuid: str) -> str:
    """A short, fixed-length stand-in for a notification's uuid (the cursor column is short)."""
    return base64.urlsafe_b64encode(hashlib.sha256(uuid.encode("utf-8")).digest()).decode()[:FINGERPRINT_LENGTH]


@dataclass
class PushNews:
    """What one ask told: patients ORCA changed, days whose reception list changed; or that there was no answer."""

    available: bool
    patient_ids: list[str] = field(default_factory=list)
    days: set[date] = field(default_factory=set)
    new: int = 0
    repeated: int = 0


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(JST).replace(second=0, microsecond=0)


def _unsupported(exc: OrcaError) -> bool:
    """Whether a failed ask means this ORCA cannot serve the API (back off) rather than that ORCA is down now.

    404/405 (no such API), an error code (e.g. 0099, 0089) and a reply of the wrong shape back off; a timeout,
    refused connection, 5xx or refused credentials are ORCA being unwell: the pull of this pass meets them too.
    """
    if isinstance(exc, OrcaAuthError):
        return False
    return not (isinstance(exc, OrcaUnavailable) and exc.retryable)


def read_push_events(session: Session, clinic_id: int, client: OrcaClient, now: datetime | None = None) -> PushNews:
    """Ask ORCA for the notifications since the cursor, drop those already handled, sort the rest into news.

    The cursor moves on in the session; the caller acts on the news in the same transaction, so a pass that
    fails before its commit is asked again. Never raises for the API itself: no answer is `available=False`.
    """
    now = now or utcnow()
    state = reception.sync_state(session, clinic_id, PUSH_KIND)
    cursor = PushCursor.parse(state.cursor)
    if cursor.off_until is not None and cursor.off_until > now:
        return PushNews(available=False)
    state.last_attempt_at = now
    # First ask (or after a back-off): the full pull of the same pass covers what came before.
    start = cursor.start or _minute(now - SETTLE)
    try:
        events = client.fetch_push_events(since=start)
    except OrcaError as exc:
        state.last_error = f"PUSH通知一括取得が使えません（定期取得で同期します）: {exc.message_ja}"[:500]
        if _unsupported(exc):
            state.cursor = PushCursor(off_until=now + RETRY_UNSUPPORTED).dump()
            log.info("clinic %s: pusheventgetv2 unusable (%s); periodic pull only until %s", clinic_id, exc,
                     now + RETRY_UNSUPPORTED)
        return PushNews(available=False)
    news = PushNews(available=True)
    handled = set(cursor.seen)
    events = sorted(events, key=lambda e: e.time)
    for event in events:
        mark = fingerprint(event.uuid)
        if mark in handled:
            news.repeated += 1
            continue
        handled.add(mark)
        news.new += 1
        _sort_event(event, news)
    # Move the start up to the minute before which every notification is readable; remember what was handled
    # from there on, because the next ask returns it again.
    next_start = max(start, _minute(now - SETTLE))
    keep = list(dict.fromkeys(fingerprint(e.uuid) for e in events if e.time >= next_start))
    if len(keep) > MAX_SEEN:  # a burst: the oldest may be handled once more, which is harmless, only slower
        log.info("clinic %s: %d PUSH notifications within %s; remembering the last %d", clinic_id, len(keep),
                 SETTLE, MAX_SEEN)
        keep = keep[-MAX_SEEN:]
    state.cursor = PushCursor(start=next_start, seen=tuple(keep)).dump()
    state.last_success_at = now
    state.last_error = None
    return news


def _sort_event(event: OrcaPushEvent, news: PushNews) -> None:
    """Put one notification into the news: a patient to fetch again, or a day whose list to pull again."""
    if event.event == "patient_information":
        # 患者登録・訂正 → fetch the patient at once (ORCA is the source of demographics). 取消 (delete): ORCA
        # removed a patient without history; Kamikarte keeps its copy, as it keeps every record.
        if event.patient_id and event.mode != "delete" and event.patient_id not in news.patient_ids:
            news.patient_ids.append(event.patient_id)
    elif event.event in DAY_FIELDS:
        stamp = str(event.body.get(DAY_FIELDS[event.event]) or "")
        try:
            news.days.add(date.fromisoformat(stamp))
        except ValueError:  # no usable date in the body: the day the notification was sent
            news.days.add(event.time.astimezone(JST).date())
