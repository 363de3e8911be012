"""HTTP mode: an aiohttp server that takes Slack's POSTs on /slack/events and hands them to bolt.

The signature is checked here, before the body is parsed, so a forged or stale request gets 401 and a
signed but unreadable one is acknowledged and dropped rather than crashing bolt's parser into a 500
(which Slack would keep retrying).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
_MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; this just bounds memory


class HttpReceiver:
    """Serves `POST /slack/events` for one bolt app; `start` binds host:port (port 0 picks a free one)."""

    def __init__(self, app: AsyncApp, signing_secret: str, host: str, port: int) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = port

    def web_app(self) -> web.Application:
        web_app = web.Application(client_max_size=_MAX_BODY)
        web_app.router.add_post(EVENTS_PATH, self.handle)
        return web_app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        # With port 0 the OS picks one; the runner's public `addresses` says which.
        if self._runner.addresses:
            self.port = self._runner.addresses[0][1]
        log.info("slack: listening on http://%s:%s%s", self._host, self.port, EVENTS_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # slack_sdk's verifier raises on a timestamp that is not a number: that is a forged request too.
        if not timestamp.isdigit() or len(timestamp) > 12 or not self._verifier.is_valid(raw, timestamp, signature):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers={k.lower(): request.headers.getall(k) for k in request.headers},
            )
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            log.warning(
                "slack: signed request with an unreadable body (%s); acknowledged and dropped", type(exc).__name__
            )
            return web.Response(status=200)
        if not _well_formed(bolt_request.body):
            log.warning("slack: signed request of an unknown shape; acknowledged and dropped")
            return web.Response(status=200)
        response = await self._app.async_dispatch(bolt_request)
        if (response.status >= 500 and response.status != 503) or response.status == 404:
            # 503 is our deliberate "try again" (storage down); anything else would only loop retries.
            log.warning("slack: request answered %s by bolt; acknowledging instead", response.status)
            return web.Response(status=200)
        return await to_aiohttp_response(response)


def _well_formed(body: object) -> bool:
    """The outer shape bolt's own middleware assumes; listeners check the rest."""
    if not isinstance(body, dict) or not body:
        return False
    return all(isinstance(body.get(key, {}), dict) for key in ("event", "user", "team", "channel", "container"))
