"""Socket Mode: the same bolt app, fed over the websocket that `apps.connections.open` hands out."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp

from connectors.slack.client import slack_errors


class SocketReceiver:
    def __init__(self, app: AsyncApp, app_token: str) -> None:
        # The handler asks the app's own client for the websocket URL, so `api_url` applies here too.
        self._handler = AsyncSocketModeHandler(app, app_token=app_token, web_client=app.client)

    async def start(self) -> None:
        async with slack_errors():
            await self._handler.connect_async()

    async def stop(self) -> None:
        await self._handler.close_async()
