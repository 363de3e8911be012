"""Test doubles for the connector protocol's other side: an in-memory StateStore, a collecting sink, and
the outbox's replies as the core would hand them to `send`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.domain import InboundMessage, OutboundReply, ReplyStatus


def reply_to(message: InboundMessage, text: str, **overrides: Any) -> OutboundReply:
    """The reply the outbox would send to `message` through the connector that received it."""
    values: dict[str, Any] = {
        "id": 1,
        "connector": message.via,
        "channel": message.channel,
        "recipient_id": message.author_id,
        "conversation_id": message.conversation_id,
        "text": text,
        "status": ReplyStatus.SENDING,
        "attempts": 0,
        "created_at": datetime.now(UTC),
        "in_reply_to": message.external_id,
        "direct": message.direct,
        **overrides,
    }
    return OutboundReply(**values)


async def serve_local(app: web.Application) -> tuple[web.AppRunner, int]:
    """Serve a fake platform on 127.0.0.1 on a free port; returns the runner (to clean up) and the port."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


class MemoryState:
    """A StateStore kept in a dict (the real one is bot.storage.repository.RepositoryState)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.set_at: dict[str, datetime] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value
        self.set_at[key] = datetime.now(UTC)

    async def prune(self, prefix: str, before: datetime) -> int:
        old = [k for k in self.values if k.startswith(prefix) and self.set_at[k] < before]
        for key in old:
            del self.values[key], self.set_at[key]
        return len(old)


class Collector:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self._arrived = asyncio.Event()

    async def __call__(self, message: InboundMessage) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, count: int, within: float = 5.0) -> list[InboundMessage]:
        async with asyncio.timeout(within):
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.messages
