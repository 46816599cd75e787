"""Japan time for display; everything is stored in UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time


def to_japan_time(value: datetime) -> datetime:
    """An aware UTC datetime shown in Japan time."""
    return value.astimezone(JST)


def japan_today(now: datetime | None = None) -> date:
    """Today's date in Japan (the clinic's day), whatever the server's zone."""
    return (now or datetime.now(JST)).astimezone(JST).date()


def japan_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants that start and end a day in Japan."""
    start = datetime.combine(day, time.min, tzinfo=JST)
    return start, start + timedelta(days=1)


def format_japan_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp formatted in Japan time ('' for None)."""
    return to_japan_time(value).strftime(fmt) if value else ""
