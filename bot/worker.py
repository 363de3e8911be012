"""The processing worker: takes stored message ids off the work queue and processes them in batches.

Connectors only store (and so acknowledge quickly); this is where classification, routing and acting
happen, one batched classifier call per batch. `LocalQueue` is the in-process work queue of the
one-process default.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain import StoredMessage
from bot.errors import StorageError
from bot.pipeline import Outcome, Pipeline
from bot.ports import WorkQueue
from nlp.types import Analysis

log = logging.getLogger(__name__)

# Deferred bookkeeping items (a customer's tier and stage, about 10 ms each on SQLite) settled between two
# batches. Thirty-two at once kept the worker from new messages for a third of a second.
SETTLE_STEP = 1


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

    async def done(self, message_ids: list[int]) -> None:
        return None  # taken ids are gone from memory already

    async def requeue(self, waiting: list[int]) -> int:
        return 0  # one process: the worker's own sweep finds what this queue never held

    async def stats(self) -> dict[str, int]:
        return {"length": self._ids.qsize(), "pending": 0}

    async def close(self) -> None:
        return None


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
        """Batches overlap: the next batch is classified (in a thread) while this one's units commit, so
        throughput approaches the slower of the two rather than their sum."""
        backoff = 0.5
        ahead: _Batch | None = None
        while not stop.is_set():
            try:
                # With bookkeeping waiting, a quiet queue is not waited on: the bookkeeping is done meanwhile.
                ids = await self._take(stop, wait=ahead is None and not self.pipeline.deferred())
                if stop.is_set():
                    break
                following = await self._start(ids) if ids else None
                quiet = False
                if ahead is not None:
                    outcomes = await self._finish(ahead)
                elif following is None:  # quiet: pick up what the queue never announced (a restart, a failure)
                    outcomes = await self.pipeline.resume(self.batch_size, once=True)
                    quiet = not outcomes
                else:
                    outcomes = []
                ahead = following
                self._count(outcomes)
                if outcomes and all(_refused(o) for o in outcomes):
                    # Every message stays queued: the database is down, not done with (see `_finish`).
                    raise StorageError("the database refused every message of the batch")
                # Replies first: under load only bookkeeping past its bound; when quiet, the rest. A few at a
                # time either way, so a message arriving meanwhile waits for no more than those.
                await self.pipeline.settle(idle=quiet, limit=SETTLE_STEP)
                backoff = 0.5
            except StorageError as exc:
                log.warning("worker: database unavailable (%s); retrying in %.1fs", exc, backoff)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(30.0, backoff * 2)
        if ahead is not None:  # a clean stop commits and acknowledges the batch in hand
            try:
                self._count(await self._finish(ahead))
            except StorageError as exc:  # left pending: another worker claims it after claim_idle_seconds
                log.warning("worker: the last batch stays queued (%s)", exc)
        # A bounded catch-up of the bookkeeping; what is left, the scheduled recompute of every customer does.
        await self.pipeline.settle(idle=True, limit=4 * self.batch_size)

    def _count(self, outcomes: list[Outcome]) -> None:
        if outcomes:
            self.processed += sum(not _refused(o) for o in outcomes)
            self.on_done(outcomes)

    async def _take(self, stop: asyncio.Event, wait: bool = True) -> list[int]:
        """The queue's next ids, or none as soon as `stop` is set (shutdown never waits for a sweep).
        Without `wait`, only what is there already: a batch is waiting to be finished."""
        seconds = self.sweep_seconds if wait else 0.001
        take = asyncio.ensure_future(self.queue.take(self.batch_size, wait_seconds=seconds))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({take, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not take.done():
            take.cancel()
            return []
        return take.result()

    async def process(self, ids: list[int]) -> list[Outcome]:
        """Process the announced messages that are still waiting."""
        return await self._finish(await self._start(ids))

    async def _start(self, ids: list[int]) -> _Batch:
        """Load the announced messages still waiting and start classifying them."""
        waiting = await self.pipeline.services.repo.messages.waiting(ids)
        return _Batch(ids, waiting, asyncio.ensure_future(self.pipeline.classify_batch(waiting)))

    async def _finish(self, batch: _Batch) -> list[Outcome]:
        outcomes = await self.pipeline.finish_batch(batch.messages, await batch.classified) if batch.messages else []
        # Ids that were processed already (by another worker, or before a redelivery) are done too; those
        # the database refused stay taken, so the queue hands them out again.
        refused = {o.message_id for o in outcomes if _refused(o)}
        await self.queue.done([i for i in batch.ids if i not in refused])
        return outcomes


def _refused(outcome: Outcome) -> bool:
    """The database refused this message's unit: it stays waiting for another try."""
    return outcome.error.startswith("storage:")


@dataclass
class _Batch:
    ids: list[int]
    messages: list[StoredMessage]
    classified: asyncio.Future[tuple[list[Analysis | None], str | None]]
