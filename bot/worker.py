"""The processing worker: takes stored message ids off the work queue and processes them in batches.

Connectors only store (and so acknowledge quickly); this is where classification, routing and acting
happen, one batched classifier call per batch. `LocalQueue` is the in-process work queue of the
one-process default.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.errors import StorageError
from bot.pipeline import Outcome, Pipeline
from bot.ports import WorkQueue

log = logging.getLogger(__name__)


class LocalQueue:
    """An in-memory WorkQueue: ids of messages this process stored. Lost on exit, which is fine: the
    worker's sweep finds stored, unprocessed messages in the database."""

    def __init__(self, linger: float = 0.005) -> None:
        self._ids: asyncio.Queue[int] = asyncio.Queue()
        self._linger = linger  # how long a batch waits for more of a burst after its first message

    async def put(self, message_id: int) -> None:
        self._ids.put_nowait(message_id)

    async def take(self, limit: int, wait_seconds: float) -> list[int]:
        try:
            first = await asyncio.wait_for(self._ids.get(), wait_seconds)
        except TimeoutError:
            return []
        taken = [first]
        if self._ids.qsize() < limit - 1:
            await asyncio.sleep(self._linger)
        while len(taken) < limit and not self._ids.empty():
            taken.append(self._ids.get_nowait())
        return taken


class Worker:
    """Runs until `stop`: batches from the queue, and a sweep of the database when the queue is quiet."""

    def __init__(
        self,
        pipeline: Pipeline,
        queue: WorkQueue,
        *,
        batch_size: int = 32,
        sweep_seconds: float = 5.0,
        on_done: Callable[[list[Outcome]], None] = lambda _: None,
    ) -> None:
        self.pipeline = pipeline
        self.on_done = on_done  # sees each batch's outcomes (the app wakes the outbox when replies were queued)
        self.queue = queue
        self.batch_size = batch_size
        self.sweep_seconds = sweep_seconds
        self.processed = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                ids = await self._take(stop)
                if stop.is_set():
                    return
                if ids:
                    outcomes = await self.process(ids)
                else:  # quiet: pick up what the queue never announced (a restart, a storage failure)
                    outcomes = await self.pipeline.resume(self.batch_size)
                if outcomes:
                    self.processed += sum(not o.error.startswith("storage:") for o in outcomes)
                    self.on_done(outcomes)
                backoff = 0.5
            except StorageError as exc:
                log.warning("worker: database unavailable (%s); retrying in %.1fs", exc, backoff)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(30.0, backoff * 2)

    async def _take(self, stop: asyncio.Event) -> list[int]:
        """The queue's next ids, or none as soon as `stop` is set (shutdown never waits for a sweep)."""
        take = asyncio.ensure_future(self.queue.take(self.batch_size, wait_seconds=self.sweep_seconds))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({take, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not take.done():
            take.cancel()
            return []
        return take.result()

    async def process(self, ids: list[int]) -> list[Outcome]:
        """Process the announced messages that are still waiting."""
        waiting = await self.pipeline.services.repo.waiting_messages(ids)
        return await self.pipeline.process_stored(waiting) if waiting else []
