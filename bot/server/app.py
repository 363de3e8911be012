"""The ASGI app: Slack's endpoint from the connector, the API, /metrics (JSON errors), and the web console."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.routing import Route

from bot import __version__
from bot.app import Rapport
from bot.ports import AsgiApp
from bot.server import api, console, errors, metrics

OPENAPI_PATH = "/api/openapi.json"


def build_app(bot: Rapport, endpoints: Mapping[str, AsgiApp] | None = None) -> FastAPI:
    """One app per bot. `endpoints` are connectors' platform routes (path -> ASGI app), served as they are."""
    app = FastAPI(
        title="Rapport",
        version=__version__,
        description="The support desk's API: escalations, customers, reports. Authenticate with "
        "`Authorization: Bearer <token>` (`rapport tokens create --name NAME --role viewer|agent|admin`).",
        openapi_url=OPENAPI_PATH,
        # The interactive docs pages load their scripts from a CDN; Rapport serves nothing from outside.
        docs_url=None,
        redoc_url=None,
    )
    app.state.rapport = bot
    errors.install(app)
    for path, endpoint in (endpoints or {}).items():
        # A platform's own payloads: no JSON schema of ours, no place in the API document.
        app.router.routes.append(Route(path, endpoint=endpoint, include_in_schema=False))
    app.include_router(api.router)
    app.include_router(metrics.router, include_in_schema=False)
    console.install(app, bot)
    return app
