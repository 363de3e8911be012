"""In-process events that staff-facing parts (the Slack desk) subscribe to.

Escalations and sales alerts are stored first; an event only says "look again". A subscriber
that misses one (crash, restart) can rebuild from the database, which is what lets a queue
replace this bus later without changing the publishers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EscalationChanged:
    escalation_id: int
    change: str  # opened, attached, claimed, resolved, snoozed, reclassified, replied, noted, reopened
    actor: str = "bot"


@dataclass(frozen=True, slots=True)
class SalesAlert:
    customer_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class BudgetSpent:
    """A connector's monthly budget ran out: it stops reading (or posting) until `resumes_at`."""

    connector: str
    what: str  # "reads" or "posts"
    used: int
    limit: int
    resumes_at: datetime


# Features publish their own event types too (bot/relationships/events.py): a subscriber checks the
# type of what it gets and ignores the rest.
Event = Any
Handler = Callable[[Event], Awaitable[None]]


class EventBus:
    """Fan-out to async subscribers; one failing subscriber never stops the others or the publisher."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._held: ContextVar[list[Event] | None] = ContextVar("held_events", default=None)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Events published inside wait until the block ends, and are dropped if it raises.

        A unit of work publishes inside its transaction; subscribers (the Slack desk) read what the
        event points at, so they must run after the commit, never against rows that may roll back.
        """
        if self._held.get() is not None:
            yield
            return
        pending: list[Event] = []
        token = self._held.set(pending)
        try:
            yield
        finally:
            self._held.reset(token)
        for event in pending:
            await self.publish(event)

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def unsubscribe(self, handler: Handler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    async def publish(self, event: Event) -> None:
        held = self._held.get()
        if held is not None:
            held.append(event)
            return
        for handler in list(self._handlers):
            try:
                await handler(event)
            except Exception:
                log.exception("event subscriber failed on %s", type(event).__name__)
