"""`/api/v1/webhooks/deliveries`: what was sent to which receiver, and how it went (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from bot.server.api.pagination import MAX_LIMIT, decode, encode
from bot.server.api.schemas import Page
from bot.server.auth import Admin, Bot
from bot.webhooks.models import Delivery
from bot.webhooks.payloads import event_id

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class DeliveryOut(BaseModel):
    id: int
    webhook: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            webhook=d.webhook,
            event_id=event_id(d.event_id),
            event_type=d.event_type,
            status=d.status.value,
            attempts=d.attempts,
            last_status=d.last_status,
            last_error=d.last_error,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
        )


@router.get("/deliveries", response_model=Page[DeliveryOut], summary="Webhook deliveries, newest first")
async def deliveries(
    bot: Bot,
    _who: Admin,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[DeliveryOut]:
    if bot.webhooks is None:
        return Page[DeliveryOut](items=[], next=None)
    found = await bot.webhooks.store.recent(limit + 1, after_id=decode(cursor))
    page = found[:limit]
    more = len(found) > limit
    return Page[DeliveryOut](items=[DeliveryOut.of(d) for d in page], next=encode(page[-1].id) if more else None)
