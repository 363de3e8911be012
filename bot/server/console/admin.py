"""What admins see beyond the desk: webhook deliveries, staff accounts and API tokens (managed with the CLI or API)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bot.server.console.web import Admin, Bot, PageRoute, render
from bot.webhooks.payloads import event_id

router = APIRouter(route_class=PageRoute)


@router.get("/admin/webhooks")
async def webhooks_page(request: Request, bot: Bot, _who: Admin) -> Response:
    configured = bot.webhooks is not None
    deliveries = await bot.webhooks.store.recent(200) if bot.webhooks is not None else []
    return render(
        request,
        "webhooks.html",
        {
            "configured": configured,
            "deliveries": deliveries,
            "event_id": event_id,
            "hooks": [w.key for w in bot.settings.webhooks],
        },
    )


@router.get("/admin/users")
async def users_page(request: Request, bot: Bot, _who: Admin) -> Response:
    return render(request, "users.html", {"users": await bot.access.users(), "tokens": await bot.access.tokens()})
