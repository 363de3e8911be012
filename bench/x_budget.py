"""A simulated month of X polling under a 10,000-read budget: reads per day for a quiet and a busy account
(and the quiet one with a viral day).

It drives the same pacing the connector uses (connectors/x/budget.py: read_allowance, seconds_until) on a
simulated clock: a poll every `poll_interval` seconds while the budget allows one, each poll reading what
arrived since the last (newest first, at most the allowance and 5 pages of 100), an empty poll costing
nothing. Prints a table; asserts nothing.

    python bench/x_budget.py [--budget 10000] [--interval 60]
"""

from __future__ import annotations

import argparse
import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.x.budget import month_end, read_allowance, seconds_until

MONTH = datetime(2026, 11, 1, tzinfo=UTC)  # 30 days
MAX_PER_POLL = 500  # the poller's 5 pages of 100
COST_PER_READ = 0.005  # X's pay-per-use price per post read when this was written


@dataclass
class Month:
    mentions: list[int]
    reads: list[int] = field(default_factory=list)
    unread: list[int] = field(default_factory=list)  # by the day the mention arrived
    polls: int = 0


def quiet_account(days: int) -> list[int]:
    """About 30 mentions a weekday, 15 at weekends: 700 a month."""
    return [15 if (MONTH + timedelta(days=d)).weekday() >= 5 else 30 for d in range(days)]


def quiet_with_a_viral_day(days: int) -> list[int]:
    """The quiet account, with a post that goes viral on the 12th (3,000 mentions that day)."""
    per_day = quiet_account(days)
    per_day[11] = 3_000
    return per_day


def busy_account(days: int) -> list[int]:
    """450 a weekday, 200 at weekends, and a launch that goes wrong on the 12th (3,000): about 14,000 a month."""
    per_day = [200 if (MONTH + timedelta(days=d)).weekday() >= 5 else 450 for d in range(days)]
    per_day[11] = 3_000
    return per_day


def simulate(mentions: list[int], budget: int, interval: float, seed: int = 17) -> Month:
    rng = random.Random(seed)
    arrivals = sorted(d * 86_400 + rng.uniform(0, 86_400) for d, n in enumerate(mentions) for _ in range(n))
    days = len(mentions)
    month = Month(mentions, [0] * days, [0] * days)
    end = (month_end(MONTH) - MONTH).total_seconds()
    t, unread_from, used = 0.0, 0, 0
    while t < end:
        now = MONTH + timedelta(seconds=t)
        wait = seconds_until(budget, used, now)
        if wait > 0:
            t += max(wait, interval)
            continue
        month.polls += 1
        arrived = bisect.bisect_right(arrivals, t)
        backlog = arrived - unread_from
        got = min(backlog, read_allowance(budget, used, now), MAX_PER_POLL)
        used += got
        month.reads[int(t // 86_400)] += got
        # The oldest of the backlog are left unread (X lists newest first; since_id moves past them).
        for skipped in arrivals[unread_from : arrived - got]:
            month.unread[int(skipped // 86_400)] += 1
        unread_from = arrived
        t += interval
    for skipped in arrivals[unread_from:]:  # arrived after the last read of the month
        month.unread[int(skipped // 86_400)] += 1
    return month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=60.0, help="poll_interval in seconds")
    args = parser.parse_args()
    days = (month_end(MONTH) - MONTH).days
    accounts = {
        "quiet": simulate(quiet_account(days), args.budget, args.interval),
        "quiet, viral 12th": simulate(quiet_with_a_viral_day(days), args.budget, args.interval),
        "busy": simulate(busy_account(days), args.budget, args.interval),
    }
    print(f"X read budget {args.budget:,} posts for {MONTH:%B %Y} (UTC), poll_interval {args.interval:.0f}s")
    print("mentions / posts read / left unread, per day; the last column is the busy account's month so far\n")
    print("| day | " + " | ".join(accounts) + " | busy: used so far |")
    print("|---:|" + "---:|" * (len(accounts) + 1))
    running = 0
    busy = accounts["busy"]
    for d in range(days):
        running += busy.reads[d]
        cells = [f"{m.mentions[d]:,} / {m.reads[d]:,} / {m.unread[d]:,}" for m in accounts.values()]
        print(f"| {MONTH + timedelta(days=d):%a} {d + 1:2d} | " + " | ".join(cells) + f" | {running:,} |")
    print()
    for name, m in accounts.items():
        total = sum(m.reads)
        print(
            f"{name}: {sum(m.mentions):,} mentions, {total:,} read ({total / args.budget:.0%} of the budget, "
            f"${total * COST_PER_READ:,.2f} at ${COST_PER_READ}/read), {sum(m.unread):,} left unread, {m.polls:,} polls"
        )


if __name__ == "__main__":
    main()
