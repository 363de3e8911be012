"""The web console under `/`: sign-in, the inbox, escalation and customer pages, reports with charts,
and the admins' webhook and user pages. Server-rendered; every asset is served from this package."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.access.sessions import ConsoleSessions
from bot.app import Rapport
from bot.server.console import admin, auth, customers, pages, reports
from bot.server.console.web import HERE


def install(app: FastAPI, bot: Rapport) -> None:
    """Add the console's pages and static files to the app (none of them in the API's OpenAPI document)."""
    app.state.console_sessions = ConsoleSessions(
        bot.repo, bot.db, bot.access, timedelta(hours=bot.settings.server.session_hours)
    )
    for part in (auth, pages, customers, reports, admin):
        app.include_router(part.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


__all__ = ["install"]
