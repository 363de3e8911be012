"""The desk's summary over the last N days: volumes, response and resolution times, SLA, CSAT, tiers.

Pure arithmetic over what `bot.storage.reports` reads, so the API, the console and the CLI give the
same figures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import SlaSettings
from bot.domain import EscalationStatus, Priority, utcnow
from bot.errors import InputError
from bot.relationships.topics import describe
from bot.sla import sla_of
from bot.storage import Database
from bot.storage.relationships import RelationshipRepository
from bot.storage.reports import CaseTimes, ReportQueries

if TYPE_CHECKING:
    from bot.staff.business_hours import BusinessHours

MAX_DAYS = 366
TOP_TOPICS = 10
# The backlog's age buckets: (label, upper bound in hours); the last is open-ended.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 1),
    ("1-4 h", 4),
    ("4-24 h", 24),
    ("1-3 d", 72),
    ("3-7 d", 168),
    ("> 7 d", math.inf),
)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def _minutes(values: Sequence[float]) -> dict[str, Any]:
    p50, p90 = percentile(values, 0.5), percentile(values, 0.9)
    return {
        "count": len(values),
        "p50": None if p50 is None else round(p50, 1),
        "p90": None if p90 is None else round(p90, 1),
    }


def _share(hits: int, of: int) -> float | None:
    return round(hits / of, 4) if of else None


def case_figures(
    cases: Sequence[CaseTimes], sla: SlaSettings, now: datetime, hours: BusinessHours | None = None
) -> dict[str, Any]:
    """First response and resolution times (minutes), and the share of cases that met each SLA target.

    A case counts towards a target once the target is decided: answered (or resolved), or its due
    time passed without it. Times are wall-clock; the targets count business `hours` when given.
    """
    first, resolution = [], []
    first_met = first_decided = res_met = res_decided = 0
    for c in cases:
        if c.first_response_at is not None:
            first.append((c.first_response_at - c.created_at).total_seconds() / 60)
        done = c.status in (EscalationStatus.RESOLVED.value, EscalationStatus.CLOSED.value)
        resolved_at = c.resolved_at if done else None
        if resolved_at is not None:
            resolution.append((resolved_at - c.created_at).total_seconds() / 60)
        state = sla_of(sla, Priority(c.priority), c.created_at, now, c.first_response_at, resolved_at, hours)
        if c.first_response_at is not None or state.first_response_breached:
            first_decided += 1
            first_met += not state.first_response_breached
        if resolved_at is not None or state.resolution_breached:
            res_decided += 1
            res_met += not state.resolution_breached
    return {
        "first_response_minutes": _minutes(first),
        "resolution_minutes": _minutes(resolution),
        "sla": {
            "first_response_met": _share(first_met, first_decided),
            "first_response_decided": first_decided,
            "resolution_met": _share(res_met, res_decided),
            "resolution_decided": res_decided,
        },
    }


def backlog_by_age(opened: Sequence[datetime], now: datetime) -> dict[str, int]:
    """Active escalations counted by how long they have been open, in AGE_BUCKETS."""
    counts = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    for at in opened:
        hours = (now - at).total_seconds() / 3600
        label = next(label for label, upper in AGE_BUCKETS if hours < upper)
        counts[label] += 1
    return counts


def per_day(counts: dict[str, dict[str, int]], since: datetime, now: datetime) -> dict[str, list[int]]:
    """{series: [count per day from `since` to `now`]}, days without messages as 0 (a chart's x axis)."""
    dates = day_labels(since, now)
    series = sorted({k for day in counts.values() for k in day})
    return {k: [counts.get(d, {}).get(k, 0) for d in dates] for k in series}


def day_labels(since: datetime, now: datetime) -> list[str]:
    first, last = since.date(), now.date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


async def top_topics(db: Database, now: datetime) -> list[dict[str, Any]]:
    """The largest stored complaint topics (recomputed weekly) with this week against the one before."""
    stored = [
        describe(tid, label, members, now)
        for tid, label, _t, members in await RelationshipRepository(db).topic_members()
    ]
    stored.sort(key=lambda t: (-t.count, t.id))
    return [
        {"label": t.label, "count": t.count, "recent": t.recent, "previous": t.previous, "trend": t.trend}
        for t in stored[:TOP_TOPICS]
    ]


async def summary(
    db: Database, sla: SlaSettings, days: int, now: datetime | None = None, hours: BusinessHours | None = None
) -> dict[str, Any]:
    """Everything `GET /api/v1/reports/summary?days=N` answers."""
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"days is 1 to {MAX_DAYS}", field="days")
    now = now or utcnow()
    since = now - timedelta(days=days)
    q = ReportQueries(db)
    by_channel = await q.messages_by("channel", since)
    cases = await q.cases_opened(since)
    scores = await q.csat_scores(since)
    spread = Counter(scores)
    return {
        "days": days,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "messages": {
            "total": sum(by_channel.values()),
            "by_channel": by_channel,
            "by_sentiment": await q.messages_by("sentiment", since),
            "by_intent": await q.messages_by("intent", since),
            "per_day": {
                "dates": day_labels(since, now),
                "by_channel": per_day(await q.messages_per_day("channel", since), since, now),
                "by_sentiment": per_day(await q.messages_per_day("sentiment", since), since, now),
            },
        },
        "escalations": {
            "opened": len(cases),
            "resolved": await q.resolved_count(since),
            "opened_by_priority": dict(Counter(c.priority for c in cases)),
            "backlog_by_age": backlog_by_age(await q.active_since(), now),
        },
        **case_figures(cases, sla, now, hours),
        "csat": {
            "answered": len(scores),
            "average": round(sum(scores) / len(scores), 2) if scores else None,
            "distribution": {str(score): spread.get(score, 0) for score in range(1, 6)},
        },
        "customers": {
            "by_tier": await q.customers_by("tier"),
            "value_by_tier": await q.value_by_tier(),
            "by_stage": await q.customers_by("stage"),
        },
        "topics": await top_topics(db, now),
    }
