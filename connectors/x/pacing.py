"""How often X may be asked, and how much it may be told: poll pacing and the daily post budget.

X's read limits are per 15-minute window and its posts are paid, so the poller spreads what a window
has left over the time it has left, and posting stops at a configured number a day (UTC days).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.errors import DeliveryFailed, RateLimited
from connectors.base import StateStore
from connectors.x.errors import NAME


def next_poll_delay(headers: Mapping[str, str], interval: float, now: float | None = None) -> float:
    """Seconds to wait before the next read: at least `interval`, and slower when the window runs low."""
    now = time.time() if now is None else now
    try:
        remaining = int(headers["x-rate-limit-remaining"])
        reset = float(headers["x-rate-limit-reset"])
    except (KeyError, ValueError):
        return interval
    left = max(0.0, reset - now)
    if remaining <= 0:
        return max(interval, left + 1)
    return max(interval, left / remaining)


def until_utc_midnight(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class PostBudget:
    """A per-UTC-day count of posts (tweets and DMs), kept in the state store so a restart does not reset it."""

    KEY = "posts.today"  # value: "YYYY-MM-DD count"

    def __init__(self, state: StateStore, limit: int) -> None:
        self._state = state
        self._limit = limit
        self._lock = asyncio.Lock()  # check, post and count as one step: two sends never both take the last slot

    async def _today(self, now: datetime) -> int:
        stored = await self._state.get(self.KEY) or ""
        day, _, count = stored.partition(" ")
        if day != now.date().isoformat():
            return 0
        try:
            return int(count)
        except ValueError:
            return 0

    async def remaining(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        return max(0, self._limit - await self._today(now))

    @property
    def lock(self) -> asyncio.Lock:
        return self._lock

    async def check(self, now: datetime | None = None) -> None:
        """Raise unless a post is allowed now: RateLimited until midnight UTC when today's budget is spent."""
        now = now or datetime.now(UTC)
        if self._limit == 0:
            raise DeliveryFailed("posting is disabled (daily_post_budget = 0)", retryable=False, connector=NAME)
        if await self._today(now) >= self._limit:
            raise RateLimited(
                f"daily post budget of {self._limit} spent", retry_after=until_utc_midnight(now), connector=NAME
            )

    async def spend(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        count = await self._today(now) + 1
        await self._state.set(self.KEY, f"{now.date().isoformat()} {count}")
