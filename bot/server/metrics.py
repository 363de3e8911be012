"""`GET /metrics`: Prometheus text, with the database's state counted at scrape time."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Response

from bot.domain import Priority, utcnow
from bot.metrics import CONTENT_TYPE, StateSnapshot
from bot.server.auth import Bot
from bot.sla import sla_of

router = APIRouter(tags=["metrics"])


async def snapshot(bot: Bot) -> StateSnapshot:
    now = utcnow()
    active = await bot.stats.active_escalations()
    breaches: Counter[tuple[str, str]] = Counter()
    for e in active:
        state = sla_of(bot.settings.sla, Priority(e.priority), e.created_at, now, e.first_response_at, hours=bot.hours)
        if state.first_response_breached and e.first_response_at is None:
            breaches[(e.priority, "first_response")] += 1
        if state.resolution_breached:
            breaches[(e.priority, "resolution")] += 1
    return StateSnapshot(
        queue_depth=await bot.stats.unprocessed(),
        replies=await bot.stats.replies_by_status(),
        open_escalations=dict(Counter((e.priority, e.status) for e in active)),
        sla_breaches=dict(breaches),
        connectors=bot.connectors_up(),
        webhooks=await bot.webhook_backlog(),
    )


@router.get("/metrics", summary="Prometheus metrics (rapport_*)", response_class=Response)
async def metrics(bot: Bot) -> Response:
    return Response(bot.metrics.render(await snapshot(bot)), media_type=CONTENT_TYPE)
