"""Slack redelivers an event when we are slow (`X-Slack-Retry-Num`); each event must act only once.

A retry that arrives while the first delivery is still being processed, or after it finished, is
acknowledged and dropped. A retry of a delivery that failed is processed: that is what retries are for.
Finished event ids are kept in the durable state store too, so a restart does not forget them; the
core's dedupe on (channel, external_id) is the last line behind this one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from connectors.base import StateStore

_KEEP = 5_000  # recent finished ids held in memory; Slack retries within minutes


class EventLedger:
    """Tracks which Events API deliveries are in flight or finished, by `event_id`."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._in_flight: set[str] = set()
        self._done: OrderedDict[str, None] = OrderedDict()

    def _key(self, event_id: str) -> str:
        return f"event:{event_id}"

    async def once(self, event_id: str, work: Callable[[], Awaitable[Any]]) -> bool:
        """Run `work` unless this event is in flight or done; True if it ran. Failures are not remembered."""
        if not event_id:
            await work()
            return True
        if event_id in self._in_flight or event_id in self._done:
            return False
        # Claim the id before the first await, so a concurrent retry sees it in flight.
        self._in_flight.add(event_id)
        try:
            if await self._state.get(self._key(event_id)) is not None:
                self._done[event_id] = None
                return False
            await work()
            self._done[event_id] = None
            if len(self._done) > _KEEP:
                self._done.popitem(last=False)
            await self._state.set(self._key(event_id), "1")
        finally:
            self._in_flight.discard(event_id)
        return True
