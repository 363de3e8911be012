"""Slack redelivers an event when we are slow (`X-Slack-Retry-Num`); each event must act only once.

A retry that arrives after the first delivery finished is acknowledged and dropped; one that arrives
while it runs waits for its outcome. A retry of a delivery that failed is processed: that is what
retries are for.
Finished event ids are kept in the durable state store too, so a restart does not forget them; the
core's dedupe on (channel, external_id) is the last line behind this one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import StateStore

log = logging.getLogger(__name__)

_KEEP = 5_000  # recent finished ids held in memory; Slack retries within minutes
_FORGET_AFTER = timedelta(days=1)  # Slack stops retrying an event after about an hour; the core dedupes after
_PRUNE_EVERY = 3600.0  # seconds between prunes of the durable ledger


class EventLedger:
    """Tracks which Events API deliveries are in flight or finished, by `event_id`."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._done: OrderedDict[str, None] = OrderedDict()
        self._pruned = 0.0

    def _key(self, event_id: str) -> str:
        return f"event:{event_id}"

    async def once(self, event_id: str, work: Callable[[], Awaitable[Any]]) -> bool:
        """Run `work` unless this event is done; True if it ran. Failures are not remembered.

        A retry that arrives while the first delivery is still running waits for it: acknowledging the
        retry at once would lose the event if the first delivery then failed (the database was locked).
        """
        if not event_id:
            await work()
            return True
        while (running := self._in_flight.get(event_id)) is not None:
            try:
                await asyncio.shield(running)
            except Exception:  # the first delivery failed: this retry does the work (or fails the same)
                await asyncio.sleep(0)  # let the failed delivery clear its claim
                continue
            return False  # the first delivery did it
        if event_id in self._done:
            return False
        # Claim the id before the first await, so a concurrent retry sees it in flight.
        running = asyncio.get_running_loop().create_future()
        self._in_flight[event_id] = running
        try:
            if await self._state.get(self._key(event_id)) is not None:
                self._done[event_id] = None
                running.set_result(None)
                return False
            await work()
            self._done[event_id] = None
            if len(self._done) > _KEEP:
                self._done.popitem(last=False)
            await self._state.set(self._key(event_id), "1")
            running.set_result(None)
        except BaseException as exc:
            running.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            running.exception()  # retrieved here, so an unawaited failure is not reported as lost
            raise
        finally:
            del self._in_flight[event_id]
        await self._prune()
        return True

    async def _prune(self) -> None:
        """Now and then, forget finished ids past their use, so the durable ledger does not grow forever."""
        if time.monotonic() - self._pruned < _PRUNE_EVERY and self._pruned:
            return
        self._pruned = time.monotonic()
        try:
            await self._state.prune("event:", datetime.now(UTC) - _FORGET_AFTER)
        except Exception as exc:  # best effort: the next prune tries again
            log.warning("slack: could not prune the event ledger (%s)", type(exc).__name__)
