"""Point discord.py at configured REST and gateway URLs (a local fake in tests) instead of Discord's.

discord.py hard-codes both (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`) as class attributes;
changing those would move every client in the process, so this HTTP client rewrites per instance.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import yarl
from discord.http import HTTPClient, Route


class RebasedHTTPClient(HTTPClient):
    """discord.py's HTTP client, sending REST calls to `api_url` and opening the gateway at `gateway_url`."""

    def __init__(self, *args: Any, api_url: str | None, gateway_url: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._api_url = api_url.rstrip("/") if api_url else None
        self._gateway_url = yarl.URL(gateway_url) if gateway_url else None

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if self._api_url and route.url.startswith(Route.BASE):
            route.url = self._api_url + route.url[len(Route.BASE) :]
        return await super().request(route, **kwargs)

    async def ws_connect(self, url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        if self._gateway_url is not None:
            # Resumes and session invalidations name other gateways; a configured one always wins.
            url = str(self._gateway_url.with_query(yarl.URL(url).query))
        return await super().ws_connect(url, compress=compress)
