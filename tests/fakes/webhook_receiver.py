"""A webhook receiver on 127.0.0.1 that checks signatures itself (hmac, not Rapport's code), answers
with the statuses it is told to, and dedupes on the event id as a careful receiver would."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.sinks import serve_local


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class WebhookReceiver:
    def __init__(self, secret: str, *, fail_first: int = 0, failure: int = 500) -> None:
        self.secret = secret
        self.fail_first = fail_first  # answer `failure` to the first N tries of each event, then 200
        self.failure = failure
        self.tries: dict[str, int] = {}
        self.received: list[Received] = []
        self.accepted: dict[str, Received] = {}  # event id -> the delivery that was accepted, once each
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner, port = await serve_local(app)
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _valid(self, timestamp: str, body: bytes, signature: str) -> bool:
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature, f"sha256={expected}")

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        ok = self._valid(headers.get("X-Rapport-Timestamp", ""), body, headers.get("X-Rapport-Signature", ""))
        got = Received(headers, body, ok)
        self.received.append(got)
        self._arrived.set()
        if not ok:
            return web.Response(status=401)
        event_id = headers["X-Rapport-Event-Id"]
        self.tries[event_id] = self.tries.get(event_id, 0) + 1
        if self.tries[event_id] <= self.fail_first:
            return web.Response(status=self.failure)
        self.accepted.setdefault(event_id, got)
        return web.Response(status=200)

    async def wait_accepted(self, kind: str, count: int = 1, within: float = 15.0) -> list[Received]:
        async with asyncio.timeout(within):
            while True:
                found = [r for r in self.accepted.values() if r.event["type"] == kind]
                if len(found) >= count:
                    return found
                self._arrived.clear()
                await self._arrived.wait()
