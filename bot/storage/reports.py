"""The facts a report needs over a time window, as plain tuples: grouped counts and the times of each case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.storage.database import Database
from bot.storage.rows import aware
from bot.storage.tables import CsatSurveyRow, CustomerAccountRow, CustomerRow, EscalationRow, MessageRow

_ACTIVE = ("open", "claimed")


@dataclass(frozen=True, slots=True)
class CaseTimes:
    priority: str
    status: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None


class ReportQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages_by(self, column: str, since: datetime) -> dict[str, int]:
        """Messages received since `since`, counted by channel, sentiment or intent."""
        col = {"channel": MessageRow.channel, "sentiment": MessageRow.sentiment, "intent": MessageRow.intent}[column]
        async with self._db.session() as s:
            rows = await s.execute(select(col, func.count()).where(MessageRow.received_at >= since).group_by(col))
            return {(k or "unclassified"): int(v) for k, v in rows.all()}

    async def messages_per_day(self, column: str, since: datetime) -> dict[str, dict[str, int]]:
        """Messages received since `since` per UTC day ("YYYY-MM-DD"), counted by channel or sentiment."""
        col = {"channel": MessageRow.channel, "sentiment": MessageRow.sentiment}[column]
        day = func.date(MessageRow.received_at)
        out: dict[str, dict[str, int]] = {}
        async with self._db.session() as s:
            rows = await s.execute(
                select(day, col, func.count()).where(MessageRow.received_at >= since).group_by(day, col)
            )
            for d, k, v in rows.all():
                # SQLite answers date() with text, PostgreSQL with a date.
                out.setdefault(str(d)[:10], {})[k or "unclassified"] = int(v)
        return out

    async def active_since(self) -> list[datetime]:
        """When each open or claimed escalation was opened (the backlog's ages)."""
        async with self._db.session() as s:
            rows = await s.scalars(select(EscalationRow.created_at).where(EscalationRow.status.in_(_ACTIVE)))
            return [aware(r) or r for r in rows.all()]

    async def value_by_tier(self) -> dict[str, float]:
        """The lifetime value of every customer now, summed per tier (merged-away accounts left out)."""
        async with self._db.session() as s:
            rows = await s.execute(
                select(CustomerRow.tier, func.coalesce(func.sum(CustomerAccountRow.lifetime_value), 0.0))
                .join(CustomerAccountRow, CustomerAccountRow.customer_id == CustomerRow.id)
                .where(CustomerAccountRow.merged_into.is_(None))
                .group_by(CustomerRow.tier)
            )
            return {str(k): round(float(v), 2) for k, v in rows.all()}

    async def cases_opened(self, since: datetime) -> list[CaseTimes]:
        async with self._db.session() as s:
            rows = await s.execute(
                select(
                    EscalationRow.priority,
                    EscalationRow.status,
                    EscalationRow.created_at,
                    EscalationRow.first_response_at,
                    EscalationRow.resolved_at,
                ).where(EscalationRow.created_at >= since)
            )
            return [CaseTimes(p, st, aware(c) or c, aware(f), aware(r)) for p, st, c, f, r in rows.all()]

    async def resolved_count(self, since: datetime) -> int:
        async with self._db.session() as s:
            found = await s.scalar(
                select(func.count()).select_from(EscalationRow).where(EscalationRow.resolved_at >= since)
            )
            return int(found or 0)

    async def csat_scores(self, since: datetime) -> list[int]:
        async with self._db.session() as s:
            rows = await s.scalars(
                select(CsatSurveyRow.score).where(CsatSurveyRow.answered_at >= since, CsatSurveyRow.score.is_not(None))
            )
            return [int(v) for v in rows.all() if v is not None]

    async def customers_by(self, column: str) -> dict[str, int]:
        """Every customer now, counted by tier or stage."""
        col = {"tier": CustomerRow.tier, "stage": CustomerRow.stage}[column]
        async with self._db.session() as s:
            rows = await s.execute(select(col, func.count()).group_by(col))
            return {str(k): int(v) for k, v in rows.all()}
