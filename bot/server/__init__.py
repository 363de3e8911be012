"""Rapport's one HTTP server: Slack's events endpoint (mounted from the connector), the REST API under
/api/v1 with its OpenAPI document at /api/openapi.json, and /metrics. Server-rendered console pages
go beside the API as routers of their own."""

from bot.server.app import build_app
from bot.server.serve import HttpServer

__all__ = ["HttpServer", "build_app"]
