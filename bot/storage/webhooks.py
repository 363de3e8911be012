"""Webhook deliveries in the database: added once per (webhook, event), claimed conditionally, retried."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.domain import utcnow
from bot.storage.database import Database, commit_unique
from bot.storage.rows import aware
from bot.storage.tables import WebhookDeliveryRow
from bot.webhooks.models import Delivery, DeliveryStatus


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        webhook=row.webhook,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        created_at=aware(row.created_at) or utcnow(),
        next_attempt_at=aware(row.next_attempt_at) or utcnow(),
        last_status=row.last_status,
        last_error=row.last_error,
        delivered_at=aware(row.delivered_at),
    )


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, webhook: str, event_id: int, event_type: str, body: str) -> bool:
        """Queue one delivery; False when this event was queued for this webhook before (a relay)."""
        now = utcnow()
        async with self._db.session() as s:
            row = WebhookDeliveryRow(
                webhook=webhook,
                event_id=event_id,
                event_type=event_type,
                body=body,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                last_error="",
                created_at=now,
                next_attempt_at=now,
            )
            return await commit_unique(s, row)

    async def claim_due(self, now: datetime, limit: int = 20) -> list[Delivery]:
        """Mark due pending deliveries as sending (one sender gets each) and return them."""
        async with self._db.session() as s:
            ids = (
                await s.scalars(
                    select(WebhookDeliveryRow.id)
                    .where(
                        WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                        WebhookDeliveryRow.next_attempt_at <= now,
                    )
                    .order_by(WebhookDeliveryRow.id)
                    .limit(limit)
                )
            ).all()
            claimed = []
            for delivery_id in ids:
                result = await s.execute(
                    update(WebhookDeliveryRow)
                    .where(
                        WebhookDeliveryRow.id == delivery_id,
                        WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                    )
                    .values(status=DeliveryStatus.SENDING.value, attempts=WebhookDeliveryRow.attempts + 1)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(delivery_id)
            await s.commit()
            rows = (
                await s.scalars(
                    select(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(claimed)).order_by(WebhookDeliveryRow.id)
                )
            ).all()
            return [_delivery(r) for r in rows]

    async def finish(self, delivery_id: int, status: DeliveryStatus, **values: Any) -> None:
        async with self._db.session() as s:
            await s.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.id == delivery_id)
                .values(status=status.value, **values)
            )
            await s.commit()

    async def recover(self) -> int:
        """At start-up: deliveries a dead process left sending go back to pending (at least once)."""
        async with self._db.session() as s:
            result = await s.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.status == DeliveryStatus.SENDING.value)
                .values(status=DeliveryStatus.PENDING.value)
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def recent(self, limit: int = 100, after_id: int | None = None) -> list[Delivery]:
        """Deliveries newest first; `after_id` continues below that id."""
        stmt = select(WebhookDeliveryRow)
        if after_id is not None:
            stmt = stmt.where(WebhookDeliveryRow.id < after_id)
        async with self._db.session() as s:
            rows = (await s.scalars(stmt.order_by(WebhookDeliveryRow.id.desc()).limit(limit))).all()
            return [_delivery(r) for r in rows]

    async def by_status(self) -> dict[str, int]:
        async with self._db.session() as s:
            rows = await s.execute(select(WebhookDeliveryRow.status, func.count()).group_by(WebhookDeliveryRow.status))
            return {str(k): int(v) for k, v in rows.all()}
