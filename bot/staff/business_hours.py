"""Business hours: when a person is at the desk, and time counted only while one is.

A week schedule in a time zone, less holidays. SLA targets are added in business time (a 4-hour first
response due at 16:00 on Friday falls due on Monday at 12:00 in a 09:00-17:00 week), and outside hours
the acknowledgement says when a person will answer. Intervals are built from local wall-clock times and
measured in real (UTC) time, so a DST change inside opening hours counts the hours that really pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import WEEKDAYS, BusinessHoursSettings, parse_day

# Holidays are a finite list and every schedule has an open day, so the next opening is at most this far.
_HORIZON_DAYS = 7 * 60


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """A week of opening ranges (Monday first), in `zone`, closed on `holidays`."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[time, time | None], ...], ...]  # per weekday: (start, end); end None is midnight
    holidays: frozenset[date]

    @classmethod
    def of(cls, settings: BusinessHoursSettings) -> BusinessHours:
        week = tuple(parse_day(getattr(settings, day)) for day in WEEKDAYS)
        return cls(ZoneInfo(settings.timezone), week, frozenset(settings.holidays))

    def _intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (UTC) that end after `start`, in order, beginning with its local day."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a range may run past midnight UTC
        for _ in range(_HORIZON_DAYS + len(self.holidays)):
            if day not in self.holidays:
                for opens, closes in self.week[day.weekday()]:
                    begin = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
                    end_day, end_time = (day, closes) if closes is not None else (day + timedelta(days=1), time())
                    end = datetime.combine(end_day, end_time, tzinfo=self.zone).astimezone(UTC)
                    if end > start and end > begin:
                        yield max(begin, start), end
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls within opening hours."""
        return self.next_open(at) == at

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else when the desk next opens."""
        at = at.astimezone(UTC)
        for begin, _end in self._intervals(at):
            return begin
        raise ValueError("business hours never open")  # unreachable: the settings require an open day

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of business time after `start` (which may fall outside hours)."""
        left = timedelta(minutes=minutes)
        start = start.astimezone(UTC)
        for begin, end in self._intervals(start):
            if end - begin >= left:
                return begin + left
            left -= end - begin
        raise ValueError("business hours never open")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero when `end` is earlier)."""
        total = timedelta()
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        for begin, close in self._intervals(start):
            if begin >= end:
                break
            total += min(close, end) - begin
        return total


def business_hours(settings: BusinessHoursSettings | None) -> BusinessHours | None:
    """The calendar, or None when `[business_hours]` is not configured (always open)."""
    return BusinessHours.of(settings) if settings is not None else None


def opening_text(hours: BusinessHours, opens: datetime, now: datetime, weekdays: list[str]) -> str:
    """How the acknowledgement names the next opening: "Monday 09:00" in the desk's time zone, or the
    date when it is more than six days away (a long holiday)."""
    local = opens.astimezone(hours.zone)
    if (local.date() - now.astimezone(hours.zone).date()).days > 6:
        return local.strftime("%Y-%m-%d %H:%M")
    return f"{weekdays[local.weekday()]} {local:%H:%M}"
