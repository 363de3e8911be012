"""`/api/v1/reports`: the desk's figures over a window."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from bot.reports import MAX_DAYS, summary
from bot.server.auth import Bot, Viewer

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/summary", summary="Volumes, response and resolution times, SLA, CSAT and tiers over the last N days")
async def report_summary(bot: Bot, _who: Viewer, days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30) -> dict[str, Any]:
    return await summary(bot.db, bot.settings.sla, days, hours=bot.hours)
