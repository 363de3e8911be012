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
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.errors import StorageError
from bot.ports import EventStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EscalationChanged:
    escalation_id: int
    change: str  # opened, attached, claimed, assigned, resolved, snoozed, reclassified, replied, noted, reopened
    actor: str = "bot"


@dataclass(frozen=True, slots=True)
class SalesAlert:
    customer_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A customer message was processed (published only when something wants it: webhooks)."""

    message_id: int
    customer_id: int


@dataclass(frozen=True, slots=True)
class BudgetSpent:
    """A connector's monthly budget ran out: it stops reading (or posting) until `resumes_at`."""

    connector: str
    what: str  # "reads" or "posts"
    used: int
    limit: int
    resumes_at: datetime


# The stored id of the durable event being delivered, for a subscriber that passes events on and needs a
# stable id for them (webhooks: the id a receiver dedupes on is the same however often it is relayed).
_delivering: ContextVar[int | None] = ContextVar("delivering_event_id", default=None)


def current_event_id() -> int | None:
    """Inside a subscriber: the stored id of the event it was handed (None for an in-memory event)."""
    return _delivering.get()


@dataclass(frozen=True, slots=True)
class SlaDue:
    """An escalation's SLA target is near (a reminder) or has passed (a breach); published once each."""

    escalation_id: int
    target: str  # "first response" or "resolution"
    breached: bool
    due: datetime
    assignee: str = ""


# Features publish their own event types too (bot/relationships/events.py): a subscriber checks the
# type of what it gets and ignores the rest.
Event = Any
Handler = Callable[[Event], Awaitable[None]]

# Event types that are stored as rows and relayed at least once (see `durable`); others (a weekly summary
# holding whole topics) are delivered in memory only.
DURABLE: dict[str, type] = {}
RELAY_WINDOW = timedelta(hours=24)  # how far back the relay looks for events a subscriber missed


def durable(cls: type) -> type:
    """Register a frozen dataclass of JSON-friendly fields (and datetimes) as a durable event type."""
    DURABLE[cls.__name__] = cls
    return cls


def encode(event: Event) -> dict[str, Any]:
    return {k: ({"$dt": v.isoformat()} if isinstance(v, datetime) else v) for k, v in asdict(event).items()}


def decode(kind: str, payload: dict[str, Any]) -> Event:
    values = {
        k: (datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v) for k, v in payload.items()
    }
    return DURABLE[kind](**values)


for _cls in (EscalationChanged, SalesAlert, BudgetSpent, MessageReceived, SlaDue):
    durable(_cls)


class EventBus:
    """Fan-out to named async subscribers; one failing subscriber never stops the others or the publisher.

    With a store, durable events are rows written in the publisher's transaction (inside `held`, the
    unit of work's), delivered after the commit, and each subscriber's handling is recorded; `relay()`
    delivers what a subscriber missed (a crash, Slack down) within RELAY_WINDOW. Delivery is at least
    once, so subscribers are idempotent (the Slack card is posted or updated in place).
    """

    def __init__(self, store: EventStore | None = None) -> None:
        self.store = store
        self._handlers: dict[str, Handler] = {}
        self._held: ContextVar[list[tuple[int | None, Event]] | None] = ContextVar("held_events", default=None)
        # Stored events this process is delivering now: their deliveries are recorded together once all ran,
        # and the relay must not take them for missed ones meanwhile.
        self._in_flight: set[int] = set()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Events published inside wait until the block ends, and are dropped if it raises.

        A unit of work publishes inside its transaction; subscribers (the Slack desk) read what the
        event points at, so they must run after the commit, never against rows that may roll back.
        """
        if self._held.get() is not None:
            yield
            return
        pending: list[tuple[int | None, Event]] = []
        token = self._held.set(pending)
        try:
            yield
        finally:
            self._held.reset(token)
        ids = {event_id for event_id, _ in pending if event_id is not None}
        self._in_flight |= ids
        try:
            handled: list[tuple[int, str]] = []
            for event_id, event in pending:
                handled += await self._deliver(event_id, event)
            await self._record(handled)
        finally:
            self._in_flight -= ids

    def subscribe(self, handler: Handler, name: str | None = None) -> None:
        """Add a subscriber; `name` (default: the handler's qualified name) keys its delivery record."""
        self._handlers[name or str(getattr(handler, "__qualname__", repr(handler)))] = handler

    def unsubscribe(self, handler: Handler) -> None:
        for name, known in list(self._handlers.items()):
            if known == handler:
                del self._handlers[name]

    async def publish(self, event: Event) -> None:
        event_id = None
        if self.store is not None and type(event).__name__ in DURABLE:
            event_id = await self.store.append(type(event).__name__, encode(event))
        held = self._held.get()
        if held is not None:
            held.append((event_id, event))
            return
        await self._record(await self._deliver(event_id, event))

    async def _deliver(self, event_id: int | None, event: Event, only: str | None = None) -> list[tuple[int, str]]:
        """Hand the event to each subscriber (or `only` that one); the (event id, subscriber) pairs that handled
        a stored event, for the caller to record."""
        handled: list[tuple[int, str]] = []
        for name, handler in list(self._handlers.items()):
            if only is not None and name != only:
                continue
            try:
                token = _delivering.set(event_id)
                try:
                    await handler(event)
                finally:
                    _delivering.reset(token)
            except StorageError as exc:  # the database is unavailable: the relay delivers it again later
                log.warning("event subscriber %s: %s not handled now (%s)", name, type(event).__name__, exc)
                continue
            except Exception:
                log.exception("event subscriber %s failed on %s", name, type(event).__name__)
                continue
            if event_id is not None:
                handled.append((event_id, name))
        return handled

    async def _record(self, handled: list[tuple[int, str]]) -> None:
        """Record deliveries, all of them in one transaction."""
        if not handled or self.store is None:
            return
        try:
            await self.store.delivered(handled)
        except Exception:  # the relay delivers them again; subscribers are idempotent
            log.warning("could not record %d event deliveries", len(handled))

    async def relay(self, now: datetime | None = None) -> int:
        """Deliver to each subscriber the stored events it has not handled; how many deliveries ran."""
        if self.store is None:
            return 0
        since = (now or datetime.now(UTC)) - RELAY_WINDOW
        count = 0
        for name in list(self._handlers):
            for event_id, kind, payload in await self.store.undelivered(name, since):
                if kind in DURABLE and event_id not in self._in_flight:
                    await self._record(await self._deliver(event_id, decode(kind, payload), only=name))
                    count += 1
        return count
