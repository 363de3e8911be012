"""The reports page: the same figures as `GET /api/v1/reports/summary`, drawn with the vendored Chart.js."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from bot.domain import Tier
from bot.reports import AGE_BUCKETS, MAX_DAYS, summary
from bot.server.console.web import Bot, PageRoute, Viewer, render

router = APIRouter(route_class=PageRoute)

WINDOWS = (7, 30, 90)


@router.get("/reports")
async def reports_page(
    request: Request, bot: Bot, _who: Viewer, days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30
) -> Response:
    data = await summary(bot.db, bot.settings.sla, days)
    # Jinja's tojson sorts keys: the charts get their orders spelled out. The pyramid reads top down.
    data["customers"]["tiers"] = [t.value for t in Tier]
    data["escalations"]["backlog_order"] = [label for label, _ in AGE_BUCKETS]
    data["currency"] = bot.settings.relationships.currency
    return render(request, "reports.html", {"data": data, "days": days, "windows": WINDOWS})
