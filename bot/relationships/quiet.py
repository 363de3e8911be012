"""Quiet hours: follow-ups never go out at night in the configured time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def _hhmm(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


def next_allowed(now: datetime, start: str | None, end: str, zone: str) -> datetime:
    """`now` if it is outside quiet hours, else the moment they end (in UTC like `now`)."""
    if start is None:
        return now
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    qs, qe = _hhmm(start), _hhmm(end)
    t = local.timetz().replace(tzinfo=None)
    if qs == qe:
        return now
    quiet = (qs <= t or t < qe) if qs > qe else (qs <= t < qe)  # a window over midnight, or within a day
    if not quiet:
        return now
    end_day = local.date() + timedelta(days=1) if qs > qe and t >= qs else local.date()
    return datetime.combine(end_day, qe, tzinfo=tz).astimezone(now.tzinfo)
