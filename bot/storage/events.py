"""Durable domain events in the database: the EventStore port the core's EventBus writes and relays from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from bot.domain import utcnow
from bot.storage.database import Database, conflict_free_insert
from bot.storage.tables import EventDeliveryRow, EventRow

# Built once, the values sent as parameters: an event is appended with most escalations.
_APPEND = insert(EventRow).returning(EventRow.id)


class RepositoryEvents:
    """The EventStore port over the events tables (written inside the caller's unit of work, if any)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, kind: str, payload: dict[str, Any]) -> int:
        async with self._db.session() as s:
            event_id = await s.scalar(_APPEND, {"kind": kind, "payload": payload, "created_at": utcnow()})
            await s.commit()
            assert event_id is not None  # RETURNING of an INSERT that cannot conflict
            return event_id

    async def undelivered(
        self, subscriber: str, since: datetime, limit: int = 200
    ) -> list[tuple[int, str, dict[str, Any]]]:
        handled = select(EventDeliveryRow.event_id).where(EventDeliveryRow.subscriber == subscriber)
        async with self._db.session() as s:
            rows = (
                await s.scalars(
                    select(EventRow)
                    .where(EventRow.created_at >= since, EventRow.id.not_in(handled))
                    .order_by(EventRow.id)
                    .limit(limit)
                )
            ).all()
            return [(r.id, r.kind, dict(r.payload)) for r in rows]

    async def delivered(self, handled: Sequence[tuple[int, str]]) -> None:
        now = utcnow()
        rows = [{"event_id": event_id, "subscriber": name, "delivered_at": now} for event_id, name in handled]
        async with self._db.session() as s:
            # One statement for the lot; a pair recorded before (a relay's redelivery) is left as it was.
            await s.execute(conflict_free_insert(s, EventDeliveryRow), rows)
            await s.commit()

    async def prune(self, before: datetime) -> int:
        """Drop events (and their delivery rows) older than `before`: past the relay's window."""
        async with self._db.session() as s:
            old = select(EventRow.id).where(EventRow.created_at < before)
            await s.execute(delete(EventDeliveryRow).where(EventDeliveryRow.event_id.in_(old)))
            result = await s.execute(delete(EventRow).where(EventRow.created_at < before))
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]
