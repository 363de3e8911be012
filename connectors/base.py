"""The small protocol every connector implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from bot.domain import InboundMessage, OutboundReply

# The core's entry point. It returns once the message is stored (and processed), so a connector
# acknowledges a platform event only after `await sink(message)` returns.
Sink = Callable[[InboundMessage], Awaitable[None]]


@runtime_checkable
class Connector(Protocol):
    """A platform adapter: ingests messages into the sink and delivers replies."""

    @property
    def name(self) -> str: ...

    async def start(self, sink: Sink) -> None:
        """Begin ingesting. Returns once the connector is listening (long-running work goes in tasks)."""
        ...

    async def stop(self) -> None: ...

    # Optional: `async def wait(self) -> None` returning when the connector has ended and raising the
    # bot.errors exception that ended it. The supervisor in bot/app.py uses it to restart a connector
    # that dies after starting (a revoked token, a closed gateway); without it, only failed starts are
    # retried. `status` (a short string) is shown by `rapport run` when present.

    async def send(self, reply: OutboundReply) -> str:
        """Deliver one reply and return the platform's id for it.

        Raises `bot.errors.RateLimited`, `DeliveryFailed` or `AuthFailed`; never a platform SDK error.
        """
        ...


class StateStore(Protocol):
    """Durable key/value state for a connector (e.g. X's since_id), kept in the database."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...
