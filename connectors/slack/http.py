"""HTTP mode: the ASGI endpoint for Slack's POSTs on /slack/events, mounted on Rapport's one HTTP server.

The signature is checked here, before the body is parsed, so a forged or stale request gets 401 and a
signed but unreadable one is acknowledged and dropped rather than crashing bolt's parser into a 500
(which Slack would keep retrying). Until the connector has started (auth.test passed, the sink set)
the endpoint answers 503, so Slack delivers again instead of an event being acknowledged unheard.
"""

from __future__ import annotations

import json
import logging

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
_MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; this just bounds memory


class SlackEvents:
    """The ASGI app answering `POST /slack/events` for one bolt app."""

    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self.ready = False  # set by the connector once it can take events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return JSONResponse({"error": "method_not_allowed"}, status_code=405, headers={"Allow": "POST"})
        if not self.ready:
            return JSONResponse({"error": "not_ready"}, status_code=503)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > _MAX_BODY:
            return JSONResponse({"error": "too_large"}, status_code=413)
        try:
            raw = await _read(request)
        except (ClientDisconnect, ValueError):
            return JSONResponse({"error": "too_large"}, status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        # slack_sdk's verifier raises on a timestamp that is not a number: that is a forged request too.
        if not timestamp.isdigit() or len(timestamp) > 12 or not self._verifier.is_valid(raw, timestamp, signature):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.url.query,
                headers={k: request.headers.getlist(k) for k in request.headers},
            )
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            log.warning(
                "slack: signed request with an unreadable body (%s); acknowledged and dropped", type(exc).__name__
            )
            return Response(status_code=200)
        if not _well_formed(bolt_request.body):
            log.warning("slack: signed request of an unknown shape; acknowledged and dropped")
            return Response(status_code=200)
        response = await self._app.async_dispatch(bolt_request)
        if (response.status >= 500 and response.status != 503) or response.status == 404:
            # 503 is our deliberate "try again" (storage down); anything else would only loop retries.
            log.warning("slack: request answered %s by bolt; acknowledging instead", response.status)
            return Response(status_code=200)
        return to_starlette_response(response)


async def _read(request: Request) -> bytes:
    """The body, refusing more than _MAX_BODY whatever the declared length said."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY:
            raise ValueError("body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _well_formed(body: object) -> bool:
    """The outer shape bolt's own middleware assumes; listeners check the rest."""
    if not isinstance(body, dict) or not body:
        return False
    return all(isinstance(body.get(key, {}), dict) for key in ("event", "user", "team", "channel", "container"))
