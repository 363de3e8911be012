"""The REST API under /api/v1: bearer tokens, cursor pages, JSON errors naming the field."""

from fastapi import APIRouter

from bot.server.api import admin, customers, escalations, reports, staff, webhooks

router = APIRouter(prefix="/api/v1")
for part in (escalations, customers, reports, admin, webhooks, staff):
    router.include_router(part.router)

__all__ = ["router"]
