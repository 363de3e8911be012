"""Test doubles for the connector protocol's other side: an in-memory StateStore and a collecting sink."""

from __future__ import annotations

import asyncio

from bot.domain import InboundMessage


class MemoryState:
    """A StateStore kept in a dict (the real one is bot.storage.repository.RepositoryState)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value


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
