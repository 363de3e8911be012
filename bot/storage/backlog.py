"""What is waiting: stored messages not processed yet, and replies not delivered yet (for the re-enqueue
sweep and `rapport status`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.domain import ReplyStatus
from bot.storage.database import Database
from bot.storage.tables import MessageRow, ReplyRow
from bot.storage.turns import WAITING


@dataclass(frozen=True, slots=True)
class Waiting:
    messages: int  # stored, not processed yet
    oldest: datetime | None  # when the oldest of them was stored
    replies: dict[str, int]  # outbox rows by status: queued, sending, failed (sent ones are not counted)


class Backlog:
    """Counts and ids of waiting work, read straight from the database (the source of truth)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def waiting_ids(self, stored_before: datetime, limit: int = 10_000) -> list[int]:
        """Ids of messages stored before `stored_before` and still unprocessed, oldest first."""
        async with self._db.session() as s:
            rows = await s.scalars(
                select(MessageRow.id)
                .where(MessageRow.action == WAITING, MessageRow.received_at < stored_before)
                .order_by(MessageRow.id)
                .limit(limit)
            )
            return list(rows)

    async def waiting(self) -> Waiting:
        async with self._db.session() as s:
            count, oldest = (
                await s.execute(
                    select(func.count(), func.min(MessageRow.received_at)).where(MessageRow.action == WAITING)
                )
            ).one()
            replies = await s.execute(
                select(ReplyRow.status, func.count())
                .where(ReplyRow.status != ReplyStatus.SENT.value)
                .group_by(ReplyRow.status)
            )
            by_status = {str(status): int(n) for status, n in replies.all()}
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC times
            oldest = oldest.replace(tzinfo=UTC)
        return Waiting(
            int(count),
            oldest,
            {st.value: by_status.get(st.value, 0) for st in ReplyStatus if st is not ReplyStatus.SENT},
        )
