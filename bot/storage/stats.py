"""Counts of the database's current state, for /metrics: cheap grouped queries, no rows loaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.domain import EscalationStatus
from bot.storage.database import Database
from bot.storage.rows import aware
from bot.storage.tables import EscalationRow, MessageRow, ReplyRow

_ACTIVE = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)


@dataclass(frozen=True, slots=True)
class ActiveEscalation:
    """What an SLA check needs of an open or claimed escalation."""

    priority: str
    status: str
    created_at: datetime
    first_response_at: datetime | None


class StatsQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def unprocessed(self) -> int:
        """Messages stored and not processed yet: the processing queue's depth."""
        async with self._db.session() as s:
            return int(await s.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.action == "")) or 0)

    async def replies_by_status(self) -> dict[str, int]:
        async with self._db.session() as s:
            rows = await s.execute(select(ReplyRow.status, func.count()).group_by(ReplyRow.status))
            return {str(k): int(v) for k, v in rows.all()}

    async def active_escalations(self) -> list[ActiveEscalation]:
        async with self._db.session() as s:
            rows = await s.execute(
                select(
                    EscalationRow.priority,
                    EscalationRow.status,
                    EscalationRow.created_at,
                    EscalationRow.first_response_at,
                ).where(EscalationRow.status.in_(_ACTIVE))
            )
            return [ActiveEscalation(p, st, aware(c) or c, aware(f)) for p, st, c, f in rows.all()]
