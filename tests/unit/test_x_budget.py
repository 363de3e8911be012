"""The monthly X budget: allowance, pacing, projection and cost, on a clock passed in; the meter's counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import DeliveryFailed, RateLimited
from connectors.x import budget
from connectors.x.budget import Budget, Usage
from connectors.x.usage import Meter
from tests.fakes.sinks import MemoryState

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)  # a 30-day month
MID_NOV = datetime(2026, 11, 16, tzinfo=UTC)  # half of it gone
BUDGET = 10_000


def test_the_month_is_the_utc_calendar_month() -> None:
    assert budget.month_end(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert budget.elapsed(MID_NOV) == 0.5


def test_on_the_first_day_reading_may_run_two_days_ahead() -> None:
    assert budget.read_allowance(BUDGET, 0, NOV_1) == 666  # 2 days of 10,000 / 30


def test_a_quiet_fortnight_leaves_its_share_to_a_busy_day() -> None:
    assert budget.read_allowance(BUDGET, 700, MID_NOV) == 5_000 + 333 - 700  # half the lead is left mid-month


def test_a_busy_account_at_the_pace_gets_only_what_accrues() -> None:
    assert budget.read_allowance(BUDGET, 5_333, MID_NOV) == 0


def test_the_lead_is_gone_at_month_end_so_a_busy_month_is_read_to_its_last_day() -> None:
    last_hour = datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert budget.read_allowance(BUDGET, 9_900, last_hour) == 9_987 - 9_900


def test_the_allowance_never_passes_what_is_left_of_the_budget() -> None:
    hours = [NOV_1 + timedelta(hours=h) for h in range(30 * 24)]
    assert max(budget.read_allowance(BUDGET, 0, at) for at in hours) <= BUDGET
    last_second = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    assert budget.read_allowance(BUDGET, 9_997, last_second) <= 3


def test_reading_waits_until_the_allowance_reaches_a_page() -> None:
    wait = budget.seconds_until(BUDGET, 5_333, MID_NOV)
    assert budget.read_allowance(BUDGET, 5_333, MID_NOV + timedelta(seconds=wait)) >= budget.MIN_READ
    assert budget.read_allowance(BUDGET, 5_333, MID_NOV + timedelta(seconds=wait - 60)) < budget.MIN_READ


def test_no_wait_when_a_page_may_be_read_now() -> None:
    assert budget.seconds_until(BUDGET, 0, MID_NOV) == 0


def test_a_spent_budget_waits_for_next_month() -> None:
    assert budget.seconds_until(BUDGET, 9_997, MID_NOV) == 15 * 86_400


def test_projection_is_linear_to_month_end() -> None:
    assert budget.projected(3_000, MID_NOV) == 6_000
    assert budget.projected(10, NOV_1 + timedelta(minutes=1)) == 10 * 720  # the first minute counts as an hour


def test_report_shows_usage_projection_and_money() -> None:
    limits = Budget(reads=BUDGET, posts=500, cost_per_read=0.005, cost_per_post=0.015)
    reads, posts = budget.report(limits, Usage("2026-11", reads=3_000, posts=100), MID_NOV)
    assert reads.text() == "reads 3,000 of 10,000, $15.00; month-end projection 6,000, $30.00"
    assert posts.text() == "posts 100 of 500, $1.50; month-end projection 200, $3.00"


def test_report_caps_the_projected_cost_at_the_budget_and_says_so() -> None:
    [reads, _] = budget.report(Budget(reads=BUDGET, cost_per_read=0.005), Usage("2026-11", reads=8_000), MID_NOV)
    assert reads.text() == "reads 8,000 of 10,000, $40.00; month-end projection 16,000, $50.00 (capped by the budget)"


def test_report_without_budget_or_prices() -> None:
    [reads, _] = budget.report(Budget(), Usage("2026-11", reads=42), MID_NOV)
    assert reads.text() == "reads 42 (no budget); month-end projection 84"


def test_usage_starts_afresh_each_month_and_survives_bad_state() -> None:
    stored = Usage("2026-10", reads=9_000, posts=3).encode()
    assert Usage.decode(stored, MID_NOV) == Usage("2026-11")
    assert Usage.decode(Usage("2026-11", 5, 1).encode(), MID_NOV) == Usage("2026-11", 5, 1)
    assert Usage.decode("garbage", MID_NOV) == Usage("2026-11")


async def test_the_meter_counts_a_post_read_twice_on_one_day_once() -> None:
    state = MemoryState()
    meter = Meter(state, Budget(reads=BUDGET), clock=lambda: MID_NOV)
    assert await meter.count_reads(["1", "2", "3"]) == 3
    assert await meter.count_reads(["2", "3", "4"]) == 1
    assert (await meter.usage()).reads == 4


async def test_the_meter_counts_a_post_read_again_the_next_utc_day() -> None:
    meter = Meter(MemoryState(), Budget())
    await meter.count_reads(["1"], MID_NOV)
    await meter.count_reads(["1"], MID_NOV + timedelta(days=1))
    assert (await meter.usage(MID_NOV + timedelta(days=1))).reads == 2


async def test_usage_is_kept_in_the_state_store_across_meters() -> None:
    state = MemoryState()
    await Meter(state, Budget(), clock=lambda: MID_NOV).count_reads(["1", "2"])
    assert (await Meter(state, Budget(), clock=lambda: MID_NOV).usage()).reads == 2


async def test_the_monthly_post_budget_waits_for_next_month() -> None:
    meter = Meter(MemoryState(), Budget(posts=1), clock=lambda: MID_NOV)
    await meter.check_post()
    await meter.count_post()
    with pytest.raises(RateLimited) as caught:
        await meter.check_post()
    assert caught.value.retry_after == 15 * 86_400


async def test_a_monthly_post_budget_of_zero_never_posts() -> None:
    with pytest.raises(DeliveryFailed) as caught:
        await Meter(MemoryState(), Budget(posts=0)).check_post()
    assert caught.value.retryable is False


async def test_a_spent_budget_is_noticed_once_a_month() -> None:
    state = MemoryState()
    meter = Meter(state, Budget(reads=10), clock=lambda: MID_NOV)
    assert await meter.first_notice("reads") is True
    assert await Meter(state, Budget(reads=10), clock=lambda: MID_NOV).first_notice("reads") is False
    assert await meter.first_notice("reads", MID_NOV + timedelta(days=20)) is True
