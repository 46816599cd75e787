"""The one rule for clinical dates staff type: how far into the future each kind of date may lie (Japan's calendar
day). Every service that takes a typed date of a clinical event asks here, so a date years ahead (a slip of the
keypad, 2062 for 2026) is refused with a message naming the field instead of being stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from app.core.errors import ValidationError
from app.core.timeutil import japan_today

#: Days after today a date of each kind may lie. 0: today at the latest (the event has happened).
FUTURE_WINDOW_DAYS: dict[str, int] = {
    # a specimen collection planned for a coming visit: about three months ahead at most
    "lab_collection": 90,
    # a visit (受付), a progress note's day, a diagnosis' start or end (転帰), a profile record (確認日, 発現日,
    # 検査日, 接種日): things that have happened
    "visit": 0,
    "note": 0,
    "diagnosis": 0,
    "record": 0,
    # 要介護認定 period: a renewal is applied for from 60 days before the current period ends, so the next one may
    # be recorded up to about 60 days before it starts, and it runs up to 48 months
    "certification_start": 60,
    "certification_end": 60 + 4 * 366,
}
#: A measured time may run a few minutes ahead of the server's clock (a tablet's clock, typing the minute).
MEASUREMENT_SLACK = timedelta(minutes=5)


def future_date_error(value: date, kind: str, label: str, *, today: date | None = None) -> str | None:
    """The Japanese message when `value` lies beyond the window of `kind`, naming the field; else None."""
    window = FUTURE_WINDOW_DAYS[kind]
    today = today or japan_today()
    if value <= today + timedelta(days=window):
        return None
    if window == 0:
        return f"{label}が未来の日付になっています（今日以前の日付を入力してください）"
    return f"{label}は{window}日先までの日付にしてください（入力: {value.isoformat()}）"


def refuse_future_date(value: date | None, kind: str, label: str, *, field: str, today: date | None = None) -> None:
    """ValidationError on `field` when `value` lies beyond the window of `kind` (None passes)."""
    if value is not None and (message := future_date_error(value, kind, label, today=today)):
        raise ValidationError(message, field=field)


def future_datetime_error(value: datetime, label: str, *, now: datetime) -> str | None:
    """The Japanese message when a measured time lies ahead of now (beyond a few minutes' slack); else None."""
    if value > now + MEASUREMENT_SLACK:
        return f"{label}が未来になっています（現在より後の日時は入力できません）"
    return None
