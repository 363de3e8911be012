"""X pacing: the poll interval follows the rate headers; 429s wait for the reset; the daily post budget."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import tweepy

from bot.errors import AuthFailed, DeliveryFailed, RateLimited
from connectors.x.errors import DEFAULT_WAIT, map_error, reset_wait
from connectors.x.pacing import PostBudget, next_poll_delay, until_utc_midnight
from tests.fakes.sinks import MemoryState

NOW = 1_800_000_000.0


def limits(remaining: int, reset_in: float) -> dict[str, str]:
    return {"x-rate-limit-remaining": str(remaining), "x-rate-limit-reset": str(int(NOW + reset_in))}


def test_poll_delay_is_the_interval_when_the_window_is_roomy() -> None:
    assert next_poll_delay(limits(450, 900), 60, NOW) == 60


def test_poll_delay_spreads_what_is_left_over_the_window() -> None:
    assert next_poll_delay(limits(3, 900), 60, NOW) == 300


def test_poll_delay_waits_for_the_reset_when_nothing_is_left() -> None:
    assert next_poll_delay(limits(0, 500), 60, NOW) == 501


def test_poll_delay_without_headers_is_the_interval() -> None:
    assert next_poll_delay({}, 60, NOW) == 60
    assert next_poll_delay({"x-rate-limit-remaining": "x", "x-rate-limit-reset": "y"}, 60, NOW) == 60


def test_429_waits_until_the_window_resets() -> None:
    assert reset_wait(limits(0, 120), NOW) == 121
    assert reset_wait({}, NOW) == DEFAULT_WAIT


def test_429_for_the_24_hour_post_cap_waits_for_that_reset() -> None:
    headers = limits(10, 120) | {
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(int(NOW + 40_000)),
    }
    assert reset_wait(headers, NOW) == 40_001


def response(status: int, headers: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(status=status, reason="x", headers=headers or {})


def test_tweepy_errors_map_to_ours() -> None:
    reset = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 60)}
    limited = map_error(tweepy.TooManyRequests(response(429, reset), response_json={}), "read")
    assert isinstance(limited, RateLimited) and 58 <= limited.retry_after <= 61
    assert isinstance(map_error(tweepy.Unauthorized(response(401), response_json={}), "read"), AuthFailed)
    refused = map_error(tweepy.Forbidden(response(403), response_json={"detail": "duplicate content"}), "post")
    assert isinstance(refused, AuthFailed) and refused.status == 403 and "duplicate content" in str(refused)
    gone = map_error(tweepy.NotFound(response(404), response_json={}), "reply")
    assert isinstance(gone, DeliveryFailed) and gone.retryable is False
    down = map_error(tweepy.TwitterServerError(response(503), response_json={}), "read")
    assert isinstance(down, DeliveryFailed) and down.retryable is True
    unreachable = map_error(ConnectionRefusedError(), "read")
    assert isinstance(unreachable, DeliveryFailed) and unreachable.retryable is True


def test_midnight_is_counted_in_utc() -> None:
    assert until_utc_midnight(datetime(2026, 11, 22, 23, 0, tzinfo=UTC)) == 3600


async def test_budget_allows_posts_up_to_the_limit_then_waits_for_midnight() -> None:
    budget = PostBudget(MemoryState(), 2)
    day = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    for _ in range(2):
        await budget.check(day)
        await budget.spend(day)
    with pytest.raises(RateLimited) as caught:
        await budget.check(day)
    assert caught.value.retry_after == 6 * 3600
    assert await budget.remaining(day) == 0


async def test_budget_starts_afresh_each_utc_day_and_survives_restart() -> None:
    state = MemoryState()
    day = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    await PostBudget(state, 1).spend(day)
    with pytest.raises(RateLimited):
        await PostBudget(state, 1).check(day)  # a new instance reads the stored count
    await PostBudget(state, 1).check(datetime(2026, 11, 23, 0, 1, tzinfo=UTC))


async def test_budget_of_zero_means_never_post() -> None:
    with pytest.raises(DeliveryFailed) as caught:
        await PostBudget(MemoryState(), 0).check()
    assert caught.value.retryable is False


async def test_corrupt_budget_state_counts_as_zero() -> None:
    state = MemoryState()
    state.values[PostBudget.KEY] = "garbage"
    await PostBudget(state, 1).check()
