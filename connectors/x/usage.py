"""Counting what X bills: posts read (deduplicated per UTC day, as X bills them) and posts created, per
UTC month, kept in the connector's state store beside `since_id` so a restart neither resets nor loses it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from bot.errors import DeliveryFailed, RateLimited
from connectors.base import StateStore
from connectors.x import budget
from connectors.x.budget import Budget, Usage
from connectors.x.errors import NAME


class Meter:
    """This month's X usage against the budget. The read ids seen today are kept in memory only: after a
    restart a post read again that day is counted again, which can overstate the bill but never understate it."""

    KEY = "usage.month"

    def __init__(self, state: StateStore, limits: Budget, clock: Callable[[], datetime] | None = None) -> None:
        self._state = state
        self.limits = limits
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = asyncio.Lock()  # read-modify-write of the stored usage: the poller and send() share it
        self._day = ""
        self._seen_today: set[str] = set()

    async def usage(self, now: datetime | None = None) -> Usage:
        return Usage.decode(await self._state.get(self.KEY), now or self.clock())

    async def read_allowance(self, now: datetime | None = None) -> int | None:
        """How many posts the next read may return; None without a read budget."""
        if self.limits.reads is None:
            return None
        now = now or self.clock()
        return budget.read_allowance(self.limits.reads, (await self.usage(now)).reads, now)

    async def read_wait(self, now: datetime | None = None) -> float:
        """Seconds before the budget lets the next read happen; 0 without a budget or when it may now."""
        if self.limits.reads is None:
            return 0.0
        now = now or self.clock()
        return budget.seconds_until(self.limits.reads, (await self.usage(now)).reads, now)

    async def reads_spent(self, now: datetime | None = None) -> bool:
        """True when too little of this month's read budget is left for one more read."""
        if self.limits.reads is None:
            return False
        return self.limits.reads - (await self.usage(now)).reads < budget.MIN_READ

    async def count_reads(self, ids: Iterable[str], now: datetime | None = None) -> int:
        """Count the posts a read returned, each once per UTC day; returns how many were new to the bill."""
        now = now or self.clock()
        day = now.astimezone(UTC).date().isoformat()
        async with self._lock:
            if day != self._day:
                self._day, self._seen_today = day, set()
            fresh = {i for i in ids if i not in self._seen_today}
            if not fresh:
                return 0
            usage = await self.usage(now)
            await self._state.set(self.KEY, usage.read(len(fresh)).encode())
            self._seen_today |= fresh  # only once stored: a failed write is counted again next time
            return len(fresh)

    async def check_post(self, now: datetime | None = None) -> None:
        """Raise RateLimited until next month when this month's post budget is spent."""
        if self.limits.posts is None:
            return
        if self.limits.posts == 0:
            raise DeliveryFailed("posting is disabled (monthly_post_budget = 0)", retryable=False, connector=NAME)
        now = now or self.clock()
        if (await self.usage(now)).posts >= self.limits.posts:
            wait = (budget.month_end(now) - now).total_seconds()
            raise RateLimited(f"monthly post budget of {self.limits.posts} spent", retry_after=wait, connector=NAME)

    async def count_post(self, now: datetime | None = None) -> None:
        now = now or self.clock()
        async with self._lock:
            usage = await self.usage(now)
            await self._state.set(self.KEY, usage.posted().encode())

    async def first_notice(self, what: str, now: datetime | None = None) -> bool:
        """True the first time this month that `what` ("reads", "posts") is reported spent; remembered."""
        now = now or self.clock()
        async with self._lock:
            usage = await self.usage(now)
            if what in usage.notified:
                return False
            await self._state.set(self.KEY, replace(usage, notified=usage.notified | {what}).encode())
            return True

    async def report(self, now: datetime | None = None) -> list[budget.Line]:
        now = now or self.clock()
        return budget.report(self.limits, await self.usage(now), now)

    async def summary(self, now: datetime | None = None) -> list[str]:
        """The `UsageReport` port: a title naming the month, then the reads and posts lines."""
        now = now or self.clock()
        return [f"X this month ({budget.month_key(now)}, UTC)", *(line.text() for line in await self.report(now))]
