"""Business-time arithmetic across nights, weekends, holidays and DST, and the SLA due times built on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import BusinessHoursSettings, ConfigError, Settings, SlaSettings, load_settings, parse_day
from bot.domain import Priority
from bot.sla import sla_of
from bot.staff.business_hours import BusinessHours, opening_text

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS_EN = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def hours(**kw: Any) -> BusinessHours:
    return BusinessHours.of(BusinessHoursSettings.model_validate({"timezone": "Europe/Paris", **kw}))


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def test_inside_hours_adds_plainly() -> None:
    h = hours()
    assert h.add(paris(2026, 3, 3, 10, 0), 60) == paris(2026, 3, 3, 11, 0)  # a Tuesday


def test_overnight_carries_the_rest_to_the_next_morning() -> None:
    h = hours()
    # Tuesday 16:30 + 2 h: 30 minutes on Tuesday, 90 on Wednesday from 09:00.
    assert h.add(paris(2026, 3, 3, 16, 30), 120) == paris(2026, 3, 4, 10, 30)


def test_a_friday_afternoon_target_falls_due_on_monday() -> None:
    h = hours()
    assert h.add(paris(2026, 3, 6, 16, 0), 240) == paris(2026, 3, 9, 12, 0)


def test_a_case_opened_at_night_or_at_the_weekend_starts_counting_at_the_opening() -> None:
    h = hours()
    assert h.add(paris(2026, 3, 7, 23, 15), 15) == paris(2026, 3, 9, 9, 15)  # Saturday night
    assert h.add(paris(2026, 3, 4, 6, 0), 15) == paris(2026, 3, 4, 9, 15)  # Wednesday before opening
    assert h.next_open(paris(2026, 3, 6, 17, 0)) == paris(2026, 3, 9, 9, 0)  # closing time is closed
    assert h.is_open(paris(2026, 3, 6, 16, 59)) and not h.is_open(paris(2026, 3, 6, 17, 0))


def test_holidays_are_skipped() -> None:
    h = hours(holidays=["2026-12-24", "2026-12-25"])
    # Wednesday 23 December 16:00 + 2 h: one hour that day, the next on Monday 28th (24-25 off, 26-27 weekend).
    assert h.add(paris(2026, 12, 23, 16, 0), 120) == paris(2026, 12, 28, 10, 0)
    assert not h.is_open(paris(2026, 12, 24, 11, 0))


def test_split_days_and_a_saturday_morning() -> None:
    h = hours(mon="09:00-12:00, 13:00-17:00", sat="10:00-12:00")
    assert h.add(paris(2026, 3, 9, 11, 30), 60) == paris(2026, 3, 9, 13, 30)  # lunch is not counted
    assert h.add(paris(2026, 3, 6, 16, 0), 120) == paris(2026, 3, 7, 11, 0)  # Friday into Saturday
    assert h.between(paris(2026, 3, 9, 8, 0), paris(2026, 3, 9, 18, 0)) == timedelta(hours=7)


def test_dst_spring_forward_in_open_hours_counts_real_time() -> None:
    # Open round the clock on Sunday 29 March 2026, when Paris skips 02:00-03:00: 00:00 to 24:00 is 23 hours.
    h = hours(sun="00:00-24:00")
    start = paris(2026, 3, 29, 0, 0)
    assert h.between(start, paris(2026, 3, 30, 0, 0)) == timedelta(hours=23)
    assert h.add(start, 180) == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # 04:00 local, three real hours on


def test_dst_keeps_opening_at_local_nine() -> None:
    h = hours()
    # Friday 27 March 16:00 CET (UTC+1) + 2 h -> Monday 30 March 10:00 CEST (UTC+2): local hours hold.
    due = h.add(paris(2026, 3, 27, 16, 0), 120)
    assert due == paris(2026, 3, 30, 10, 0)
    assert due.astimezone(UTC).hour == 8
    # And in autumn (25 October 2026, back to UTC+1).
    assert h.add(paris(2026, 10, 23, 16, 30), 60).astimezone(UTC) == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)


def test_sla_due_times_count_business_time_only() -> None:
    h = hours()
    opened = paris(2026, 3, 6, 16, 0)  # Friday
    state = sla_of(SlaSettings(), Priority.NORMAL, opened, opened, None, hours=h)  # 240 and 1440 minutes
    assert state.first_response_due == paris(2026, 3, 9, 12, 0)
    assert state.resolution_due == paris(2026, 3, 11, 16, 0)  # 24 business hours: Fri 1, Mon 8, Tue 8, Wed 7
    assert not sla_of(SlaSettings(), Priority.NORMAL, opened, paris(2026, 3, 9, 11, 0), None, hours=h).breached
    always = sla_of(SlaSettings(), Priority.NORMAL, opened, opened, None)
    assert always.first_response_due == opened + timedelta(minutes=240)


def test_opening_text_names_the_day_or_the_date_when_far() -> None:
    h = hours(holidays=[str(date(2026, 12, 24) + timedelta(days=i)) for i in range(10)])
    now = paris(2026, 3, 6, 18, 0)
    assert opening_text(h, h.next_open(now), now, WEEKDAYS_EN) == "Monday 09:00"
    late = paris(2026, 12, 23, 18, 0)
    assert opening_text(h, h.next_open(late), late, WEEKDAYS_EN) == "2027-01-04 09:00"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("9-17", "HH:MM"),
        ("17:00-09:00", "ends before"),
        ("09:00-13:00, 12:00-17:00", "overlaps"),
        ("25:00-26:00", "HH:MM"),
    ],
)
def test_bad_ranges_are_refused(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_day(value)


def test_config_refuses_a_week_that_never_opens_and_an_unknown_zone(tmp_path: Any) -> None:
    path = tmp_path / "c.toml"
    closed = "\n".join(f'{d} = ""' for d in ("mon", "tue", "wed", "thu", "fri"))
    path.write_text(f"[business_hours]\n{closed}\n")
    with pytest.raises(ConfigError, match="every day is closed"):
        load_settings(path, env={})
    path.write_text('[business_hours]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"business_hours\.timezone"):
        load_settings(path, env={})
    assert Settings().business_hours is None  # off by default: always open
