"""The monthly X budget, as pure arithmetic on a clock passed in: what a month's reads and posts may be,
how many posts a poll may read now, when reading may go on, and the month-end projection and cost.

X bills each post a read returns (the same post again on the same UTC day is billed once) and each post
created. Reading is allowed to run ahead of an even spread by at most `BURST_DAYS` days' share (less as
the month goes on), so a quiet account costs little, a busy day draws on what quiet days left, an account
busy all month is still read on its last day, and the month never overruns: the allowance is never more
than what is left of the budget.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.config import XSettings

BURST_DAYS = 2.0  # how many days' even share reading may run ahead of an even spread
MIN_READ = 5  # the mentions timeline returns at least 5 posts a request: never ask with less left than that


@dataclass(frozen=True, slots=True)
class Budget:
    """The configured limits (None: no limit) and unit prices (None: not shown)."""

    reads: int | None = None
    posts: int | None = None
    cost_per_read: float | None = None
    cost_per_post: float | None = None

    @classmethod
    def of(cls, settings: XSettings) -> Budget:
        return cls(
            settings.monthly_read_budget, settings.monthly_post_budget, settings.cost_per_read, settings.cost_per_post
        )


@dataclass(frozen=True, slots=True)
class Usage:
    """Posts read and created in one UTC calendar month, and which 'budget spent' notices went out."""

    month: str  # "2026-11"
    reads: int = 0
    posts: int = 0
    notified: frozenset[str] = field(default_factory=frozenset)  # "reads", "posts"

    def encode(self) -> str:
        return json.dumps(
            {"month": self.month, "reads": self.reads, "posts": self.posts, "notified": sorted(self.notified)}
        )

    @classmethod
    def decode(cls, text: str | None, now: datetime) -> Usage:
        """The stored usage if it is this month's, else a fresh month; unreadable state counts as fresh."""
        month = month_key(now)
        try:
            data = json.loads(text or "")
            if data["month"] != month:
                return cls(month)
            return cls(month, int(data["reads"]), int(data["posts"]), frozenset(map(str, data.get("notified", []))))
        except (ValueError, KeyError, TypeError):
            return cls(month)

    def read(self, count: int) -> Usage:
        return replace(self, reads=self.reads + count)

    def posted(self, count: int = 1) -> Usage:
        return replace(self, posts=self.posts + count)


def month_key(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_end(now: datetime) -> datetime:
    """The first instant of the next UTC month: when the budget starts afresh."""
    start = month_start(now)
    return (start + timedelta(days=32)).replace(day=1)


def _month_seconds(now: datetime) -> float:
    return (month_end(now) - month_start(now)).total_seconds()


def elapsed(now: datetime) -> float:
    """The fraction of the UTC month gone by, 0..1."""
    return (now - month_start(now)).total_seconds() / _month_seconds(now)


def _lead(budget: int, now: datetime, burst_days: float) -> float:
    """How far reading may run ahead of an even spread: `burst_days` days' share, shrinking to none at
    month end, so that an account busy all month is still read on its last day."""
    days = _month_seconds(now) / 86_400
    return burst_days * budget / days


def read_allowance(budget: int, used: int, now: datetime, burst_days: float = BURST_DAYS) -> int:
    """How many posts may be read now: up to an even spread plus a lead, never past the budget."""
    gone = elapsed(now)
    paced = budget * gone + _lead(budget, now, burst_days) * (1 - gone)
    return max(0, min(budget - used, math.floor(paced) - used))


def seconds_until(budget: int, used: int, now: datetime, want: int = MIN_READ, burst_days: float = BURST_DAYS) -> float:
    """Seconds until `want` posts may be read: 0 if they may now, the start of next month if not this month."""
    if read_allowance(budget, used, now, burst_days) >= want:
        return 0.0
    if budget - used < want:
        return (month_end(now) - now).total_seconds()
    # Solve budget * e + lead * (1 - e) >= used + want for the elapsed fraction e of the month.
    lead = _lead(budget, now, burst_days)
    gone = (used + want - lead) / (budget - lead)
    # A second more than the exact solution, so float rounding never leaves the allowance one short.
    at = month_start(now) + timedelta(seconds=math.ceil(max(0.0, gone) * _month_seconds(now)) + 1)
    return max(1.0, (at - now).total_seconds())


def projected(used: int, now: datetime) -> int:
    """The month-end total if the month goes on as it has so far (what an hour says is taken as an hour's worth)."""
    gone = max(elapsed(now), 3600 / _month_seconds(now))
    return round(used / gone)


def cost(count: int, unit: float | None) -> float | None:
    return None if unit is None else count * unit


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the budget report: reads or posts."""

    what: str  # "reads" or "posts"
    used: int
    limit: int | None
    projected: int
    cost: float | None
    projected_cost: float | None

    def text(self) -> str:
        limit = f" of {self.limit:,}" if self.limit is not None else " (no budget)"
        money = f", ${self.cost:,.2f}" if self.cost is not None else ""
        projected_money = f", ${self.projected_cost:,.2f}" if self.projected_cost is not None else ""
        capped = " (capped by the budget)" if self.limit is not None and self.projected > self.limit else ""
        return (
            f"{self.what} {self.used:,}{limit}{money}; month-end projection {self.projected:,}{projected_money}{capped}"
        )


def report(budget: Budget, usage: Usage, now: datetime) -> list[Line]:
    """This month's reads and posts with the projection to month end and what they cost."""
    lines = []
    for what, used, limit, unit in (
        ("reads", usage.reads, budget.reads, budget.cost_per_read),
        ("posts", usage.posts, budget.posts, budget.cost_per_post),
    ):
        # Reading and posting stop at the budget, so the month cannot end above it.
        ahead = projected(used, now)
        shown = min(ahead, limit) if limit is not None else ahead
        lines.append(Line(what, used, limit, ahead, cost(used, unit), cost(shown, unit)))
    return lines
